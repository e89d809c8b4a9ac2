"""Atomic file writes: readers see the old file or the whole new one, never a part."""
from __future__ import annotations

import os
import tempfile
from typing import BinaryIO, Callable

from .errors import MidiFileError


def write_atomically(path, write: Callable[[BinaryIO], None]) -> None:
    """Call ``write(stream)`` on a temporary file beside ``path``, then rename it to ``path``.

    A failure removes the temporary file and leaves any old file intact; an OSError
    becomes a :class:`MidiFileError` naming ``path``.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    try:
        handle, temporary = tempfile.mkstemp(prefix=".", suffix=".part", dir=directory)
    except OSError as error:
        raise MidiFileError(path, f"cannot write: {error.strerror or error}") from None
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
            raise MidiFileError(path, f"cannot write: {error.strerror or error}") from None
        raise
