"""Likelihoods p(x|z): turn a decoder's raw output into a ``chainer.distributions`` object.

A likelihood says how many raw outputs it needs per data value (``n_params``) and wraps
them, shaped (B, n_params, *event_shape), into a distribution whose ``log_prob(x)`` is
in nats per example (summed over every data dimension, shape (B,)).
"""
import chainer
import chainer.distributions as D
import chainer.functions as F

from chainer_vae import fused
from chainer_vae.errors import ConfigError


def stable_softplus(xp, logit):
    """softplus(logit) = max(l, 0) + log(1 + exp(-|l|)) as a new array, finite for every
    logit, built in place in one buffer.

    log(1 + e) rather than log1p(e): e is in (0, 1], so both are within float32 rounding
    of the sum, and NumPy's float32 log1p is scalar code: about five times slower than
    its vectorized log on an AVX2 CPU (measured 3.2 against 0.66 ms).
    """
    softplus = xp.abs(logit)
    xp.negative(softplus, out=softplus)
    xp.exp(softplus, out=softplus)
    softplus += 1
    xp.log(softplus, out=softplus)
    softplus += xp.maximum(logit, 0)
    return softplus


class _StableBernoulliLogProb(chainer.function_node.FunctionNode):
    """log Bernoulli(x; sigmoid(logit)) = x * logit - softplus(logit), in one pass.

    chainer's own ``Bernoulli.log_prob`` computes ``log(exp(-logit) + 1)``, which overflows
    to inf in float32 for logits below about -88 and turns the loss infinite; this form
    stays finite for every logit and costs fewer temporaries: the forward pass writes
    into two buffers, and keeps softplus(logit) so that the backward pass gets
    sigmoid(logit) = exp(logit - softplus(logit)) with one exp instead of a graph node.
    The result is summed over the last ``event_ndims`` axes (an ``Independent``'s event).
    """

    def __init__(self, event_ndims=0):
        self.event_ndims = event_ndims

    def forward(self, inputs):
        logit, x = inputs
        self.retain_inputs((0, 1))
        xp = chainer.backend.get_array_module(logit)
        softplus = self._softplus = stable_softplus(xp, logit)
        log_prob = xp.multiply(x, logit, dtype=logit.dtype)
        log_prob -= softplus
        return fused.sum_event(log_prob, self.event_ndims),

    def backward(self, indexes, grad_outputs):
        logit, x = self.get_retained_inputs()
        gy, = grad_outputs
        if chainer.config.enable_backprop:  # double backprop: keep the graph
            return fused.expand_event(gy, self.event_ndims) * (x - F.sigmoid(logit)), None
        # d/dlogit = x - sigmoid(logit); l - softplus(l) = -softplus(-l) <= 0: no overflow
        xp = chainer.backend.get_array_module(logit.array)
        grad = xp.subtract(logit.array, self._softplus)
        xp.exp(grad, out=grad)
        xp.subtract(x.array, grad, out=grad)
        grad *= fused.expand_event(gy.array, self.event_ndims)
        return chainer.Variable(grad, requires_grad=False), None


class Bernoulli(D.Bernoulli):
    """chainer's Bernoulli with a log-probability that never overflows (see above)."""

    @property
    def batch_shape(self):
        # chainer reads it from ``p``, which costs a sigmoid of every logit (and a graph
        # node) each time an Independent wraps the distribution.
        return self.logit.shape

    def log_prob(self, x):
        return self.summed_log_prob(x, 0)

    def summed_log_prob(self, x, event_ndims):
        """log p(x) summed over the last ``event_ndims`` axes, in one node."""
        x = chainer.as_array(x)
        return _StableBernoulliLogProb(event_ndims).apply((self.logit, x))[0]


def _first_param(raw):
    """raw[:, 0] (B, *event_shape) of raw outputs (B, n_params, *event_shape).

    With one parameter it is a reshape: a view whose backward is a reshape too, where
    the ``raw[:, 0]`` slice would scatter its gradient back with ``numpy.add.at``.
    """
    if raw.shape[1] == 1:
        return fused.reshape(raw, (raw.shape[0],) + raw.shape[2:])
    return raw[:, 0]


def _independent(distribution):
    """Treat every data dimension as part of one event: log_prob sums to shape (B,)."""
    return fused.Independent(distribution,
                             reinterpreted_batch_ndims=len(distribution.batch_shape) - 1)


class BernoulliLikelihood:
    """Bernoulli per value, for binary data or grey levels read as probabilities."""

    n_params = 1
    binary = True

    def __call__(self, raw):
        return _independent(Bernoulli(logit=_first_param(raw)))

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
        if self.learned:
            loc, log_scale = F.separate(raw, axis=1)  # one node, not two slices
            return _independent(D.Normal(loc, log_scale=log_scale))
        loc = _first_param(raw)
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


