"""The one switch of the fused paths (``ops.fused``, ``CHAINER_VAE_FUSED``): read when a
drop-in runs, and a model computes the same loss and gradients with it off and on."""
from __future__ import annotations

import threading

import chainer_vae  # noqa: F401  (before chainer)
import chainer
import numpy as np
import pytest

from chainer_vae.config import ModelConfig
from chainer_vae.errors import ConfigError
from chainer_vae.model import ELBOLoss, build_model, ops
from tiny_models import node_labels

# The nodes of chainer_vae.model.ops (their labels); none of them is chainer's.
FUSED_NODES = {"_Reshape", "_LinearActivation", "_LinearHeads", "_StableBernoulliLogProb",
               "_Reparameterize", "_NormalKL", "_NegativeELBO", "_LSTMDirection"}

MODELS = {
    "mlp": dict(input_shape=(12,), hidden=[8]),
    "mlp-gaussian-made": dict(input_shape=(12,), hidden=[8], step_made=6,
                              likelihood="gaussian", learned_variance=True),
    "conv": dict(encoder="conv", decoder="conv", input_shape=(1, 8, 8), hidden=[8],
                 channels=[4, 8]),
    "lstm": dict(encoder="lstm", decoder="lstm", input_shape=(6, 5), hidden=[8],
                 autoregressive=True, step_made=7),
    "hier": dict(encoder="lstm", decoder="hier", input_shape=(6, 5), hidden=[8], bar=3,
                 autoregressive=True, step_made=7),
    "continuous-bernoulli": dict(input_shape=(12,), hidden=[8],
                                 likelihood="continuous-bernoulli"),
}


def _loss_and_gradients(options, on, k=2):
    """The loss (its three terms) and every parameter's gradient of one ELBO step of a
    model built from ``options``, with the fused paths ``on`` or off; the same weights,
    data and noise either way."""
    np.random.seed(0)
    model = build_model(ModelConfig(latent=3, **options))
    shape = tuple(options["input_shape"])
    x = (np.random.RandomState(1).rand(4, *shape) < 0.3).astype(np.float32)
    loss = ELBOLoss(model, k=k)
    reporter, observed = chainer.Reporter(), {}
    reporter.add_observer("main", loss)
    with ops.fused(on), reporter.scope(observed):
        np.random.seed(2)
        value = loss(x)
        model.cleargrads()
        value.backward()
    terms = [float(chainer.as_array(observed["main/" + term]))
             for term in ("loss", "rec_loss", "kl")]
    return terms, {name: p.grad.copy() for name, p in model.namedparams()}, node_labels(value)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_a_model_computes_the_same_loss_and_gradients_with_the_fused_paths_off(name):
    """Not bit for bit: the fused nodes compute the same formulas in another form and
    order (the Bernoulli term's gradient through exp(logit - softplus(logit)) rather than
    sigmoid(logit), matrix products grouped otherwise, the LSTM's sigmoid gates from
    halved weights), which moves float32 results by a few units in the last place:
    at most 4e-7 of a loss term and 2e-6 of a parameter's largest gradient here. The
    tolerances are a few times that."""
    fused_terms, fused_grads, fused_nodes = _loss_and_gradients(MODELS[name], True)
    plain_terms, plain_grads, plain_nodes = _loss_and_gradients(MODELS[name], False)
    assert fused_nodes & FUSED_NODES
    assert not plain_nodes & FUSED_NODES
    np.testing.assert_allclose(fused_terms, plain_terms, rtol=2e-6)
    assert fused_grads.keys() == plain_grads.keys()
    for param, grad in plain_grads.items():
        np.testing.assert_allclose(fused_grads[param], grad, rtol=1e-5,
                                   atol=1e-5 * np.abs(grad).max(), err_msg=param)


@pytest.mark.parametrize("name", ["lstm", "hier"])
def test_generation_is_the_same_with_the_fused_paths_off(name):
    """The decoder's generation loop (``NStepLSTM.stepper``) on either path."""
    np.random.seed(0)
    model = build_model(ModelConfig(latent=3, **MODELS[name]))
    z = np.random.RandomState(3).randn(4, 3).astype(np.float32)
    means = []
    for on in (True, False):
        with ops.fused(on):
            means.append(model.decoder.generate(z))
    np.testing.assert_allclose(means[0], means[1], rtol=1e-5, atol=1e-6)


def test_the_environment_variable_is_read_when_a_drop_in_runs(monkeypatch):
    x = np.zeros((2, 6), np.float32)
    monkeypatch.delenv(ops.ENVIRONMENT_VARIABLE, raising=False)
    assert ops.fused_enabled()
    assert ops.reshape(x, (3, 4)).creator.label == "_Reshape"
    for off in ("0", "false", "Off", " no "):
        monkeypatch.setenv(ops.ENVIRONMENT_VARIABLE, off)
        assert not ops.fused_enabled()
        assert ops.reshape(x, (3, 4)).creator.label == "Reshape"  # chainer's
    for on in ("1", "true", "ON", ""):
        monkeypatch.setenv(ops.ENVIRONMENT_VARIABLE, on)
        assert ops.fused_enabled()


def test_a_bad_environment_value_is_a_config_error_naming_it(monkeypatch):
    monkeypatch.setenv(ops.ENVIRONMENT_VARIABLE, "maybe")
    with pytest.raises(ConfigError, match="CHAINER_VAE_FUSED='maybe'"):
        ops.reshape(np.zeros((2, 6), np.float32), (3, 4))


def test_the_context_manager_wins_over_the_environment_nests_and_stays_in_its_thread(
        monkeypatch):
    monkeypatch.setenv(ops.ENVIRONMENT_VARIABLE, "0")
    seen = {}
    with ops.fused(True):
        assert ops.fused_enabled()
        with ops.fused(False):
            assert not ops.fused_enabled()
            thread = threading.Thread(target=lambda: seen.update(other=ops.fused_enabled()))
            monkeypatch.setenv(ops.ENVIRONMENT_VARIABLE, "1")
            thread.start()
            thread.join()
        assert ops.fused_enabled()
    monkeypatch.setenv(ops.ENVIRONMENT_VARIABLE, "0")
    assert not ops.fused_enabled()
    assert seen == {"other": True}  # the other thread read the environment
