"""The claims' measurements against closed forms and known cases: principal angles, a
linear VAE's subspace against PCA on synthetic low-rank data, class separation, the
curves of a log, active units, sharpness, completion and label agreement."""
from __future__ import annotations

import math

import numpy as np
import pytest

import chainer_vae  # noqa: F401  (before chainer)
from chainer_vae.errors import ConfigError
from chainer_vae.inference import claims, sampling
from chainer_vae.inference.classifier import make_classifier
from chainer_vae.config import ModelConfig

from tiny_models import linear_gaussian, toy_images, train_tiny


@pytest.mark.parametrize("degrees", [0.0, 30.0, 90.0])
def test_principal_angle_between_two_lines_in_a_plane(degrees):
    theta = math.radians(degrees)
    a = np.array([[1.0], [0.0], [0.0]])
    b = np.array([[2 * math.cos(theta)], [2 * math.sin(theta)], [0.0]])  # scale is no matter
    np.testing.assert_allclose(claims.principal_angles(a, b), [degrees], atol=1e-6)


def test_principal_angles_of_a_plane_and_a_tilted_plane():
    """span(e1, e2) against span(e1, cos t e2 + sin t e3): angles 0 and t."""
    t = math.radians(40)
    a = np.eye(4)[:, :2]
    b = np.stack([np.eye(4)[0], math.cos(t) * np.eye(4)[1] + math.sin(t) * np.eye(4)[2]], 1)
    np.testing.assert_allclose(claims.principal_angles(a, b @ np.array([[1, 2], [3, 4]])),
                               [0, 40], atol=1e-4)


def _low_rank(n=2000, dim=10, rank=2, noise=0.05, seed=0):
    rng = np.random.RandomState(seed)
    basis, _ = np.linalg.qr(rng.randn(dim, rank))
    x = rng.randn(n, rank) * [3.0, 1.5] @ basis.T + noise * rng.randn(n, dim) + 0.5
    return x.astype(np.float32), basis


def test_pca_finds_the_subspace_of_low_rank_data_and_reconstructs_it():
    x, basis = _low_rank()
    mean, directions, variances = claims.pca(x, 2)
    assert max(claims.principal_angles(directions.T, basis)) < 1.0
    np.testing.assert_allclose(variances[:2], [9.0, 2.25], rtol=0.1)
    error = claims.squared_error(x, claims.pca_reconstruction(x, mean, directions))
    assert error == pytest.approx(8 * 0.05 ** 2, rel=0.15)  # the noise of 8 left-out axes


def test_a_trained_linear_vae_spans_the_principal_subspace():
    """Probabilistic PCA (Tipping & Bishop): the linear Gaussian VAE's decoder columns and
    the directions of the data its encodings covary with span the top principal
    subspace, where a random start does not. (The encoder's own rows keep their random
    start in directions the data hardly vary in: no gradient reaches them there.)"""
    x, basis = _low_rank()
    config = ModelConfig(input_shape=(10,), latent=2, hidden=[], likelihood="gaussian",
                         sigma=0.05)
    untrained = train_tiny(config, x, steps=0)
    assert max(claims.principal_angles(untrained.decoder.out.W.array, basis)) > 10
    model = train_tiny(config, x, steps=1500, lr=1e-2)
    assert max(claims.principal_angles(model.decoder.out.W.array, basis)) < 3
    directions = claims.covarying_directions(x, sampling.encode(model, x))
    assert max(claims.principal_angles(directions, basis)) < 3
    assert max(claims.principal_angles(model.encoder.mu.W.array.T, basis)) > 10


def test_separation_of_clusters_and_of_noise():
    rng = np.random.RandomState(0)
    labels = np.repeat(np.arange(4), 50)
    centres = np.array([[0, 0], [10, 0], [0, 10], [10, 10]])
    apart = claims.separation(centres[labels] + rng.randn(200, 2), labels)
    mixed = claims.separation(rng.randn(200, 2), labels)
    assert apart["knn_accuracy"] == 1.0 and apart["silhouette"] > 0.8
    assert mixed["knn_accuracy"] < 0.45 and abs(mixed["silhouette"]) < 0.1
    assert mixed["spread"] == pytest.approx(1.0, abs=0.1)


def test_curve_summary_of_a_log():
    log = [{"epoch": e + 1, "main/kl": kl, "main/rec_loss": r}
           for e, (kl, r) in enumerate([(5.0, 200.0), (4.0, 180.0), (7.0, 150.0), (6.0, 100.0)])]
    found = claims.curve_summary(log)
    assert (found["kl_first"], found["kl_peak"], found["kl_peak_epoch"]) == (5.0, 7.0, 3)
    assert (found["kl_lowest"], found["kl_lowest_epoch"]) == (4.0, 2)
    assert (found["kl_last"], found["reconstr_fall"], found["reconstr_fall_fraction"]) == (
        6.0, 100.0, 0.5)
    with pytest.raises(ConfigError):
        claims.curve_summary([])


def test_active_units_count_the_dimensions_whose_mean_varies():
    model, _, _, _ = linear_gaussian(data_dim=5, latent=2)
    model.encoder.mu.W.array[1] = 0  # the second dimension's mean is its bias: constant
    x = np.random.RandomState(0).randn(100, 5).astype(np.float32)
    count, variances = claims.active_units(model, x)
    assert count == 1 and variances[1] == pytest.approx(0, abs=1e-12) and variances[0] > 0.01


def test_sharpness_of_a_stroke_and_of_its_blur():
    stroke = np.zeros((1, 5, 5))
    stroke[0, :, 2] = 1  # jumps of 1 into and out of column 2, in each of 4 rows of dx
    assert claims.sharpness(stroke) == pytest.approx(8 / 16)
    blurred = np.zeros((1, 5, 5))
    blurred[0, :, 1:4] = [0.25, 0.5, 0.25]  # the same ink, spread
    assert claims.sharpness(blurred.reshape(1, 25)) == pytest.approx(4 / 16)


@pytest.fixture(scope="module")
def toy():
    x, labels = toy_images(400)
    classifier = make_classifier("logistic", 0).fit(x, labels)
    return x, labels, classifier


def test_completion_of_toy_digits_is_classified_better_than_what_the_model_sees(toy):
    x, labels, classifier = toy
    model = train_tiny(ModelConfig(latent=4, hidden=[64]), x, steps=300)
    found = claims.completion_accuracy(model, classifier, x[:100], labels[:100], "bottom", 0.5)
    assert found["intact"] == 1.0
    assert found["completed"] > found["occluded"]  # the lower bars are hidden
    assert claims.confidence(classifier, x[:50]) > 0.9


def test_label_agreement_of_a_conditional_model(toy):
    x, labels, classifier = toy
    config = ModelConfig(latent=2, hidden=[64], conditional=True,
                         label_names=[str(d) for d in range(10)])
    model = train_tiny(config, x, steps=300, labels=labels)
    share, per_label = claims.label_agreement(model, classifier, 20)
    assert per_label.shape == (10,) and share == pytest.approx(per_label.mean())
    assert share > 0.8  # chance is 0.1
    with pytest.raises(ConfigError):
        claims.label_agreement(train_tiny(ModelConfig(latent=2, hidden=[8]), x, 0),
                               classifier, 5)
