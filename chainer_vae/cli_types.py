"""The argparse ``type`` of each ``chainer-vae`` option that is not a config field: data
set names, run folders, examples a user names, attribute amounts and the bounds of counts
and spreads."""
from __future__ import annotations

import argparse
from pathlib import Path

from midi.corpus import CORPORA

from chainer_vae import pretrained
from chainer_vae.config import AT_LEAST_ONE, NON_NEGATIVE, Range, number_type
from chainer_vae.data import DATASETS
from chainer_vae.data.midi import CORPUS_PREFIX, is_corpus
from chainer_vae.errors import ConfigError
from chainer_vae.inference import attributes

COUNT = number_type(int, AT_LEAST_ONE)
INDEX = number_type(int, NON_NEGATIVE)
# The largest --prior-scale, --distance and --attribute amount, in prior standard
# deviations (and the largest --temperature): a z beyond some tens of them lies where no
# training example encodes, and 1e39 overflows float32.
MAX_SPREAD = 100.0
AMOUNT = number_type(float, Range(-MAX_SPREAD, MAX_SPREAD))


def dataset_type(text):
    """An argparse ``type`` for ``--dataset``: a data set's name or ``corpus:NAME``."""
    if text in DATASETS or (is_corpus(text) and text[len(CORPUS_PREFIX):] in CORPORA):
        return text
    raise argparse.ArgumentTypeError("invalid choice: {!r} (choose from {})".format(
        text, ", ".join(list(DATASETS) + [CORPUS_PREFIX + name for name in CORPORA])))


def run_type(text):
    """An argparse ``type`` for RUN: a run folder, or a shipped model ``pretrained:NAME``
    (its folder in the package; an unknown name lists the known ones)."""
    try:
        return pretrained.run_folder(text)
    except ConfigError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def example_type(text):
    """An argparse ``type`` for an example a user names: a test example's index (an
    integer at least 0) or the path of a MIDI file, which must exist."""
    if text.strip().lstrip("+-").isdigit():
        return INDEX(text)
    if not Path(text).is_file():
        raise argparse.ArgumentTypeError("{}: neither a test example's index nor a MIDI "
                                         "file".format(text))
    return Path(text)


def attribute_type(text):
    """An argparse ``type`` for ``--attribute NAME=AMOUNT``: (attribute, amount), the name
    one of ``midi.attributes.ATTRIBUTES`` (or the one it is part of), the amount a number
    within +-MAX_SPREAD."""
    name, equals, amount = text.partition("=")
    if not equals:
        raise argparse.ArgumentTypeError("{!r}: expected NAME=AMOUNT, e.g. note_density=+1"
                                         .format(text))
    try:
        return attributes.attribute_name(name.strip()), AMOUNT(amount)
    except ConfigError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
