"""Generation from a user's own MIDI files: ``piece_window``, ``vary_latents`` and
``chainer-vae sample --interpolate A.mid B.mid / --vary X.mid / --bars N``."""
from __future__ import annotations

import numpy as np
import pytest

import chainer_vae  # noqa: F401  (before chainer)
from chainer_vae import cli
from chainer_vae.config import DataConfig, ModelConfig, RunConfig
from chainer_vae.data.midi import piece_window
from chainer_vae.errors import ConfigError
from chainer_vae.inference import attributes, sampling
from chainer_vae.model import build_model
from chainer_vae.runs import load_run, save_model

from midi.attributes import ATTRIBUTES
from midi_factories import conductor, midi_file, note_track, save

BEAT = 480  # ticks per quarter note of the factories' files


def _piece(path, notes):
    """A MIDI file of (pitch, first beat, beats) notes."""
    played = [(pitch, BEAT * first, BEAT * (first + beats)) for pitch, first, beats in notes]
    return save(midi_file(conductor(), note_track(played)), path)


def _config(dataset):
    return DataConfig(dataset=dataset, steps_per_beat=2, low=48, high=72)


@pytest.fixture()
def late_start(tmp_path):
    """A bar of silence, then C4 on beat 5 and E4 on beat 6 (one beat each), then a
    chord C3 + G3 held from beat 8 to beat 12."""
    return _piece(tmp_path / "late.mid", [(60, 5, 1), (64, 6, 1), (48, 8, 4), (55, 8, 4)])


def test_a_window_starts_at_the_first_bar_with_a_note_note_by_note(late_start):
    window = piece_window(late_start, _config("midi"), 8)  # two steps a beat: beats 4-7
    assert window.shape == (8, 48) and window.dtype == np.float32
    play, onset = window[:, :24].astype(bool), window[:, 24:].astype(bool)
    expected_play = np.zeros((8, 24), bool)
    expected_play[2:4, 60 - 48] = expected_play[4:6, 64 - 48] = True
    np.testing.assert_array_equal(play, expected_play)
    assert sorted(zip(*np.nonzero(onset))) == [(2, 12), (4, 16)]
    # the polyphonic benchmarks' layout: play only
    np.testing.assert_array_equal(piece_window(late_start, _config("jsb"), 8), expected_play)


def test_a_window_past_the_end_or_without_notes_names_the_file(late_start, tmp_path, capsys):
    with pytest.raises(ConfigError, match="late.mid: 16 steps from its first note, shorter "
                                          "than the model's window of 20 steps"):
        piece_window(late_start, _config("midi"), 20)
    high = _piece(tmp_path / "high.mid", [(100, 0, 4)])
    with pytest.raises(ConfigError, match="high.mid: no note within MIDI pitches 48-71"):
        piece_window(high, _config("midi"), 4)
    both = _piece(tmp_path / "both.mid", [(100, 0, 4), (50, 0, 4)])
    assert piece_window(both, _config("midi"), 8)[:, 2].sum() == 8
    assert "both.mid: 1 notes outside MIDI pitches 48-71 left out" in capsys.readouterr().err


def test_variations_lie_at_the_distance_asked_in_spread_directions():
    z = np.arange(8, dtype=np.float32)
    points = sampling.vary_latents(z, 500, 2.5, seed=3)
    assert points.shape == (500, 8) and points.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(points - z, axis=1), 2.5, rtol=1e-5)
    # uniform on the sphere: the mean direction is near 0 (each coordinate ~ N(0, 1/(8*500)))
    assert np.abs((points - z).mean(axis=0) / 2.5).max() < 0.1
    np.testing.assert_array_equal(points, sampling.vary_latents(z, 500, 2.5, seed=3))
    np.testing.assert_array_equal(sampling.vary_latents(z, 2, 0.0), np.stack([z, z]))
    with pytest.raises(ConfigError, match="at least 0"):
        sampling.vary_latents(z, 2, -1.0)


@pytest.fixture(scope="module")
def songs_run(tmp_path_factory):
    """An LSTM VAE trained briefly on two labels of 32-beat pieces (16-step windows)."""
    root = tmp_path_factory.mktemp("songs")
    for label, pitch in (("low", 50), ("high", 67)):
        (root / "songs" / label).mkdir(parents=True)
        for piece in range(3):
            _piece(root / "songs" / label / "{}.mid".format(piece),
                   [(pitch + beat % 3, beat, 1) for beat in range(32)])
    run = root / "run"
    assert cli.main(["train", "--dataset", "midi", "--data-dir", str(root / "songs"),
                     "--arch", "lstm", "--window", "16", "--hidden", "16", "--latent", "3",
                     "--epochs", "2", "--out", str(run), "--no-progress"]) == 0
    return run, root / "songs"


def test_interpolation_between_two_midi_files(songs_run, tmp_path):
    run, songs = songs_run
    a, b = songs / "low" / "0.mid", songs / "high" / "1.mid"
    out = tmp_path / "walk"
    assert cli.main(["sample", str(run), "--interpolate", str(a), str(b), "--steps", "3",
                     "--out", str(out)]) == 0
    assert sorted(p.name for p in out.glob("*.mid")) == [
        "{}_{:03d}.mid".format(method, step) for method in ("linear", "slerp")
        for step in range(3)]
    saved = np.load(out / "samples.npz")
    assert saved["means"].shape == (2, 3, 16, 2 * 78)
    model = load_run(run, with_data=False).model
    config = RunConfig.load(run).data
    ends = sampling.encode(model, np.stack([piece_window(a, config, 16),
                                            piece_window(b, config, 16)]))
    np.testing.assert_allclose(saved["z"][:, [0, -1]], np.stack([ends, ends]), atol=1e-5)


def test_variations_of_a_midi_file(songs_run, tmp_path):
    run, songs = songs_run
    out = tmp_path / "vary"
    assert cli.main(["sample", str(run), "--vary", str(songs / "low" / "2.mid"), "--n", "3",
                     "--distance", "2", "--out", str(out), "--seed", "1"]) == 0
    assert sorted(p.name for p in out.glob("*.mid")) == [
        "original_000.mid", "reconstruction_000.mid", "variation_000.mid",
        "variation_001.mid", "variation_002.mid"]
    assert (out / "variation_002.png").is_file()
    z = np.load(out / "samples.npz")["z"]
    np.testing.assert_allclose(np.linalg.norm(z[1:] - z[0], axis=1), 2.0, rtol=1e-5)


def test_prior_samples_of_whole_bars(songs_run, tmp_path):
    run, _ = songs_run
    out = tmp_path / "long"
    assert cli.main(["sample", str(run), "--bars", "3", "--n", "2", "--out", str(out)]) == 0
    assert np.load(out / "samples.npz")["means"].shape == (2, 3 * 16, 2 * 78)


def test_attribute_vectors_move_prior_samples_and_a_users_piece(songs_run, tmp_path, capsys):
    run, songs = songs_run
    out = tmp_path / "attr"
    assert "compute them with: chainer-vae attributes" in _error(
        capsys, ["sample", str(run), "--attribute", "mean_pitch=1", "--out", str(out)])
    assert cli.main(["attributes", str(run), "--no-progress"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in table[1:6]] == list(ATTRIBUTES)
    low, high = (float(v) for v in table[2].split()[1:3])  # mean_pitch: the two labels
    assert low < 55 < 65 < high
    vector = attributes.load(run).vectors["mean_pitch"]
    assert cli.main(["sample", str(run), "--n", "3", "--seed", "2", "--attribute",
                     "mean_pitch=+1.5", "--out", str(out)]) == 0
    plain = tmp_path / "plain"
    assert cli.main(["sample", str(run), "--n", "3", "--seed", "2", "--out", str(plain)]) == 0
    moved, z = (np.load(folder / "samples.npz")["z"] for folder in (out, plain))
    np.testing.assert_allclose(moved, z + 1.5 * vector, atol=1e-6)
    piece = tmp_path / "piece"
    assert cli.main(["sample", str(run), "--vary", str(songs / "low" / "0.mid"), "--n", "1",
                     "--attribute", "pitch_range=-1", "--attribute", "density=1", "--out",
                     str(piece)]) == 0
    assert sorted(p.name for p in piece.glob("*.mid")) == [
        "moved_000.mid", "original_000.mid", "reconstruction_000.mid", "variation_000.mid"]
    found = attributes.load(run)
    z = np.load(piece / "samples.npz")["z"]
    np.testing.assert_allclose(z[1], z[0] - found.vectors["pitch_range"]
                               + found.vectors["note_density"], atol=1e-5)


def test_bad_attributes_temperatures_and_lengths_exit_2(songs_run, tmp_path, capsys):
    run, _ = songs_run
    out = tmp_path / "none"
    assert "unknown attribute 'loudness'; known: note_density, mean_pitch" in _error(
        capsys, ["sample", str(run), "--attribute", "loudness=1", "--out", str(out)])
    assert "expected NAME=AMOUNT" in _error(
        capsys, ["sample", str(run), "--attribute", "mean_pitch", "--out", str(out)])
    for bad in ("0", "-1"):
        assert "--temperature" in _error(
            capsys, ["sample", str(run), "--temperature", bad, "--out", str(out)])
    assert not out.exists()


def test_bars_for_a_model_that_cannot_run_longer_exit_2(tmp_path, capsys):
    root = tmp_path / "songs"
    (root / "a").mkdir(parents=True)
    for piece in range(2):
        _piece(root / "a" / "{}.mid".format(piece), [(60 + beat % 5, beat, 1)
                                                     for beat in range(32)])
    run = tmp_path / "run"
    assert cli.main(["train", "--dataset", "midi", "--data-dir", str(root), "--window", "16",
                     "--hidden", "8", "--latent", "2", "--epochs", "1", "--out", str(run),
                     "--no-progress"]) == 0
    assert "only a model with an lstm encoder" in _error(
        capsys, ["sample", str(run), "--bars", "8", "--out", str(tmp_path / "long")])


def _error(capsys, argv):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    return err


def test_files_that_do_not_fit_the_model_exit_2_with_one_line(songs_run, tmp_path, capsys):
    run, songs = songs_run
    short = _piece(tmp_path / "short.mid", [(60, 0, 2)])
    out = tmp_path / "none"
    assert "short.mid: 8 steps from its first note, shorter than the model's window of 16" in (
        _error(capsys, ["sample", str(run), "--vary", short, "--out", str(out)]))
    assert "neither a test example's index nor a MIDI file" in _error(
        capsys, ["sample", str(run), "--vary", str(tmp_path / "gone.mid"), "--out", str(out)])
    assert "argument --length: not allowed with argument --bars" in _error(
        capsys, ["sample", str(run), "--bars", "2", "--length", "9", "--out", str(out)])
    assert "apply to samples from the prior only" in _error(
        capsys, ["sample", str(run), "--bars", "2", "--vary", "0", "--out", str(out)])
    assert not out.exists()


def test_a_midi_file_needs_a_music_run_and_a_conditional_one_its_label(tmp_path, capsys):
    piece = _piece(tmp_path / "piece.mid", [(60, 0, 8)])
    digits = tmp_path / "digits"
    config = RunConfig(model=ModelConfig(input_shape=(784,), latent=2, hidden=[8]))
    digits.mkdir()
    config.save(digits)
    save_model(build_model(config.model), digits)
    assert "piece.mid: a MIDI file, but mnist models images" in _error(
        capsys, ["sample", str(digits), "--vary", piece, "--out", str(tmp_path / "o")])
    assert "--wav renders music" in _error(
        capsys, ["sample", str(digits), "--wav", "--out", str(tmp_path / "o")])
    labelled = tmp_path / "labelled"
    config = RunConfig(model=ModelConfig(input_shape=(16, 156), latent=2, hidden=[8],
                                         conditional=True, label_names=["jazz", "rock"]))
    config.data.dataset = "midi"
    labelled.mkdir()
    config.save(labelled)
    save_model(build_model(config.model), labelled)
    assert "a conditional model needs the file's --label (it knows jazz, rock)" in _error(
        capsys, ["sample", str(labelled), "--vary", piece, "--out", str(tmp_path / "o")])
    assert cli.main(["sample", str(labelled), "--vary", piece, "--label", "rock", "--n", "2",
                     "--out", str(tmp_path / "o")]) == 0
    assert np.load(tmp_path / "o" / "samples.npz")["labels"].tolist() == [1, 1, 1]


def test_wav_beside_each_midi_file_by_fluidsynth_or_the_built_in_synthesizer(
        songs_run, tmp_path, monkeypatch):
    from midi_factories import install_fake

    run, songs = songs_run
    font = tmp_path / "gm.sf2"
    font.write_bytes(b"sfbk")
    monkeypatch.setenv("MIDI_SOUNDFONT", str(font))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no fluidsynth anywhere
    assert cli.main(["sample", str(run), "--n", "2", "--wav", "--out",
                     str(tmp_path / "built_in")]) == 0
    assert sorted(p.name for p in (tmp_path / "built_in").glob("*.wav")) == [
        "sample_000.wav", "sample_001.wav"]
    install_fake(tmp_path, monkeypatch)
    out = tmp_path / "heard"
    assert cli.main(["sample", str(run), "--vary", str(songs / "low" / "0.mid"), "--n", "2",
                     "--wav", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.glob("*.wav")) == [
        "original_000.wav", "reconstruction_000.wav", "variation_000.wav", "variation_001.wav"]
    assert (out / "variation_001.wav").read_bytes().startswith(b"RIFF")
