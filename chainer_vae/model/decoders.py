"""Decoders: z (B, latent) -> p(x|z), a likelihood over (B, *output_shape).

Each decoder computes raw outputs (B, n_params, *output_shape) its own way; the
likelihood (``chainer_vae.model.likelihoods``) turns them into a distribution.
``generate(z, sample)`` returns the mean of p(x|z) as an array, or with ``sample`` (True, or
a ``RandomState`` that seeds the draws) binary data drawn from it; the autoregressive
decoders feed their own outputs back one value or step at a time there. A conditional decoder
(``labels`` > 0, Sohn et al., 2015) is p(x|z, y): wherever it reads z it reads the code
[z, one-hot(y)] (``_Decoder.code``), so its step MADE's context holds the label too.
"""
import chainer
import chainer.functions as F
import chainer.links as L
import numpy

from chainer_vae.model import ops
from chainer_vae.model.layers import (CONV_KERNEL, CONV_PAD, CONV_STRIDE, MLP, activation,
                                      conv_grid, image_shape, sequence_shape, with_labels)
from chainer_vae.model.likelihoods import at_temperature, mean_of
from chainer_vae.model.made import StepMADE


class _Decoder(chainer.Chain):
    def __init__(self, output_shape, likelihood, labels=0):
        super().__init__()
        self.output_shape = tuple(output_shape)
        self.likelihood = likelihood
        self.labels = labels

    def code(self, z, y=None):
        """What the decoder reads where it reads z: [z, one-hot(y)] (B, latent + labels),
        or z itself without labels (see ``layers.with_labels``)."""
        return with_labels(z, y, self.labels)

    def forward(self, z, x=None, y=None):
        """p(x|z, y); ``x`` (the data) is only read by autoregressive decoders, the
        labels ``y`` (B,) or label weights (B, labels) by conditional ones."""
        return self.likelihood(self.raw(self.code(z, y), x))

    def raw(self, code, x=None):
        """Raw outputs (B, n_params, *output_shape) for codes (B, latent + labels)."""
        raise NotImplementedError

    def generate(self, z, sample=False, y=None, temperature=1.0):
        """The mean of p(x|z, y) for each z, shape (B, *output_shape): probabilities for a
        Bernoulli likelihood, locations for a Gaussian one, the continuous Bernoulli's
        mean for that one; with ``sample``, binary data drawn from a Bernoulli one. A
        ``temperature`` other than 1 divides the Bernoulli logits (``at_temperature``)."""
        with chainer.no_backprop_mode(), chainer.using_config("train", False):
            raw = self.raw(self.code(z, y))
            means = mean_of(self.likelihood(at_temperature(self.likelihood, raw, temperature)))
        return fed_back(self.likelihood, means, sample) if sample else means


def mlp_hidden(hidden, decoder_hidden=()):
    """The hidden sizes of the mlp decoder, from z to the output: ``decoder_hidden``, or
    the encoder's ``hidden`` reversed (a mirror of the encoder) when it is empty."""
    return list(decoder_hidden) or list(reversed(hidden))


class MLPDecoder(_Decoder):
    """Fully connected layers of sizes ``mlp_hidden(hidden, decoder_hidden)``, then one to
    the output: the mirror of the mlp encoder, or layers of their own (the study's music
    decoder is 20-100-500-15600 behind a 15600-1000-500-100-20 encoder).

    With ``step_made`` hidden units (> 0) the values of an example (the pixels of an
    image, in raster order) are autoregressive: the output for value k also reads values
    0 .. k-1 through a MADE whose context is the last hidden layer, so p(x|z) models the
    local dependencies (strokes) that independent pixels cannot. Training and scoring
    then need x (teacher forcing), and ``generate`` draws one value at a time.
    """

    def __init__(self, output_shape, latent, likelihood, hidden=(500,), activation_name="tanh",
                 step_made=0, labels=0, decoder_hidden=()):
        super().__init__(output_shape, likelihood, labels)
        self._features = int(numpy.prod(output_shape))
        self.step_made = step_made
        with self.init_scope():
            self.trunk = MLP(latent + labels, mlp_hidden(hidden, decoder_hidden),
                             activation_name)
            self.out = L.Linear(self.trunk.out_size, likelihood.n_params * self._features)
            if step_made:
                self.made = StepMADE(self._features, self.trunk.out_size, step_made,
                                     likelihood.n_params)

    def raw(self, code, x=None):
        h = self.trunk(code)
        out = ops.linear(h, self.out.W, self.out.b)
        if self.step_made:
            if x is None:
                raise ValueError("a decoder with a MADE needs x for teacher forcing")
            out = out + self.made(ops.reshape(x, (x.shape[0], self._features)), h)
        return ops.reshape(out, (code.shape[0], self.likelihood.n_params) + self.output_shape)

    def generate(self, z, sample=False, y=None, temperature=1.0):
        """The means of the conditionals of values drawn one at a time, or with ``sample``
        the values drawn (see ``_Decoder.generate`` when the values are independent)."""
        if not self.step_made:
            return super().generate(z, sample, y, temperature)
        with chainer.no_backprop_mode(), chainer.using_config("train", False):
            h = self.trunk(chainer.as_variable(self.code(z, y)))
            base = ops.linear(h, self.out.W, self.out.b).array
            means, values = self.made.generate(h, base, made_choice(self.likelihood, sample,
                                                                    temperature))
        return (values if sample else means).reshape((len(base),) + self.output_shape)


class ConvDecoder(_Decoder):
    """One dense layer to a small grid, then stride-2 deconvolutions that mirror the conv
    encoder exactly (``outsize`` fixes odd sizes such as 7 -> 14 -> 28 or 25 -> 50 -> 100)."""

    def __init__(self, output_shape, latent, likelihood, hidden=(500,), channels=(32, 64),
                 activation_name="relu", labels=0):
        super().__init__(output_shape, likelihood, labels)
        n_channels, height, width = image_shape(output_shape)
        grid = conv_grid(height, width, len(channels))
        self._start_shape = (channels[-1],) + grid[-1]
        width = hidden[0] if hidden else 256
        out_channels = list(reversed(channels[:-1])) + [likelihood.n_params * n_channels]
        with self.init_scope():
            self.dense = L.Linear(latent + labels, width)
            self.grid = L.Linear(width, int(numpy.prod(self._start_shape)))
            self.deconvs = chainer.ChainList(*[
                L.Deconvolution2D(c_in, c_out, CONV_KERNEL, CONV_STRIDE, CONV_PAD, outsize=size)
                for c_in, c_out, size in zip(reversed(channels), out_channels,
                                             reversed(grid[:-1]))])
        self._activate = activation(activation_name)

    def raw(self, code, x=None):
        h = self._activate(self.dense(code))
        h = ops.reshape(self._activate(self.grid(h)), (code.shape[0],) + self._start_shape)
        for i, deconv in enumerate(self.deconvs):
            h = deconv(h)
            if i + 1 < len(self.deconvs):
                h = self._activate(h)
        return ops.reshape(h, (code.shape[0], self.likelihood.n_params) + self.output_shape)


class LSTMDecoder(_Decoder):
    """An LSTM whose state starts from z and which reads z at every step (the code [z,
    one-hot(y)] for a conditional decoder, everywhere z is named below).

    With ``autoregressive`` it also reads the previous step of x: the data during
    training (teacher forcing), its own output during ``generate``. With ``step_made``
    hidden units (> 0) the values within each step are autoregressive too, lowest first
    (``chainer_vae.model.made.StepMADE``), which also needs x during training. ``dropout``
    drops LSTM outputs (and the MADE's hidden units) at that rate in training only.
    """

    def __init__(self, output_shape, latent, likelihood, hidden=(256,), autoregressive=False,
                 step_made=0, dropout=0.0, labels=0):
        super().__init__(output_shape, likelihood, labels)
        self._steps, self._features = sequence_shape(output_shape)
        self.autoregressive = autoregressive
        self.dropout = dropout
        size = hidden[0] if hidden else 256
        code = latent + labels
        in_size = code + (self._features if autoregressive else 0)
        with self.init_scope():
            self.initial_h = L.Linear(code, size)
            self.initial_c = L.Linear(code, size)
            self.lstm = ops.NStepLSTM(1, in_size, size, dropout=0.0)
            self.out = L.Linear(size, likelihood.n_params * self._features)
            if step_made:
                self.made = StepMADE(self._features, size, step_made, likelihood.n_params,
                                     dropout)
        self.step_made = step_made

    @property
    def _reads_x(self):
        """Whether the outputs depend on x itself (previous steps or lower values)."""
        return self.autoregressive or bool(self.step_made)

    def _initial_state(self, z):
        return F.tanh(self.initial_h(z))[None], self.initial_c(z)[None]

    def _step_outputs(self, state, z, previous=None):
        """The new state, the LSTM outputs (B, T, H) and the raw outputs before the
        within-step MADE (B, T, n_params * F) for steps that read z and, autoregressive,
        ``previous`` (B, T, F): x shifted by one step."""
        if previous is None:
            inputs = F.broadcast_to(z[:, None, :], (z.shape[0], self._steps, z.shape[1]))
            h, c, hs = self.lstm(state[0], state[1], inputs)
        else:  # every step reads (z, x_{t-1}): z as the LSTM's per-sequence context
            h, c, hs = self.lstm(state[0], state[1], previous, context=z)
        if self.dropout:
            hs = F.dropout(hs, self.dropout)
        return (h, c), hs, self.out(hs, n_batch_axes=2)

    def _with_made(self, out, hs, x):
        """``out`` plus the MADE's outputs for the steps x (B, T, F) given the states hs."""
        batch, steps = x.shape[:2]
        made = self.made(ops.reshape(x, (batch * steps, self._features)),
                         ops.reshape(hs, (batch * steps, hs.shape[2])))
        return out + ops.reshape(made, out.shape)

    def _to_raw(self, out):
        batch, steps = out.shape[:2]
        out = ops.reshape(out, (batch, steps, self.likelihood.n_params, self._features))
        return ops.reshape(F.transpose(out, (0, 2, 1, 3)),
                         (batch, self.likelihood.n_params) + self.output_shape)

    def raw(self, z, x=None, first=None):
        """Raw outputs for codes z; an autoregressive decoder's first step reads ``first``
        (B, F) as its previous step (zeros when None), the others x's previous step."""
        if self._reads_x:
            if x is None:
                raise ValueError("an autoregressive decoder needs x for teacher forcing")
            x = ops.reshape(x, (x.shape[0], self._steps, self._features))
        previous = None
        if self.autoregressive:
            if first is None:
                previous = F.pad(x[:, :-1], ((0, 0), (1, 0), (0, 0)), "constant")
            else:
                previous = F.concat((F.expand_dims(first, 1), x[:, :-1]), axis=1)
        _, hs, out = self._step_outputs(self._initial_state(z), z, previous)
        if self.step_made:
            out = self._with_made(out, hs, x)
        return self._to_raw(out)

    def generate(self, z, sample=False, y=None, temperature=1.0, first=None):
        """The mean of p(x|z, y) for independent values; otherwise one step
        (autoregressive) and one value within a step (``step_made``) at a time, each output
        fed back (a Bernoulli draw with ``sample``, else the mean rounded for Bernoulli
        data, the mean for other data); returns the means of the conditionals along the
        way, or with ``sample`` the values drawn. An autoregressive decoder's first step
        reads ``first`` (B, F) as its previous step (zeros when None)."""
        if not self._reads_x:
            return super().generate(z, sample, y, temperature)
        xp = self.xp
        z = chainer.as_variable(self.code(z, y))
        batch = z.shape[0]
        with chainer.no_backprop_mode(), chainer.using_config("train", False):
            state = self._initial_state(z)
            if not self.autoregressive:  # every step's state is known up front
                _, hs, out = self._step_outputs(state, z)
                means, values = self._generate_steps(out, hs, sample, temperature)
                return (values if sample else means).reshape((batch,) + self.output_shape)
            # One step at a time, on arrays: the LSTM's weights are stacked once
            # (``stepper``), and each step is a few array operations.
            step = self.lstm.stepper(context=z.array)
            draw = self.made.stepper(made_choice(self.likelihood, sample, temperature)) \
                if self.step_made else None
            h, c = (s.array for s in state)
            previous = (xp.zeros((batch, self._features), dtype=z.dtype) if first is None
                        else xp.asarray(first, dtype=z.dtype))
            means = []
            for _ in range(self._steps):
                h, c = step(h, c, previous)
                hs = chainer.Variable(h[-1][:, None])
                mean, previous = self._generate_steps(self.out(hs, n_batch_axes=2), hs, sample,
                                                      temperature, draw)
                means.append(previous if sample else mean)
                previous = previous[:, 0]
            return xp.concatenate(means, axis=1).reshape((batch,) + self.output_shape)

    def _generate_steps(self, out, hs, sample, temperature, draw=None):
        """The means (B, T, F) and fed-back values (B, T, F) of T steps whose LSTM outputs
        ``out`` and states ``hs`` are known, at ``temperature``; with the MADE, one value
        at a time (``draw``: its ``stepper``, when the caller keeps one)."""
        batch, steps = out.shape[:2]
        if not self.step_made:
            out = at_temperature(self.likelihood, out, temperature)
            mean = self._mean(out, (batch, steps, self.likelihood.n_params, self._features))
            return mean, fed_back(self.likelihood, mean, sample)
        if draw is None:
            draw = self.made.stepper(made_choice(self.likelihood, sample, temperature))
        means, values = draw(ops.reshape(hs, (batch * steps, -1)),
                             out.array.reshape(batch * steps, -1))
        shape = (batch, steps, self._features)
        return means.reshape(shape), values.reshape(shape)

    def _mean(self, out, shape):
        """The mean (B, T, F) of the likelihood for raw outputs ``out`` (B, T, n_params * F)."""
        raw = F.transpose(ops.reshape(out, shape), (0, 2, 1, 3))
        return mean_of(self.likelihood(raw))


def fed_back(likelihood, mean, sample):
    """The value an autoregressive decoder reads back for a drawn mean: a Bernoulli draw
    with ``sample`` (from ``sample.uniform`` when it is a ``RandomState``, else the
    array module's generator), else the mean rounded, for binary data; the mean for
    other data (Gaussian, continuous Bernoulli)."""
    if not likelihood.binary:
        return mean
    if sample:
        xp = chainer.backend.get_array_module(mean)
        uniform = getattr(sample, "uniform", xp.random.uniform)
        return (xp.asarray(uniform(size=mean.shape)) < mean).astype(mean.dtype)
    return (mean >= 0.5).astype(mean.dtype)


def made_choice(likelihood, sample, temperature=1.0):
    """``choose`` for ``StepMADE.generate``: raw outputs (N, n_params) of one value ->
    the mean of its conditional at ``temperature`` and the value fed back, arrays (N,)."""

    def choose(raw):
        mean = likelihood.mean(at_temperature(likelihood, raw[:, :, None], temperature))[:, 0]
        return mean, fed_back(likelihood, mean, sample)
    return choose


DECODERS = {"mlp": MLPDecoder, "conv": ConvDecoder, "lstm": LSTMDecoder}
