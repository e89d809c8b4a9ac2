"""A piece's structure bar by bar: which bars come back, and where in a bar notes start.

Music repeats itself: a phrase comes back, a bar answers an earlier one. A generator can
write long pieces that have only length. ``structure_features`` measures two things of a
piece cut into bars of ``beats_per_bar`` beats, each bar the set of (step within the bar,
MIDI pitch) pairs where a note starts:

- ``repeated_bars``: the share of bars after the first whose nearest earlier bar lies
  within ``NEAR`` (Jaccard distance: 0 for the same onsets, 1 for none in common);
- ``bar_distances``: the histogram of the Jaccard distances between all pairs of bars
  (``DISTANCE_BINS`` bins over [0, 1]), the piece's self-similarity matrix in short.

``metrics.compare(..., structure=True)`` compares sets of pieces on them the way it
compares its other features. ``downbeat_onsets`` counts notes starting on a bar's first
step against the other steps: real music leans on its downbeats a little, a decoder that
restarts every bar from nothing stacks chords there.
"""
from __future__ import annotations

import numpy as np

from .roll import PianoRoll

STRUCTURE_FEATURES = ("repeated_bars", "bar_distances")
NEAR = 0.25  # a bar within this Jaccard distance of an earlier one "nearly repeats" it
DISTANCE_BINS = 10


def bar_onsets(roll: PianoRoll, beats_per_bar: int = 4) -> np.ndarray:
    """The onsets of each whole bar: bool (U, steps of a bar * pitches); steps past the
    last whole bar are left out."""
    bar = roll.steps_per_beat * beats_per_bar
    bars = roll.n_steps // bar
    return np.asarray(roll.onset[:bars * bar]).reshape(bars, bar * roll.n_pitches)


def jaccard_distances(bars: np.ndarray) -> np.ndarray:
    """Jaccard distances between the rows of ``bars`` (U, D) bool: (U, U), 0 between two
    empty rows."""
    bars = bars.astype(np.float64)
    common = bars @ bars.T
    sizes = bars.sum(axis=1)
    union = sizes[:, None] + sizes[None, :] - common
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, 1.0 - common / np.maximum(union, 1), 0.0)


def structure_features(roll: PianoRoll, beats_per_bar: int = 4) -> dict:
    """{"repeated_bars": (1,), "bar_distances": (DISTANCE_BINS,)} float64 arrays of one
    piece (see the module docstring); a piece of one bar or none repeats nothing and has
    an all-zero histogram."""
    distances = jaccard_distances(bar_onsets(roll, beats_per_bar))
    bars = len(distances)
    if bars < 2:
        return {"repeated_bars": np.zeros(1), "bar_distances": np.zeros(DISTANCE_BINS)}
    earlier = np.tril(np.ones((bars, bars), bool), k=-1)  # row u: the bars before u
    nearest = np.where(earlier, distances, np.inf).min(axis=1)[1:]
    pairs = distances[np.triu_indices(bars, k=1)]
    histogram, _ = np.histogram(pairs, bins=DISTANCE_BINS, range=(0.0, 1.0))
    return {"repeated_bars": np.array([float((nearest <= NEAR).mean())]),
            "bar_distances": histogram / len(pairs)}


def downbeat_onsets(rolls, beats_per_bar: int = 4) -> dict:
    """Notes starting per step on a bar's first step and on its other steps, over the
    bars of ``rolls`` after each piece's first (whose first step is where a window was
    cut): {"downbeat", "other", "ratio"} (ratio: downbeat / other; inf when no note
    starts off the downbeat, nan when none starts at all)."""
    on_downbeat = other = 0.0
    downbeats = others = 0
    for roll in rolls:
        bar = roll.steps_per_beat * beats_per_bar
        onsets = np.asarray(roll.onset[bar:(roll.n_steps // bar) * bar]).sum(axis=1)
        per_bar = onsets.reshape(-1, bar)
        on_downbeat += per_bar[:, 0].sum()
        other += per_bar[:, 1:].sum()
        downbeats += len(per_bar)
        others += per_bar[:, 1:].size
    if not downbeats:
        raise ValueError("downbeat_onsets needs pieces of two bars or more")
    down, rest = on_downbeat / downbeats, other / max(others, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = float(np.float64(down) / np.float64(rest))
    return {"downbeat": float(down), "other": float(rest), "ratio": ratio}
