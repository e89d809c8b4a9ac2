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
time goes. ``tests/model/test_speed_paths.py`` checks every one against the plain formulation
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
- ``NStepLSTM``, ``NStepBiLSTM``: chainer's links of those names (same parameters, so
  saved weights load), whose forward pass over sequences of one length is one node per
  layer and direction (``_LSTMDirection``) instead of chainer's loop of about 30 nodes per
  time step, which restacks the eight weights at every step. They also take the B
  sequences as one (B, T, I) array, a ``context`` that every step reads (the LSTM
  decoder's z), and make a ``stepper`` for generation loops. On a GPU, and for sequences
  of several lengths, they call chainer's ``n_step_lstm`` (cuDNN on a GPU).
"""
import chainer
import chainer.distributions as D
import chainer.functions as F
import chainer.links as L
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
    """(log p(x|z) (N,), KL (B,)) -> (loss, rec_loss, kl), three scalars:

        rec_loss = -sum(log p(x|z)) / N,  kl = sum(KL) / B,  loss = rec_loss + beta * kl

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
        rec_loss = xp.asarray(-log_px_z.sum() / log_px_z.size, dtype=dtype)
        kl_mean = xp.asarray(kl.sum() / kl.size, dtype=dtype)
        return xp.asarray(rec_loss + self.beta * kl_mean, dtype=dtype), rec_loss, kl_mean

    def backward(self, indexes, grad_outputs):
        fast = _fast_backward()
        if fast:
            grad_outputs = [None if g is None else g.array for g in grad_outputs]
        g_loss, g_rec_loss, g_kl = grad_outputs
        grads = []
        for index, g_term, weight, sign in ((0, g_rec_loss, 1.0, -1.0),
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
    """(loss, rec_loss, kl) of the negative ELBO, in nats per example, as Variables: see
    ``_NegativeELBO``. ``log_px_z`` (k B,) per sample of z, ``kl`` (B,) per example."""
    return _NegativeELBO(beta).apply((log_px_z, kl))


# -- LSTM ---------------------------------------------------------------------------------

# chainer's LSTM cell (``F.n_step_lstm``) has, per layer and direction, eight weights and
# eight biases: w0..w3 (H, in) read the input, w4..w7 (H, H) the previous output, for the
# input gate i (w0, w4), the forget gate f (w1, w5), the cell input a (w2, w6; tanh) and
# the output gate o (w3, w7):
#
#     c_t = sigmoid(f) c_{t-1} + sigmoid(i) tanh(a),  h_t = sigmoid(o) tanh(c_t).
#
# The fused code stacks the gates in the order (o, i, f, a): the three sigmoid gates
# first, so that one tanh over all four computes them (sigmoid(g) = tanh(g / 2) / 2 + 1 / 2,
# chainer's own formula, with the sigmoid gates' weights and biases halved, which is exact
# in floating point), and the three gates that the cell state's gradient drives last, so
# that the backward pass computes those three in one operation.
_GATES = (3, 0, 1, 2)  # (o, i, f, a): chainer's weight index of each stacked gate


def _stacked(xp, arrays, first):
    """The arrays ``arrays[first + k]`` of the gates in the fused order, stacked (4H, ...)."""
    return xp.concatenate([arrays[first + k] for k in _GATES])


def _halved_gates(xp, ws, bs, dtype):
    """(W_x (4H, in), W_h (4H, H), b (4H,)) of one cell in the fused order, the sigmoid
    gates' rows halved."""
    half = dtype.type(0.5)
    size = ws[0].shape[0]
    w_x, w_h = _stacked(xp, ws, 0), _stacked(xp, ws, 4)
    bias = xp.concatenate([bs[k] + bs[4 + k] for k in _GATES])
    for array in (w_x, w_h, bias):
        array[:3 * size] *= half
    return w_x, w_h, bias


def _cell_step(xp, g, c, size, c_out, fc, ia, tanh_c, h_out):
    """One step of the cell on the gates' pre-activations ``g`` (B, 4H), halved for the
    sigmoid gates, in place: ``g`` becomes the gates' activations (o, i, f, a); writes
    f c (``fc``), i a (``ia``), c_t (``c_out``), tanh(c_t) (``tanh_c``) and h_t (``h_out``)."""
    half = g.dtype.type(0.5)
    xp.tanh(g, out=g)
    sigmoid = g[:, :3 * size]
    sigmoid *= half
    sigmoid += half
    xp.multiply(g[:, 2 * size:3 * size], c, out=fc)
    xp.multiply(g[:, size:2 * size], g[:, 3 * size:], out=ia)
    xp.add(fc, ia, out=c_out)
    xp.tanh(c_out, out=tanh_c)
    xp.multiply(g[:, :size], tanh_c, out=h_out)


class _LSTMDirection(function_node.FunctionNode):
    """One LSTM layer in one direction over B sequences of T steps, as chainer's
    ``F.n_step_lstm`` computes it, in one node:

        (x (B, T, I), h0 (B, H), c0 (B, H), w0 .. w7, b0 .. b7[, context (B, C)])
            -> (ys (B, T, H), h_T (B, H), c_T (B, H))

    With ``context`` (the link's ``context=``), every step reads (context, x_t), the
    context's C features first: the weights w0..w3 are (H, C + I). ``reverse`` reads the
    steps last to first (the backward direction of a bidirectional LSTM; ys stay in the
    order of x, and h_T, c_T are the states after step 0).

    Forward: the input projections of all T x B rows in one matmul (the context's once
    per sequence), then per step one (B, H) x (H, 4H) matmul and the cell's arithmetic in
    place on the step's slice of one gate array, which keeps the gates' activations and
    the step's products for the backward pass. Backward: the recurrence by hand, one
    (B, 4H) x (4H, H) matmul per step; then the gradients of the input and of the weight
    matrices in one matmul each.
    """

    def __init__(self, reverse=False, context=False):
        self.reverse = reverse
        self.context = context

    def _order(self, steps):
        return range(steps - 1, -1, -1) if self.reverse else range(steps)

    def forward(self, inputs):
        self.retain_inputs(tuple(range(len(inputs))))
        x, h, c = inputs[:3]
        context = inputs[19] if self.context else None
        xp = chainer.backend.get_array_module(x)
        batch, steps, _ = x.shape
        size = h.shape[1]
        dtype = x.dtype
        w_x, w_h, bias = _halved_gates(xp, inputs[3:11], inputs[11:19], dtype)
        n_context = 0 if context is None else context.shape[1]
        if context is not None:
            bias = context.dot(w_x[:, :n_context].T).astype(dtype, copy=False) + bias
        w_h_t = xp.ascontiguousarray(w_h.T)  # (H, 4H): the fastest layout for the steps

        # (T B, I) rows, time-major: the rows of one step are contiguous
        x_rows = xp.ascontiguousarray(x.transpose(1, 0, 2)).reshape(steps * batch, -1)
        gates = x_rows.dot(w_x[:, n_context:].T).astype(dtype, copy=False)
        gates = gates.reshape(steps, batch, 4 * size)
        hs = xp.empty((steps, batch, size), dtype)
        cs = xp.empty_like(hs)
        # What each step's gradients need (x~: a gate before its activation; with
        # h = o tanh(c), and f c_prev and i a from the step):
        #   d o~ = dh * h (1 - o),          dc += dh * (o - h tanh(c)),
        #   (d i~, d f~, d a~) = dc * ((i a) (1 - i), (f c_prev) (1 - f), i - (i a) a),
        # computed here, step by step while the step's arrays are in cache, when there
        # may be a backward pass.
        keep = chainer.config.enable_backprop
        from_h = xp.empty((steps, batch, 2, size), dtype) if keep else None
        from_c = xp.empty((steps, batch, 3, size), dtype) if keep else None
        fc, ia, tanh_c = xp.empty((3, batch, size), dtype)
        one_minus = xp.empty((batch, 3 * size), dtype)
        recurrent = xp.empty((batch, 4 * size), dtype)
        h = xp.ascontiguousarray(h)
        for t in self._order(steps):
            g = gates[t]
            g += bias  # here rather than in one pass over all steps: in cache
            xp.matmul(h, w_h_t, out=recurrent)
            g += recurrent
            _cell_step(xp, g, c, size, cs[t], fc, ia, tanh_c, hs[t])
            h, c = hs[t], cs[t]
            if keep:
                xp.subtract(1, g[:, :3 * size], out=one_minus)  # 1 - (o, i, f)
                to_h, to_c = from_h[t, :, 0], from_h[t, :, 1]
                xp.multiply(h, one_minus[:, :size], out=to_h)
                xp.multiply(h, tanh_c, out=to_c)
                xp.subtract(g[:, :size], to_c, out=to_c)
                xp.multiply(ia, one_minus[:, size:2 * size], out=from_c[t, :, 0])
                xp.multiply(fc, one_minus[:, 2 * size:], out=from_c[t, :, 1])
                to_a = from_c[t, :, 2]
                xp.multiply(ia, g[:, 3 * size:], out=to_a)
                xp.subtract(g[:, size:2 * size], to_a, out=to_a)
        if keep:
            self._saved = (x_rows, gates, hs, from_h, from_c)
        # ys as a view: a bidirectional encoder reads only the last states
        return hs.transpose(1, 0, 2), h.copy(), c.copy()

    def backward(self, indexes, grad_outputs):
        if not _fast_backward():
            return self._graph_backward(indexes, grad_outputs)
        inputs = self.get_retained_inputs()
        h0 = inputs[1].array
        ws = [v.array for v in inputs[3:11]]
        context = inputs[19].array if self.context else None
        gy, gh, gc = (None if g is None else g.array for g in grad_outputs)
        x_rows, gates, hs, from_h, from_c = self._saved
        xp = chainer.backend.get_array_module(h0)
        steps, batch, size = hs.shape
        dtype = hs.dtype
        f = gates.reshape(steps, batch, 4, size)[:, :, 2]

        w_h = _stacked(xp, ws, 4)  # (4H, H), not halved
        d_gates = xp.empty((steps, batch, 4, size), dtype)
        dh = xp.zeros((batch, size), dtype) if gh is None else gh.astype(dtype, copy=True)
        dc = xp.zeros((batch, size), dtype) if gc is None else gc.astype(dtype, copy=True)
        product = xp.empty((batch, size), dtype)
        need_h0 = 1 in indexes
        for n, t in enumerate(reversed(self._order(steps))):
            if gy is not None:
                dh += gy[:, t]
            d_g = d_gates[t]
            xp.multiply(dh, from_h[t, :, 0], out=d_g[:, 0])
            xp.multiply(dh, from_h[t, :, 1], out=product)
            dc += product
            xp.multiply(dc[:, None], from_c[t], out=d_g[:, 1:])
            dc *= f[t]
            if n + 1 < steps or need_h0:
                xp.matmul(d_g.reshape(batch, 4 * size), w_h, out=dh)

        grads = [None] * len(inputs)
        grads[1] = dh if need_h0 else None
        grads[2] = dc if 2 in indexes else None
        d_rows = d_gates.reshape(steps * batch, 4 * size)
        n_context = 0 if context is None else context.shape[1]
        d_sum = d_gates.sum(axis=0).reshape(batch, 4 * size)  # over the steps
        w_x = _stacked(xp, ws, 0) if (0 in indexes or 19 in indexes) else None
        if 0 in indexes:
            gx = d_rows.dot(w_x[:, n_context:]).astype(dtype, copy=False)
            grads[0] = xp.ascontiguousarray(gx.reshape(steps, batch, -1).transpose(1, 0, 2))
        if 19 in indexes:
            grads[19] = d_sum.dot(w_x[:, :n_context]).astype(dtype, copy=False)
        g_wx = d_rows.T.dot(x_rows).astype(dtype, copy=False)
        if context is not None:
            g_wx = xp.concatenate([d_sum.T.dot(context).astype(dtype, copy=False), g_wx],
                                  axis=1)
        # the previous outputs of the steps: h0 for the first, hs of the one before
        first, later, earlier = (steps - 1, slice(None, -1), slice(1, None)) if self.reverse \
            else (0, slice(1, None), slice(None, -1))
        g_wh = d_gates[later].reshape(-1, 4 * size).T.dot(hs[earlier].reshape(-1, size))
        g_wh += d_gates[first].reshape(batch, 4 * size).T.dot(h0)
        g_b = d_sum.sum(axis=0)
        for position, k in enumerate(_GATES):
            block = slice(position * size, (position + 1) * size)
            for index, g_w in ((3 + k, g_wx), (7 + k, g_wh)):
                if index in indexes:
                    grads[index] = g_w[block]
                if index + 8 in indexes:  # b_k and b_{4+k}: the same gradient
                    grads[index + 8] = g_b[block].copy()
        return tuple(_constant(g) for g in grads)

    def _graph_backward(self, indexes, grad_outputs):
        """The gradients as a graph (double backprop): chainer's own ``n_step_lstm`` on
        the retained inputs, differentiated with ``chainer.grad``."""
        inputs = self.get_retained_inputs()
        x, h0, c0 = inputs[:3]
        if self.context:
            context = inputs[19]
            context = F.broadcast_to(context[:, None], (x.shape[0], x.shape[1], context.shape[1]))
            x = F.concat([context, x], axis=2)
        steps = list(F.separate(x, axis=1))
        if self.reverse:
            steps.reverse()
        hy, cy, ys = F.n_step_lstm(1, 0.0, F.expand_dims(h0, 0), F.expand_dims(c0, 0),
                                   [list(inputs[3:11])], [list(inputs[11:19])], steps)
        ys = list(ys)
        if self.reverse:
            ys.reverse()
        outputs = (F.stack(ys, axis=1), hy[0], cy[0])
        used = [(y, g) for y, g in zip(outputs, grad_outputs) if g is not None]
        wanted = [inputs[index] for index in indexes]
        grads = chainer.grad([y for y, _ in used], wanted, [g for _, g in used],
                             enable_double_backprop=True)
        return tuple(grads)


# chainer's configuration key that turns the fused LSTM off (chainer's own n_step_lstm
# then runs), e.g. ``with chainer.using_config(FUSED_LSTM, False):``; for tests and
# benchmarks.
FUSED_LSTM = "chainer_vae_fused_lstm"
setattr(chainer.global_config, FUSED_LSTM, True)


def _with_context(context, xs, batched):
    """The inputs that read ``context`` (B, C) at every step before xs' own features."""
    if batched:
        batch, steps = xs.shape[:2]
        every = F.broadcast_to(context[:, None], (batch, steps, context.shape[1]))
        return F.concat([every, xs], axis=2)
    rows = F.separate(context, axis=0)
    return [F.concat([F.broadcast_to(row[None], (len(x), row.shape[0])), x], axis=1)
            for row, x in zip(rows, xs)]


class _FusedNStepLSTM:
    """The forward pass of ``NStepLSTM`` and ``NStepBiLSTM`` below (a mixin over
    chainer's link of the same name)."""

    def forward(self, hx, cx, xs, context=None, **kwargs):
        """chainer's ``forward(hx, cx, xs)``: hx, cx (layers * directions, B, H) or None,
        xs a list of B sequences (T_i, I); returns (hy, cy, ys), ys a list of B (T_i,
        directions * H). Two additions:

        - ``xs`` may be one (B, T, I) array or Variable (sequences of one length): ys is
          then one Variable (B, T, directions * H);
        - ``context`` (B, C): features every step of sequence b reads before its own
          (the first C columns of the first layer's w0..w3, which are (H, C + I)), as if
          each x_t were concat(context[b], x_t); the fused node projects it once.
        """
        batched = not isinstance(xs, (list, tuple))
        if self._fuses(xs, batched) and not kwargs:
            x = xs if batched else F.stack(xs)
            hy, cy, ys = self._fused(hx, cx, x, context)
            return hy, cy, ys if batched else list(F.separate(ys, axis=0))
        if context is not None:
            xs = _with_context(context, xs, batched)
        if batched:
            xs = list(F.separate(xs, axis=0))
        hy, cy, ys = super().forward(hx, cx, xs, **kwargs)
        return hy, cy, F.stack(ys) if batched else ys

    def _fuses(self, xs, batched):
        """Whether the fused node computes this call: NumPy arrays, sequences of one
        length, no dropout between layers in training, and not switched off."""
        if not getattr(chainer.config, FUSED_LSTM, True) or self.xp is not numpy:
            return False
        if self.n_layers > 1 and self.dropout and chainer.config.train:
            return False  # chainer's dropout draws per step: keep its random stream
        if batched:
            return xs.ndim == 3
        return len(xs) > 0 and len({len(x) for x in xs}) == 1

    def _fused(self, hx, cx, x, context):
        batch = x.shape[0]
        states = self.n_layers * self.direction
        zeros = None
        if hx is None or cx is None:
            zeros = self.xp.zeros((batch, self.out_size), dtype=x.dtype)

        def initial(state):
            if state is None:
                return [zeros] * states
            if states == 1:
                return [reshape(state, state.shape[1:])]
            return list(F.separate(state, axis=0))

        h0s, c0s = initial(hx), initial(cx)
        hy, cy = [], []
        for layer in range(self.n_layers):
            outputs = []
            for direction in range(self.direction):
                index = self.direction * layer + direction
                inputs = [x, h0s[index], c0s[index]] + self.ws[index] + self.bs[index]
                with_context = context is not None and layer == 0
                if with_context:
                    inputs.append(context)
                ys, h, c = _LSTMDirection(direction == 1, with_context).apply(inputs)
                outputs.append(ys)
                hy.append(h)
                cy.append(c)
            # (chainer's dropout between layers is off here: see ``_fuses``)
            x = outputs[0] if len(outputs) == 1 else F.concat(outputs, axis=2)
        if states == 1:
            return reshape(hy[0], (1,) + hy[0].shape), reshape(cy[0], (1,) + cy[0].shape), x
        return F.stack(hy), F.stack(cy), x


    def stepper(self, context=None):
        """A function ``step(h, c, x) -> (h, c)`` that runs the LSTM (one direction) one
        step on arrays, without a graph: h, c (layers, B, H), x (B, I); with ``context``
        (B, C) every step reads it before x, as ``forward``'s ``context``. The weights are
        stacked once, here: for generation loops, which feed each step's output back.
        The arithmetic is the fused node's."""
        if self.direction != 1:
            raise ValueError("a bidirectional LSTM cannot run one step at a time")
        return _LSTMStepper(self, context)


class _LSTMStepper:
    """``NStepLSTM.stepper``'s function."""

    def __init__(self, link, context):
        xp = link.xp
        self._xp = xp
        self._layers = []
        for index in range(link.n_layers):
            ws = [w.array for w in link.ws[index]]
            w_x, w_h, bias = _halved_gates(xp, ws, [b.array for b in link.bs[index]],
                                           ws[0].dtype)
            if index == 0 and context is not None:
                n_context = context.shape[1]
                bias = context.dot(w_x[:, :n_context].T).astype(w_x.dtype, copy=False) + bias
                w_x = w_x[:, n_context:]
            self._layers.append((xp.ascontiguousarray(w_x.T), xp.ascontiguousarray(w_h.T),
                                 bias))

    def __call__(self, h, c, x):
        xp = self._xp
        hs, cs = xp.empty_like(h), xp.empty_like(c)
        for layer, (w_x_t, w_h_t, bias) in enumerate(self._layers):
            g = x.dot(w_x_t).astype(h.dtype, copy=False)
            g += bias
            g += h[layer].dot(w_h_t)
            scratch = xp.empty((3,) + h.shape[1:], h.dtype)
            _cell_step(xp, g, c[layer], w_h_t.shape[0], cs[layer], scratch[0], scratch[1],
                       scratch[2], hs[layer])
            x = hs[layer]
        return hs, cs


class NStepLSTM(_FusedNStepLSTM, L.NStepLSTM):
    """``chainer.links.NStepLSTM`` (the same parameters, names and values) whose forward
    pass over sequences of one length runs one fused node per layer (``_LSTMDirection``)
    on NumPy arrays, and chainer's ``n_step_lstm`` otherwise (cuDNN on a GPU)."""


class NStepBiLSTM(_FusedNStepLSTM, L.NStepBiLSTM):
    """``chainer.links.NStepBiLSTM`` with one fused node per layer and direction; see
    ``NStepLSTM``."""
