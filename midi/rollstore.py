"""Pieces kept on disk as one array, and training windows read from it on demand.

A roll store is a folder holding ``states.bin`` (every piece's bool note state
(steps, 2P), one after the other, row-major) and ``pieces.json`` (each piece's name,
label and first row; the label names; the grid; the pieces left out). Written once,
through a temporary folder and a rename, it is opened lazily: each piece is a
:class:`StoredPiece` whose rows are read with positioned reads (``os.pread``) when they
are indexed. A corpus of any size then costs the rows being read, not its size (the
pages of a memory-mapped file would count in the process's resident memory as they are
touched, and an epoch touches them all).

:class:`Windows` is a window data set over note states (in memory or memory-mapped):
``len``, ``shape``, ``windows[i]`` (one float32 window), ``windows[mask or indices]``
(a subset, still lazy), ``get_batch(indices)`` (float32 (B, window, 2P)) and
``numpy.asarray(windows)`` (all of them at once). Memory stays that of the index, three
integers a window, however many windows there are.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import MidiDatasetError

STATES_FILE = "states.bin"
INDEX_FILE = "pieces.json"
STORE_VERSION = 1


@dataclass
class StoredPieces:
    """What ``open_store`` reads: the pieces' names, labels, label names, note states
    (a :class:`StoredPiece` each), pieces left out (name, problem) and the store's own
    description (``info``: grid, source, anything its writer kept)."""

    pieces: list
    labels: np.ndarray
    label_names: list
    note_states: list
    errors: list
    info: dict


class StoreWriter:
    """Writes a roll store piece by piece, so that memory holds one piece at a time.

    Use as a context manager: the folder appears at ``path`` only when the block ends
    without an error (temporary folder beside it, then a rename); ``add`` appends a piece,
    ``skip`` records one left out.
    """

    def __init__(self, path, width: int, label_names: list, info: dict):
        self.path = Path(path)
        self.width = width
        self.label_names = list(label_names)
        self.info = dict(info)
        self.pieces, self.labels, self.offsets, self.errors = [], [], [0], []

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.temporary = Path(tempfile.mkdtemp(prefix="." + self.path.name + ".", suffix=".part",
                                               dir=self.path.parent))
        self.stream = open(self.temporary / STATES_FILE, "wb")
        return self

    def add(self, name: str, label: int, note_state: np.ndarray) -> None:
        """Append one piece's note state (steps, 2P), any dtype read as 0/1."""
        state = np.ascontiguousarray(note_state, dtype=bool)
        if state.ndim != 2 or state.shape[1] != self.width:
            raise ValueError(f"{name}: a note state of shape {state.shape}, not (steps, "
                             f"{self.width})")
        self.stream.write(state.tobytes())
        self.pieces.append(name)
        self.labels.append(int(label))
        self.offsets.append(self.offsets[-1] + len(state))

    def skip(self, name: str, problem: str) -> None:
        """Record a piece that could not be converted."""
        self.errors.append([name, problem])

    def __exit__(self, kind, error, trace):
        self.stream.close()
        if kind is not None:
            shutil.rmtree(self.temporary, ignore_errors=True)
            return False
        index = {"version": STORE_VERSION, "width": self.width, "pieces": self.pieces,
                 "labels": self.labels, "offsets": self.offsets,
                 "label_names": self.label_names, "errors": self.errors, "info": self.info}
        (self.temporary / INDEX_FILE).write_text(json.dumps(index), encoding="utf-8")
        if self.path.exists():  # a concurrent writer finished first: its store is as good
            shutil.rmtree(self.temporary, ignore_errors=True)
        else:
            os.replace(self.temporary, self.path)
        return False


class StoredPiece:
    """One piece of a roll store, (steps, 2P) bool, read from the file when indexed:
    ``piece[a:b]``, ``piece[a:b, columns]``, ``piece[i]``, ``len``, ``shape`` and
    ``numpy.asarray(piece)`` act as on the array."""

    dtype = np.dtype(bool)
    ndim = 2

    def __init__(self, handle, first: int, rows: int, width: int):
        self.handle, self.first, self.rows, self.width = handle, first, rows, width

    def __len__(self):
        return self.rows

    @property
    def shape(self) -> tuple:
        return (self.rows, self.width)

    def __getitem__(self, key):
        rows, rest = (key[0], key[1:]) if isinstance(key, tuple) else (key, ())
        if isinstance(rows, (int, np.integer)):
            index = int(rows) + (self.rows if rows < 0 else 0)
            if not 0 <= index < self.rows:
                raise IndexError(f"row {rows} of {self.rows}")
            return self._read(index, index + 1)[0][rest]
        if not isinstance(rows, slice) or rows.step not in (None, 1):
            return np.asarray(self)[key]
        start, stop, _ = rows.indices(self.rows)
        return self._read(start, max(start, stop))[(slice(None),) + rest]

    def __array__(self, dtype=None, copy=None):
        whole = self._read(0, self.rows)
        return whole if dtype is None else whole.astype(dtype, copy=False)

    def _read(self, start: int, stop: int) -> np.ndarray:
        size = (stop - start) * self.width
        data = os.pread(self.handle.fileno(), size, (self.first + start) * self.width)
        if len(data) != size:
            raise MidiDatasetError(self.handle.name, "the roll store was cut short")
        return np.frombuffer(data, dtype=bool).reshape(stop - start, self.width)


def open_store(path) -> StoredPieces:
    """The pieces of the roll store at ``path``, each a :class:`StoredPiece` read on
    demand; a :class:`MidiDatasetError` naming the folder when it is missing or damaged."""
    path = Path(path)
    try:
        index = json.loads((path / INDEX_FILE).read_text(encoding="utf-8"))
        width, offsets = int(index["width"]), [int(o) for o in index["offsets"]]
        pieces, labels = list(index["pieces"]), np.asarray(index["labels"], np.int64)
        if index.get("version") != STORE_VERSION or len(offsets) != len(pieces) + 1:
            raise ValueError("an index of another version or length")
        expected = offsets[-1] * width
        size = os.path.getsize(path / STATES_FILE)
        if size != expected:
            raise ValueError(f"{STATES_FILE} holds {size} bytes, not {expected}")
        handle = open(path / STATES_FILE, "rb")
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise MidiDatasetError(str(path), f"not a readable roll store ({error})") from None
    states = [StoredPiece(handle, a, b - a, width) for a, b in zip(offsets[:-1], offsets[1:])]
    return StoredPieces(pieces=pieces, labels=labels, label_names=list(index["label_names"]),
                        note_states=states, errors=[tuple(e) for e in index["errors"]],
                        info=dict(index["info"]))


class Windows:
    """Windows of ``window`` steps of note states, read when asked for.

    ``states`` is a list of (steps, 2P) arrays (pieces); window ``i`` is
    ``states[pieces[i]][starts[i]:starts[i] + window]`` (padded with silence past a
    piece's end) with its pitches moved by ``shifts[i]`` semitones, as float32.
    """

    def __init__(self, states: list, pieces, starts, shifts, window: int, width: int):
        self.states = states
        self.pieces = np.asarray(pieces, np.int64)
        self.starts = np.asarray(starts, np.int64)
        self.shifts = np.asarray(shifts, np.int64)
        self.window = int(window)
        self.width = int(width)

    dtype = np.dtype(np.float32)
    ndim = 3

    def __len__(self):
        return len(self.starts)

    @property
    def shape(self) -> tuple:
        return (len(self), self.window, self.width)

    def __getitem__(self, key):
        if isinstance(key, (int, np.integer)):
            index = int(key) + (len(self) if key < 0 else 0)
            if not 0 <= index < len(self):
                raise IndexError(f"window {key} of {len(self)}")
            return self._window(index)
        return Windows(self.states, self.pieces[key], self.starts[key], self.shifts[key],
                       self.window, self.width)

    def get_batch(self, indices) -> np.ndarray:
        """Windows ``indices`` as one float32 array (B, window, 2P)."""
        indices = np.asarray(indices, np.int64).reshape(-1)
        batch = np.zeros((len(indices), self.window, self.width), np.float32)
        for row, index in enumerate(indices):
            batch[row] = self._window(index)
        return batch

    def __array__(self, dtype=None, copy=None):
        batch = self.get_batch(np.arange(len(self)))
        return batch if dtype is None else batch.astype(dtype, copy=False)

    def _window(self, index: int) -> np.ndarray:
        state = self.states[self.pieces[index]]
        start = self.starts[index]
        part = np.asarray(state[start:start + self.window], np.float32)
        if len(part) < self.window:
            part = np.vstack([part, np.zeros((self.window - len(part), self.width), np.float32)])
        shift = int(self.shifts[index])
        if shift:
            half = self.width // 2
            part = np.roll(part.reshape(self.window, 2, half), shift, axis=2).reshape(
                self.window, self.width)
        return part
