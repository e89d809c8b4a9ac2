"""MIDI files to piano-roll arrays and back, faithful enough to train a VAE on.

Independent of Chainer: numpy and mido only (matplotlib for plots, tqdm for progress).
Pitches are MIDI numbers, time on the grid is in steps (``steps_per_beat`` per quarter
note), time in files is in ticks.
"""
from __future__ import annotations

from .dataset import (PieceSet, WindowSplit, load_pieces, load_windows, merge_pieces,
                      split_pieces, split_windows)
from .encode import RollOptions, midi_to_roll, midi_to_rolls
from .errors import (MidiDatasetError, MidiFileError, MidiFormatError, MidiTooLongError,
                     MidiTruncatedError, RollFileError)
from .events import MidiEvents
from .info import MidiInfo, describe_midi
from .plot import plot_roll
from .reader import read_midi
from .report import ConversionReport
from .roll import PianoRoll
from .storage import load_roll, save_roll
from .writer import roll_to_midi

__all__ = [
    "ConversionReport", "MidiDatasetError", "MidiEvents", "MidiFileError", "MidiFormatError",
    "MidiInfo", "MidiTooLongError", "MidiTruncatedError", "PianoRoll", "PieceSet",
    "RollFileError", "RollOptions", "WindowSplit", "describe_midi", "load_pieces", "load_roll",
    "load_windows", "merge_pieces", "midi_to_roll", "midi_to_rolls", "plot_roll", "read_midi",
    "roll_to_midi", "save_roll", "split_pieces", "split_windows",
]
