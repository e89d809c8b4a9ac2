"""Data sets for training: MNIST images, MIDI piano-roll windows and the polyphonic
benchmarks, as Chainer datasets.

``load_data(config, encoder)`` is the one entry point: it returns the training, test and
(where there is one) validation examples and the shape of one example, which the model
is built for. Each source lives in its own module: ``mnist`` and ``images`` (digits),
``midi`` (a folder of MIDI files, through the ``midi`` package), ``polyphonic`` (the
four ``.mat`` benchmarks); ``iterators`` draws the batches.
"""
from __future__ import annotations

import sys

from chainer_vae.config import DataConfig
from chainer_vae.data import midi, mnist, polyphonic
from chainer_vae.data.base import SPLITS, Data, Labelled, examples_array
from chainer_vae.errors import choice

# name -> loader(config, encoder, progress) -> Data
LOADERS = {"mnist": mnist.load_data, "midi": midi.load_data}
LOADERS.update({name: polyphonic.load_data for name in polyphonic.DATASETS})
DATASETS = tuple(LOADERS)
LABELLED_DATASETS = ("mnist", "midi")  # whose examples carry labels (digit, folder label)


def default_data_config(dataset) -> DataConfig:
    """The data a run on ``dataset`` reads unless told otherwise: the study's 100-step
    windows on a 16th-note grid for MIDI folders; 16-step windows of the benchmarks,
    whose grid is their own (one step per row) and whose 88 columns start at MIDI 21."""
    choice(LOADERS, dataset, "dataset")
    if dataset in polyphonic.DATASETS:
        return DataConfig(dataset=dataset, window=16, steps_per_beat=polyphonic.STEPS_PER_BEAT,
                          low=polyphonic.LOWEST_PITCH,
                          high=polyphonic.LOWEST_PITCH + polyphonic.KEYS)
    return DataConfig(dataset=dataset)


def load_data(config, encoder="mlp", progress=None) -> Data:
    """The datasets described by a ``DataConfig``, laid out for ``encoder``; progress bars
    (a download, a MIDI folder's conversion) when ``progress``, by default when stderr is
    a terminal."""
    if progress is None:
        progress = sys.stderr.isatty()
    return choice(LOADERS, config.dataset, "dataset")(config, encoder, progress)


__all__ = ["DATASETS", "LABELLED_DATASETS", "SPLITS", "Data", "Labelled", "default_data_config",
           "examples_array", "load_data"]
