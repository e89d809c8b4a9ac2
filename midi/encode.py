"""MIDI sources to piano rolls on a beat grid, with one explicit policy per kind of loss.

The grid counts steps per quarter note from the file's ticks, so tempo changes never
move it and a time-signature denominator never changes what a step is. Every note
becomes (start step, end step) by rounding its ticks to the nearest step.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np

from .reader import MidiEvents, read_midi
from .report import ConversionReport
from .roll import DEFAULT_TEMPO, PianoRoll

DRUM_CHANNEL = 9
"""Channel 10 of General MIDI, counted from 0: the drum kit."""


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

    def __post_init__(self):
        choices = {"overlap": ("retrigger", "merge"), "zero_length": ("extend", "drop"),
                   "out_of_range": ("drop", "fold")}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, not {getattr(self, name)!r}")
        if int(self.steps_per_beat) != self.steps_per_beat or self.steps_per_beat < 1:
            raise ValueError(f"steps_per_beat must be a positive integer, not {self.steps_per_beat!r}")
        if not 0 <= self.low < self.high <= 128:
            raise ValueError(f"need 0 <= low < high <= 128, got low={self.low}, high={self.high}")
        if self.out_of_range == "fold" and self.high - self.low < 12:
            raise ValueError("folding by octaves needs a range of at least 12 pitches")

    def as_dict(self) -> dict:
        """The options as a plain dict (for reports and cache keys)."""
        return asdict(self)


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
    velocity). Each loss is counted in ``roll.report``. Bad files raise
    :class:`midi.MidiFileError` naming the file.
    """
    options = RollOptions(steps_per_beat, low, high, strict, **policies)
    return roll_from_events(read_midi(source, strict), options)


def midi_to_rolls(source, steps_per_beat: int = 4, low: int = 24, high: int = 102,
                  strict: bool = True, **policies) -> list:
    """One piano roll per GM program (and one for drums when ``drums=True``), by program.

    Same parameters as :func:`midi_to_roll`; all rolls share length and tempo map.
    """
    options = RollOptions(steps_per_beat, low, high, strict, **policies)
    return rolls_from_events(read_midi(source, strict), options)


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
    lasting = ~zero if options.zero_length == "drop" else np.ones(len(zero), bool)
    notes = _GridNotes(
        starts=starts, ends=ends, columns=pitches[keep] - options.low,
        velocities=events.velocities[keep], programs=events.note_programs()[keep],
        drums=drums[keep], tracks=events.tracks[keep], channels=events.channels[keep],
    ).subset(lasting)
    n_steps = int(max(ticks_to_steps(events.end_tick, tpb, spb), notes.ends.max(initial=0)))
    return notes, n_steps, report


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
    play = np.zeros((n_steps, width), bool)
    onset = np.zeros((n_steps, width), bool)
    order = np.lexsort((notes.starts, notes.columns))
    starts, ends = notes.starts[order], notes.ends[order]
    columns, velocities = notes.columns[order], notes.velocities[order]
    overlapping = _overlapping(starts, ends, columns, n_steps)
    report.overlapping_notes = int(np.count_nonzero(overlapping))
    lengths = ends - starts
    cell_steps = np.arange(lengths.sum()) + np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
    play[cell_steps, np.repeat(columns, lengths)] = True
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
