"""What a MIDI file holds for a piano roll: notes, programs, tempi and meters, in ticks.

:mod:`midi.reader` makes it from a file's bytes, :mod:`midi.corpus` from a music21 score.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np


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


class Note(NamedTuple):
    """One note, every time in ticks (as :mod:`midi.reader` collects them)."""

    start: int
    """Tick of the note-on."""
    end: int
    """Tick of the note-off, or of the track's end for a note never released."""
    channel: int
    pitch: int
    velocity: int
    """Of the note-on, 1..127."""
    track: int
    """Index of the track chunk."""


NOTE_ARRAYS = Note("starts", "ends", "channels", "pitches", "velocities", "tracks")
"""The :class:`MidiEvents` array of each field of a note."""
