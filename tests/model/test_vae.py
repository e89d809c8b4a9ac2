"""The VAE's maths against closed forms, and every encoder/decoder pair trains."""
import math

import numpy as np
import pytest

import chainer_vae  # noqa: F401
import chainer
import chainer.distributions as D
import chainer.functions as F
from chainer import gradient_check

from chainer_vae.config import ModelConfig
from chainer_vae.errors import ConfigError
from chainer_vae.model import ops
from chainer_vae.model.ops import Bernoulli
from chainer_vae.model import at_length, build_model
from chainer_vae.model import ELBOLoss
from tiny_models import exact_log_px, linear_gaussian, randomised, set_exact_posterior


def test_kl_matches_closed_form():
    model = build_model(ModelConfig(input_shape=(6,), latent=3, hidden=[8]))
    x = np.random.RandomState(1).rand(4, 6).astype(np.float32)
    q = model.encoder(x)
    mu, s = q.distribution.loc.array, q.distribution.scale.array
    expected = 0.5 * np.sum(mu ** 2 + s ** 2 - 1 - 2 * np.log(s), axis=1)
    np.testing.assert_allclose(ops.kl_divergence(q, model.prior()).array, expected,
                               rtol=1e-5, atol=1e-6)


def test_reparameterized_sample_carries_gradients():
    model = build_model(ModelConfig(input_shape=(6,), latent=3, hidden=[8]))
    x = np.random.RandomState(2).rand(4, 6).astype(np.float32)
    model.cleargrads()  # chainer starts parameter gradients at NaN
    F.sum(model.encoder(x).sample(5) ** 2).backward()
    assert np.abs(model.encoder.mu.W.grad).sum() > 0
    assert np.abs(model.encoder.ln_sigma.W.grad).sum() > 0


def test_exact_posterior_makes_every_importance_weight_equal_log_px():
    model, W, b, sigma = linear_gaussian()
    set_exact_posterior(model, W, b, sigma)
    x = np.random.RandomState(3).randn(7, 5).astype(np.float32)
    with chainer.no_backprop_mode():
        log_w = model.log_weights(x, 50).array
    exact = exact_log_px(x.astype(np.float64), W, b, sigma)
    np.testing.assert_allclose(log_w, np.broadcast_to(exact, log_w.shape), atol=2e-4)
    np.testing.assert_allclose(model.log_likelihood(x, 20), exact, atol=2e-4)


def test_elbo_bounds_log_px_and_iwae_rises_towards_it():
    model, W, b, sigma = linear_gaussian()  # encoder left at its random initialisation
    x = np.random.RandomState(4).randn(6, 5).astype(np.float32)
    exact = exact_log_px(x.astype(np.float64), W, b, sigma)
    np.random.seed(0)
    with chainer.no_backprop_mode():
        log_w = model.log_weights(x, 20000).array.astype(np.float64)
    elbo, stderr = log_w.mean(axis=0), log_w.std(axis=0) / math.sqrt(len(log_w))
    assert np.all(elbo <= exact + 3 * stderr)
    gap = exact - elbo
    assert np.all(gap > 0.05)  # a random encoder is far from the posterior

    estimates = {}
    for k in (1, 10, 100, 5000):
        np.random.seed(1)
        estimates[k] = np.mean([model.log_likelihood(x, k).mean() for _ in range(4)])
    assert estimates[1] < estimates[10] < estimates[100] < estimates[5000]
    assert estimates[5000] <= exact.mean() + 0.02
    assert exact.mean() - estimates[5000] < 0.2 * (exact.mean() - estimates[1])


def test_log_likelihood_does_not_depend_on_the_chunk_size():
    model, *_ = linear_gaussian()
    x = np.random.RandomState(5).randn(3, 5).astype(np.float32)
    np.random.seed(7)
    whole = model.log_likelihood(x, 60, chunk=60)
    np.random.seed(7)
    chunked = model.log_likelihood(x, 60, chunk=7)
    np.testing.assert_allclose(whole, chunked, rtol=1e-6)


@pytest.mark.filterwarnings("ignore:overflow encountered in exp")
def test_stable_bernoulli_matches_chainer_and_stays_finite():
    rng = np.random.RandomState(6)
    logit = rng.uniform(-20, 20, (4, 9)).astype(np.float32)
    x = (rng.rand(4, 9) > 0.5).astype(np.float32)
    ours = Bernoulli(logit=logit).log_prob(x).array
    theirs = D.Bernoulli(logit=logit).log_prob(x).array
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)
    extreme = np.array([[-100.0, 100.0, -100.0]], np.float32)
    value = Bernoulli(logit=extreme).log_prob(np.array([[0.0, 1.0, 1.0]], np.float32)).array
    np.testing.assert_allclose(value, [[0.0, 0.0, -100.0]], atol=1e-5)
    assert not np.isfinite(D.Bernoulli(logit=extreme).log_prob(
        np.array([[0.0, 1.0, 1.0]], np.float32)).array).all()  # why ours exists


def test_stable_bernoulli_gradient():
    rng = np.random.RandomState(8)
    logit = rng.uniform(-5, 5, (3, 4))
    x = rng.rand(3, 4)  # grey levels read as probabilities
    gradient_check.check_backward(lambda l: Bernoulli(logit=l).log_prob(x), logit,
                                  rng.randn(3, 4), dtype=np.float64)


PAIRS = [
    ("mlp", "mlp", (12,), {}),
    ("conv", "conv", (1, 8, 8), {}),
    ("lstm", "lstm", (6, 5), {}),
    ("lstm", "lstm", (6, 5), {"autoregressive": True}),
    ("lstm", "lstm", (6, 5), {"autoregressive": True, "step_made": 12}),
    ("lstm", "lstm", (6, 5), {"step_made": 12, "likelihood": "gaussian",
                              "learned_variance": True}),
    ("mlp", "mlp", (12,), {"step_made": 8}),
    ("mlp", "mlp", (12,), {"step_made": 8, "likelihood": "gaussian", "learned_variance": True}),
    ("conv", "conv", (10, 12), {}),  # a piano-roll window read as an image
    ("conv", "mlp", (1, 8, 8), {}),
    ("mlp", "lstm", (6, 5), {}),
    ("mlp", "mlp", (12,), {"likelihood": "gaussian", "learned_variance": True}),
]


@pytest.mark.parametrize("encoder,decoder,shape,extra", PAIRS)
def test_every_pair_has_the_right_shapes_and_trains(encoder, decoder, shape, extra):
    np.random.seed(0)
    model = build_model(ModelConfig(encoder=encoder, decoder=decoder, input_shape=shape,
                                    latent=3, hidden=[16], channels=[4, 8], **extra))
    # Sparse data, as music is: every model can at least learn that ones are rare.
    x = (np.random.rand(8, *shape) < 0.2).astype(np.float32)
    assert model.encode(x).shape == (8, 3)
    assert model.decode(model.sample_prior(5)).shape == (5,) + shape
    loss = ELBOLoss(model, k=2)
    optimizer = chainer.optimizers.Adam(alpha=1e-2)
    optimizer.setup(loss)
    first = float(loss(x).array)
    for _ in range(40):
        optimizer.update(loss, x)
    np.random.seed(1)
    assert float(loss(x).array) < 0.9 * first


def test_loss_reports_its_parts_in_nats_per_example():
    model = build_model(ModelConfig(input_shape=(12,), latent=3, hidden=[16]))
    loss = ELBOLoss(model, k=3, beta=0.25)
    reporter = chainer.Reporter()
    reporter.add_observer("main", loss)
    x = (np.random.rand(5, 12) > 0.5).astype(np.float32)
    observation = {}
    with reporter.scope(observation):
        total = loss(x)
    parts = {key: float(chainer.as_array(value)) for key, value in observation.items()}
    assert parts["main/beta"] == 0.25
    assert parts["main/loss"] == pytest.approx(parts["main/rec_loss"] + 0.25 * parts["main/kl"])
    assert float(total.array) == pytest.approx(parts["main/loss"])
    assert 12 * 0.1 < parts["main/rec_loss"] < 12 * 5  # per example, not per pixel or batch


@pytest.mark.parametrize("change,message", [
    ({"encoder": "gru"}, "unknown encoder"),
    ({"decoder": "transformer"}, "unknown decoder"),
    ({"latent": 0}, "--latent must be at least 1"),
    ({"likelihood": "poisson"}, "unknown likelihood"),
    ({"activation": "swish"}, "unknown activation"),
    ({"encoder": "conv", "decoder": "conv", "input_shape": (1, 2, 2), "channels": [4, 8, 16]},
     "too small"),
    ({"encoder": "lstm", "input_shape": (784,)}, "lstm parts need"),
    ({"autoregressive": True}, "needs the lstm or hier decoder"),
    ({"encoder": "conv", "decoder": "conv", "input_shape": (1, 8, 8), "step_made": 16},
     "needs the lstm, hier or mlp decoder"),
    ({"encoder": "lstm", "decoder": "lstm", "input_shape": (3, 4), "step_made": -1},
     "step-made"),
    ({"dropout": 0.2}, "needs the lstm or hier decoder"),
    ({"encoder": "lstm", "decoder": "lstm", "input_shape": (3, 4), "dropout": 1.0}, "dropout"),
    ({"encoder": "lstm", "decoder": "lstm", "input_shape": (3, 4), "dropout": -0.1}, "dropout"),
])
def test_impossible_models_raise_config_error(change, message):
    options = dict(input_shape=(12,), latent=3, hidden=[16])
    options.update(change)
    with pytest.raises(ConfigError, match=message):
        build_model(ModelConfig(**options))


def test_a_model_at_another_length_keeps_its_parameters():
    """The decoder is causal in time: the length-4 copy's outputs for 4 steps equal the
    first 4 steps of the length-6 model's outputs on those steps plus 2 more."""
    config = ModelConfig(encoder="lstm", decoder="lstm", input_shape=(6, 5), latent=2,
                         hidden=[8], autoregressive=True, step_made=6)
    model = randomised(build_model(config), 1, scale=0.5)  # the MADE's direct links too
    shorter = at_length(model, config, 4)
    assert shorter.decoder.output_shape == (4, 5)
    rng = np.random.RandomState(2)
    z = rng.randn(3, 2).astype(np.float32)
    x6 = (rng.rand(3, 6, 5) < 0.3).astype(np.float32)
    with chainer.no_backprop_mode():
        logit6 = model.decoder(z, x6).distribution.logit.array
        logit4 = shorter.decoder(z, x6[:, :4]).distribution.logit.array
        assert shorter.encoder(x6[:, :4]).mean.shape == (3, 2)
    np.testing.assert_allclose(logit4, logit6[:, :4], rtol=1e-5, atol=1e-5)
    assert at_length(model, config, 9).decode(z).shape == (3, 9, 5)


@pytest.mark.parametrize("change,steps,message", [
    ({"encoder": "mlp"}, 4, "only a model with an lstm encoder"),
    ({}, 0, "at least one step"),
])
def test_impossible_lengths_raise_config_error(change, steps, message):
    options = dict(encoder="lstm", decoder="lstm", input_shape=(6, 5), latent=2, hidden=[8])
    options.update(change)
    config = ModelConfig(**options)
    with pytest.raises(ConfigError, match=message):
        at_length(build_model(config), config, steps)
