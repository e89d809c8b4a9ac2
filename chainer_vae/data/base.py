"""What every data set loader returns: ``Data``, the splits and their examples."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

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


def examples_array(dataset, limit=None):
    """The first ``limit`` examples (all when None) of an array or a Chainer dataset as
    one float32 NumPy array (N, *shape); dataset items that are tuples give their first
    element."""
    if isinstance(dataset, np.ndarray):
        return np.asarray(dataset[:limit], dtype=np.float32)
    count = len(dataset) if limit is None else min(limit, len(dataset))
    get_batch = getattr(dataset, "get_batch", None)
    if get_batch is not None:
        return np.asarray(get_batch(np.arange(count)), dtype=np.float32)
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
