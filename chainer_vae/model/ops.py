"""Every custom Chainer function of the model, behind drop-ins named like chainer's.

Model code calls ``ops.reshape``, ``ops.linear``, ``ops.Normal``, ``ops.Independent``,
``ops.Bernoulli`` and ``ops.kl_divergence`` where Chainer's examples call ``F.reshape``,
``F.linear``, ``D.Normal``, ``D.Independent``, ``D.Bernoulli`` and
``chainer.kl_divergence``: the same arguments and values. Each drop-in decides itself
whether its fused path applies and otherwise calls chainer's own function, so model code
never branches on it.

A fused path computes what a short chain of ``chainer.functions`` computes in one
``FunctionNode``: one graph node instead of several, fewer temporary arrays, and a
backward pass that works on arrays directly. On small models (the MLP VAE on MNIST)
chainer's per-node Python overhead costs more than the arithmetic, so this is where the
time goes. ``tests/test_speed_paths.py`` checks every one against the plain formulation
it replaces, values and gradients.

Backward passes have two paths. The usual one (``Variable.backward()`` without
``enable_double_backprop``, where chainer turns ``enable_backprop`` off) computes the
gradients as arrays and builds no graph. With double backprop on, the same gradients are
written with ``chainer.functions`` so that they can be differentiated again.

- ``reshape``: chainer's reshape, whose backward adds no node.
- ``linear``: ``F.linear`` with an ``activation`` (ReLU, tanh or none) in the same node.
- ``linear_heads``: several ``link(x)`` of one x (the encoder's mean and log standard
  deviation) in one node, so x's gradient needs no extra node to add the heads' parts.
- ``Normal``: chainer's Normal whose reparameterised ``sample_n`` is one node.
- ``Independent``: chainer's Independent whose ``log_prob`` (over a base distribution
  with ``summed_log_prob``) sums over the event inside that one node, instead of adding
  a sum node and its backward's broadcast nodes.
- ``Bernoulli``: chainer's Bernoulli whose log-probability is one node that never
  overflows.
- ``kl_divergence``: ``chainer.kl_divergence``, in one node between Normals (also inside
  Independents over the same event shape).
- ``negative_elbo``: the loss, reconstruction and KL terms of the negative ELBO from
  log p(x|z) and KL per example, in one node.
"""
import chainer
import chainer.distributions as D
import chainer.functions as F
import numpy
from chainer import function_node
from chainer.backends import cuda
from chainer.utils import sum_to

# The activations ``linear`` computes inside its node, by the name the node uses.
_FUSED_ACTIVATIONS = {None: None, F.relu: "relu", F.tanh: "tanh"}



def _fast_backward():
    """True when backward needs no graph: gradients may be computed as plain arrays."""
    return not chainer.config.enable_backprop


def _constant(array):
    return None if array is None else chainer.Variable(array, requires_grad=False)


def sum_event(array, event_ndims):
    """An array summed over its last ``event_ndims`` axes (none: the array itself)."""
    return array.sum(axis=tuple(range(-event_ndims, 0))) if event_ndims else array


def expand_event(grad, event_ndims):
    """A gradient of a ``sum_event`` result, reshaped to broadcast over the summed axes:
    an array view, or a reshape node for a Variable."""
    if not event_ndims:
        return grad
    shape = grad.shape + (1,) * event_ndims
    return F.reshape(grad, shape) if isinstance(grad, chainer.Variable) else grad.reshape(shape)


# -- reshape ------------------------------------------------------------------------------


class _Reshape(function_node.FunctionNode):
    """x.reshape(shape); the usual backward reshapes the gradient array back, where
    chainer's ``Reshape`` adds another ``Reshape`` node."""

    def __init__(self, shape):
        self.shape = shape

    def forward(self, inputs):
        x, = inputs
        self._in_shape = x.shape
        return x.reshape(self.shape),

    def backward(self, indexes, grad_outputs):
        gy, = grad_outputs
        if _fast_backward():
            return _constant(gy.array.reshape(self._in_shape)),
        return F.reshape(gy, self._in_shape),


def reshape(x, shape):
    """``chainer.functions.reshape(x, shape)``, the same values, in a cheaper node (none
    when the shape does not change); one entry of ``shape`` may be -1, as in NumPy."""
    shape = tuple(shape)
    if -1 in shape:
        known = int(numpy.prod([size for size in shape if size != -1]))
        shape = tuple(x.size // known if known and size == -1 else size for size in shape)
    if x.shape == shape:
        return chainer.as_variable(x)
    return _Reshape(shape).apply((x,))[0]


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


def linear(x, W, b=None, n_batch_axes=1, activation=None):
    """``activation(F.linear(x, W, b, n_batch_axes))``; ``activation`` is a function
    such as ``F.relu``, or None.

    One node when x is 2-D, there is a bias and the activation is ``F.relu``, ``F.tanh``
    or None; chainer's ``F.linear`` and the activation otherwise.
    """
    name = _FUSED_ACTIVATIONS.get(activation, False)
    if (name is False or b is None or x.ndim != 2 or n_batch_axes != 1
            or chainer.as_array(W) is None):
        y = F.linear(x, W, b, n_batch_axes)
        return y if activation is None else activation(y)
    return _LinearActivation(name).apply((x, W, b))[0]


class _LinearHeads(function_node.FunctionNode):
    """y_i = x W_i^T + b_i for n heads; inputs (x, W_1, b_1, ..., W_n, b_n)."""

    def forward(self, inputs):
        x = inputs[0]
        self.retain_inputs(tuple(range(len(inputs))))
        outputs = []
        for W, b in zip(inputs[1::2], inputs[2::2]):
            y = x.dot(W.T).astype(x.dtype, copy=False)
            y += b
            outputs.append(y)
        return tuple(outputs)

    def backward(self, indexes, grad_outputs):
        retained = self.get_retained_inputs()
        x, weights = retained[0], retained[1::2]
        fast = _fast_backward()
        grads = [None] * len(retained)
        gx = None
        for head, (W, gy) in enumerate(zip(weights, grad_outputs)):
            if gy is None:
                continue
            if fast:
                gy, W_, x_ = gy.array, W.array, x.array
                part = gy.dot(W_).astype(x_.dtype, copy=False) if 0 in indexes else None
                gW = gy.T.dot(x_).astype(W_.dtype, copy=False)
                gb = gy.sum(axis=0)
            else:
                part = F.matmul(gy, W) if 0 in indexes else None
                gW, gb = F.matmul(gy, x, transa=True), F.sum(gy, axis=0)
            if part is not None:
                gx = part if gx is None else gx + part
            if 1 + 2 * head in indexes:
                grads[1 + 2 * head] = gW
            if 2 + 2 * head in indexes:
                grads[2 + 2 * head] = gb
        grads[0] = gx
        return tuple(_constant(g) for g in grads) if fast else tuple(grads)


def linear_heads(x, links):
    """``[link(x) for link in links]`` for ``L.Linear`` links, in one node when x is 2-D
    and every link has a bias."""
    if x.ndim != 2 or any(link.b is None or link.W.array is None for link in links):
        return [link(x) for link in links]
    params = []
    for link in links:
        params += [link.W, link.b]
    return list(_LinearHeads().apply([x] + params))


# -- Bernoulli ----------------------------------------------------------------------------


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
        logit, x = self.get_retained_inputs()
        gy, = grad_outputs
        if chainer.config.enable_backprop:  # double backprop: keep the graph
            return expand_event(gy, self.event_ndims) * (x - F.sigmoid(logit)), None
        # d/dlogit = x - sigmoid(logit); l - softplus(l) = -softplus(-l) <= 0: no overflow
        xp = chainer.backend.get_array_module(logit.array)
        grad = xp.subtract(logit.array, self._softplus)
        xp.exp(grad, out=grad)
        xp.subtract(x.array, grad, out=grad)
        grad *= expand_event(gy.array, self.event_ndims)
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

    the formula of chainer's ``_kl_normal_normal`` in one pass, summed over the last
    ``event_ndims`` axes (those an ``Independent`` makes one event).
    """

    def __init__(self, event_ndims=0):
        self.event_ndims = event_ndims

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
        return sum_event(kl, self.event_ndims).astype(loc1.dtype, copy=False),

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
        gy = expand_event(gy, self.event_ndims)
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


class Independent(D.Independent):
    """chainer's Independent, whose ``log_prob`` and KL divergence between Normals are
    one node each (see the module docstring). Every value is chainer's."""

    def log_prob(self, x):
        summed_log_prob = getattr(self.distribution, "summed_log_prob", None)
        if summed_log_prob is None:
            return super().log_prob(x)
        return summed_log_prob(x, self.reinterpreted_batch_ndims)


def _normal_pair(dist1, dist2):
    """The two Normals and the number of event axes to sum when ``kl_divergence`` has a
    fused path for this pair, else None."""
    if isinstance(dist1, D.Normal) and isinstance(dist2, D.Normal):
        return dist1, dist2, 0
    if (isinstance(dist1, D.Independent) and isinstance(dist2, D.Independent)
            and isinstance(dist1.distribution, D.Normal)
            and isinstance(dist2.distribution, D.Normal)
            and dist1.event_shape == dist2.event_shape):
        return dist1.distribution, dist2.distribution, len(dist1.event_shape)
    return None


def kl_divergence(dist1, dist2):
    """``chainer.kl_divergence(dist1, dist2)``: one node for two Normals, or two
    Independents over Normals with one event shape (summed over the event); otherwise
    chainer's formula for the chainer classes the two derive from."""
    pair = _normal_pair(dist1, dist2)
    if pair is not None:
        p, q, event_ndims = pair
        return _NormalKL(event_ndims).apply((p.loc, p.log_scale, q.loc, q.log_scale))[0]
    if isinstance(dist1, D.Independent) and isinstance(dist2, D.Independent):
        # chainer's own rule, with this function for the base distributions
        p, q = dist1.distribution, dist2.distribution
        if dist1.event_shape != dist2.event_shape:
            raise ValueError("Event shapes do not match.")
        if p.event_shape != q.event_shape:
            raise NotImplementedError("KL between Independents with different event shapes "
                                      "not supported.")
        n_axes = len(dist1.event_shape) - len(p.event_shape)
        return F.sum(kl_divergence(p, q), axis=tuple(range(-n_axes, 0)))
    return _registered_kl(type(dist1), type(dist2))(dist1, dist2)


def _registered_kl(type1, type2):
    """The KL function chainer registered for the nearest classes these derive from
    (chainer looks up exact types only)."""
    registry = chainer.distribution._KLDIVERGENCE
    for base1 in type1.__mro__:
        for base2 in type2.__mro__:
            if (base1, base2) in registry:
                return registry[base1, base2]
    raise NotImplementedError("no KL divergence between {} and {}".format(
        type1.__name__, type2.__name__))


# -- the negative ELBO ----------------------------------------------------------------------


class _NegativeELBO(function_node.FunctionNode):
    """(log p(x|z) (N,), KL (B,)) -> (loss, reconstr, kl), three scalars:

        reconstr = -sum(log p(x|z)) / N,  kl = sum(KL) / B,  loss = reconstr + beta * kl

    N = k B when k samples of z were drawn per example.
    """

    def __init__(self, beta):
        self.beta = beta

    def forward(self, inputs):
        log_px_z, kl = inputs
        xp = chainer.backend.get_array_module(log_px_z)
        dtype = self._dtype = log_px_z.dtype
        self._shapes = (log_px_z.shape, kl.shape)
        self._sizes = (log_px_z.size, kl.size)
        reconstr = xp.asarray(-log_px_z.sum() / log_px_z.size, dtype=dtype)
        kl_mean = xp.asarray(kl.sum() / kl.size, dtype=dtype)
        return xp.asarray(reconstr + self.beta * kl_mean, dtype=dtype), reconstr, kl_mean

    def backward(self, indexes, grad_outputs):
        fast = _fast_backward()
        if fast:
            grad_outputs = [None if g is None else g.array for g in grad_outputs]
        g_loss, g_reconstr, g_kl = grad_outputs
        grads = []
        for index, g_term, weight, sign in ((0, g_reconstr, 1.0, -1.0),
                                            (1, g_kl, self.beta, 1.0)):
            g = _total(g_loss, g_term, weight)
            if g is None or index not in indexes:
                grads.append(None)
                continue
            shape, scale = self._shapes[index], sign / self._sizes[index]
            if fast:
                xp = chainer.backend.get_array_module(g)
                # NumPy 1.x promotes a float32 0-d array times a Python float to float64
                spread = xp.empty(shape, dtype=self._dtype)
                spread[...] = g * scale  # a 0-d array: fills on NumPy and CuPy alike
                grads.append(_constant(spread))
            else:
                grads.append(F.broadcast_to(g * scale, shape))
        return tuple(grads)


def _total(g_loss, g_term, loss_weight):
    """The gradient reaching a term: ``loss_weight * g_loss`` plus the term's own."""
    parts = [g for g in (None if g_loss is None else g_loss * loss_weight, g_term)
             if g is not None]
    return None if not parts else parts[0] if len(parts) == 1 else parts[0] + parts[1]


def negative_elbo(log_px_z, kl, beta):
    """(loss, reconstr, kl) of the negative ELBO, in nats per example, as Variables: see
    ``_NegativeELBO``. ``log_px_z`` (k B,) per sample of z, ``kl`` (B,) per example."""
    return _NegativeELBO(beta).apply((log_px_z, kl))
