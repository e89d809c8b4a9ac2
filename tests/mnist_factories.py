"""Fake MNIST files for the tests: random digits written as the four IDX files."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from chainer_vae.data.idx import write_idx
from chainer_vae.data.mnist_files import MNIST_FILES

N_TRAIN, N_TEST = 50, 20  # 5 train and 2 test images of each digit


def fake_mnist_arrays(seed=0):
    """Random uint8 images (N, 28, 28) and labels (N,) with every digit equally often."""
    rng = np.random.RandomState(seed)
    out = {}
    for split, n in (("train", N_TRAIN), ("test", N_TEST)):
        out[split + "_images"] = rng.randint(0, 256, size=(n, 28, 28)).astype(np.uint8)
        out[split + "_labels"] = rng.permutation(np.arange(n) % 10).astype(np.uint8)
    return out


def write_fake_mnist(folder: Path, arrays=None, gz=True) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    arrays = fake_mnist_arrays() if arrays is None else arrays
    for key, name in MNIST_FILES.items():
        write_idx(folder / (name if gz else name[:-3]), arrays[key])
    return arrays


def md5_of(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()
