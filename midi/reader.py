"""Standard MIDI File bytes to note events in ticks: a fast, strict-or-lenient parser.

mido builds one validated Python object per event, which makes its parse the slowest
part of a conversion; this module walks the chunk and event bytes itself and keeps only
what a piano roll needs (notes paired on/off, programs, tempi, time signatures), so a
file converts faster than mido can merely parse it. mido is still accepted as input.

Times are in ticks (the file's own unit, ``ticks_per_beat`` to a quarter note), pitches
are MIDI numbers 0..127, channels 0..15 (channel 10 of the GM drum kit is ``9``).
"""
from __future__ import annotations

import io
import os
from collections import deque
from dataclasses import dataclass, field

import mido
import numpy as np

from .errors import MidiFileError, MidiFormatError, MidiTooLongError, MidiTruncatedError

DEFAULT_MAX_BYTES = 2 ** 20
"""Largest MIDI file read by default: 1 MiB, 6.5 times the largest of 157 real songs
(161 kB). Parsing costs time and memory in proportion to the bytes (a file can hold a
note per 3 bytes), so this bounds what any file can cost: the worst megabyte we could
make converts in 0.7 s of CPU and 145 MB, for the whole ``midi-roll encode`` process.
Raise it with ``max_bytes`` (``--max-bytes``)."""

@dataclass(frozen=True)
class MidiEvents:
    """The musical content of one MIDI file, every time in ticks.

    Notes are parallel int64 arrays, one entry per note, in no particular order:
    ``starts``/``ends`` (ticks), ``channels`` (0..15), ``pitches`` (MIDI 0..127),
    ``velocities`` (1..127) and ``tracks`` (chunk index). ``programs`` rows are
    (tick, channel, program), ``tempos`` rows (tick, microseconds per quarter note),
    ``time_signatures`` rows (tick, numerator, denominator), each sorted by tick.
    """

    source: str
    format: int
    ticks_per_beat: int
    starts: np.ndarray
    ends: np.ndarray
    channels: np.ndarray
    pitches: np.ndarray
    velocities: np.ndarray
    tracks: np.ndarray
    programs: np.ndarray
    tempos: np.ndarray
    time_signatures: np.ndarray
    end_tick: int
    track_names: tuple = ()
    pitch_bends: int = 0
    sustain_events: int = 0
    stray_note_offs: int = 0
    hanging_notes: int = 0
    clipped_bytes: int = 0
    truncated: bool = False
    warnings: tuple = ()

    @property
    def n_tracks(self) -> int:
        """Number of track chunks read."""
        return len(self.track_names)

    def note_programs(self) -> np.ndarray:
        """GM program (0..127) sounding on each note's channel at its start tick."""
        result = np.zeros(len(self.starts), dtype=np.int64)
        if len(self.programs) == 0 or len(self.starts) == 0:
            return result
        # One sorted key per (channel, tick) lets a single searchsorted find, for every
        # note, the last program change on its channel at or before its start.
        scale = int(max(self.end_tick, self.programs[:, 0].max(), self.starts.max())) + 1
        change_keys = self.programs[:, 1] * scale + self.programs[:, 0]
        order = np.argsort(change_keys, kind="stable")
        change_keys = change_keys[order]
        note_keys = self.channels * scale + self.starts
        found = np.searchsorted(change_keys, note_keys, side="right") - 1
        valid = found >= 0
        valid[valid] = self.programs[order][found[valid], 1] == self.channels[valid]
        result[valid] = self.programs[order][found[valid], 2]
        return result


class _Damage(Exception):
    """A problem at byte ``offset`` of a track chunk; ``cut`` when the data simply ended."""

    def __init__(self, offset: int, problem: str, cut: bool = False):
        super().__init__(problem)
        self.offset = offset
        self.problem = problem
        self.cut = cut


@dataclass
class _Collected:
    """Events gathered over all tracks, as flat lists for one conversion to numpy."""

    notes: list = field(default_factory=list)
    programs: list = field(default_factory=list)
    tempos: list = field(default_factory=list)
    time_signatures: list = field(default_factory=list)
    track_names: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    end_tick: int = 0
    pitch_bends: int = 0
    sustain_events: int = 0
    stray_note_offs: int = 0
    hanging_notes: int = 0
    clipped_bytes: int = 0
    truncated: bool = False


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


def read_midi(source, strict: bool = True, max_bytes=DEFAULT_MAX_BYTES) -> MidiEvents:
    """The notes, programs, tempo map and time signatures of a MIDI source, in ticks.

    ``strict`` raises :class:`MidiFormatError` (or :class:`MidiTruncatedError`) naming
    the source, the track and the byte offset of the first problem. ``strict=False``
    clips out-of-range data bytes to 127 and keeps every complete track and every
    complete event before a truncation, recording what it did in ``warnings``.
    A source larger than ``max_bytes`` (None: no limit) raises
    :class:`MidiTooLongError` before it is read.
    """
    data, name = source_bytes(source, max_bytes)
    return parse_midi_bytes(data, name, strict)


def parse_midi_bytes(data: bytes, name: str = "<bytes>", strict: bool = True) -> MidiEvents:
    """Parse the bytes of a Standard MIDI File (types 0, 1 and 2); see :func:`read_midi`."""
    if not data:
        raise MidiFormatError(name, "empty file")
    if data[:4] != b"MThd":
        raise MidiFormatError(name, f"not a MIDI file: starts with {bytes(data[:4])!r}, not b'MThd'")
    if len(data) < 14:
        raise MidiTruncatedError(name, f"header cut short: {len(data)} bytes, 14 needed")
    header_length = int.from_bytes(data[4:8], "big")
    if header_length < 6:
        raise MidiFormatError(name, f"header chunk of {header_length} bytes, 6 needed")
    file_format = int.from_bytes(data[8:10], "big")
    declared_tracks = int.from_bytes(data[10:12], "big")
    division = int.from_bytes(data[12:14], "big")
    if division & 0x8000:
        raise MidiFormatError(name, "SMPTE time division (frames per second) is not supported")
    if division == 0:
        raise MidiFormatError(name, "ticks per beat is 0")
    collected = _Collected()
    if file_format > 2:
        _complain(strict, name, collected, f"unknown file format {file_format}, read as type 1")
    if file_format == 0 and declared_tracks != 1:
        _complain(strict, name, collected, f"type 0 file declares {declared_tracks} tracks, not 1")
    _read_chunks(data, 8 + header_length, declared_tracks, name, strict, collected)
    return _events(collected, name, min(file_format, 2), division)


def _complain(strict: bool, name: str, collected: _Collected, problem: str) -> None:
    """A structural problem: strict raises it, lenient notes it and goes on."""
    if strict:
        raise MidiFormatError(name, problem)
    collected.warnings.append(problem)


def _read_chunks(data: bytes, pos: int, declared: int, name: str, strict: bool,
                 collected: _Collected) -> None:
    """Walk the chunks after the header, reading each track chunk into ``collected``."""
    size = len(data)
    found = 0
    while pos + 8 <= size:
        chunk_id = bytes(data[pos:pos + 4])
        length = int.from_bytes(data[pos + 4:pos + 8], "big")
        body = pos + 8
        if chunk_id != b"MTrk":
            if found < declared and not chunk_id.isalpha():
                _complain(strict, name, collected,
                          f"expected track chunk {found} at byte {pos}, found {chunk_id!r}")
                return
            if not chunk_id.isalpha():
                collected.warnings.append(f"{size - pos} bytes of trailing data ignored")
                return
            # A chunk type we do not know: the SMF spec says to skip it.
            pos = body + length
            continue
        if found == declared:
            _complain(strict, name, collected,
                      f"more track chunks than the {declared} the header declares")
        if body + length > size:
            if strict:
                raise MidiTruncatedError(
                    name, f"track {found} declares {length} bytes, only {size - body} remain")
            collected.truncated = True
            collected.warnings.append(f"track {found} cut short after {size - body} bytes")
        _read_track(data[body:body + length], body, found, name, strict, collected)
        found += 1
        pos = body + length
    if found < declared:
        if pos < size:
            if strict:
                raise MidiTruncatedError(name, f"file ends inside the header of track {found}")
            collected.truncated = True
        _complain(strict, name, collected,
                  f"header declares {declared} tracks, the file holds {found}")


def _read_track(chunk: bytes, offset: int, track: int, name: str, strict: bool,
                collected: _Collected) -> None:
    """Read one track chunk (``offset``: its first byte in the file) into ``collected``."""
    state = _TrackState(track, collected)
    try:
        _walk_events(chunk, strict, state)
    except _Damage as damage:
        where = f"track {track}, byte {offset + damage.offset}"
        if strict:
            error = MidiTruncatedError if damage.cut else MidiFormatError
            raise error(name, f"{where}: {damage.problem}") from None
        collected.truncated = collected.truncated or damage.cut
        collected.warnings.append(f"{where}: {damage.problem}; rest of track skipped")
    state.close(collected)


class _TrackState:
    """What one track's walk accumulates: open notes, clock, counters, its name."""

    def __init__(self, track: int, collected: _Collected):
        self.track = track
        self.open_notes: dict = {}
        self.tick = 0
        self.end_of_track = 0
        self.name = ""
        self.stray = 0
        self.bends = 0
        self.sustain = 0
        self.clipped = 0
        self.warnings = collected.warnings
        self.notes = collected.notes
        self.programs = collected.programs
        self.tempos = collected.tempos
        self.time_signatures = collected.time_signatures

    def close(self, collected: _Collected) -> None:
        """Close notes still sounding at the end of the track and hand over the counts."""
        end = max(self.tick, self.end_of_track)
        for key, started in self.open_notes.items():
            for start, velocity in started:
                self.notes.extend((start, end, key >> 7, key & 0x7F, velocity, self.track))
                collected.hanging_notes += 1
        collected.end_tick = max(collected.end_tick, end)
        collected.track_names.append(self.name)
        collected.stray_note_offs += self.stray
        collected.pitch_bends += self.bends
        collected.sustain_events += self.sustain
        collected.clipped_bytes += self.clipped


def _walk_events(chunk: bytes, strict: bool, state: _TrackState) -> None:
    """Read every event of one track chunk into ``state``; raise _Damage on bad bytes.

    This loop is the hot path of every conversion, hence locals over attributes and
    one branch per status kind in order of frequency.
    """
    notes = state.notes
    programs = state.programs
    open_notes = state.open_notes
    track = state.track
    end = len(chunk)
    pos = 0
    tick = 0
    status = 0
    event_start = 0
    try:
        while pos < end:
            event_start = pos
            byte = chunk[pos]
            pos += 1
            delta = byte & 0x7F
            if byte & 0x80:
                delta, pos = _variable_tail(chunk, pos, delta)
            tick += delta
            byte = chunk[pos]
            if byte & 0x80:
                pos += 1
                if byte < 0xF0:
                    status = byte
            elif status:
                byte = status
            else:
                if strict:
                    raise _Damage(pos, f"data byte 0x{byte:02X} with no running status")
                pos += 1
                state.clipped += 1
                continue
            kind = byte & 0xF0
            if kind == 0x90 or kind == 0x80:
                pitch = chunk[pos]
                velocity = chunk[pos + 1]
                pos += 2
                if (pitch | velocity) & 0x80:
                    pitch, velocity = _data_bytes(strict, state, pos - 2, pitch, velocity)
                key = (byte & 0x0F) << 7 | pitch
                started = open_notes.get(key)
                if kind == 0x90 and velocity:
                    if started is None:
                        open_notes[key] = [(tick, velocity)]
                    else:
                        if started and len(started) >= 16 and type(started) is list:
                            # 16 open notes of one key: past them a list's pop(0), linear,
                            # gives way to a deque (a literal: this loop is the hot path)
                            started = open_notes[key] = _Fifo(started)
                        started.append((tick, velocity))
                elif started:
                    start, on_velocity = started.pop(0)
                    notes.extend((start, tick, byte & 0x0F, pitch, on_velocity, track))
                else:
                    state.stray += 1
            elif kind == 0xB0 or kind == 0xE0 or kind == 0xA0:
                first = chunk[pos]
                second = chunk[pos + 1]
                pos += 2
                if (first | second) & 0x80:
                    first, second = _data_bytes(strict, state, pos - 2, first, second)
                if kind == 0xE0:
                    state.bends += (second << 7 | first) != 0x2000
                elif kind == 0xB0 and first == 64:
                    state.sustain += 1
            elif kind == 0xC0 or kind == 0xD0:
                value = chunk[pos]
                pos += 1
                if value & 0x80:
                    value = _data_bytes(strict, state, pos - 1, value, 0)[0]
                if kind == 0xC0:
                    programs.append((tick, byte & 0x0F, value))
            elif byte == 0xFF:
                pos = _meta(chunk, pos, tick, strict, state)
            elif byte == 0xF0 or byte == 0xF7:
                length, pos = _variable(chunk, pos)
                pos = _skip(chunk, pos, length)
            else:
                pos = _system_common(chunk, pos, byte, strict, state)
    except IndexError:
        raise _Damage(event_start, "event runs past the end of the track chunk", cut=True) from None
    finally:
        # Hanging notes of a damaged track close at the last tick that was read.
        state.tick = tick


class _Fifo(deque):
    """The open notes of one key when many sound at once: ``pop(0)`` in constant time.

    A plain list serves the usual one or two open notes fastest, but a file that strikes
    one key thousands of times before releasing it would make each release cost as much
    as all the notes still open."""

    def pop(self, index: int = -1):
        """Remove and return item ``index``, as ``list.pop`` does (0 in constant time)."""
        if index == 0:
            return self.popleft()
        if index == -1:
            return super().pop()
        item = self[index]
        del self[index]
        return item


def _variable_tail(chunk: bytes, pos: int, value: int) -> tuple:
    """Finish a variable-length quantity whose first byte (``value``, 7 bits) had bit 7 set."""
    for _ in range(3):
        byte = chunk[pos]
        pos += 1
        value = value << 7 | (byte & 0x7F)
        if not byte & 0x80:
            return value, pos
    raise _Damage(pos, "variable-length quantity longer than 4 bytes")


def _variable(chunk: bytes, pos: int) -> tuple:
    """A variable-length quantity (delta time or length) starting at ``pos``, and the next position."""
    byte = chunk[pos]
    if byte & 0x80:
        return _variable_tail(chunk, pos + 1, byte & 0x7F)
    return byte, pos + 1


def _skip(chunk: bytes, pos: int, length: int) -> int:
    """The position after ``length`` bytes of event data; slicing alone would not notice a cut."""
    if pos + length > len(chunk):
        raise IndexError
    return pos + length


def _data_bytes(strict: bool, state: _TrackState, offset: int, first: int, second: int) -> tuple:
    """Data bytes must be 0..127: strict refuses, lenient clips to 127 and counts."""
    if strict:
        bad, where = (first, offset) if first & 0x80 else (second, offset + 1)
        raise _Damage(where, f"data byte 0x{bad:02X} out of range 0..127")
    state.clipped += (first > 127) + (second > 127)
    return min(first, 127), min(second, 127)


def _meta(chunk: bytes, pos: int, tick: int, strict: bool, state: _TrackState) -> int:
    """Read one meta event whose 0xFF is behind ``pos``; return the position after it."""
    meta_type = chunk[pos]
    length, pos = _variable(chunk, pos + 1)
    after = _skip(chunk, pos, length)
    body = chunk[pos:after]
    if meta_type == 0x2F:
        state.end_of_track = tick
    elif meta_type == 0x51:
        tempo = int.from_bytes(body, "big")
        if length == 3 and tempo > 0:
            state.tempos.append((tick, tempo))
        else:
            _bad_meta(strict, state, pos, f"tempo event of {length} bytes with value {tempo}")
    elif meta_type == 0x58:
        if length >= 2 and body[0] > 0 and body[1] <= 7:
            state.time_signatures.append((tick, body[0], 1 << body[1]))
        else:
            _bad_meta(strict, state, pos, f"time signature event {bytes(body)!r}")
    elif meta_type == 0x03 and not state.name:
        state.name = bytes(body).decode("latin-1")
    return after


def _bad_meta(strict: bool, state: _TrackState, offset: int, problem: str) -> None:
    if strict:
        raise _Damage(offset, f"invalid {problem}")
    state.warnings.append(f"track {state.track}: invalid {problem} ignored")


def _system_common(chunk: bytes, pos: int, status: int, strict: bool, state: _TrackState) -> int:
    """System common and real-time bytes have no place in a file: refuse or step over them."""
    if strict:
        raise _Damage(pos - 1, f"status byte 0x{status:02X} is not allowed in a MIDI file")
    state.clipped += 1
    data_length = {0xF1: 1, 0xF2: 2, 0xF3: 1}.get(status, 0)
    return _skip(chunk, pos, data_length)


def _events(collected: _Collected, name: str, file_format: int, ticks_per_beat: int) -> MidiEvents:
    notes = np.array(collected.notes, dtype=np.int64).reshape(-1, 6)
    return MidiEvents(
        source=name,
        format=file_format,
        ticks_per_beat=ticks_per_beat,
        starts=notes[:, 0],
        ends=notes[:, 1],
        channels=notes[:, 2],
        pitches=notes[:, 3],
        velocities=notes[:, 4],
        tracks=notes[:, 5],
        programs=_sorted_rows(collected.programs, 3),
        tempos=_sorted_rows(collected.tempos, 2),
        time_signatures=_sorted_rows(collected.time_signatures, 3),
        end_tick=collected.end_tick,
        track_names=tuple(collected.track_names),
        pitch_bends=collected.pitch_bends,
        sustain_events=collected.sustain_events,
        stray_note_offs=collected.stray_note_offs,
        hanging_notes=collected.hanging_notes,
        clipped_bytes=collected.clipped_bytes,
        truncated=collected.truncated,
        warnings=tuple(collected.warnings),
    )


def _sorted_rows(rows: list, width: int) -> np.ndarray:
    """Rows as an int64 array sorted by their first column (tick), file order kept on ties."""
    array = np.array(rows, dtype=np.int64).reshape(-1, width)
    return array[np.argsort(array[:, 0], kind="stable")]
