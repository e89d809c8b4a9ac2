"""Building blocks shared by encoders and decoders: activations, MLP stacks, conv geometry,
and the one-hot labels a conditional part reads."""
import chainer
import chainer.functions as F
import chainer.links as L

from chainer_vae.errors import ConfigError, choice
from chainer_vae.model import ops

ACTIVATIONS = {"relu": F.relu, "tanh": F.tanh, "softplus": F.softplus, "elu": F.elu,
               "leaky_relu": F.leaky_relu}

# Every conv layer halves the grid: kernel 4, stride 2, pad 1.
CONV_KERNEL, CONV_STRIDE, CONV_PAD = 4, 2, 1


def activation(name):
    """The activation function called ``name``."""
    return choice(ACTIVATIONS, name, "activation")


class MLP(chainer.ChainList):
    """Linear layers of the given sizes, the activation after every one of them."""

    def __init__(self, in_size, sizes, activation_name):
        super().__init__(*[L.Linear(n_in, n_out)
                           for n_in, n_out in zip([in_size] + list(sizes[:-1]), sizes)])
        self.out_size = sizes[-1] if sizes else in_size
        self._activation = activation(activation_name)

    def forward(self, h):
        for layer in self:
            h = ops.linear(h, layer.W, layer.b, activation=self._activation)
        return h


def with_labels(h, y, labels):
    """[h, one-hot(y)]: the input (B, H + labels) of a part conditioned on ``labels``
    labels; h itself for a part without labels (``labels`` 0), which ignores y.

    ``y`` holds int labels (B,) in [0, labels), or label weights (B, labels) (rows of
    one-hot vectors, or mixtures of two along an interpolation), on h's device.
    """
    if not labels:
        return h
    return F.concat([h, label_weights(y, labels, h.dtype)], axis=1)


def label_weights(y, labels, dtype):
    """Labels y (B,) as one-hot rows (B, labels) of ``dtype``; label weights (B, labels)
    as they are (see ``with_labels``)."""
    if y is None:
        raise ConfigError("this model was trained with --conditional: it needs the label of "
                          "each example")
    y = chainer.as_array(y)
    xp = chainer.backend.get_array_module(y)
    return y.astype(dtype) if y.ndim == 2 else xp.eye(labels, dtype=dtype)[y]


def conv_grid(height, width, n_layers):
    """Spatial sizes [(H, W), ...] after each of ``n_layers`` halving conv layers."""
    sizes = [(height, width)]
    for _ in range(n_layers):
        h, w = sizes[-1]
        h, w = ((n + 2 * CONV_PAD - CONV_KERNEL) // CONV_STRIDE + 1 for n in (h, w))
        if h < 1 or w < 1:
            raise ConfigError(
                "conv: a {}x{} input is too small for {} stride-2 layers; use fewer channels "
                "entries".format(height, width, n_layers))
        sizes.append((h, w))
    return sizes


def image_shape(input_shape):
    """(C, H, W) for a conv part: (H, W) inputs, such as piano-roll windows, get one channel."""
    if len(input_shape) == 3:
        return tuple(input_shape)
    if len(input_shape) == 2:
        return (1,) + tuple(input_shape)
    raise ConfigError("conv parts need (C, H, W) or (H, W) inputs, got shape {}".format(
        tuple(input_shape)))


def sequence_shape(input_shape):
    """(T, F) for an LSTM part: (1, H, W) images are read as H rows of W values."""
    shape = tuple(input_shape)
    if len(shape) == 3 and shape[0] == 1:
        shape = shape[1:]
    if len(shape) != 2:
        raise ConfigError("lstm parts need (steps, features) inputs, got shape {}; for MNIST "
                          "use --arch lstm, which reads images as rows".format(tuple(input_shape)))
    return shape
