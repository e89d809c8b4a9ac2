"""``negative_elbo``: the loss, reconstruction and KL terms of the negative ELBO in one node."""
import chainer
import chainer.functions as F
from chainer import function_node

from chainer_vae.model.ops.gradients import backward_math
from chainer_vae.model.ops.switch import fused_enabled

# The node's inputs, in this order.
LOG_PX_Z, KL = 0, 1


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
        math = backward_math()
        g_loss, g_rec_loss, g_kl = math.values(grad_outputs)
        grads = []
        for index, g_term, weight, sign in ((LOG_PX_Z, g_rec_loss, 1.0, -1.0),
                                            (KL, g_kl, self.beta, 1.0)):
            g = _total(g_loss, g_term, weight)
            if g is None or index not in indexes:
                grads.append(None)
                continue
            scale = sign / self._sizes[index]
            grads.append(math.broadcast_to(g * scale, self._shapes[index], self._dtype))
        return math.gradients(grads)


def _total(g_loss, g_term, loss_weight):
    """The gradient reaching a term: ``loss_weight * g_loss`` plus the term's own."""
    parts = [g for g in (None if g_loss is None else g_loss * loss_weight, g_term)
             if g is not None]
    return None if not parts else parts[0] if len(parts) == 1 else parts[0] + parts[1]


def negative_elbo(log_px_z, kl, beta):
    """(loss, rec_loss, kl) of the negative ELBO, in nats per example, as Variables: see
    ``_NegativeELBO``. ``log_px_z`` (k B,) per sample of z, ``kl`` (B,) per example,
    ``beta`` the KL term's weight. Not in chainer: one node, or with the fused paths off
    the same sums in chainer functions."""
    if not fused_enabled():
        rec_loss = -F.sum(log_px_z) / log_px_z.size
        kl_mean = F.sum(kl) / kl.size
        return rec_loss + beta * kl_mean, rec_loss, kl_mean
    return _NegativeELBO(beta).apply((log_px_z, kl))
