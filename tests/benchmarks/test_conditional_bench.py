"""benchmarks/conditional.py: a classifier of real examples labels a conditional run's
samples, on toy digits and on a tiny MIDI folder of two labels."""
from __future__ import annotations

import json

import numpy as np
import pytest

import chainer_vae  # noqa: F401  (before chainer)
from chainer_vae import cli

from benchmarks import conditional
from midi_factories import conductor, midi_file, note_track, save


def test_mnist_agreement_and_the_classifiers_accuracy(toy_mnist, tmp_path, capsys):
    run = tmp_path / "digits"
    assert cli.main(["train", "--data-dir", str(toy_mnist), "--epochs", "10", "--lr", "0.01",
                     "--hidden", "64", "--latent", "4", "--batch-size", "50",
                     "--conditional", "--out", str(run), "--no-progress"]) == 0
    result = conditional.main([str(run), "--n", "20", "--classifier", "logistic",
                               "--out", str(tmp_path / "bench")])
    assert result["test_accuracy"] == 1.0  # the toy digits are bars, one row band a digit
    assert result["train_examples"] == 300 and result["test_examples"] == 100
    assert sorted(result["agreement_per_label"]) == [str(d) for d in range(10)]
    assert np.sum(result["confusion"]) == 200
    assert result["agreement"] == pytest.approx(np.trace(result["confusion"]) / 200)
    assert result["agreement"] > 0.2  # chance is 0.1
    saved = json.loads((tmp_path / "bench" / "conditional_digits.json").read_text())
    assert saved["agreement"] == result["agreement"]
    row = capsys.readouterr().out.strip().splitlines()[-1]
    assert row == conditional.row(saved)
    assert "logistic on pixels: test accuracy 100.00%" in row


@pytest.fixture()
def two_labels(tmp_path):
    """Six MIDI pieces of 32 quarter notes: ``low/`` plays C3 chords, ``high/`` single C6
    notes on every other beat."""
    for label, notes in (("low", lambda t: [(48, t, t + 480), (52, t, t + 480)]),
                         ("high", lambda t: [(84, t, t + 240)] if t % 960 == 0 else [])):
        folder = tmp_path / "songs" / label
        folder.mkdir(parents=True)
        for piece in range(3):
            played = [note for beat in range(32) for note in notes(480 * beat)]
            save(midi_file(conductor(), note_track(played)), folder / "{}.mid".format(piece))
    return tmp_path / "songs"


def test_music_agreement_thresholds_the_samples(two_labels, tmp_path):
    run = tmp_path / "songs_run"
    assert cli.main(["train", "--dataset", "midi", "--data-dir", str(two_labels), "--window",
                     "16", "--epochs", "60", "--lr", "0.01", "--hidden", "32", "--latent", "2",
                     "--batch-size", "8", "--conditional", "--out", str(run),
                     "--no-progress"]) == 0
    result = conditional.main([str(run), "--n", "10", "--classifier", "forest",
                               "--threshold", "0.5", "--out", str(tmp_path / "bench")])
    assert result["label_names"] == ["high", "low"] and result["threshold"] == 0.5
    assert result["test_accuracy"] == 1.0
    assert (tmp_path / "bench" / "songs_run" / "low" / "low_000.mid").is_file()
    assert result["agreement"] >= 0.75  # chance is 0.5
