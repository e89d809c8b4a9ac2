"""chainer_vae.outputs.figures: a model's figures, their arrays computed by ``sampling``."""
from __future__ import annotations

import copy

import chainer_vae  # noqa: F401  (installs the compatibility shim before chainer)
import numpy as np
import pytest

from chainer_vae.config import ModelConfig
from chainer_vae.errors import ConfigError
from chainer_vae.inference import sampling as gen
from chainer_vae.model import build_model
from chainer_vae.outputs import figures, plots

from tiny_models import toy_images, train_tiny

PNG = b"\x89PNG\r\n\x1a\n"


def perturbed(model, seed=1, scale=0.3):
    """A copy of ``model`` with every parameter moved by Gaussian noise."""
    other = copy.deepcopy(model)
    rng = np.random.RandomState(seed)
    for param in other.params():
        param.array += (scale * rng.standard_normal(param.shape)).astype(param.dtype)
    return other


def png(path):
    data = path.read_bytes()
    assert data.startswith(PNG) and len(data) > 1000, path
    return data


@pytest.fixture(scope="module")
def toy():
    return toy_images(80)


@pytest.fixture(scope="module")
def model(toy):
    return train_tiny(ModelConfig(input_shape=(784,), latent=2, hidden=[16]), toy[0], steps=80)


@pytest.fixture(scope="module")
def other(model):
    return perturbed(model)


FIGURES = {
    "prior_samples": lambda m, x, y, p: figures.plot_prior_samples(m, p, n=16),
    "latent_scatter": lambda m, x, y, p: figures.plot_latent_scatter(m, x, y, p, list("abcd")),
    "manifold": lambda m, x, y, p: figures.plot_manifold(m, p, n=6),
    "by_latent_size": lambda m, x, y, p: figures.plot_samples_by_latent_size({2: m}, p, n=9),
    "interpolation": lambda m, x, y, p: figures.plot_interpolation(m, x[0], x[1], p, steps=5),
    "class_interpolation": lambda m, x, y, p: figures.plot_class_interpolation(m, x, y, p,
                                                                               steps=5),
    "reconstructions": lambda m, x, y, p: figures.plot_reconstructions(m, x, p, n=6),
    "completion": lambda m, x, y, p: figures.plot_completion(m, x, p, n=4, iterations=3),
}


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_every_figure_depends_on_the_model(tmp_path, model, other, toy, name):
    x, labels = toy
    draw = FIGURES[name]
    first = draw(model, x, labels, tmp_path / "a.png")
    assert first == tmp_path / "a.png"
    data = png(first)
    assert png(draw(model, x, labels, tmp_path / "again.png")) == data, "not deterministic"
    assert png(draw(other, x, labels, tmp_path / "b.png")) != data, "ignores the model"


def test_a_figure_draws_the_arrays_sampling_computes(tmp_path, model, toy):
    """The model's figure is the plots figure of sampling's arrays, pixel for pixel."""
    x = toy[0]
    recon = gen.reconstruct(model, x[:6])
    assert (png(figures.plot_reconstructions(model, x, tmp_path / "model.png", n=6))
            == png(plots.plot_reconstructions(x[:6], recon, tmp_path / "arrays.png")))
    grid = gen.latent_grid(5)
    assert (png(figures.plot_manifold(model, tmp_path / "m.png", n=5, title="t"))
            == png(plots.plot_manifold(gen.decode(model, grid), grid, tmp_path / "a.png", "t")))


def test_samples_by_latent_size_side_by_side(tmp_path):
    models = {size: build_model(ModelConfig(input_shape=(784,), latent=size, hidden=[8]))
              for size in (2, 10, 20)}
    png(figures.plot_samples_by_latent_size(models, tmp_path / "sizes.png", n=4))
    with pytest.raises(ConfigError):
        figures.plot_samples_by_latent_size({}, tmp_path / "none.png")


def test_manifold_needs_a_2d_latent_space(tmp_path):
    model = build_model(ModelConfig(input_shape=(784,), latent=3, hidden=[8]))
    with pytest.raises(ConfigError, match="2-D"):
        figures.plot_manifold(model, tmp_path / "m.png")
    assert not (tmp_path / "m.png").exists()


def test_scatter_of_a_larger_latent_space(tmp_path, toy):
    model = build_model(ModelConfig(input_shape=(784,), latent=5, hidden=[8]))
    png(figures.plot_latent_scatter(model, toy[0], toy[1], tmp_path / "s.png"))
    png(figures.plot_latent_scatter(model, toy[0], None, tmp_path / "unlabelled.png"))


def test_class_interpolation_needs_two_classes_it_has(tmp_path, model, toy):
    x, labels = toy
    with pytest.raises(ConfigError, match="two classes"):
        figures.plot_class_interpolation(model, x[labels == 1], labels[labels == 1],
                                         tmp_path / "one.png")
    with pytest.raises(ConfigError, match="no examples of class 11"):
        figures.plot_class_interpolation(model, x, labels, tmp_path / "x.png", classes=(1, 11))


def test_samples_by_class_decode_one_z_per_column_with_every_label(tmp_path, toy, monkeypatch):
    x, labels = toy
    names = [str(d) for d in range(10)]
    model = train_tiny(ModelConfig(input_shape=(784,), latent=2, hidden=[16], conditional=True,
                                   label_names=names), x, steps=20,
                       labels=labels.astype(np.int32))
    seen = []
    decode = gen.decode

    def spy(model, z, batch_size=500, labels=None):
        seen.append((z, labels))
        return decode(model, z, batch_size, labels)
    monkeypatch.setattr(gen, "decode", spy)
    png(figures.plot_class_samples(model, tmp_path / "grid.png", names, per_class=4, seed=3))
    (z, labels), = seen
    np.testing.assert_array_equal(z, np.tile(gen.prior_latents(model, 4, seed=3), (10, 1)))
    np.testing.assert_array_equal(labels, np.repeat(np.arange(10), 4))
