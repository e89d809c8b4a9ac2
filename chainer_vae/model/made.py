"""Dependencies between the values of one time step: a MADE (Germain et al., 2015).

An LSTM decoder with independent Bernoulli keys per step cannot say that the notes of a
chord go together; its log-likelihood stays near that of a plain RNN. ``StepMADE`` makes
the F values of a step (piano keys, lowest first) autoregressive: the raw outputs for
value k depend on a per-step context (the LSTM state) and on values 0 .. k-1 of the same
step only, so p(x_t | context) = prod_k p(x_t,k | x_t,<k, context) is still one exact,
normalised likelihood that a single pass over the data evaluates.

The same MADE serves the MLP decoder, where the "step" is a whole image: its F pixels
in raster order.

The masks follow MADE with one hidden layer plus a direct connection: input k has
degree k + 1, hidden unit u degree ``1 + u * (F - 1) // H`` (H hidden units: the degrees
1 .. F - 1 spread evenly, so that with H < F - 1, as for a 784-pixel image, hidden units
still summarise the whole image and not only its first H values); a hidden unit sees the
inputs of degree <= its own, output k sees hidden units of degree < k + 1 and inputs
before k.
"""
import chainer
import chainer.functions as F
import chainer.links as L
import numpy


def made_masks(features, hidden):
    """The connectivity masks (1.0 = connected) as float32 arrays in ``W`` layout
    (out, in): input -> hidden (hidden, F), hidden -> output (F, hidden) and the direct
    input -> output (F, F), strictly lower triangular."""
    degree_in = numpy.arange(1, features + 1)
    degree_hidden = 1 + numpy.arange(hidden) * max(features - 1, 0) // hidden
    to_hidden = degree_hidden[:, None] >= degree_in[None, :]
    to_out = degree_in[:, None] > degree_hidden[None, :]
    direct = degree_in[:, None] > degree_in[None, :]
    return tuple(mask.astype(numpy.float32) for mask in (to_hidden, to_out, direct))


class StepMADE(chainer.Chain):
    """Raw outputs (N, n_params * F) for the values x (N, F) of N steps, given a context
    (N, C) per step; the outputs of value k (for each of the ``n_params`` parameters,
    parameter-major like the decoder's own output layer) ignore x[:, k:]."""

    def __init__(self, features, context_size, hidden, n_params=1, dropout=0.0):
        super().__init__()
        self.features = features
        self.n_params = n_params
        self.dropout = dropout
        to_hidden, to_out, direct = made_masks(features, hidden)
        self.to_hidden_mask = to_hidden
        self.to_out_mask = numpy.tile(to_out, (n_params, 1))
        self.direct_mask = numpy.tile(direct, (n_params, 1))
        for name in ("to_hidden_mask", "to_out_mask", "direct_mask"):
            self.register_persistent(name)
        with self.init_scope():
            self.context = L.Linear(context_size, hidden)
            self.to_hidden = L.Linear(features, hidden, nobias=True)
            self.to_out = L.Linear(hidden, n_params * features, nobias=True)
            self.direct = L.Linear(features, n_params * features, nobias=True,
                                   initialW=chainer.initializers.Zero())

    def forward(self, x, context):
        h = F.linear(x, self.to_hidden.W * self.to_hidden_mask) + self.context(context)
        h = F.dropout(F.tanh(h), self.dropout) if self.dropout else F.tanh(h)
        return (F.linear(h, self.to_out.W * self.to_out_mask)
                + F.linear(x, self.direct.W * self.direct_mask))

    def generate(self, context, base, choose):
        """Values (N, F) of N steps drawn one at a time, lowest first, and the means of
        their conditionals (N, F). ``base`` (N, n_params * F) holds the raw outputs the
        MADE adds to; ``choose(raw)`` turns the raw outputs (N, n_params) of one value into
        (mean, value) arrays (N,). The hidden layer is updated one input column at a time
        (as in NADE), so drawing a step costs about one pass instead of F."""
        return self.stepper(choose)(context, base)

    def stepper(self, choose):
        """``generate(context, base, choose)`` as a function of (context, base), its
        masked weights laid out once: for loops that draw many steps one after another."""
        xp = self.xp
        features, n_params = self.features, self.n_params
        to_hidden = xp.ascontiguousarray((self.to_hidden.W.array * self.to_hidden_mask).T)
        to_out = self.to_out.W.array * self.to_out_mask
        direct = self.direct.W.array * self.direct_mask
        # per value k, the weights of its n_params outputs: (U, n_params) and (F, n_params)
        rows = [k + features * numpy.arange(n_params) for k in range(features)]
        to_out = [xp.ascontiguousarray(to_out[r].T) for r in rows]
        direct = [xp.ascontiguousarray(direct[r].T) for r in rows]

        def draw(context, base):
            with chainer.no_backprop_mode():
                pre_activation = self.context(context).array.copy()
            base = base.reshape(len(base), n_params, features)
            values = xp.zeros((len(base), features), dtype=base.dtype)
            means = xp.zeros_like(values)
            for k in range(features):
                raw = xp.tanh(pre_activation) @ to_out[k]
                raw += base[:, :, k]
                raw += values @ direct[k]
                means[:, k], values[:, k] = choose(raw)
                pre_activation += values[:, k:k + 1] * to_hidden[k]
            return means, values
        return draw
