"""A folder of MIDI files as training data (``chainer_vae.data.midi``), on small files made
here: every piece plays one pitch of its own, so a window tells which piece it came from."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import chainer_vae  # noqa: F401  (before chainer)
from chainer_vae.config import DataConfig
from chainer_vae.data.midi import DEFAULT_FOLDER, is_corpus, load_data, midi_root, piece_window
from chainer_vae.errors import ConfigError

from midi_factories import midi_file, note_track, save

BEAT = 480  # ticks per quarter note of the factories' files
LOW, HIGH = 48, 72
PITCHES = {"major": range(60, 65), "minor": range(50, 55)}  # one pitch a piece
LABELS = sorted(PITCHES)


def _piece(path, pitch, beats=16, first=0):
    """A MIDI file of ``pitch`` struck on each of ``beats`` beats from beat ``first``."""
    notes = [(pitch, BEAT * beat, BEAT * (beat + 1)) for beat in range(first, first + beats)]
    return save(midi_file(note_track(notes)), path)


def _folder(root: Path, pieces_per_label=5) -> Path:
    for label, pitches in PITCHES.items():
        (root / label).mkdir(parents=True)
        for pitch in list(pitches)[:pieces_per_label]:
            _piece(root / label / "{}.mid".format(pitch), pitch)
    return root


@pytest.fixture()
def songs(tmp_path):
    """songs/major and songs/minor, five 16-beat pieces each (64 steps, 4 windows of 16)."""
    return _folder(tmp_path / "songs")


def _config(root, **options):
    return DataConfig(dataset="midi", data_dir=str(root), window=16, hop=16, low=LOW, high=HIGH,
                      **options)


def _pitches(windows) -> list:
    """The pitch each window plays (each piece plays one)."""
    play = np.asarray(windows[:])[:, :, :HIGH - LOW]
    return (play.any(axis=1).argmax(axis=1) + LOW).tolist()


def test_midi_root_is_the_folder_given_the_corpus_named_or_the_study_folder(tmp_path,
                                                                             monkeypatch):
    assert midi_root(str(tmp_path)) == tmp_path
    assert midi_root("corpus:bach") == "corpus:bach"
    monkeypatch.setenv("CHAINER_VAE_DATA", str(tmp_path))
    assert midi_root() == tmp_path / DEFAULT_FOLDER
    monkeypatch.delenv("CHAINER_VAE_DATA")
    with pytest.raises(ConfigError, match=r"--data-dir .* \$CHAINER_VAE_DATA"):
        midi_root()


@pytest.mark.parametrize("source,expected", [
    ("corpus:bach", True), ("corpus:", True), (Path("corpus"), False),
    ("songs/corpus:bach", False), ("jsb", False)])
def test_is_corpus(source, expected):
    assert is_corpus(source) is expected


def test_windows_are_note_states_split_by_whole_pieces(songs):
    data = load_data(_config(songs), progress=False)
    assert data.label_names == LABELS and data.valid is None
    assert data.input_shape == (16, 2 * (HIGH - LOW))
    train, test = np.asarray(data.train[:]), np.asarray(data.test[:])
    assert train.dtype == np.float32 and set(np.unique(train)) == {0.0, 1.0}
    # 10 pieces of 4 windows; one piece of each label tests (test_fraction 0.2)
    assert (len(train), len(test)) == (32, 8)
    assert data.details == {"dataset": "midi", "sources": [str(songs)], "train": 32,
                            "test": 8, "valid": 0, "pieces": 10, "errors": []}
    train_pitches, test_pitches = _pitches(data.train), _pitches(data.test)
    assert not set(train_pitches) & set(test_pitches)
    for pitches, labels in ((train_pitches, data.train_labels),
                            (test_pitches, data.test_labels)):
        assert [pitch in PITCHES[LABELS[label]] for pitch, label in zip(pitches, labels)] \
            == [True] * len(pitches)
    # a struck beat: onset on its first step, playing for all four
    first = train[0]
    column = _pitches(data.train)[0] - LOW
    np.testing.assert_array_equal(first[:, column], np.ones(16))
    np.testing.assert_array_equal(first[:, HIGH - LOW + column], np.arange(16) % 4 == 0)


def test_validation_holds_out_whole_training_pieces(songs):
    plain = load_data(_config(songs), progress=False)
    data = load_data(_config(songs, valid_fraction=0.5), progress=False)
    valid = _pitches(data.valid)
    assert len(valid) == data.details["valid"] == len(data.valid_labels) == 16
    assert not set(valid) & (set(_pitches(data.train)) | set(_pitches(data.test)))
    assert sorted(valid + _pitches(data.train)) == sorted(_pitches(plain.train))
    np.testing.assert_array_equal(np.asarray(data.test[:]), np.asarray(plain.test[:]))


def test_a_validation_fraction_that_cannot_split_the_training_pieces_is_refused(tmp_path):
    # one training piece per label: a label's only piece is never held out
    root = _folder(tmp_path / "pairs", pieces_per_label=2)
    with pytest.raises(ConfigError, match="--valid-fraction 0.5 holds out 0 of the 2 training"):
        load_data(_config(root, valid_fraction=0.5), progress=False)


def test_limit_caps_every_split(songs):
    data = load_data(_config(songs, limit=3, valid_fraction=0.5), progress=False)
    assert (len(data.train), len(data.test), len(data.valid)) == (3, 3, 3)
    assert len(data.train_labels) == len(data.test_labels) == len(data.valid_labels) == 3


def test_broken_files_are_left_out_with_a_warning_naming_three(songs, capsys):
    for index in range(5):
        (songs / "minor" / "broken{}.mid".format(index)).write_bytes(b"junk")
    data = load_data(_config(songs), progress=False)
    assert data.details["pieces"] == 10 and len(data.details["errors"]) == 5
    assert all("not a MIDI file" in problem for _, problem in data.details["errors"])
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 4 and all("left out: not a MIDI file" in line for line in err[:3])
    assert err[3] == ("chainer-vae: warning: and 2 more pieces left out "
                      "(Data.details['errors'] lists them)")


def test_a_window_of_a_file_starts_at_the_bar_line_before_its_first_note(tmp_path):
    path = _piece(tmp_path / "late.mid", 60, beats=8, first=6)  # from beat 6, in bar 2
    window = piece_window(path, _config(tmp_path), 16)
    assert window.shape == (16, 2 * (HIGH - LOW)) and window.dtype == np.float32
    # bar 2 starts on beat 4: two silent beats (8 steps), then the note on every beat
    np.testing.assert_array_equal(window[:, 60 - LOW], np.arange(16) >= 8)
    np.testing.assert_array_equal(window[:, HIGH - LOW + 60 - LOW],
                                  (np.arange(16) >= 8) & (np.arange(16) % 4 == 0))
