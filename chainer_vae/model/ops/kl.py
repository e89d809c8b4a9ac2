"""``kl_divergence``: chainer's, in one node between Normals (also inside Independents)."""
import chainer
import chainer.distributions as D
import chainer.functions as F
from chainer import function_node

from chainer_vae.model.ops.gradients import backward_math, expand_event, sum_event
from chainer_vae.model.ops.switch import fused_enabled


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
        math = backward_math()
        inputs = math.values(self.get_retained_inputs())
        loc1, ls1, loc2, ls2 = inputs
        gy, = math.values(grad_outputs)
        gy = expand_event(gy, self.event_ndims)
        inv_var2 = math.exp(-2 * ls2)
        ratio = math.exp(2 * (ls1 - ls2))
        d_loc = gy * (loc1 - loc2) * inv_var2         # dKL/dloc1 = -dKL/dloc2
        d_ls1 = gy * (ratio - 1)                      # dKL/dls1
        grads = []
        for i, grad in ((0, lambda: d_loc), (1, lambda: d_ls1), (2, lambda: -d_loc),
                        (3, lambda: -d_ls1 - d_loc * (loc1 - loc2))):
            grads.append(math.sum_to(grad(), inputs[i].shape) if i in indexes else None)
        return math.gradients(grads)


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
    """``chainer.kl_divergence(dist1, dist2)`` (the same arguments and values), in one
    node for two Normals, or two Independents over Normals with one event shape (summed
    over the event); otherwise chainer's formula for the chainer classes the two derive
    from (chainer's own looks up exact classes, so it knows none of this package's)."""
    pair = _normal_pair(dist1, dist2) if fused_enabled() else None
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
