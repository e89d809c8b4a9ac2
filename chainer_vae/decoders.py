"""Decoders: z (B, latent) -> p(x|z), a likelihood over (B, *output_shape).

Each decoder computes raw outputs (B, n_params, *output_shape) its own way; the
likelihood (``chainer_vae.likelihoods``) turns them into a distribution.
``generate(z, sample)`` returns the mean of p(x|z) as an array; the autoregressive LSTM
decoder feeds its own outputs back one step at a time there.
"""
import chainer
import chainer.functions as F
import chainer.links as L
import numpy

from chainer_vae.layers import (CONV_KERNEL, CONV_PAD, CONV_STRIDE, MLP, activation, conv_grid,
                                dense, image_shape, sequence_shape)
from chainer_vae.likelihoods import mean_of


class _Decoder(chainer.Chain):
    def __init__(self, output_shape, likelihood):
        super().__init__()
        self.output_shape = tuple(output_shape)
        self.likelihood = likelihood

    def forward(self, z, x=None):
        """p(x|z); ``x`` (the data) is only read by autoregressive decoders."""
        return self.likelihood(self.raw(z, x))

    def raw(self, z, x=None):
        raise NotImplementedError

    def generate(self, z, sample=False):
        """The mean of p(x|z) for each z, shape (B, *output_shape): probabilities for a
        Bernoulli likelihood, locations for a Gaussian one."""
        with chainer.no_backprop_mode(), chainer.using_config("train", False):
            return mean_of(self(z))


class MLPDecoder(_Decoder):
    """Fully connected layers of sizes ``reversed(hidden)``, then one to the output."""

    def __init__(self, output_shape, latent, likelihood, hidden=(500,), activation_name="tanh",
                 **unused):
        super().__init__(output_shape, likelihood)
        out_size = likelihood.n_params * int(numpy.prod(output_shape))
        with self.init_scope():
            self.trunk = MLP(latent, list(reversed(hidden)), activation_name)
            self.out = L.Linear(self.trunk.out_size, out_size)

    def raw(self, z, x=None):
        h = dense(self.out, self.trunk(z))
        return F.reshape(h, (z.shape[0], self.likelihood.n_params) + self.output_shape)


class ConvDecoder(_Decoder):
    """One dense layer to a small grid, then stride-2 deconvolutions that mirror the conv
    encoder exactly (``outsize`` fixes odd sizes such as 7 -> 14 -> 28 or 25 -> 50 -> 100)."""

    def __init__(self, output_shape, latent, likelihood, hidden=(500,), channels=(32, 64),
                 activation_name="relu", **unused):
        super().__init__(output_shape, likelihood)
        n_channels, height, width = image_shape(output_shape)
        grid = conv_grid(height, width, len(channels))
        self._start_shape = (channels[-1],) + grid[-1]
        dense = hidden[0] if hidden else 256
        out_channels = list(reversed(channels[:-1])) + [likelihood.n_params * n_channels]
        with self.init_scope():
            self.dense = L.Linear(latent, dense)
            self.grid = L.Linear(dense, int(numpy.prod(self._start_shape)))
            self.deconvs = chainer.ChainList(*[
                L.Deconvolution2D(c_in, c_out, CONV_KERNEL, CONV_STRIDE, CONV_PAD, outsize=size)
                for c_in, c_out, size in zip(reversed(channels), out_channels,
                                             reversed(grid[:-1]))])
        self._activate = activation(activation_name)

    def raw(self, z, x=None):
        h = self._activate(self.dense(z))
        h = F.reshape(self._activate(self.grid(h)), (z.shape[0],) + self._start_shape)
        for i, deconv in enumerate(self.deconvs):
            h = deconv(h)
            if i + 1 < len(self.deconvs):
                h = self._activate(h)
        return F.reshape(h, (z.shape[0], self.likelihood.n_params) + self.output_shape)


class LSTMDecoder(_Decoder):
    """An LSTM whose state starts from z and which reads z at every step.

    With ``autoregressive`` it also reads the previous step of x: the data during
    training (teacher forcing), its own output during ``generate``.
    """

    def __init__(self, output_shape, latent, likelihood, hidden=(256,), autoregressive=False,
                 **unused):
        super().__init__(output_shape, likelihood)
        self._steps, self._features = sequence_shape(output_shape)
        self.autoregressive = autoregressive
        size = hidden[0] if hidden else 256
        in_size = latent + (self._features if autoregressive else 0)
        with self.init_scope():
            self.initial_h = L.Linear(latent, size)
            self.initial_c = L.Linear(latent, size)
            self.lstm = L.NStepLSTM(1, in_size, size, dropout=0.0)
            self.out = L.Linear(size, likelihood.n_params * self._features)

    def _initial_state(self, z):
        return F.tanh(self.initial_h(z))[None], self.initial_c(z)[None]

    def _inputs(self, z, previous):
        """Per-sequence inputs (B, T, latent [+ F]): z at every step, then x shifted by one."""
        batch, steps = z.shape[0], previous.shape[1] if previous is not None else self._steps
        inputs = F.broadcast_to(z[:, None, :], (batch, steps, z.shape[1]))
        if previous is not None:
            inputs = F.concat([inputs, previous], axis=2)
        return inputs

    def _step_outputs(self, state, inputs):
        h, c, ys = self.lstm(state[0], state[1], list(F.separate(inputs, axis=0)))
        out = self.out(F.stack(ys), n_batch_axes=2)  # (B, T, n_params * F)
        return (h, c), out

    def _to_raw(self, out):
        batch, steps = out.shape[:2]
        out = F.reshape(out, (batch, steps, self.likelihood.n_params, self._features))
        return F.reshape(F.transpose(out, (0, 2, 1, 3)),
                         (batch, self.likelihood.n_params) + self.output_shape)

    def raw(self, z, x=None):
        previous = None
        if self.autoregressive:
            if x is None:
                raise ValueError("an autoregressive decoder needs x for teacher forcing")
            x = F.reshape(x, (x.shape[0], self._steps, self._features))
            previous = F.pad(x[:, :-1], ((0, 0), (1, 0), (0, 0)), "constant")
        _, out = self._step_outputs(self._initial_state(z), self._inputs(z, previous))
        return self._to_raw(out)

    def generate(self, z, sample=False):
        """Non-autoregressive: the mean of p(x|z). Autoregressive: one step at a time, each
        step's output fed back (a Bernoulli draw with ``sample``, else the mean rounded for
        Bernoulli data, the mean for Gaussian data); returns the per-step means."""
        if not self.autoregressive:
            return super().generate(z, sample)
        xp = self.xp
        z = chainer.as_variable(z)
        with chainer.no_backprop_mode(), chainer.using_config("train", False):
            state = self._initial_state(z)
            previous = xp.zeros((z.shape[0], 1, self._features), dtype=z.dtype)
            means = []
            for _ in range(self._steps):
                state, out = self._step_outputs(state, self._inputs(z, previous))
                step_raw = F.reshape(out, (z.shape[0], self.likelihood.n_params, 1,
                                           self._features))
                mean = mean_of(self.likelihood(step_raw))
                means.append(mean)
                previous = self._feedback(mean, sample)
            return F.reshape(xp.concatenate(means, axis=1), (z.shape[0],) + self.output_shape).array

    def _feedback(self, mean, sample):
        if not self.likelihood.binary:
            return mean
        if sample:
            return (self.xp.random.uniform(size=mean.shape) < mean).astype(mean.dtype)
        return (mean >= 0.5).astype(mean.dtype)


DECODERS = {"mlp": MLPDecoder, "conv": ConvDecoder, "lstm": LSTMDecoder}
