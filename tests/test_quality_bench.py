"""benchmarks/quality.py and benchmarks/jsb.py on tiny synthetic data: the JSB loader and
windowing, the per-time-step bound arithmetic, the run-log summary, and one end-to-end
``jsb`` run of a tiny model for one epoch (seconds, no real training)."""
from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

import chainer_vae  # noqa: F401  (before chainer)

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name):
    spec = importlib.util.spec_from_file_location("_bench_" + name, BENCH / (name + ".py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    sys.path.insert(0, str(BENCH))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCH))
    return module


jsb = _load("jsb")
quality = _load("quality")


def _roll(rng, steps):
    roll = np.zeros((steps, 88), np.uint8)
    for t in range(steps):
        roll[t, rng.choice(np.arange(30, 70), size=4, replace=False)] = 1
    return roll


def _cells(rolls):
    cells = np.empty((1, len(rolls)), dtype=object)
    for i, roll in enumerate(rolls):
        cells[0, i] = roll
    return cells


@pytest.fixture()
def tiny_mat(tmp_path):
    """A JSB_Chorales.mat look-alike: cell arrays of binary (T, 88) uint8 rolls."""
    import scipy.io

    rng = np.random.RandomState(0)
    lengths = {"traindata": [20, 9, 17, 12], "validdata": [10], "testdata": [7, 13, 5]}
    path = tmp_path / "polyphonic" / "JSB_Chorales.mat"
    path.parent.mkdir()
    scipy.io.savemat(str(path), {key: _cells([_roll(rng, n) for n in ns])
                                 for key, ns in lengths.items()})
    return path


def test_load_jsb_reads_the_three_splits(tiny_mat):
    splits = jsb.load_jsb(tiny_mat)
    assert [len(splits[s]) for s in ("train", "valid", "test")] == [4, 1, 3]
    assert [len(r) for r in splits["test"]] == [7, 13, 5]
    for roll in splits["train"]:
        assert roll.dtype == np.float32 and roll.shape[1] == 88
        assert set(np.unique(roll)) <= {0.0, 1.0}
        assert (roll.sum(axis=1) == 4).all()


def test_load_jsb_rejects_other_layouts(tmp_path):
    import scipy.io

    path = tmp_path / "bad.mat"
    scipy.io.savemat(str(path), {"traindata": _cells([np.zeros((5, 12), np.uint8)]),
                                 "validdata": _cells([np.zeros((5, 12), np.uint8)]),
                                 "testdata": _cells([np.zeros((5, 12), np.uint8)])})
    with pytest.raises(ValueError, match=r"expected \(T, 88\)"):
        jsb.load_jsb(path)
    with pytest.raises(FileNotFoundError):
        jsb.load_jsb(tmp_path / "missing.mat")


def test_default_path_follows_the_data_root(monkeypatch, tmp_path):
    monkeypatch.setenv("CHAINER_VAE_DATA", str(tmp_path))
    assert jsb.default_path() == tmp_path / "polyphonic" / "JSB_Chorales.mat"


def test_windows_partition_each_sequence_and_pad_with_silence():
    rng = np.random.RandomState(1)
    seqs = [rng.randint(0, 2, (37, 88)).astype(np.float32),
            rng.randint(0, 2, (16, 88)).astype(np.float32),
            rng.randint(0, 2, (3, 88)).astype(np.float32)]
    wins = jsb.windows(seqs, 16)
    assert wins.x.shape == (3 + 1 + 1, 16, 88) and wins.x.dtype == np.float32
    assert wins.real.tolist() == [16, 16, 5, 16, 3]
    assert wins.sequence.tolist() == [0, 0, 0, 1, 2]
    assert wins.steps == 37 + 16 + 3
    for index, seq in enumerate(seqs):  # the real steps, in order, are the sequence
        mine = wins.sequence == index
        real = np.concatenate([x[:n] for x, n in zip(wins.x[mine], wins.real[mine])])
        np.testing.assert_array_equal(real, seq)
        pads = [x[n:] for x, n in zip(wins.x[mine], wins.real[mine])]
        assert all((pad == 0).all() for pad in pads)  # padding is silent


def test_overlapping_training_windows_reach_the_end():
    seq = np.arange(37 * 88, dtype=np.float32).reshape(37, 88)
    wins = jsb.windows([seq], 16, hop=8)
    assert wins.real.tolist() == [16, 16, 16, 13]
    np.testing.assert_array_equal(wins.x[-1][:13], seq[24:])
    short = jsb.windows([seq[:5]], 16, hop=8)
    assert short.real.tolist() == [5]
    with pytest.raises(ValueError):
        jsb.windows([seq], 0)


def test_per_step_bound_is_total_over_real_steps():
    wins = jsb.Windows(x=np.zeros((5, 4, 88), np.float32),
                       real=np.array([4, 4, 1, 4, 2]), sequence=np.array([0, 0, 0, 1, 2]))
    log_lik = np.array([-10.0, -12.0, -5.0, -8.0, -3.0])
    bound = jsb.per_step_bound(log_lik, wins)
    assert bound["steps"] == 15 and bound["sequences"] == 3
    assert bound["total"] == pytest.approx(-38.0)
    assert bound["per_step"] == pytest.approx(-38.0 / 15)
    np.testing.assert_allclose(bound["sequence_totals"], [-27.0, -8.0, -3.0])
    np.testing.assert_array_equal(bound["sequence_steps"], [9, 4, 2])
    assert bound["mean_of_sequence_per_step"] == pytest.approx((-3.0 - 2.0 - 1.5) / 3)
    with pytest.raises(ValueError):
        jsb.per_step_bound(log_lik[:4], wins)


def test_padding_only_lowers_the_per_step_figure():
    """For a model with independent Bernoulli(p) keys, log p(x, pad) <= log p(x): the figure
    from padded windows is at most the exact per-step log-likelihood of the real steps."""
    rng = np.random.RandomState(2)
    p = np.clip(rng.rand(88), 0.05, 0.95)
    seqs = [(rng.rand(n, 88) < p).astype(np.float32) for n in (21, 9, 40)]

    def log_p(x):
        return (x * np.log(p) + (1 - x) * np.log1p(-p)).sum(axis=(-1, -2))

    wins = jsb.windows(seqs, 16)
    padded = jsb.per_step_bound(log_p(wins.x), wins)["per_step"]
    exact = sum(log_p(s) for s in seqs) / sum(len(s) for s in seqs)
    assert padded < exact


def test_log_summary_reads_last_and_best_epochs(tmp_path):
    entries = [{"epoch": 1, "validation/main/loss": 90.0, "main/loss": 95.0, "elapsed_time": 10},
               {"epoch": 2, "validation/main/loss": 85.0, "main/loss": 88.0, "elapsed_time": 20},
               {"epoch": 3, "validation/main/loss": 86.0, "main/loss": 87.0, "elapsed_time": 30}]
    (tmp_path / "log").write_text(json.dumps(entries))
    summary = quality.log_summary(quality.read_log(tmp_path))
    assert summary["epochs"] == 3 and summary["elapsed_s"] == 30
    assert summary["last_test_neg_elbo"] == 86.0 and summary["best_test_neg_elbo"] == 85.0
    assert summary["best_epoch"] == 2
    assert quality.log_summary(quality.read_log(tmp_path / "none")) == {}


def test_jsb_part_end_to_end_on_a_tiny_model(tiny_mat, tmp_path, capsys):
    result = quality.main(["jsb", "--data", str(tiny_mat), "--epochs", "1", "--window", "4",
                           "--latent", "2", "--hidden-size", "8", "--batch-size", "4",
                           "--iw-samples", "8", "--out", str(tmp_path / "out"), "--json"])
    assert result["epochs"] == 1 and result["test_sequences"] == 3
    assert result["test_steps"] == 7 + 13 + 5
    assert result["test_windows"] == 2 + 4 + 2
    bound = result["test_bound_per_step"]
    assert math.isfinite(bound) and bound < 0
    # the printed figure is the total over the real steps of the scored sequences
    assert result["test_log_likelihood_total"] / result["test_steps"] == pytest.approx(bound)
    written = json.loads((tmp_path / "out" / "quality_jsb.json").read_text())
    assert written["test_bound_per_step"] == pytest.approx(bound)
    assert written["published"]["SRNN"] == -4.74
    out = capsys.readouterr().out
    assert "| JSB Chorales |" in out and "nats per time step" in out
    assert (tmp_path / "out" / "jsb" / "model.npz").is_file()


def test_jsb_step_made_is_trained_saved_and_named(tiny_mat, tmp_path):
    from chainer_vae.config import RunConfig
    from chainer_vae.model import load_model

    result = quality.main(["jsb", "--data", str(tiny_mat), "--epochs", "1", "--window", "4",
                           "--latent", "2", "--hidden-size", "8", "--batch-size", "4",
                           "--step-made", "6", "--dropout", "0.25", "--iw-samples", "4",
                           "--out", str(tmp_path / "out")])
    assert "MADE of 6 hidden units, dropout 0.25" in result["model"]
    assert math.isfinite(result["test_bound_per_step"])
    run_dir = tmp_path / "out" / "jsb"
    config = RunConfig.from_dict(result["config"])
    assert (config.model.step_made, config.model.dropout) == (6, 0.25)
    assert load_model(run_dir, config.model).decoder.made.to_hidden.W.shape == (6, 88)


def test_time_limit_stops_at_an_epoch_end(tiny_mat, tmp_path):
    """--minutes 0 stops after the first epoch and config.json says so."""
    from chainer_vae.config import RunConfig

    result = quality.main(["jsb", "--data", str(tiny_mat), "--epochs", "5", "--minutes", "0",
                           "--window", "4", "--latent", "2", "--hidden-size", "8",
                           "--iw-samples", "2", "--out", str(tmp_path)])
    assert result["epochs"] == 1
    assert RunConfig.load(tmp_path / "jsb").train.epochs == 1


def test_jsb_scores_the_epoch_best_on_validation(tiny_mat, tmp_path):
    """--select valid (the default): the Evaluator reports on the validation windows and
    the parameters scored and saved are those of the epoch with the lowest validation loss."""
    # a learning rate far too high, so that the validation loss rises after epoch 1
    result = quality.main(["jsb", "--data", str(tiny_mat), "--epochs", "3", "--window", "4",
                           "--latent", "2", "--hidden-size", "8", "--batch-size", "4",
                           "--lr", "3.0", "--iw-samples", "2", "--out", str(tmp_path)])
    log = quality.read_log(tmp_path / "jsb")
    losses = [entry["validation/main/loss"] for entry in log]
    assert len(losses) == 3 and result["valid_windows"] == 3  # one chorale of 10 steps
    assert result["selected_epoch"] == 1 + int(np.argmin(losses)) < 3
    assert result["log_split"] == "validation"
    best = np.load(tmp_path / "jsb" / "best_model.npz")
    saved = np.load(tmp_path / "jsb" / "model.npz")
    shared = sorted(set(best.files) & set(saved.files))
    assert shared and all(np.array_equal(best[key], saved[key]) for key in shared)


def test_jsb_select_last_keeps_the_final_epoch(tiny_mat, tmp_path):
    result = quality.main(["jsb", "--data", str(tiny_mat), "--epochs", "2", "--window", "4",
                           "--latent", "2", "--hidden-size", "8", "--select", "last",
                           "--iw-samples", "2", "--out", str(tmp_path)])
    assert result["selected_epoch"] == 2 and result["log_split"] == "test"
    assert not (tmp_path / "jsb" / "best_model.npz").exists()


def test_minutes_alone_lifts_the_default_epoch_limit():
    """--minutes without --epochs: the time is the only limit; --epochs still wins."""
    timed = quality.parser().parse_args(["mnist", "--minutes", "30"])
    assert quality.epoch_limit(timed) == quality.UNLIMITED_EPOCHS
    assert quality.epoch_limit(quality.parser().parse_args(["mnist"])) == 50
    capped = quality.parser().parse_args(["jsb", "--minutes", "30", "--epochs", "7"])
    assert quality.epoch_limit(capped) == 7


def test_mnist_step_made_reaches_the_decoder():
    from chainer_vae.model import build_model

    config = quality.mnist_config(quality.parser().parse_args(["mnist", "--step-made", "40"]))
    assert config.model.step_made == 40
    decoder = build_model(config.model).decoder
    assert decoder.made.to_hidden.W.shape == (40, 784)
    assert quality.mnist_config(quality.parser().parse_args(["mnist"])).model.step_made == 0


def test_whole_and_by_length_group_sequences_without_cutting():
    seqs = [np.full((n, 88), i, np.float32) for i, n in enumerate([5, 3, 5, 2])]
    units = jsb.whole(seqs)
    assert units.x is None
    np.testing.assert_array_equal(units.real, [5, 3, 5, 2])
    np.testing.assert_array_equal(units.sequence, [0, 1, 2, 3])
    groups = list(jsb.by_length(seqs))
    assert [steps for steps, _, _ in groups] == [2, 3, 5]
    steps, indices, x = groups[2]
    np.testing.assert_array_equal(indices, [0, 2])
    assert x.shape == (2, 5, 88) and x[0].max() == 0 and x[1].min() == 2


def test_whole_sequences_are_scored_each_at_its_own_length():
    """With q(z|x) = p(z) and a decoder that ignores z, every importance weight is p(x)
    itself: the scores must equal log p(x | z = 0) of each sequence at its own length."""
    import chainer
    from chainer_vae.config import ModelConfig
    from chainer_vae.model import at_length, build_model
    from tiny_models import randomised

    config = ModelConfig(encoder="lstm", decoder="lstm", input_shape=(4, 88), latent=2,
                         hidden=[8], autoregressive=True, step_made=6, activation="tanh")
    model = randomised(build_model(config), 3, scale=0.5)
    for head in (model.encoder.mu, model.encoder.ln_sigma):
        head.W.array[...] = 0
        head.b.array[...] = 0
    for start in (model.decoder.initial_h, model.decoder.initial_c):
        start.W.array[...] = 0
    for w in model.decoder.lstm.ws[0][:4]:  # input weights; z is the first input
        w.array[:, :config.latent] = 0
    rng = np.random.RandomState(4)
    seqs = [(rng.rand(n, 88) < 0.05).astype(np.float32) for n in (4, 3, 6, 3)]
    log_lik, elbo = quality.score_sequences(model, config, seqs, iw_samples=3)
    for seq, score, bound in zip(seqs, log_lik, elbo):
        decoder = at_length(model, config, len(seq)).decoder
        with chainer.no_backprop_mode():
            exact = decoder(np.zeros((1, 2), np.float32), seq[None]).log_prob(seq[None])
        assert score == pytest.approx(float(exact.array[0]), rel=1e-5)
        assert bound == pytest.approx(score, rel=1e-5)
    assert len(set(np.round(log_lik, 3))) == 4  # four different sequences, four scores


def test_jsb_score_reproduces_the_runs_figure_and_scores_whole_chorales(tiny_mat, tmp_path):
    common = ["--iw-samples", "6", "--score", "windows"]
    trained = quality.main(["jsb", "--data", str(tiny_mat), "--epochs", "2", "--window", "4",
                            "--latent", "2", "--hidden-size", "8", "--batch-size", "4",
                            "--out", str(tmp_path)] + common)
    run_dir = str(tmp_path / "jsb")
    again = quality.main(["jsb-score", run_dir, "--out", str(tmp_path / "again")] + common)
    assert again["test_bound_per_step"] == trained["test_bound_per_step"]
    assert again["selected_epoch"] == trained["selected_epoch"]
    assert (tmp_path / "again" / "quality_jsb-score.json").is_file()
    whole = quality.main(["jsb-score", run_dir, "--iw-samples", "6",
                          "--out", str(tmp_path / "whole")])
    assert whole["scoring"] == "whole" and "whole chorales" in whole["markdown"]
    assert whole["test_steps"] == 7 + 13 + 5 and whole["test_sequences"] == 3
    assert math.isfinite(whole["test_bound_per_step"])
    assert whole["test_bound_per_step"] != trained["test_bound_per_step"]


def test_jsb_score_reads_a_run_stopped_by_hand(tiny_mat, tmp_path):
    """Killed during training: no model.npz yet and config.json still holds the epoch
    limit; the best parameters and the log say what was trained."""
    from chainer_vae.config import RunConfig

    quality.main(["jsb", "--data", str(tiny_mat), "--epochs", "2", "--window", "4",
                  "--latent", "2", "--hidden-size", "8", "--iw-samples", "2",
                  "--out", str(tmp_path)])
    run_dir = tmp_path / "jsb"
    (run_dir / "model.npz").unlink()
    config = RunConfig.load(run_dir)
    config.train.epochs = quality.UNLIMITED_EPOCHS
    config.save(run_dir)
    result = quality.main(["jsb-score", str(run_dir), "--iw-samples", "2",
                           "--out", str(tmp_path / "score")])
    assert result["epochs"] == 2 and result["selected_epoch"] in (1, 2)
    assert math.isfinite(result["test_bound_per_step"])


def test_bad_run_folder_is_one_line_and_exit_2(tmp_path, capsys):
    assert quality.cli(["jsb-score", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "missing" in err and "no such run folder" in err


def test_transposed_adds_moved_copies_that_stay_on_the_keyboard():
    low = np.zeros((3, 88), np.float32)
    low[0, 1] = low[2, 40] = 1  # a note one key above the bottom
    high = np.zeros((2, 88), np.float32)
    high[1, 86] = 1  # a note one key below the top
    out = jsb.transposed([low, high], [2, -1, 0])
    # +2 moves `low` (keys 3 and 42) but would push `high` off the top; -1 moves both
    assert len(out) == 2 + 1 + 2
    np.testing.assert_array_equal(out[0], low)
    np.testing.assert_array_equal(np.flatnonzero(out[2].any(axis=0)), [3, 42])
    np.testing.assert_array_equal(np.flatnonzero(out[3].any(axis=0)), [0, 39])
    np.testing.assert_array_equal(np.flatnonzero(out[4].any(axis=0)), [85])
    assert len(jsb.transposed([low], [-2])) == 1  # key 1 moved down 2 leaves the keyboard


def test_jsb_transpose_trains_on_the_moved_copies_and_says_so(tiny_mat, tmp_path):
    args = ["jsb", "--data", str(tiny_mat), "--epochs", "1", "--window", "4", "--latent", "2",
            "--hidden-size", "8", "--batch-size", "4", "--iw-samples", "4"]
    plain = quality.main(args + ["--out", str(tmp_path / "plain")])
    moved = quality.main(args + ["--transpose", "1", "-1", "--out", str(tmp_path / "moved")])
    splits = jsb.load_jsb(tiny_mat)
    expected = len(jsb.windows(jsb.transposed(splits["train"], [1, -1]), 4, hop=2).x)
    assert moved["train_windows"] == expected > plain["train_windows"]
    assert moved["config"]["data"]["transpose"] == [1, -1]
    assert "copies moved by +1, -1 semitones" in moved["markdown"]
    assert "moved by" not in plain["markdown"]
    assert moved["test_steps"] == plain["test_steps"]


TINY_JSB = ["--window", "4", "--latent", "2", "--hidden-size", "8", "--batch-size", "4",
            "--iw-samples", "4"]


def test_jsb_resume_continues_to_the_uninterrupted_result(tiny_mat, tmp_path):
    """Two epochs, then --resume to four: the same parameters, log, best epoch and
    figure as four epochs in one go (the snapshot holds the random state and the best
    validation loss so far)."""
    data = ["jsb", "--data", str(tiny_mat)] + TINY_JSB
    straight = quality.main(data + ["--epochs", "4", "--out", str(tmp_path / "straight")])
    quality.main(data + ["--epochs", "2", "--out", str(tmp_path / "split")])
    before = quality.read_log(tmp_path / "split" / "jsb")
    resumed = quality.main(["jsb", "--resume", "--epochs", "4", "--iw-samples", "4",
                            "--out", str(tmp_path / "split")])
    assert resumed["epochs"] == 4
    assert resumed["test_bound_per_step"] == pytest.approx(straight["test_bound_per_step"])
    assert resumed["selected_epoch"] == straight["selected_epoch"]
    logs = [quality.read_log(tmp_path / run / "jsb") for run in ("straight", "split")]
    assert [e["epoch"] for e in logs[1]] == [1, 2, 3, 4]
    assert logs[1][:2] == before  # kept from the snapshot (timings too), not trained again
    for one, other in zip(*logs):
        assert one["validation/main/loss"] == pytest.approx(other["validation/main/loss"])
    models = [np.load(tmp_path / run / "jsb" / "best_model.npz") for run in ("straight", "split")]
    for key in models[0].files:
        np.testing.assert_allclose(models[0][key], models[1][key], rtol=1e-6, atol=1e-7)
    assert "resumed" not in straight["markdown"]
    assert "learning rate 0.001, 4 epochs" in straight["markdown"]


def test_jsb_resume_with_a_new_learning_rate_records_it(tiny_mat, tmp_path):
    from chainer_vae.config import RunConfig

    out = str(tmp_path)
    quality.main(["jsb", "--data", str(tiny_mat), "--epochs", "1", "--lr", "2e-3",
                  "--transpose", "1", "--out", out] + TINY_JSB)
    first = quality.main(["jsb", "--resume", "--epochs", "2", "--lr", "5e-4",
                          "--iw-samples", "2", "--out", out])
    # the run's own data and model, whatever the options that would describe them say
    second = quality.main(["jsb", "--resume", "--minutes", "0", "--window", "8",
                           "--iw-samples", "2", "--out", out])
    assert first["train_windows"] == second["train_windows"]
    assert second["window"] == 4 and second["epochs"] == 3
    config = RunConfig.load(tmp_path / "jsb")
    assert config.train.lr == 5e-4 and config.train.epochs == 3
    assert [(r["epoch"], r["from_lr"], r["lr"]) for r in second["resumes"]] == [
        (1, 2e-3, 5e-4), (2, 5e-4, 5e-4)]
    assert ("learning rate 0.002, resumed after epoch 1 with learning rate 0.0005, resumed "
            "after epoch 2 with learning rate 0.0005, 3 epochs") in second["markdown"]
    rescored = quality.main(["jsb-score", str(tmp_path / "jsb"), "--iw-samples", "2"])
    assert "resumed after epoch 2" in rescored["markdown"]


def test_jsb_resume_errors_are_one_line(tiny_mat, tmp_path, capsys):
    assert quality.cli(["jsb", "--resume", "--minutes", "1", "--out", str(tmp_path)]) == 2
    assert "no snapshot to resume from" in capsys.readouterr().err
    quality.main(["jsb", "--data", str(tiny_mat), "--epochs", "2", "--out", str(tmp_path)]
                 + TINY_JSB)
    capsys.readouterr()
    assert quality.cli(["jsb", "--resume", "--epochs", "2", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "trained 2 epochs already" in err
    assert not (tmp_path / "jsb" / "resumes.json").exists()


def test_jsb_resume_keeps_the_runs_selection(tiny_mat, tmp_path):
    quality.main(["jsb", "--data", str(tiny_mat), "--epochs", "1", "--select", "last",
                  "--out", str(tmp_path)] + TINY_JSB)
    resumed = quality.main(["jsb", "--resume", "--epochs", "2", "--iw-samples", "2",
                            "--out", str(tmp_path)])
    assert resumed["selected_epoch"] == 2 and resumed["log_split"] == "test"
    assert not (tmp_path / "jsb" / "best_model.npz").exists()


def test_jsb_start_from_begins_with_another_runs_parameters(tiny_mat, tmp_path):
    """A run started from another begins with its selected parameters and model: with a
    learning rate too small to move them, it scores what the source run scored."""
    data = ["jsb", "--data", str(tiny_mat)]
    source = quality.main(data + TINY_JSB + ["--epochs", "2", "--out", str(tmp_path / "a")])
    fresh = quality.main(data + TINY_JSB + ["--epochs", "1", "--lr", "1e-12",
                                            "--out", str(tmp_path / "fresh")])
    started = quality.main(data + TINY_JSB + [
        "--epochs", "1", "--lr", "1e-12", "--hidden-size", "16", "--transpose", "1",
        "--start-from", str(tmp_path / "a" / "jsb"), "--out", str(tmp_path / "b")])
    assert started["test_bound_per_step"] == pytest.approx(source["test_bound_per_step"],
                                                           abs=1e-4)
    assert abs(fresh["test_bound_per_step"] - source["test_bound_per_step"]) > 1e-2
    assert started["config"]["model"]["hidden"] == [8]  # the source's model, not --hidden-size
    assert started["train_windows"] > source["train_windows"]  # this command's data
    record = json.loads((tmp_path / "b" / "jsb" / "started_from.json").read_text())
    assert record["epoch"] == source["selected_epoch"]
    assert record["weights"] == "best_model.npz"
    note = "starting from the parameters of epoch {} of {}, learning rate 1e-12".format(
        source["selected_epoch"], (tmp_path / "a" / "jsb").resolve())
    assert note in started["markdown"]
    assert note in quality.main(["jsb-score", str(tmp_path / "b" / "jsb"),
                                 "--iw-samples", "2"])["markdown"]
    resumed = quality.main(["jsb", "--resume", "--epochs", "2", "--iw-samples", "2",
                            "--out", str(tmp_path / "b")])
    assert "starting from the parameters of epoch" in resumed["markdown"]
    assert "starting from" not in source["markdown"]


def test_jsb_start_from_takes_the_sources_data_options_unless_given(tiny_mat, tmp_path):
    """--window, --hop and --transpose default to the source run's with --start-from (a run
    trained on long windows is not trained on from 16-step ones by accident); given, they
    are this command's, and --window alone still takes half of it as the hop."""
    model = ["--latent", "2", "--hidden-size", "8", "--batch-size", "4", "--iw-samples", "2"]
    data = ["jsb", "--data", str(tiny_mat), "--epochs", "1"] + model
    quality.main(data + ["--window", "6", "--hop", "1", "--transpose", "1", "-1",
                         "--out", str(tmp_path / "a")])
    source = str(tmp_path / "a" / "jsb")
    kept = quality.main(data + ["--start-from", source, "--out", str(tmp_path / "b")])
    assert kept["config"]["data"]["window"] == 6 and kept["config"]["data"]["hop"] == 1
    assert kept["config"]["data"]["transpose"] == [1, -1]
    assert tuple(kept["config"]["model"]["input_shape"]) == (6, 88)
    given = quality.main(data + ["--start-from", source, "--window", "4", "--transpose",
                                 "--out", str(tmp_path / "c")])
    assert (given["window"], given["hop"]) == (4, 2)
    assert given["config"]["data"]["transpose"] == []
    fresh = quality.main(data + ["--out", str(tmp_path / "d")])
    assert (fresh["window"], fresh["hop"]) == (quality.DEFAULT_WINDOW, quality.DEFAULT_WINDOW // 2)
    assert fresh["config"]["data"]["transpose"] == []


def test_jsb_start_from_with_dropout_trains_with_that_rate(tiny_mat, tmp_path):
    """--dropout with --start-from replaces the source run's rate (it changes no weight):
    the rate is saved and named, training uses it, and jsb-score can still average the
    source and the new run."""
    data = ["jsb", "--data", str(tiny_mat)]
    quality.main(data + TINY_JSB + ["--epochs", "2", "--out", str(tmp_path / "a")])
    source = tmp_path / "a" / "jsb"
    runs = {}
    for rate in ("0.0", "0.5"):
        runs[rate] = quality.main(data + TINY_JSB + [
            "--epochs", "1", "--lr", "1e-2", "--dropout", rate, "--seed", "3",
            "--start-from", str(source), "--out", str(tmp_path / rate)])
    from chainer_vae.config import RunConfig
    dropped = runs["0.5"]
    assert dropped["config"]["model"]["dropout"] == 0.5
    assert RunConfig.load(tmp_path / "0.5" / "jsb").model.dropout == 0.5
    assert runs["0.0"]["config"]["model"]["dropout"] == 0.0
    assert "dropout 0.5" in dropped["markdown"]
    assert "starting from the parameters of epoch" in dropped["markdown"]
    assert dropped["log"]["last_train_loss"] != runs["0.0"]["log"]["last_train_loss"]
    mean = quality.main(["jsb-score", str(source), str(tmp_path / "0.5" / "jsb"),
                         "--iw-samples", "4", "--out", str(tmp_path / "scores")])
    assert len(mean["mean_of"]) == 2


def test_jsb_start_from_several_runs_begins_with_the_mean_of_their_parameters(tiny_mat,
                                                                              tmp_path):
    """--start-from A B begins with the mean of A's and B's selected parameters (jsb-score
    A B's model): with a learning rate too small to move them it scores what jsb-score A B
    scores, and the record and the row name both sources."""
    data = ["jsb", "--data", str(tiny_mat)]
    quality.main(data + TINY_JSB + ["--epochs", "2", "--out", str(tmp_path / "a")])
    quality.main(data + TINY_JSB + ["--epochs", "1", "--seed", "3", "--out", str(tmp_path / "b")])
    a, b = tmp_path / "a" / "jsb", tmp_path / "b" / "jsb"
    mean = quality.main(["jsb-score", str(a), str(b), "--iw-samples", "4",
                         "--out", str(tmp_path / "mean")])
    alone = quality.main(["jsb-score", str(a), "--iw-samples", "4",
                          "--out", str(tmp_path / "alone")])
    started = quality.main(data + TINY_JSB + ["--epochs", "1", "--lr", "1e-12",
                                              "--iw-samples", "4", "--start-from", str(a),
                                              str(b), "--out", str(tmp_path / "c")])
    assert started["test_bound_per_step"] == pytest.approx(mean["test_bound_per_step"],
                                                           abs=1e-4)
    assert abs(alone["test_bound_per_step"] - mean["test_bound_per_step"]) > 1e-3
    record = json.loads((tmp_path / "c" / "jsb" / "started_from.json").read_text())
    assert [source["run_dir"] for source in record["mean_of"]] == [str(a.resolve()),
                                                                    str(b.resolve())]
    assert "starting from the mean of the parameters of epoch {} of {}, epoch 1 of {}".format(
        mean["mean_of"][0]["epoch"], a.resolve(), b.resolve()) in started["markdown"]


def test_jsb_average_is_selected_saved_started_and_named(tiny_mat, tmp_path):
    """--average: the moving average of the parameters is validated, kept as the best
    epoch's, saved and scored; a run started from another run averages from its parameters."""
    data = ["jsb", "--data", str(tiny_mat)]
    source = quality.main(data + TINY_JSB + ["--epochs", "2", "--average", "0.5",
                                             "--out", str(tmp_path / "a")])
    run = tmp_path / "a" / "jsb"
    assert source["config"]["train"]["average"] == 0.5
    assert "moving average of the parameters (decay 0.5 per step)" in source["markdown"]
    best, saved = np.load(run / "best_model.npz"), np.load(run / "model.npz")
    snapshot = np.load(next(run.glob("snapshot_epoch_*")))
    assert all(np.array_equal(best[key], saved[key]) for key in saved.files)
    averaged = "updater/model:main/model/decoder/lstm/0/w0"
    assert np.array_equal(snapshot["extensions/average/average/decoder/lstm/0/w0"],
                          saved["decoder/lstm/0/w0"]) == (source["selected_epoch"] == 2)
    assert not np.array_equal(snapshot[averaged], saved["decoder/lstm/0/w0"])
    started = quality.main(data + TINY_JSB + ["--epochs", "1", "--lr", "1e-12",
                                              "--average", "0.9", "--start-from", str(run),
                                              "--out", str(tmp_path / "b")])
    assert started["test_bound_per_step"] == pytest.approx(source["test_bound_per_step"],
                                                           abs=1e-4)


def test_jsb_score_of_several_runs_scores_the_mean_of_their_parameters(tiny_mat, tmp_path,
                                                                        capsys):
    """jsb-score A B scores the model whose parameters are the mean of A's and B's selected
    ones: exactly what scoring a run folder holding that mean gives. The runs may differ in
    window and seed, not in the model."""
    import shutil

    data = ["jsb", "--data", str(tiny_mat)]
    quality.main(data + TINY_JSB + ["--epochs", "2", "--out", str(tmp_path / "a")])
    quality.main(data + TINY_JSB + ["--epochs", "1", "--seed", "3", "--window", "6",
                                    "--out", str(tmp_path / "b")])
    a, b = tmp_path / "a" / "jsb", tmp_path / "b" / "jsb"
    mean = quality.main(["jsb-score", str(a), str(b), "--iw-samples", "4",
                         "--out", str(tmp_path / "mean")])
    by_hand = tmp_path / "by_hand"
    shutil.copytree(a, by_hand)
    with np.load(a / "best_model.npz") as first, np.load(b / "best_model.npz") as second:
        np.savez(by_hand / "best_model.npz",
                 **{key: (first[key] + second[key]) / 2 for key in first.files})
    alone = quality.main(["jsb-score", str(a), "--iw-samples", "4"])
    reference = quality.main(["jsb-score", str(by_hand), "--iw-samples", "4"])
    assert mean["test_bound_per_step"] == pytest.approx(reference["test_bound_per_step"],
                                                        abs=1e-5)
    assert abs(mean["test_bound_per_step"] - alone["test_bound_per_step"]) > 1e-3
    assert [source["run_dir"] for source in mean["mean_of"]] == [str(a.resolve()),
                                                                  str(b.resolve())]
    assert "the mean of the parameters of epoch {} of {}, epoch 1 of {}".format(
        mean["mean_of"][0]["epoch"], a.resolve(), b.resolve()) in mean["markdown"]
    quality.main(data + TINY_JSB + ["--epochs", "1", "--hidden-size", "6",
                                    "--out", str(tmp_path / "c")])
    capsys.readouterr()
    assert quality.cli(["jsb-score", str(a), str(tmp_path / "c" / "jsb")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "another model" in err and str(tmp_path / "c") in err


def test_jsb_score_split_valid_scores_the_validation_chorales(tiny_mat, tmp_path):
    """--split valid scores the validation chorales (for choosing between models), names
    its figures valid_*, judges no goal and leaves the test result file alone."""
    quality.main(["jsb", "--data", str(tiny_mat), "--epochs", "1", "--out", str(tmp_path)]
                 + TINY_JSB)
    run, out = str(tmp_path / "jsb"), str(tmp_path / "scores")
    test = quality.main(["jsb-score", run, "--iw-samples", "4", "--out", out])
    valid = quality.main(["jsb-score", run, "--iw-samples", "4", "--split", "valid",
                          "--out", out])
    assert valid["split"] == "valid" and test["split"] == "test"
    assert (valid["valid_sequences"], valid["valid_steps"]) == (1, 10)  # tiny_mat's one
    assert test["test_sequences"] == 3
    assert "test_bound_per_step" not in valid and "goal_reached" not in valid
    assert valid["valid_bound_per_step"] != test["test_bound_per_step"]
    named = "validation bound {:.2f} nats".format(valid["valid_bound_per_step"])
    assert named in valid["markdown"]
    assert "judged on the test set only" in valid["markdown"]
    saved = json.loads((tmp_path / "scores" / "quality_jsb-score.json").read_text())
    assert saved["split"] == "test"
    saved = json.loads((tmp_path / "scores" / "quality_jsb-score-valid.json").read_text())
    assert saved["valid_bound_per_step"] == valid["valid_bound_per_step"]


def test_jsb_start_from_errors_are_one_line(tiny_mat, tmp_path, capsys):
    out = tmp_path / "out"
    assert quality.cli(["jsb", "--data", str(tiny_mat), "--start-from", str(tmp_path / "none"),
                        "--out", str(out)] + TINY_JSB) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(tmp_path / "none") in err
    assert not out.exists()
    assert quality.cli(["jsb", "--resume", "--start-from", str(tmp_path), "--epochs", "2",
                        "--out", str(out)]) == 2
    assert "give one of them" in capsys.readouterr().err
