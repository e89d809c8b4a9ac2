"""``NStepLSTM`` and ``NStepBiLSTM``: chainer's links of those names (the same parameters,
so saved weights load) with a fused forward pass, two more ways to call them (one
(B, T, I) array, a ``context``) and a ``stepper`` for generation loops."""
import chainer
import chainer.functions as F
import chainer.links as L
import numpy

from chainer_vae.model.ops.lstm_node import _LSTMDirection, cell_step, halved_gates
from chainer_vae.model.ops.reshape import reshape
from chainer_vae.model.ops.switch import fused_enabled


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
    """The forward pass and ``stepper`` of ``NStepLSTM`` and ``NStepBiLSTM`` below (a
    mixin over chainer's link of the same name)."""

    def forward(self, hx, cx, xs, context=None, **kwargs):
        """chainer's ``forward(hx, cx, xs)``: hx, cx (layers * directions, B, H) or None,
        xs a list of B sequences (T_i, I); returns (hy, cy, ys), ys a list of B (T_i,
        directions * H). Two additions, on either path (fused or chainer's):

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
        length, no dropout between layers in training, and the fused paths on."""
        if self.xp is not numpy or not fused_enabled():
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
        (B, C) every step reads it before x, as ``forward``'s ``context``. Not in
        chainer's links: for generation loops, which feed each step's output back. The
        fused stepper stacks the weights once, here, and computes with the fused node's
        arithmetic; with the fused paths off (when this is called) each step is chainer's
        ``n_step_lstm``. Raises ValueError for a bidirectional LSTM."""
        if self.direction != 1:
            raise ValueError("a bidirectional LSTM cannot run one step at a time")
        if not fused_enabled():
            return _PlainLSTMStepper(self, context)
        return _LSTMStepper(self, context)


class _LSTMStepper:
    """``NStepLSTM.stepper``'s function, with the fused node's arithmetic."""

    def __init__(self, link, context):
        xp = link.xp
        self._xp = xp
        self._layers = []
        for index in range(link.n_layers):
            ws = [w.array for w in link.ws[index]]
            w_x, w_h, bias = halved_gates(xp, ws, [b.array for b in link.bs[index]],
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
            cell_step(xp, g, c[layer], w_h_t.shape[0], cs[layer], scratch[0], scratch[1],
                      scratch[2], hs[layer])
            x = hs[layer]
        return hs, cs


class _PlainLSTMStepper:
    """``NStepLSTM.stepper``'s function with the fused paths off: chainer's
    ``n_step_lstm`` over one step (no dropout, as the fused stepper)."""

    def __init__(self, link, context):
        self._link = link
        self._context = context

    def __call__(self, h, c, x):
        link = self._link
        if self._context is not None:
            x = link.xp.concatenate([self._context, x], axis=1)
        with chainer.no_backprop_mode():
            hy, cy, _ = F.n_step_lstm(link.n_layers, 0.0, h, c, link.ws, link.bs, [x])
        return hy.array, cy.array


class NStepLSTM(_FusedNStepLSTM, L.NStepLSTM):
    """``chainer.links.NStepLSTM`` (the same parameters, names and values). Its forward
    pass over sequences of one length runs one fused node per layer (``_LSTMDirection``)
    on NumPy arrays, and chainer's ``n_step_lstm`` otherwise (cuDNN on a GPU). Beyond
    chainer's link, ``forward`` takes one (B, T, I) array and ``context=``, and
    ``stepper(context=None)`` runs it one step at a time (see ``_FusedNStepLSTM``)."""


class NStepBiLSTM(_FusedNStepLSTM, L.NStepBiLSTM):
    """``chainer.links.NStepBiLSTM`` with one fused node per layer and direction, and
    ``forward``'s (B, T, I) array and ``context=``; see ``NStepLSTM``. Its ``stepper``
    raises ValueError: a bidirectional LSTM reads the whole sequence."""
