"""``ops.kl_divergence`` computes chainer's KL divergences, in one node between Normals:
values, gradients and second derivatives, including the prior's broadcast parameters."""
from __future__ import annotations

import chainer_vae  # noqa: F401  (before chainer)
import chainer
import chainer.distributions as D
import numpy as np
from chainer import gradient_check

from chainer_vae.model import ops
from chainer_vae.model.ops.kl import _NormalKL

F64 = {"atol": 1e-6, "rtol": 1e-6}


def _rng(seed=0):
    return np.random.RandomState(seed)


def _kl_inputs(seed):
    rng = _rng(seed)
    return (rng.randn(5, 3), rng.randn(5, 3) * 0.5,  # q: loc, log_scale (B, latent)
            rng.randn(3), rng.randn(3) * 0.5)         # p: loc, log_scale (latent,)


def test_fused_kl_equals_chainers_closed_form():
    loc1, ls1, loc2, ls2 = (a.astype(np.float32) for a in _kl_inputs(9))
    ours = ops.kl_divergence(ops.Normal(loc1, log_scale=ls1),
                               ops.Normal(loc2, log_scale=ls2))
    assert ours.creator.label == "_NormalKL"
    theirs = chainer.kl_divergence(D.Normal(loc1, log_scale=ls1), D.Normal(loc2, log_scale=ls2))
    np.testing.assert_allclose(ours.array, theirs.array, rtol=1e-5, atol=1e-6)
    mixed = ops.kl_divergence(D.Normal(loc1, log_scale=ls1), ops.Normal(loc2, log_scale=ls2))
    np.testing.assert_allclose(mixed.array, theirs.array, rtol=1e-5, atol=1e-6)


def test_the_kl_drop_in_registers_nothing_with_chainer():
    registered = chainer.distribution._KLDIVERGENCE
    assert not [pair for pair in registered if any(
        cls.__module__.startswith("chainer_vae") for cls in pair)]


def test_fused_kl_gradients_including_broadcast_prior_parameters():
    inputs = _kl_inputs(10)
    rng = _rng(11)
    gy = rng.randn(5, 3)
    gg = tuple(rng.randn(*a.shape) for a in inputs)

    def f(*args):
        return _NormalKL().apply(args)[0]

    gradient_check.check_backward(f, inputs, gy, dtype=np.float64, **F64)
    gradient_check.check_double_backward(f, inputs, gy, gg, dtype=np.float64, **F64)


def test_summed_kl_gradients_including_broadcast_prior_parameters():
    inputs = _kl_inputs(36)
    rng = _rng(37)
    gy = rng.randn(5)
    gg = tuple(rng.randn(*a.shape) for a in inputs)

    def f(*args):
        return _NormalKL(1).apply(args)[0]

    assert f(*inputs).shape == (5,)
    np.testing.assert_allclose(f(*inputs).array, _NormalKL().apply(inputs)[0].array.sum(1),
                               rtol=1e-12)
    gradient_check.check_backward(f, inputs, gy, dtype=np.float64, **F64)
    gradient_check.check_double_backward(f, inputs, gy, gg, dtype=np.float64, **F64)


def test_independent_kl_between_other_distributions_is_chainers():
    rng = _rng(38)
    p1, p2 = rng.rand(2, 3, 4).astype(np.float32) * 0.8 + 0.1
    expected = (p1 * np.log(p1 / p2) + (1 - p1) * np.log((1 - p1) / (1 - p2))).sum(axis=1)
    for bernoulli in (D.Bernoulli, ops.Bernoulli):
        ours = ops.kl_divergence(
            ops.Independent(bernoulli(p=p1), reinterpreted_batch_ndims=1),
            D.Independent(D.Bernoulli(p=p2), reinterpreted_batch_ndims=1))
        np.testing.assert_allclose(ours.array, expected, rtol=1e-5)


def test_independent_kl_to_the_prior_matches_chainer():
    from chainer_vae.model import Prior

    loc, ls = (a.astype(np.float32) for a in _kl_inputs(12)[:2])
    prior = Prior(3)
    plain_q = D.Independent(D.Normal(loc, log_scale=ls), reinterpreted_batch_ndims=1)
    plain_p = D.Independent(D.Normal(prior.loc, scale=prior.scale), reinterpreted_batch_ndims=1)
    expected = chainer.kl_divergence(plain_q, plain_p).array
    for independent in (D.Independent, ops.Independent):
        q = independent(ops.Normal(loc, log_scale=ls), reinterpreted_batch_ndims=1)
        got = ops.kl_divergence(q, prior())
        assert got.shape == (5,)
        np.testing.assert_allclose(got.array, expected, rtol=1e-5)
