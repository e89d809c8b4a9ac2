"""MIDI sources to piano rolls on a beat grid, with one explicit policy per kind of loss.

The grid counts steps per quarter note from the file's ticks, so tempo changes never
move it and a time-signature denominator never changes what a step is. Every note
becomes (start step, end step) by rounding its ticks to the nearest step.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np

from .errors import MidiTooLongError
from .events import MidiEvents
from .reader import read_midi
from .report import ConversionReport
from .roll import DEFAULT_TEMPO, MAX_TICKS_PER_BEAT, PianoRoll
from .source import DEFAULT_MAX_BYTES

DRUM_CHANNEL = 9
"""Channel 10 of General MIDI, counted from 0: the drum kit."""

DEFAULT_MAX_STEPS = 2 ** 17
"""Longest roll made by default: 131,072 steps, 4.55 hours at 120 bpm on the default grid
of 16th notes (22.8 minutes at 48 steps per beat); the longest of 157 real songs needs
5,520. A roll costs about 12 bytes per cell while it is made, so this bounds what any
file can cost (about 125 MB at 78 pitches). Raise it with ``max_steps`` (``--max-steps``)."""

MAX_STEPS_PER_BEAT = MAX_TICKS_PER_BEAT
"""The finest grid: a MIDI file cannot have more ticks per quarter note than this."""

LIMIT_FIELDS = ("max_steps", "max_bytes")
"""RollOptions fields that bound the cost of a conversion but never change its result."""


@dataclass(frozen=True)
class RollOptions:
    """How a MIDI file becomes a roll; every field is a parameter of :func:`midi_to_roll`.

    ``steps_per_beat`` steps per quarter note; pitches ``[low, high)`` as MIDI numbers.
    ``drums``: keep channel-10 notes (excluded by default). ``overlap``: a same-pitch
    note starting while another sounds either re-articulates it (``"retrigger"``) or is
    fused into it (``"merge"``). ``zero_length``: notes shorter than half a step either
    last one step (``"extend"``) or vanish (``"drop"``). ``out_of_range``: pitches
    outside [low, high) are dropped (``"drop"``) or moved by octaves inside (``"fold"``).
    ``velocity``: keep onset velocities. ``strict``: see :func:`midi.reader.read_midi`.
    ``max_steps`` and ``max_bytes`` bound the cost: a file whose roll would be longer than
    ``max_steps`` steps, or a file of more than ``max_bytes`` bytes, raises
    :class:`midi.MidiTooLongError` before the memory is spent.
    """

    steps_per_beat: int = 4
    low: int = 24
    high: int = 102
    strict: bool = True
    drums: bool = False
    overlap: str = "retrigger"
    zero_length: str = "extend"
    out_of_range: str = "drop"
    velocity: bool = True
    max_steps: int = DEFAULT_MAX_STEPS
    max_bytes: int = DEFAULT_MAX_BYTES

    def __post_init__(self):
        choices = {"overlap": ("retrigger", "merge"), "zero_length": ("extend", "drop"),
                   "out_of_range": ("drop", "fold")}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, not {getattr(self, name)!r}")
        _check_whole("steps_per_beat", self.steps_per_beat, 1, MAX_STEPS_PER_BEAT)
        _check_whole("low", self.low, 0, 127)
        _check_whole("high", self.high, 1, 128)
        _check_whole("max_steps", self.max_steps, 1, 2 ** 40)
        _check_whole("max_bytes", self.max_bytes, 1, 2 ** 40)
        if not 0 <= self.low < self.high <= 128:
            raise ValueError(f"need 0 <= low < high <= 128, got low={self.low}, high={self.high}")
        if self.out_of_range == "fold" and self.high - self.low < 12:
            raise ValueError("folding by octaves needs a range of at least 12 pitches")

    def as_dict(self) -> dict:
        """The options that shape the result, as a plain dict (for reports and cache keys).

        The limits (``LIMIT_FIELDS``) are left out: they decide whether a file converts,
        never what it converts to."""
        return {name: value for name, value in asdict(self).items() if name not in LIMIT_FIELDS}


def _check_whole(name: str, value, low: int, high: int) -> None:
    """``value`` must be an integer (or a float equal to one) in ``low..high``."""
    try:
        fits = not isinstance(value, bool) and low <= value <= high and int(value) == value
    except (TypeError, ValueError, OverflowError):
        fits = False
    if not fits:
        raise ValueError(f"{name} must be an integer in {low}..{high}, not {value!r}")


@dataclass(frozen=True)
class _GridNotes:
    """Notes after the policies, in steps: parallel arrays, one entry per note."""

    starts: np.ndarray
    ends: np.ndarray
    columns: np.ndarray
    velocities: np.ndarray
    programs: np.ndarray
    drums: np.ndarray
    tracks: np.ndarray
    channels: np.ndarray

    def subset(self, mask: np.ndarray) -> "_GridNotes":
        """The notes where ``mask`` is True."""
        return _GridNotes(**{name: value[mask] for name, value in self.__dict__.items()})


def midi_to_roll(source, steps_per_beat: int = 4, low: int = 24, high: int = 102,
                 strict: bool = True, **policies) -> PianoRoll:
    """The piano roll of a MIDI file, all non-drum tracks and channels merged.

    ``source`` is a path, bytes, a binary file object or a ``mido.MidiFile``. The grid
    has ``steps_per_beat`` steps per quarter note (4: 16th notes; 24 or 48 catch
    triplets) and the roll spans MIDI pitches ``[low, high)``. ``policies`` are the
    other fields of :class:`RollOptions` (drums, overlap, zero_length, out_of_range,
    velocity, max_steps, max_bytes). Each loss is counted in ``roll.report``. Bad files
    raise :class:`midi.MidiFileError` naming the file; files too long to convert within
    ``max_steps`` and ``max_bytes`` raise its subclass :class:`midi.MidiTooLongError`.
    """
    options = RollOptions(steps_per_beat, low, high, strict, **policies)
    return roll_from_events(read_midi(source, strict, options.max_bytes), options)


def midi_to_rolls(source, steps_per_beat: int = 4, low: int = 24, high: int = 102,
                  strict: bool = True, **policies) -> list:
    """One piano roll per GM program (and one for drums when ``drums=True``), by program.

    Same parameters as :func:`midi_to_roll`; all rolls share length and tempo map.
    """
    options = RollOptions(steps_per_beat, low, high, strict, **policies)
    return rolls_from_events(read_midi(source, strict, options.max_bytes), options)


def roll_from_events(events: MidiEvents, options: RollOptions) -> PianoRoll:
    """The merged roll of already-parsed events (see :func:`midi_to_roll`)."""
    notes, n_steps, report = _grid_notes(events, options)
    return _roll(notes, n_steps, _timing(events, options, report), events, options, report)


def rolls_from_events(events: MidiEvents, options: RollOptions) -> list:
    """One roll per (drums, program) group of already-parsed events."""
    notes, n_steps, report = _grid_notes(events, options)
    timing = _timing(events, options, report)
    groups = notes.programs + 128 * notes.drums
    return [_roll(notes.subset(groups == group), n_steps, timing, events, options,
                  replace(report, warnings=list(report.warnings)))
            for group in np.unique(groups)]


def ticks_to_steps(ticks, ticks_per_beat: int, steps_per_beat: int):
    """Nearest step (halves round up) of each tick; integer arithmetic, so exact."""
    return (2 * np.asarray(ticks, dtype=np.int64) * steps_per_beat + ticks_per_beat) // (
        2 * ticks_per_beat)


def _grid_notes(events: MidiEvents, options: RollOptions) -> tuple:
    """Apply the drum, range and zero-length policies and quantize; count each loss."""
    tpb, spb = events.ticks_per_beat, options.steps_per_beat
    # The file's last tick bounds every other tick, so checking it first, in Python's
    # exact integers, also keeps the int64 arithmetic below from overflowing.
    _check_steps(events, options, (2 * events.end_tick * spb + tpb) // (2 * tpb))
    report = ConversionReport(
        source=events.source, notes_read=len(events.starts),
        hanging_notes=events.hanging_notes, stray_note_offs=events.stray_note_offs,
        pitch_bends=events.pitch_bends, sustain_events=events.sustain_events,
        clipped_bytes=events.clipped_bytes, truncated=events.truncated,
        warnings=list(events.warnings), policies=options.as_dict())
    drums = events.channels == DRUM_CHANNEL
    keep = np.ones(len(drums), bool) if options.drums else ~drums
    report.drum_notes_excluded = int(np.count_nonzero(~keep))
    pitches = events.pitches
    outside = keep & ((pitches < options.low) | (pitches >= options.high))
    if options.out_of_range == "fold":
        pitches = _folded(pitches, options.low, options.high)
        report.out_of_range_folded = int(np.count_nonzero(outside))
    else:
        keep &= ~outside
        report.out_of_range_dropped = int(np.count_nonzero(outside))
    tick_starts, tick_ends = events.starts[keep], events.ends[keep]
    starts = ticks_to_steps(tick_starts, tpb, spb)
    ends = ticks_to_steps(tick_ends, tpb, spb)
    report.off_grid_onsets = int(np.count_nonzero(tick_starts * spb % tpb))
    report.off_grid_offsets = int(np.count_nonzero(tick_ends * spb % tpb))
    zero = ends <= starts
    report.zero_length_notes = int(np.count_nonzero(zero))
    ends = np.where(zero, starts + 1, ends)
    notes = _GridNotes(
        starts=starts, ends=ends, columns=pitches[keep] - options.low,
        velocities=events.velocities[keep], programs=events.note_programs()[keep],
        drums=drums[keep], tracks=events.tracks[keep], channels=events.channels[keep])
    if options.zero_length == "drop":
        notes = notes.subset(~zero)
    n_steps = int(max(ticks_to_steps(events.end_tick, tpb, spb), notes.ends.max(initial=0)))
    _check_steps(events, options, n_steps)  # one step more where a last note was extended
    return notes, n_steps, report


def _check_steps(events: MidiEvents, options: RollOptions, n_steps: int) -> None:
    """Refuse a roll of more than ``options.max_steps`` steps before it is allocated."""
    if n_steps > options.max_steps:
        beats = events.end_tick / events.ticks_per_beat
        raise MidiTooLongError(
            events.source, f"{n_steps} steps long ({beats:.10g} beats at "
            f"{options.steps_per_beat} steps per beat), over the limit of {options.max_steps} "
            "steps (raise it with max_steps, --max-steps)", n_steps, options.max_steps, "steps")


def _folded(pitches: np.ndarray, low: int, high: int) -> np.ndarray:
    """Pitches moved by whole octaves into [low, high)."""
    up = -((pitches - low) // 12)
    down = -(-(pitches - high + 1) // 12)
    return pitches + 12 * np.where(pitches < low, up, 0) - 12 * np.where(pitches >= high, down, 0)


def _timing(events: MidiEvents, options: RollOptions, report: ConversionReport) -> dict:
    """Tempo map and time signatures in steps, canonical (one change per step, no repeats)."""
    tpb, spb = events.ticks_per_beat, options.steps_per_beat
    moved = events.tempos[:, 0] * spb % tpb
    report.tempo_events_moved = int(np.count_nonzero(moved))
    return {
        "tempos": _changes(events.tempos, (DEFAULT_TEMPO,), tpb, spb),
        "time_signatures": _changes(events.time_signatures, (4, 4), tpb, spb),
    }


def _changes(rows: np.ndarray, default: tuple, ticks_per_beat: int, steps_per_beat: int) -> tuple:
    """(step, *values) rows: the last change of each step, repeats removed, step 0 filled."""
    by_step = {0: default}
    for tick, *values in rows.tolist():
        by_step[int(ticks_to_steps(tick, ticks_per_beat, steps_per_beat))] = tuple(values)
    result = []
    for step in sorted(by_step):
        if not result or result[-1][1:] != by_step[step]:
            result.append((step, *by_step[step]))
    return tuple(result)


def _roll(notes: _GridNotes, n_steps: int, timing: dict, events: MidiEvents,
          options: RollOptions, report: ConversionReport) -> PianoRoll:
    """Fill the play, onset and velocity grids; resolve same-pitch overlaps."""
    width = options.high - options.low
    onset = np.zeros((n_steps, width), bool)
    order = np.lexsort((notes.starts, notes.columns))
    starts, ends = notes.starts[order], notes.ends[order]
    columns, velocities = notes.columns[order], notes.velocities[order]
    overlapping = _overlapping(starts, ends, columns, n_steps)
    report.overlapping_notes = int(np.count_nonzero(overlapping))
    play = _sounding(starts, ends, columns, overlapping, n_steps, width)
    articulated = ~overlapping if options.overlap == "merge" else np.ones(len(starts), bool)
    onset[starts[articulated], columns[articulated]] = True
    velocity = None
    if options.velocity:
        velocity = np.zeros((n_steps, width), np.uint8)
        np.maximum.at(velocity, (starts[articulated], columns[articulated]),
                      velocities[articulated].astype(np.uint8))
    programs, counts = np.unique(notes.programs, return_counts=True)
    by_use = np.argsort(-counts, kind="stable")
    report.notes_kept = int(np.count_nonzero(onset))
    report.tracks_merged = len(np.unique(notes.tracks))
    report.channels_merged = len(np.unique(notes.channels))
    return PianoRoll(
        play, onset, steps_per_beat=options.steps_per_beat, low=options.low,
        ticks_per_beat=events.ticks_per_beat, velocity=velocity,
        program=int(programs[by_use[0]]) if len(programs) else None,
        programs=tuple(int(p) for p in programs[by_use]),
        is_drum=bool(len(notes.drums)) and bool(notes.drums.all()),
        source=events.source, report=report, **timing)


def _sounding(starts: np.ndarray, ends: np.ndarray, columns: np.ndarray,
              overlapping: np.ndarray, n_steps: int, width: int) -> np.ndarray:
    """The play grid of notes sorted by (column, start), in memory of the grid's size.

    Overlapping notes of a column fuse into one interval (its first note's start, the
    latest end), so the intervals of a column are disjoint; each adds +1 at its start
    and -1 at its end to a grid that a running sum turns into 0 (silent) or 1 (playing).
    Costs two bytes per cell however many notes cover a cell.
    """
    edges = np.zeros((n_steps + 1, width), np.int8)
    if len(starts):
        first = np.flatnonzero(~overlapping)
        # Disjoint intervals have distinct starts and distinct ends in a column, so each
        # fancy-indexed update touches every cell once; adding the starts before
        # subtracting the ends leaves 0 where one interval ends as the next begins.
        edges[starts[first], columns[first]] += 1
        edges[np.maximum.reduceat(ends, first), columns[first]] -= 1
    return np.cumsum(edges, axis=0, dtype=np.int8)[:n_steps].view(bool)


def _overlapping(starts: np.ndarray, ends: np.ndarray, columns: np.ndarray, n_steps: int) -> np.ndarray:
    """For notes sorted by (column, start): does each start while an earlier one sounds?"""
    if len(starts) == 0:
        return np.zeros(0, bool)
    # Offsetting each column by more than any step keeps a running maximum of ends
    # from leaking across columns, so one accumulate serves all pitches at once.
    offset = columns * (n_steps + 2)
    reach = np.maximum.accumulate(ends + offset)
    overlapping = np.zeros(len(starts), bool)
    overlapping[1:] = (columns[1:] == columns[:-1]) & (starts[1:] + offset[1:] < reach[:-1])
    return overlapping
