"""Fused Chainer functions for the training hot path.

Each function here computes what a short chain of ``chainer.functions`` computes, in
one ``FunctionNode``: one graph node instead of several, fewer temporary arrays, and a
backward pass that works on arrays directly. On small models (the MLP VAE on MNIST)
chainer's per-node Python overhead costs more than the arithmetic, so this is where the
time goes. ``tests/test_speed_paths.py`` checks every function against the plain
formulation it replaces, values and gradients.

Backward passes have two paths. The usual one (``Variable.backward()`` without
``enable_double_backprop``, where chainer turns ``enable_backprop`` off) computes the
gradients as arrays and builds no graph. With double backprop on, the same gradients are
written with ``chainer.functions`` so that they can be differentiated again.

- ``linear``: ``activation(x W^T + b)`` for ReLU, tanh or no activation.
- ``Normal``: chainer's Normal whose reparameterised ``sample_n`` is one node, and whose
  KL divergence to another Normal (``chainer.kl_divergence``) is one node.
"""
import chainer
import chainer.distributions as D
import chainer.functions as F
import numpy
from chainer import function_node
from chainer.backends import cuda
from chainer.utils import sum_to

_FUSED_ACTIVATIONS = ("relu", "tanh", None)


def _fast_backward():
    """True when backward needs no graph: gradients may be computed as plain arrays."""
    return not chainer.config.enable_backprop


def _constant(array):
    return None if array is None else chainer.Variable(array, requires_grad=False)


# -- linear + activation ------------------------------------------------------------------


class _LinearActivation(function_node.FunctionNode):
    """y = activation(x W^T + b); x (B, in), W (out, in), b (out,) -> y (B, out)."""

    def __init__(self, activation):
        self.activation = activation

    def forward(self, inputs):
        x, W, b = inputs
        self.retain_inputs((0, 1))
        y = x.dot(W.T).astype(x.dtype, copy=False)
        y += b
        xp = chainer.backend.get_array_module(y)
        if self.activation == "relu":
            xp.maximum(y, 0, out=y)
        elif self.activation == "tanh":
            xp.tanh(y, out=y)
        if self.activation is not None:
            self.retain_outputs((0,))
        return y,

    def _pre_activation_grad(self, gy):
        """dL/d(x W^T + b) from dL/dy, as an array (fast path) or a Variable."""
        if self.activation is None:
            return gy
        y = self.get_retained_outputs()[0]
        if self.activation == "relu":
            mask = y.array > 0  # ReLU's second derivative is zero: the mask is a constant
            return gy * mask.astype(y.dtype) if isinstance(gy, chainer.Variable) else gy * mask
        if isinstance(gy, chainer.Variable):
            return gy * (1 - y * y)
        y = y.array
        return gy * (1 - y * y)

    def backward(self, indexes, grad_outputs):
        x, W = self.get_retained_inputs()
        gy, = grad_outputs
        if _fast_backward():
            gz = self._pre_activation_grad(gy.array)
            gx = gz.dot(W.array).astype(x.dtype, copy=False) if 0 in indexes else None
            gW = gz.T.dot(x.array).astype(W.dtype, copy=False) if 1 in indexes else None
            gb = gz.sum(axis=0) if 2 in indexes else None
            return _constant(gx), _constant(gW), _constant(gb)
        gz = self._pre_activation_grad(gy)
        return (F.matmul(gz, W) if 0 in indexes else None,
                F.matmul(gz, x, transa=True) if 1 in indexes else None,
                F.sum(gz, axis=0) if 2 in indexes else None)


def can_fuse_linear(link, activation_name, x):
    """Whether ``linear`` can replace ``activation(link(x))``: a 2-D x, a bias, and ReLU,
    tanh or no activation (None)."""
    return (activation_name in _FUSED_ACTIVATIONS and link.b is not None
            and link.W.array is not None and x.ndim == 2)


def linear(x, link, activation_name=None):
    """``activation(link(x))`` for an ``L.Linear`` link in one node; x (B, in) -> (B, out).

    ``activation_name`` is "relu", "tanh" or None; see ``can_fuse_linear``.
    """
    return _LinearActivation(activation_name).apply((x, link.W, link.b))[0]


# -- Normal: reparameterised sampling and KL divergence -----------------------------------


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
        log_scale, = self.get_retained_inputs()
        gz, = grad_outputs
        shape = log_scale.shape
        if _fast_backward():
            gz = gz.array
            gloc = sum_to(gz, shape) if 0 in indexes else None
            glog_scale = None
            if 1 in indexes:
                xp = chainer.backend.get_array_module(gz)
                glog_scale = sum_to(gz * self.eps, shape) * xp.exp(log_scale.array)
            return _constant(gloc), _constant(glog_scale)
        gloc = F.sum_to(gz, shape) if 0 in indexes else None
        glog_scale = (F.sum_to(gz * self.eps, shape) * F.exp(log_scale)
                      if 1 in indexes else None)
        return gloc, glog_scale


class _NormalKL(function_node.FunctionNode):
    """KL(N(loc1, exp(ls1)) || N(loc2, exp(ls2))) elementwise, broadcast to one shape:

        ls2 - ls1 + (exp(2 ls1) + (loc1 - loc2)^2) / (2 exp(2 ls2)) - 1/2

    the formula of chainer's ``_kl_normal_normal`` in one pass.
    """

    def forward(self, inputs):
        loc1, ls1, loc2, ls2 = inputs
        xp = chainer.backend.get_array_module(loc1)
        self.retain_inputs((0, 1, 2, 3))
        ratio = xp.exp(2 * (ls1 - ls2))               # var1 / var2
        diff = (loc1 - loc2) * xp.exp(-ls2)           # (loc1 - loc2) / scale2
        kl = ratio + diff * diff
        kl -= 1
        kl *= 0.5
        kl += ls2 - ls1
        return kl.astype(loc1.dtype, copy=False),

    def backward(self, indexes, grad_outputs):
        loc1, ls1, loc2, ls2 = self.get_retained_inputs()
        gy, = grad_outputs
        fast = _fast_backward()
        if fast:
            xp = chainer.backend.get_array_module(gy.array)
            gy = gy.array
            loc1, ls1, loc2, ls2 = (v.array for v in (loc1, ls1, loc2, ls2))
            exp = xp.exp
        else:
            exp = F.exp
        inv_var2 = exp(-2 * ls2)
        ratio = exp(2 * (ls1 - ls2))
        d_loc = gy * (loc1 - loc2) * inv_var2         # dKL/dloc1 = -dKL/dloc2
        d_ls1 = gy * (ratio - 1)                      # dKL/dls1
        grads = []
        for i, grad in ((0, lambda: d_loc), (1, lambda: d_ls1), (2, lambda: -d_loc),
                        (3, lambda: -d_ls1 - d_loc * (loc1 - loc2))):
            if i not in indexes:
                grads.append(None)
                continue
            shape = (loc1, ls1, loc2, ls2)[i].shape
            grads.append(_constant(sum_to(grad(), shape)) if fast else F.sum_to(grad(), shape))
        return tuple(grads)


class Normal(D.Normal):
    """chainer's Normal distribution with a fused reparameterised ``sample_n`` (when built
    from ``log_scale``) and a fused KL divergence to any Normal. Everything else, and
    every value, is chainer's."""

    def __init__(self, loc, scale=None, **kwargs):
        super().__init__(loc, scale, **kwargs)
        self._from_log_scale = scale is None

    def sample_n(self, n):
        """n draws (n, *batch_shape): loc + scale * eps, eps drawn as chainer draws it."""
        loc = self.loc
        xp = chainer.backend.get_array_module(loc)
        if not self._from_log_scale or xp not in (numpy, cuda.cupy):
            return super().sample_n(n)
        eps = _standard_normal(xp, (n,) + loc.shape, loc.dtype)
        return _Reparameterize(eps).apply((loc, self.log_scale))[0]


def _kl_fused(dist1, dist2):
    """KL(dist1 || dist2) elementwise for two Normals, in one node."""
    return _NormalKL().apply((dist1.loc, dist1.log_scale, dist2.loc, dist2.log_scale))[0]


# chainer dispatches kl_divergence on the exact types, so every pairing with this
# subclass is registered; pairs of chainer's own Normal keep chainer's formula.
for _pair in ((Normal, Normal), (Normal, D.Normal), (D.Normal, Normal)):
    chainer.distribution.register_kl(*_pair)(_kl_fused)
