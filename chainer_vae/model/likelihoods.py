"""Likelihoods p(x|z): turn a decoder's raw output into a ``chainer.distributions`` object.

A likelihood says how many raw outputs it needs per data value (``n_params``) and wraps
them, shaped (B, n_params, *event_shape), into a distribution whose ``log_prob(x)`` is
in nats per example (summed over every data dimension, shape (B,)).
"""
import math

import chainer
import chainer.distributions as D
import chainer.functions as F
import numpy

from chainer_vae.errors import ConfigError, choice
from chainer_vae.model import ops


def _first_param(raw):
    """raw[:, 0] (B, *event_shape) of raw outputs (B, n_params, *event_shape).

    With one parameter it is a reshape: a view whose backward is a reshape too, where
    the ``raw[:, 0]`` slice would scatter its gradient back with ``numpy.add.at``.
    """
    if raw.shape[1] == 1:
        return ops.reshape(raw, (raw.shape[0],) + raw.shape[2:])
    return raw[:, 0]


def _independent(distribution):
    """Treat every data dimension as part of one event: log_prob sums to shape (B,)."""
    return ops.Independent(distribution,
                           reinterpreted_batch_ndims=len(distribution.batch_shape) - 1)


class BernoulliLikelihood:
    """Bernoulli per value, for binary data or grey levels read as probabilities."""

    n_params = 1
    binary = True

    def __call__(self, raw):
        return _independent(ops.Bernoulli(logit=_first_param(raw)))

    def mean(self, raw):
        """``mean_of(self(raw))`` as the array it is, without building the distribution
        (generation loops call it once per value): the sigmoid of raw[:, 0], computed as
        chainer's ``F.sigmoid`` computes it."""
        logit = chainer.as_array(raw)[:, 0]
        half = logit.dtype.type(0.5)
        xp = chainer.backend.get_array_module(logit)
        mean = xp.tanh(logit * half)
        mean *= half
        mean += half
        return mean


class GaussianLikelihood:
    """Gaussian per value with a fixed standard deviation ``sigma`` (the MSE form:
    -log p = ||x - mu||^2 / (2 sigma^2) + const) or, with ``learned``, a log standard
    deviation predicted by the decoder for every value.
    """

    def __init__(self, sigma=1.0, learned=False):
        if sigma <= 0:
            raise ConfigError("gaussian likelihood: sigma must be positive, got {}".format(sigma))
        self.sigma = float(sigma)
        self.learned = bool(learned)
        self.n_params = 2 if self.learned else 1
        self.binary = False

    def __call__(self, raw):
        if self.learned:
            loc, log_scale = F.separate(raw, axis=1)  # one node, not two slices
            return _independent(ops.Normal(loc, log_scale=log_scale))
        loc = _first_param(raw)
        scale = loc.xp.full(loc.shape, self.sigma, dtype=loc.dtype)
        return _independent(ops.Normal(loc, scale=scale))

    def mean(self, raw):
        """``mean_of(self(raw))`` as an array, without building the distribution: the
        locations raw[:, 0]."""
        return chainer.as_array(raw)[:, 0].copy()


# The continuous Bernoulli's normaliser and mean divide 0 by 0 at lambda = 1/2 (logit 0);
# below these |logit| they are their Taylor series about 0 instead: the log normaliser
# (float32) to the s^2 term, the mean (float64) to the logit^3 term, each truncated where
# the next term is under 1e-9 of the value.
LOG_NORM_TAYLOR = 0.1
MEAN_TAYLOR = 1e-3


def continuous_bernoulli_log_norm(logit):
    """log C(lambda) of the continuous Bernoulli, elementwise, for lambda = sigmoid(logit):
    a Variable of the logits' shape and dtype, in nats.

    C(lambda) = 2 artanh(1 - 2 lambda) / (1 - 2 lambda) normalises lambda^x (1 - lambda)^(1
    - x) over x in [0, 1] (Loaiza-Ganem & Cunningham, 2019). In the logit eta it is eta /
    tanh(eta / 2): even in eta, about |eta| for large |eta|, finite for every eta but 0.
    Below ``LOG_NORM_TAYLOR`` it is log 2 + s / 12 - 7 s^2 / 1440 with s = eta^2 (the
    closed form's 0 / 0 at eta = 0 is where lambda = 1/2). Written with
    ``chainer.functions``, so it has every derivative; the closed form reads a logit kept
    away from 0, so no NaN reaches the gradient through the branch that is not taken.
    """
    logit = chainer.as_variable(logit)
    xp = chainer.backend.get_array_module(logit.array)
    small = xp.abs(logit.array) < LOG_NORM_TAYLOR
    away = F.absolute(F.where(small, xp.ones_like(logit.array), logit))
    exact = F.log(away / F.tanh(0.5 * away))
    s = logit * logit
    taylor = math.log(2.0) + s * (1.0 / 12) - s * s * (7.0 / 1440)
    return F.where(small, taylor, exact)


def continuous_bernoulli_mean(logit):
    """The mean of the continuous Bernoulli of logit eta, an array of the logits' shape
    and dtype: lambda / (2 lambda - 1) + 1 / (2 artanh(1 - 2 lambda)), which in eta is 1/2
    + 1 / (2 tanh(eta / 2)) - 1 / eta (about 1 - 1 / eta for large eta, -1 / eta for very
    negative eta), computed in float64; 1/2 + eta / 12 - eta^3 / 720 below
    ``MEAN_TAYLOR``."""
    logit = chainer.as_array(logit)
    xp = chainer.backend.get_array_module(logit)
    eta = logit.astype(numpy.float64)
    small = xp.abs(eta) < MEAN_TAYLOR
    away = xp.where(small, 1.0, eta)
    exact = 0.5 + 0.5 / xp.tanh(0.5 * away) - 1.0 / away
    taylor = 0.5 + eta / 12 - eta ** 3 / 720
    return xp.where(small, taylor, exact).astype(logit.dtype)


class ContinuousBernoulli(chainer.Distribution):
    """The continuous Bernoulli distribution on [0, 1] (Loaiza-Ganem & Cunningham, 2019),
    p(x | lambda) = C(lambda) lambda^x (1 - lambda)^(1 - x), given by its logit (any
    shape; lambda = sigmoid(logit)): the normalised likelihood of grey levels, where the
    Bernoulli's is not one. ``log_prob(x)`` in nats per value, x in [0, 1]."""

    def __init__(self, logit):
        super().__init__()
        self.logit = chainer.as_variable(logit)

    @property
    def batch_shape(self):
        return self.logit.shape

    @property
    def event_shape(self):
        return ()

    @property
    def params(self):
        return {"logit": self.logit}

    @property
    def mean(self):
        """E[x] (``continuous_bernoulli_mean``), as a Variable without a graph."""
        return chainer.Variable(continuous_bernoulli_mean(self.logit.array))

    def log_prob(self, x):
        return self.summed_log_prob(x, 0)

    def summed_log_prob(self, x, event_ndims):
        """log p(x) summed over the last ``event_ndims`` axes: the Bernoulli terms
        x logit - softplus(logit) (one node, ``ops.Bernoulli``) plus log C."""
        log_norm = continuous_bernoulli_log_norm(self.logit)
        if event_ndims:
            log_norm = F.sum(log_norm, axis=tuple(range(-event_ndims, 0)))
        return ops.Bernoulli(logit=self.logit).summed_log_prob(x, event_ndims) + log_norm


class ContinuousBernoulliLikelihood:
    """Continuous Bernoulli per value, for grey levels in [0, 1]: its mean, not the
    logit's sigmoid, is the value samples and reconstructions show."""

    n_params = 1
    binary = False

    def __call__(self, raw):
        return _independent(ContinuousBernoulli(_first_param(raw)))

    def mean(self, raw):
        """``mean_of(self(raw))`` as an array, without building the distribution."""
        return continuous_bernoulli_mean(chainer.as_array(raw)[:, 0])


LIKELIHOODS = {"bernoulli": BernoulliLikelihood, "gaussian": GaussianLikelihood,
               "continuous-bernoulli": ContinuousBernoulliLikelihood}


def make_likelihood(name, sigma=1.0, learned_variance=False):
    """The likelihood called ``name`` ("bernoulli", "gaussian" or "continuous-bernoulli")."""
    cls = choice(LIKELIHOODS, name, "likelihood")
    if cls is GaussianLikelihood:
        return GaussianLikelihood(sigma=sigma, learned=learned_variance)
    return cls()


def at_temperature(likelihood, raw, temperature):
    """Raw outputs whose logits are divided by ``temperature`` (> 0), MusicVAE's sampling
    temperature: below 1 the Bernoulli probabilities move towards 0 and 1 (fewer, surer
    notes), above 1 towards 1/2. Only a Bernoulli likelihood has logits to scale; any other
    takes the temperature 1 alone (a ``ConfigError`` otherwise)."""
    if temperature == 1:
        return raw
    if not temperature > 0:
        raise ConfigError("the temperature must be above 0, got {!r}".format(temperature))
    if not isinstance(likelihood, BernoulliLikelihood):
        name = next(key for key, cls in LIKELIHOODS.items() if isinstance(likelihood, cls))
        raise ConfigError("a temperature scales Bernoulli logits; this model's likelihood is "
                          "{}".format(name))
    return raw * (1.0 / temperature)


def mean_of(distribution):
    """The mean of p(x|z) as an array: probabilities for Bernoulli, locations for Gaussian,
    ``continuous_bernoulli_mean`` for the continuous Bernoulli."""
    inner = distribution.distribution if isinstance(distribution, D.Independent) else distribution
    if isinstance(inner, ContinuousBernoulli):
        return inner.mean.array
    return differentiable_mean(inner).array


def differentiable_mean(distribution):
    """The mean of a Bernoulli or Gaussian p(x|z) as a Variable that gradients flow
    through to the decoder (a VAE-GAN's discriminator reads it); a ``ConfigError`` for
    the continuous Bernoulli, whose mean has no graph."""
    inner = distribution.distribution if isinstance(distribution, D.Independent) else distribution
    if isinstance(inner, ContinuousBernoulli):
        raise ConfigError("the continuous Bernoulli's mean has no gradient")
    if isinstance(inner, D.Bernoulli):
        return F.sigmoid(inner.logit)
    return inner.loc
