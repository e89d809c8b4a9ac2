"""Encoders: x (B, *input_shape) -> q(z|x), an Independent Normal over (B, latent).

Each encoder builds features h (B, H) its own way; one shared head turns them into the
mean and log standard deviation of q. A conditional encoder (``labels`` > 0, Sohn et al.,
2015) is q(z|x, y): its head reads [h, one-hot(y)].
"""
import chainer
import chainer.functions as F
import chainer.links as L
import numpy

from chainer_vae.model import ops
from chainer_vae.model.layers import (CONV_KERNEL, CONV_PAD, CONV_STRIDE, MLP, activation,
                                      conv_grid, image_shape, sequence_shape, with_labels)


class _GaussianEncoder(chainer.Chain):
    """Adds the head [h, one-hot(y)] -> (mu, log sigma) -> q(z|x, y) to a feature
    extractor; without labels (``labels`` 0) the head reads h alone: q(z|x)."""

    def __init__(self, feature_size, latent, labels=0):
        super().__init__()
        self.labels = labels
        with self.init_scope():
            self.mu = L.Linear(feature_size + labels, latent)
            self.ln_sigma = L.Linear(feature_size + labels, latent)

    def forward(self, x, y=None):
        """q(z|x, y) for x (B, *input_shape) and, conditional, labels y (B,) or label
        weights (B, labels) (see ``layers.with_labels``; ignored without labels)."""
        h = with_labels(self.features(x), y, self.labels)
        loc, log_scale = ops.linear_heads(h, (self.mu, self.ln_sigma))
        return ops.Independent(ops.Normal(loc=loc, log_scale=log_scale),
                               reinterpreted_batch_ndims=1)

    def features(self, x):
        raise NotImplementedError


class MLPEncoder(_GaussianEncoder):
    """Flattens x and applies fully connected layers of sizes ``hidden``."""

    def __init__(self, input_shape, latent, hidden=(500,), activation_name="tanh", labels=0,
                 **unused):
        in_size = int(numpy.prod(input_shape))
        trunk = MLP(in_size, list(hidden), activation_name)
        super().__init__(trunk.out_size, latent, labels)
        with self.init_scope():
            self.trunk = trunk

    def features(self, x):
        return self.trunk(ops.reshape(x, (x.shape[0], -1)))


class ConvEncoder(_GaussianEncoder):
    """Stride-2 convolutions with ``channels`` output channels each, then one dense layer.

    Accepts (C, H, W) images or (T, F) piano-roll windows (read as a one-channel image).
    """

    def __init__(self, input_shape, latent, hidden=(500,), channels=(32, 64),
                 activation_name="relu", labels=0, **unused):
        self._image_shape = image_shape(input_shape)
        n_channels, height, width = self._image_shape
        last_h, last_w = conv_grid(height, width, len(channels))[-1]
        dense = hidden[0] if hidden else 256
        super().__init__(dense, latent, labels)
        with self.init_scope():
            self.convs = chainer.ChainList(*[
                L.Convolution2D(c_in, c_out, CONV_KERNEL, CONV_STRIDE, CONV_PAD)
                for c_in, c_out in zip((n_channels,) + tuple(channels), channels)])
            self.dense = L.Linear(channels[-1] * last_h * last_w, dense)
        self._activate = activation(activation_name)

    def features(self, x):
        h = ops.reshape(x, (x.shape[0],) + self._image_shape)
        for conv in self.convs:
            h = self._activate(conv(h))
        return self._activate(self.dense(h))


class LSTMEncoder(_GaussianEncoder):
    """A bidirectional LSTM over the time steps (or image rows); the last states of both
    directions are the features."""

    def __init__(self, input_shape, latent, hidden=(256,), bidirectional=True, labels=0,
                 **unused):
        steps, features = sequence_shape(input_shape)
        size = hidden[0] if hidden else 256
        n_directions = 2 if bidirectional else 1
        super().__init__(n_directions * size, latent, labels)
        self._sequence_shape = (steps, features)
        with self.init_scope():
            if bidirectional:
                self.lstm = ops.NStepBiLSTM(1, features, size, dropout=0.0)
            else:
                self.lstm = ops.NStepLSTM(1, features, size, dropout=0.0)

    def features(self, x):
        x = ops.reshape(x, (x.shape[0],) + self._sequence_shape)
        last_states, _, _ = self.lstm(None, None, x)  # x: B sequences of one length
        # (directions, B, H) -> (B, directions * H)
        return F.concat(list(F.separate(last_states, axis=0)), axis=1)


ENCODERS = {"mlp": MLPEncoder, "conv": ConvEncoder, "lstm": LSTMEncoder}
