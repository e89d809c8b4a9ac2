"""Adam with an in-place CPU update: chainer's rule, without its temporary arrays.

chainer's ``AdamRule.update_core_cpu`` allocates about ten temporaries the size of the
parameter per step (``grad - m``, ``grad * grad``, ``sqrt(v)``, ``step * m``, ...). For a
784x400 weight that is ~12 MB of fresh memory written per step. ``FusedAdam`` computes
the same update into one scratch buffer per parameter, reused every step. The state
(``m``, ``v``, the step count) and the hyperparameters are chainer's, so snapshots of
either optimizer load into the other. GPU updates, AMSGrad, AdaBound and float16
parameters use chainer's own code.
"""
import chainer
import numpy
from chainer.optimizers import adam


class FusedAdamRule(adam.AdamRule):
    """``AdamRule`` whose CPU update works in place (see the module docstring)."""

    _scratch = None

    def _buffer(self, like):
        """A scratch array shaped like ``like``, kept between steps (not serialized)."""
        buf = self._scratch
        if buf is None or buf.shape != like.shape or buf.dtype != like.dtype:
            buf = self._scratch = numpy.empty_like(like)
        return buf

    def update_core_cpu(self, param):
        grad = param.grad
        if grad is None:
            return
        hp = self.hyperparam
        data = param.data
        if (hp.amsgrad or hp.adabound or not isinstance(data, numpy.ndarray)
                or data.dtype == numpy.float16 or grad.dtype != data.dtype):
            return super().update_core_cpu(param)
        self._check_eps(data.dtype.type)
        m, v = self.state["m"], self.state["v"]
        buf = self._buffer(data)
        # m += (1 - beta1) * (grad - m)
        numpy.subtract(grad, m, out=buf)
        buf *= 1.0 - hp.beta1
        m += buf
        # v += (1 - beta2) * (grad * grad - v)
        numpy.multiply(grad, grad, out=buf)
        buf -= v
        buf *= 1.0 - hp.beta2
        v += buf
        # param = (1 - eta * weight_decay_rate) * param - eta * alpha_t * m / (sqrt(v) + eps)
        numpy.sqrt(v, out=buf)
        buf += hp.eps
        numpy.divide(m, buf, out=buf)
        buf *= -hp.eta * self.alpha_t
        if hp.weight_decay_rate != 0:
            data *= 1.0 - hp.eta * hp.weight_decay_rate
        data += buf


class FusedAdam(chainer.optimizers.Adam):
    """``chainer.optimizers.Adam`` (same arguments, state and results up to float
    rounding) with ``FusedAdamRule`` for every parameter."""

    def create_update_rule(self):
        return FusedAdamRule(self.hyperparam)
