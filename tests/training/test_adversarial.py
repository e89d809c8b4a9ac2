"""The VAE-GAN (``train --adversarial``): each part's gradients come from its own objective,
the discriminator is trained and kept in snapshots, and the option is refused where it
cannot apply."""
from __future__ import annotations

import json

import numpy as np
import pytest

import chainer_vae  # noqa: F401  (before chainer)
import chainer
from chainer_vae import cli
from chainer_vae.config import CONFIG_FILE, ModelConfig, RunConfig
from chainer_vae.model import build_model
from chainer_vae.model.registry import build_discriminator
from chainer_vae.training.adversarial import VAEGANLoss, take_gradients

from tiny_models import parameters, read_log, toy_images


def _loss(gamma=0.5, seed=0):
    np.random.seed(seed)
    config = ModelConfig(input_shape=(784,), latent=3, hidden=[16])
    return VAEGANLoss(build_model(config), build_discriminator(config), gamma=gamma, beta=0.7)


def _grads(link):
    return {name: None if param.grad is None else param.grad.copy()
            for name, param in link.namedparams()}


def _alone(loss, x, which, seed):
    """Every gradient of one objective, from a forward pass of its own (same draws)."""
    loss.model.cleargrads()
    loss.discriminator.cleargrads()
    np.random.seed(seed)
    getattr(loss(x), which).backward()
    return _grads(loss.model), _grads(loss.discriminator)


def test_each_part_takes_the_gradient_of_its_own_objective():
    loss = _loss()
    x, _ = toy_images(8)
    encoder_ref, _ = _alone(loss, x, "encoder", seed=3)
    decoder_ref, _ = _alone(loss, x, "decoder", seed=3)
    _, disc_ref = _alone(loss, x, "discriminator", seed=3)
    np.random.seed(3)
    take_gradients(loss, x)
    taken, disc_taken = _grads(loss.model), _grads(loss.discriminator)
    for name, grad in taken.items():
        expected = (encoder_ref if name.startswith("/encoder") else decoder_ref)[name]
        np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-7, err_msg=name)
    for name, grad in disc_taken.items():
        np.testing.assert_allclose(grad, disc_ref[name], rtol=1e-5, atol=1e-7, err_msg=name)
    # the gradients flow: every part of the VAE and the discriminator moves
    assert all(np.abs(grad).sum() > 0 for grad in list(taken.values()) + list(disc_taken.values()))
    # the encoder's objective reaches the decoder too (through x~), but the decoder keeps
    # its own objective's gradient
    assert not np.allclose(encoder_ref["/decoder/out/W"], decoder_ref["/decoder/out/W"])


def test_gamma_weighs_the_feature_loss_in_the_decoder_only():
    x, _ = toy_images(8)
    small, large = _loss(gamma=0.5), _loss(gamma=2.0)
    for loss in (small, large):
        np.random.seed(5)
        loss.objectives = loss(x)
    np.testing.assert_allclose(small.objectives.encoder.array, large.objectives.encoder.array)
    feature = (large.objectives.decoder.array - small.objectives.decoder.array) / 1.5
    reporter, observed = chainer.Reporter(), {}
    reporter.add_observer("main", small)
    np.random.seed(5)
    with reporter.scope(observed):
        small(x)
    np.testing.assert_allclose(feature, observed["main/feature"].array, rtol=1e-5)


def _train(toy_mnist, out, *extra):
    return cli.main(["train", "--data-dir", str(toy_mnist), "--hidden", "32", "--latent", "4",
                     "--batch-size", "50", "--out", str(out), "--no-progress"] + list(extra))


def test_a_vae_gan_run_logs_its_losses_and_resumes_as_it_would_have_run(toy_mnist, tmp_path):
    whole, resumed = tmp_path / "whole", tmp_path / "resumed"
    assert _train(toy_mnist, whole, "--epochs", "2", "--adversarial", "0.5") == 0
    assert _train(toy_mnist, resumed, "--epochs", "1", "--adversarial", "0.5") == 0
    assert json.loads((resumed / CONFIG_FILE).read_text())["train"]["adversarial"] == 0.5
    assert cli.main(["train", "--out", str(resumed), "--resume", "--epochs", "2",
                     "--no-progress"]) == 0
    log = read_log(whole)
    assert all(entry["main/feature"] > 0 and entry["main/gan"] > 0 for entry in log)
    expected, found = parameters(whole), parameters(resumed)
    for name in expected:
        np.testing.assert_array_equal(found[name], expected[name], err_msg=name)
    assert RunConfig.load(whole).train.adversarial == 0.5


def test_an_old_config_loads_without_the_adversarial_key(tmp_path):
    raw = RunConfig().to_dict()
    raw["version"] = 7
    del raw["train"]["adversarial"]
    (tmp_path / CONFIG_FILE).write_text(json.dumps(raw))
    assert RunConfig.load(tmp_path).train.adversarial == 0.0


@pytest.mark.parametrize("options, problem", [
    (["--dataset", "jsb"], "needs --dataset mnist"),
    (["--step-made", "8"], "reads its own output"),
    (["--k", "2"], "one z per example"),
    (["--free-nats", "1"], "--free-nats"),
    (["--binarize", "none", "--likelihood", "continuous-bernoulli"], "no mean"),
])
def test_adversarial_where_it_cannot_apply_is_one_line_and_exit_2(options, problem, tmp_path,
                                                                   capsys):
    assert cli.main(["train", "--adversarial", "--out", str(tmp_path / "run")] + options) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and problem in err and "--adversarial" in err
    assert not (tmp_path / "run").exists()
