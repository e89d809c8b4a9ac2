"""Adam with an in-place CPU update: chainer's rule, without its temporary arrays.

chainer's ``AdamRule.update_core_cpu`` allocates about ten temporaries the size of the
parameter per step (``grad - m``, ``grad * grad``, ``sqrt(v)``, ``step * m``, ...). For a
784x400 weight that is ~12 MB of fresh memory written per step. ``FusedAdam`` computes
the same update into one scratch buffer per parameter, reused every step. The state
(``m``, ``v``, the step count) and the hyperparameters are chainer's, so snapshots of
either optimizer load into the other. GPU updates, AMSGrad, AdaBound and float16
parameters use chainer's own code.

When every parameter takes the plain update (float32 NumPy arrays, one learning rate, no
per-parameter hooks), ``FusedAdam.update`` goes further: the parameters and both moments
live in three flat arrays (each parameter's array and state are views of them), the
gradients are copied into a fourth, and one pass of the update covers all of them. For
the MLP VAE on MNIST that is ten ufunc sequences and ten trips through chainer's
per-parameter ``UpdateRule.update`` replaced by one. Anything that replaces a
parameter's array or state (loading a snapshot, ``to_device``) is noticed at the next
step, which copies the values into new flat arrays.
"""
import chainer
import numpy
from chainer.optimizers import adam


def _adam_step(hp, alpha_t, data, grad, m, v, buf):
    """chainer's Adam update of ``data`` (and ``m``, ``v``) in place, through one scratch
    array ``buf`` of the same shape."""
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
    buf *= -hp.eta * alpha_t
    if hp.weight_decay_rate != 0:
        data *= 1.0 - hp.eta * hp.weight_decay_rate
    data += buf


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
        _adam_step(hp, self.alpha_t, data, grad, self.state["m"], self.state["v"],
                   self._buffer(data))

    def takes_plain_update(self, param, hyperparam):
        """Whether ``param``'s update is the in-place float32 one with ``hyperparam``
        (the optimizer's, not overridden for this parameter) and no hooks of its own."""
        data, grad = param.array, param.grad
        hooks = self._hookable
        return (self.enabled and not hooks._pre_update_hooks and not hooks._post_update_hooks
                and not self._use_fp32_update
                and param._loss_scale is None
                and self.hyperparam.parent is hyperparam and len(vars(self.hyperparam)) == 1
                and isinstance(data, numpy.ndarray) and data.dtype == numpy.float32
                and isinstance(grad, numpy.ndarray) and grad.dtype == numpy.float32)


class _FlatArrays:
    """The parameters, both Adam moments, the gradients and a scratch array of a list of
    parameters as five flat float32 arrays; each parameter's array and moments are views."""

    def __init__(self, params):
        self.params = params
        sizes = [p.array.size for p in params]
        self.slices = [slice(end - size, end)
                       for size, end in zip(sizes, numpy.cumsum(sizes).tolist())]
        total = sum(sizes)
        self.data, self.m, self.v, self.grad, self.scratch = (
            numpy.empty(total, numpy.float32) for _ in range(5))
        for param, part in zip(params, self.slices):
            rule = param.update_rule
            rule._init_states(param)  # chainer's lazy creation of m and v
            shape = param.array.shape
            for flat, current, store in ((self.data, param.array, None),
                                         (self.m, rule.state["m"], "m"),
                                         (self.v, rule.state["v"], "v")):
                view = flat[part].reshape(shape)
                view[...] = current
                if store is None:
                    param.array = view
                else:
                    rule.state[store] = view

    def intact(self, params):
        """Whether ``params`` are these, with arrays and moments still the views."""
        if len(params) != len(self.params):
            return False
        for param, mine in zip(params, self.params):
            state = param.update_rule.state
            if (param is not mine or param.array.base is not self.data or state is None
                    or state["m"].base is not self.m or state["v"].base is not self.v):
                return False
        return True

    def step(self, hyperparam, alpha_t):
        for param, part in zip(self.params, self.slices):
            self.grad[part] = param.grad.ravel()
        _adam_step(hyperparam, alpha_t, self.data, self.grad, self.m, self.v, self.scratch)


class FusedAdam(chainer.optimizers.Adam):
    """``chainer.optimizers.Adam`` (same arguments, state and results up to float
    rounding) with ``FusedAdamRule`` for every parameter, and one update pass over flat
    arrays when every parameter takes the plain update (see the module docstring)."""

    _flat = None

    def create_update_rule(self):
        return FusedAdamRule(self.hyperparam)

    def _flat_arrays(self):
        """The flat arrays for this step, or None where chainer's per-parameter update
        must run (another rule, device, dtype or learning rate, or hooks)."""
        params = list(self.target.params())
        hp = self.hyperparam
        if not params or hp.amsgrad or hp.adabound:
            return None
        rules = [param.update_rule for param in params]
        if any(not isinstance(rule, FusedAdamRule) or rule.t != rules[0].t
               or not rule.takes_plain_update(param, hp)
               for param, rule in zip(params, rules)):
            return None
        if self._flat is None or not self._flat.intact(params):
            self._flat = _FlatArrays(params)
        return self._flat

    def update(self, lossfun=None, *args, **kwds):
        """chainer's ``GradientMethod.update``, with the flat update where it applies."""
        if lossfun is not None:
            loss = lossfun(*args, **kwds)
            if getattr(self, "_use_cleargrads", True):
                self.target.cleargrads()
            else:
                self.target.zerograds()
            loss.backward(loss_scale=self._loss_scale)
            del loss
        self.reallocate_cleared_grads()
        self.check_nan_in_grads()
        self.call_hooks("pre")
        self.t += 1
        if self.is_safe_to_update():
            flat = self._flat_arrays()
            if flat is None:
                for param in self.target.params():
                    param.update()
            else:
                for param in flat.params:
                    param.update_rule.t += 1
                flat.params[0].update_rule._check_eps(numpy.float32)
                flat.step(self.hyperparam, flat.params[0].update_rule.alpha_t)
        self.reallocate_cleared_grads()
        self.call_hooks("post")
        self.update_loss_scale()
