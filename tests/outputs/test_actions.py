"""chainer_vae.outputs.actions.sample_run: what ``chainer-vae sample`` writes of a run
folder (digits, music, longer music, music by label)."""
from __future__ import annotations

import json

import chainer_vae  # noqa: F401  (installs the compatibility shim before chainer)
import mido
import numpy as np
import pytest

from chainer_vae.config import ModelConfig, RunConfig
from chainer_vae.data import Data
from chainer_vae.errors import ConfigError
from chainer_vae.inference import sampling as gen
from chainer_vae.outputs import actions
from chainer_vae.runs import save_model

from tiny_models import note_ons, toy_images, train_tiny

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def toy():
    return toy_images(120)


@pytest.fixture(scope="module")
def model(toy):
    config = ModelConfig(input_shape=(784,), latent=2, hidden=[24])
    return train_tiny(config, toy[0], steps=400)


def _run_folder(path, model_config, dataset="mnist", **data_options):
    config = RunConfig()
    config.data.dataset = dataset
    for key, value in data_options.items():
        setattr(config.data, key, value)
    config.model = model_config
    path.mkdir()
    config.save(path)
    return config


def test_sample_run_mnist(tmp_path, model, toy):
    x, labels = toy
    run = tmp_path / "run"
    _run_folder(run, ModelConfig(input_shape=(784,), latent=2, hidden=[24]))
    save_model(model, run)
    data = Data(x, x[:20], (784,), labels, labels[:20], [str(d) for d in range(4)])
    out = tmp_path / "samples"
    paths = actions.sample_run(run, out, n=12, seed=0, data=data)
    assert paths == [out / "samples.png", out / "samples.npz"]
    assert paths[0].read_bytes().startswith(PNG)
    saved = np.load(paths[1])
    assert sorted(saved.files) == ["means", "z"]  # no labels: an unconditional model
    np.testing.assert_array_equal(saved["means"], gen.prior_samples(model, 12, seed=0))
    np.testing.assert_array_equal(saved["z"], gen.prior_latents(model, 12, seed=0))
    paths = actions.sample_run(run, out, from_test=3, data=data)
    assert paths == [out / "reconstruction_3.png", out / "samples.npz"]
    np.testing.assert_array_equal(np.load(paths[1])["means"], gen.reconstruct(model, x[3:4]))
    paths = actions.sample_run(run, out, interpolate_between=(0, 1), steps=5, data=data)
    assert [p.name for p in paths] == ["interpolation_linear.png", "interpolation_slerp.png",
                                       "samples.npz"]
    saved = np.load(paths[-1])
    assert saved["means"].shape == (2, 5, 784) and saved["z"].shape == (2, 5, 2)
    np.testing.assert_array_equal(saved["means"][1], gen.interpolate(model, x[0], x[1], 5,
                                                                      "slerp")[1])
    with pytest.raises(ConfigError, match="does not exist"):
        actions.sample_run(run, out, from_test=20, data=data)


def test_sample_run_midi(tmp_path):
    shape = (16, 2 * 78)
    config = ModelConfig(input_shape=shape, latent=3, hidden=[16], activation="relu")
    rng = np.random.RandomState(0)
    windows = (rng.rand(40, *shape) < 0.15).astype(np.float32)
    model = train_tiny(config, windows.reshape(40, -1).reshape(40, *shape), steps=10)
    run = tmp_path / "run"
    _run_folder(run, config, dataset="midi", window=16)
    save_model(model, run)
    data = Data(windows, windows[:5], shape, np.zeros(40, int), np.zeros(5, int), ["piece"])
    out = tmp_path / "midi"
    paths = actions.sample_run(run, out, n=3, seed=0, data=data)
    assert [p.name for p in paths] == ["sample_000.mid", "sample_001.mid", "sample_002.mid",
                                       "samples.npz"]
    assert np.load(paths.pop())["means"].shape == (3,) + shape
    assert all(note_ons(p) for p in paths)
    assert all(p.with_suffix(".png").is_file() for p in paths)
    bernoulli = actions.sample_run(run, tmp_path / "b", n=2, sample=True, seed=0, data=data)
    assert all(note_ons(p) for p in bernoulli[:-1])
    paths = actions.sample_run(run, out, from_test=2, data=data)
    assert [p.name for p in paths] == ["test_2_000.mid", "reconstruction_2_000.mid",
                                       "samples.npz"]
    assert len(note_ons(paths[0])) > 0
    paths = actions.sample_run(run, out, interpolate_between=(0, 1), steps=4, data=data)
    assert len(paths) == 9 and paths[0].name == "linear_000.mid"
    assert json.loads((run / "config.json").read_text())["data"]["dataset"] == "midi"


def test_sample_run_midi_longer_than_the_training_window(tmp_path):
    shape = (16, 2 * 78)
    config = ModelConfig(encoder="lstm", decoder="lstm", input_shape=shape, latent=3,
                         hidden=[16], autoregressive=True)
    rng = np.random.RandomState(1)
    windows = (rng.rand(40, *shape) < 0.15).astype(np.float32)
    model = train_tiny(config, windows, steps=5)
    run = tmp_path / "run"
    _run_folder(run, config, dataset="midi", window=16)
    save_model(model, run)
    data = Data(windows, windows[:5], shape, np.zeros(40, int), np.zeros(5, int), ["piece"])

    def last_step(path):  # of the last note-on, at 4 steps per beat
        midi_file = mido.MidiFile(str(path))
        ends = [sum(m.time for m in track[:i + 1]) for track in midi_file.tracks
                for i, m in enumerate(track) if m.type == "note_on" and m.velocity > 0]
        return max(ends) * 4 // midi_file.ticks_per_beat

    longer = actions.sample_run(run, tmp_path / "long", n=3, seed=0, data=data, length=48,
                            threshold=0.1)
    short = actions.sample_run(run, tmp_path / "short", n=3, seed=0, data=data, threshold=0.1)
    assert max(last_step(p) for p in longer[:-1]) >= 16 > max(last_step(p) for p in short[:-1])
    assert np.load(longer[-1])["means"].shape == (3, 48, 2 * 78)
    with pytest.raises(ConfigError, match="prior only"):
        actions.sample_run(run, tmp_path / "x", from_test=0, data=data, length=48)


def test_sample_run_of_a_conditional_music_model_names_files_by_label(tmp_path):
    shape = (16, 2 * 78)
    rng = np.random.RandomState(0)
    windows = (rng.rand(40, *shape) < 0.15).astype(np.float32)
    labels = np.arange(40) % 2
    config = ModelConfig(input_shape=shape, latent=3, hidden=[16], activation="relu",
                         conditional=True, label_names=["jazz", "rock"])
    model = train_tiny(config, windows, steps=5, labels=labels.astype(np.int32))
    run = tmp_path / "run"
    _run_folder(run, config, dataset="midi", window=16)
    save_model(model, run)
    data = Data(windows, windows[:5], shape, labels, labels[:5], ["jazz", "rock"])
    paths = actions.sample_run(run, tmp_path / "all", n=5, seed=0, data=data)
    assert [p.name for p in paths] == ["jazz_000.mid", "jazz_001.mid", "jazz_002.mid",
                                       "rock_000.mid", "rock_001.mid", "samples.npz"]
    saved = np.load(paths[-1])
    assert saved["labels"].tolist() == [0, 1, 0, 1, 0]
    assert saved["label_names"].tolist() == ["jazz", "rock"]
    np.testing.assert_allclose(saved["means"][1], gen.decode(model, saved["z"][1:2],
                                                             labels=1)[0], atol=1e-6)
    paths = actions.sample_run(run, tmp_path / "rock", n=3, seed=0, data=data, label="rock")
    assert [p.name for p in paths] == ["rock_000.mid", "rock_001.mid", "rock_002.mid",
                                       "samples.npz"]
    with pytest.raises(ConfigError, match="unknown label 'disco'; the model knows jazz, rock"):
        actions.sample_run(run, tmp_path / "x", label="disco", data=data)
    assert not (tmp_path / "x").exists()
