"""roll_to_midi: arrays and probabilities, tempo, program, velocity, atomic writes."""
from __future__ import annotations

import mido
import numpy as np
import pytest

import midi

P = 78  # pitches 24..101


def note_state(steps=8) -> np.ndarray:
    """Pitch 60 struck at steps 0 and 2 (held to 4), pitch 67 at 4..8: float probabilities."""
    state = np.full((steps, 2 * P), 0.1, np.float32)
    state[0:4, 60 - 24] = 0.8
    state[[0, 2], P + 60 - 24] = 0.7
    state[4:8, 67 - 24] = 0.6
    state[4, P + 67 - 24] = 0.9
    return state


def messages(midi_file, kind) -> list:
    """(absolute tick, message) of every message of ``kind`` in the file."""
    found = []
    for track in midi_file.tracks:
        tick = 0
        for message in track:
            tick += message.time
            if message.type == kind:
                found.append((tick, message))
    return found


def test_probabilities_above_threshold_become_notes():
    written = midi.roll_to_midi(note_state())
    ons = [(tick, m.note, m.velocity) for tick, m in messages(written, "note_on")]
    assert ons == [(0, 60, 100), (240, 60, 100), (480, 67, 100)]
    assert [(tick, m.note) for tick, m in messages(written, "note_off")] == [(240, 60), (480, 60), (960, 67)]
    assert midi.roll_to_midi(note_state(), threshold=0.75).tracks[1] != written.tracks[1]


def test_re_articulation_releases_before_striking_again():
    written = midi.roll_to_midi(note_state())
    at_240 = [m.type for m in written.tracks[1] if m.type.startswith("note")][1:3]
    assert at_240 == ["note_off", "note_on"]


def test_play_only_arrays_start_notes_where_pitches_start():
    play = np.zeros((8, P))
    play[0:3, 10] = play[5:8, 10] = 1.0
    written = midi.roll_to_midi(play)
    assert [(tick, m.note) for tick, m in messages(written, "note_on")] == [(0, 34), (600, 34)]


def test_arrays_of_another_width_are_refused():
    with pytest.raises(ValueError, match="78 or 156 columns"):
        midi.roll_to_midi(np.zeros((4, 100)))
    # Five pitches: 5 columns are play only (one held note each), 10 are note states.
    assert len(messages(midi.roll_to_midi(np.ones((4, 5)), low=60, high=65), "note_on")) == 5
    assert len(messages(midi.roll_to_midi(np.ones((4, 10)), low=60, high=65), "note_on")) == 20


def test_bpm_program_and_velocity_fill_in_for_bare_arrays():
    written = midi.roll_to_midi(note_state(), bpm=90, program=42, velocity=77, ticks_per_beat=96)
    assert written.ticks_per_beat == 96
    assert [m.tempo for _, m in messages(written, "set_tempo")] == [mido.bpm2tempo(90)]
    assert [m.program for _, m in messages(written, "program_change")] == [42]
    assert {m.velocity for _, m in messages(written, "note_on")} == {77}


def test_a_rolls_own_tempo_map_program_and_velocities_win():
    roll = midi.PianoRoll.from_note_state(
        note_state(), tempos=((0, 400_000), (4, 800_000)), time_signatures=((0, 3, 4),),
        program=24, velocity=np.full((8, P), 55))
    written = midi.roll_to_midi(roll, bpm=200, program=1, velocity=100)
    assert [(tick, m.tempo) for tick, m in messages(written, "set_tempo")] == [(0, 400_000), (480, 800_000)]
    assert [(m.numerator, m.denominator) for _, m in messages(written, "time_signature")] == [(3, 4)]
    assert [m.program for _, m in messages(written, "program_change")] == [24]
    assert {m.velocity for _, m in messages(written, "note_on")} == {55}


def test_every_track_ends_with_the_roll():
    written = midi.roll_to_midi(note_state(12))
    assert [sum(m.time for m in track) for track in written.tracks] == [1440, 1440]


def test_written_atomically_to_a_path(tmp_path):
    target = tmp_path / "out.mid"
    written = midi.roll_to_midi(note_state(), target)
    assert written.filename == str(target)
    assert midi.midi_to_roll(target) == midi.midi_to_roll(written)
    assert [p.name for p in tmp_path.iterdir()] == ["out.mid"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "out.mid"
    target.write_bytes(b"old")

    def failing_save(self, filename=None, file=None):
        file.write(b"MThd partial")
        raise RuntimeError("disk full")

    monkeypatch.setattr(mido.MidiFile, "save", failing_save)
    with pytest.raises(RuntimeError, match="disk full"):
        midi.roll_to_midi(note_state(), target)
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["out.mid"]


def test_an_unwritable_path_raises_a_midi_file_error(tmp_path):
    with pytest.raises(midi.MidiFileError, match="missing/out.mid: cannot write"):
        midi.roll_to_midi(note_state(), tmp_path / "missing" / "out.mid")


def test_too_many_rolls_for_sixteen_channels():
    roll = midi.PianoRoll.from_note_state(note_state())
    assert len(midi.roll_to_midi([roll] * 15).tracks) == 16
    with pytest.raises(ValueError, match="at most 15"):
        midi.roll_to_midi([roll] * 16)
