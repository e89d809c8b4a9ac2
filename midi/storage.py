"""Piano rolls to ``.npz`` archives and back, with every field of the roll.

Arrays: ``play``, ``onset`` (bool, steps x pitches), ``velocity`` (uint8, when kept),
``note_state`` (bool, steps x 2 pitches: the study's layout, for readers without this
package), ``tempos`` (step, microseconds per quarter note), ``time_signatures`` (step,
numerator, denominator) and scalars ``steps_per_beat``, ``low``, ``ticks_per_beat``,
``program`` (-1 when unknown), ``programs``, ``is_drum``, ``source``, ``version``.
"""
from __future__ import annotations

import os
import struct
import zipfile
import zlib

import numpy as np

from .atomic import write_atomically
from .encode import DEFAULT_MAX_STEPS
from .errors import MidiTooLongError, RollFileError
from .roll import PianoRoll

FORMAT_VERSION = 1
"""Version of the archive layout; bumped when a field changes meaning."""

ARCHIVE_DAMAGE = (OSError, ValueError, EOFError, KeyError, OverflowError, zipfile.BadZipFile,
                  zlib.error, struct.error, NotImplementedError, RuntimeError)
"""What reading a damaged or foreign archive raises: a cut or flipped byte in compressed
data is a zlib.error, an unknown compression method NotImplementedError, an encrypted
member RuntimeError, a bad header ValueError or struct.error."""

BYTES_PER_STEP = 2048
"""Most bytes of arrays an archive may hold per step of ``max_steps``: a float64
note-state array of 128 pitches (what a model writes) takes exactly this."""


def roll_arrays(roll: PianoRoll) -> dict:
    """The arrays an archive of ``roll`` holds, by name."""
    arrays = {
        "play": roll.play, "onset": roll.onset, "note_state": roll.to_note_state(),
        "tempos": np.array(roll.tempos, dtype=np.int64).reshape(-1, 2),
        "time_signatures": np.array(roll.time_signatures, dtype=np.int64).reshape(-1, 3),
        "steps_per_beat": roll.steps_per_beat, "low": roll.low,
        "ticks_per_beat": roll.ticks_per_beat,
        "program": -1 if roll.program is None else roll.program,
        "programs": np.array(roll.programs, dtype=np.int64), "is_drum": roll.is_drum,
        "source": roll.source or "", "version": FORMAT_VERSION,
    }
    if roll.velocity is not None:
        arrays["velocity"] = roll.velocity
    return arrays


def save_roll(roll: PianoRoll, path) -> None:
    """Write ``roll`` to ``path`` as a compressed ``.npz``, atomically."""
    write_atomically(path, lambda stream: np.savez_compressed(stream, **roll_arrays(roll)))


def load_roll(path, steps_per_beat: int = 4, low: int = 24, threshold: float = 0.5,
              max_steps: int = DEFAULT_MAX_STEPS) -> PianoRoll:
    """The roll saved at ``path``; :class:`RollFileError` naming it if that fails.

    An archive that is not a saved roll but holds a single 2-D array (a model's
    note-state output, binary or probabilities) is read as a note-state array of
    ``steps_per_beat`` steps per quarter note from MIDI pitch ``low``, on above
    ``threshold``. An archive whose arrays have more than ``max_steps`` rows, or more
    than ``BYTES_PER_STEP * max_steps`` bytes in all, raises :class:`MidiTooLongError`
    from the array headers, before anything is decompressed.
    """
    name = os.fsdecode(os.fspath(path))
    arrays = _archive_arrays(path, name, max_steps)
    missing = {"play", "onset", "steps_per_beat", "low"} - set(arrays)
    if missing and len(arrays) == 1:
        return _note_state_roll(name, next(iter(arrays.values())), steps_per_beat, low, threshold)
    if missing:
        raise RollFileError(name, f"not a piano-roll archive: lacks {', '.join(sorted(missing))}")
    try:
        program = int(arrays.get("program", -1))
        return PianoRoll(
            arrays["play"], arrays["onset"], steps_per_beat=int(arrays["steps_per_beat"]),
            low=int(arrays["low"]), ticks_per_beat=int(arrays.get("ticks_per_beat", 480)),
            tempos=tuple(map(tuple, arrays.get("tempos", np.zeros((0, 2), int)).tolist())),
            time_signatures=tuple(map(tuple, arrays.get("time_signatures",
                                                        np.zeros((0, 3), int)).tolist())),
            velocity=arrays.get("velocity"), program=None if program < 0 else program,
            programs=tuple(arrays.get("programs", np.zeros(0, int)).tolist()),
            is_drum=bool(arrays.get("is_drum", False)),
            source=str(arrays.get("source", "")) or None)
    except (ValueError, TypeError, OverflowError) as error:
        raise RollFileError(name, f"inconsistent piano-roll archive: {error}") from None


def _archive_arrays(path, name: str, max_steps: int) -> dict:
    """The arrays of an ``.npz`` archive (or of a single ``.npy`` array, under its name)."""
    try:
        with open(path, "rb") as stream:
            magic = stream.read(6)
            stream.seek(0)
            if magic == b"\x93NUMPY":
                _check_sizes(name, [_header(stream)], max_steps)
                stream.seek(0)
                return {"array": np.load(stream, allow_pickle=False)}
            if not magic.startswith(b"PK"):
                raise RollFileError(name, "not a .npz archive")
            with zipfile.ZipFile(stream) as archive:
                headers = []
                for member in archive.infolist():
                    with archive.open(member) as entry:
                        headers.append(_header(entry))
            _check_sizes(name, headers, max_steps)
            stream.seek(0)
            with np.load(stream, allow_pickle=False) as archive:
                return {key: archive[key] for key in archive.files}
    except (RollFileError, MidiTooLongError):
        raise
    except FileNotFoundError:
        raise RollFileError(name, "no such file") from None
    except ARCHIVE_DAMAGE as error:
        raise RollFileError(name, f"not a piano-roll archive: {error}") from None


def _header(stream) -> tuple:
    """(shape, dtype) from the header of a ``.npy`` stream, without reading its data."""
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
    elif version == (2, 0):
        shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
    else:
        shape, _, dtype = np.lib.format._read_array_header(stream, version)
    return shape, dtype


def _check_sizes(name: str, headers: list, max_steps: int) -> None:
    """Refuse arrays longer than ``max_steps`` rows or larger in all than their budget."""
    rows = max((shape[0] for shape, _ in headers if len(shape)), default=0)
    if rows > max_steps:
        raise MidiTooLongError(name, f"holds an array of {rows} steps, over the limit of "
                                     f"{max_steps} steps (raise it with max_steps, --max-steps)",
                               rows, max_steps, "steps")
    size = sum(int(np.prod(shape, dtype=object)) * dtype.itemsize for shape, dtype in headers)
    if size > BYTES_PER_STEP * max_steps:
        raise MidiTooLongError(name, f"holds {size} bytes of arrays, over the limit of "
                                     f"{BYTES_PER_STEP * max_steps} bytes ({BYTES_PER_STEP} per "
                                     "step of max_steps)", size, BYTES_PER_STEP * max_steps,
                               "bytes")


def _note_state_roll(name: str, array: np.ndarray, steps_per_beat: int, low: int,
                     threshold: float) -> PianoRoll:
    """The roll of a bare note-state array found in an archive."""
    try:
        return PianoRoll.from_note_state(array, steps_per_beat, low, threshold, source=name)
    except ValueError as error:
        raise RollFileError(name, f"not a note-state array: {error}") from None
