"""Likelihoods p(x|z): turn a decoder's raw output into a ``chainer.distributions`` object.

A likelihood says how many raw outputs it needs per data value (``n_params``) and wraps
them, shaped (B, n_params, *event_shape), into a distribution whose ``log_prob(x)`` is
in nats per example (summed over every data dimension, shape (B,)).
"""
import chainer
import chainer.distributions as D
import chainer.functions as F

from chainer_vae.errors import ConfigError


class _StableBernoulliLogProb(chainer.function_node.FunctionNode):
    """log Bernoulli(x; sigmoid(logit)) = x * logit - softplus(logit), in one pass.

    chainer's own ``Bernoulli.log_prob`` computes ``log(exp(-logit) + 1)``, which overflows
    to inf in float32 for logits below about -88 and turns the loss infinite; this form
    stays finite for every logit and costs fewer temporaries.
    """

    def forward(self, inputs):
        logit, x = inputs
        self.retain_inputs((0, 1))
        xp = chainer.backend.get_array_module(logit)
        softplus = xp.maximum(logit, 0) + xp.log1p(xp.exp(-xp.abs(logit)))
        return (x * logit - softplus).astype(logit.dtype, copy=False),

    def backward(self, indexes, grad_outputs):
        logit, x = self.get_retained_inputs()
        gy, = grad_outputs
        return gy * (x - F.sigmoid(logit)), None


class Bernoulli(D.Bernoulli):
    """chainer's Bernoulli with a log-probability that never overflows (see above)."""

    def log_prob(self, x):
        x = chainer.as_array(x)
        return _StableBernoulliLogProb().apply((self.logit, x))[0]


def _independent(distribution):
    """Treat every data dimension as part of one event: log_prob sums to shape (B,)."""
    return D.Independent(distribution, reinterpreted_batch_ndims=len(distribution.batch_shape) - 1)


class BernoulliLikelihood:
    """Bernoulli per value, for binary data or grey levels read as probabilities."""

    n_params = 1
    binary = True

    def __call__(self, raw):
        return _independent(Bernoulli(logit=raw[:, 0]))

    def to_dict(self):
        return {"likelihood": "bernoulli"}


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
        loc = raw[:, 0]
        if self.learned:
            return _independent(D.Normal(loc, log_scale=raw[:, 1]))
        scale = loc.xp.full(loc.shape, self.sigma, dtype=loc.dtype)
        return _independent(D.Normal(loc, scale=scale))

    def to_dict(self):
        return {"likelihood": "gaussian", "sigma": self.sigma, "learned_variance": self.learned}


LIKELIHOODS = {"bernoulli": BernoulliLikelihood, "gaussian": GaussianLikelihood}


def make_likelihood(name, sigma=1.0, learned_variance=False):
    """The likelihood called ``name`` ("bernoulli" or "gaussian")."""
    try:
        cls = LIKELIHOODS[name]
    except KeyError:
        raise ConfigError("unknown likelihood {!r}; choose one of {}".format(
            name, ", ".join(sorted(LIKELIHOODS)))) from None
    if cls is GaussianLikelihood:
        return GaussianLikelihood(sigma=sigma, learned=learned_variance)
    return cls()


def mean_of(distribution):
    """The mean of p(x|z) as an array: probabilities for Bernoulli, locations for Gaussian."""
    inner = distribution.distribution if isinstance(distribution, D.Independent) else distribution
    if isinstance(inner, D.Bernoulli):
        return F.sigmoid(inner.logit).array
    return inner.loc.array


def is_probability(distribution):
    inner = distribution.distribution if isinstance(distribution, D.Independent) else distribution
    return isinstance(inner, D.Bernoulli)


