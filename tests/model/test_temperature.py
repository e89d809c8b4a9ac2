"""Sampling temperature (MusicVAE's control): every decoder divides its Bernoulli logits by T."""
import numpy as np
import pytest

import chainer_vae  # noqa: F401
import chainer
import chainer.functions as F

from chainer_vae.config import ModelConfig
from chainer_vae.errors import ConfigError
from chainer_vae.model import build_model
from tiny_models import MADE_DECODERS, randomised, step_made_model

HIER = dict(encoder="lstm", decoder="hier", input_shape=(4, 3), latent=2, hidden=[6], bar=2,
            autoregressive=True, step_made=4)


def models():
    yield "mlp", randomised(build_model(ModelConfig(input_shape=(6,), latent=2, hidden=[5])), 0)
    for kind in MADE_DECODERS:
        yield kind, step_made_model(kind, seed=1)
    yield "hier", randomised(build_model(ModelConfig(**HIER)), 2)


@pytest.mark.parametrize("name,model", list(models()), ids=lambda v: v if isinstance(v, str)
                         else "")
@pytest.mark.parametrize("temperature", [0.5, 2.0])
def test_greedy_means_are_the_tempered_conditionals_of_the_rounded_piece(name, model,
                                                                        temperature):
    z = np.random.RandomState(4).randn(5, 2).astype(np.float32)
    means = model.decode(z, temperature=temperature)
    rounded = (means >= 0.5).astype(np.float32)
    with chainer.no_backprop_mode():
        logits = model.decoder(z, rounded).distribution.logit.array
    np.testing.assert_allclose(means, F.sigmoid(logits / temperature).array, atol=1e-6)
    plain = model.decode(z)
    assert not np.allclose(means, plain)


def test_a_cold_temperature_draws_nearly_the_greedy_piece():
    model = step_made_model("lstm-autoregressive", seed=1)
    z = np.tile(np.random.RandomState(4).randn(1, 2).astype(np.float32), (200, 1))
    greedy = (model.decode(z[:1]) >= 0.5).astype(np.float32)
    cold = model.decode(z, sample=np.random.RandomState(0), temperature=1e-4)
    warm = model.decode(z, sample=np.random.RandomState(0), temperature=5.0)
    assert (cold == greedy).all(axis=(1, 2)).mean() > 0.95
    assert (warm == greedy).all(axis=(1, 2)).mean() < 0.5


@pytest.mark.parametrize("temperature", [0.0, -1.0, float("nan")])
def test_a_temperature_at_or_below_zero_is_refused(temperature):
    model = step_made_model("mlp")
    with pytest.raises(ConfigError, match="above 0"):
        model.decode(np.zeros((1, 2), np.float32), temperature=temperature)


def test_a_gaussian_model_has_no_logits_to_scale():
    model = build_model(ModelConfig(input_shape=(6,), latent=2, hidden=[5], likelihood="gaussian"))
    z = np.zeros((1, 2), np.float32)
    assert model.decode(z, temperature=1.0).shape == (1, 6)
    with pytest.raises(ConfigError, match="likelihood is gaussian"):
        model.decode(z, temperature=2.0)
