"""Shared pytest fixtures."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The data root: ``$CHAINER_VAE_DATA`` if set, else ``<repo>/../shared/data``.

    Tests that need a data set skip themselves when its subfolder (e.g. ``mnist``) is absent.
    """
    return Path(os.environ.get("CHAINER_VAE_DATA") or REPO.parent / "shared" / "data")


@pytest.fixture(scope="session")
def toy_mnist(tmp_path_factory) -> Path:
    """A folder of the four MNIST IDX files holding 300 training and 100 test toy digits
    (``tiny_models.toy_digits``)."""
    from chainer_vae.data.idx import write_idx
    from chainer_vae.data.mnist_files import MNIST_FILES
    from tiny_models import toy_digits

    folder = tmp_path_factory.mktemp("toy") / "mnist"
    folder.mkdir()
    for split, n, seed in (("train", 300, 0), ("test", 100, 1)):
        images, labels = toy_digits(n, seed)
        write_idx(folder / MNIST_FILES[split + "_images"], images)
        write_idx(folder / MNIST_FILES[split + "_labels"], labels)
    return folder


def _cuda_available():
    import chainer_vae  # noqa: F401
    import chainer

    return chainer.backends.cuda.available


def pytest_collection_modifyitems(config, items):
    """Tests marked ``gpu`` run only where CuPy finds a CUDA GPU."""
    if _cuda_available():
        return
    skip = pytest.mark.skip(reason="needs CuPy and a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
