"""Likelihoods p(x|z): turn a decoder's raw output into a ``chainer.distributions`` object.

A likelihood says how many raw outputs it needs per data value (``n_params``) and wraps
them, shaped (B, n_params, *event_shape), into a distribution whose ``log_prob(x)`` is
in nats per example (summed over every data dimension, shape (B,)).
"""
import chainer
import chainer.distributions as D
import chainer.functions as F

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


LIKELIHOODS = {"bernoulli": BernoulliLikelihood, "gaussian": GaussianLikelihood}


def make_likelihood(name, sigma=1.0, learned_variance=False):
    """The likelihood called ``name`` ("bernoulli" or "gaussian")."""
    cls = choice(LIKELIHOODS, name, "likelihood")
    if cls is GaussianLikelihood:
        return GaussianLikelihood(sigma=sigma, learned=learned_variance)
    return cls()


def mean_of(distribution):
    """The mean of p(x|z) as an array: probabilities for Bernoulli, locations for Gaussian."""
    inner = distribution.distribution if isinstance(distribution, D.Independent) else distribution
    if isinstance(inner, D.Bernoulli):
        return F.sigmoid(inner.logit).array
    return inner.loc.array
