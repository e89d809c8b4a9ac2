"""``ops.negative_elbo`` and the whole loss built on the drop-ins compute the negative
ELBO written with chainer's own pieces: values, gradients and second derivatives."""
from __future__ import annotations

import chainer_vae  # noqa: F401  (before chainer)
import chainer
import chainer.distributions as D
import chainer.functions as F
import numpy as np
import pytest
from chainer import gradient_check

from chainer_vae.model import ops
from chainer_vae.model.ops.elbo import _NegativeELBO

F64 = {"atol": 1e-6, "rtol": 1e-6}


def _rng(seed=0):
    return np.random.RandomState(seed)


def _plain_elbo(model, x, eps):
    """The negative ELBO written with chainer's own pieces only (k = 1)."""
    enc, dec = model.encoder, model.decoder
    h = F.relu(enc.trunk[0](x))
    q = D.Normal(enc.mu(h), log_scale=enc.ln_sigma(h))
    z = q.loc + q.scale * eps
    logit = dec.out(F.relu(dec.trunk[0](z)))
    reconstr = -F.sum(x * logit - F.softplus(logit)) / x.shape[0]
    prior = D.Normal(model.prior.loc, scale=model.prior.scale)
    kl = F.sum(chainer.kl_divergence(q, prior)) / x.shape[0]
    return reconstr + kl


def test_elbo_loss_and_gradients_equal_the_plain_formulation():
    from chainer_vae.config import ModelConfig
    from chainer_vae.model import build_model
    from chainer_vae.model import ELBOLoss

    config = ModelConfig(hidden=[16], latent=3, activation="relu")
    config.input_shape = (10,)
    model = build_model(config)
    x = (_rng(13).rand(6, 10) < 0.5).astype(np.float32)
    np.random.seed(5)
    eps = np.random.standard_normal((1, 6, 3)).astype(np.float32)[0]
    results = []
    for run in (lambda: ELBOLoss(model)(x), lambda: _plain_elbo(model, x, eps)):
        np.random.seed(5)
        model.cleargrads()
        loss = run()
        loss.backward()
        results.append((float(loss.array), {name: p.grad.copy() for name, p in model.namedparams()}))
    (ours, our_grads), (plain, plain_grads) = results
    assert ours == pytest.approx(plain, rel=1e-5)
    for name, grad in plain_grads.items():
        np.testing.assert_allclose(our_grads[name], grad, rtol=1e-4, atol=1e-5, err_msg=name)


def test_negative_elbo_terms():
    log_px_z = np.array([-3.0, -5.0, -4.0, -8.0], np.float32)  # k = 2 samples of B = 2
    kl = np.array([1.0, 2.0], np.float32)
    loss, reconstr, kl_mean = ops.negative_elbo(log_px_z, kl, 0.5)
    assert float(reconstr.array) == pytest.approx(5.0)
    assert float(kl_mean.array) == pytest.approx(1.5)
    assert float(loss.array) == pytest.approx(5.75)
    assert loss.dtype == np.float32 and loss.shape == ()


def test_negative_elbo_gradients_of_every_output():
    rng = _rng(39)
    inputs = (rng.randn(6), rng.rand(3))
    gys = tuple(np.array(rng.randn()) for _ in range(3))
    ggs = (rng.randn(6), rng.randn(3))

    def f(log_px_z, kl):
        return _NegativeELBO(0.3).apply((log_px_z, kl))

    gradient_check.check_backward(f, inputs, gys, dtype=np.float64, **F64)
    gradient_check.check_double_backward(f, inputs, gys, ggs, dtype=np.float64, **F64)


def test_negative_elbo_loss_gradient_alone():
    log_px_z = chainer.Variable(np.zeros(4, np.float32))
    kl = chainer.Variable(np.zeros(2, np.float32))
    loss, _, _ = ops.negative_elbo(log_px_z, kl, 0.25)
    loss.backward()
    np.testing.assert_allclose(log_px_z.grad, np.full(4, -0.25, np.float32))
    np.testing.assert_allclose(kl.grad, np.full(2, 0.125, np.float32))
