"""Piano rolls (or a model's note-state probabilities) back to Standard MIDI Files."""
from __future__ import annotations

import math
import os

import mido
import numpy as np

from .atomic import write_atomically
from .errors import MidiTooLongError
from .roll import PianoRoll

DEFAULT_RESOLUTION = 480
"""Ticks per quarter note aimed at when a roll's own resolution does not fit its grid."""

MIN_BPM = 3.6
"""Slowest tempo accepted for ``bpm``: a MIDI file can state no less than 60e6 / 0xFFFFFF,
about 3.58 quarter notes per minute."""
MAX_BPM = 60e6
"""Fastest tempo a MIDI file can state: a quarter note of one microsecond."""

DEFAULT_MAX_NOTES = 2 ** 18
"""Most notes written by default (262,144; the fullest of 157 real songs has 15,435).
mido holds each note-on and note-off as an object of about 280 bytes, so this bounds
the memory of a write to about 150 MB. Raise it with ``max_notes`` (``--max-notes``)."""


def roll_to_midi(roll_or_array, path=None, threshold: float = 0.5, *,
                 steps_per_beat: int = 4, low: int = 24, high: int = 102,
                 bpm: float = 120.0, program: int = 0, velocity: int = 100,
                 ticks_per_beat: int = None, max_notes: int = DEFAULT_MAX_NOTES) -> mido.MidiFile:
    """A type-1 MIDI file of a roll, a list of rolls (one track each) or an array.

    An array is either the note-state layout (steps, 2P) or a play-only roll (steps, P),
    with ``P = high - low`` pitches from MIDI ``low``, ``steps_per_beat`` steps per
    quarter note, and values binary or probabilities (on above ``threshold``); a
    play-only array starts a note wherever a pitch starts to play. A PianoRoll brings
    its own grid, pitches, tempo map, program and velocities; ``bpm``, ``program`` and
    ``velocity`` (MIDI 1..127) fill in what it lacks. Re-articulations (an onset inside
    a held pitch) end the note before; every note is closed by its own note-off. With
    ``path`` the file is also written there atomically (temporary file, then rename).
    More than ``max_notes`` notes in all raise :class:`midi.MidiTooLongError` before
    any message is made.
    """
    rolls = _rolls(roll_or_array, threshold, steps_per_beat, low, high)
    grid = rolls[0].steps_per_beat
    if any(roll.steps_per_beat != grid for roll in rolls):
        raise ValueError("rolls written together must share steps_per_beat")
    if not 1 <= velocity <= 127 or not 0 <= program <= 127:
        raise ValueError("velocity must be in 1..127 and program in 0..127")
    if not (isinstance(bpm, (int, float, np.number)) and math.isfinite(bpm)
            and MIN_BPM <= bpm <= MAX_BPM):
        raise ValueError(f"bpm must be a number from {MIN_BPM:g} to {MAX_BPM:.0f} "
                         f"(what a MIDI tempo event can state), not {bpm!r}")
    notes = sum(int(np.count_nonzero(roll.onset)) for roll in rolls)
    if notes > max_notes:
        raise MidiTooLongError(rolls[0].source or "<roll>",
                               f"{notes} notes, over the limit of {max_notes} notes (raise it with max_notes, "
                               "--max-notes)",
                               notes, max_notes, "notes")
    resolution = ticks_per_beat or _resolution(rolls[0].ticks_per_beat, grid)
    if resolution < grid:
        raise ValueError(f"ticks_per_beat {resolution} is coarser than the grid of {grid} steps per beat")
    length = max(roll.n_steps for roll in rolls)
    midi_file = mido.MidiFile(type=1, ticks_per_beat=resolution)
    tempos = next((roll.tempos for roll in rolls if roll.tempos), ())
    signatures = next((roll.time_signatures for roll in rolls if roll.time_signatures), ())
    midi_file.tracks.append(_conductor_track(tempos or ((0, mido.bpm2tempo(bpm)),),
                                             signatures, length, resolution, grid))
    for roll, channel in zip(rolls, _channels(rolls)):
        midi_file.tracks.append(_note_track(roll, channel, program, velocity, length, resolution))
    if path is not None:
        save_atomically(midi_file, path)
    return midi_file


def _rolls(roll_or_array, threshold, steps_per_beat, low, high) -> list:
    """The input as a non-empty list of PianoRolls."""
    if isinstance(roll_or_array, PianoRoll):
        return [roll_or_array]
    if isinstance(roll_or_array, (list, tuple)) and roll_or_array and all(
            isinstance(item, PianoRoll) for item in roll_or_array):
        return list(roll_or_array)
    array = np.asarray(roll_or_array)
    width = high - low
    if array.ndim == 2 and array.shape[1] == 2 * width:
        return [PianoRoll.from_note_state(array, steps_per_beat, low, threshold)]
    if array.ndim == 2 and array.shape[1] == width:
        return [PianoRoll(array > threshold, steps_per_beat=steps_per_beat, low=low)]
    raise ValueError(f"expected a PianoRoll, a list of them, or an array of {width} or "
                     f"{2 * width} columns for pitches [{low}, {high}), got shape {array.shape}")


def _resolution(ticks_per_beat: int, steps_per_beat: int) -> int:
    """The roll's own ticks per beat when every step falls on a tick, else a multiple of the grid."""
    if ticks_per_beat % steps_per_beat == 0:
        return ticks_per_beat
    return steps_per_beat * max(1, -(-DEFAULT_RESOLUTION // steps_per_beat))


def _channels(rolls: list) -> list:
    """Channel 10 (9) for drum rolls, the others in order, skipping it."""
    melodic = [channel for channel in range(16) if channel != 9]
    if sum(not roll.is_drum for roll in rolls) > len(melodic):
        raise ValueError(f"at most {len(melodic)} non-drum rolls fit the 16 MIDI channels")
    free = iter(melodic)
    return [9 if roll.is_drum else next(free) for roll in rolls]


def _ticks(steps, resolution: int, steps_per_beat: int) -> np.ndarray:
    """Nearest tick of each step; exact when ``resolution`` is a multiple of the grid."""
    return (2 * np.asarray(steps, dtype=np.int64) * resolution + steps_per_beat) // (2 * steps_per_beat)


def _delta_track(timed: list, end_tick: int) -> mido.MidiTrack:
    """A track of (tick, message) pairs, sorted by tick, in delta times, ended at ``end_tick``."""
    track = mido.MidiTrack()
    now = 0
    for tick, message in timed:
        message.time = tick - now
        track.append(message)
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=max(end_tick - now, 0)))
    return track


def _conductor_track(tempos, signatures, length, resolution, grid) -> mido.MidiTrack:
    """Track 0: time signatures and the tempo map, as long as the longest roll."""
    timed = [(int(_ticks(step, resolution, grid)),
              mido.MetaMessage("time_signature", numerator=numerator, denominator=denominator))
             for step, numerator, denominator in signatures]
    timed += [(int(_ticks(step, resolution, grid)), mido.MetaMessage("set_tempo", tempo=tempo))
              for step, tempo in tempos]
    timed.sort(key=lambda pair: pair[0])
    return _delta_track(timed, int(_ticks(length, resolution, grid)))


def _note_track(roll: PianoRoll, channel: int, program: int, velocity: int, length: int,
                resolution: int) -> mido.MidiTrack:
    """One roll as a track: its program, then a note-on and a note-off per note."""
    notes = roll.notes()
    grid = roll.steps_per_beat
    on_ticks = _ticks(notes[:, 1], resolution, grid)
    off_ticks = _ticks(notes[:, 2], resolution, grid)
    velocities = np.where(notes[:, 3] > 0, np.minimum(notes[:, 3], 127), velocity)
    # Note-offs sort before note-ons of the same tick, so a re-articulated pitch is
    # released before it is struck again.
    ticks = np.concatenate([off_ticks, on_ticks])
    is_on = np.concatenate([np.zeros(len(notes), bool), np.ones(len(notes), bool)])
    pitches = np.concatenate([notes[:, 0], notes[:, 0]])
    levels = np.concatenate([np.zeros(len(notes), np.int64), velocities])
    order = np.lexsort((pitches, is_on, ticks))
    deltas = np.diff(ticks[order], prepend=0)
    track = mido.MidiTrack()
    track.append(mido.Message("program_change", channel=channel,
                              program=roll.program if roll.program is not None else program))
    # Every value was range-checked above (pitches within the roll, velocities 1..127,
    # ticks sorted), so mido's per-message validation, the writer's main cost, is skipped.
    track.extend(
        mido.Message("note_on" if on else "note_off", skip_checks=True, channel=channel,
                     note=pitch, velocity=level, time=delta)
        for delta, on, pitch, level in zip(deltas.tolist(), is_on[order].tolist(),
                                           pitches[order].tolist(), levels[order].tolist()))
    end = int(_ticks(length, resolution, grid))
    last = int(ticks[order][-1]) if len(ticks) else 0
    track.append(mido.MetaMessage("end_of_track", time=end - last))
    return track


def save_atomically(midi_file: mido.MidiFile, path) -> None:
    """Write ``midi_file`` to ``path`` through a temporary file and a rename."""
    write_atomically(path, lambda stream: midi_file.save(file=stream))
    midi_file.filename = os.fspath(path)
