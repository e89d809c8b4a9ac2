"""The typed errors of ``midi``: one family, rooted at :class:`MidiFileError`.

Every problem with a file, a byte string or a folder of files is raised as one of these,
never as a bare EOFError, OSError, KeyError or IndexError, so that a caller can catch
``MidiFileError`` and report the message, which always names the file.
"""
from __future__ import annotations


class MidiFileError(Exception):
    """A MIDI source (file, bytes, folder) that cannot be read; the message names it.

    ``source`` is the file or folder name (``"<bytes>"`` for in-memory data) and
    ``problem`` the bare description, so that ``str(error)`` reads ``"source: problem"``.
    """

    def __init__(self, source: str, problem: str):
        super().__init__(f"{source}: {problem}")
        self.source = source
        self.problem = problem

    def __reduce__(self):
        # Keeps the two-argument constructor picklable across worker processes.
        return (type(self), (self.source, self.problem))


class MidiFormatError(MidiFileError, ValueError):
    """The bytes are not a valid Standard MIDI File (bad header, data byte, track count)."""


class MidiTruncatedError(MidiFormatError):
    """The file ends inside a chunk or an event: it was cut short."""


class RollFileError(MidiFileError, ValueError):
    """A saved piano-roll archive (``.npz``) is missing, unreadable or lacks its arrays."""


class DiskFullError(MidiFileError, OSError):
    """A file could not be written because its file system is full (or over quota): every
    later write would fail too, so a folder conversion stops at the first one."""


class MidiDatasetError(MidiFileError):
    """A data-set folder is missing or holds no usable MIDI file."""


class MidiTooLongError(MidiFileError):
    """A source longer than a limit allows: converting it would cost more than allowed.

    Raised before the memory is spent. ``length`` is what the source measures and
    ``limit`` what is allowed, both in ``unit`` (``"steps"`` of the roll's grid,
    ``"bytes"`` of the file or archive, ``"notes"`` of a roll to write); the message
    names the source, its length and the keyword (and option) that raises the limit.
    """

    def __init__(self, source: str, problem: str, length: int = 0, limit: int = 0,
                 unit: str = "steps"):
        super().__init__(source, problem)
        self.length = length
        self.limit = limit
        self.unit = unit

    def __reduce__(self):
        return (type(self), (self.source, self.problem, self.length, self.limit, self.unit))
