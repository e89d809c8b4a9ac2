"""``ops.Bernoulli``, ``ops.Normal`` and ``ops.Independent`` compute what chainer's
distributions do (the Bernoulli log-probability also where chainer's overflows): values,
gradients, second derivatives and the random draws."""
from __future__ import annotations

import chainer_vae  # noqa: F401  (before chainer)
import chainer
import chainer.distributions as D
import chainer.functions as F
import numpy as np
import pytest
from chainer import gradient_check

from chainer_vae.model import ops
from chainer_vae.model.ops import Bernoulli
from chainer_vae.model.ops.distributions import _Reparameterize, _StableBernoulliLogProb

F64 = {"atol": 1e-6, "rtol": 1e-6}


def _rng(seed=0):
    return np.random.RandomState(seed)


def _plain_bernoulli_log_prob(logit, x):
    return x * logit - F.softplus(logit)


def test_bernoulli_log_prob_equals_x_logit_minus_softplus():
    rng = _rng(3)
    logit = (rng.randn(6, 9) * 5).astype(np.float32)
    logit[0, :3] = [-200.0, 0.0, 200.0]  # far outside exp's float32 range
    x = (rng.rand(6, 9) < 0.4).astype(np.float32)
    got = _StableBernoulliLogProb().apply((logit, x))[0].array
    np.testing.assert_allclose(got, _plain_bernoulli_log_prob(logit, x).array,
                               rtol=1e-6, atol=1e-6)
    assert np.isfinite(got).all() and got.dtype == np.float32
    # chainer's Bernoulli agrees wherever its own formula does not overflow
    ok = np.abs(logit) < 30
    with np.errstate(over="ignore"):
        theirs = D.Bernoulli(logit=logit).log_prob(x).array
    np.testing.assert_allclose(got[ok], theirs[ok], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("event_ndims", [0, 2])
def test_bernoulli_log_prob_gradients(event_ndims):
    rng = _rng(4 + 30 * event_ndims)
    logit = rng.randn(3, 4, 2) * 3
    x = rng.rand(3, 4, 2)  # grey levels are allowed too
    gy, ggl = rng.randn(*(3, 4, 2)[:3 - event_ndims]), rng.randn(3, 4, 2)

    def f(logit):
        return _StableBernoulliLogProb(event_ndims).apply((logit, x))[0]

    gradient_check.check_backward(f, logit, gy, dtype=np.float64, **F64)
    gradient_check.check_double_backward(f, logit, gy, ggl, dtype=np.float64, **F64)


def test_summed_bernoulli_log_prob_is_the_sum_over_the_event():
    rng = _rng(33)
    logit = (rng.randn(3, 4, 5) * 4).astype(np.float32)
    x = (rng.rand(3, 4, 5) < 0.4).astype(np.float32)
    elementwise = _StableBernoulliLogProb().apply((logit, x))[0].array
    for ndims in (1, 2):
        got = _StableBernoulliLogProb(ndims).apply((logit, x))[0].array
        assert got.shape == (3, 4, 5)[:3 - ndims]
        np.testing.assert_allclose(got, elementwise.sum(axis=tuple(range(-ndims, 0))),
                                   rtol=1e-5, atol=1e-5)


def test_fused_independent_log_prob_matches_chainers_independent():
    rng = _rng(35)
    logit = (rng.randn(3, 4, 5) * 4).astype(np.float32)
    x = (rng.rand(3, 4, 5) < 0.4).astype(np.float32)
    ours = ops.Independent(Bernoulli(logit=logit), reinterpreted_batch_ndims=2)
    theirs = D.Independent(Bernoulli(logit=logit), reinterpreted_batch_ndims=2)
    assert ours.batch_shape == (3,) and ours.event_shape == (4, 5)
    np.testing.assert_allclose(ours.log_prob(x).array, theirs.log_prob(x).array,
                               rtol=1e-5, atol=1e-5)
    # a base without a summed log-probability goes through chainer's sum
    loc, scale = rng.randn(3, 4).astype(np.float32), np.full((3, 4), 0.5, np.float32)
    z = rng.randn(3, 4).astype(np.float32)
    np.testing.assert_allclose(
        ops.Independent(D.Normal(loc, scale)).log_prob(z).array,
        D.Independent(D.Normal(loc, scale)).log_prob(z).array, rtol=1e-6)


def test_bernoulli_gradient_is_x_minus_sigmoid_for_extreme_logits():
    logit = chainer.Variable(np.array([[-300.0, -30.0, 0.0, 30.0, 300.0]], np.float32))
    x = np.array([[1, 0, 1, 0, 1]], np.float32)
    F.sum(_StableBernoulliLogProb().apply((logit, x))[0]).backward()
    expected = x - 1 / (1 + np.exp(-logit.array.astype(np.float64)))
    np.testing.assert_allclose(logit.grad, expected, rtol=1e-6, atol=1e-7)


def test_fused_sample_draws_the_same_noise_and_values_as_chainer():
    rng = _rng(7)
    loc, log_scale = rng.randn(4, 3).astype(np.float32), rng.randn(4, 3).astype(np.float32)
    np.random.seed(11)
    ours = ops.Normal(loc, log_scale=log_scale).sample_n(2).array
    state_after_ours = np.random.get_state()[2]
    np.random.seed(11)
    theirs = D.Normal(loc, log_scale=log_scale).sample_n(2).array
    assert np.random.get_state()[2] == state_after_ours  # the same draws were taken
    assert ours.shape == (2, 4, 3) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)


def test_fused_sample_gradients():
    rng = _rng(8)
    loc, log_scale = rng.randn(4, 3), rng.randn(4, 3) * 0.5
    eps = rng.randn(2, 4, 3)
    gy = rng.randn(2, 4, 3)
    gg = (rng.randn(4, 3), rng.randn(4, 3))

    def f(loc, log_scale):
        return _Reparameterize(eps).apply((loc, log_scale))[0]

    gradient_check.check_backward(f, (loc, log_scale), gy, dtype=np.float64, **F64)
    gradient_check.check_double_backward(f, (loc, log_scale), gy, gg, dtype=np.float64, **F64)


def test_scale_built_normal_samples_through_chainer():
    loc, scale = np.zeros((2, 3), np.float32), np.full((2, 3), 2.0, np.float32)
    np.random.seed(3)
    ours = ops.Normal(loc, scale=scale).sample_n(1).array
    np.random.seed(3)
    np.testing.assert_array_equal(ours, D.Normal(loc, scale=scale).sample_n(1).array)
