"""benchmarks/quality.py, the driver of the long quality runs: one tiny run of each part
through ``chainer-vae train`` and ``evaluate``, its JSON result and its table row."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import chainer_vae  # noqa: F401  (before chainer)

from benchmarks import quality
from midi_factories import write_mat


@pytest.fixture()
def root(tmp_path, toy_mnist, monkeypatch):
    """A data root with the toy digits and a tiny JSB_Chorales.mat."""
    import shutil

    shutil.copytree(toy_mnist, tmp_path / "data" / "mnist")
    write_mat(tmp_path / "data" / "polyphonic" / "JSB_Chorales.mat")
    monkeypatch.setenv("CHAINER_VAE_DATA", str(tmp_path / "data"))
    return tmp_path


def test_jsb_part_trains_selects_on_validation_and_scores_whole_pieces(root, capsys):
    out = root / "runs"
    result = quality.main(["jsb", "--epochs", "2", "--window", "4", "--hop", "2",
                           "--step-made", "5", "--iw-samples", "3", "--out", str(out)])
    assert result["train_command"].startswith("chainer-vae train ")
    assert "--select valid" in result["train_command"]
    assert result["config"]["model"]["step_made"] == 5
    assert result["config"]["data"]["hop"] == 2
    assert result["epochs"] == 2 and result["selected_epoch"] in (1, 2)
    scores = result["evaluation"]
    assert scores["steps"] == 25 and scores["split"] == "test"
    saved = json.loads((out / "quality_jsb.json").read_text())
    assert saved["evaluation"] == scores
    row = capsys.readouterr().out.strip().splitlines()[-1]  # after chainer's epoch report
    assert row == quality.row(saved)
    assert "{:.3f} nats per time step".format(scores["log_likelihood_per_step"]) in row
    assert "MADE 5" in row and "SRNN -4.74" in row and "not reached" in row


def test_jsb_part_can_start_from_runs(root):
    out = root / "runs"
    first = quality.main(["jsb", "--epochs", "1", "--window", "4", "--iw-samples", "2",
                          "--out", str(out)])
    again = quality.main(["jsb", "--epochs", "1", "--init-from", first["run_dir"],
                          "--iw-samples", "2", "--out", str(root / "again")])
    assert again["config"]["train"]["init_from"] == [str(Path(first["run_dir"]).resolve())]
    assert again["config"]["data"]["window"] == 4  # the source run's


def test_mnist_and_score_parts(root, capsys):
    result = quality.main(["mnist", "--epochs", "1", "--iw-samples", "2", "--iw-limit", "10",
                           "--out", str(root / "runs")])
    assert result["config"]["data"]["binarize"] == "dynamic"
    assert result["config"]["model"]["hidden"] == [500, 500]
    assert result["evaluation"]["n"] == 10 and "steps" not in result["evaluation"]
    rescored = quality.main(["score", result["run_dir"], "--iw-samples", "2", "--iw-limit",
                             "10", "--out", str(root / "scores")])
    assert rescored["evaluation"] == result["evaluation"]  # the same seeds
    assert "nats per example (IWAE K=2, 10 test examples)" in capsys.readouterr().out


def test_minutes_alone_lift_the_epoch_limit():
    args = quality.parser().parse_args(["mnist", "--minutes", "5"])
    options = [str(option) for option in quality.train_options(args)]
    assert options[options.index("--epochs") + 1] == str(quality.UNLIMITED_EPOCHS)
    assert options[options.index("--max-minutes") + 1] == "5.0"
