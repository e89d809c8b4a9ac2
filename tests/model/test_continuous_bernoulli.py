"""The continuous Bernoulli likelihood: its normaliser, density, mean and gradients against
numerical integration and closed forms, and a VAE scored with it."""
import math

import numpy as np
import pytest
from scipy.integrate import quad

import chainer_vae  # noqa: F401
import chainer
from chainer import gradient_check

from chainer_vae.config import ModelConfig
from chainer_vae.model import ELBOLoss, build_model
from chainer_vae.model.likelihoods import (LOG_NORM_TAYLOR, ContinuousBernoulli,
                                           continuous_bernoulli_log_norm,
                                           continuous_bernoulli_mean, make_likelihood, mean_of)

# lambda from the extremes to 1/2 +- 1e-4, where the closed form is 0 / 0
LAMBDAS = [1e-12, 1e-6, 1e-3, 0.05, 0.3, 0.49, 0.5 - 1e-4, 0.5, 0.5 + 1e-4, 0.51, 0.7, 0.95,
           1 - 1e-3, 1 - 1e-6]
LOGITS = [math.log(lam / (1 - lam)) for lam in LAMBDAS] + [-60.0, 60.0, LOG_NORM_TAYLOR]


def log_lambdas(logit):
    """log lambda and log (1 - lambda) of a logit, in float64, finite at the extremes."""
    return -np.logaddexp(0, -logit), -np.logaddexp(0, logit)


def integral(logit, power=0):
    """int_0^1 x^power lambda^x (1 - lambda)^(1 - x) dx by adaptive quadrature."""
    log_lam, log_rest = log_lambdas(logit)
    value, _ = quad(lambda x: x ** power * math.exp(x * log_lam + (1 - x) * log_rest), 0, 1,
                    epsabs=0, epsrel=1e-12, limit=200)
    return value


def test_the_log_normaliser_is_minus_the_log_of_the_integral():
    got = continuous_bernoulli_log_norm(np.array(LOGITS, np.float32)).array
    expected = [-math.log(integral(logit)) for logit in LOGITS]
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=3e-7)


def test_the_density_integrates_to_one_and_its_mean_is_the_closed_form():
    for logit in LOGITS:
        def density(x, logit=logit):
            cb = ContinuousBernoulli(np.array([logit], np.float64))
            return math.exp(float(cb.log_prob(np.array([x])).array[0]))
        assert quad(density, 0, 1, epsabs=0, epsrel=1e-10)[0] == pytest.approx(1, rel=1e-9)
        mean = continuous_bernoulli_mean(np.array([logit]))[0]
        assert mean == pytest.approx(integral(logit, 1) / integral(logit), rel=1e-10, abs=1e-15)


def test_the_mean_is_the_closed_form_in_lambda():
    lam = np.array([1e-6, 0.01, 0.2, 0.4999, 0.5001, 0.8, 1 - 1e-6])
    closed = lam / (2 * lam - 1) + 1 / (2 * np.arctanh(1 - 2 * lam))
    mean = continuous_bernoulli_mean(np.log(lam / (1 - lam)))
    np.testing.assert_allclose(mean, closed, rtol=1e-9)
    assert continuous_bernoulli_mean(np.zeros(1, np.float32))[0] == 0.5
    float32 = continuous_bernoulli_mean(np.log(lam / (1 - lam)).astype(np.float32))
    assert float32.dtype == np.float32
    np.testing.assert_allclose(float32, closed, rtol=1e-6)


@pytest.mark.parametrize("center", [0.0, 3.0, -20.0])
def test_gradients_of_the_log_normaliser(center):
    """First and second derivatives on both sides of the Taylor branch (checked away from
    its edge, where the finite differences would straddle the two formulas)."""
    rng = np.random.RandomState(0)
    logit = center + rng.uniform(-0.05, 0.05, (3, 4))
    if center == 0.0:
        logit[0, 0] = 0.0  # lambda = 1/2 exactly: the derivative is 0, not 0 / 0
    gradient_check.check_backward(continuous_bernoulli_log_norm, logit, rng.randn(3, 4),
                                  dtype=np.float64, eps=1e-4, atol=1e-6, rtol=1e-5)
    gradient_check.check_double_backward(continuous_bernoulli_log_norm, logit,
                                         rng.randn(3, 4), rng.randn(3, 4), dtype=np.float64,
                                         eps=1e-4, atol=1e-6, rtol=1e-5)


def test_the_log_normaliser_derivative_is_the_closed_form():
    """d log C / d logit = 1 / eta - 1 / sinh(eta), its series near 0."""
    logit = chainer.Variable(np.array([-30.0, -2.0, -1e-3, 0.0, 1e-5, 0.05, 0.5, 7.0]))
    chainer.functions.sum(continuous_bernoulli_log_norm(logit)).backward()
    eta = logit.array
    series = eta / 6 - 7 * eta ** 3 / 360 + 31 * eta ** 5 / 15120  # where 1/eta cancels
    with np.errstate(divide="ignore", invalid="ignore"):
        closed = np.where(np.abs(eta) < 1e-2, series, 1 / eta - 1 / np.sinh(eta))
    np.testing.assert_allclose(logit.grad, closed, rtol=1e-7, atol=1e-15)


def test_log_prob_gradient_and_the_likelihood_sums_over_the_event():
    rng = np.random.RandomState(1)
    logit = rng.uniform(-4, 4, (3, 5))
    logit[0, :2] = [0.0, 2e-3]
    x = rng.rand(3, 5)
    gradient_check.check_backward(lambda l: ContinuousBernoulli(l).log_prob(x), logit,
                                  rng.randn(3, 5), dtype=np.float64, eps=1e-4, atol=1e-6)
    likelihood = make_likelihood("continuous-bernoulli")
    raw = logit[:, None].astype(np.float32)
    summed = likelihood(raw).log_prob(x.astype(np.float32)).array
    each = ContinuousBernoulli(logit).log_prob(x).array
    np.testing.assert_allclose(summed, each.sum(axis=1), rtol=1e-5)


def test_the_mean_not_the_sigmoid_is_what_a_decoder_generates():
    rng = np.random.RandomState(2)
    raw = rng.uniform(-5, 5, (4, 1, 6)).astype(np.float32)
    likelihood = make_likelihood("continuous-bernoulli")
    mean = continuous_bernoulli_mean(raw[:, 0])
    np.testing.assert_array_equal(mean_of(likelihood(raw)), mean)
    np.testing.assert_array_equal(likelihood.mean(raw), mean)
    sigmoid = 1 / (1 + np.exp(-raw[:, 0]))
    assert np.abs(mean - sigmoid).max() > 0.05
    np.random.seed(0)
    model = build_model(ModelConfig(input_shape=(6,), latent=2, hidden=[5],
                                    likelihood="continuous-bernoulli"))
    z = rng.randn(3, 2).astype(np.float32)
    with chainer.no_backprop_mode():
        logit = model.decoder(z).distribution.logit.array
    np.testing.assert_allclose(model.decode(z), continuous_bernoulli_mean(logit), rtol=1e-6)


def test_a_vae_that_ignores_z_scores_the_exact_log_density():
    """Decoder weights 0 and q(z|x) = p(z): every importance weight is log p(x), so the
    IWAE estimate and the ELBO equal the sum of the per-pixel log densities, computed here
    from the quadrature normaliser."""
    np.random.seed(0)
    model = build_model(ModelConfig(input_shape=(8,), latent=2, hidden=[],
                                    likelihood="continuous-bernoulli"))
    for param in model.params():
        param.array[...] = 0
    bias = np.array([-9.0, -1.0, -1e-4, 0.0, 1e-4, 0.3, 2.0, 12.0], np.float32)
    model.decoder.out.b.array[...] = bias
    x = np.random.RandomState(3).rand(5, 8).astype(np.float32)
    log_lam, log_rest = log_lambdas(bias.astype(np.float64))
    norm = np.array([-math.log(integral(logit)) for logit in bias.astype(np.float64)])
    exact = (x * log_lam + (1 - x) * log_rest + norm).sum(axis=1)
    np.testing.assert_allclose(model.log_likelihood(x, n_samples=7), exact, rtol=2e-6)
    with chainer.no_backprop_mode():
        elbo = -float(ELBOLoss(model)(x).array)
    assert elbo == pytest.approx(exact.mean(), rel=2e-6)
