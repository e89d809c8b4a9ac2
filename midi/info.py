"""What a MIDI file holds, for people: tracks, tempo map, meters, pitch range, grid fit."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .encode import DRUM_CHANNEL, MAX_STEPS_PER_BEAT, _check_whole
from .events import MidiEvents
from .reader import read_midi
from .roll import DEFAULT_TEMPO
from .source import DEFAULT_MAX_BYTES

GRIDS = (4, 12, 24, 48)
"""Steps per quarter note whose onset fit is always shown: 16ths, 8th triplets, and finer."""


@dataclass
class TrackSummary:
    """One track chunk: index, name, note count, channels (1..16, as musicians count)
    and GM programs (0..127) of its notes."""

    index: int
    name: str
    notes: int
    channels: tuple
    programs: tuple


@dataclass
class MidiInfo:
    """A MIDI file's structure. Ticks are the file's; bpm = quarter notes per minute.

    ``tempos``: (tick, bpm) pairs; ``time_signatures``: (tick, numerator, denominator);
    ``pitch_range``: lowest and highest MIDI pitch of non-drum notes (None without);
    ``onsets_on_grid``: steps per beat -> share (0..1) of note onsets exactly on a step.
    """

    source: str
    format: int
    ticks_per_beat: int
    tracks: list
    tempos: list
    time_signatures: list
    notes: int
    drum_notes: int
    pitch_range: object
    duration_seconds: float
    onsets_on_grid: dict
    pitch_bends: int
    warnings: list

    def as_dict(self) -> dict:
        """Every field as plain JSON-ready values."""
        return asdict(self)

    def text(self) -> str:
        """A readable multi-line description."""
        lines = [
            f"{self.source}: type {self.format}, {self.ticks_per_beat} ticks per beat, "
            f"{len(self.tracks)} tracks, {self.duration_seconds:.1f} s",
            f"notes: {self.notes} ({self.drum_notes} on drums), pitch range: "
            + (f"{self.pitch_range[0]}..{self.pitch_range[1]}" if self.pitch_range else "none"),
            "tempo map (beat: bpm): " + ", ".join(
                f"{tick / self.ticks_per_beat:g}: {bpm:.1f}" for tick, bpm in self.tempos),
            "time signatures (beat: meter): " + ", ".join(
                f"{tick / self.ticks_per_beat:g}: {num}/{den}" for tick, num, den in self.time_signatures),
            "onsets on the grid: " + ", ".join(
                f"{share:.1%} at {steps}/beat" for steps, share in self.onsets_on_grid.items()),
        ]
        if self.pitch_bends:
            lines.append(f"pitch bends (ignored in rolls): {self.pitch_bends}")
        lines += [f"  track {track.index} {track.name!r}: {track.notes} notes, channels "
                  f"{list(track.channels)}, programs {list(track.programs)}"
                  for track in self.tracks if track.notes]
        silent = sum(not track.notes for track in self.tracks)
        if silent:
            lines.append(f"  ({silent} tracks without notes)")
        lines += [f"warning: {warning}" for warning in self.warnings]
        return "\n".join(lines)


def describe_midi(source, steps_per_beat: int = 4, strict: bool = True,
                  max_bytes: int = DEFAULT_MAX_BYTES) -> MidiInfo:
    """The structure of a MIDI source (path, bytes, mido.MidiFile); grid fit at
    ``steps_per_beat`` and at 4, 12, 24 and 48 steps per quarter note. A source of more
    than ``max_bytes`` bytes raises :class:`midi.MidiTooLongError` before it is read."""
    _check_whole("steps_per_beat", steps_per_beat, 1, MAX_STEPS_PER_BEAT)
    steps_per_beat = int(steps_per_beat)
    events = read_midi(source, strict, max_bytes)
    tpb = events.ticks_per_beat
    melodic = events.channels != DRUM_CHANNEL
    programs = events.note_programs()
    grids = sorted(set(GRIDS) | {steps_per_beat})
    return MidiInfo(
        source=events.source, format=events.format, ticks_per_beat=tpb,
        tracks=_tracks(events, programs),
        tempos=[(tick, 60e6 / tempo) for tick, tempo in events.tempos.tolist()],
        time_signatures=[tuple(row) for row in events.time_signatures.tolist()],
        notes=len(events.starts), drum_notes=int(np.count_nonzero(~melodic)),
        pitch_range=(int(events.pitches[melodic].min()), int(events.pitches[melodic].max()))
        if melodic.any() else None,
        duration_seconds=seconds_at(events.end_tick, events.tempos, tpb),
        onsets_on_grid={steps: _on_grid(events.starts, tpb, steps) for steps in grids},
        pitch_bends=events.pitch_bends, warnings=list(events.warnings))


def _tracks(events: MidiEvents, programs: np.ndarray) -> list:
    """One summary per track chunk, in time linear in notes plus tracks (a file may hold
    tens of thousands of tracks)."""
    count = events.n_tracks
    notes = np.bincount(events.tracks, minlength=count)
    channels = _values_by_track(events.tracks, events.channels, 16)
    used = _values_by_track(events.tracks, programs, 128)
    return [TrackSummary(index=index, name=events.track_names[index], notes=int(notes[index]),
                         channels=tuple(c + 1 for c in channels.get(index, ())),
                         programs=tuple(used.get(index, ())))
            for index in range(count)]


def _values_by_track(tracks: np.ndarray, values: np.ndarray, size: int) -> dict:
    """{track: sorted distinct values (0..size-1) of its notes}, for tracks with notes."""
    grouped: dict = {}
    for key in np.unique(tracks * size + values).tolist():
        grouped.setdefault(key // size, []).append(key % size)
    return grouped


def _on_grid(starts: np.ndarray, ticks_per_beat: int, steps_per_beat: int) -> float:
    """Share of onsets (ticks) that fall exactly on a grid of ``steps_per_beat``."""
    if len(starts) == 0:
        return 1.0
    return float(np.mean(starts * steps_per_beat % ticks_per_beat == 0))


def seconds_at(tick: int, tempos: np.ndarray, ticks_per_beat: int) -> float:
    """Seconds from the start to ``tick`` under a tempo map of (tick, microseconds per beat)."""
    changes = [(0, DEFAULT_TEMPO)] + [(t, v) for t, v in tempos.tolist() if t <= tick]
    seconds = 0.0
    for (start, tempo), (end, _) in zip(changes, changes[1:] + [(tick, 0)]):
        seconds += (end - start) * tempo / 1e6 / ticks_per_beat
    return seconds
