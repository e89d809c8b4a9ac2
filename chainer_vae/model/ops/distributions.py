"""``Bernoulli``, ``Normal`` and ``Independent``: chainer's distributions with fused
log-probabilities and sampling."""
import chainer
import chainer.distributions as D
import chainer.functions as F
import numpy
from chainer import function_node
from chainer.backends import cuda

from chainer_vae.model.ops.gradients import (backward_math, constant, expand_event,
                                             sum_event)
from chainer_vae.model.ops.switch import fused_enabled


def stable_softplus(xp, logit):
    """softplus(logit) = max(l, 0) + log(1 + exp(-|l|)) as a new array, finite for every
    logit, built in place in one buffer.

    log(1 + e) rather than log1p(e): e is in (0, 1], so both are within float32 rounding
    of the sum, and NumPy's float32 log1p is scalar code, several times slower than its
    vectorized log.
    """
    softplus = xp.abs(logit)
    xp.negative(softplus, out=softplus)
    xp.exp(softplus, out=softplus)
    softplus += 1
    xp.log(softplus, out=softplus)
    softplus += xp.maximum(logit, 0)
    return softplus


class _StableBernoulliLogProb(function_node.FunctionNode):
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
        return sum_event(log_prob, self.event_ndims),

    def backward(self, indexes, grad_outputs):
        # d/dlogit = x - sigmoid(logit), written twice: the array path (the MLP's hottest
        # backward) reuses the forward's softplus and works in one buffer, which a graph
        # cannot do (its sigmoid must be differentiable in logit, the saved softplus is not)
        logit, x = self.get_retained_inputs()
        gy, = grad_outputs
        if backward_math().graph:
            return expand_event(gy, self.event_ndims) * (x - F.sigmoid(logit)), None
        # l - softplus(l) = -softplus(-l) <= 0: no overflow
        xp = chainer.backend.get_array_module(logit.array)
        grad = xp.subtract(logit.array, self._softplus)
        xp.exp(grad, out=grad)
        xp.subtract(x.array, grad, out=grad)
        grad *= expand_event(gy.array, self.event_ndims)
        return constant(grad), None


class Bernoulli(D.Bernoulli):
    """``chainer.distributions.Bernoulli`` whose log-probability never overflows (see
    ``_StableBernoulliLogProb``), in one node, plus ``summed_log_prob``."""

    @property
    def batch_shape(self):
        # chainer reads it from ``p``, which costs a sigmoid of every logit (and a graph
        # node) each time an Independent wraps the distribution.
        return self.logit.shape

    def log_prob(self, x):
        return self.summed_log_prob(x, 0)

    def summed_log_prob(self, x, event_ndims):
        """log p(x) summed over the last ``event_ndims`` axes: one node, or with the fused
        paths off the same formula, x logit - softplus(logit), in chainer functions."""
        x = chainer.as_array(x)
        if not fused_enabled():
            log_prob = self.logit * x.astype(self.logit.dtype, copy=False) \
                - F.softplus(self.logit)
            return F.sum(log_prob, axis=tuple(range(-event_ndims, 0))) if event_ndims \
                else log_prob
        return _StableBernoulliLogProb(event_ndims).apply((self.logit, x))[0]


def _standard_normal(xp, shape, dtype):
    """N(0, 1) draws exactly as chainer's ``Normal.sample_n`` makes them, so the random
    streams (and runs saved before this module existed) stay the same."""
    if xp is cuda.cupy:
        if dtype == numpy.float16:  # cuRAND has no float16
            return xp.random.standard_normal(shape, dtype=numpy.float32).astype(dtype)
        return xp.random.standard_normal(shape, dtype=dtype)
    return numpy.random.standard_normal(shape).astype(dtype)


class _Reparameterize(function_node.FunctionNode):
    """z = loc + exp(log_scale) * eps for fixed noise eps (n, *shape); loc and log_scale
    have the batch shape and broadcast over the n samples."""

    def __init__(self, eps):
        self.eps = eps

    def forward(self, inputs):
        loc, log_scale = inputs
        xp = chainer.backend.get_array_module(loc)
        self.retain_inputs((1,))
        z = xp.exp(log_scale)
        z = z * self.eps  # (n, *shape): a new array, broadcast over the samples
        z += loc
        return z,

    def backward(self, indexes, grad_outputs):
        math = backward_math()
        log_scale, = math.values(self.get_retained_inputs())
        gz, = math.values(grad_outputs)
        shape = log_scale.shape
        gloc = math.sum_to(gz, shape) if 0 in indexes else None
        glog_scale = (math.sum_to(gz * self.eps, shape) * math.exp(log_scale)
                      if 1 in indexes else None)
        return math.gradients((gloc, glog_scale))


class Normal(D.Normal):
    """``chainer.distributions.Normal`` (the same arguments) whose reparameterised
    ``sample_n`` is one node when it was built from ``log_scale``, drawing the noise as
    chainer does. Every value is chainer's; ``kl_divergence`` has a fused path for it."""

    def __init__(self, loc, scale=None, **kwargs):
        super().__init__(loc, scale, **kwargs)
        self._from_log_scale = scale is None

    def sample_n(self, n):
        """n draws (n, *batch_shape): loc + scale * eps, eps drawn as chainer draws it."""
        loc = self.loc
        xp = chainer.backend.get_array_module(loc)
        if not self._from_log_scale or xp not in (numpy, cuda.cupy) or not fused_enabled():
            return super().sample_n(n)
        eps = _standard_normal(xp, (n,) + loc.shape, loc.dtype)
        return _Reparameterize(eps).apply((loc, self.log_scale))[0]


class Independent(D.Independent):
    """``chainer.distributions.Independent`` (the same arguments) whose ``log_prob`` over
    a base distribution with ``summed_log_prob(x, event_ndims)`` (``Bernoulli`` here) sums
    over the event inside that one node, instead of adding a sum node and its backward's
    broadcast nodes. Every value is chainer's."""

    def log_prob(self, x):
        summed_log_prob = getattr(self.distribution, "summed_log_prob", None)
        if summed_log_prob is None or not fused_enabled():
            return super().log_prob(x)
        return summed_log_prob(x, self.reinterpreted_batch_ndims)
