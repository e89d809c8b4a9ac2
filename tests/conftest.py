"""Shared pytest fixtures."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The data root: ``$CHAINER_VAE_DATA`` if set, else ``<repo>/../shared/data``.

    Tests that need a data set skip themselves when its subfolder (e.g. ``mnist``) is absent.
    """
    return Path(os.environ.get("CHAINER_VAE_DATA") or REPO.parent / "shared" / "data")


def toy_digits(n, seed):
    """Learnable stand-ins for MNIST: digit d is a bright horizontal bar at rows 2d..2d+5
    with a little noise. uint8 images (n, 28, 28) and uint8 labels (n,)."""
    rng = np.random.RandomState(seed)
    labels = (np.arange(n) % 10).astype(np.uint8)
    rng.shuffle(labels)
    images = rng.randint(0, 40, size=(n, 28, 28))
    for i, digit in enumerate(labels):
        images[i, 2 * digit:2 * digit + 6, 4:24] = rng.randint(180, 256, size=(6, 20))
    return images.astype(np.uint8), labels


@pytest.fixture(scope="session")
def toy_mnist(tmp_path_factory) -> Path:
    """A folder of the four MNIST IDX files holding 300 training and 100 test toy digits."""
    from chainer_vae.data.mnist import MNIST_FILES, write_idx

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
