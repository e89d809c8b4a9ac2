"""The conditional VAE: every part reads the one-hot label, a linear model scores the
closed-form log p(x|y), models without labels are the models they were."""
import numpy as np
import pytest

import chainer_vae  # noqa: F401
import chainer

from chainer_vae.config import ModelConfig
from chainer_vae.errors import ConfigError
from chainer_vae.model import ELBOLoss, build_model
from tiny_models import exact_log_px

LABELS = ["a", "b", "c"]
PARTS = [
    ("mlp", "mlp", (12,), {}),
    ("mlp", "mlp", (12,), {"hidden": []}),
    ("mlp", "mlp", (12,), {"step_made": 8}),
    ("conv", "conv", (1, 8, 8), {}),
    ("lstm", "lstm", (6, 5), {}),
    ("lstm", "lstm", (6, 5), {"autoregressive": True}),
    ("lstm", "lstm", (6, 5), {"step_made": 7}),
    ("lstm", "lstm", (6, 5), {"autoregressive": True, "step_made": 7}),
    ("conv", "mlp", (1, 8, 8), {"likelihood": "gaussian", "learned_variance": True}),
]


def conditional(encoder, decoder, shape, extra, seed=0):
    np.random.seed(seed)
    options = dict(dict(hidden=[16], channels=[4, 8]), **extra)
    config = ModelConfig(encoder=encoder, decoder=decoder, input_shape=shape, latent=3,
                         conditional=True, label_names=LABELS, **options)
    return build_model(config), config


@pytest.mark.parametrize("encoder,decoder,shape,extra", PARTS)
def test_every_part_reads_the_label(encoder, decoder, shape, extra):
    model, _ = conditional(encoder, decoder, shape, extra)
    assert model.labels == 3
    rng = np.random.RandomState(1)
    x = (rng.rand(4, *shape) < 0.3).astype(np.float32)
    z = rng.randn(4, 3).astype(np.float32)
    first, second = np.zeros(4, np.int32), np.array([1, 2, 1, 2], np.int32)
    with chainer.no_backprop_mode():
        assert not np.allclose(model.encode(x, first), model.encode(x, second))
        log_p = [model.decoder(z, x, y).log_prob(x).array for y in (first, second)]
        assert np.all(np.abs(log_p[0] - log_p[1]) > 1e-4)
        drawn = [model.decode(z, y=y) for y in (first, second)]  # one value at a time too
        assert drawn[0].shape == (4,) + shape and not np.allclose(drawn[0], drawn[1])
        # one-hot weights are the int labels
        np.testing.assert_array_equal(model.decode(z, y=np.eye(3, dtype=np.float32)[second]),
                                      drawn[1])
    loss = ELBOLoss(model, k=2)
    loss.cleargrads()  # fresh parameters hold NaN gradients
    loss(x, second).backward()
    for link in (model.encoder.mu, model.decoder):
        grads = [param.grad for param in link.params()]
        assert all(g is not None and np.isfinite(g).all() for g in grads)
    assert np.abs(model.encoder.mu.W.grad[:, -3:]).max() > 0  # the label's columns learn


@pytest.mark.parametrize("encoder,decoder,shape,extra", PARTS[:5])
def test_a_model_without_labels_ignores_label_names_and_labels(encoder, decoder, shape, extra):
    """Label names without ``conditional`` build the parameters a config without them
    builds, from the same seed, and the labels, if given, are not read."""
    configs = [ModelConfig(encoder=encoder, decoder=decoder, input_shape=shape, latent=3,
                           hidden=[16], channels=[4, 8], label_names=names)
               for names in ([], LABELS)]
    models = []
    for config in configs:
        np.random.seed(5)
        models.append(build_model(config))
    for (name, a), (_, b) in zip(*(sorted(model.namedparams()) for model in models)):
        np.testing.assert_array_equal(a.array, b.array, err_msg=name)
    x = (np.random.RandomState(2).rand(3, *shape) < 0.3).astype(np.float32)
    assert models[0].labels == 0
    np.testing.assert_array_equal(models[0].encode(x), models[0].encode(x, np.arange(3)))


def test_a_conditional_model_needs_labels_and_names():
    model, config = conditional("mlp", "mlp", (12,), {})
    with pytest.raises(ConfigError, match="--conditional"):
        model.encode(np.zeros((2, 12), np.float32))
    config.label_names = []
    with pytest.raises(ConfigError, match="label_names"):
        build_model(config)


def test_the_linear_conditional_model_scores_the_closed_form_log_p_x_given_y():
    """x | z, y ~ N(W z + V e_y + b, sigma^2 I): p(x|y) is N(V e_y + b, W W^T + sigma^2
    I). With the exact posterior q(z|x, y) as the encoder, every importance weight equals
    log p(x|y), for each label."""
    dim, latent, sigma = 5, 2, 0.5
    config = ModelConfig(input_shape=(dim,), latent=latent, hidden=[], likelihood="gaussian",
                         sigma=sigma, conditional=True, label_names=LABELS)
    np.random.seed(0)
    model = build_model(config)
    rng = np.random.RandomState(0)
    q, _ = np.linalg.qr(rng.randn(dim, latent))  # orthogonal: a diagonal posterior
    W, V, b = q * np.array([1.5, 0.7]), 2 * rng.randn(dim, 3), rng.randn(dim)
    model.decoder.out.W.array[...] = np.concatenate([W, V], axis=1)
    model.decoder.out.b.array[...] = b
    cov = np.linalg.inv(np.eye(latent) + W.T @ W / sigma ** 2)
    A = cov @ W.T / sigma ** 2  # the posterior mean is A (x - V e_y - b)
    # the encoder reads [x, e_y] (features without hidden layers: x and the label beside
    # it), then e_y again at its head: the second copy of the label gets no weight
    model.encoder.mu.W.array[...] = np.concatenate([A, -A @ V, np.zeros((latent, 3))], axis=1)
    model.encoder.mu.b.array[...] = -A @ b
    model.encoder.ln_sigma.W.array[...] = 0
    model.encoder.ln_sigma.b.array[...] = 0.5 * np.log(np.diag(cov))
    x = rng.randn(6, dim).astype(np.float32)
    y = np.array([0, 1, 2, 0, 1, 2], np.int32)
    exact = np.array([exact_log_px(x[i:i + 1].astype(np.float64), W, V[:, y[i]] + b, sigma)[0]
                      for i in range(len(x))])
    with chainer.no_backprop_mode():
        log_w = model.log_weights(x, 4, y).array
        np.testing.assert_allclose(log_w, np.broadcast_to(exact, log_w.shape), rtol=1e-4,
                                   atol=1e-4)
        np.testing.assert_allclose(model.log_likelihood(x, 3, y=y), exact, rtol=1e-4, atol=1e-4)
    other = (y + 1) % 3  # other labels: other closed forms, still exact
    expected = np.array([exact_log_px(x[i:i + 1].astype(np.float64), W, V[:, other[i]] + b,
                                      sigma)[0] for i in range(len(x))])
    assert np.abs(expected - exact).min() > 0.1
    np.testing.assert_allclose(model.log_likelihood(x, 3, y=other), expected, rtol=1e-4,
                               atol=1e-4)


@pytest.mark.parametrize("encoder,shape", [("mlp", (12,)), ("conv", (1, 8, 8)), ("lstm", (6, 5))])
def test_the_encoders_features_read_the_label_beside_x(encoder, shape):
    from chainer_vae.model.registry import parameter_count

    model, config = conditional(encoder, "mlp", shape, {})
    assert sum(p.size for p in model.params()) + 2 * config.latent == parameter_count(config)
    for link in (model.encoder.mu, model.encoder.ln_sigma):  # the head no longer sees y
        link.W.array[:, -3:] = 0
    x = np.random.RandomState(2).rand(4, *shape).astype(np.float32)
    with chainer.no_backprop_mode():
        a = model.encoder(x, np.zeros(4, np.int32)).mean.array
        b = model.encoder(x, np.full(4, 2, np.int32)).mean.array
    assert not np.allclose(a, b)  # the features did
    old, _ = conditional(encoder, "mlp", shape, {"label_input": False})
    assert sum(p.size for p in old.params()) < sum(p.size for p in model.params())


def test_runs_of_config_version_6_keep_the_label_at_the_head_only():
    from chainer_vae.config import RunConfig

    raw = RunConfig().to_dict()
    raw["version"] = 6
    del raw["model"]["label_input"]
    assert RunConfig.from_dict(raw).model.label_input is False
    assert RunConfig.from_dict(RunConfig().to_dict()).model.label_input is True
