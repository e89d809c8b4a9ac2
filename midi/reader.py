"""Standard MIDI File bytes to note events in ticks: a fast, strict-or-lenient parser.

The parser walks the chunk and event bytes itself (:mod:`midi.smf` names them) and keeps
only what a piano roll needs: notes paired on/off, programs, tempi, time signatures.
Kept over a library by measurement: ``python benchmarks/midi_parsers.py`` times bytes in
memory to notes in ticks on all 157 files of the data root's ``bach_lute`` and
``genre_midi`` (6.9 MB; x86_64, Python 3.11.7, a busy 2-core machine; medians of 5
interleaved rounds, ranges over three runs) and cross-checks the notes file by file:

- mido 1.3.3 (``mido.MidiFile``, then its messages paired by this module's rule): this
  parser is 9.6x faster (16.9 against 161 ms per file; 9.6-10.3x over the runs) and reads
  the same notes (with channel and track), programs, tempi and time signatures on all 157.
- symusic 0.6.0 (C++, ``Score.from_midi``, notes as numpy) is 7.3-9.2x faster still
  (1.8 ms per file), but not as faithful: it drops notes never released (10 of 10140 in
  ``genre_midi/dance_disco/dance63.mid``, which this parser and mido end at their track's
  end), keeps no channel per note, and meets a damaged file with a bare ``RuntimeError``,
  without a byte offset or a lenient read. Taking it would change results and errors for
  about 15 ms a file, so it is not a dependency.

Times are in ticks (the file's own unit, ``ticks_per_beat`` to a quarter note), pitches
are MIDI numbers 0..127, channels 0..15 (channel 10 of the GM drum kit is ``9``).
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from .errors import MidiFormatError, MidiTruncatedError
from .events import NOTE_ARRAYS, MidiEvents, Note
from .smf import (FIRST_SYSTEM_STATUS, HEADER_BYTES, HEADER_CHUNK, MAX_QUANTITY_BYTES,
                  PITCH_BEND_CENTRE, SMPTE_DIVISION, SYSTEM_COMMON_DATA_BYTES, TRACK_CHUNK,
                  Controller, Meta, Status)
from .source import DEFAULT_MAX_BYTES, source_bytes


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
    """The fields of every :class:`Note`, one after the other."""
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
    if data[:4] != HEADER_CHUNK:
        raise MidiFormatError(
            name, f"not a MIDI file: starts with {bytes(data[:4])!r}, not {HEADER_CHUNK!r}")
    if len(data) < HEADER_BYTES:
        raise MidiTruncatedError(name, f"header cut short: {len(data)} bytes, {HEADER_BYTES} needed")
    header_length = int.from_bytes(data[4:8], "big")
    if header_length < 6:
        raise MidiFormatError(name, f"header chunk of {header_length} bytes, 6 needed")
    file_format = int.from_bytes(data[8:10], "big")
    declared_tracks = int.from_bytes(data[10:12], "big")
    division = int.from_bytes(data[12:14], "big")
    if division & SMPTE_DIVISION:
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
        if chunk_id != TRACK_CHUNK:
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
                self.notes.extend(Note(start, end, key >> 7, key & 0x7F, velocity, self.track))
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
    globals, notes and the two-data-byte messages inline, the rest in :func:`_rare_event`.
    """
    # The status names as plain-int locals, as fast to compare as literals.
    NOTE_OFF, NOTE_ON = Status.NOTE_OFF.value, Status.NOTE_ON.value
    CONTROL_CHANGE, PITCH_BEND = Status.CONTROL_CHANGE.value, Status.PITCH_BEND.value
    POLY_PRESSURE, SUSTAIN_PEDAL = Status.POLY_PRESSURE.value, Controller.SUSTAIN_PEDAL.value
    notes = state.notes
    open_notes = state.open_notes
    track = state.track
    end = len(chunk)
    pos = tick = status = event_start = 0
    try:
        while pos < end:
            event_start = pos
            byte = chunk[pos]
            pos += 1
            delta = byte & 0x7F
            if byte & 0x80:  # the delta time goes on
                delta, pos = _variable_tail(chunk, pos, delta)
            tick += delta
            byte = chunk[pos]
            if byte & 0x80:  # a status byte, else a data byte under running status
                pos += 1
                if byte < FIRST_SYSTEM_STATUS:
                    status = byte
            elif status:
                byte = status
            else:
                pos = _no_running_status(strict, state, pos, byte)
                continue
            kind = byte & 0xF0
            if kind == NOTE_ON or kind == NOTE_OFF:
                pitch = chunk[pos]
                velocity = chunk[pos + 1]
                pos += 2
                if (pitch | velocity) & 0x80:
                    pitch, velocity = _data_bytes(strict, state, pos - 2, pitch, velocity)
                key = (byte & 0x0F) << 7 | pitch  # channel and pitch in one int
                started = open_notes.get(key)
                if kind == NOTE_ON and velocity:
                    if started is None:
                        open_notes[key] = [(tick, velocity)]
                    else:
                        if started and len(started) >= _FIFO_FROM and type(started) is list:
                            started = open_notes[key] = _Fifo(started)
                        started.append((tick, velocity))
                elif started:
                    start, on_velocity = started.pop(0)
                    # A Note's fields, flat: a Note object per note parses a third slower
                    notes.extend((start, tick, byte & 0x0F, pitch, on_velocity, track))
                else:
                    state.stray += 1
            elif kind == CONTROL_CHANGE or kind == PITCH_BEND or kind == POLY_PRESSURE:
                first = chunk[pos]
                second = chunk[pos + 1]
                pos += 2
                if (first | second) & 0x80:
                    first, second = _data_bytes(strict, state, pos - 2, first, second)
                if kind == PITCH_BEND:
                    state.bends += (second << 7 | first) != PITCH_BEND_CENTRE
                elif kind == CONTROL_CHANGE and first == SUSTAIN_PEDAL:
                    state.sustain += 1
            else:
                pos = _rare_event(chunk, pos, byte, tick, strict, state)
    except IndexError:
        raise _Damage(event_start, "event runs past the end of the track chunk", cut=True) from None
    finally:
        # Hanging notes of a damaged track close at the last tick that was read.
        state.tick = tick


def _no_running_status(strict: bool, state: _TrackState, pos: int, byte: int) -> int:
    """A data byte where a status byte must be: strict refuses, lenient steps over it."""
    if strict:
        raise _Damage(pos, f"data byte 0x{byte:02X} with no running status")
    state.clipped += 1
    return pos + 1


def _rare_event(chunk: bytes, pos: int, status: int, tick: int, strict: bool,
                state: _TrackState) -> int:
    """Read one event of the kinds few files hold many of (one data byte, meta, system
    exclusive, system common) whose status is behind ``pos``; return the position after it."""
    kind = status & 0xF0
    if kind == Status.PROGRAM_CHANGE or kind == Status.CHANNEL_PRESSURE:
        value = chunk[pos]
        if value & 0x80:
            value = _data_bytes(strict, state, pos, value, 0)[0]
        if kind == Status.PROGRAM_CHANGE:
            state.programs.append((tick, status & 0x0F, value))
        return pos + 1
    if status == Status.META:
        return _meta(chunk, pos, tick, strict, state)
    if status == Status.SYSEX or status == Status.SYSEX_ESCAPE:
        length, pos = _variable(chunk, pos)
        return _skip(chunk, pos, length)
    return _system_common(chunk, pos, status, strict, state)


_FIFO_FROM = 16
"""Open notes of one key from which a list gives way to a :class:`_Fifo`."""


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
    for _ in range(MAX_QUANTITY_BYTES - 1):
        byte = chunk[pos]
        pos += 1
        value = value << 7 | (byte & 0x7F)
        if not byte & 0x80:
            return value, pos
    raise _Damage(pos, f"variable-length quantity longer than {MAX_QUANTITY_BYTES} bytes")


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
    """Read one meta event whose status is behind ``pos``; return the position after it."""
    meta_type = chunk[pos]
    length, pos = _variable(chunk, pos + 1)
    after = _skip(chunk, pos, length)
    body = chunk[pos:after]
    if meta_type == Meta.END_OF_TRACK:
        state.end_of_track = tick
    elif meta_type == Meta.TEMPO:
        tempo = int.from_bytes(body, "big")
        if length == 3 and tempo > 0:
            state.tempos.append((tick, tempo))
        else:
            _bad_meta(strict, state, pos, f"tempo event of {length} bytes with value {tempo}")
    elif meta_type == Meta.TIME_SIGNATURE:
        if length >= 2 and body[0] > 0 and body[1] <= 7:
            state.time_signatures.append((tick, body[0], 1 << body[1]))
        else:
            _bad_meta(strict, state, pos, f"time signature event {bytes(body)!r}")
    elif meta_type == Meta.TRACK_NAME and not state.name:
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
    data_length = SYSTEM_COMMON_DATA_BYTES.get(status, 0)
    return _skip(chunk, pos, data_length)


def _events(collected: _Collected, name: str, file_format: int, ticks_per_beat: int) -> MidiEvents:
    notes = np.array(collected.notes, dtype=np.int64).reshape(-1, len(Note._fields))
    return MidiEvents(
        source=name,
        format=file_format,
        ticks_per_beat=ticks_per_beat,
        **dict(zip(NOTE_ARRAYS, notes.T)),
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

