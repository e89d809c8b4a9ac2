"""The polyphonic music benchmarks of Boulanger-Lewandowski et al. (2012).

JSB Chorales, Nottingham, MuseData and Piano-midi.de, each a ``.mat`` file whose keys
``traindata``, ``validdata`` and ``testdata`` are cell arrays (NumPy object arrays once
loaded by ``scipy.io.loadmat``) of binary piano rolls (T, 88): one row per time step, one
column per piano key, column 0 = MIDI note 21 (A0). The published splits hold
229 / 76 / 77 (JSB), 694 / 173 / 170 (Nottingham), 524 / 135 / 124 (MuseData) and
87 / 12 / 25 (Piano-midi.de) pieces.

Training examples are windows of ``window`` steps taken every ``hop`` steps, the last
window of a piece padded with silent steps (all keys off); ``transpose`` adds copies of
the training pieces moved by some semitones (a copy is left out where a note would leave
the 88 keys). Validation and test examples are consecutive windows; their whole pieces
are kept too (``Data.sequences``), for scoring each piece at its own length.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from chainer_vae.data.base import ENV_VAR, Data, data_root, limited
from chainer_vae.errors import DataError

KEYS = 88  # piano keys per time step
LOWEST_PITCH = 21  # MIDI pitch of column 0
# Steps per quarter note when a roll is written as MIDI: JSB Chorales has one step per
# quarter note; the other benchmarks are written on the same grid, which may play them
# faster or slower than written.
STEPS_PER_BEAT = 1
FILES = {"jsb": "JSB_Chorales.mat", "nottingham": "Nottingham.mat",
         "musedata": "MuseData.mat", "piano-midi": "Piano_midi.mat"}
DATASETS = tuple(FILES)
MAT_KEYS = {"train": "traindata", "valid": "validdata", "test": "testdata"}
FOLDER = "polyphonic"


def mat_path(dataset, data_dir=None) -> Path:
    """The ``.mat`` file of ``dataset``: ``data_dir`` itself when it is a file, else the
    benchmark's file name in ``data_dir``, else in ``$CHAINER_VAE_DATA/polyphonic``."""
    if data_dir is not None:
        path = Path(data_dir).expanduser()
        return path if path.suffix == ".mat" else path / FILES[dataset]
    if data_root() is None:
        raise DataError("--dataset {} needs --data-dir (a folder holding {}) or ${} set to a "
                        "data root holding {}/{}".format(dataset, FILES[dataset], ENV_VAR,
                                                         FOLDER, FILES[dataset]))
    return data_root() / FOLDER / FILES[dataset]


def load_pieces(path):
    """The three splits of a benchmark ``.mat`` file as ``{"train", "valid", "test"}`` ->
    list of float32 arrays (T, 88) holding 0.0 / 1.0."""
    import scipy.io

    path = Path(path)
    if not path.is_file():
        raise DataError("{}: no such file".format(path))
    try:
        raw = scipy.io.loadmat(str(path))
    except NotImplementedError:  # scipy's word for MATLAB v7.3, an HDF5 file
        raise DataError("{}: a MATLAB v7.3 (HDF5) file, which is not read here; save it as "
                        "v7 (MATLAB: save(name, '-v7'); Python: scipy.io.savemat)".format(
                            path)) from None
    except Exception as error:  # damage surfaces as IndexError, zlib.error, ValueError...
        raise DataError("{}: not a readable .mat file ({}: {})".format(
            path, type(error).__name__, error)) from None
    splits = {}
    for name, key in MAT_KEYS.items():
        if key not in raw:
            raise DataError("{}: no {!r} entry (found {})".format(
                path, key, ", ".join(k for k in raw if not k.startswith("__"))))
        splits[name] = [_roll(cell, path, key, i) for i, cell in enumerate(raw[key].ravel())]
    return splits


def _roll(cell, path, key, index):
    roll = np.asarray(cell)
    if roll.dtype.kind not in "biuf":  # complex, text, nested cells: no piano roll
        raise DataError("{}: {}[{}] holds {} values, not a binary piano roll".format(
            path, key, index, roll.dtype))
    if roll.ndim != 2 or roll.shape[1] != KEYS or roll.shape[0] < 1:
        raise DataError("{}: {}[{}] has shape {}, expected (T, {})".format(
            path, key, index, roll.shape, KEYS))
    if not np.isin(roll, (0, 1)).all():
        raise DataError("{}: {}[{}] is not a binary piano roll".format(path, key, index))
    return roll.astype(np.float32)


def windows(pieces, window, hop=None):
    """Windows (N, window, F) float32 of pieces (T, F): one every ``hop`` steps (default
    ``window``: consecutive, covering each piece once), the last one of a piece reaching
    its end and padded with silent steps."""
    if window < 1 or (hop is not None and hop < 1):
        raise DataError("window and hop must be at least one step, got {} and {}".format(
            window, hop))
    hop = window if hop is None else hop
    out = []
    for piece in pieces:
        length = len(piece)
        starts = list(range(0, max(length - window, 0) + 1, hop))
        if starts[-1] + window < length:  # the hop skipped the end: one more window
            starts.append(starts[-1] + hop)
        for start in starts:
            part = piece[start:start + window]
            if len(part) < window:
                part = np.concatenate(
                    [part, np.zeros((window - len(part),) + piece.shape[1:], np.float32)])
            out.append(part)
    if not out:
        return np.zeros((0, window, KEYS), np.float32)
    return np.stack(out).astype(np.float32, copy=False)


def transposed(pieces, shifts):
    """The pieces, then a copy of each moved up by every shift in ``shifts`` (semitones;
    negative: down) in which no note leaves the 88 keys; copies that would are left out."""
    out = list(pieces)
    for shift in shifts:
        if shift == 0:
            continue
        for piece in pieces:
            leaving = piece[:, piece.shape[1] - shift:] if shift > 0 else piece[:, :-shift]
            if not leaving.any():
                out.append(np.roll(piece, shift, axis=1))
    return out


def as_note_states(rolls, steps_per_beat, low, high):
    """Benchmark rolls (T, 88) as the note states of a MIDI folder: bool (T * r, 2P) on a
    grid of ``steps_per_beat`` (r = steps_per_beat, the rolls having one step a beat),
    MIDI pitches [low, high), play | onset. A note starts wherever a key starts to sound:
    the rolls cannot tell a key held from a key struck again. Returns (the note states,
    the number of sounding key-steps outside [low, high), which are left out)."""
    import midi

    first, last = max(low, LOWEST_PITCH), min(high, LOWEST_PITCH + KEYS)
    states, dropped = [], 0
    for roll in rolls:
        play = np.zeros((len(roll), high - low), bool)
        if first < last:
            play[:, first - low:last - low] = roll[:, first - LOWEST_PITCH:last - LOWEST_PITCH]
        dropped += int(roll.sum()) - int(play.sum())
        play = np.repeat(play, steps_per_beat // STEPS_PER_BEAT, axis=0)  # STEPS_PER_BEAT: 1
        states.append(midi.PianoRoll(play, steps_per_beat=steps_per_beat,
                                     low=low).to_note_state())
    return states, dropped


def load_data(config, encoder="lstm", progress=True) -> Data:
    """Windows of a benchmark as a ``DataConfig`` describes them (``dataset`` is one of
    ``DATASETS``), with the validation and test pieces kept whole in ``sequences``."""
    path = mat_path(config.dataset, config.data_dir)
    pieces = load_pieces(path)
    pieces = {name: limited(split, None, config.limit)[0] for name, split in pieces.items()}
    train = windows(transposed(pieces["train"], config.transpose), config.window, config.hop)
    valid, test = (windows(pieces[name], config.window) for name in ("valid", "test"))
    details = {"dataset": config.dataset, "file": str(path), "train": len(train),
               "valid": len(valid), "test": len(test),
               "pieces": {name: len(split) for name, split in pieces.items()}}
    return Data(train, test, (config.window, KEYS), details=details, valid=valid,
                sequences={"valid": pieces["valid"], "test": pieces["test"]})
