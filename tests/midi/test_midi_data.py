"""The study's real files (../shared/data, or $CHAINER_VAE_DATA): skipped when absent.

All 8 Bach files and all 149 genre songs convert in strict mode, round-trip to an
identical roll, and give the onsets that mido's own reading of the notes gives.
"""
from __future__ import annotations

from pathlib import Path

import mido
import numpy as np
import pytest

import midi
from midi.dataset import midi_files
from midi_factories import independent_onsets


def files_under(data_root: Path, name: str) -> list:
    folder = data_root / name
    if not folder.is_dir():
        pytest.skip(f"{folder} is absent")
    return midi_files(folder)[0]


@pytest.fixture(scope="module")
def bach(data_root):
    return files_under(data_root, "bach_lute")


@pytest.fixture(scope="module")
def genre(data_root):
    return files_under(data_root, "genre_midi")


def onset_cells(roll: midi.PianoRoll) -> set:
    steps, columns = np.nonzero(roll.onset)
    return set(zip(steps.tolist(), (columns + roll.low).tolist()))


def assert_faithful(path: str, steps_per_beat: int) -> midi.PianoRoll:
    """Converts strictly, round-trips identically, and matches mido's onsets."""
    roll = midi.midi_to_roll(path, steps_per_beat)
    again = midi.midi_to_roll(midi.roll_to_midi(roll), steps_per_beat)
    assert again == roll, f"{path}: round trip differs"
    reference = independent_onsets(mido.MidiFile(path), steps_per_beat, roll.low, roll.high)
    assert onset_cells(roll) == reference, f"{path}: onsets differ from mido's"
    return roll


def test_all_eight_bach_files_are_faithful(bach):
    assert len(bach) == 8
    for path in bach:
        for steps in (4, 48):
            roll = assert_faithful(path, steps)
            assert roll.report.notes_read > 700 and roll.report.drum_notes_excluded == 0
            assert roll.program in (24, 42)


def test_bach_tempo_maps_and_meter_change_survive(bach):
    by_name = {Path(path).stem: path for path in bach}
    roll = midi.midi_to_roll(by_name["cs5-1pre"])
    assert len(roll.tempos) >= 3 and (4, 4) in [sig[1:] for sig in roll.time_signatures]
    assert (3, 8) in [sig[1:] for sig in roll.time_signatures]
    written = midi.roll_to_midi(roll)
    assert written.length == pytest.approx(mido.MidiFile(by_name["cs5-1pre"]).length, rel=1e-3)


def test_triplets_need_24_or_48_steps_per_beat(bach):
    gavotte = next(path for path in bach if "cs5-5gav" in path)
    assert midi.midi_to_roll(gavotte).report.onsets_on_grid < 0.9
    assert midi.midi_to_roll(gavotte, 24).report.onsets_on_grid >= 0.998
    assert midi.midi_to_roll(gavotte, 48).report.off_grid_onsets == 0


def test_bach_windows_split_by_piece(data_root, bach):
    split = midi.load_windows(data_root / "bach_lute", test_fraction=0.25, workers=1, progress=False)
    assert split.label_names == ["cminor", "ebmajor"] and split.train.shape[1:] == (100, 156)
    assert not set(split.train_pieces.tolist()) & set(split.test_pieces.tolist())
    assert sorted(set(split.test_labels.tolist())) == [0, 1] and split.errors == []


def test_all_149_genre_songs_convert_strictly(genre):
    assert len(genre) == 149
    rolls = [midi.midi_to_roll(path) for path in genre]
    assert sum(roll.report.drum_notes_excluded > 0 for roll in rolls) > 100
    assert all(roll.report.notes_kept > 0 for roll in rolls)


def test_every_tenth_genre_song_round_trips_and_matches_mido(genre):
    for path in genre[::10]:
        assert_faithful(path, 4)


@pytest.mark.slow
def test_all_149_genre_songs_round_trip_and_match_mido(genre):
    # About 20 s, nearly all of it mido parsing the songs for the reference onsets.
    for path in genre:
        assert_faithful(path, 4)
