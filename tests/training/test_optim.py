"""``FusedAdam`` follows chainer's Adam: parameters, moments, snapshots, replaced arrays
and per-parameter learning rates."""
from __future__ import annotations

import chainer_vae  # noqa: F401  (before chainer)
import chainer
import chainer.links as L
import numpy as np
import pytest

from chainer_vae.training.optim import FusedAdam


def _rng(seed=0):
    return np.random.RandomState(seed)


@pytest.mark.parametrize("weight_decay_rate", [0.0, 0.01])
def test_fused_adam_follows_chainers_adam(weight_decay_rate):
    rng = _rng(14)
    start = rng.randn(30, 20).astype(np.float32)
    grads = [rng.randn(30, 20).astype(np.float32) for _ in range(5)]
    params = []
    for cls in (FusedAdam, chainer.optimizers.Adam):
        link = chainer.Link()
        with link.init_scope():
            link.w = chainer.Parameter(start.copy())
        optimizer = cls(alpha=0.01, weight_decay_rate=weight_decay_rate)
        optimizer.setup(link)
        for grad in grads:
            link.w.grad = grad.copy()
            optimizer.update()
        params.append((link.w.array, optimizer.target.w.update_rule.state))
    (ours, our_state), (theirs, their_state) = params
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    for key in ("m", "v"):
        np.testing.assert_allclose(our_state[key], their_state[key], rtol=1e-5, atol=1e-7)


def test_fused_adam_snapshot_loads_into_chainers_adam(tmp_path):
    link = L.Linear(3, 2)
    optimizer = FusedAdam()
    optimizer.setup(link)
    link.W.grad = np.ones_like(link.W.array)
    link.b.grad = np.ones_like(link.b.array)
    optimizer.update()
    chainer.serializers.save_npz(str(tmp_path / "opt.npz"), optimizer)
    other = chainer.optimizers.Adam()
    other.setup(L.Linear(3, 2))
    chainer.serializers.load_npz(str(tmp_path / "opt.npz"), other)
    assert other.t == 1
    np.testing.assert_array_equal(other.target.W.update_rule.state["m"],
                                  link.W.update_rule.state["m"])


def _two_layer_link(seed=15):
    rng = _rng(seed)
    link = chainer.Sequential(L.Linear(4, 3), L.Linear(3, 2))
    for param in link.params():
        param.array[...] = rng.randn(*param.shape)
    return link


def _adam_runs(steps, prepare=lambda link, step: None, **hyper):
    """Parameters after ``steps`` updates with FusedAdam and with chainer's Adam, from the
    same start and gradients; ``prepare(link, step)`` runs before every update."""
    rng = _rng(16)
    link = _two_layer_link()
    grads = [{name: rng.randn(*p.shape).astype(np.float32) for name, p in link.namedparams()}
             for _ in range(steps)]
    results = []
    for cls in (FusedAdam, chainer.optimizers.Adam):
        link = _two_layer_link()
        optimizer = cls(**hyper)
        optimizer.setup(link)
        for step, grad in enumerate(grads):
            prepare(link, step)
            for name, param in link.namedparams():
                param.grad = grad[name].copy()
            optimizer.update()
        results.append({name: p.array.copy() for name, p in link.namedparams()})
    return results, link


def _assert_same_params(ours, theirs):
    for name in theirs:
        np.testing.assert_allclose(ours[name], theirs[name], rtol=1e-5, atol=1e-6, err_msg=name)


def test_fused_adam_updates_all_parameters_in_one_flat_array():
    rng = _rng(17)
    link = _two_layer_link()
    optimizer = FusedAdam(alpha=0.01)
    optimizer.setup(link)
    for _ in range(2):
        for param in link.params():
            param.grad = rng.randn(*param.shape).astype(np.float32)
        optimizer.update()
    bases = {id(p.array.base) for p in link.params()}
    bases |= {id(p.update_rule.state[key].base) for p in link.params() for key in "mv"}
    assert len(bases) == 3 and all(p.array.base is not None for p in link.params())
    assert {p.update_rule.t for p in link.params()} == {2}


def test_flat_fused_adam_follows_chainers_adam_over_several_parameters():
    (ours, theirs), _ = _adam_runs(6, alpha=0.01, weight_decay_rate=0.01)
    _assert_same_params(ours, theirs)


def test_fused_adam_takes_a_replaced_parameter_array():
    def replace(link, step):
        if step == 3:  # as a snapshot load or a device transfer would
            link[0].W.array = np.full((3, 4), 0.5, np.float32)

    (ours, theirs), _ = _adam_runs(6, replace, alpha=0.01)
    _assert_same_params(ours, theirs)


def test_fused_adam_keeps_a_per_parameter_learning_rate():
    def freeze_bias(link, step):
        if step == 0:
            link[1].b.update_rule.hyperparam.alpha = 0.0

    (ours, theirs), link = _adam_runs(4, freeze_bias, alpha=0.01)
    _assert_same_params(ours, theirs)
    np.testing.assert_array_equal(ours["/1/b"], _two_layer_link()[1].b.array)
