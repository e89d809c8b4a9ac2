"""The polyphonic benchmarks as a data set (``chainer_vae.data.polyphonic``) and their
whole-piece scoring (``evaluate --whole``), on tiny synthetic ``.mat`` files."""
from __future__ import annotations

import json

import numpy as np
import pytest

import chainer_vae  # noqa: F401  (before chainer)
import chainer

from chainer_vae import cli
from chainer_vae.config import DataConfig, ModelConfig, RunConfig
from chainer_vae.data import default_data_config, load_data, polyphonic
from chainer_vae.errors import ConfigError, DataError
from chainer_vae.inference import evaluate
from chainer_vae.model import at_length, build_model
from chainer_vae.runs import save_model
from midi_factories import LENGTHS, mat_cells, write_mat
from tiny_models import randomised

@pytest.fixture()
def tiny_root(tmp_path):
    """A data root whose polyphonic/JSB_Chorales.mat holds a few tiny pieces."""
    write_mat(tmp_path / "polyphonic" / "JSB_Chorales.mat")
    return tmp_path


def test_load_pieces_reads_the_three_splits(tiny_root):
    splits = polyphonic.load_pieces(tiny_root / "polyphonic" / "JSB_Chorales.mat")
    assert [len(splits[s]) for s in ("train", "valid", "test")] == [4, 2, 3]
    assert [len(r) for r in splits["test"]] == [7, 13, 5]
    for roll in splits["train"]:
        assert roll.dtype == np.float32 and roll.shape[1] == 88
        assert (roll.sum(axis=1) == 4).all()


def test_load_pieces_names_the_file_and_the_problem(tmp_path):
    import scipy.io

    bad = tmp_path / "bad.mat"
    scipy.io.savemat(str(bad), {key: mat_cells([np.zeros((5, 12), np.uint8)])
                                for key in LENGTHS})
    with pytest.raises(DataError, match=r"bad.mat: traindata\[0\] has shape \(5, 12\)"):
        polyphonic.load_pieces(bad)
    with pytest.raises(DataError, match="missing.mat: no such file"):
        polyphonic.load_pieces(tmp_path / "missing.mat")
    (tmp_path / "text.mat").write_text("not a mat file")
    with pytest.raises(DataError, match="text.mat"):
        polyphonic.load_pieces(tmp_path / "text.mat")


def test_the_file_comes_from_the_data_root_or_the_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("CHAINER_VAE_DATA", str(tmp_path))
    assert polyphonic.mat_path("nottingham") == tmp_path / "polyphonic" / "Nottingham.mat"
    assert polyphonic.mat_path("jsb", tmp_path / "x") == tmp_path / "x" / "JSB_Chorales.mat"
    assert polyphonic.mat_path("jsb", tmp_path / "my.mat") == tmp_path / "my.mat"
    monkeypatch.delenv("CHAINER_VAE_DATA")
    with pytest.raises(DataError, match="--data-dir"):
        polyphonic.mat_path("musedata")


def test_windows_cover_each_piece_and_pad_with_silence():
    rng = np.random.RandomState(1)
    pieces = [rng.randint(0, 2, (n, 88)).astype(np.float32) for n in (37, 16, 3)]
    x = polyphonic.windows(pieces, 16)
    assert x.shape == (3 + 1 + 1, 16, 88)
    np.testing.assert_array_equal(np.concatenate(x[:3])[:37], pieces[0])
    assert (np.concatenate(x[:3])[37:] == 0).all()
    np.testing.assert_array_equal(x[4][:3], pieces[2])
    overlapping = polyphonic.windows([pieces[0]], 16, hop=8)
    assert len(overlapping) == 4  # starts 0, 8, 16, then 24 reaches the end
    np.testing.assert_array_equal(overlapping[-1][:13], pieces[0][24:])
    with pytest.raises(DataError):
        polyphonic.windows(pieces, 0)


def test_transposed_adds_moved_copies_that_stay_on_the_keyboard():
    low = np.zeros((4, 88), np.float32)
    low[:, 1] = 1
    high = np.zeros((4, 88), np.float32)
    high[:, 87] = 1
    out = polyphonic.transposed([low, high], [-2, 1, 0])
    assert len(out) == 2 + 1 + 1  # low cannot go down 2, high cannot go up 1
    assert out[2][0, 85] == 1 and out[3][0, 2] == 1


def test_load_data_gives_windows_and_whole_pieces(tiny_root, monkeypatch):
    monkeypatch.setenv("CHAINER_VAE_DATA", str(tiny_root))
    config = default_data_config("jsb")
    assert (config.window, config.low, config.high, config.steps_per_beat) == (16, 21, 109, 1)
    config.window, config.hop, config.transpose = 8, 4, [1]
    data = load_data(config)
    assert data.input_shape == (8, 88)
    assert len(data.train) > 2 * len(polyphonic.windows(
        polyphonic.load_pieces(tiny_root / "polyphonic" / "JSB_Chorales.mat")["train"], 8, 4)) - 1
    assert [len(piece) for piece in data.sequences["test"]] == [7, 13, 5]
    assert len(data.valid) == 2 + 1  # 10 and 6 steps in windows of 8
    with pytest.raises(ConfigError, match="unknown dataset"):
        default_data_config("bach")


def _run_with(model, config, run_dir):
    run_dir.mkdir(parents=True)
    config.save(run_dir)
    save_model(model, run_dir)
    return run_dir


def test_whole_pieces_are_each_scored_at_their_own_length(tiny_root, tmp_path):
    """With q(z|x) = p(z) and a decoder that ignores z, every importance weight is p(x)
    itself: the figures must equal the exact log p(x | z = 0) of each piece at its own
    length, totalled over the pieces and divided by their steps."""
    model_config = ModelConfig(encoder="lstm", decoder="lstm", input_shape=(4, 88), latent=2,
                               hidden=[8], autoregressive=True, step_made=6)
    model = randomised(build_model(model_config), 3, scale=0.5)
    for head in (model.encoder.mu, model.encoder.ln_sigma):
        head.W.array[...] = 0
        head.b.array[...] = 0
    for start in (model.decoder.initial_h, model.decoder.initial_c):
        start.W.array[...] = 0
    for w in model.decoder.lstm.ws[0][:4]:  # input weights; z is the first input
        w.array[:, :model_config.latent] = 0
    data = DataConfig(dataset="jsb", data_dir=str(tiny_root / "polyphonic"), window=4)
    run = _run_with(model, RunConfig(data=data, model=model_config), tmp_path / "run")
    result = evaluate(run, iw_samples=3, batch_size=2, whole=True, progress=False)
    pieces = polyphonic.load_pieces(tiny_root / "polyphonic" / "JSB_Chorales.mat")["test"]
    exact = []
    for piece in pieces:
        decoder = at_length(model, model_config, len(piece)).decoder
        with chainer.no_backprop_mode():
            exact.append(float(decoder(np.zeros((1, 2), np.float32),
                                       piece[None]).log_prob(piece[None]).array[0]))
    assert (result.n, result.steps) == (3, 25)
    assert result.log_likelihood_per_step == pytest.approx(sum(exact) / 25, rel=1e-5)
    assert result.elbo_per_step == pytest.approx(sum(exact) / 25, rel=1e-5)
    valid = evaluate(run, iw_samples=3, whole=True, split="valid", progress=False)
    assert (valid.split, valid.n, valid.steps) == ("valid", 2, 16)
    windows = evaluate(run, iw_samples=3, progress=False)  # windows of 4, padded
    assert windows.n == 2 + 4 + 2 and windows.steps is None


def test_whole_scoring_needs_a_sequence_data_set(toy_mnist, tmp_path, capsys):
    run = tmp_path / "mnist"
    assert cli.main(["train", "--data-dir", str(toy_mnist), "--epochs", "1", "--hidden", "8",
                     "--out", str(run), "--no-progress"]) == 0
    capsys.readouterr()
    assert cli.main(["evaluate", str(run), "--whole", "--no-progress"]) == 2
    assert "sequence data set" in capsys.readouterr().err


def test_train_on_a_benchmark_selects_on_validation_and_scores_whole_pieces(tiny_root,
                                                                            tmp_path, capsys):
    run = tmp_path / "jsb"
    code = cli.main(["train", "--dataset", "jsb", "--data-dir", str(tiny_root / "polyphonic"),
                     "--arch", "lstm", "--autoregressive", "--hidden", "8", "--latent", "2",
                     "--window", "4", "--epochs", "2", "--batch-size", "4", "--select", "valid",
                     "--out", str(run), "--no-progress"])
    assert code == 0
    log = json.loads((run / "log").read_text())
    assert [entry["best_epoch"] for entry in log][-1] in (1, 2)
    capsys.readouterr()
    assert cli.main(["evaluate", str(run), "--whole", "--iw-samples", "4", "--json",
                     "--no-progress"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["steps"] == 25 and result["n"] == 3
    assert result["elbo_per_step"] <= result["log_likelihood_per_step"] + 0.1
    assert result["log_likelihood_per_step"] < 0
    assert cli.main(["sample", str(run), "--out", str(tmp_path / "s"), "--n", "2",
                     "--length", "12"]) == 0
    written = sorted(path.name for path in (tmp_path / "s").iterdir())
    assert written == ["sample_000.mid", "sample_000.png", "sample_001.mid", "sample_001.png",
                       "samples.npz"]


def test_prior_samples_need_the_model_only_not_its_data(tiny_root, tmp_path, monkeypatch,
                                                       capsys):
    run = tmp_path / "jsb"
    assert cli.main(["train", "--dataset", "jsb", "--data-dir", str(tiny_root / "polyphonic"),
                     "--arch", "lstm", "--hidden", "8", "--latent", "2", "--window", "4",
                     "--epochs", "1", "--out", str(run), "--no-progress"]) == 0
    (tiny_root / "polyphonic" / "JSB_Chorales.mat").rename(tmp_path / "elsewhere.mat")
    monkeypatch.delenv("CHAINER_VAE_DATA", raising=False)
    capsys.readouterr()
    assert cli.main(["sample", str(run), "--out", str(tmp_path / "s"), "--n", "2"]) == 0
    assert np.load(tmp_path / "s" / "samples.npz")["means"].shape == (2, 4, 88)
    assert cli.main(["sample", str(run), "--out", str(tmp_path / "r"), "--from-test", "0"]) == 2
    assert "JSB_Chorales.mat" in capsys.readouterr().err  # a reconstruction needs the data


def test_a_hierarchical_model_scores_whole_pieces_padded_to_whole_bars(tiny_root, tmp_path,
                                                                       capsys):
    """Pieces of 7, 13 and 5 steps are padded to bars of 4 with silent steps; the figures
    per step divide by the 25 real steps."""
    run = tmp_path / "hier"
    assert cli.main(["train", "--dataset", "jsb", "--data-dir", str(tiny_root / "polyphonic"),
                     "--arch", "lstm", "--decoder", "hier", "--autoregressive", "--hidden", "8",
                     "4", "--latent", "2", "--window", "8", "--epochs", "1", "--free-bits", "2",
                     "--out", str(run), "--no-progress"]) == 0
    config = json.loads((run / "config.json").read_text())
    assert (config["model"]["bar"], config["train"]["free_nats"]) == (4, 2.0)  # 4 beats of 1 step
    capsys.readouterr()
    assert cli.main(["evaluate", str(run), "--whole", "--iw-samples", "3", "--json",
                     "--no-progress"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["n"], result["steps"]) == (3, 25)
    assert result["log_likelihood_per_step"] == pytest.approx(result["log_likelihood"] * 3 / 25)
    assert cli.main(["train", "--dataset", "jsb", "--data-dir", str(tiny_root / "polyphonic"),
                     "--arch", "lstm", "--decoder", "hier", "--window", "6", "--epochs", "1",
                     "--out", str(tmp_path / "bad"), "--no-progress"]) == 2
    assert "whole number of bars" in capsys.readouterr().err
    assert cli.main(["train", "--dataset", "jsb", "--data-dir", str(tiny_root / "polyphonic"),
                     "--arch", "lstm", "--decoder", "hier", "--hidden", "4", "--latent", "2",
                     "--epochs", "1", "--out", str(tmp_path / "four"), "--no-progress"]) == 0
    four = json.loads((tmp_path / "four" / "config.json").read_text())
    assert four["data"]["window"] == 16  # 4 bars of 4 beats by default, not the data set's


def test_a_version_7_3_file_is_refused_with_how_to_convert(tmp_path):
    v73 = tmp_path / "v73.mat"  # an HDF5 file behind MATLAB's 128-byte v7.3 header
    v73.write_bytes(b"MATLAB 7.3 MAT-file, Platform: GLNXA64".ljust(116, b" ") + b"\x00" * 8
                    + b"\x00\x02IM" + b"\x89HDF\r\n\x1a\n" + b"\x00" * 200)
    with pytest.raises(DataError, match=r"v73.mat: a MATLAB v7.3 \(HDF5\) file.*-v7"):
        polyphonic.load_pieces(v73)


@pytest.mark.parametrize("values, problem", [
    (np.ones((4, 88)) * (1 + 1j), "complex128 values"),
    (np.full((4, 88), np.nan), "not a binary piano roll"),
    (np.full((4, 88), 0.5), "not a binary piano roll")])
def test_complex_nan_and_grey_rolls_are_refused(tmp_path, values, problem):
    import scipy.io

    bad = tmp_path / "bad.mat"
    scipy.io.savemat(str(bad), {key: mat_cells([values]) for key in LENGTHS})
    with pytest.raises(DataError, match=r"bad.mat: traindata\[0\] .*" + problem):
        polyphonic.load_pieces(bad)


def test_any_damage_to_the_file_is_one_typed_error(tmp_path):
    from hypothesis import HealthCheck, given, settings, strategies as st

    good = write_mat(tmp_path / "good.mat").read_bytes()

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
              HealthCheck.function_scoped_fixture])
    @given(cut=st.integers(0, len(good)), flips=st.lists(
        st.tuples(st.integers(0, len(good) - 1), st.integers(1, 255)), max_size=4))
    def damaged(cut, flips):
        data = bytearray(good)
        for position, mask in flips:
            data[position] ^= mask
        path = tmp_path / "damaged.mat"
        path.write_bytes(bytes(data[:cut]) if cut < len(good) else bytes(data))
        try:
            polyphonic.load_pieces(path)
        except DataError as error:
            assert str(error).startswith(str(path))

    damaged()
