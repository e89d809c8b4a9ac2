"""What every data set loader returns: ``Data``, the splits and their examples."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import chainer
import numpy as np

from chainer_vae.data.iterators import batch_of
from chainer_vae.errors import ConfigError, choice

SPLITS = ("train", "valid", "test")
ENV_VAR = "CHAINER_VAE_DATA"  # the data root: mnist/, bach_lute/, polyphonic/ ...


def data_root() -> Optional[Path]:
    """``$CHAINER_VAE_DATA`` as a Path, or None when it is not set."""
    root = os.environ.get(ENV_VAR)
    return Path(root).expanduser() if root else None


@dataclass
class Data:
    """Training, test and optional validation examples; each example is a float32 array
    of ``input_shape``. ``sequences`` maps a split to its whole sequences (a list of
    (T, F) arrays of varying T) for sequence data sets, whose examples are windows."""

    train: object
    test: object
    input_shape: Tuple[int, ...]
    train_labels: Optional[np.ndarray] = None
    test_labels: Optional[np.ndarray] = None
    label_names: List[str] = field(default_factory=list)
    details: dict = field(default_factory=dict)
    valid: object = None
    valid_labels: Optional[np.ndarray] = None
    sequences: Dict[str, list] = field(default_factory=dict)

    def __post_init__(self):
        if len(self.train) == 0 or len(self.test) == 0:
            raise ConfigError("the {}data set has no training or no test examples".format(
                self.details["dataset"] + " " if "dataset" in self.details else ""))

    def split(self, name):
        """(examples, labels) of the split ``name`` (train, valid or test); a
        ``ConfigError`` when the data set has no such split."""
        choice(SPLITS, name, "split")
        examples = getattr(self, name)
        if examples is None:
            raise ConfigError("the {} data set has no validation split; train with "
                              "--valid-fraction to hold one out".format(
                                  self.details.get("dataset", "")))
        return examples, getattr(self, name + "_labels")

    def examples(self, name, labelled=False):
        """The examples of the split ``name`` as a data set: as they are, or with
        ``labelled`` (a conditional model's data) as (x, y) pairs (``Labelled``); a
        ``ConfigError`` when that split has no labels."""
        examples, labels = self.split(name)
        if not labelled:
            return examples
        if labels is None:
            raise ConfigError("the {} data set has no labels; --conditional needs "
                              "labelled examples (MNIST digits, MIDI folders)".format(
                                  self.details.get("dataset", "")))
        return Labelled(examples, labels)


class Labelled(chainer.dataset.DatasetMixin):
    """Examples with their labels: item i is (x_i, y_i), x_i an example of ``examples``
    (an array (N, ...) or a data set), y_i its label as an int32. ``get_batch`` draws many
    at once, (x (B, ...) float32, y (B,) int32), as ``examples`` draws its own (the same
    random numbers for dynamically binarized images)."""

    def __init__(self, examples, labels):
        labels = np.asarray(labels).reshape(-1)
        if len(labels) != len(examples):
            raise ConfigError("{} labels for {} examples".format(len(labels), len(examples)))
        self.examples = examples
        self.labels = labels.astype(np.int32)

    def __len__(self):
        return len(self.examples)

    def get_example(self, i):
        """Example ``i`` and its label: (x float32 of the examples' shape, y int32)."""
        return np.asarray(self.examples[i], np.float32), self.labels[i]

    def get_batch(self, indices):
        """Examples ``indices`` (an index array) at once: (x (B, ...), y (B,))."""
        x = batch_of(self.examples, indices)
        return np.asarray(x, np.float32), self.labels[indices]


def examples_array(dataset, limit=None):
    """The first ``limit`` examples (all when None) of an array or a Chainer dataset as
    one float32 NumPy array (N, *shape); dataset items (and batches) that are tuples give
    their first element."""
    if isinstance(dataset, np.ndarray):
        return np.asarray(dataset[:limit], dtype=np.float32)
    count = len(dataset) if limit is None else min(limit, len(dataset))
    get_batch = getattr(dataset, "get_batch", None)
    if get_batch is not None:
        batch = get_batch(np.arange(count))
        return np.asarray(batch[0] if isinstance(batch, tuple) else batch, dtype=np.float32)
    items = [dataset[i] for i in range(count)]
    items = [item[0] if isinstance(item, tuple) else item for item in items]
    if not items:
        return np.zeros((0,), np.float32)
    return np.stack(items).astype(np.float32, copy=False)


def limited(examples, labels, limit):
    """The first ``limit`` examples and labels (all when None): quick runs on a slice."""
    if limit is None:
        return examples, labels
    return examples[:limit], None if labels is None else labels[:limit]
