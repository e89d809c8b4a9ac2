"""The fused and rewritten hot-path code computes what the plain chainer formulation does:
values, gradients (and second derivatives where chainer's own functions have them)."""
from __future__ import annotations

import chainer_vae  # noqa: F401  (before chainer)
import chainer
import chainer.distributions as D
import chainer.functions as F
import chainer.links as L
import numpy as np
import pytest
from chainer import gradient_check

from chainer_vae.model import ops as fused
from chainer_vae.model.layers import MLP
from chainer_vae.model.likelihoods import BernoulliLikelihood, GaussianLikelihood
from chainer_vae.model.ops import _StableBernoulliLogProb
from chainer_vae.training.optim import FusedAdam

F64 = {"atol": 1e-6, "rtol": 1e-6}


def _rng(seed=0):
    return np.random.RandomState(seed)


def _plain_activation(name):
    return {"relu": F.relu, "tanh": F.tanh, None: lambda h: h}[name]


def _activation(name):
    """The function ``ops.linear`` is given for an activation name."""
    return {"relu": F.relu, "tanh": F.tanh, None: None}[name]


# -- linear + activation --------------------------------------------------------------------


@pytest.mark.parametrize("activation", ["relu", "tanh", None])
def test_fused_linear_matches_link_and_activation(activation):
    rng = _rng()
    link = L.Linear(7, 5)
    link.W.array[...] = rng.randn(5, 7)
    link.b.array[...] = rng.randn(5)
    x = rng.randn(4, 7).astype(np.float32)
    fused_y = fused.linear(x, link.W, link.b, activation=_activation(activation))
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
        return fused._LinearActivation(activation).apply((x, W, b))[0]

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
    for forward in (lambda: fused.linear(x, link.W, link.b, activation=_activation(activation)),
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
    y = fused.linear(x, link.W, link.b, activation=F.relu)
    assert y.creator.label != "_LinearActivation"
    np.testing.assert_allclose(y.array, F.relu(link(x)).array)
    y = fused.linear(x.reshape(2, 12), link.W, link.b, activation=F.elu)  # no fused ELU
    np.testing.assert_allclose(y.array, F.elu(link(x.reshape(2, 12))).array)
    y = fused.linear(x.reshape(2, 12), link.W, activation=F.tanh)  # no bias
    np.testing.assert_allclose(y.array, F.tanh(F.linear(x.reshape(2, 12), link.W)).array)
    assert fused.linear(x.reshape(2, 12), link.W, link.b).creator.label == "_LinearActivation"


def test_mlp_output_is_the_plain_stack():
    mlp = MLP(6, [5, 4], "relu")
    x = _rng().randn(3, 6).astype(np.float32)
    h = x
    for layer in mlp:
        h = F.relu(layer(h))
    np.testing.assert_allclose(mlp(x).array, h.array, rtol=1e-6)


# -- Bernoulli log-probability --------------------------------------------------------------


def test_reshape_matches_chainers_with_gradients():
    rng = _rng(30)
    x, gy, ggx = rng.randn(2, 1, 6), rng.randn(2, 3, 2), rng.randn(2, 1, 6)
    np.testing.assert_array_equal(fused.reshape(x, (2, 3, 2)).array,
                                  F.reshape(x, (2, 3, 2)).array)
    assert fused.reshape(x, (2, 1, 6)).array is x  # nothing to do: no node

    def f(x):
        return fused.reshape(x, (2, 3, 2))

    gradient_check.check_backward(f, x, gy, dtype=np.float64, **F64)
    gradient_check.check_double_backward(f, x, gy, ggx, dtype=np.float64, **F64)


def test_linear_heads_match_separate_links():
    rng = _rng(31)
    x = rng.randn(6, 5).astype(np.float32)
    links = [L.Linear(5, 3), L.Linear(5, 3)]
    for link in links:
        link.W.array[...] = rng.randn(3, 5)
        link.b.array[...] = rng.randn(3)
    ours = fused.linear_heads(x, links)
    assert ours[0].creator is ours[1].creator  # one node
    for y, link in zip(ours, links):
        np.testing.assert_allclose(y.array, link(x).array, rtol=1e-6, atol=1e-6)


def test_linear_heads_gradients():
    rng = _rng(32)
    x, W1, b1, W2, b2 = (rng.randn(*shape) for shape in ((4, 5), (3, 5), (3,), (2, 5), (2,)))
    gys = (rng.randn(4, 3), rng.randn(4, 2))
    ggs = tuple(rng.randn(*a.shape) for a in (x, W1, b1, W2, b2))

    def f(*inputs):
        return fused._LinearHeads().apply(inputs)

    gradient_check.check_backward(f, (x, W1, b1, W2, b2), gys, dtype=np.float64, **F64)
    gradient_check.check_double_backward(f, (x, W1, b1, W2, b2), gys, ggs, dtype=np.float64,
                                         **F64)


def test_linear_heads_gradient_of_x_adds_every_head():
    x = chainer.Variable(np.ones((2, 3), np.float32))
    links = [L.Linear(3, 4), L.Linear(3, 1)]
    first, second = fused.linear_heads(x, links)
    F.sum(first).backward()  # only the first head is used
    np.testing.assert_allclose(x.grad, np.tile(links[0].W.array.sum(axis=0), (2, 1)),
                               rtol=1e-6)
    x.cleargrad()
    first, second = fused.linear_heads(x, links)
    F.sum(F.concat([first, second])).backward()
    expected = links[0].W.array.sum(axis=0) + links[1].W.array.sum(axis=0)
    np.testing.assert_allclose(x.grad, np.tile(expected, (2, 1)), rtol=1e-6)


def _plain_bernoulli_log_prob(logit, x):
    return x * logit - F.softplus(logit)


def test_bernoulli_log_prob_equals_x_logit_minus_softplus():
    rng = _rng(3)
    logit = (rng.randn(6, 9) * 5).astype(np.float32)
    logit[0, :3] = [-200.0, 0.0, 200.0]  # far outside exp's float32 range
    x = (rng.rand(6, 9) < 0.4).astype(np.float32)
    got = _StableBernoulliLogProb().apply((logit, x))[0].array
    np.testing.assert_allclose(got, _plain_bernoulli_log_prob(logit, x).array,
                               rtol=1e-6, atol=1e-6)
    assert np.isfinite(got).all() and got.dtype == np.float32
    # chainer's Bernoulli agrees wherever its own formula does not overflow
    ok = np.abs(logit) < 30
    with np.errstate(over="ignore"):
        theirs = D.Bernoulli(logit=logit).log_prob(x).array
    np.testing.assert_allclose(got[ok], theirs[ok], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("event_ndims", [0, 2])
def test_bernoulli_log_prob_gradients(event_ndims):
    rng = _rng(4 + 30 * event_ndims)
    logit = rng.randn(3, 4, 2) * 3
    x = rng.rand(3, 4, 2)  # grey levels are allowed too
    gy, ggl = rng.randn(*(3, 4, 2)[:3 - event_ndims]), rng.randn(3, 4, 2)

    def f(logit):
        return _StableBernoulliLogProb(event_ndims).apply((logit, x))[0]

    gradient_check.check_backward(f, logit, gy, dtype=np.float64, **F64)
    gradient_check.check_double_backward(f, logit, gy, ggl, dtype=np.float64, **F64)


def test_summed_bernoulli_log_prob_is_the_sum_over_the_event():
    rng = _rng(33)
    logit = (rng.randn(3, 4, 5) * 4).astype(np.float32)
    x = (rng.rand(3, 4, 5) < 0.4).astype(np.float32)
    elementwise = _StableBernoulliLogProb().apply((logit, x))[0].array
    for ndims in (1, 2):
        got = _StableBernoulliLogProb(ndims).apply((logit, x))[0].array
        assert got.shape == (3, 4, 5)[:3 - ndims]
        np.testing.assert_allclose(got, elementwise.sum(axis=tuple(range(-ndims, 0))),
                                   rtol=1e-5, atol=1e-5)


def test_fused_independent_log_prob_matches_chainers_independent():
    rng = _rng(35)
    logit = (rng.randn(3, 4, 5) * 4).astype(np.float32)
    x = (rng.rand(3, 4, 5) < 0.4).astype(np.float32)
    from chainer_vae.model.ops import Bernoulli

    ours = fused.Independent(Bernoulli(logit=logit), reinterpreted_batch_ndims=2)
    theirs = D.Independent(Bernoulli(logit=logit), reinterpreted_batch_ndims=2)
    assert ours.batch_shape == (3,) and ours.event_shape == (4, 5)
    np.testing.assert_allclose(ours.log_prob(x).array, theirs.log_prob(x).array,
                               rtol=1e-5, atol=1e-5)
    # a base without a summed log-probability goes through chainer's sum
    loc, scale = rng.randn(3, 4).astype(np.float32), np.full((3, 4), 0.5, np.float32)
    z = rng.randn(3, 4).astype(np.float32)
    np.testing.assert_allclose(
        fused.Independent(D.Normal(loc, scale)).log_prob(z).array,
        D.Independent(D.Normal(loc, scale)).log_prob(z).array, rtol=1e-6)


def test_bernoulli_gradient_is_x_minus_sigmoid_for_extreme_logits():
    logit = chainer.Variable(np.array([[-300.0, -30.0, 0.0, 30.0, 300.0]], np.float32))
    x = np.array([[1, 0, 1, 0, 1]], np.float32)
    F.sum(_StableBernoulliLogProb().apply((logit, x))[0]).backward()
    expected = x - 1 / (1 + np.exp(-logit.array.astype(np.float64)))
    np.testing.assert_allclose(logit.grad, expected, rtol=1e-6, atol=1e-7)


def test_likelihood_takes_the_first_parameter_like_a_slice():
    raw = _rng(5).randn(3, 1, 4, 5).astype(np.float32)
    bern = BernoulliLikelihood()(raw)
    np.testing.assert_array_equal(bern.distribution.logit.array, raw[:, 0])
    assert bern.batch_shape == (3,) and bern.event_shape == (4, 5)
    raw2 = _rng(6).randn(3, 2, 4).astype(np.float32)
    gauss = GaussianLikelihood(learned=True)(raw2)
    np.testing.assert_array_equal(gauss.distribution.loc.array, raw2[:, 0])
    np.testing.assert_array_equal(gauss.distribution.log_scale.array, raw2[:, 1])


# -- Normal: sampling and KL ----------------------------------------------------------------


def test_fused_sample_draws_the_same_noise_and_values_as_chainer():
    rng = _rng(7)
    loc, log_scale = rng.randn(4, 3).astype(np.float32), rng.randn(4, 3).astype(np.float32)
    np.random.seed(11)
    ours = fused.Normal(loc, log_scale=log_scale).sample_n(2).array
    state_after_ours = np.random.get_state()[2]
    np.random.seed(11)
    theirs = D.Normal(loc, log_scale=log_scale).sample_n(2).array
    assert np.random.get_state()[2] == state_after_ours  # the same draws were taken
    assert ours.shape == (2, 4, 3) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)


def test_fused_sample_gradients():
    rng = _rng(8)
    loc, log_scale = rng.randn(4, 3), rng.randn(4, 3) * 0.5
    eps = rng.randn(2, 4, 3)
    gy = rng.randn(2, 4, 3)
    gg = (rng.randn(4, 3), rng.randn(4, 3))

    def f(loc, log_scale):
        return fused._Reparameterize(eps).apply((loc, log_scale))[0]

    gradient_check.check_backward(f, (loc, log_scale), gy, dtype=np.float64, **F64)
    gradient_check.check_double_backward(f, (loc, log_scale), gy, gg, dtype=np.float64, **F64)


def test_scale_built_normal_samples_through_chainer():
    loc, scale = np.zeros((2, 3), np.float32), np.full((2, 3), 2.0, np.float32)
    np.random.seed(3)
    ours = fused.Normal(loc, scale=scale).sample_n(1).array
    np.random.seed(3)
    np.testing.assert_array_equal(ours, D.Normal(loc, scale=scale).sample_n(1).array)


def _kl_inputs(seed):
    rng = _rng(seed)
    return (rng.randn(5, 3), rng.randn(5, 3) * 0.5,  # q: loc, log_scale (B, latent)
            rng.randn(3), rng.randn(3) * 0.5)         # p: loc, log_scale (latent,)


def test_fused_kl_equals_chainers_closed_form():
    loc1, ls1, loc2, ls2 = (a.astype(np.float32) for a in _kl_inputs(9))
    ours = fused.kl_divergence(fused.Normal(loc1, log_scale=ls1),
                               fused.Normal(loc2, log_scale=ls2))
    assert ours.creator.label == "_NormalKL"
    theirs = chainer.kl_divergence(D.Normal(loc1, log_scale=ls1), D.Normal(loc2, log_scale=ls2))
    np.testing.assert_allclose(ours.array, theirs.array, rtol=1e-5, atol=1e-6)
    mixed = fused.kl_divergence(D.Normal(loc1, log_scale=ls1), fused.Normal(loc2, log_scale=ls2))
    np.testing.assert_allclose(mixed.array, theirs.array, rtol=1e-5, atol=1e-6)


def test_the_kl_drop_in_registers_nothing_with_chainer():
    registered = chainer.distribution._KLDIVERGENCE
    assert not [pair for pair in registered if any(
        cls.__module__.startswith("chainer_vae") for cls in pair)]


def test_fused_kl_gradients_including_broadcast_prior_parameters():
    inputs = _kl_inputs(10)
    rng = _rng(11)
    gy = rng.randn(5, 3)
    gg = tuple(rng.randn(*a.shape) for a in inputs)

    def f(*args):
        return fused._NormalKL().apply(args)[0]

    gradient_check.check_backward(f, inputs, gy, dtype=np.float64, **F64)
    gradient_check.check_double_backward(f, inputs, gy, gg, dtype=np.float64, **F64)


def test_summed_kl_gradients_including_broadcast_prior_parameters():
    inputs = _kl_inputs(36)
    rng = _rng(37)
    gy = rng.randn(5)
    gg = tuple(rng.randn(*a.shape) for a in inputs)

    def f(*args):
        return fused._NormalKL(1).apply(args)[0]

    assert f(*inputs).shape == (5,)
    np.testing.assert_allclose(f(*inputs).array, fused._NormalKL().apply(inputs)[0].array.sum(1),
                               rtol=1e-12)
    gradient_check.check_backward(f, inputs, gy, dtype=np.float64, **F64)
    gradient_check.check_double_backward(f, inputs, gy, gg, dtype=np.float64, **F64)


def test_independent_kl_between_other_distributions_is_chainers():
    rng = _rng(38)
    p1, p2 = rng.rand(2, 3, 4).astype(np.float32) * 0.8 + 0.1
    expected = (p1 * np.log(p1 / p2) + (1 - p1) * np.log((1 - p1) / (1 - p2))).sum(axis=1)
    for bernoulli in (D.Bernoulli, fused.Bernoulli):
        ours = fused.kl_divergence(
            fused.Independent(bernoulli(p=p1), reinterpreted_batch_ndims=1),
            D.Independent(D.Bernoulli(p=p2), reinterpreted_batch_ndims=1))
        np.testing.assert_allclose(ours.array, expected, rtol=1e-5)


def test_independent_kl_to_the_prior_matches_chainer():
    from chainer_vae.model import Prior

    loc, ls = (a.astype(np.float32) for a in _kl_inputs(12)[:2])
    prior = Prior(3)
    plain_q = D.Independent(D.Normal(loc, log_scale=ls), reinterpreted_batch_ndims=1)
    plain_p = D.Independent(D.Normal(prior.loc, scale=prior.scale), reinterpreted_batch_ndims=1)
    expected = chainer.kl_divergence(plain_q, plain_p).array
    for independent in (D.Independent, fused.Independent):
        q = independent(fused.Normal(loc, log_scale=ls), reinterpreted_batch_ndims=1)
        got = fused.kl_divergence(q, prior())
        assert got.shape == (5,)
        np.testing.assert_allclose(got.array, expected, rtol=1e-5)


# -- the whole loss and the optimizer -------------------------------------------------------


def _plain_elbo(model, x, eps):
    """The negative ELBO written with chainer's own pieces only (k = 1)."""
    enc, dec = model.encoder, model.decoder
    h = F.relu(enc.trunk[0](x))
    q = D.Normal(enc.mu(h), log_scale=enc.ln_sigma(h))
    z = q.loc + q.scale * eps
    logit = dec.out(F.relu(dec.trunk[0](z)))
    reconstr = -F.sum(x * logit - F.softplus(logit)) / x.shape[0]
    prior = D.Normal(model.prior.loc, scale=model.prior.scale)
    kl = F.sum(chainer.kl_divergence(q, prior)) / x.shape[0]
    return reconstr + kl


def test_elbo_loss_and_gradients_equal_the_plain_formulation():
    from chainer_vae.config import ModelConfig
    from chainer_vae.model import build_model
    from chainer_vae.model import ELBOLoss

    config = ModelConfig(hidden=[16], latent=3, activation="relu")
    config.input_shape = (10,)
    model = build_model(config)
    x = (_rng(13).rand(6, 10) < 0.5).astype(np.float32)
    np.random.seed(5)
    eps = np.random.standard_normal((1, 6, 3)).astype(np.float32)[0]
    results = []
    for run in (lambda: ELBOLoss(model)(x), lambda: _plain_elbo(model, x, eps)):
        np.random.seed(5)
        model.cleargrads()
        loss = run()
        loss.backward()
        results.append((float(loss.array), {name: p.grad.copy() for name, p in model.namedparams()}))
    (ours, our_grads), (plain, plain_grads) = results
    assert ours == pytest.approx(plain, rel=1e-5)
    for name, grad in plain_grads.items():
        np.testing.assert_allclose(our_grads[name], grad, rtol=1e-4, atol=1e-5, err_msg=name)


def test_negative_elbo_terms():
    log_px_z = np.array([-3.0, -5.0, -4.0, -8.0], np.float32)  # k = 2 samples of B = 2
    kl = np.array([1.0, 2.0], np.float32)
    loss, reconstr, kl_mean = fused.negative_elbo(log_px_z, kl, 0.5)
    assert float(reconstr.array) == pytest.approx(5.0)
    assert float(kl_mean.array) == pytest.approx(1.5)
    assert float(loss.array) == pytest.approx(5.75)
    assert loss.dtype == np.float32 and loss.shape == ()


def test_negative_elbo_gradients_of_every_output():
    rng = _rng(39)
    inputs = (rng.randn(6), rng.rand(3))
    gys = tuple(np.array(rng.randn()) for _ in range(3))
    ggs = (rng.randn(6), rng.randn(3))

    def f(log_px_z, kl):
        return fused._NegativeELBO(0.3).apply((log_px_z, kl))

    gradient_check.check_backward(f, inputs, gys, dtype=np.float64, **F64)
    gradient_check.check_double_backward(f, inputs, gys, ggs, dtype=np.float64, **F64)


def test_negative_elbo_loss_gradient_alone():
    log_px_z = chainer.Variable(np.zeros(4, np.float32))
    kl = chainer.Variable(np.zeros(2, np.float32))
    loss, _, _ = fused.negative_elbo(log_px_z, kl, 0.25)
    loss.backward()
    np.testing.assert_allclose(log_px_z.grad, np.full(4, -0.25, np.float32))
    np.testing.assert_allclose(kl.grad, np.full(2, 0.125, np.float32))


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
