"""Attributes of a piece a listener can ask more or less of, one number each.

MusicVAE's attribute vectors move a latent code towards pieces with more of a quality;
these are the qualities, measured on a ``PianoRoll`` with ``midi.metrics``' features:

- ``note_density``: notes starting per bar (bars of ``beats_per_bar`` beats);
- ``mean_pitch``: the mean MIDI pitch of the notes (nan for a piece without notes);
- ``pitch_range``: highest minus lowest pitch, in semitones;
- ``polyphony``: pitches sounding together, on the steps where any sounds;
- ``in_scale``: the share of notes in the best fitting major or natural minor scale.
"""
from __future__ import annotations

import numpy as np

from .metrics import piece_features
from .roll import PianoRoll

ATTRIBUTES = ("note_density", "mean_pitch", "pitch_range", "polyphony", "in_scale")
_FROM_FEATURES = {"note_density": "notes_per_bar", "pitch_range": "pitch_range",
                  "polyphony": "polyphony", "in_scale": "in_scale"}


def piece_attributes(roll: PianoRoll, beats_per_bar: int = 4) -> dict:
    """{attribute: float} of one piece, for every name in ``ATTRIBUTES``."""
    features = piece_features(roll, beats_per_bar)
    found = {name: float(features[feature][0]) for name, feature in _FROM_FEATURES.items()}
    pitches = roll.notes()[:, 0]
    found["mean_pitch"] = float(pitches.mean()) if len(pitches) else float("nan")
    return {name: found[name] for name in ATTRIBUTES}


def attribute_table(rolls, beats_per_bar: int = 4) -> np.ndarray:
    """The attributes of N pieces: float64 (N, len(ATTRIBUTES)), columns in the order of
    ``ATTRIBUTES``."""
    rows = [piece_attributes(roll, beats_per_bar) for roll in rolls]
    return np.array([[row[name] for name in ATTRIBUTES] for row in rows],
                    np.float64).reshape(len(rows), len(ATTRIBUTES))
