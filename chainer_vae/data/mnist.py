"""MNIST handwritten digits as arrays and as the data set a run trains on.

The four official files (LeCun, Cortes and Burges) hold 60000 training and 10000 test
images of 28 x 28 grey pixels (uint8, 0 = white background, 255 = full ink) with their
digit labels 0-9, in the big-endian IDX format (:mod:`chainer_vae.data.idx`), gzipped;
:mod:`chainer_vae.data.mnist_files` finds or downloads them.
"""
from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Optional, Union

import numpy as np

from chainer_vae.data.base import ENV_VAR, Data, limited
from chainer_vae.data.idx import IDX_DTYPES, read_idx, write_idx
from chainer_vae.data.images import ImageDataset
from chainer_vae.data.mnist_files import (MNIST_CHECKSUMS, MNIST_FILES, MNIST_MIRRORS,
                                          download_mnist, find_file, missing_files, mnist_dir)
from chainer_vae.errors import ConfigError, DataError, DownloadError

PathLike = Union[str, "os.PathLike[str]"]

# The IDX and file names are re-exported: callers import them from here.
__all__ = [
    "IDX_DTYPES", "MNIST_FILES", "MNIST_CHECKSUMS", "MNIST_MIRRORS", "ENV_VAR",
    "MnistData", "read_idx", "write_idx", "mnist_dir", "download_mnist", "load_mnist",
    "load_data",
]

IMAGE_SIDE = 28
IMAGE_PIXELS = IMAGE_SIDE * IMAGE_SIDE
N_CLASSES = 10


@dataclasses.dataclass(frozen=True)
class MnistData:
    """MNIST images and labels, as loaded by :func:`load_mnist`.

    Attributes:
        train_images: float32 (N_train, 784), pixel ink in [0, 1] (value / 255), each
            row a 28 x 28 image in row-major order.
        train_labels: int32 (N_train,), digits 0-9.
        test_images: float32 (N_test, 784), as ``train_images``.
        test_labels: int32 (N_test,).
    """

    train_images: np.ndarray = dataclasses.field(repr=False)
    train_labels: np.ndarray = dataclasses.field(repr=False)
    test_images: np.ndarray = dataclasses.field(repr=False)
    test_labels: np.ndarray = dataclasses.field(repr=False)

    def __repr__(self) -> str:
        return "MnistData(train={} images, test={} images, classes={})".format(
            len(self.train_labels), len(self.test_labels),
            np.unique(np.concatenate([self.train_labels, self.test_labels])).tolist())


def _check_classes(classes) -> Optional[list]:
    if classes is None:
        return None
    if isinstance(classes, (str, bytes)) or not isinstance(classes, Iterable):
        raise ConfigError("classes must be an iterable of digits 0-9, got {!r}".format(classes))
    out = []
    for c in classes:
        if isinstance(c, (bool, np.bool_)) or not isinstance(c, (int, np.integer)) \
                or not 0 <= int(c) < N_CLASSES:
            raise ConfigError("classes: {!r} is not a digit 0-9".format(c))
        out.append(int(c))
    if not out:
        raise ConfigError("classes: empty; give at least one digit 0-9")
    return sorted(set(out))


def _check_per_class(name: str, value) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) \
            or value < 1:
        raise ConfigError("{} must be a positive integer or None, got {!r}".format(name, value))
    return int(value)


def _load_split(folder: Path, images_key: str, labels_key: str):
    paths = {}
    for key in (images_key, labels_key):
        path = find_file(folder, MNIST_FILES[key])
        if path is None:  # vanished since the check
            raise DataError("{}: file not found".format(folder / MNIST_FILES[key]))
        paths[key] = path
    images = read_idx(paths[images_key])
    labels = read_idx(paths[labels_key])
    if images.dtype != np.uint8 or images.ndim != 3 \
            or images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise DataError("{}: expected uint8 images of shape (N, 28, 28), got {} {}".format(
            paths[images_key], images.dtype, images.shape))
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise DataError("{}: expected uint8 labels of shape (N,), got {} {}".format(
            paths[labels_key], labels.dtype, labels.shape))
    if len(images) != len(labels):
        raise DataError("{} holds {} images but {} holds {} labels".format(
            paths[images_key], len(images), paths[labels_key], len(labels)))
    if labels.size and labels.max() >= N_CLASSES:
        raise DataError("{}: label {} is not a digit 0-9".format(
            paths[labels_key], int(labels.max())))
    return images, labels


def _subset(labels: np.ndarray, classes: Optional[list], per_class: Optional[int],
            seed: int, split: str) -> np.ndarray:
    """Indices (sorted ascending) kept by the class filter and per-class sampling."""
    if classes is None and per_class is None:
        return np.arange(len(labels))
    wanted = list(range(N_CLASSES)) if classes is None else classes
    if per_class is None:
        return np.flatnonzero(np.isin(labels, wanted))
    rng = np.random.RandomState(seed)
    chosen = []
    for c in wanted:
        idx = np.flatnonzero(labels == c)
        if len(idx) < per_class:
            raise ConfigError("{}_per_class={}: the {} set has only {} images of digit {}"
                              .format(split, per_class, split, len(idx), c))
        chosen.append(rng.choice(idx, size=per_class, replace=False))
    return np.sort(np.concatenate(chosen))


def load_mnist(data_dir: Optional[PathLike] = None,
               download: bool = True,
               classes: Optional[Iterable[int]] = None,
               train_per_class: Optional[int] = None,
               test_per_class: Optional[int] = None,
               seed: int = 0,
               progress: bool = True) -> MnistData:
    """Load MNIST as float arrays, optionally a class subset and a per-class sample.

    Args:
        data_dir: the MNIST folder (see :func:`mnist_dir` for the default). Each file may
            be gzipped (official name) or already gunzipped (name without ``.gz``).
        download: fetch missing files with :func:`download_mnist`.
        classes: digits to keep (e.g. ``[0, 1]``); None keeps all ten.
        train_per_class: keep exactly this many training images of each kept digit
            (the study used 1600); None keeps all.
        test_per_class: the same for the test set (the study used 400).
        seed: seeds the ``np.random.RandomState`` that picks the per-class samples (one
            fresh generator per split, so the training sample does not depend on
            ``test_per_class``). Picked images keep their original file order.
        progress: show download progress bars.

    Returns:
        :class:`MnistData`: images float32 (N, 784) in [0, 1], labels int32 (N,).

    Raises:
        DataError: files missing (with ``download=False``) or malformed, or image and
            label counts differ; DownloadError (a DataError) if the download fails.
            Messages name the folder or file and say how to get the data.
        ConfigError: a class outside 0-9, a non-positive count, or more images per class
            asked for than the split has.
    """
    classes = _check_classes(classes)
    train_per_class = _check_per_class("train_per_class", train_per_class)
    test_per_class = _check_per_class("test_per_class", test_per_class)
    folder = mnist_dir(data_dir)
    how = ("put the four MNIST files ({}) in {}, set {} to a folder whose mnist/ "
           "subfolder holds them, or load with download enabled"
           .format(", ".join(MNIST_FILES.values()), folder, ENV_VAR))
    missing = missing_files(folder)
    if missing:
        if not download:
            raise DataError("{}: MNIST files missing ({}); {}".format(
                folder, ", ".join(missing), how))
        try:
            download_mnist(folder, progress=progress)
        except DownloadError as e:
            raise DownloadError("{}: could not download MNIST: {}. To get the data "
                                "without a download, {}".format(folder, e, how)) from None

    arrays = {}
    for split, per_class in (("train", train_per_class), ("test", test_per_class)):
        images, labels = _load_split(folder, split + "_images", split + "_labels")
        keep = _subset(labels, classes, per_class, seed, split)
        arrays[split + "_images"] = (
            images[keep].reshape(len(keep), IMAGE_PIXELS).astype(np.float32)
            / np.float32(255.0))
        arrays[split + "_labels"] = labels[keep].astype(np.int32)
    return MnistData(**arrays)


# How each encoder reads an image.
IMAGE_LAYOUTS = {"mlp": "flat", "conv": "image", "lstm": "rows"}


def held_out(count, fraction):
    """How many of ``count`` examples a validation ``fraction`` holds out: 0 for 0, else
    at least one and at most ``count - 1``."""
    if not fraction:
        return 0
    return min(max(1, int(round(fraction * count))), count - 1)


def load_data(config, encoder="mlp", progress=True) -> Data:
    """MNIST as a ``DataConfig`` describes it, laid out for ``encoder`` (flat for mlp,
    1-channel images for conv, rows for lstm). With ``valid_fraction`` the last part of
    the training digits (in file order) is held out for validation. A ``data_dir`` given
    must exist; without one the files are found or downloaded as ``load_mnist`` does."""
    layout = IMAGE_LAYOUTS.get(encoder, "flat")
    if config.data_dir is not None and not Path(config.data_dir).expanduser().is_dir():
        # a folder the user named: a typo must not start a download into a new folder
        raise DataError("{}: no such folder (--data-dir names the folder that holds the four "
                        "MNIST files; leave it out to download them)".format(config.data_dir))
    mnist = load_mnist(config.data_dir, classes=config.classes,
                       train_per_class=config.train_per_class,
                       test_per_class=config.test_per_class, progress=progress)
    train_images, train_labels = mnist.train_images, mnist.train_labels
    valid_count = held_out(len(train_images), config.valid_fraction)
    keep = len(train_images) - valid_count
    splits = {"train": limited(train_images[:keep], train_labels[:keep], config.limit),
              "valid": limited(train_images[keep:], train_labels[keep:], config.limit),
              "test": limited(mnist.test_images, mnist.test_labels, config.limit)}
    # Dynamic binarization resamples the training set on every pass; held-out digits are
    # drawn once so that every evaluation scores the same binary images.
    held_out_mode = "fixed" if config.binarize == "dynamic" else config.binarize
    sets = {name: ImageDataset(images, labels, shape=layout,
                               binarize=config.binarize if name == "train" else held_out_mode)
            for name, (images, labels) in splits.items() if len(images) or name != "valid"}
    valid = sets.get("valid")
    return Data(sets["train"], sets["test"], sets["train"].example_shape,
                sets["train"].labels, sets["test"].labels, [str(digit) for digit in range(10)],
                {"dataset": "mnist", "train": len(sets["train"]), "test": len(sets["test"]),
                 "valid": len(valid) if valid is not None else 0},
                valid=valid, valid_labels=valid.labels if valid is not None else None)
