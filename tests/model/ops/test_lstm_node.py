"""The fused LSTM node (``_LSTMDirection``: one layer, one direction) computes what one
direction of chainer's ``n_step_lstm`` computes: values, gradients of every input slot and,
through chainer's own LSTM, second derivatives."""
from __future__ import annotations

import chainer_vae  # noqa: F401  (before chainer)
import chainer.functions as F
import numpy as np
import pytest
from chainer import gradient_check

from chainer_vae.model.ops.lstm_node import _LSTMDirection

F64 = {"atol": 1e-6, "rtol": 1e-6}


def _direction_inputs(rng, batch=2, steps=3, in_size=3, size=2, context=0):
    return ([rng.randn(batch, steps, in_size), rng.randn(batch, size), rng.randn(batch, size)]
            + [rng.randn(size, context + in_size) for _ in range(4)]
            + [rng.randn(size, size) for _ in range(4)] + [rng.randn(size) for _ in range(8)]
            + ([rng.randn(batch, context)] if context else []))


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("context", [0, 2])
def test_direction_node_gradients(reverse, context):
    """check_backward (and check_double_backward, through chainer's own LSTM) in float64
    for every input: x, h0, c0, the 16 weights and biases, and the context."""
    rng = np.random.RandomState(2)
    inputs = tuple(_direction_inputs(rng, context=context))
    grads = (rng.randn(2, 3, 2), rng.randn(2, 2), rng.randn(2, 2))

    def f(*inputs):
        return _LSTMDirection(reverse, bool(context)).apply(inputs)

    np.random.seed(3)  # check_backward's random direction
    # a small step: the finite differences of a whole LSTM are off by eps^2 times its
    # third derivatives, which exceed 1e-6 at chainer's default eps (1e-3)
    gradient_check.check_backward(f, inputs, grads, dtype=np.float64, eps=1e-4, **F64)
    second = tuple(rng.randn(*a.shape) for a in inputs)
    gradient_check.check_double_backward(f, inputs, grads, second, dtype=np.float64,
                                         eps=1e-4, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("reverse", [False, True])
def test_direction_node_equals_one_direction_of_chainers_lstm(reverse):
    rng = np.random.RandomState(3)
    inputs = [a.astype(np.float32) for a in _direction_inputs(rng, batch=4, steps=5,
                                                                in_size=3, size=6)]
    x, h0, c0, ws, bs = inputs[0], inputs[1], inputs[2], inputs[3:11], inputs[11:19]
    ys, h, c = _LSTMDirection(reverse).apply(inputs)
    steps = list(x.transpose(1, 0, 2))
    if reverse:
        steps.reverse()
    hy, cy, plain = F.n_step_lstm(1, 0.0, h0[None], c0[None], [ws], [bs], steps)
    plain = [y.array for y in plain]
    if reverse:
        plain.reverse()
    np.testing.assert_allclose(ys.array, np.stack(plain, axis=1), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h.array, hy.array[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(c.array, cy.array[0], rtol=1e-5, atol=1e-6)
