"""Folders of labelled MIDI files to fixed-length note-state windows for training.

The layout is ``ROOT/<label>/*.mid`` (label = genre, or key as in the study's
``cminor``/``ebmajor``). Files convert in parallel, optionally through a cache; a bad
file is reported, not fatal. Pieces, not windows, are split into train and test,
because written-out repeats make windows of one piece near-duplicates of each other.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from .atomic import write_atomically
from .encode import DEFAULT_MAX_STEPS, RollOptions, roll_from_events
from .errors import MidiDatasetError, MidiFileError
from .reader import parse_midi_bytes
from .rollstore import Windows
from .source import DEFAULT_MAX_BYTES, source_bytes
from .walk import files_below
from .storage import ARCHIVE_DAMAGE

CACHE_VERSION = 1
"""Part of every cache key; bumped when a conversion changes its output."""

MIDI_SUFFIXES = (".mid", ".midi", ".smf", ".kar")
"""File name endings (any case) taken for MIDI files in a data-set folder."""

NAMED_ERRORS = 3
"""Files named, with their problem, when a folder holds no usable MIDI file."""


@dataclass
class PieceSet:
    """Converted pieces of a folder: one bool note-state array (steps, 2P) per piece.

    ``labels[i]`` indexes ``label_names`` for ``pieces[i]`` (a file path); ``errors``
    lists (path, message) for files that could not be converted and are left out.
    """

    pieces: list
    labels: np.ndarray
    label_names: list
    note_states: list
    errors: list = field(default_factory=list)


@dataclass
class WindowSplit:
    """Training and test windows, float32 (N, window, 2P) in the study's note-state layout.

    Columns 0..P-1 say a pitch plays during the step, P..2P-1 that it is articulated;
    pitch ``low + j`` for column ``j``; ``window`` steps of ``steps_per_beat`` per quarter
    note. ``*_labels`` index ``label_names``, ``*_pieces`` index ``pieces`` (file paths);
    no piece has windows on both sides. ``train_transpositions`` gives each training
    window's transposition in semitones (0 for the original). ``errors`` lists
    (path, message) for files left out.
    """

    train: np.ndarray
    test: np.ndarray
    train_labels: np.ndarray
    test_labels: np.ndarray
    train_pieces: np.ndarray
    test_pieces: np.ndarray
    train_transpositions: np.ndarray
    label_names: list
    pieces: list
    errors: list
    steps_per_beat: int
    low: int
    high: int
    window: int

    def summary(self) -> str:
        """One line: windows and pieces on each side, labels, errors."""
        return (f"{len(self.train)} train / {len(self.test)} test windows of {self.window} steps "
                f"from {len(set(self.train_pieces.tolist()))} / "
                f"{len(set(self.test_pieces.tolist()))} pieces, labels {self.label_names}, "
                f"{len(self.errors)} files left out")


def midi_files(root, labels=None) -> tuple:
    """(paths, label index per path, label names) of the MIDI files under ``root``.

    Each sub-folder of ``root`` is a label (its files found at any depth); ``labels``
    picks and orders them. A folder without sub-folders is one label, its own name.
    """
    root = Path(root)
    if not root.is_dir():
        raise MidiDatasetError(str(root), "no such folder")
    folders = sorted(path for path in root.iterdir() if path.is_dir() and _midi_in(path))
    if labels is not None:
        missing = [label for label in labels if not (root / label).is_dir()]
        if missing:
            raise MidiDatasetError(str(root), f"no label folder {', '.join(missing)}")
        folders = [root / label for label in labels]
    elif not folders:
        folders = [root]
    paths, path_labels = [], []
    for index, folder in enumerate(folders):
        recursive = folder != root
        found = _midi_in(folder, recursive)
        paths += found
        path_labels += [index] * len(found)
    if not paths:
        raise MidiDatasetError(str(root), "holds no MIDI files (.mid, .midi)")
    return paths, np.array(path_labels, dtype=np.int64), [folder.name for folder in folders]


def _midi_in(folder: Path, recursive: bool = True) -> list:
    """Sorted paths of MIDI files in ``folder``."""
    if recursive:
        return [str(path) for path in files_below(folder, MIDI_SUFFIXES)]
    return sorted(str(path) for path in folder.iterdir()
                  if path.suffix.lower() in MIDI_SUFFIXES and path.is_file())


def load_pieces(root, steps_per_beat: int = 4, low: int = 24, high: int = 102, labels=None,
                cache_dir=None, workers: Optional[int] = None, progress: Optional[bool] = None,
                strict: bool = True, max_steps: int = DEFAULT_MAX_STEPS,
                max_bytes: int = DEFAULT_MAX_BYTES, **policies) -> PieceSet:
    """Every MIDI file under ``root`` as a note-state array, converted in parallel.

    ``workers`` processes convert (default: one per core; 1 converts here).
    ``cache_dir`` keeps each conversion as ``.npz`` keyed by the file's content and
    the options, so a second run reads instead of converting. ``progress``: a progress
    bar on stderr (None: only when stderr is a terminal). A file whose roll would be
    longer than ``max_steps`` steps or that holds more than ``max_bytes`` bytes is left
    out before it costs memory, and listed in ``errors`` like any bad file.
    ``policies`` go to :class:`midi.RollOptions`. Raises :class:`MidiDatasetError`,
    naming the first files and their problems, when no file converts.
    """
    options = RollOptions(steps_per_beat, low, high, strict, velocity=False,
                          max_steps=max_steps, max_bytes=max_bytes, **policies)
    paths, path_labels, label_names = midi_files(root, labels)
    results = _convert_all(paths, options, cache_dir, workers, progress)
    errors = [(path, message) for path, (_, message) in zip(paths, results) if message]
    kept = [index for index, (state, _) in enumerate(results) if state is not None]
    if not kept:
        raise MidiDatasetError(str(root), f"no usable MIDI file among {len(paths)}"
                               f"{_named_errors(root, errors)}")
    return PieceSet(pieces=[paths[i] for i in kept], labels=path_labels[kept],
                    label_names=label_names, note_states=[results[i][0] for i in kept],
                    errors=errors)


def _named_errors(root, errors: list) -> str:
    """``": a.mid: problem; b.mid: problem; and 3 more"``: the first failures, by name."""
    if not errors:
        return ""
    named = []
    for path, message in errors[:NAMED_ERRORS]:
        try:
            path = os.path.relpath(path, root)
        except ValueError:  # another drive (Windows)
            pass
        named.append(f"{path}: {message}")
    more = len(errors) - NAMED_ERRORS
    return ": " + "; ".join(named) + (f"; and {more} more" if more > 0 else "")


def show_progress(progress: Optional[bool]) -> bool:
    """Whether to draw a progress bar: as asked, or (None) when stderr is a terminal."""
    if progress is not None:
        return bool(progress)
    try:
        return sys.stderr is not None and sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed stderr
        return False


def _convert_all(paths: list, options: RollOptions, cache_dir, workers, progress) -> list:
    """(note state or None, error message or None) per path, in the order of ``paths``."""
    from tqdm.auto import tqdm

    workers = min(workers or available_cores(), len(paths))
    cache = None if cache_dir is None else os.fspath(cache_dir)
    if cache is not None:
        try:
            os.makedirs(cache, exist_ok=True)
        except OSError as error:
            raise MidiDatasetError(cache, f"cannot make the cache folder: "
                                          f"{error.strerror or error}") from None
    bar = tqdm(total=len(paths), desc="MIDI files", unit="file",
               disable=not show_progress(progress), file=sys.stderr)
    results = [None] * len(paths)
    with bar:
        if workers <= 1:
            for index, path in enumerate(paths):
                results[index] = convert_file(path, options, cache)
                bar.update()
            return results
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(convert_file, path, options, cache): index
                       for index, path in enumerate(paths)}
            for future in as_completed(futures):
                results[futures[future]] = _result(future)
                bar.update()
    return results


def _result(future) -> tuple:
    """A worker's (state, message); a worker that failed outright (killed, out of memory,
    a bug) leaves out its file, which is then named in ``errors``, not the whole folder."""
    try:
        return future.result()
    except Exception as error:  # BrokenProcessPool, MemoryError, pickling, a bug
        return None, f"conversion failed in a worker process: {type(error).__name__}: {error}"


def available_cores() -> int:
    """Cores this process may run on (fewer than the machine's under a CPU mask)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def convert_file(path: str, options: RollOptions, cache_dir: Optional[str] = None) -> tuple:
    """(bool note state (steps, 2P), None), or (None, message) when the file is bad
    (unreadable, damaged, or too long to convert within ``options.max_steps`` and
    ``options.max_bytes``)."""
    try:
        data, name = source_bytes(path, options.max_bytes)
        cached = None if cache_dir is None else os.path.join(cache_dir, _cache_key(data, options))
        if cached is not None and os.path.exists(cached):
            state = _read_cached(cached)
            if state is not None:
                return state, None
        roll = roll_from_events(parse_midi_bytes(data, name, options.strict), options)
        state = roll.to_note_state()
        if cached is not None:
            write_atomically(cached, lambda stream: np.savez_compressed(stream, note_state=state))
        return state, None
    except MidiFileError as error:
        return None, error.problem
    except MemoryError:
        return None, "out of memory while converting it"


def _cache_key(data: bytes, options: RollOptions) -> str:
    """File name of a conversion's cache entry: a hash of content, options and version."""
    digest = hashlib.sha256(data)
    digest.update(json.dumps([CACHE_VERSION, options.as_dict()], sort_keys=True).encode())
    return digest.hexdigest()[:40] + ".npz"


def _read_cached(path: str) -> Optional[np.ndarray]:
    """A cached note state, or None when the entry is unreadable (it is then rebuilt)."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            return archive["note_state"].astype(bool)
    except ARCHIVE_DAMAGE:
        return None


def split_pieces(labels: np.ndarray, test_fraction: float, seed: int = 0) -> np.ndarray:
    """Whether each piece goes to test: ``test_fraction`` of each label, drawn with ``seed``.

    Each label with two pieces or more gives at least one to each side when
    ``0 < test_fraction < 1``.
    """
    if not 0 <= test_fraction <= 1:
        raise ValueError(f"test_fraction must be in [0, 1], not {test_fraction}")
    rng = np.random.default_rng(seed)
    is_test = np.zeros(len(labels), bool)
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        count = int(round(test_fraction * len(members)))
        if len(members) >= 2 and 0 < test_fraction < 1:
            count = min(max(count, 1), len(members) - 1)
        is_test[rng.permutation(members)[:count]] = True
    return is_test


def window_starts(note_state: np.ndarray, window: int, hop: Optional[int] = None,
                  windows_per_piece: Optional[int] = None, rng=None) -> np.ndarray:
    """First steps of the non-empty windows of one piece's note state (steps, 2P).

    Windows start every ``hop`` steps (default: ``window`` without ``windows_per_piece``,
    else 1); ``windows_per_piece`` draws that many distinct starts at random (``rng``).
    A window where no pitch plays is skipped; a piece shorter than ``window`` gives one
    window (start 0), to be padded with silence.
    """
    width = note_state.shape[1] // 2
    length = max(len(note_state), window)
    hop = hop or (1 if windows_per_piece else window)
    starts = np.arange(0, length - window + 1, hop)
    sounding = _running_count(note_state[:, :width].any(axis=1), length)
    starts = starts[sounding[starts + window] > sounding[starts]]
    if windows_per_piece is not None and len(starts) > windows_per_piece:
        rng = rng if rng is not None else np.random.default_rng(0)
        starts = np.sort(rng.choice(starts, size=windows_per_piece, replace=False))
    return starts


def piece_windows(note_state: np.ndarray, window: int, hop: Optional[int] = None,
                  windows_per_piece: Optional[int] = None, rng=None) -> np.ndarray:
    """Non-empty windows (N, window, 2P) of one piece's note state (steps, 2P), as
    :func:`window_starts` chooses them; a piece shorter than ``window`` gives one window
    padded with silence."""
    starts = window_starts(note_state, window, hop, windows_per_piece, rng)
    return np.asarray(Windows([note_state], np.zeros(len(starts)), starts, np.zeros(len(starts)),
                              window, note_state.shape[1]), dtype=note_state.dtype)


def shift_fits(note_state: np.ndarray, starts: np.ndarray, window: int,
               semitones: int) -> np.ndarray:
    """Which windows (by first step) keep every note within the pitch range when moved
    by ``semitones``; the others are left out rather than cut."""
    width = note_state.shape[1] // 2
    play = note_state[:, :width]
    if semitones > 0:
        edge = play[:, width - semitones:]
    elif semitones < 0:
        edge = play[:, :-semitones]
    else:
        return np.ones(len(starts), bool)
    hits = _running_count(edge.any(axis=1), max(len(note_state), window))
    return hits[starts + window] == hits[starts]


def _running_count(flags: np.ndarray, length: int) -> np.ndarray:
    """``count[t]``: how many of ``flags[:t]`` are set, for t in 0..length (steps past the
    end of ``flags``, a piece padded with silence, add none); a window [a, a + w) holds
    ``count[a + w] - count[a]`` of them."""
    count = np.zeros(length + 1, np.int64)
    count[1:len(flags) + 1] = np.cumsum(flags)
    count[len(flags) + 1:] = count[len(flags)]
    return count


def load_windows(root, steps_per_beat: int = 4, low: int = 24, high: int = 102,
                 window: int = 100, hop: Optional[int] = None,
                 windows_per_piece: Optional[int] = None, test_fraction: float = 0.2,
                 seed: int = 0, transpose=(), labels=None, cache_dir=None,
                 workers: Optional[int] = None, progress: Optional[bool] = None,
                 strict: bool = True, max_steps: int = DEFAULT_MAX_STEPS,
                 max_bytes: int = DEFAULT_MAX_BYTES, **policies) -> WindowSplit:
    """Train/test windows of the MIDI files under ``root``, split by piece.

    Each file becomes a roll of ``steps_per_beat`` steps per quarter note over MIDI
    pitches [low, high) (see :func:`midi.midi_to_roll`; ``policies`` go there), then
    windows of ``window`` steps (see :func:`split_windows`). ``test_fraction`` of each
    label's pieces, drawn with ``seed``, go to test. ``cache_dir``, ``workers``,
    ``progress``, ``max_steps``, ``max_bytes``: see :func:`load_pieces` (a file too long
    to convert is left out and listed in ``errors``).
    """
    if window < 1:
        raise ValueError(f"window must be positive, not {window}")
    pieces = load_pieces(root, steps_per_beat, low, high, labels, cache_dir, workers,
                         progress, strict, max_steps, max_bytes, **policies)
    return split_windows(pieces, split_pieces(pieces.labels, test_fraction, seed), root,
                         steps_per_beat, low, high, window, hop, windows_per_piece, seed,
                         transpose)


def merge_pieces(*sets: PieceSet) -> PieceSet:
    """Pieces of several sources as one set; labels of the same name become one label,
    the others keep their order of appearance."""
    names, pieces, labels, states, errors = [], [], [], [], []
    for part in sets:
        for name in part.label_names:
            if name not in names:
                names.append(name)
        index = np.array([names.index(name) for name in part.label_names], np.int64)
        pieces += list(part.pieces)
        labels.append(index[np.asarray(part.labels, np.int64)])
        states += list(part.note_states)
        errors += list(part.errors)
    return PieceSet(pieces=pieces, labels=np.concatenate(labels) if labels else
                    np.zeros(0, np.int64), label_names=names, note_states=states,
                    errors=errors)


def split_windows(pieces: PieceSet, is_test: np.ndarray, source, steps_per_beat: int,
                  low: int, high: int, window: int, hop: Optional[int] = None,
                  windows_per_piece: Optional[int] = None, seed: int = 0,
                  transpose=(), lazy: bool = False) -> WindowSplit:
    """The windows of ``pieces`` (see :func:`window_starts`), each piece on the side
    ``is_test`` gives it; ``transpose`` lists semitone shifts added to the training
    windows only (test stays as written). A piece shorter than ``window`` gives one
    window padded with silence, but pieces none of which fills one window raise
    :class:`MidiDatasetError` naming ``source``. ``lazy``: the windows are
    :class:`midi.rollstore.Windows`, read from the pieces' note states when asked for
    (memory: the index), instead of float32 arrays.
    """
    longest = max((len(state) for state in pieces.note_states), default=0)
    if longest < window:
        raise MidiDatasetError(str(source), f"no piece fills a window of {window} steps (the "
                                            f"longest has {longest} at {steps_per_beat} "
                                            f"steps per beat); choose a shorter window")
    rng = np.random.default_rng(seed)
    width = 2 * (high - low)
    sides = {False: _Side(), True: _Side()}
    for index, state in enumerate(pieces.note_states):
        starts = window_starts(state, window, hop, windows_per_piece, rng)
        side = sides[bool(is_test[index])]
        side.add(starts, pieces.labels[index], index, 0)
        if not is_test[index]:
            for semitones in transpose:
                if semitones:
                    fits = shift_fits(state, starts, window, semitones)
                    side.add(starts[fits], pieces.labels[index], index, semitones)
    train = sides[False].windows(pieces.note_states, window, width, lazy)
    test = sides[True].windows(pieces.note_states, window, width, lazy)
    return WindowSplit(
        train=train[0], test=test[0], train_labels=train[1], test_labels=test[1],
        train_pieces=train[2], test_pieces=test[2], train_transpositions=train[3],
        label_names=pieces.label_names, pieces=pieces.pieces, errors=pieces.errors,
        steps_per_beat=steps_per_beat, low=low, high=high, window=window)


class _Side:
    """Windows gathered for one side of the split: first step, label, piece, transposition."""

    def __init__(self):
        self.starts, self.labels, self.pieces, self.shifts = [], [], [], []

    def add(self, starts: np.ndarray, label: int, piece: int, semitones: int) -> None:
        self.starts.append(np.asarray(starts, np.int64))
        for column, value in ((self.labels, label), (self.pieces, piece), (self.shifts, semitones)):
            column.append(np.full(len(starts), value, dtype=np.int64))

    def windows(self, states: list, window: int, width: int, lazy: bool) -> tuple:
        """(windows: float32 array or lazy ``Windows``, labels, pieces, transpositions)."""
        columns = [np.concatenate(c) if c else np.zeros(0, np.int64)
                   for c in (self.starts, self.labels, self.pieces, self.shifts)]
        starts, labels, pieces, shifts = columns
        windows = Windows(states, pieces, starts, shifts, window, width)
        return (windows if lazy else np.asarray(windows)), labels, pieces, shifts
