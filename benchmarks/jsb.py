"""JSB Chorales (Boulanger-Lewandowski et al., 2012) for ``benchmarks/quality.py jsb``.

The data set is the ``JSB_Chorales.mat`` of the polyphonic-music benchmark, with the
standard split: its keys ``traindata``, ``validdata`` and ``testdata`` are cell arrays
(NumPy object arrays once loaded by ``scipy.io.loadmat``) of binary piano rolls of shape
(T, 88), one row per time step (a quarter note in this data set), one column per piano
key (A0 .. C8). The split holds 229 / 76 / 77 chorales.

The benchmark cuts every sequence into consecutive windows of ``window`` steps and pads
the last window of each sequence with silent steps (all keys off). ``windows`` returns,
besides the windows, how many steps of each window are real and which sequence it came
from, so that ``per_step_bound`` can add up the log-likelihoods of the windows of each
sequence and divide by the number of real steps only.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional, Tuple

import numpy as np

SPLITS = {"train": "traindata", "valid": "validdata", "test": "testdata"}
KEYS = 88  # piano keys per time step
RELATIVE_PATH = Path("polyphonic") / "JSB_Chorales.mat"


def default_path():
    """``$CHAINER_VAE_DATA/polyphonic/JSB_Chorales.mat``, else the same under
    ``<repo>/../shared/data`` (where the Makefile points ``$CHAINER_VAE_DATA``)."""
    root = os.environ.get("CHAINER_VAE_DATA")
    if root:
        return Path(root).expanduser() / RELATIVE_PATH
    return Path(__file__).resolve().parents[2] / "shared" / "data" / RELATIVE_PATH


def load_jsb(path=None):
    """The three splits of ``JSB_Chorales.mat`` as ``{"train", "valid", "test"}`` ->
    list of float32 arrays (T, 88) holding 0.0 / 1.0."""
    import scipy.io

    path = Path(path) if path is not None else default_path()
    if not path.is_file():
        raise FileNotFoundError("{}: no such file (set $CHAINER_VAE_DATA to the data root "
                                "holding polyphonic/JSB_Chorales.mat, or pass --data)".format(path))
    raw = scipy.io.loadmat(str(path))
    splits = {}
    for name, key in SPLITS.items():
        if key not in raw:
            raise ValueError("{}: no {!r} entry (found {})".format(
                path, key, ", ".join(k for k in raw if not k.startswith("__"))))
        splits[name] = [_roll(cell, path, key, i) for i, cell in enumerate(raw[key].ravel())]
    return splits


def _roll(cell, path, key, index):
    roll = np.asarray(cell)
    if roll.ndim != 2 or roll.shape[1] != KEYS or roll.shape[0] < 1:
        raise ValueError("{}: {}[{}] has shape {}, expected (T, {})".format(
            path, key, index, roll.shape, KEYS))
    if not np.isin(roll, (0, 1)).all():
        raise ValueError("{}: {}[{}] is not a binary piano roll".format(path, key, index))
    return roll.astype(np.float32)


@dataclass
class Windows:
    """Sequences cut into windows: ``x`` (N, window, 88) float32, ``real`` (N,) the number
    of unpadded steps of each window, ``sequence`` (N,) the index of its sequence. For
    whole sequences (``whole``) ``x`` is None: their lengths differ."""

    x: Optional[np.ndarray]
    real: np.ndarray
    sequence: np.ndarray

    @property
    def steps(self):
        """The number of real (unpadded) steps in all windows together."""
        return int(self.real.sum())


def windows(sequences, window, hop=None):
    """Cut each sequence (T, F) into windows of ``window`` steps starting every ``hop``
    steps (``hop = window``: consecutive, non-overlapping windows that cover the sequence
    exactly once). The last window of a sequence is padded with silent (zero) steps; with
    ``hop < window`` windows overlap (for training only) and the last one still reaches
    the end of the sequence."""
    if window < 1:
        raise ValueError("the window must be at least one step, got {}".format(window))
    hop = window if hop is None else hop
    if hop < 1:
        raise ValueError("the hop must be at least one step, got {}".format(hop))
    xs, reals, owners = [], [], []
    for index, seq in enumerate(sequences):
        seq = np.asarray(seq, dtype=np.float32)
        length = len(seq)
        starts = list(range(0, max(length - window, 0) + 1, hop))
        if starts[-1] + window < length:  # the hop skipped the end: one more window
            starts.append(starts[-1] + hop)
        for start in starts:
            piece = seq[start:start + window]
            real = len(piece)
            if real < window:
                piece = np.concatenate(
                    [piece, np.zeros((window - real,) + seq.shape[1:], np.float32)])
            xs.append(piece)
            reals.append(real)
            owners.append(index)
    features = sequences[0].shape[1:] if len(sequences) else (KEYS,)
    x = np.stack(xs) if xs else np.zeros((0, window) + tuple(features), np.float32)
    return Windows(x, np.asarray(reals, np.int64), np.asarray(owners, np.int64))


def transposed(sequences, shifts):
    """The sequences, then a copy of each moved up by every shift in ``shifts`` (semitones;
    negative: down) in which no note leaves the 88 keys; copies that would are left out."""
    originals = [np.asarray(seq) for seq in sequences]
    out = list(originals)
    for shift in shifts:
        if shift == 0:
            continue
        for seq in originals:
            leaving = seq[:, seq.shape[1] - shift:] if shift > 0 else seq[:, :-shift]
            if not leaving.any():
                out.append(np.roll(seq, shift, axis=1))
    return out


def whole(sequences):
    """Each sequence as one unit of its own length (no cutting, no padding): ``Windows``
    whose ``real`` are the lengths and ``sequence`` 0 .. N-1; ``x`` is None."""
    lengths = np.asarray([len(seq) for seq in sequences], np.int64)
    return Windows(None, lengths, np.arange(len(lengths), dtype=np.int64))


def by_length(sequences) -> Iterator[Tuple[int, np.ndarray, np.ndarray]]:
    """The sequences grouped by length, shortest first: (steps, indices into
    ``sequences``, float32 array (n, steps, 88)) per length."""
    lengths = np.asarray([len(seq) for seq in sequences])
    for steps in np.unique(lengths):
        indices = np.flatnonzero(lengths == steps)
        yield int(steps), indices, np.stack([np.asarray(sequences[i], np.float32)
                                             for i in indices])


def per_step_bound(window_log_lik, wins: Windows, n_sequences=None):
    """Aggregate per-window log-likelihoods (nats) into the per-time-step figure.

    For each sequence: the sum over its windows of log p(window), then the total over all
    sequences divided by the total number of real (unpadded) steps. Also returns each
    sequence's own total and steps, and the mean over sequences of the per-sequence ratio
    (reported for information only: it weighs short chorales as much as long ones).
    """
    window_log_lik = np.asarray(window_log_lik, dtype=np.float64)
    if window_log_lik.shape != wins.real.shape:
        raise ValueError("one log-likelihood per window expected: {} for {} windows".format(
            window_log_lik.shape, wins.real.shape))
    n = int(wins.sequence.max()) + 1 if n_sequences is None else n_sequences
    totals = np.bincount(wins.sequence, weights=window_log_lik, minlength=n)
    steps = np.bincount(wins.sequence, weights=wins.real, minlength=n)
    per_sequence = totals / np.maximum(steps, 1)
    return {"per_step": float(totals.sum() / steps.sum()),
            "total": float(totals.sum()), "steps": int(steps.sum()),
            "sequences": int(n),
            "mean_of_sequence_per_step": float(per_sequence[steps > 0].mean()),
            "sequence_totals": totals, "sequence_steps": steps.astype(np.int64)}
