"""chainer_vae.inference.sampling: prior samples, reconstructions, latent paths,
completion, conditional sampling (the files written of them: tests/outputs/)."""
from __future__ import annotations

import chainer_vae  # noqa: F401  (installs the compatibility shim before chainer)
import chainer
import numpy as np
import pytest
from scipy.stats import norm

from chainer_vae.data.images import image_layout
from chainer_vae.data import examples_array
from chainer_vae.inference import sampling as gen
from chainer_vae.outputs import images
from chainer_vae.config import ModelConfig
from chainer_vae.errors import ConfigError
from chainer_vae.model import build_model

from tiny_models import toy_images, train_tiny


@pytest.fixture(scope="module")
def toy():
    return toy_images(120)


@pytest.fixture(scope="module")
def model(toy):
    config = ModelConfig(input_shape=(784,), latent=2, hidden=[24])
    return train_tiny(config, toy[0], steps=400)


# ---------------------------------------------------------------------------- sampling

def test_prior_samples_shape_range_and_seed(model):
    state = np.random.get_state()
    first = gen.prior_samples(model, 7, seed=3)
    again = gen.prior_samples(model, 7, seed=3)
    other = gen.prior_samples(model, 7, seed=4)
    after = np.random.get_state()
    assert first.shape == (7, 784) and isinstance(first, np.ndarray)
    assert first.min() >= 0 and first.max() <= 1
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert all(np.array_equal(a, b) for a, b in zip(state, after)), "global RNG was touched"


def test_prior_samples_unseeded_leaves_global_rng(model):
    state = np.random.get_state()
    gen.prior_samples(model, 3, sample=True)
    assert all(np.array_equal(a, b) for a, b in zip(state, np.random.get_state()))


def test_prior_samples_scale_threshold_and_bernoulli(model):
    cold = gen.prior_samples(model, 4, scale=0.0, seed=0)
    centre = gen.decode(model, np.zeros((1, 2), np.float32))
    np.testing.assert_allclose(cold, np.repeat(centre, 4, axis=0), atol=1e-6)

    means = gen.prior_samples(model, 5, seed=1)
    thresholded = gen.prior_samples(model, 5, threshold=0.2, seed=1)
    np.testing.assert_array_equal(thresholded, (means > 0.2).astype(np.float32))

    drawn = gen.prior_samples(model, 5, sample=True, seed=1)
    assert set(np.unique(drawn)) <= {0.0, 1.0}
    np.testing.assert_array_equal(drawn, gen.prior_samples(model, 5, sample=True, seed=1))
    # Pixels with probability near 0 or 1 are drawn accordingly (a few in a thousand may not).
    assert drawn[means > 0.999].mean() > 0.99 and drawn[means < 0.001].mean() < 0.01

    z = gen.prior_latents(model, 20000, scale=2.0, seed=0)
    assert z.shape == (20000, 2) and abs(z.std() - 2.0) < 0.05


def test_sampling_a_gaussian_model_is_refused():
    model = build_model(ModelConfig(input_shape=(784,), latent=2, hidden=[8],
                                    likelihood="gaussian"))
    assert gen.prior_samples(model, 2, seed=0).shape == (2, 784)
    with pytest.raises(ConfigError, match="Bernoulli"):
        gen.prior_samples(model, 2, sample=True, seed=0)


def test_reconstruct_is_decode_of_encode(model, toy):
    x = toy[0][:9]
    recon = gen.reconstruct(model, x, batch_size=4)
    expected = model.decode(model.encode(x))
    np.testing.assert_allclose(recon, expected, atol=1e-6)
    # One example without a batch axis works too.
    np.testing.assert_allclose(gen.reconstruct(model, x[0]), expected[:1], atol=1e-6)
    with pytest.raises(ConfigError, match="shape"):
        gen.reconstruct(model, np.zeros((2, 10), np.float32))


def test_the_trained_model_reconstructs_its_classes(model, toy):
    x, labels = toy
    recon = gen.reconstruct(model, x).reshape(-1, 28, 28)
    # digit d is a bar over rows 2d .. 2d + 5: its reconstruction's ink centres on 2d + 2.5
    profile = recon[:, :, 4:24].sum(axis=2)
    centre = (profile * np.arange(28)).sum(axis=1) / profile.sum(axis=1)
    assert np.mean(np.abs(centre - (2 * labels + 2.5)) < 1.0) > 0.8


# ---------------------------------------------------------------------------- latent paths

@pytest.mark.parametrize("method", ["linear", "slerp"])
def test_interpolation_endpoints_decode_like_the_encodings(model, toy, method):
    x_a, x_b = toy[0][0], toy[0][1]
    z_path, decoded = gen.interpolate(model, x_a, x_b, 6, method)
    assert z_path.shape == (6, 2) and decoded.shape == (6, 784)
    np.testing.assert_allclose(z_path[0], model.encode(x_a[None])[0], atol=1e-6)
    np.testing.assert_allclose(z_path[-1], model.encode(x_b[None])[0], atol=1e-6)
    np.testing.assert_allclose(decoded[0], model.decode(model.encode(x_a[None]))[0], atol=1e-5)
    np.testing.assert_allclose(decoded[-1], model.decode(model.encode(x_b[None]))[0], atol=1e-5)
    assert not np.allclose(decoded[0], decoded[-1])


def test_linear_and_slerp_paths():
    a = np.array([3.0, 0.0, 0.0], np.float32)
    b = np.array([0.0, 3.0, 0.0], np.float32)
    linear = gen.interpolate_latents(a, b, 5, "linear")
    slerp = gen.interpolate_latents(a, b, 5, "slerp")
    assert linear.shape == slerp.shape == (5, 3)
    np.testing.assert_array_equal(linear[[0, -1]], [a, b])
    np.testing.assert_array_equal(slerp[[0, -1]], [a, b])
    np.testing.assert_allclose(linear[2], (a + b) / 2, atol=1e-6)
    # Slerp stays on the sphere of radius 3 and halves the angle at the midpoint.
    np.testing.assert_allclose(np.linalg.norm(slerp, axis=1), 3.0, atol=1e-5)
    np.testing.assert_allclose(slerp[2], 3 * np.array([1, 1, 0]) / np.sqrt(2), atol=1e-5)
    # Parallel vectors: slerp falls back to the straight line.
    np.testing.assert_allclose(gen.interpolate_latents(a, 2 * a, 3, "slerp")[1], 1.5 * a,
                               atol=1e-6)
    with pytest.raises(ConfigError):
        gen.interpolate_latents(a, b, 1)
    with pytest.raises(ConfigError, match="slerp"):
        gen.interpolate_latents(a, b, 3, "cubic")


def test_class_mean_latents(model, toy):
    x, labels = toy
    means = gen.class_mean_latents(model, x, labels)
    assert list(means) == list(range(10))
    z = model.encode(x)
    for label, mean in means.items():
        np.testing.assert_allclose(mean, z[labels == label].mean(axis=0), atol=1e-5)
    with pytest.raises(ConfigError):
        gen.class_mean_latents(model, x, labels[:-1])


def test_latent_grid_uses_the_inverse_gaussian_cdf():
    grid = gen.latent_grid(5, span=0.95)
    values = norm.ppf(np.linspace(0.05, 0.95, 5))
    assert grid.shape == (25, 2) and grid.dtype == np.float32
    square = grid.reshape(5, 5, 2)
    np.testing.assert_allclose(square[0, :, 0], values, atol=1e-6)  # z1 left to right
    np.testing.assert_allclose(square[:, 0, 1], values[::-1], atol=1e-6)  # z2 grows upwards
    np.testing.assert_allclose(gen.latent_grid(3, span=0.9)[:3, 0], norm.ppf([0.1, 0.5, 0.9]),
                               atol=1e-6)
    np.testing.assert_array_equal(gen.latent_grid(1), [[0.0, 0.0]])
    with pytest.raises(ConfigError):
        gen.latent_grid(4, span=1.0)


# ---------------------------------------------------------------------------- completion

def test_occlusion_mask_and_image_layout():
    assert image_layout((784,)) == (28, 28)
    assert image_layout((1, 28, 28)) == (28, 28)
    assert image_layout((16, 156)) == (16, 156)
    assert image_layout((10,)) == (1, 10)
    mask = gen.occlusion_mask((784,), "bottom", 0.5).reshape(28, 28)
    assert mask[:14].all() and not mask[14:].any()
    mask = gen.occlusion_mask((1, 28, 28), "left", 0.25)
    assert mask.shape == (1, 28, 28) and not mask[0, :, :7].any() and mask[0, :, 7:].all()
    with pytest.raises(ConfigError):
        gen.occlusion_mask((784,), "middle")


def test_completion_keeps_observed_pixels(model, toy):
    x = toy[0][:6]
    mask = gen.occlusion_mask((784,), "bottom", 0.5)
    completed, history = gen.complete_occluded(model, x, mask, iterations=5,
                                               return_history=True)
    assert completed.shape == x.shape and history.shape == (6,) + x.shape
    np.testing.assert_array_equal(completed[:, mask], x[:, mask])
    np.testing.assert_array_equal(history[0][:, ~mask], 0)
    assert (completed[:, ~mask] != 0).any(), "the hidden part was not filled in"
    # The filled-in pixels are the reconstruction of the previous guess.
    np.testing.assert_allclose(completed[:, ~mask],
                               gen.reconstruct(model, history[-2])[:, ~mask], atol=1e-6)
    # One mask per example works too.
    masks = np.stack([mask, ~mask] * 3)
    np.testing.assert_array_equal(gen.complete_occluded(model, x, masks, 2)[masks], x[masks])


# ---------------------------------------------------------------------------- other parts

@pytest.mark.parametrize("arch,shape", [("conv", (1, 28, 28)), ("lstm", (28, 28))])
def test_other_architectures(arch, shape):
    config = ModelConfig(encoder=arch, decoder=arch, input_shape=shape, latent=3, hidden=[8],
                         channels=[2, 4], activation="relu")
    model = build_model(config)
    x = np.random.RandomState(0).rand(2, *shape).astype(np.float32)
    assert gen.prior_samples(model, 3, seed=0).shape == (3,) + shape
    _, decoded = gen.interpolate(model, x[0], x[1], 4, "slerp")
    np.testing.assert_allclose(decoded[0], model.decode(model.encode(x[:1]))[0], atol=1e-5)
    assert images.as_images(decoded).shape == (4, 28, 28)


def test_examples_array_from_arrays_and_datasets(toy):
    from chainer_vae.data.images import ImageDataset

    x, labels = toy
    np.testing.assert_array_equal(examples_array(x, 5), x[:5])
    dataset = ImageDataset(x.reshape(-1, 28, 28), labels, shape="image")
    array = examples_array(dataset, 7)
    assert array.shape == (7, 1, 28, 28) and array.dtype == np.float32
    np.testing.assert_array_equal(array.reshape(7, 784), x[:7])
    pairs = chainer.datasets.TupleDataset(x[:3], labels[:3])
    np.testing.assert_array_equal(examples_array(pairs), x[:3])


# ---------------------------------------------------------------------------- labels

@pytest.fixture(scope="module")
def labelled(toy):
    x, labels = toy
    config = ModelConfig(input_shape=(784,), latent=2, hidden=[24], conditional=True,
                         label_names=[str(d) for d in range(10)])
    return train_tiny(config, x, steps=200, labels=labels.astype(np.int32))


def test_labels_for_checks_what_a_conditional_model_reads(model, labelled):
    assert gen.labels_for(model, [1, 2], 2) is None  # ignored without labels
    np.testing.assert_array_equal(gen.labels_for(labelled, 4, 3), [4, 4, 4])
    weights = np.full((2, 10), 0.1)
    assert gen.labels_for(labelled, weights, 2).dtype == np.float32
    for labels, message in ((None, "trained with --conditional"), ([1, 10], r"\[0, 10\), got 10"),
                            ([-1, 0], "got -1"), ([1, 2, 3], "expected 2 int labels"),
                            ([0.5, 1.0], "expected 2 int labels")):
        with pytest.raises(ConfigError, match=message):
            gen.labels_for(labelled, labels, 2)
    path = gen.label_path(labelled, (2, 5), 5)
    np.testing.assert_allclose(path[0], np.eye(10)[2])
    np.testing.assert_allclose(path[-1], np.eye(10)[5])
    np.testing.assert_allclose(path[2, [2, 5]], [0.5, 0.5])
    assert gen.label_path(model, (2, 5), 5) is None


def test_conditional_sampling_reads_the_labels(labelled, toy):
    x, labels = toy
    z = gen.prior_latents(labelled, 4, seed=0)
    as_three = gen.decode(labelled, z, labels=3)
    np.testing.assert_array_equal(gen.prior_samples(labelled, 4, seed=0, labels=3), as_three)
    assert not np.allclose(as_three, gen.decode(labelled, z, labels=8))
    # the ends of a walk decode like each example with its own label
    path, decoded = gen.interpolate(labelled, x[0], x[1], 4, labels=(labels[0], labels[1]))
    np.testing.assert_allclose(decoded[[0, -1]],
                               gen.reconstruct(labelled, x[:2], labels=labels[:2]), atol=1e-6)
    fixed = gen.interpolate(labelled, x[0], x[1], 4, labels=(labels[0], labels[1]),
                            path_labels=6)[1]
    np.testing.assert_array_equal(fixed, gen.decode(labelled, path, labels=6))
    recoloured = gen.reconstruct(labelled, x[:3], labels=labels[:3], decode_labels=6)
    np.testing.assert_array_equal(recoloured, gen.decode(
        labelled, gen.encode(labelled, x[:3], labels=labels[:3]), labels=6))
    completed = gen.complete_occluded(labelled, x[:2], gen.occlusion_mask((784,)), 2,
                                      labels=labels[:2])
    assert completed.shape == (2, 784)
