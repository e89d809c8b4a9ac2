"""The study notebooks execute top to bottom in quick mode (CHAINER_VAE_QUICK=1; slow)."""
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
# the least number of images each notebook shows
IMAGES = {"01_mnist_vae.ipynb": 5, "02_midi_vae.ipynb": 5, "03_claims.ipynb": 4}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(IMAGES))
def test_notebook_runs_in_quick_mode(name, data_root, tmp_path, monkeypatch):
    if not (data_root / "mnist").is_dir() or not (data_root / "bach_lute").is_dir():
        pytest.skip("the study's data are not under {}".format(data_root))
    monkeypatch.setenv("CHAINER_VAE_QUICK", "1")
    monkeypatch.setenv("CHAINER_VAE_DATA", str(data_root))
    monkeypatch.setenv("CHAINER_VAE_NOTEBOOK_OUT", str(tmp_path))
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    errors = [output for cell in notebook.cells if cell.cell_type == "code"
              for output in cell.get("outputs", []) if output.output_type == "error"]
    assert not errors
    images = [output for cell in notebook.cells if cell.cell_type == "code"
              for output in cell.get("outputs", []) if "image/png" in output.get("data", {})
              or "image/gif" in output.get("data", {})]
    assert len(images) >= IMAGES[name]
    written = list(tmp_path.rglob("*.png"))
    assert written and all(path.stat().st_size > 0 for path in written)
