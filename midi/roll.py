"""The piano roll: which MIDI pitches sound, and which start, on each step of a beat grid."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Optional

import numpy as np

from .report import ConversionReport

DEFAULT_TEMPO = 500_000
"""Microseconds per quarter note where no tempo is stated (120 bpm, per the SMF spec)."""

MAX_TEMPO = 0xFFFFFF
"""Longest quarter note a MIDI tempo event can state, in microseconds (3 bytes)."""

MAX_TICKS_PER_BEAT = 32767
"""Finest resolution a MIDI file can have (15 bits); no grid needs to be finer."""


@dataclass(eq=False)
class PianoRoll:
    """Boolean ``play`` and ``onset`` arrays of shape (steps, pitches) on a beat grid.

    Row ``t`` is step ``t`` of a grid of ``steps_per_beat`` steps per quarter note
    (4 = 16th notes); column ``j`` is MIDI pitch ``low + j``, so the roll spans
    ``[low, high)``. ``play[t, j]`` says the pitch sounds during step ``t`` and
    ``onset[t, j]`` that a note (re)starts there; every onset lies inside ``play`` and
    every run of ``play`` starts with an onset (one is added where missing), so two
    notes of one pitch that touch stay two notes.

    ``tempos`` holds (step, microseconds per quarter note) pairs and
    ``time_signatures`` (step, numerator, denominator) triples, both sorted by step;
    they are empty for a roll made from bare arrays. ``velocity`` (uint8, same shape,
    MIDI velocity 1..127 at onsets, 0 elsewhere) and ``program`` (GM 0..127) are kept
    when known. ``ticks_per_beat`` is the source file's resolution, reused on writing;
    ``source`` names the file and ``report`` (a ConversionReport) counts what the
    conversion lost.
    """

    play: np.ndarray
    onset: Optional[np.ndarray] = None
    steps_per_beat: int = 4
    low: int = 24
    ticks_per_beat: int = 480
    tempos: tuple = ()
    time_signatures: tuple = ()
    velocity: Optional[np.ndarray] = None
    program: Optional[int] = None
    programs: tuple = ()
    is_drum: bool = False
    source: Optional[str] = None
    report: ConversionReport = field(default_factory=ConversionReport)

    def __post_init__(self):
        play = np.asarray(self.play, dtype=bool)
        if play.ndim != 2:
            raise ValueError(f"play must be 2-D (steps, pitches), got shape {play.shape}")
        # Each step below makes at most one grid-sized array (a roll may be long).
        starts = np.empty_like(play)
        starts[:1] = play[:1]
        np.greater(play[1:], play[:-1], out=starts[1:])  # plays now, did not the step before
        if self.onset is None:
            onset = starts
        else:
            onset = np.asarray(self.onset, dtype=bool)
            if onset.shape != play.shape:
                raise ValueError(f"onset shape {onset.shape} differs from play shape {play.shape}")
            if np.greater(onset, play).any():
                raise ValueError("onset marks a step where the pitch does not play")
            onset = np.logical_or(onset, starts, out=starts)
        if self.velocity is not None:
            velocity = np.asarray(self.velocity)
            if velocity.shape != play.shape:
                raise ValueError(f"velocity shape {velocity.shape} differs from play shape {play.shape}")
            if velocity.dtype.kind not in "biuf" or (
                    velocity.dtype.kind == "f" and not np.isfinite(velocity).all()):
                raise ValueError("velocity must hold finite numbers")
            velocity = np.clip(velocity, 0, 127).astype(np.uint8, copy=False)
            velocity *= onset
            self.velocity = velocity
        if not (1 <= self.steps_per_beat <= MAX_TICKS_PER_BEAT
                and 1 <= self.ticks_per_beat <= MAX_TICKS_PER_BEAT):
            raise ValueError("steps_per_beat and ticks_per_beat must be positive "
                             f"(at most {MAX_TICKS_PER_BEAT})")
        if not 0 <= self.low <= self.low + play.shape[1] <= 128:
            raise ValueError(f"pitches [{self.low}, {self.low + play.shape[1]}) leave MIDI's 0..127")
        self.play = play
        self.onset = onset
        # What a MIDI file can state, so that any roll (one read from a damaged or foreign
        # archive too) can be written back.
        self.tempos = _changes("tempos", self.tempos, len(play), (1, MAX_TEMPO))
        self.time_signatures = _changes("time_signatures", self.time_signatures, len(play),
                                        (1, 255), (1, 2 ** 62))
        if any(denominator & (denominator - 1) for _, _, denominator in self.time_signatures):
            raise ValueError("time signature denominators must be powers of 2")
        if self.program is not None and not 0 <= self.program <= 127:
            raise ValueError(f"program must be in 0..127, not {self.program}")
        self.programs = tuple(int(program) for program in self.programs)
        if not all(0 <= program <= 127 for program in self.programs):
            raise ValueError("programs must be in 0..127")

    @property
    def high(self) -> int:
        """One past the highest MIDI pitch of the roll."""
        return self.low + self.play.shape[1]

    @property
    def n_steps(self) -> int:
        """Length of the roll in steps."""
        return self.play.shape[0]

    @property
    def n_pitches(self) -> int:
        """Number of pitch columns, ``high - low``."""
        return self.play.shape[1]

    @property
    def shape(self) -> tuple:
        """(steps, pitches)."""
        return self.play.shape

    def __eq__(self, other) -> bool:
        """Same grid, pitches, notes, velocities, program and tempo map (not the report)."""
        if not isinstance(other, PianoRoll):
            return NotImplemented
        same_velocity = (self.velocity is None) == (other.velocity is None) and (
            self.velocity is None or np.array_equal(self.velocity, other.velocity))
        return (self.steps_per_beat == other.steps_per_beat and self.low == other.low
                and np.array_equal(self.play, other.play)
                and np.array_equal(self.onset, other.onset) and same_velocity
                and self.tempos == other.tempos
                and self.time_signatures == other.time_signatures
                and self.program == other.program and self.is_drum == other.is_drum)

    __hash__ = None

    def notes(self) -> np.ndarray:
        """Every note as an int64 row (MIDI pitch, start step, end step, velocity).

        The end step is exclusive; velocity is 0 when the roll keeps none. Rows are
        sorted by start step, then pitch.
        """
        after = np.vstack([self.onset[1:] | ~self.play[1:], np.ones((1, self.n_pitches), bool)])
        last = self.play & after
        # Transposed nonzero walks column by column, so within each pitch the k-th
        # onset and the k-th last step belong to the same note.
        columns, starts = np.nonzero(self.onset.T)
        _, lasts = np.nonzero(last.T)
        velocity = (self.velocity[starts, columns] if self.velocity is not None
                    else np.zeros(len(starts), np.uint8))
        rows = np.column_stack([columns + self.low, starts, lasts + 1, velocity]).astype(np.int64)
        return rows[np.lexsort((rows[:, 0], rows[:, 1]))]

    def to_note_state(self, dtype=bool) -> np.ndarray:
        """The study's (steps, 2 * pitches) layout: play in columns 0..P-1, articulate in P..2P-1."""
        return np.concatenate([self.play, self.onset], axis=1).astype(dtype, copy=False)

    @classmethod
    def from_note_state(cls, array, steps_per_beat: int = 4, low: int = 24,
                        threshold: float = 0.5, **metadata) -> "PianoRoll":
        """The roll of a (steps, 2P) note-state array, binary or probabilities.

        A cell is on when its value exceeds ``threshold``; an articulate bit where the
        pitch does not play is ignored. ``metadata`` sets the other fields (tempos, ...).
        """
        array = np.asarray(array)
        if array.ndim != 2 or array.shape[1] % 2:
            raise ValueError(f"a note-state array is (steps, 2 * pitches), got shape {array.shape}")
        width = array.shape[1] // 2
        play = array[:, :width] > threshold
        onset = (array[:, width:] > threshold) & play
        return cls(play, onset, steps_per_beat=steps_per_beat, low=low, **metadata)

    def transposed(self, semitones: int) -> "PianoRoll":
        """The same roll moved by ``semitones``; notes pushed out of [low, high) are dropped."""
        def shift(array):
            if array is None:
                return None
            moved = np.zeros_like(array)
            width = self.n_pitches
            if semitones >= 0:
                moved[:, semitones:] = array[:, :max(width - semitones, 0)]
            else:
                moved[:, :width + semitones] = array[:, -semitones:]
            return moved
        return replace(self, play=shift(self.play), onset=shift(self.onset),
                       velocity=shift(self.velocity))

    def seconds_per_step(self) -> np.ndarray:
        """Duration in seconds of each step under the tempo map (120 bpm where none)."""
        tempo = np.full(self.n_steps, float(DEFAULT_TEMPO))
        for step, microseconds in self.tempos:
            tempo[step:] = microseconds
        return tempo / 1e6 / self.steps_per_beat

    @property
    def duration(self) -> float:
        """Length of the roll in seconds under its tempo map."""
        return float(self.seconds_per_step().sum())


def _changes(name: str, rows, n_steps: int, *ranges) -> tuple:
    """``rows`` as a tuple of integer tuples (step, *values): each step in 0..n_steps and
    each value in its (low, high) of ``ranges``; ValueError otherwise."""
    try:
        rows = tuple(tuple(int(value) for value in row) for row in rows)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name} must be rows of {1 + len(ranges)} integers") from None
    for row in rows:
        if len(row) != 1 + len(ranges):
            raise ValueError(f"{name} must be rows of {1 + len(ranges)} integers, not {row}")
        if not 0 <= row[0] <= n_steps:
            raise ValueError(f"{name} change at step {row[0]}, outside the roll's 0..{n_steps}")
        if not all(low <= value <= high for value, (low, high) in zip(row[1:], ranges)):
            raise ValueError(f"{name} row {row} leaves the range a MIDI file can state")
    return rows
