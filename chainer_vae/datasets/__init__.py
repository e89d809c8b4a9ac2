"""Data sets for training: MNIST images and MIDI piano-roll windows, as Chainer datasets.

``load_data(config, encoder)`` is the one entry point the trainer uses: it returns the
training and test datasets and the shape of one example, which the model is built for.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np

from chainer_vae.datasets.images import ImageDataset, binarize_once
from chainer_vae.datasets.mnist import (ENV_VAR, MnistData, download_mnist, load_mnist,
                                        mnist_dir, read_idx, write_idx)
from chainer_vae.errors import ConfigError

# How each encoder reads an MNIST image.
IMAGE_LAYOUTS = {"mlp": "flat", "conv": "image", "lstm": "rows"}
DATASETS = ("mnist", "midi")
DEFAULT_MIDI_FOLDER = "bach_lute"


@dataclass
class Data:
    """Training and test datasets; each example is a float32 array of ``input_shape``."""

    train: object
    test: object
    input_shape: Tuple[int, ...]
    train_labels: Optional[np.ndarray] = None
    test_labels: Optional[np.ndarray] = None
    label_names: List[str] = field(default_factory=list)
    details: dict = field(default_factory=dict)


def load_data(config, encoder="mlp", progress=True) -> Data:
    """The datasets described by a ``DataConfig``, laid out for ``encoder``."""
    if config.dataset == "mnist":
        return _mnist(config, encoder, progress)
    if config.dataset == "midi":
        return _midi(config, progress)
    raise ConfigError("unknown dataset {!r}; choose one of {}".format(
        config.dataset, ", ".join(DATASETS)))


def _mnist(config, encoder, progress):
    layout = IMAGE_LAYOUTS.get(encoder, "flat")
    mnist = load_mnist(config.data_dir, classes=config.classes,
                       train_per_class=config.train_per_class,
                       test_per_class=config.test_per_class, progress=progress)
    train_images, train_labels = _limited(mnist.train_images, mnist.train_labels, config.limit)
    test_images, test_labels = _limited(mnist.test_images, mnist.test_labels, config.limit)
    # Dynamic binarization resamples the training set on every pass; the test set is
    # drawn once so that every evaluation scores the same binary images.
    test_mode = "fixed" if config.binarize == "dynamic" else config.binarize
    train = ImageDataset(train_images, train_labels, binarize=config.binarize, shape=layout)
    test = ImageDataset(test_images, test_labels, binarize=test_mode, shape=layout)
    return Data(train, test, train.example_shape, train.labels, test.labels,
                [str(digit) for digit in range(10)],
                {"dataset": "mnist", "train": len(train), "test": len(test)})


def _limited(images, labels, limit):
    """The first ``limit`` examples (all when None): quick runs on a slice of the data."""
    if limit is None:
        return images, labels
    return images[:limit], labels[:limit]


def midi_root(data_dir=None) -> Path:
    """``data_dir``, else ``$CHAINER_VAE_DATA/bach_lute`` (the study's Bach pieces)."""
    if data_dir is not None:
        return Path(data_dir)
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]) / DEFAULT_MIDI_FOLDER
    raise ConfigError("--dataset midi needs --data-dir (a folder of <label>/*.mid) or "
                      "${} set to a data root holding {}/".format(ENV_VAR, DEFAULT_MIDI_FOLDER))


def _midi(config, progress):
    import midi

    split = midi.load_windows(
        midi_root(config.data_dir), steps_per_beat=config.steps_per_beat, low=config.low,
        high=config.high, window=config.window, hop=config.hop,
        windows_per_piece=config.windows_per_piece, test_fraction=config.test_fraction,
        seed=0, transpose=tuple(config.transpose), progress=progress)
    train, train_labels = _limited(split.train, split.train_labels, config.limit)
    test, test_labels = _limited(split.test, split.test_labels, config.limit)
    details = {"dataset": "midi", "train": len(train), "test": len(test),
               "pieces": len(split.pieces), "errors": [list(e) for e in split.errors]}
    return Data(train, test, tuple(train.shape[1:]), train_labels, test_labels,
                list(split.label_names), details)


__all__ = ["Data", "ImageDataset", "MnistData", "binarize_once", "download_mnist",
           "load_data", "load_mnist", "midi_root", "mnist_dir", "read_idx", "write_idx"]
