"""Encoders: x (B, *input_shape) -> q(z|x), an Independent Normal over (B, latent).

Each encoder builds features h (B, H) its own way; one shared head turns them into the
mean and log standard deviation of q. A conditional encoder (``labels`` > 0, Sohn et al.,
2015) is q(z|x, y): its head reads [h, one-hot(y)] and, with ``label_input`` (the default of
new runs), its features read the label beside x too, as Sohn et al. feed it: at the MLP's
input, beside the conv layers' output, at every step of the LSTM. An encoder that reads
the label from its first layer on can leave the class out of z, so that z carries the
style and the decoder's label the class.
"""
import chainer
import chainer.functions as F
import chainer.links as L
import numpy

from chainer_vae.model import ops
from chainer_vae.model.layers import (CONV_KERNEL, CONV_PAD, CONV_STRIDE, MLP, activation,
                                      conv_grid, image_shape, label_weights, sequence_shape,
                                      with_labels)


class _GaussianEncoder(chainer.Chain):
    """Adds the head [h, one-hot(y)] -> (mu, log sigma) -> q(z|x, y) to a feature
    extractor; without labels (``labels`` 0) the head reads h alone: q(z|x)."""

    def __init__(self, feature_size, latent, labels=0, label_input=False):
        super().__init__()
        self.labels = labels
        self.label_input = bool(labels) and label_input
        with self.init_scope():
            self.mu = L.Linear(feature_size + labels, latent)
            self.ln_sigma = L.Linear(feature_size + labels, latent)

    def forward(self, x, y=None):
        """q(z|x, y) for x (B, *input_shape) and, conditional, labels y (B,) or label
        weights (B, labels) (see ``layers.with_labels``; ignored without labels)."""
        h = with_labels(self.features(x, y), y, self.labels)
        loc, log_scale = ops.linear_heads(h, (self.mu, self.ln_sigma))
        return ops.Independent(ops.Normal(loc=loc, log_scale=log_scale),
                               reinterpreted_batch_ndims=1)

    def features(self, x, y=None):
        """Features (B, H) of x; with ``label_input``, read with the labels y."""
        raise NotImplementedError

    def _label_width(self):
        """Values the features' first layer reads beside x: the one-hot label, or none."""
        return self.labels if self.label_input else 0

    def _with_label(self, h, y):
        return with_labels(h, y, self.labels) if self.label_input else h


class MLPEncoder(_GaussianEncoder):
    """Flattens x and applies fully connected layers of sizes ``hidden``."""

    def __init__(self, input_shape, latent, hidden=(500,), activation_name="tanh", labels=0,
                 label_input=False):
        in_size = int(numpy.prod(input_shape))
        reads_label = labels if label_input else 0
        trunk = MLP(in_size + reads_label, list(hidden), activation_name)
        super().__init__(trunk.out_size, latent, labels, label_input)
        with self.init_scope():
            self.trunk = trunk

    def features(self, x, y=None):
        return self.trunk(self._with_label(ops.reshape(x, (x.shape[0], -1)), y))


class ConvEncoder(_GaussianEncoder):
    """Stride-2 convolutions with ``channels`` output channels each, then one dense layer.

    Accepts (C, H, W) images or (T, F) piano-roll windows (read as a one-channel image).
    """

    def __init__(self, input_shape, latent, hidden=(500,), channels=(32, 64),
                 activation_name="relu", labels=0, label_input=False):
        self._image_shape = image_shape(input_shape)
        n_channels, height, width = self._image_shape
        last_h, last_w = conv_grid(height, width, len(channels))[-1]
        dense = hidden[0] if hidden else 256
        super().__init__(dense, latent, labels, label_input)
        with self.init_scope():
            self.convs = chainer.ChainList(*[
                L.Convolution2D(c_in, c_out, CONV_KERNEL, CONV_STRIDE, CONV_PAD)
                for c_in, c_out in zip((n_channels,) + tuple(channels), channels)])
            self.dense = L.Linear(channels[-1] * last_h * last_w + self._label_width(), dense)
        self._activate = activation(activation_name)

    def features(self, x, y=None):
        h = ops.reshape(x, (x.shape[0],) + self._image_shape)
        for conv in self.convs:
            h = self._activate(conv(h))
        return self._activate(self.dense(self._with_label(ops.reshape(h, (h.shape[0], -1)), y)))


class LSTMEncoder(_GaussianEncoder):
    """A bidirectional LSTM over the time steps (or image rows); the last states of both
    directions are the features."""

    def __init__(self, input_shape, latent, hidden=(256,), bidirectional=True, labels=0,
                 label_input=False):
        steps, features = sequence_shape(input_shape)
        size = hidden[0] if hidden else 256
        n_directions = 2 if bidirectional else 1
        super().__init__(n_directions * size, latent, labels, label_input)
        self._sequence_shape = (steps, features)
        reads = features + self._label_width()
        with self.init_scope():
            if bidirectional:
                self.lstm = ops.NStepBiLSTM(1, reads, size, dropout=0.0)
            else:
                self.lstm = ops.NStepLSTM(1, reads, size, dropout=0.0)

    def features(self, x, y=None):
        x = ops.reshape(x, (x.shape[0],) + self._sequence_shape)
        if self.label_input:  # the one-hot label beside every step
            label = label_weights(y, self.labels, x.dtype)[:, None, :]
            steps = self._sequence_shape[0]
            x = F.concat([x, F.broadcast_to(label, (x.shape[0], steps, self.labels))], axis=2)
        last_states, _, _ = self.lstm(None, None, x)  # x: B sequences of one length
        # (directions, B, H) -> (B, directions * H)
        return F.concat(list(F.separate(last_states, axis=0)), axis=1)


ENCODERS = {"mlp": MLPEncoder, "conv": ConvEncoder, "lstm": LSTMEncoder}
