"""MIDI files to piano-roll arrays and back, faithful enough to train a VAE on.

Independent of Chainer: numpy and mido only (matplotlib for plots, tqdm for progress).
Pitches are MIDI numbers, time on the grid is in steps (``steps_per_beat`` per quarter
note), time in files is in ticks.
"""
from __future__ import annotations

from .dataset import PieceSet, WindowSplit, load_pieces, load_windows
from .encode import RollOptions, midi_to_roll, midi_to_rolls
from .errors import (MidiDatasetError, MidiFileError, MidiFormatError, MidiTruncatedError,
                     RollFileError)
from .reader import MidiEvents, read_midi
from .report import ConversionReport
from .roll import PianoRoll
from .writer import roll_to_midi

__all__ = [
    "ConversionReport", "MidiDatasetError", "MidiEvents", "MidiFileError", "MidiFormatError",
    "MidiTruncatedError", "PianoRoll", "PieceSet", "RollFileError", "RollOptions", "WindowSplit",
    "load_pieces", "load_windows", "midi_to_roll", "midi_to_rolls", "read_midi", "roll_to_midi",
]
