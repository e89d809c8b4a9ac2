"""The same code on a CUDA GPU through CuPy (skipped where there is none)."""
import numpy as np
import pytest

import chainer_vae  # noqa: F401
import chainer

from chainer_vae import training
from chainer_vae.inference.evaluation import evaluate
from chainer_vae.model.ops import Bernoulli
from tiny_models import (exact_log_px, linear_gaussian, set_exact_posterior, step_made_model,
                         toy_config)

pytestmark = pytest.mark.gpu


def test_exact_posterior_log_weights_on_gpu():
    model, W, b, sigma = linear_gaussian()
    set_exact_posterior(model, W, b, sigma)
    model.to_device("@cupy:0")
    x = np.random.RandomState(3).randn(7, 5).astype(np.float32)
    estimate = chainer.backends.cuda.to_cpu(model.log_likelihood(model.xp.asarray(x), 20))
    np.testing.assert_allclose(estimate, exact_log_px(x.astype(np.float64), W, b, sigma),
                               atol=5e-4)


def test_stable_bernoulli_on_gpu_matches_cpu():
    import cupy

    rng = np.random.RandomState(0)
    logit = rng.uniform(-100, 100, (5, 7)).astype(np.float32)
    x = (rng.rand(5, 7) > 0.5).astype(np.float32)
    cpu = Bernoulli(logit=logit).log_prob(x).array
    gpu = Bernoulli(logit=cupy.asarray(logit)).log_prob(cupy.asarray(x)).array
    np.testing.assert_allclose(cupy.asnumpy(gpu), cpu, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("arch", ["mlp", "conv", "lstm"])
def test_training_and_evaluation_on_gpu(toy_mnist, tmp_path, arch):
    config = toy_config(toy_mnist, epochs=2, device="@cupy:0")
    config.model.encoder = config.model.decoder = arch
    run = tmp_path / arch
    training.train(config, run, progress=False)
    result = evaluate(run, iw_samples=20, progress=False)
    assert np.isfinite(result.elbo) and result.elbo < result.log_likelihood < 0


def test_parameter_average_on_gpu(toy_mnist, tmp_path):
    """--average on the GPU: the average stays on the device, is saved and scores."""
    config = toy_config(toy_mnist, epochs=2, device="@cupy:0", average=0.9)
    run = tmp_path / "averaged"
    model = training.train(config, run, progress=False)
    assert model.xp is not np  # the average, on the GPU
    with np.load(run / "model.npz") as saved:
        np.testing.assert_allclose(saved["encoder/mu/W"],
                                   chainer.backends.cuda.to_cpu(model.encoder.mu.W.array))
    result = evaluate(run, iw_samples=20, progress=False)
    assert np.isfinite(result.elbo) and result.elbo < result.log_likelihood < 0


@pytest.mark.parametrize("kind", ["lstm-autoregressive", "mlp"])
def test_step_made_decoder_on_gpu_matches_cpu(kind):
    model = step_made_model(kind)
    rng = np.random.RandomState(7)
    z = rng.randn(4, 2).astype(np.float32)
    x = (rng.rand(4, 2, 3) > 0.5).astype(np.float32)
    with chainer.no_backprop_mode():
        cpu_log_p = model.decoder(z, x).log_prob(x).array
    cpu_means = model.decode(z)
    model.to_device("@cupy:0")
    xp = model.xp
    with chainer.no_backprop_mode():
        gpu_log_p = model.decoder(xp.asarray(z), xp.asarray(x)).log_prob(xp.asarray(x)).array
    gpu_means = model.decode(xp.asarray(z))
    np.testing.assert_allclose(chainer.backends.cuda.to_cpu(gpu_log_p), cpu_log_p, atol=1e-4)
    np.testing.assert_allclose(chainer.backends.cuda.to_cpu(gpu_means), cpu_means, atol=1e-4)
