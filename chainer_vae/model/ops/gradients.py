"""What the fused nodes' backward passes share: one formula for the gradients, computed on
arrays or as a graph.

Chainer calls ``FunctionNode.backward`` with ``enable_backprop`` off for the usual
``Variable.backward()`` (no double backprop): the gradients are then computed on plain
arrays, with no graph node. With double backprop on they must be a graph of
``chainer.functions``, so that they can be differentiated again. A node writes its
backward once, with the operations of ``backward_math()``: NumPy's (CuPy's) without double
backprop, chainer's functions with it. The array operations are the ones the nodes' array
backward passes used before this module existed, so a training step's numbers are the same.
"""
import chainer
import chainer.functions as F
from chainer.utils import sum_to


def sum_event(array, event_ndims):
    """An array summed over its last ``event_ndims`` axes (none: the array itself)."""
    return array.sum(axis=tuple(range(-event_ndims, 0))) if event_ndims else array


def expand_event(grad, event_ndims):
    """A gradient of a ``sum_event`` result, reshaped to broadcast over the summed axes:
    an array view, or a reshape node for a Variable."""
    if not event_ndims:
        return grad
    shape = grad.shape + (1,) * event_ndims
    return F.reshape(grad, shape) if isinstance(grad, chainer.Variable) else grad.reshape(shape)


def constant(array):
    """``array`` as a Variable that needs no gradient (None stays None)."""
    return None if array is None else chainer.Variable(array, requires_grad=False)


class _ArrayMath:
    """The gradients' operations on arrays: no graph."""

    graph = False

    @staticmethod
    def values(variables):
        """The arrays of ``variables`` (None stays None)."""
        return [None if v is None else v.array for v in variables]

    @staticmethod
    def gradients(grads):
        """What ``backward`` returns for these gradients."""
        return tuple(constant(g) for g in grads)

    @staticmethod
    def exp(a):
        return chainer.backend.get_array_module(a).exp(a)

    @staticmethod
    def matmul(a, b, transa=False, dtype=None):
        """a b (a^T b with ``transa``), in ``dtype`` (a's by default)."""
        product = (a.T if transa else a).dot(b)
        return product.astype(dtype or a.dtype, copy=False)

    @staticmethod
    def sum(a, axis):
        return a.sum(axis=axis)

    @staticmethod
    def sum_to(a, shape):
        return sum_to(a, shape)

    @staticmethod
    def reshape(a, shape):
        return a.reshape(shape)

    @staticmethod
    def broadcast_to(a, shape, dtype):
        """A new array of ``shape`` and ``dtype`` filled with ``a``: with ``dtype`` given,
        because NumPy 1.x promotes a float32 0-d array times a Python float to float64."""
        spread = chainer.backend.get_array_module(a).empty(shape, dtype=dtype)
        spread[...] = a  # a 0-d array: fills on NumPy and CuPy alike
        return spread

    @staticmethod
    def masked(a, mask):
        """``a`` where the boolean array ``mask`` holds, else 0."""
        return a * mask


class _GraphMath:
    """The same operations as chainer functions: a graph that can be differentiated."""

    graph = True

    @staticmethod
    def values(variables):
        return list(variables)

    @staticmethod
    def gradients(grads):
        return tuple(grads)

    exp = staticmethod(F.exp)

    @staticmethod
    def matmul(a, b, transa=False, dtype=None):
        return F.matmul(a, b, transa=transa)

    @staticmethod
    def sum(a, axis):
        return F.sum(a, axis=axis)

    sum_to = staticmethod(F.sum_to)
    reshape = staticmethod(F.reshape)

    @staticmethod
    def broadcast_to(a, shape, dtype):
        return F.broadcast_to(a, shape)

    @staticmethod
    def masked(a, mask):
        return a * mask.astype(a.dtype)


def backward_math():
    """The operations a ``backward`` computes its gradients with now: on arrays when no
    graph is needed (``enable_backprop`` off, as chainer sets it for a backward pass
    without double backprop), else as chainer functions.

    Both have ``graph`` (bool), ``values(variables)`` (the retained inputs and output
    gradients as arrays or Variables), ``gradients(grads)`` (what ``backward`` returns),
    and ``exp``, ``matmul``, ``sum``, ``sum_to``, ``reshape``, ``broadcast_to``, ``masked``.
    """
    return _GraphMath if chainer.config.enable_backprop else _ArrayMath
