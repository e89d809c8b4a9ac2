"""MIDI training data from several sources at once (``train --dataset midi --also``):
benchmark rolls as note states, labels merged, each source's split kept."""
from __future__ import annotations

import json

import numpy as np
import pytest

import chainer_vae  # noqa: F401  (before chainer)
import midi
from chainer_vae import cli
from chainer_vae.config import DataConfig
from chainer_vae.data import polyphonic
from chainer_vae.data.midi import load_data

from midi_factories import LENGTHS, midi_file, note_track, save, write_mat

BEAT = 480  # ticks per quarter note of the factories' files


def test_benchmark_rolls_become_note_states_note_by_note():
    roll = np.zeros((3, 88), np.float32)
    roll[0:2, 60 - 21] = 1  # C4 held for two quarter notes: one note
    roll[1, 62 - 21] = 1    # D4 on the second
    roll[2, 0] = 1          # A0, below the pitches kept
    (state,), dropped = polyphonic.as_note_states([roll], steps_per_beat=4, low=48, high=72)
    assert dropped == 1 and state.shape == (12, 48) and state.dtype == bool
    play, onset = state[:, :24], state[:, 24:]
    assert sorted(zip(*np.nonzero(onset))) == [(0, 12), (4, 14)]
    expected = np.zeros((12, 24), bool)
    expected[0:8, 12] = expected[4:8, 14] = True
    np.testing.assert_array_equal(play, expected)


def test_labels_of_the_same_name_merge():
    def pieces(names, labels):
        return midi.PieceSet(pieces=[str(i) for i in range(len(labels))],
                             labels=np.array(labels), label_names=names,
                             note_states=[np.zeros((1, 2), bool)] * len(labels))
    merged = midi.merge_pieces(pieces(["a", "b"], [0, 1, 1]), pieces(["c", "a"], [0, 1]))
    assert merged.label_names == ["a", "b", "c"]
    assert merged.labels.tolist() == [0, 1, 1, 2, 0] and len(merged.note_states) == 5


@pytest.fixture()
def sources(tmp_path):
    """songs/waltz/ (three 32-beat pieces) and polyphonic/JSB_Chorales.mat (tiny pieces)."""
    (tmp_path / "songs" / "waltz").mkdir(parents=True)
    for index in range(3):
        notes = [(60 + index, BEAT * beat, BEAT * (beat + 1)) for beat in range(32)]
        save(midi_file(note_track(notes)), tmp_path / "songs" / "waltz" / "{}.mid".format(index))
    write_mat(tmp_path / "polyphonic" / "JSB_Chorales.mat")
    return tmp_path


def test_a_folder_and_a_benchmark_train_together_each_keeping_its_split(sources, monkeypatch):
    monkeypatch.setenv("CHAINER_VAE_DATA", str(sources))
    config = DataConfig(dataset="midi", data_dir=str(sources / "songs"), window=8, hop=8,
                        also=["jsb"])
    data = load_data(config, progress=False)
    assert data.label_names == ["waltz", "jsb"]
    # the .mat pieces, 4 steps a beat: train and valid pieces train, test pieces test;
    # a window every 8 steps that fits in the piece, as for MIDI files
    steps = {part: [4 * n for n in LENGTHS[key]]
             for part, key in (("train", "traindata"), ("valid", "validdata"),
                               ("test", "testdata"))}
    windows = {part: sum((n - 8) // 8 + 1 for n in lengths) for part, lengths in steps.items()}
    assert np.sum(data.train_labels == 1) == windows["train"] + windows["valid"]
    assert np.sum(data.test_labels == 1) == windows["test"]
    # the folder's pieces split as alone: 128 steps each, 16 windows, one piece to test
    assert (np.sum(data.train_labels == 0), np.sum(data.test_labels == 0)) == (32, 16)
    assert data.details["sources"] == [str(sources / "songs"), "jsb"]
    same = load_data(DataConfig(dataset="midi", data_dir=str(sources / "songs"), window=8,
                                also=[str(sources / "polyphonic" / "JSB_Chorales.mat")]),
                     progress=False)
    assert same.label_names == ["waltz", "JSB_Chorales"]
    np.testing.assert_array_equal(same.test, data.test)


def test_the_cli_records_the_sources_and_refuses_bad_ones(sources, tmp_path, capsys):
    run = tmp_path / "run"
    mat = str(sources / "polyphonic" / "JSB_Chorales.mat")
    assert cli.main(["train", "--dataset", "midi", "--data-dir", str(sources / "songs"),
                     "--also", mat, "--window", "8", "--hidden", "8", "--latent", "2",
                     "--epochs", "1", "--out", str(run), "--no-progress"]) == 0
    assert json.loads((run / "config.json").read_text())["data"]["also"] == [mat]
    capsys.readouterr()
    for argv, words in (
            (["--dataset", "jsb", "--data-dir", mat, "--also", mat], "applies to midi only"),
            (["--dataset", "midi", "--data-dir", str(sources / "songs"), "--also",
              str(tmp_path / "gone.mat")], "gone.mat: no such file"),
            (["--dataset", "midi", "--data-dir", str(sources / "songs"), "--also",
              str(tmp_path / "nowhere")], "nowhere: no such folder")):
        assert cli.main(["train"] + argv + ["--epochs", "1", "--out", str(tmp_path / "x"),
                                            "--no-progress"]) == 2
        err = capsys.readouterr().err
        assert words in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "x").exists()
