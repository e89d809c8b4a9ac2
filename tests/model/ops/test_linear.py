"""``ops.linear`` and ``ops.linear_heads`` compute what chainer's links and activations do:
values, gradients and second derivatives."""
from __future__ import annotations

import chainer_vae  # noqa: F401  (before chainer)
import chainer
import chainer.functions as F
import chainer.links as L
import numpy as np
import pytest
from chainer import gradient_check

from chainer_vae.model import ops
from chainer_vae.model.ops.linear import _LinearActivation, _LinearHeads

F64 = {"atol": 1e-6, "rtol": 1e-6}


def _rng(seed=0):
    return np.random.RandomState(seed)


def _plain_activation(name):
    return {"relu": F.relu, "tanh": F.tanh, None: lambda h: h}[name]


def _activation(name):
    """The function ``ops.linear`` is given for an activation name."""
    return {"relu": F.relu, "tanh": F.tanh, None: None}[name]


@pytest.mark.parametrize("activation", ["relu", "tanh", None])
def test_fused_linear_matches_link_and_activation(activation):
    rng = _rng()
    link = L.Linear(7, 5)
    link.W.array[...] = rng.randn(5, 7)
    link.b.array[...] = rng.randn(5)
    x = rng.randn(4, 7).astype(np.float32)
    fused_y = ops.linear(x, link.W, link.b, activation=_activation(activation))
    plain_y = _plain_activation(activation)(link(x))
    np.testing.assert_allclose(fused_y.array, plain_y.array, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("activation", ["relu", "tanh", None])
def test_fused_linear_gradients(activation):
    rng = _rng(1)
    while True:  # keep ReLU's kink away from the finite-difference probes
        x, W, b = rng.randn(4, 7), rng.randn(5, 7), rng.randn(5)
        if np.abs(x.dot(W.T) + b).min() > 0.05:
            break
    gy = rng.randn(4, 5)
    ggx, ggW, ggb = rng.randn(4, 7), rng.randn(5, 7), rng.randn(5)

    def f(x, W, b):
        return _LinearActivation(activation).apply((x, W, b))[0]

    gradient_check.check_backward(f, (x, W, b), gy, dtype=np.float64, **F64)
    if activation != "relu":  # ReLU's second derivative is zero almost everywhere
        gradient_check.check_double_backward(f, (x, W, b), gy, (ggx, ggW, ggb),
                                             dtype=np.float64, **F64)


@pytest.mark.parametrize("activation", ["relu", "tanh", None])
def test_fused_linear_grads_equal_plain_grads(activation):
    rng = _rng(2)
    link = L.Linear(7, 5)
    x = chainer.Variable(rng.randn(4, 7).astype(np.float32))
    grads = []
    for forward in (lambda: ops.linear(x, link.W, link.b, activation=_activation(activation)),
                    lambda: _plain_activation(activation)(link(x))):
        link.cleargrads()
        x.grad = None
        y = forward()
        F.sum(y * y).backward()
        grads.append((x.grad.copy(), link.W.grad.copy(), link.b.grad.copy()))
    for fused_grad, plain_grad in zip(*grads):
        np.testing.assert_allclose(fused_grad, plain_grad, rtol=1e-5, atol=1e-5)


def test_linear_falls_back_where_it_cannot_fuse():
    link = L.Linear(12, 3)
    x = _rng().randn(2, 3, 4).astype(np.float32)  # F.linear flattens (B, ...) inputs
    y = ops.linear(x, link.W, link.b, activation=F.relu)
    assert y.creator.label != "_LinearActivation"
    np.testing.assert_allclose(y.array, F.relu(link(x)).array)
    y = ops.linear(x.reshape(2, 12), link.W, link.b, activation=F.elu)  # no fused ELU
    np.testing.assert_allclose(y.array, F.elu(link(x.reshape(2, 12))).array)
    y = ops.linear(x.reshape(2, 12), link.W, activation=F.tanh)  # no bias
    np.testing.assert_allclose(y.array, F.tanh(F.linear(x.reshape(2, 12), link.W)).array)
    assert ops.linear(x.reshape(2, 12), link.W, link.b).creator.label == "_LinearActivation"


def test_linear_heads_match_separate_links():
    rng = _rng(31)
    x = rng.randn(6, 5).astype(np.float32)
    links = [L.Linear(5, 3), L.Linear(5, 3)]
    for link in links:
        link.W.array[...] = rng.randn(3, 5)
        link.b.array[...] = rng.randn(3)
    ours = ops.linear_heads(x, links)
    assert ours[0].creator is ours[1].creator  # one node
    for y, link in zip(ours, links):
        np.testing.assert_allclose(y.array, link(x).array, rtol=1e-6, atol=1e-6)


def test_linear_heads_gradients():
    rng = _rng(32)
    x, W1, b1, W2, b2 = (rng.randn(*shape) for shape in ((4, 5), (3, 5), (3,), (2, 5), (2,)))
    gys = (rng.randn(4, 3), rng.randn(4, 2))
    ggs = tuple(rng.randn(*a.shape) for a in (x, W1, b1, W2, b2))

    def f(*inputs):
        return _LinearHeads().apply(inputs)

    gradient_check.check_backward(f, (x, W1, b1, W2, b2), gys, dtype=np.float64, **F64)
    gradient_check.check_double_backward(f, (x, W1, b1, W2, b2), gys, ggs, dtype=np.float64,
                                         **F64)


def test_linear_heads_gradient_of_x_adds_every_head():
    x = chainer.Variable(np.ones((2, 3), np.float32))
    links = [L.Linear(3, 4), L.Linear(3, 1)]
    first, second = ops.linear_heads(x, links)
    F.sum(first).backward()  # only the first head is used
    np.testing.assert_allclose(x.grad, np.tile(links[0].W.array.sum(axis=0), (2, 1)),
                               rtol=1e-6)
    x.cleargrad()
    first, second = ops.linear_heads(x, links)
    F.sum(F.concat([first, second])).backward()
    expected = links[0].W.array.sum(axis=0) + links[1].W.array.sum(axis=0)
    np.testing.assert_allclose(x.grad, np.tile(expected, (2, 1)), rtol=1e-6)
