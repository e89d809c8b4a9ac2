"""``reshape``: chainer's reshape, whose backward adds no node."""
import chainer
import chainer.functions as F
import numpy
from chainer import function_node

from chainer_vae.model.ops.gradients import backward_math
from chainer_vae.model.ops.switch import fused_enabled


class _Reshape(function_node.FunctionNode):
    """x.reshape(shape); the usual backward reshapes the gradient array back, where
    chainer's ``Reshape`` adds another ``Reshape`` node."""

    def __init__(self, shape):
        self.shape = shape

    def forward(self, inputs):
        x, = inputs
        self._in_shape = x.shape
        return x.reshape(self.shape),

    def backward(self, indexes, grad_outputs):
        math = backward_math()
        gy, = math.values(grad_outputs)
        return math.gradients((math.reshape(gy, self._in_shape),))


def reshape(x, shape):
    """``chainer.functions.reshape(x, shape)``: the same arguments and values, in a cheaper
    node (none when the shape does not change); one entry of ``shape`` may be -1, as in
    NumPy. Nothing beyond chainer's."""
    if not fused_enabled():
        return F.reshape(x, tuple(shape))
    shape = tuple(shape)
    if -1 in shape:
        known = int(numpy.prod([size for size in shape if size != -1]))
        shape = tuple(x.size // known if known and size == -1 else size for size in shape)
    if x.shape == shape:
        return chainer.as_variable(x)
    return _Reshape(shape).apply((x,))[0]
