"""The shipped models (``pretrained:NAME``): each reproduces its recorded test loss, fits
the size budget, is listed with its card, generates from the package alone and can be
fine-tuned; bad names, damaged weights and data on another grid are one line, exit 2."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

import chainer_vae  # noqa: F401
from chainer_vae import cli, pretrained
from chainer_vae.config import RunConfig
from chainer_vae.inference import evaluate
from chainer_vae.pretrained import build
from midi_factories import midi_file, note_track, save

SHIPPED = pretrained.names()
MUSIC = [name for name in SHIPPED if build.RECIPES[name].music]
BUDGET = 30e6  # bytes of every shipped model together


def test_every_recipe_is_shipped_and_within_the_budget():
    assert SHIPPED == sorted(build.RECIPES)
    assert sum(pretrained.card(name).size for name in SHIPPED) <= BUDGET


@pytest.mark.parametrize("name", SHIPPED)
def test_a_shipped_model_reproduces_its_recorded_test_loss(name, data_root, monkeypatch):
    if not (data_root / "mnist").is_dir():
        pytest.skip("needs the MNIST files under $CHAINER_VAE_DATA")
    monkeypatch.setenv("CHAINER_VAE_DATA", str(data_root))
    card = pretrained.card(name)
    found = evaluate(pretrained.PREFIX + name, **build.EVALUATION)
    assert -found.elbo == pytest.approx(card.figures["test_loss"], rel=2e-3)


def test_the_cards_say_what_each_model_is(capsys):
    assert cli.main(["pretrained", "--json"]) == 0
    cards = {card["name"]: card for card in json.loads(capsys.readouterr().out)}
    assert sorted(cards) == SHIPPED
    for name, card in cards.items():
        assert card["command"] == build.command(name)
        assert card["terms"] and card["data"] and card["training_minutes"] > 0
        assert card["figures"]["storage"] in ("float16", "float32")
        assert 0 < card["bytes"] <= BUDGET
    for name in MUSIC:
        assert {"note_f1", "prior_overlap", "ceiling_overlap",
                "active_dimensions"} <= set(cards[name]["figures"])
    assert cli.main(["pretrained", SHIPPED[0]]) == 0
    assert capsys.readouterr().out.startswith(pretrained.PREFIX + SHIPPED[0] + ": ")


@pytest.mark.parametrize("name", MUSIC)
def test_music_is_generated_from_the_package_alone(name, tmp_path, monkeypatch):
    monkeypatch.delenv("CHAINER_VAE_DATA", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no FluidSynth: the built-in synth
    assert cli.main(["sample", pretrained.PREFIX + name, "--n", "2", "--wav",
                     "--out", str(tmp_path / "music")]) == 0
    assert sorted(path.name for path in (tmp_path / "music").glob("sample_*")) == [
        "sample_000.mid", "sample_000.png", "sample_000.wav",
        "sample_001.mid", "sample_001.png", "sample_001.wav"]
    assert cli.main(["report", pretrained.PREFIX + name, "--out", str(tmp_path / "music")]) == 0
    page = (tmp_path / "music" / "index.html").read_text()
    assert "Pretrained model" in page and page.count("<audio") == 2


def test_bad_names_and_folders_of_the_package_are_one_line(capsys):
    known = ", ".join(pretrained.PREFIX + name for name in SHIPPED)
    for argv in (["sample", "pretrained:nope", "--out", "x"], ["evaluate", "pretrained:nope"],
                 ["train", "--init-from", "pretrained:nope"]):
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "known: " + known in err
    assert cli.main(["plot", pretrained.PREFIX + SHIPPED[0]]) == 2
    assert "is a shipped model; give --out" in capsys.readouterr().err


def test_damaged_weights_are_named(tmp_path, monkeypatch, capsys):
    name = MUSIC[0]
    copy = tmp_path / name
    shutil.copytree(pretrained.model_folder(name), copy)
    (copy / "model.npz").write_bytes((copy / "model.npz").read_bytes()[:1000])
    monkeypatch.setattr(pretrained, "ROOT", tmp_path)
    assert cli.main(["sample", pretrained.PREFIX + name, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and str(copy / "model.npz") in err


def _songs(root, steps):
    """Two labels of two pieces, each ``steps`` 16th notes of one pitch a label."""
    for label, pitch in (("low", 50), ("high", 67)):
        (root / label).mkdir(parents=True)
        for piece in range(2):
            save(midi_file(note_track([(pitch + i % 2, 120 * i, 120 * (i + 1))
                                       for i in range(steps)])),
                 root / label / "{}.mid".format(piece))
    return root


@pytest.mark.parametrize("name", MUSIC[:1])
def test_fine_tuning_starts_from_the_shipped_weights(name, tmp_path, capsys):
    songs = _songs(tmp_path / "songs", 160)
    out = tmp_path / "tuned"
    start = pretrained.PREFIX + name
    assert cli.main(["train", "--init-from", start, "--dataset", "midi", "--data-dir",
                     str(songs), "--valid-fraction", "0", "--epochs", "1", "--lr", "1e-12",
                     "--out", str(out), "--no-progress"]) == 0
    config = RunConfig.load(out)
    assert config.train.init_from == [start] and config.data.data_dir == str(songs)
    shipped = RunConfig.load(pretrained.model_folder(name)).train
    assert (config.train.free_nats, config.train.beta) == (shipped.free_nats, shipped.beta) \
        and shipped.free_nats > 0  # the objective it was trained with
    before, after = (np.load(folder / "model.npz") for folder in
                     (pretrained.model_folder(name), out))
    for key in before.files:  # a step at a rate of 1e-12 leaves the weights as shipped
        np.testing.assert_allclose(after[key], before[key].astype(np.float32), atol=1e-6)
    assert cli.main(["train", "--init-from", start, "--dataset", "midi", "--data-dir",
                     str(songs), "--steps-per-beat", "8", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "--steps-per-beat 8" in err and "grid of 4 steps per beat, MIDI pitches 24-101" in err
