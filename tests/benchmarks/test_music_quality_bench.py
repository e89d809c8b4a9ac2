"""benchmarks/music_quality.py: note F1 on rolls with known answers, and the whole report
on a tiny JSB run."""
from __future__ import annotations

import json

import numpy as np
import pytest

import chainer_vae  # noqa: F401  (before chainer)
import midi

from benchmarks import music_quality, quality
from midi_factories import write_mat


def roll(notes, steps=8, pitches=4):
    """A play-only roll with the given (pitch index, first step, last step) notes."""
    grid = np.zeros((steps, pitches), dtype=bool)
    for pitch, first, last in notes:
        grid[first:last + 1, pitch] = True
    return midi.PianoRoll(grid, steps_per_beat=4, low=60)


def test_note_f1_counts_notes_by_pitch_and_start():
    real = [roll([(0, 0, 3), (2, 4, 7)])]
    assert music_quality.note_f1(real, real) == 1.0
    # one of two notes found, one spurious: precision 1/2, recall 1/2
    assert music_quality.note_f1([roll([(0, 0, 1), (1, 4, 5)])], real) == pytest.approx(0.5)
    assert music_quality.note_f1([roll([])], real) == 0.0
    assert music_quality.note_f1([roll([])], [roll([])]) == 1.0


def test_report_on_a_tiny_jsb_run(tmp_path, monkeypatch, capsys):
    write_mat(tmp_path / "data" / "polyphonic" / "JSB_Chorales.mat")
    monkeypatch.setenv("CHAINER_VAE_DATA", str(tmp_path / "data"))
    run = quality.main(["jsb", "--epochs", "1", "--window", "4", "--iw-samples", "2",
                        "--out", str(tmp_path / "runs")])["run_dir"]
    capsys.readouterr()
    result = music_quality.main([run, "--samples", "6", "--pairs", "2", "--json"])
    assert json.loads(capsys.readouterr().out) == result
    assert result["window_steps"] == 4 and result["windows"] > 0
    for key in ("note_f1", "exact_steps", "prior_overlap", "ceiling_overlap",
                "interpolation_overlap", "interpolation_end_f1"):
        assert 0.0 <= result[key] <= 1.0, key
    assert result["kl_per_window"] >= 0.0
    assert 0 <= result["active_dimensions"] <= result["latent"]


def test_a_run_that_is_no_music_is_refused_with_its_dataset(toy_mnist, tmp_path):
    from chainer_vae import cli
    from chainer_vae.errors import ConfigError

    run = tmp_path / "digits"
    assert cli.main(["train", "--data-dir", str(toy_mnist), "--epochs", "1", "--hidden", "8",
                     "--latent", "2", "--out", str(run), "--no-progress"]) == 0
    with pytest.raises(ConfigError, match="not a music run \\(mnist\\)"):
        music_quality.main([str(run)])
