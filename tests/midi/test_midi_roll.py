"""PianoRoll: the study's note-state layout, notes, transposition, equality, .npz storage."""
from __future__ import annotations

import numpy as np
import pytest

import midi
from midi.storage import load_roll, save_roll
from midi_factories import midi_bytes, midi_file, note_track

# Pitch 60 held two steps then struck again for one; pitch 63 from step 1 to 3.
KNOWN_NOTES = [(60, 0, 240), (60, 240, 360), (63, 120, 480)]
KNOWN_NOTE_STATE = np.array([
    # play 60 61 62 63 | articulate 60 61 62 63
    [1, 0, 0, 0, 1, 0, 0, 0],
    [1, 0, 0, 1, 0, 0, 0, 1],
    [1, 0, 0, 1, 1, 0, 0, 0],
    [0, 0, 0, 1, 0, 0, 0, 0],
], dtype=bool)


def known_roll(**options) -> midi.PianoRoll:
    return midi.midi_to_roll(midi_bytes(midi_file(note_track(KNOWN_NOTES))), **options)


def test_note_state_of_a_known_example():
    roll = known_roll(low=60, high=64)
    assert np.array_equal(roll.to_note_state(), KNOWN_NOTE_STATE)
    assert roll.to_note_state(np.float32).dtype == np.float32


def test_note_state_has_the_studys_156_columns_by_default():
    state = known_roll().to_note_state()
    assert state.shape == (4, 156)
    # MIDI 60 is column 60 - 24 = 36 of play and 36 + 78 = 114 of articulate.
    assert state[:, 36].tolist() == [True, True, True, False]
    assert state[:, 114].tolist() == [True, False, True, False]
    assert np.count_nonzero(state) == np.count_nonzero(KNOWN_NOTE_STATE)


def test_from_note_state_inverts_to_note_state():
    roll = known_roll(low=60, high=64, velocity=False)
    again = midi.PianoRoll.from_note_state(KNOWN_NOTE_STATE, steps_per_beat=4, low=60)
    assert np.array_equal(again.play, roll.play) and np.array_equal(again.onset, roll.onset)


def test_from_note_state_thresholds_probabilities_and_ignores_silent_articulation():
    rng = np.random.default_rng(0)
    probabilities = np.where(KNOWN_NOTE_STATE, 0.9, 0.1) + rng.uniform(-0.05, 0.05, (4, 8))
    probabilities[3, 5] = 0.99  # articulate pitch 61 where it does not play
    roll = midi.PianoRoll.from_note_state(probabilities, low=60)
    assert np.array_equal(roll.to_note_state(), KNOWN_NOTE_STATE)
    assert roll.tempos == () and roll.velocity is None


def test_every_run_of_play_starts_with_an_onset():
    play = np.array([[0, 1], [1, 1], [1, 0]], bool)
    roll = midi.PianoRoll(play, np.zeros_like(play), low=60)
    assert roll.onset.tolist() == [[False, True], [True, False], [False, False]]


def test_notes_lists_pitch_start_end_velocity():
    roll = known_roll(low=60, high=64)
    assert roll.notes().tolist() == [[60, 0, 2, 100], [63, 1, 4, 100], [60, 2, 3, 100]]


def test_transposed_moves_pitches_and_drops_what_leaves_the_range():
    roll = known_roll(low=60, high=64)
    up = roll.transposed(1)
    assert up.notes()[:, 0].tolist() == [61, 61]
    assert np.array_equal(up.transposed(-1).play[:, :3], roll.play[:, :3])


def test_equality_compares_content_not_report():
    assert known_roll() == known_roll()
    assert known_roll() != known_roll(steps_per_beat=8)
    assert known_roll() != known_roll(velocity=False)


@pytest.mark.parametrize("play, onset, message", [
    (np.zeros(4, bool), None, "2-D"),
    (np.zeros((4, 4), bool), np.zeros((3, 4), bool), "onset shape"),
    (np.zeros((4, 4), bool), np.ones((4, 4), bool), "does not play"),
])
def test_inconsistent_arrays_are_refused(play, onset, message):
    with pytest.raises(ValueError, match=message):
        midi.PianoRoll(play, onset)


def test_pitch_range_must_stay_in_midi():
    with pytest.raises(ValueError, match="leave MIDI"):
        midi.PianoRoll(np.zeros((2, 10), bool), low=120)


def test_duration_follows_the_tempo_map():
    roll = midi.PianoRoll(np.ones((8, 1), bool), steps_per_beat=4, low=60,
                          tempos=((0, 500_000), (4, 1_000_000)))
    assert roll.duration == pytest.approx(0.5 + 1.0)


def test_npz_round_trip_keeps_every_field(tmp_path):
    roll = known_roll()
    save_roll(roll, tmp_path / "roll.npz")
    again = load_roll(tmp_path / "roll.npz")
    assert again == roll
    assert again.ticks_per_beat == roll.ticks_per_beat and again.programs == roll.programs


def test_bare_note_state_archives_load_as_rolls(tmp_path):
    np.savez(tmp_path / "sample.npz", KNOWN_NOTE_STATE.astype(np.float32))
    np.save(tmp_path / "sample.npy", KNOWN_NOTE_STATE)
    for name in ("sample.npz", "sample.npy"):
        assert np.array_equal(load_roll(tmp_path / name, low=60).to_note_state(), KNOWN_NOTE_STATE)


def test_bad_archives_raise_roll_file_errors(tmp_path):
    (tmp_path / "text.npz").write_text("not an archive")
    np.savez(tmp_path / "two.npz", a=np.zeros(3), b=np.zeros(3))
    for name, message in [("missing.npz", "no such file"), ("text.npz", "not a .npz archive"),
                          ("two.npz", "not a piano-roll archive: lacks")]:
        with pytest.raises(midi.RollFileError, match=f"{name}: {message}"):
            load_roll(tmp_path / name)
