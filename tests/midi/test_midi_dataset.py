"""load_windows on folders the tests write: windows, split by piece, cache, errors."""
from __future__ import annotations

import numpy as np
import pytest

import midi
import midi.dataset
from midi_factories import midi_file, note_track, save

P = 78
STEP = 120  # ticks per step at 480 ticks per beat and 4 steps per beat


def piece(pitch: int):
    """64 steps: pitch played in 16th notes for 24 steps, 16 silent steps, then 24 more."""
    notes = [(pitch, t * STEP, (t + 1) * STEP) for t in list(range(24)) + list(range(40, 64))]
    return midi_file(note_track(notes))


@pytest.fixture
def songs(tmp_path):
    """songs/blues/b0..b2.mid (pitches 40..42) and songs/waltz/w0..w2.mid (pitches 60..62)."""
    for label, base in (("blues", 40), ("waltz", 60)):
        (tmp_path / "songs" / label).mkdir(parents=True)
        for index in range(3):
            save(piece(base + index), tmp_path / "songs" / label / f"{label[0]}{index}.mid")
    return tmp_path / "songs"


def pitches_of(windows: np.ndarray) -> list:
    """The single pitch each window plays."""
    return [int(24 + np.flatnonzero(w[:, :P].any(axis=0))[0]) for w in windows]


def test_windows_labels_and_pieces(songs):
    split = midi.load_windows(songs, window=8, test_fraction=0.34, workers=1, progress=False)
    assert split.label_names == ["blues", "waltz"] and len(split.pieces) == 6
    assert split.train.dtype == np.float32 and split.train.shape[1:] == (8, 2 * P)
    # 8 windows of 8 steps per piece, the two inside the silence skipped.
    assert len(split.train) == 4 * 6 and len(split.test) == 2 * 6
    for windows, labels, pieces in ((split.train, split.train_labels, split.train_pieces),
                                    (split.test, split.test_labels, split.test_pieces)):
        expected = [{"b": 40, "w": 60}[split.pieces[p].split("/")[-1][0]] + int(split.pieces[p][-5])
                    for p in pieces]
        assert pitches_of(windows) == expected
        assert [split.label_names[label][0] for label in labels] == [
            split.pieces[p].split("/")[-1][0] for p in pieces]
    assert split.errors == []


def test_split_is_by_piece_and_covers_every_label(songs):
    split = midi.load_windows(songs, window=8, test_fraction=0.34, seed=3, workers=1, progress=False)
    assert not set(split.train_pieces.tolist()) & set(split.test_pieces.tolist())
    assert sorted(set(split.test_labels.tolist())) == [0, 1]
    again = midi.load_windows(songs, window=8, test_fraction=0.34, seed=3, workers=1, progress=False)
    assert np.array_equal(again.test_pieces, split.test_pieces)


def test_hop_and_windows_per_piece(songs):
    overlapping = midi.load_windows(songs, window=8, hop=4, test_fraction=0, workers=1, progress=False)
    # Starts 0, 4, ..., 56: 15 windows, of which those starting at 24, 28, 32 are silent.
    assert len(overlapping.train) == 6 * 12
    sampled = midi.load_windows(songs, window=8, windows_per_piece=3, test_fraction=0, workers=1,
                                progress=False)
    assert np.bincount(sampled.train_pieces).tolist() == [3] * 6
    assert all(w[:, :P].any() for w in sampled.train)


def test_transposition_augments_training_windows_only(songs):
    plain = midi.load_windows(songs, window=8, test_fraction=0.34, workers=1, progress=False)
    split = midi.load_windows(songs, window=8, test_fraction=0.34, transpose=(-2, 1), workers=1,
                              progress=False)
    assert len(split.train) == 3 * len(plain.train) and np.array_equal(split.test, plain.test)
    originals = split.train_transpositions == 0
    assert np.array_equal(split.train[originals], plain.train)
    for shift in (-2, 1):
        moved = split.train[split.train_transpositions == shift]
        assert pitches_of(moved) == [p + shift for p in pitches_of(plain.train)]


def test_transpositions_that_leave_the_range_are_left_out(tmp_path):
    (tmp_path / "top").mkdir()
    save(piece(101), tmp_path / "top" / "high.mid")
    split = midi.load_windows(tmp_path, window=8, test_fraction=0, transpose=(1, -1), workers=1,
                              progress=False)
    assert sorted(set(split.train_transpositions.tolist())) == [-1, 0]


def test_short_pieces_give_one_padded_window(tmp_path):
    save(midi_file(note_track([(62, 0, 4 * 480)])), tmp_path / "long.mid")  # 16 steps
    save(midi_file(note_track([(60, 0, 480)])), tmp_path / "short.mid")  # 4 steps
    split = midi.load_windows(tmp_path, window=16, test_fraction=0, workers=1, progress=False)
    assert split.label_names == [tmp_path.name] and split.train.shape == (2, 16, 2 * P)
    assert pitches_of(split.train) == [62, 60]
    assert split.train[1, 4:].sum() == 0


def test_cache_is_read_back_and_keyed_by_options(songs, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    first = midi.load_windows(songs, window=8, cache_dir=cache, workers=1, progress=False)
    assert len(list(cache.glob("*.npz"))) == 6

    def no_conversion(*args):
        raise AssertionError("converted although cached")

    monkeypatch.setattr(midi.dataset, "roll_from_events", no_conversion)
    cached = midi.load_windows(songs, window=8, cache_dir=cache, workers=1, progress=False)
    assert np.array_equal(cached.train, first.train)
    monkeypatch.undo()
    midi.load_windows(songs, steps_per_beat=8, window=8, cache_dir=cache, workers=1, progress=False)
    assert len(list(cache.glob("*.npz"))) == 12


def test_a_damaged_cache_entry_is_rebuilt(songs, tmp_path):
    cache = tmp_path / "cache"
    first = midi.load_windows(songs, window=8, cache_dir=cache, workers=1, progress=False)
    for entry in cache.glob("*.npz"):
        entry.write_bytes(b"garbage")
    again = midi.load_windows(songs, window=8, cache_dir=cache, workers=1, progress=False)
    assert np.array_equal(again.train, first.train)


def test_bad_files_are_reported_not_fatal(songs):
    (songs / "waltz" / "broken.mid").write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0MTrk\x00\x00")
    split = midi.load_windows(songs, window=8, workers=1, progress=False)
    assert len(split.pieces) == 6
    assert [(path.split("/")[-1], "truncated" in message or "ends" in message or "cut" in message)
            for path, message in split.errors] == [("broken.mid", True)]


def test_parallel_conversion_matches_serial(songs):
    serial = midi.load_windows(songs, window=8, workers=1, progress=False)
    parallel = midi.load_windows(songs, window=8, workers=2, progress=False)
    assert np.array_equal(serial.train, parallel.train) and serial.pieces == parallel.pieces


def test_labels_pick_and_order_folders(songs):
    split = midi.load_windows(songs, window=8, labels=["waltz"], test_fraction=0, workers=1,
                              progress=False)
    assert split.label_names == ["waltz"] and set(pitches_of(split.train)) == {60, 61, 62}
    with pytest.raises(midi.MidiDatasetError, match="no label folder jazz"):
        midi.load_windows(songs, labels=["jazz"], progress=False)


def test_a_folder_whose_pieces_all_fall_short_of_a_window_is_refused(songs):
    """Every piece has 64 steps: 64-step windows work, a shorter piece is padded, but
    no piece filling a 65-step window is an error naming the folder and the longest."""
    assert midi.load_windows(songs, window=64, test_fraction=0, workers=1,
                             progress=False).train.shape == (6, 64, 2 * P)
    with pytest.raises(midi.MidiDatasetError,
                       match="songs: no piece fills a window of 65 steps \\(the longest has 64"):
        midi.load_windows(songs, window=65, workers=1, progress=False)


def test_missing_or_unusable_folders_raise_dataset_errors(tmp_path):
    with pytest.raises(midi.MidiDatasetError, match="nowhere: no such folder"):
        midi.load_windows(tmp_path / "nowhere", progress=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(midi.MidiDatasetError, match="holds no MIDI files"):
        midi.load_windows(tmp_path / "empty", progress=False)
    (tmp_path / "bad" / "x").mkdir(parents=True)
    (tmp_path / "bad" / "x" / "a.mid").write_bytes(b"nope")
    with pytest.raises(midi.MidiDatasetError,
                       match="no usable MIDI file among 1: x/a.mid: not a MIDI file"):
        midi.load_windows(tmp_path / "bad", workers=1, progress=False)


def test_no_usable_file_names_the_first_files_and_their_problems(tmp_path):
    for index in range(5):
        (tmp_path / f"bad{index}.mid").write_bytes(b"MThd" if index % 2 else b"nope")
    with pytest.raises(midi.MidiDatasetError) as raised:
        midi.load_windows(tmp_path, workers=1, progress=False)
    message = str(raised.value)
    assert "no usable MIDI file among 5: bad0.mid: not a MIDI file" in message
    assert "; bad1.mid: header cut short" in message and "; bad2.mid: " in message
    assert "bad3.mid" not in message and message.endswith("; and 2 more")
