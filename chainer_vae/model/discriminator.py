"""The discriminator of a VAE-GAN (Larsen et al., 2016): images -> (features, logit).

Stride-2 convolutions as the conv encoder's (kernel 4, pad 1), each followed by a leaky
ReLU, then one linear layer to the logit of "this image is real". The output of the last
convolution is the layer ``Dis_l`` whose features give the VAE-GAN's reconstruction
loss; the logit gives its GAN loss (``training.adversarial``).
"""
import chainer
import chainer.functions as F
import chainer.links as L

from chainer_vae.errors import ConfigError
from chainer_vae.model import ops
from chainer_vae.model.layers import CONV_KERNEL, CONV_PAD, CONV_STRIDE, conv_grid


def image_channels(input_shape):
    """(C, H, W) of images whose examples have ``input_shape``: (784,) -> (1, 28, 28),
    (28, 28) -> (1, 28, 28), (1, 28, 28) as it is; a ``ConfigError`` for a flat shape that
    is no square."""
    shape = tuple(input_shape)
    if len(shape) == 1:
        side = int(round(shape[0] ** 0.5))
        if side * side != shape[0]:
            raise ConfigError("a discriminator reads square images; examples of shape {} are "
                              "none".format(shape))
        return (1, side, side)
    if len(shape) == 2:
        return (1,) + shape
    return shape


class Discriminator(chainer.Chain):
    """D(x) = (features Dis_l(x) as (B, F), logit (B,)) for images x (B, *input_shape)
    with values in [0, 1]; ``channels`` output channels per stride-2 convolution."""

    def __init__(self, input_shape, channels=(32, 64)):
        super().__init__()
        self._image_shape = image_channels(input_shape)
        n_channels, height, width = self._image_shape
        last_h, last_w = conv_grid(height, width, len(channels))[-1]
        with self.init_scope():
            self.convs = chainer.ChainList(*[
                L.Convolution2D(c_in, c_out, CONV_KERNEL, CONV_STRIDE, CONV_PAD)
                for c_in, c_out in zip((n_channels,) + tuple(channels), channels)])
            self.out = L.Linear(channels[-1] * last_h * last_w, 1)

    @property
    def feature_size(self):
        """The number of features of ``Dis_l``, per example."""
        return int(self.out.W.shape[1])

    def forward(self, x):
        h = ops.reshape(x, (x.shape[0],) + self._image_shape)
        for conv in self.convs:
            h = F.leaky_relu(conv(h), slope=0.2)
        features = ops.reshape(h, (h.shape[0], -1))
        return features, ops.reshape(self.out(features), (h.shape[0],))

