"""A folder of MIDI files as training data: the bridge to the ``midi`` package.

The folder holds ``<label>/*.mid`` (a label is a genre, or a key as in the study's
``cminor``/``ebmajor``); a source ``corpus:NAME`` is a collection of music21's corpus
(``midi.corpus``, labelled major/minor). The pieces are converted to note states and cut
into windows (T, 2P), split into training and test by piece, and read lazily from the
pieces (``midi.rollstore.Windows``: a corpus is memory-mapped from its cache). With
``valid_fraction`` some training pieces are held out for validation too.
"""
from __future__ import annotations

from pathlib import Path

import midi
import numpy as np

from chainer_vae.data import polyphonic
from chainer_vae.data.base import ENV_VAR, Data, data_root, limited
from chainer_vae.errors import ConfigError, print_warning
from midi.corpus import load_corpus

DEFAULT_FOLDER = "bach_lute"
CORPUS_PREFIX = "corpus:"  # a source naming a collection of music21's corpus
VALID_SEED = 1  # the held-out validation pieces are drawn apart from the test pieces
BEATS_PER_BAR = 4  # a user's piece is cut at bar lines of 4/4
NAMED_ERRORS = 3  # pieces left out that a warning names; the others are counted


def midi_root(data_dir=None):
    """``data_dir`` (a folder, or ``corpus:NAME`` as it is), else
    ``$CHAINER_VAE_DATA/bach_lute`` (the study's Bach pieces)."""
    if data_dir is not None:
        return data_dir if is_corpus(data_dir) else Path(data_dir)
    if data_root() is not None:
        return data_root() / DEFAULT_FOLDER
    raise ConfigError("--dataset midi needs --data-dir (a folder of <label>/*.mid) or "
                      "${} set to a data root holding {}/".format(ENV_VAR, DEFAULT_FOLDER))


def load_data(config, encoder="mlp", progress=True) -> Data:
    """Note-state windows (N, window, 2 * (high - low)) of a MIDI folder, and of the
    sources in ``config.also``, as a ``DataConfig`` describes them; every encoder reads
    them as they are."""
    root = midi_root(config.data_dir)
    sources = [_source_pieces(source, config, progress) for source in [root] + config.also]
    pieces = midi.merge_pieces(*(found for found, _ in sources))
    split = midi.split_windows(
        pieces, np.concatenate([is_test for _, is_test in sources]), root,
        config.steps_per_beat, config.low, config.high, config.window, config.hop,
        config.windows_per_piece, seed=0, transpose=tuple(config.transpose), lazy=True)
    for path, problem in split.errors[:NAMED_ERRORS]:  # converted without them
        print_warning("{} left out: {}".format(path, problem))
    if len(split.errors) > NAMED_ERRORS:
        print_warning("and {} more pieces left out (Data.details['errors'] lists them)".format(
            len(split.errors) - NAMED_ERRORS))
    in_valid = _validation_windows(split, config.valid_fraction)
    original = split.train_transpositions == 0
    train, train_labels = limited(split.train[~in_valid], split.train_labels[~in_valid],
                                  config.limit)
    valid, valid_labels = limited(split.train[in_valid & original],
                                  split.train_labels[in_valid & original], config.limit)
    test, test_labels = limited(split.test, split.test_labels, config.limit)
    details = {"dataset": "midi", "sources": [str(root)] + list(config.also),
               "train": len(train), "test": len(test), "valid": len(valid),
               "pieces": len(split.pieces), "errors": [list(e) for e in split.errors]}
    if not len(valid):
        valid = valid_labels = None
    return Data(train, test, tuple(train.shape[1:]), train_labels, test_labels,
                list(split.label_names), details, valid=valid, valid_labels=valid_labels)


def is_corpus(source) -> bool:
    """Whether a data source names music21's corpus (``corpus:NAME``) rather than a path."""
    return str(source).startswith(CORPUS_PREFIX)


def _folder_pieces(root, config, progress):
    """The pieces of a MIDI folder and which go to test (``test_fraction`` of each label)."""
    pieces = midi.load_pieces(root, steps_per_beat=config.steps_per_beat, low=config.low,
                              high=config.high, progress=progress)
    return pieces, midi.split_pieces(pieces.labels, config.test_fraction, seed=0)


def _source_pieces(source, config, progress):
    """The pieces of one source and which go to test: a polyphonic benchmark (by name, or
    its ``.mat`` file), labelled by its name and keeping its split (its validation pieces
    train); a corpus (``corpus:NAME``) or a MIDI folder, ``test_fraction`` of each label's
    pieces drawn with seed 0."""
    if is_corpus(source):
        pieces = load_corpus(str(source)[len(CORPUS_PREFIX):], config.steps_per_beat,
                             config.low, config.high, progress=progress)
        return pieces, midi.split_pieces(pieces.labels, config.test_fraction, seed=0)
    if source in polyphonic.DATASETS or str(source).endswith(".mat"):
        name = source if source in polyphonic.DATASETS else Path(source).stem
        path = polyphonic.mat_path(source) if source in polyphonic.DATASETS else Path(source)
        splits = polyphonic.load_pieces(path)
        rolls = [roll for part in ("train", "valid", "test") for roll in splits[part]]
        states, dropped = polyphonic.as_note_states(rolls, config.steps_per_beat, config.low,
                                                    config.high)
        if dropped:
            print_warning("{}: {} sounding key-steps outside MIDI pitches {}-{} left out"
                          .format(path, dropped, config.low, config.high - 1))
        pieces = ["{}:{}:{}".format(name, part, index) for part in ("train", "valid", "test")
                  for index in range(len(splits[part]))]
        is_test = np.array([piece.split(":")[1] == "test" for piece in pieces])
        return (midi.PieceSet(pieces=pieces, labels=np.zeros(len(pieces), np.int64),
                              label_names=[name], note_states=states), is_test)
    return _folder_pieces(Path(source), config, progress)


def _validation_windows(split, fraction):
    """Which training windows (with their transposed copies) belong to the training
    pieces held out for validation: ``fraction`` of each label's training pieces."""
    if not fraction:
        return np.zeros(len(split.train), bool)
    pieces = np.unique(split.train_pieces)
    labels = np.array([split.train_labels[split.train_pieces == piece][0] for piece in pieces])
    held = pieces[midi.dataset.split_pieces(labels, fraction, VALID_SEED)]
    if len(held) == 0 or len(held) == len(pieces):
        raise ConfigError("--valid-fraction {} holds out {} of the {} training pieces; "
                          "choose a fraction that leaves pieces on both sides".format(
                              fraction, len(held), len(pieces)))
    return np.isin(split.train_pieces, held)


def piece_window(path, config, steps):
    """The first ``steps`` steps of MIDI file ``path`` from its first bar that holds a
    note, as a run's examples are made (``config`` its ``DataConfig``): a note state
    (steps, 2P) for a MIDI-folder run, a play-only roll (steps, high - low) for the
    polyphonic benchmarks, on ``config.steps_per_beat`` steps per quarter note, MIDI
    pitches ``[config.low, config.high)``; float32 0/1.

    A ``ConfigError`` names the file when it holds no note or, from that bar on, fewer
    steps than ``steps``; notes outside the pitches are left out with a warning.
    """
    roll = midi.midi_to_roll(str(path), steps_per_beat=config.steps_per_beat,
                             low=config.low, high=config.high)
    if roll.report.out_of_range_dropped:
        print_warning("{}: {} notes outside MIDI pitches {}-{} left out".format(
            path, roll.report.out_of_range_dropped, config.low, config.high - 1))
    sounding = np.flatnonzero(roll.play.any(axis=1))
    if not len(sounding):
        raise ConfigError("{}: no note within MIDI pitches {}-{}".format(
            path, config.low, config.high - 1))
    bar = BEATS_PER_BAR * config.steps_per_beat
    first = sounding[0] // bar * bar
    if roll.n_steps - first < steps:
        raise ConfigError("{}: {} steps from its first note, shorter than the model's window "
                          "of {} steps ({} steps per beat)".format(
                              path, roll.n_steps - first, steps, config.steps_per_beat))
    if config.dataset == "midi":
        window = roll.to_note_state()[first:first + steps]
    else:
        window = roll.play[first:first + steps]
    return window.astype(np.float32)
