"""``_LSTMDirection``: one LSTM layer in one direction over sequences of one length, in one
node, and the cell arithmetic it shares with ``NStepLSTM.stepper``.

chainer's LSTM cell (``F.n_step_lstm``) has, per layer and direction, eight weights and
eight biases: w0..w3 (H, in) read the input, w4..w7 (H, H) the previous output, for the
input gate i (w0, w4), the forget gate f (w1, w5), the cell input a (w2, w6; tanh) and
the output gate o (w3, w7):

    c_t = sigmoid(f) c_{t-1} + sigmoid(i) tanh(a),  h_t = sigmoid(o) tanh(c_t).

The fused code stacks the gates in the order (o, i, f, a): the three sigmoid gates
first, so that one tanh over all four computes them (sigmoid(g) = tanh(g / 2) / 2 + 1 / 2,
chainer's own formula, with the sigmoid gates' weights and biases halved, which is exact
in floating point), and the three gates that the cell state's gradient drives last, so
that the backward pass computes those three in one operation.
"""
import chainer
import chainer.functions as F
from chainer import function_node

from chainer_vae.model.ops.gradients import backward_math, constant

_GATES = (3, 0, 1, 2)  # (o, i, f, a): chainer's weight index of each stacked gate

# The inputs of ``_LSTMDirection``, by slot: x, the initial states, chainer's eight
# weights w0..w7 and eight biases b0..b7 of the cell, then the context if there is one.
X, H0, C0 = 0, 1, 2
WEIGHTS = slice(3, 11)
BIASES = slice(11, 19)
CONTEXT = 19


def weight_slot(k):
    """The input slot of chainer's weight w_k (k in 0..7)."""
    return WEIGHTS.start + k


def bias_slot(k):
    """The input slot of chainer's bias b_k (k in 0..7)."""
    return BIASES.start + k


def _stacked(xp, arrays, first):
    """The arrays ``arrays[first + k]`` of the gates in the fused order, stacked (4H, ...)."""
    return xp.concatenate([arrays[first + k] for k in _GATES])


def halved_gates(xp, ws, bs, dtype):
    """(W_x (4H, in), W_h (4H, H), b (4H,)) of one cell in the fused order, the sigmoid
    gates' rows halved; ``ws``, ``bs`` chainer's eight weight and bias arrays."""
    half = dtype.type(0.5)
    size = ws[0].shape[0]
    w_x, w_h = _stacked(xp, ws, 0), _stacked(xp, ws, 4)
    bias = xp.concatenate([bs[k] + bs[4 + k] for k in _GATES])
    for array in (w_x, w_h, bias):
        array[:3 * size] *= half
    return w_x, w_h, bias


def cell_step(xp, g, c, size, c_out, fc, ia, tanh_c, h_out):
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
        x, h, c = inputs[X], inputs[H0], inputs[C0]
        context = inputs[CONTEXT] if self.context else None
        xp = chainer.backend.get_array_module(x)
        batch, steps, _ = x.shape
        size = h.shape[1]
        dtype = x.dtype
        w_x, w_h, bias = halved_gates(xp, inputs[WEIGHTS], inputs[BIASES], dtype)
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
            cell_step(xp, g, c, size, cs[t], fc, ia, tanh_c, hs[t])
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
        # Two backward passes: on arrays, the recurrence by hand from what the forward
        # pass kept; as a graph (double backprop), chainer's own n_step_lstm, because a
        # differentiable recurrence would be that loop of nodes over the steps again.
        if backward_math().graph:
            return self._graph_backward(indexes, grad_outputs)
        inputs = [v.array for v in self.get_retained_inputs()]
        ws = inputs[WEIGHTS]
        xp = chainer.backend.get_array_module(inputs[X])
        d_gates, dh, dc = self._recurrence_backward(
            xp, _stacked(xp, ws, 4), [None if g is None else g.array for g in grad_outputs],
            need_h0=H0 in indexes)
        grads = [None] * len(inputs)
        grads[H0] = dh if H0 in indexes else None
        grads[C0] = dc if C0 in indexes else None
        self._input_grads(xp, indexes, inputs, d_gates, grads)
        return tuple(constant(g) for g in grads)

    def _recurrence_backward(self, xp, w_h, grad_outputs, need_h0):
        """The gradients of the gates' pre-activations (T, B, 4, H), of h0 and of c0,
        from those of (ys, h_T, c_T); ``w_h`` (4H, H) the recurrent weights, not halved."""
        gy, gh, gc = grad_outputs
        _, gates, hs, from_h, from_c = self._saved
        steps, batch, size = hs.shape
        dtype = hs.dtype
        f = gates.reshape(steps, batch, 4, size)[:, :, 2]
        d_gates = xp.empty((steps, batch, 4, size), dtype)
        dh = xp.zeros((batch, size), dtype) if gh is None else gh.astype(dtype, copy=True)
        dc = xp.zeros((batch, size), dtype) if gc is None else gc.astype(dtype, copy=True)
        product = xp.empty((batch, size), dtype)
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
        return d_gates, dh, dc

    def _input_grads(self, xp, indexes, inputs, d_gates, grads):
        """The gradients of x, the context, the weights and the biases, into ``grads``."""
        x_rows, _, hs, _, _ = self._saved
        steps, batch, size = hs.shape
        dtype = hs.dtype
        context = inputs[CONTEXT] if self.context else None
        d_rows = d_gates.reshape(steps * batch, 4 * size)
        n_context = 0 if context is None else context.shape[1]
        d_sum = d_gates.sum(axis=0).reshape(batch, 4 * size)  # over the steps
        ws = inputs[WEIGHTS]
        w_x = _stacked(xp, ws, 0) if (X in indexes or CONTEXT in indexes) else None
        if X in indexes:
            gx = d_rows.dot(w_x[:, n_context:]).astype(dtype, copy=False)
            grads[X] = xp.ascontiguousarray(gx.reshape(steps, batch, -1).transpose(1, 0, 2))
        if CONTEXT in indexes:
            grads[CONTEXT] = d_sum.dot(w_x[:, :n_context]).astype(dtype, copy=False)
        g_wx = d_rows.T.dot(x_rows).astype(dtype, copy=False)
        if context is not None:
            g_wx = xp.concatenate([d_sum.T.dot(context).astype(dtype, copy=False), g_wx],
                                  axis=1)
        # the previous outputs of the steps: h0 for the first, hs of the one before
        first, later, earlier = (steps - 1, slice(None, -1), slice(1, None)) if self.reverse \
            else (0, slice(1, None), slice(None, -1))
        g_wh = d_gates[later].reshape(-1, 4 * size).T.dot(hs[earlier].reshape(-1, size))
        g_wh += d_gates[first].reshape(batch, 4 * size).T.dot(inputs[H0])
        g_b = d_sum.sum(axis=0)
        for position, k in enumerate(_GATES):
            block = slice(position * size, (position + 1) * size)
            for slot, g_w in ((weight_slot(k), g_wx), (weight_slot(4 + k), g_wh)):
                if slot in indexes:
                    grads[slot] = g_w[block]
            for slot in (bias_slot(k), bias_slot(4 + k)):  # b_k and b_{4+k}: one gradient
                if slot in indexes:
                    grads[slot] = g_b[block].copy()

    def _graph_backward(self, indexes, grad_outputs):
        """The gradients as a graph (double backprop): chainer's own ``n_step_lstm`` on
        the retained inputs, differentiated with ``chainer.grad``."""
        inputs = self.get_retained_inputs()
        x, h0, c0 = inputs[X], inputs[H0], inputs[C0]
        if self.context:
            context = inputs[CONTEXT]
            context = F.broadcast_to(context[:, None], (x.shape[0], x.shape[1], context.shape[1]))
            x = F.concat([context, x], axis=2)
        steps = list(F.separate(x, axis=1))
        if self.reverse:
            steps.reverse()
        hy, cy, ys = F.n_step_lstm(1, 0.0, F.expand_dims(h0, 0), F.expand_dims(c0, 0),
                                   [list(inputs[WEIGHTS])], [list(inputs[BIASES])], steps)
        ys = list(ys)
        if self.reverse:
            ys.reverse()
        outputs = (F.stack(ys, axis=1), hy[0], cy[0])
        used = [(y, g) for y, g in zip(outputs, grad_outputs) if g is not None]
        wanted = [inputs[index] for index in indexes]
        grads = chainer.grad([y for y, _ in used], wanted, [g for _, g in used],
                             enable_double_backprop=True)
        return tuple(grads)
