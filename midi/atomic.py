"""Atomic file writes: readers see the old file or the whole new one, never a part."""
from __future__ import annotations

import errno
import os
import tempfile
from typing import BinaryIO, Callable

from .errors import DiskFullError, MidiFileError

FULL = (errno.ENOSPC, errno.EDQUOT)


def write_atomically(path, write: Callable[[BinaryIO], None]) -> None:
    """Call ``write(stream)`` on a temporary file beside ``path``, then rename it to ``path``.

    A failure removes the temporary file and leaves any old file intact; an OSError
    becomes a :class:`MidiFileError` naming ``path`` (:class:`DiskFullError` when the file
    system is full).
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    try:
        handle, temporary = tempfile.mkstemp(prefix=".", suffix=".part", dir=directory)
    except OSError as error:
        raise _write_error(path, error) from None
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        # mkstemp makes the file private; a written result is an ordinary file.
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException as error:
        if os.path.exists(temporary):
            os.unlink(temporary)
        if isinstance(error, OSError):
            raise _write_error(path, error) from None
        raise


def _write_error(path: str, error: OSError) -> MidiFileError:
    """The typed error of a failed write: :class:`DiskFullError` for a full file system."""
    kind = DiskFullError if error.errno in FULL else MidiFileError
    return kind(path, f"cannot write: {error.strerror or error}")
