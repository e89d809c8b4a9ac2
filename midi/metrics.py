"""How much a set of generated pieces resembles a set of real ones: MGEval's method.

Yang & Lerch (2018), "On the evaluation of generative models in music", compare two sets
of pieces feature by feature: for each feature, the distances between the pieces of the
reference set (intra-set) and the distances from each generated piece to each reference
piece (inter-set) are smoothed into two probability densities (Gaussian kernels), whose
overlapping area (OA: 1 when the generated pieces lie among the real ones as the real
ones lie among themselves) and Kullback-Leibler divergence (KL: 0 then) are reported.

``piece_features`` computes, from a ``PianoRoll``'s notes, MGEval's features (pitch
count, pitch-class histogram, pitch-class transition matrix, pitch range, average pitch
interval, notes per bar, average inter-onset interval, note-length histogram) and
three more: polyphony, the share of empty steps and the share of notes in the best
fitting of the 24 major and natural minor scales. Units: pitches in semitones, time in
beats (quarter notes), bars of ``beats_per_bar`` beats. ``compare`` compares two sets, and
with ``structure`` also on how their bars repeat (``midi.structure``).
"""
from __future__ import annotations

import numpy as np

from .roll import PianoRoll
from .structure import STRUCTURE_FEATURES, structure_features

# Note lengths in beats of MGEval's twelve classes: whole, half, quarter, 8th, 16th,
# their dotted forms, and half, quarter and 8th triplets.
NOTE_LENGTHS = np.array([4, 2, 1, 1 / 2, 1 / 4, 3, 3 / 2, 3 / 4, 3 / 8, 4 / 3, 2 / 3, 1 / 3])
MAJOR = np.array([0, 2, 4, 5, 7, 9, 11])
MINOR = np.array([0, 2, 3, 5, 7, 8, 10])
SCALES = np.array([[(degree + tonic) % 12 in scale for degree in range(12)]
                   for scale in (MAJOR, MINOR) for tonic in range(12)])  # (24, 12)
FEATURES = ("pitch_count", "pitch_class_histogram", "pitch_class_transitions", "pitch_range",
            "pitch_interval", "notes_per_bar", "inter_onset_interval",
            "note_length_histogram", "polyphony", "empty_steps", "in_scale")
GRID = 1000  # points where the two densities are compared
MAX_PIECES = 500  # a larger set is represented by this many of its pieces, drawn at random
CHUNK = 20000  # distances whose kernels are summed at a time (GRID x CHUNK floats)


def piece_features(roll: PianoRoll, beats_per_bar: int = 4) -> dict:
    """The features of one piece: {name: float64 array} (one value, or a histogram)."""
    notes = roll.notes()
    pitches, starts, ends = notes[:, 0], notes[:, 1], notes[:, 2]
    beat = float(roll.steps_per_beat)
    bars = max(roll.n_steps / beat / beats_per_bar, 1e-9)
    classes = pitches % 12
    pch = np.bincount(classes, minlength=12).astype(float)
    transitions = np.zeros((12, 12))
    np.add.at(transitions, (classes[:-1], classes[1:]), 1.0)
    onsets = np.unique(starts)
    lengths = (ends - starts) / beat
    nearest = np.abs(np.log(lengths[:, None]) - np.log(NOTE_LENGTHS[None])).argmin(axis=1) \
        if len(lengths) else np.zeros(0, int)
    sounding = roll.play.sum(axis=1)
    features = {
        "pitch_count": len(np.unique(pitches)),
        "pitch_class_histogram": _normalised(pch),
        "pitch_class_transitions": _normalised(transitions).ravel(),
        "pitch_range": np.ptp(pitches) if len(pitches) else 0,
        "pitch_interval": np.abs(np.diff(pitches)).mean() if len(pitches) > 1 else 0.0,
        "notes_per_bar": len(notes) / bars,
        "inter_onset_interval": np.diff(onsets).mean() / beat if len(onsets) > 1 else 0.0,
        "note_length_histogram": _normalised(np.bincount(nearest, minlength=12).astype(float)),
        "polyphony": sounding[sounding > 0].mean() if sounding.any() else 0.0,
        "empty_steps": float((sounding == 0).mean()) if len(sounding) else 1.0,
        "in_scale": (SCALES[:, classes].mean(axis=1).max() if len(classes) else 0.0),
    }
    return {name: np.atleast_1d(np.asarray(value, dtype=np.float64))
            for name, value in features.items()}


def _normalised(counts):
    total = counts.sum()
    return counts / total if total else counts


def set_features(rolls, beats_per_bar: int = 4) -> dict:
    """{feature: (N, d) array} over the N pieces ``rolls``."""
    rows = [piece_features(roll, beats_per_bar) for roll in rolls]
    if not rows:
        raise ValueError("a set of pieces needs at least one piece")
    return {name: np.stack([row[name] for row in rows]) for name in FEATURES}


def _at_most(pieces, count, rng):
    """``pieces``, or ``count`` of them drawn without replacement, in their order."""
    pieces = list(pieces)
    if len(pieces) <= count:
        return pieces
    return [pieces[i] for i in np.sort(rng.choice(len(pieces), size=count, replace=False))]


def _distances(a, b, same):
    """Euclidean distances between the rows of a and of b; without i == j when ``same``."""
    d = np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2))
    if same:
        return d[~np.eye(len(a), dtype=bool)]
    return d.ravel()


def _density(samples, grid):
    """A Gaussian kernel density of ``samples`` on ``grid`` (Scott's bandwidth, with a
    floor of a thousandth of the grid's span so that equal samples still make a density)."""
    span = grid[-1] - grid[0]
    bandwidth = max(samples.std(ddof=1) if len(samples) > 1 else 0.0, 0.0)
    bandwidth = max(bandwidth * len(samples) ** -0.2, 1e-3 * span)
    density = np.zeros(len(grid))
    for first in range(0, len(samples), CHUNK):
        z = (grid[:, None] - samples[None, first:first + CHUNK]) / bandwidth
        density += np.exp(-0.5 * z * z).sum(axis=1)
    density /= len(samples) * bandwidth * np.sqrt(2 * np.pi)
    return density / (density.sum() * (grid[1] - grid[0]))  # mass 1 on the grid


def overlap_and_kl(intra, inter):
    """(OA, KL(intra || inter)) of the densities of two samples of distances."""
    intra, inter = np.asarray(intra, float), np.asarray(inter, float)
    low, high = min(intra.min(), inter.min()), max(intra.max(), inter.max())
    pad = max(high - low, 1e-6) * 0.25
    grid = np.linspace(low - pad, high + pad, GRID)
    step = grid[1] - grid[0]
    p, q = _density(intra, grid), _density(inter, grid)
    overlap = float(np.minimum(p, q).sum() * step)
    kl = float((p * np.log((p + 1e-12) / (q + 1e-12))).sum() * step)
    return min(overlap, 1.0), max(kl, 0.0)


def compare(reference, generated, beats_per_bar: int = 4, max_pieces: int = MAX_PIECES,
            seed: int = 0, structure: bool = False) -> dict:
    """MGEval's comparison of two sets of ``PianoRoll``s (the reference needs two pieces
    or more): {feature: {"overlap", "kl"}} and ``mean_overlap``, the mean OA over
    ``FEATURES``. With ``structure``, the ``STRUCTURE_FEATURES`` too (compared the same
    way; pieces of several bars) and ``structure_overlap``, their mean OA. A set of
    more than ``max_pieces`` pieces is represented by ``max_pieces`` of them drawn at
    random (``seed``), so the distances between pieces (their number grows with the
    square of the set's size) stay within memory; MGEval compares sets of a fixed size."""
    if len(reference) < 2:
        raise ValueError("the reference set needs at least two pieces, got {}".format(
            len(reference)))
    rng = np.random.default_rng(seed)
    reference, generated = (_at_most(pieces, max_pieces, rng)
                            for pieces in (reference, generated))
    ref = set_features(reference, beats_per_bar)
    gen = set_features(generated, beats_per_bar)
    names = FEATURES
    if structure:
        names += STRUCTURE_FEATURES
        for found, pieces in ((ref, reference), (gen, generated)):
            rows = [structure_features(roll, beats_per_bar) for roll in pieces]
            found.update({name: np.stack([row[name] for row in rows])
                          for name in STRUCTURE_FEATURES})
    result = {}
    for name in names:
        overlap, kl = overlap_and_kl(_distances(ref[name], ref[name], True),
                                     _distances(gen[name], ref[name], False))
        result[name] = {"overlap": overlap, "kl": kl}
    result["mean_overlap"] = float(np.mean([result[name]["overlap"] for name in FEATURES]))
    if structure:
        result["structure_overlap"] = float(np.mean([result[name]["overlap"]
                                                     for name in STRUCTURE_FEATURES]))
    return result
