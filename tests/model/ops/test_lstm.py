"""The fused LSTM links (``ops.NStepLSTM``, ``ops.NStepBiLSTM``) compute what chainer's
``n_step_lstm`` / ``n_step_bilstm`` compute on the same weights: values, gradients of every
input and parameter, with or without initial states, through the links' list interface and
the (B, T, I) one the encoder and decoder use, with a ``context`` and one step at a time
(``stepper``); and a model trained with the fused paths ends where one trained with them
off does."""
from __future__ import annotations

import chainer_vae  # noqa: F401  (before chainer)
import chainer
import chainer.functions as F
import chainer.links as L
import numpy as np
import pytest

from chainer_vae.config import ModelConfig
from chainer_vae.model import ELBOLoss, build_model, ops
from chainer_vae.training.optim import FusedAdam
from tiny_models import node_labels

LINKS = {"uni": (ops.NStepLSTM, L.NStepLSTM), "bi": (ops.NStepBiLSTM, L.NStepBiLSTM)}


def _pair(kind, layers, in_size=5, size=4, seed=0):
    """The fused link and chainer's, with the same random parameters."""
    fused_cls, plain_cls = LINKS[kind]
    fused, plain = fused_cls(layers, in_size, size, 0.0), plain_cls(layers, in_size, size, 0.0)
    rng = np.random.RandomState(seed)
    for param in fused.params():
        param.array[...] = rng.randn(*param.shape) * 0.5
    plain.copyparams(fused)
    return fused, plain


def _run(link, xs, hx, cx, batched, weights):
    """(hy, cy, ys (B, T, D H)), the loss sum(weights * everything) and its gradients
    with respect to xs, hx, cx and the parameters."""
    xs_v = chainer.Variable(xs.copy()) if batched else [chainer.Variable(x.copy()) for x in xs]
    hx_v = None if hx is None else chainer.Variable(hx.copy())
    cx_v = None if cx is None else chainer.Variable(cx.copy())
    hy, cy, ys = link(hx_v, cx_v, xs_v)
    ys = ys if batched else F.stack(ys)
    loss = sum(F.sum(out * w) for out, w in zip((hy, cy, ys), weights))
    link.cleargrads()
    loss.backward()
    grads = {"xs": xs_v.grad if batched else np.stack([x.grad for x in xs_v])}
    if hx is not None:
        grads.update(hx=hx_v.grad, cx=cx_v.grad)
    grads.update({name: param.grad.copy() for name, param in link.namedparams()})
    return (hy.array, cy.array, ys.array), grads, ys


@pytest.mark.parametrize("kind", sorted(LINKS))
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("states", [False, True])
@pytest.mark.parametrize("batched", [False, True])
def test_fused_link_matches_chainers_values_and_gradients(kind, layers, states, batched):
    fused, plain = _pair(kind, layers)
    directions = 2 if kind == "bi" else 1
    rng = np.random.RandomState(1)
    x = rng.randn(3, 6, 5).astype(np.float32)
    shape = (layers * directions, 3, 4)
    hx = rng.randn(*shape).astype(np.float32) if states else None
    cx = rng.randn(*shape).astype(np.float32) if states else None
    weights = (rng.randn(*shape), rng.randn(*shape), rng.randn(3, 6, 4 * directions))
    weights = [w.astype(np.float32) for w in weights]
    ours, our_grads, ys = _run(fused, x, hx, cx, batched, weights)
    assert "_LSTMDirection" in node_labels(ys)
    theirs, their_grads, _ = _run(plain, x, hx, cx, False, weights)
    for got, expected in zip(ours, theirs):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    assert our_grads.keys() == their_grads.keys()
    for name in their_grads:
        np.testing.assert_allclose(our_grads[name], their_grads[name], rtol=1e-4, atol=1e-5,
                                   err_msg=name)


def test_context_is_read_before_the_inputs_at_every_step():
    fused, plain = _pair("uni", 1, in_size=5)
    rng = np.random.RandomState(4)
    x = rng.randn(3, 6, 3).astype(np.float32)
    context = chainer.Variable(rng.randn(3, 2).astype(np.float32))
    hy, cy, ys = fused(None, None, x, context=context)
    every = np.broadcast_to(context.array[:, None], (3, 6, 2))
    p_hy, p_cy, p_ys = plain(None, None, list(np.concatenate([every, x], axis=2)))
    np.testing.assert_allclose(ys.array, F.stack(p_ys).array, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(hy.array, p_hy.array, rtol=1e-5, atol=1e-6)
    F.sum(ys * ys).backward()
    plain_context = chainer.Variable(context.array.copy())
    p_every = F.broadcast_to(plain_context[:, None], (3, 6, 2))
    _, _, p_ys = plain(None, None, list(F.separate(F.concat([p_every, x], axis=2), axis=0)))
    F.sum(F.stack(p_ys) ** 2).backward()
    np.testing.assert_allclose(context.grad, plain_context.grad, rtol=1e-4, atol=1e-5)
    for (name, ours), (_, theirs) in zip(sorted(fused.namedparams()),
                                         sorted(plain.namedparams())):
        np.testing.assert_allclose(ours.grad, theirs.grad, rtol=1e-4, atol=1e-5, err_msg=name)
    # without the fused node (chainer's path), the same
    with ops.fused(False):
        _, _, again = fused(None, None, x, context=context)
        _, _, listed = fused(None, None, list(x), context=context)
    np.testing.assert_allclose(again.array, ys.array, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(F.stack(listed).array, ys.array, rtol=1e-5, atol=1e-6)


def test_sequences_of_several_lengths_take_chainers_path():
    fused, plain = _pair("bi", 1)
    rng = np.random.RandomState(5)
    xs = [rng.randn(length, 5).astype(np.float32) for length in (6, 4, 5)]
    hy, cy, ys = fused(None, None, xs)
    assert "_LSTMDirection" not in node_labels(hy)
    p_hy, p_cy, p_ys = plain(None, None, xs)
    np.testing.assert_array_equal(hy.array, p_hy.array)
    for ours, theirs in zip(ys, p_ys):
        np.testing.assert_array_equal(ours.array, theirs.array)


@pytest.mark.parametrize("kind", sorted(LINKS))
def test_parameters_and_saved_weights_are_chainers(kind, tmp_path):
    """Same names, shapes and initial values as chainer's link, so model.npz files and
    snapshots written before the fused LSTM load into it."""
    fused_cls, plain_cls = LINKS[kind]
    np.random.seed(6)
    plain = plain_cls(1, 7, 5, 0.0)
    np.random.seed(6)
    fused = fused_cls(1, 7, 5, 0.0)
    shapes = {name: param.shape for name, param in fused.namedparams()}
    assert shapes == {name: param.shape for name, param in plain.namedparams()}
    for (name, ours), (_, theirs) in zip(sorted(fused.namedparams()),
                                         sorted(plain.namedparams())):
        np.testing.assert_array_equal(ours.array, theirs.array, err_msg=name)
    for param in plain.params():
        param.array[...] += 1.0
    chainer.serializers.save_npz(str(tmp_path / "plain.npz"), plain)
    chainer.serializers.load_npz(str(tmp_path / "plain.npz"), fused)
    for (name, ours), (_, theirs) in zip(sorted(fused.namedparams()),
                                         sorted(plain.namedparams())):
        np.testing.assert_array_equal(ours.array, theirs.array, err_msg=name)


@pytest.mark.parametrize("on", [True, False])
def test_stepper_runs_the_lstm_one_step_at_a_time(on):
    """With the fused paths on, the fused node's arithmetic; off, chainer's n_step_lstm."""
    fused, _ = _pair("uni", 2, in_size=5)
    rng = np.random.RandomState(7)
    x = rng.randn(3, 4, 3).astype(np.float32)
    context = rng.randn(3, 2).astype(np.float32)
    h0, c0 = (rng.randn(2, 3, 4).astype(np.float32) for _ in range(2))
    with chainer.no_backprop_mode():
        hy, cy, ys = fused(h0, c0, x, context=context)
    with ops.fused(on):
        step = fused.stepper(context=context)
    h, c = h0, c0
    for t in range(4):
        h, c = step(h, c, x[:, t])
        np.testing.assert_allclose(h[-1], ys.array[:, t], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h, hy.array, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(c, cy.array, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError), ops.fused(on):
        ops.NStepBiLSTM(1, 3, 4, 0.0).stepper()


MUSIC = dict(encoder="lstm", decoder="lstm", input_shape=(6, 5), latent=3, hidden=[8],
             autoregressive=True, step_made=7)


def _trained(fused, steps=3):
    """Parameters of the autoregressive LSTM + MADE VAE after ``steps`` FusedAdam steps,
    with the fused LSTM or chainer's."""
    np.random.seed(8)
    model = build_model(ModelConfig(**MUSIC))
    loss = ELBOLoss(model)
    optimizer = FusedAdam(alpha=1e-2)
    optimizer.setup(loss)
    x = (np.random.RandomState(9).rand(4, 6, 5) < 0.3).astype(np.float32)
    with ops.fused(fused):
        for step in range(steps):
            np.random.seed(100 + step)  # the same noise for z on both paths
            loss.cleargrads()
            value = loss(x)
            value.backward()
            optimizer.update()
    return float(value.array), {name: p.array.copy() for name, p in model.namedparams()}


def test_training_with_the_fused_lstm_equals_training_with_chainers():
    fused_loss, fused = _trained(True)
    plain_loss, plain = _trained(False)
    assert fused_loss == pytest.approx(plain_loss, rel=1e-5)
    assert fused.keys() == plain.keys()
    for name in plain:
        np.testing.assert_allclose(fused[name], plain[name], rtol=1e-4, atol=1e-5,
                                   err_msg=name)


@pytest.mark.gpu
@pytest.mark.parametrize("kind", sorted(LINKS))
def test_gpu_hands_over_to_chainers_cudnn_lstm_with_the_same_numbers(kind):
    import cupy

    fused, _ = _pair(kind, 1)
    rng = np.random.RandomState(10)
    x = rng.randn(3, 6, 5).astype(np.float32)
    weights = rng.randn(3, 6, 4 * (2 if kind == "bi" else 1)).astype(np.float32)
    cpu_ys_var = None
    x_cpu = chainer.Variable(x.copy())
    hy, _, ys = fused(None, None, x_cpu)
    cpu_ys_var = ys
    F.sum(ys * weights).backward()
    cpu_grads = {name: p.grad.copy() for name, p in fused.namedparams()}
    assert "_LSTMDirection" in node_labels(cpu_ys_var)
    fused.cleargrads()
    fused.to_device("@cupy:0")
    x_gpu = chainer.Variable(cupy.asarray(x))
    g_hy, _, g_ys = fused(None, None, x_gpu)
    assert "_LSTMDirection" not in node_labels(g_ys)
    F.sum(g_ys * cupy.asarray(weights)).backward()
    np.testing.assert_allclose(cupy.asnumpy(g_ys.array), ys.array, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(cupy.asnumpy(g_hy.array), hy.array, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(cupy.asnumpy(x_gpu.grad), x_cpu.grad, rtol=1e-4, atol=1e-5)
    for name, param in fused.namedparams():
        np.testing.assert_allclose(cupy.asnumpy(param.grad), cpu_grads[name], rtol=1e-4,
                                   atol=1e-5, err_msg=name)
