"""Where a MIDI file's bytes come from: a path, bytes, a binary file object or a mido file,
read no further than a size limit, with the name that error messages give the source."""
from __future__ import annotations

import io
import os

import mido

from .errors import MidiFileError, MidiFormatError, MidiTooLongError

DEFAULT_MAX_BYTES = 2 ** 20
"""Largest MIDI file read by default: 1 MiB, 6.5 times the largest of 157 real songs
(161 kB). Parsing costs time and memory in proportion to the bytes (a file can hold a
note per 3 bytes), so this bounds what any file can cost: the worst megabyte we could
make converts in 0.7 s of CPU and 145 MB, for the whole ``midi-roll encode`` process.
Raise it with ``max_bytes`` (``--max-bytes``)."""


def source_bytes(source, max_bytes=None) -> tuple[bytes, str]:
    """The raw bytes of a MIDI source and the name used in error messages.

    ``source`` is a path, ``bytes``/``bytearray``, a binary file object or a
    ``mido.MidiFile`` (serialised with mido, so what mido would save is what is read).
    A source of more than ``max_bytes`` bytes (None: no limit) raises
    :class:`MidiTooLongError` before it is read whole.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, name = bytes(source), "<bytes>"
    elif isinstance(source, mido.MidiFile):
        name = source.filename or "<mido.MidiFile>"
        buffer = io.BytesIO()
        try:
            source.save(file=buffer)
        except (ValueError, TypeError) as error:
            raise MidiFormatError(name, f"mido cannot serialise it: {error}") from None
        data = buffer.getvalue()
    elif hasattr(source, "read"):
        name = str(getattr(source, "name", "<file object>"))
        try:
            data = source.read() if max_bytes is None else source.read(max_bytes + 1)
        except OSError as error:
            raise MidiFileError(name, f"cannot read: {error}") from None
        if not isinstance(data, (bytes, bytearray)):
            raise MidiFileError(name, "file object must be opened in binary mode")
        data = bytes(data)
    else:
        data, name = _file_bytes(source, max_bytes)
    _check_size(name, len(data), max_bytes)
    return data, name


def _file_bytes(source, max_bytes) -> tuple[bytes, str]:
    """The bytes of the file at path ``source`` (at most ``max_bytes + 1`` of them)."""
    try:
        path = os.fspath(source)
    except TypeError:
        raise TypeError(
            "source must be a path, bytes, a binary file object or a mido.MidiFile, "
            f"not {type(source).__name__}") from None
    name = os.fsdecode(path)
    try:
        with open(path, "rb") as handle:
            if max_bytes is None:
                return handle.read(), name
            # The size is checked before reading; reading at most one byte past the
            # limit also bounds what a device or a growing file can cost.
            _check_size(name, os.fstat(handle.fileno()).st_size, max_bytes)
            return handle.read(max_bytes + 1), name
    except FileNotFoundError:
        raise MidiFileError(name, "no such file") from None
    except IsADirectoryError:
        raise MidiFileError(name, "is a folder, not a MIDI file") from None
    except OSError as error:
        raise MidiFileError(name, f"cannot read: {error.strerror or error}") from None


def _check_size(name: str, size: int, max_bytes) -> None:
    """Refuse a source of more than ``max_bytes`` bytes (``size`` may be a partial read)."""
    if max_bytes is not None and size > max_bytes:
        # Where only max_bytes + 1 bytes were read, the true size is not known.
        measured = "more than " if size == max_bytes + 1 else ""
        raise MidiTooLongError(
            name, f"file of {measured}{size - (size == max_bytes + 1)} bytes, over the limit "
            f"of {max_bytes} bytes (raise it with max_bytes, --max-bytes)", size, max_bytes, "bytes")

