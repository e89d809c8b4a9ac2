"""``linear`` (with its activation in the same node) and ``linear_heads`` (several linear
layers of one input in one node)."""
import chainer
import chainer.functions as F
from chainer import function_node

from chainer_vae.model.ops.gradients import backward_math
from chainer_vae.model.ops.switch import fused_enabled

# The activations ``linear`` computes inside its node, by the name the node uses.
_FUSED_ACTIVATIONS = {None: None, F.relu: "relu", F.tanh: "tanh"}


class _LinearActivation(function_node.FunctionNode):
    """y = activation(x W^T + b); x (B, in), W (out, in), b (out,) -> y (B, out)."""

    def __init__(self, activation):
        self.activation = activation

    def forward(self, inputs):
        x, W, b = inputs
        self.retain_inputs((0, 1))
        y = x.dot(W.T).astype(x.dtype, copy=False)
        y += b
        xp = chainer.backend.get_array_module(y)
        if self.activation == "relu":
            xp.maximum(y, 0, out=y)
        elif self.activation == "tanh":
            xp.tanh(y, out=y)
        if self.activation is not None:
            self.retain_outputs((0,))
        return y,

    def _pre_activation_grad(self, math, gy):
        """dL/d(x W^T + b) from dL/dy."""
        if self.activation is None:
            return gy
        y, = math.values(self.get_retained_outputs())
        if self.activation == "relu":
            # ReLU's second derivative is zero: the mask is a constant
            return math.masked(gy, chainer.as_array(y) > 0)
        return gy * (1 - y * y)

    def backward(self, indexes, grad_outputs):
        math = backward_math()
        x, W = math.values(self.get_retained_inputs())
        gy, = math.values(grad_outputs)
        gz = self._pre_activation_grad(math, gy)
        return math.gradients((
            math.matmul(gz, W, dtype=x.dtype) if 0 in indexes else None,
            math.matmul(gz, x, transa=True, dtype=W.dtype) if 1 in indexes else None,
            math.sum(gz, axis=0) if 2 in indexes else None))


def linear(x, W, b=None, n_batch_axes=1, activation=None):
    """``activation(F.linear(x, W, b, n_batch_axes))``: chainer's arguments plus
    ``activation``, a function such as ``F.relu``, or None.

    One node when x is 2-D, there is a bias and the activation is ``F.relu``, ``F.tanh``
    or None; chainer's ``F.linear`` and the activation otherwise.
    """
    name = _FUSED_ACTIVATIONS.get(activation, False)
    if (name is False or b is None or x.ndim != 2 or n_batch_axes != 1
            or chainer.as_array(W) is None or not fused_enabled()):
        y = F.linear(x, W, b, n_batch_axes)
        return y if activation is None else activation(y)
    return _LinearActivation(name).apply((x, W, b))[0]


def _weight(head):
    """The input slot of head ``head``'s W in ``_LinearHeads`` (its b is the next one)."""
    return 1 + 2 * head


class _LinearHeads(function_node.FunctionNode):
    """y_i = x W_i^T + b_i for n heads; inputs (x, W_1, b_1, ..., W_n, b_n)."""

    def forward(self, inputs):
        x = inputs[0]
        self.retain_inputs(tuple(range(len(inputs))))
        outputs = []
        for W, b in zip(inputs[1::2], inputs[2::2]):
            y = x.dot(W.T).astype(x.dtype, copy=False)
            y += b
            outputs.append(y)
        return tuple(outputs)

    def backward(self, indexes, grad_outputs):
        math = backward_math()
        retained = math.values(self.get_retained_inputs())
        x = retained[0]
        gys = math.values(grad_outputs)
        grads = [None] * len(retained)
        for head, gy in enumerate(gys):
            if gy is None:
                continue
            W = retained[_weight(head)]
            if 0 in indexes:  # x's gradient adds every head's part
                part = math.matmul(gy, W, dtype=x.dtype)
                grads[0] = part if grads[0] is None else grads[0] + part
            if _weight(head) in indexes:
                grads[_weight(head)] = math.matmul(gy, x, transa=True, dtype=W.dtype)
            if _weight(head) + 1 in indexes:
                grads[_weight(head) + 1] = math.sum(gy, axis=0)
        return math.gradients(grads)


def linear_heads(x, links):
    """``[link(x) for link in links]`` for ``L.Linear`` links, in one node when x is 2-D
    and every link has a bias (x's gradient then needs no node to add the heads' parts).
    Not in chainer."""
    if (x.ndim != 2 or any(link.b is None or link.W.array is None for link in links)
            or not fused_enabled()):
        return [link(x) for link in links]
    params = []
    for link in links:
        params += [link.W, link.b]
    return list(_LinearHeads().apply([x] + params))
