"""Training runs: run folder, resume equivalence, NaN guard, KL warm-up, real MNIST."""

import numpy as np
import pytest

import chainer_vae  # noqa: F401
import chainer

from chainer_vae.config import RunConfig, default_model_config
from chainer_vae.data import Data, examples_array, load_data
from chainer_vae.errors import ConfigError, TrainingDiverged
from chainer_vae.inference import sampling
from chainer_vae.inference.evaluation import batch_seed, evaluate
from chainer_vae.model import ELBOLoss, build_model
from chainer_vae.runs import get_device, load_weights, seed_everything
from chainer_vae.training import trainer as training
from tiny_models import parameters, read_log, toy_config, toy_images


def test_run_folder_holds_everything_needed(toy_mnist, tmp_path):
    run = tmp_path / "run"
    training.train(toy_config(toy_mnist), run, progress=False)
    for name in ("config.json", "model.npz", "log", "loss.png", "kl.png",
                 "snapshot_epoch_1", "snapshot_epoch_2"):
        assert (run / name).is_file(), name
    assert not list(run.glob(".*tmp*"))
    log = read_log(run)
    assert [entry["epoch"] for entry in log] == [1, 2]
    assert log[1]["validation/main/loss"] < log[0]["validation/main/loss"]
    for prefix in ("main/", "validation/main/"):  # loss = rec_loss + beta KL, beta 1
        entry = log[1]
        assert entry[prefix + "loss"] == pytest.approx(
            entry[prefix + "rec_loss"] + entry[prefix + "kl"], rel=1e-5)
        assert entry[prefix + "rec_loss"] > 0 and prefix + "reconstr" not in entry
    config = RunConfig.load(run)
    assert config.model.input_shape == (784,)
    model = load_weights(build_model(config.model), run / "model.npz")  # config.json alone rebuilds it
    saved = parameters(run)
    np.testing.assert_array_equal(model.encoder.mu.W.array, saved["encoder/mu/W"])


def with_dropout_lstm(config):
    """The LSTM VAE with the within-step MADE and dropout: more random numbers per step."""
    config.model = default_model_config("mnist", "lstm")
    config.model.hidden, config.model.latent = [8], 2
    config.model.autoregressive, config.model.step_made, config.model.dropout = True, 6, 0.3
    config.data.limit = 60
    return config


def with_average(config):
    """Parameters averaged over the steps: the average must survive the snapshot too."""
    config.train.average = 0.8
    return config


def with_labels(config):
    """A conditional VAE: the batches are (x, y) pairs."""
    config.model.conditional = True
    return config


def with_weight_decay(config):
    """The study's L2 penalty (an optimizer hook) and a decoder of its own sizes."""
    config.train.weight_decay, config.model.decoder_hidden = 5e-2, [8, 16]
    return config


@pytest.mark.parametrize("binarize,model", [("threshold", None), ("dynamic", None),
                                            ("dynamic", with_dropout_lstm),
                                            ("dynamic", with_average),
                                            ("dynamic", with_labels),
                                            ("dynamic", with_weight_decay)])
def test_resumed_run_ends_with_the_same_parameters(toy_mnist, tmp_path, binarize, model):
    def configured(epochs):
        config = toy_config(toy_mnist, epochs=epochs, kl_warmup=2.0, k=2)
        config.data.binarize = binarize
        return model(config) if model else config

    whole, split = tmp_path / "whole", tmp_path / "split"
    training.train(configured(3), whole, progress=False)
    training.train(configured(1), split, progress=False)
    np.random.seed(12345)  # whatever happens in between must not matter
    resumed = RunConfig.load(split)
    resumed.train.epochs = 3
    training.train(resumed, split, resume="latest", progress=False)

    expected, got = parameters(whole), parameters(split)
    assert expected.keys() == got.keys()
    for key in expected:
        np.testing.assert_array_equal(got[key], expected[key], err_msg=key)
    def scores(run):
        return [(e["epoch"], e["main/loss"], e["validation/main/loss"]) for e in read_log(run)]
    assert scores(split) == scores(whole)


def test_kl_warmup_raises_beta_linearly(toy_mnist, tmp_path):
    run = tmp_path / "warm"
    training.train(toy_config(toy_mnist, epochs=3, kl_warmup=2.0, beta=0.5), run, progress=False)
    betas = [entry["main/beta"] for entry in read_log(run)]
    # 6 iterations per epoch; beta = 0.5 * min(1, epoch / 2) before each update.
    assert betas[0] == pytest.approx(0.5 * np.mean(np.arange(6) / 12))
    assert betas[1] == pytest.approx(0.5 * np.mean(np.arange(6, 12) / 12))
    assert betas[2] == pytest.approx(0.5)


def test_average_is_the_moving_average_of_the_trained_parameters(toy_mnist, tmp_path,
                                                                  monkeypatch):
    """With --average the run saves, and its Evaluator scores, the exponential moving
    average of the parameters after each step (decay min(d, (1 + n) / (10 + n)) at step n),
    starting from the parameters training begins with."""
    seen = []  # the trained parameters at the start and after every step

    class Recording(training.ParameterAverage):
        def _record(self):
            seen.append({name: param.array.copy() for name, param in self._trained})

        def initialize(self, trainer):
            self._record()
            super().initialize(trainer)

        def __call__(self, trainer):
            self._record()
            super().__call__(trainer)

    def recording(model, average, decay):
        extension = Recording(model, average, decay)
        extension._trained = list(model.namedparams())
        return extension

    monkeypatch.setattr(training, "ParameterAverage", recording)
    decay = 0.6
    run = tmp_path / "averaged"
    result = training.train(toy_config(toy_mnist, average=decay), run, progress=False)
    assert len(seen) == 1 + 12  # 300 toy digits in batches of 50, two epochs
    expected = dict(seen[0])
    for step, params in enumerate(seen[1:]):
        rate = 1.0 - min(decay, (1.0 + step) / (10.0 + step))
        expected = {name: mean + rate * (params[name] - mean)
                    for name, mean in expected.items()}
    saved = parameters(run)
    for name, mean in expected.items():
        key = name.lstrip("/")
        np.testing.assert_allclose(saved[key], mean, rtol=1e-5, atol=1e-6, err_msg=key)
    assert not np.allclose(saved["encoder/mu/W"], seen[-1]["/encoder/mu/W"], atol=1e-4)
    np.testing.assert_array_equal(result.encoder.mu.W.array, saved["encoder/mu/W"])


def test_evaluator_and_recorder_read_the_average(toy_mnist, tmp_path):
    config = toy_config(toy_mnist, epochs=1, average=0.9)
    trainer, trained, _ = training.build_trainer(config, tmp_path / "run", progress=False)
    trainer.run()
    average = training.result_model(trainer, trained)
    assert average is not trained
    assert trainer.get_extension("validation").get_target("main").model is average
    assert trainer.get_extension("latents")._model is average
    plain, _, _ = training.build_trainer(toy_config(toy_mnist, epochs=1), tmp_path / "plain",
                                         progress=False)
    assert training.result_model(plain, "trained") == "trained"


@pytest.mark.parametrize("rate", [0.0, 0.5])
def test_weight_decay_is_the_l2_penalty_adam_steps_on(toy_mnist, tmp_path, rate):
    """With zero gradients, Adam's first step moves each parameter w by its L2 penalty's
    gradient g = rate * w alone: w - lr * sqrt(1 - beta2) g / (sqrt(1 - beta2) |g| + eps),
    as chainer's WeightDecay hook in the study's code does (about lr towards 0; Adam's
    decoupled decay would give w (1 - rate))."""
    config = toy_config(toy_mnist, epochs=1, lr=1e-2, weight_decay=rate)
    trainer, model, _ = training.build_trainer(config, tmp_path / "run", progress=False)
    optimizer = trainer.updater.get_optimizer("main")
    before = {name: param.array.astype(np.float64) for name, param in model.namedparams()}
    for param in model.params():
        param.grad = np.zeros_like(param.array)
    optimizer.update()
    hp, root = optimizer.hyperparam, np.sqrt(1 - optimizer.hyperparam.beta2)
    for name, param in model.namedparams():
        g = rate * before[name]
        expected = before[name] - hp.alpha * root * g / (root * np.abs(g) + hp.eps)
        np.testing.assert_allclose(param.array, expected, rtol=1e-6, atol=1e-8, err_msg=name)
    moved = np.abs(model.encoder.trunk[0].W.array - before["/encoder/trunk/0/W"])
    assert np.median(moved) == pytest.approx(hp.alpha if rate else 0.0, rel=1e-3)


@pytest.mark.parametrize("decay", [-0.1, 1.0])
def test_average_decay_outside_zero_one_is_a_config_error(toy_mnist, tmp_path, decay):
    with pytest.raises(ConfigError, match="--average"):
        training.build_trainer(toy_config(toy_mnist, average=decay), tmp_path, progress=False)


class _PoisonedAfter:
    """A training set whose examples turn to NaN after ``clean`` reads."""

    def __init__(self, data, clean):
        self._data, self._clean, self._reads = data, clean, 0

    def __len__(self):
        return len(self._data)

    def __getitem__(self, i):
        self._reads += 1
        x = self._data[i]
        return x if self._reads <= self._clean else np.full_like(x, np.nan)


def test_nan_guard_stops_and_keeps_the_last_good_snapshot(tmp_path, monkeypatch):
    clean = (np.random.RandomState(0).rand(100, 784) > 0.5).astype(np.float32)
    data = Data(train=_PoisonedAfter(clean, clean=150), test=clean[:20], input_shape=(784,))
    monkeypatch.setattr(training, "load_data", lambda *args, **kwargs: data)
    run = tmp_path / "nan"
    with pytest.raises(TrainingDiverged, match="snapshot_epoch_1") as caught:
        training.train(toy_config(tmp_path, epochs=3), run, progress=False)
    assert "nan" in str(caught.value)
    assert (run / "snapshot_epoch_1").is_file()
    assert not (run / "snapshot_epoch_2").exists()
    assert not (run / "model.npz").exists()
    snapshot = np.load(run / "snapshot_epoch_1")
    assert all(np.isfinite(snapshot[key]).all() for key in snapshot.files
               if key.startswith("updater/model:main/") and snapshot[key].dtype.kind == "f")


def test_evaluate_scores_a_run(toy_mnist, tmp_path):
    run = tmp_path / "eval"
    training.train(toy_config(toy_mnist, epochs=2), run, progress=False)
    result = evaluate(run, iw_samples=50, progress=False)
    assert result.n == 100 and result.iw_samples == 50
    assert result.elbo < 0 and result.log_likelihood < 0
    assert result.elbo < result.log_likelihood  # IWAE with K = 50 tightens the bound
    limited = evaluate(run, iw_samples=5, limit=10, progress=False)
    assert limited.n == 10


def test_a_conditional_run_draws_the_label_asked_for(toy_mnist, tmp_path):
    """Toy digit d is a bright bar on rows 2d to 2d + 5: decoded at z = 0 with label d, a
    conditional run's brightest six rows are those, and samples of label d are brighter
    there than samples of the other labels. Its config names the labels, and evaluate
    scores log p(x|y), each batch seeded by its index."""
    run = tmp_path / "labels"
    config = toy_config(toy_mnist, epochs=10, lr=1e-2)
    config.model.conditional = True
    model = training.train(config, run, progress=False)
    assert RunConfig.load(run).model.label_names == [str(d) for d in range(10)]
    modes = sampling.prior_samples(model, 10, scale=0.0, labels=np.arange(10))
    rows = modes.reshape(10, 28, 28).mean(axis=2)  # (label, row)
    bands = [int(np.argmax([rows[d, r:r + 6].mean() for r in range(23)])) for d in range(10)]
    assert bands == [2 * d for d in range(10)]
    rows = sampling.prior_samples(model, 200, labels=np.arange(200) % 10, seed=0)
    rows = rows.reshape(20, 10, 28, 28).mean(axis=(0, 3))
    contrast = [rows[d, 2 * d:2 * d + 6].mean() - np.delete(rows, d, axis=0)[:, 2 * d:2 * d + 6]
                .mean() for d in range(10)]
    assert min(contrast) > 0.03, contrast
    result = evaluate(run, iw_samples=4, batch_size=40, progress=False)
    data = load_data(config.data, progress=False)
    x, y = examples_array(data.test), data.test_labels.astype(np.int32)
    total = 0.0
    for index, start in enumerate(range(0, len(x), 40)):
        seed_everything(batch_seed(0, index), get_device("@numpy"))
        batch = slice(start, start + 40)
        with chainer.no_backprop_mode(), chainer.using_config("train", False):
            ELBOLoss(model)(x[batch], y[batch])
        total += float(model.log_likelihood(x[batch], 4, y=y[batch]).sum())
    assert result.log_likelihood == pytest.approx(total / len(x), rel=1e-6)


def test_conditional_training_refuses_unlabelled_data(tmp_path, monkeypatch):
    x, _ = toy_images(40)
    data = Data(train=x, test=x[:10], input_shape=(784,), details={"dataset": "jsb"})
    monkeypatch.setattr(training, "load_data", lambda *args, **kwargs: data)
    config = toy_config(tmp_path, epochs=1)
    config.model.conditional = True
    with pytest.raises(ConfigError, match="--conditional needs labelled examples"):
        training.train(config, tmp_path / "never", progress=False)
    assert not (tmp_path / "never").exists()


@pytest.mark.slow
def test_real_mnist_short_training_reaches_a_bound(data_root, tmp_path):
    """The study's subset (1600 / 400 per class), Chainer's example MLP, 3 epochs."""
    if not (data_root / "mnist").is_dir():
        pytest.skip("real MNIST not found under {}".format(data_root))
    config = RunConfig(model=default_model_config("mnist", "mlp"))
    config.data.data_dir = str(data_root / "mnist")
    config.data.train_per_class, config.data.test_per_class = 1600, 400
    config.train.epochs = 3
    run = tmp_path / "mnist"
    training.train(config, run, progress=False)
    test_loss = read_log(run)[-1]["validation/main/loss"]
    # Measured: about 123 nats after 2 epochs and 114 after 3 on this subset.
    assert test_loss < 125.0


def test_device_specifiers():
    assert get_device("@numpy").xp is np
    assert get_device("-1").xp is np
    with pytest.raises(ConfigError, match="not available"):
        get_device("@tpu:0")


class _Spy:
    """An extension that records its name in ``calls`` whenever the Trainer calls it."""

    def __init__(self, name, extension, calls):
        self._name, self._extension, self._calls = name, extension, calls

    def __getattr__(self, attribute):
        return getattr(self._extension, attribute)

    def __call__(self, trainer):
        self._calls.append(self._name)
        return self._extension(trainer)


def test_extensions_run_in_the_order_of_the_one_table(toy_mnist, tmp_path):
    from chainer_vae.training.extensions import ORDER

    config = toy_config(toy_mnist, epochs=1, average=0.9, select="valid")
    config.data.valid_fraction = 0.2
    trainer, _, _ = training.build_trainer(config, tmp_path / "run", progress=True)
    calls = []
    for name, entry in trainer._extensions.items():
        entry.extension = _Spy(name, entry.extension, calls)
    trainer.run()
    last_iteration = calls[len(calls) - calls[::-1].index("nan_guard") - 1:]
    assert last_iteration == ["nan_guard", "average", "kl_warmup", "validation", "best_model",
                              "latents", "log", "print", "plot_loss", "plot_kl", "progress",
                              "random_state", "snapshot"]
    assert [name for name in ORDER if name in last_iteration] == last_iteration


def _snapshot_parameters(path):
    prefix = "updater/model:main/model/"
    with np.load(path) as snapshot:
        return {key[len(prefix):]: snapshot[key] for key in snapshot.files
                if key.startswith(prefix)}


def test_select_valid_keeps_the_parameters_of_the_best_epoch(tmp_path, monkeypatch):
    """Validated on digits whose top half is inverted: the more the model learns the
    training digits, the worse it scores them, so the best epoch is not the last."""
    x, _ = toy_images(200, seed=0)
    valid = x[:40].copy()
    valid[:, :392] = 1 - valid[:, :392]
    data = Data(train=x, test=x[:40], input_shape=(784,), valid=valid)
    monkeypatch.setattr(training, "load_data", lambda *args, **kwargs: data)
    config = toy_config(tmp_path, epochs=5, select="valid", lr=0.01, keep_snapshots=5)
    run = tmp_path / "best"
    training.train(config, run, progress=False)
    log = read_log(run)
    losses = [entry["validation/main/loss"] for entry in log]
    best = int(np.argmin(losses)) + 1
    assert [entry["best_epoch"] for entry in log] == [
        int(np.argmin(losses[:epoch])) + 1 for epoch in range(1, 6)]
    assert best != 5
    kept = _snapshot_parameters(run / "snapshot_epoch_{}".format(best))
    for name, saved in (("model.npz", parameters(run)), ("best_model.npz",
                                                         dict(np.load(run / "best_model.npz")))):
        assert saved.keys() == kept.keys(), name
        for key in kept:
            np.testing.assert_array_equal(saved[key], kept[key], err_msg=name + " " + key)
    last = _snapshot_parameters(run / "snapshot_epoch_5")
    assert not np.array_equal(last["encoder/mu/W"], kept["encoder/mu/W"])


def test_valid_fraction_holds_out_the_last_training_digits(toy_mnist):
    from chainer_vae.config import DataConfig
    from chainer_vae.data import load_data

    whole = load_data(DataConfig(data_dir=str(toy_mnist)), progress=False)
    split = load_data(DataConfig(data_dir=str(toy_mnist), valid_fraction=0.2), progress=False)
    assert (len(whole.train), whole.valid) == (300, None)
    assert (len(split.train), len(split.valid)) == (240, 60)
    np.testing.assert_array_equal(split.valid.images, whole.train.images[240:])
    np.testing.assert_array_equal(split.train.images, whole.train.images[:240])


def test_select_valid_needs_a_validation_split(toy_mnist, tmp_path):
    with pytest.raises(ConfigError, match="no validation split"):
        training.train(toy_config(toy_mnist, select="valid"), tmp_path / "r", progress=False)


def test_max_minutes_ends_with_a_snapshot_that_resumes_to_the_same_parameters(toy_mnist,
                                                                              tmp_path):
    whole, timed = tmp_path / "whole", tmp_path / "timed"
    training.train(toy_config(toy_mnist, epochs=3, snapshot_every=5), whole, progress=False)
    training.train(toy_config(toy_mnist, epochs=3, snapshot_every=5), timed, progress=False,
                   max_minutes=0.0)  # over at the first end of an epoch
    assert [entry["epoch"] for entry in read_log(timed)] == [1]
    assert (timed / "snapshot_epoch_1").is_file() and (timed / "model.npz").is_file()
    training.train(RunConfig.load(timed), timed, resume="latest", progress=False)
    assert [entry["epoch"] for entry in read_log(timed)] == [1, 2, 3]
    expected, got = parameters(whole), parameters(timed)
    for key in expected:
        np.testing.assert_array_equal(got[key], expected[key], err_msg=key)


def test_init_from_begins_with_the_mean_of_several_runs(toy_mnist, tmp_path):
    sources = []
    for seed in (1, 2):
        run = tmp_path / "source{}".format(seed)
        training.train(toy_config(toy_mnist, epochs=1, seed=seed), run, progress=False)
        sources.append(run)
    started = tmp_path / "started"
    config = toy_config(toy_mnist, epochs=1, lr=1e-12, init_from=[str(s) for s in sources])
    training.train(config, started, progress=False)
    first, second, got = (parameters(run) for run in sources + [started])
    assert not np.allclose(first["encoder/mu/W"], second["encoder/mu/W"])
    for key in got:
        np.testing.assert_allclose(got[key], (first[key] + second[key]) / 2, atol=1e-6,
                                   err_msg=key)
    assert RunConfig.load(started).train.init_from == [str(s.resolve()) for s in sources]


def test_init_from_refuses_runs_of_another_model(toy_mnist, tmp_path):
    small, other = tmp_path / "small", tmp_path / "other"
    training.train(toy_config(toy_mnist, epochs=1), small, progress=False)
    config = toy_config(toy_mnist, epochs=1)
    config.model.latent = 5
    training.train(config, other, progress=False)
    with pytest.raises(ConfigError, match="another model"):
        training.train(toy_config(toy_mnist, init_from=[str(small), str(other)]),
                       tmp_path / "mixed", progress=False)
    with pytest.raises(ConfigError, match="other parameters"):
        training.train(toy_config(toy_mnist, init_from=[str(other)]), tmp_path / "wrong",
                       progress=False)
