"""ImageDataset: layouts, scaling and the three binarizations of grey digits."""
from __future__ import annotations

import numpy as np
import pytest

import chainer_vae  # noqa: F401  (before chainer)
from chainer_vae.data.images import ImageDataset, binarize_once
from chainer_vae.errors import ConfigError, DataError


def grey_images(n=6, seed=0):
    return np.random.RandomState(seed).random_sample((n, 784)).astype(np.float32)


@pytest.mark.parametrize("shape,expected", [
    ("flat", (784,)), ("image", (1, 28, 28)), ("rows", (28, 28))])
@pytest.mark.parametrize("binarize", ["none", "threshold", "dynamic", "fixed"])
def test_example_shapes(shape, expected, binarize):
    images = grey_images()
    ds = ImageDataset(images, labels=np.arange(6), binarize=binarize, shape=shape)
    assert len(ds) == 6 and ds.example_shape == expected
    x = ds.get_example(2)
    assert x.shape == expected and x.dtype == np.float32
    assert ds.get_batch([0, 5, 5]).shape == (3,) + expected
    assert ds.get_batch(slice(1, 4)).shape == (3,) + expected
    items = ds[[1, 2]]
    assert isinstance(items, list) and len(items) == 2 and items[0].shape == expected
    assert len(ds[1:]) == 5
    assert ds.labels.dtype == np.int32 and list(ds.labels) == list(range(6))


def test_no_binarization_and_layouts_keep_pixels():
    images = grey_images()
    ds = ImageDataset(images, shape="image")
    np.testing.assert_array_equal(ds[3][0], images[3].reshape(28, 28))
    rows = ImageDataset(images.reshape(6, 28, 28), shape="rows")
    np.testing.assert_array_equal(rows[3][5], images[3, 5 * 28:6 * 28])
    ds[3][0, 0, 0] = 7.0  # examples are copies
    assert ds[3][0, 0, 0] == images[3, 0]


def test_uint8_images_are_scaled():
    u8 = np.array([[0, 255, 128, 64]], np.uint8)
    ds = ImageDataset(u8)
    np.testing.assert_allclose(ds[0], [0, 1, 128 / 255, 64 / 255], rtol=1e-6)


def test_threshold():
    images = np.array([[0.0, 0.49, 0.5, 0.51], [1.0, 0.2, 0.7, 0.5]], np.float32)
    ds = ImageDataset(images, binarize="threshold")
    np.testing.assert_array_equal(ds.get_batch([0, 1]),
                                  [[0, 0, 1, 1], [1, 0, 1, 1]])


def test_dynamic_binarization():
    levels = np.linspace(0, 1, 784).astype(np.float32)
    ds = ImageDataset(levels[None, :], binarize="dynamic")
    a, b = ds[0], ds[0]
    assert set(np.unique(a)) <= {0.0, 1.0}
    assert not np.array_equal(a, b)  # a fresh draw every access
    draws = ds.get_batch(np.zeros(4000, dtype=int))
    assert set(np.unique(draws)) == {0.0, 1.0}
    assert draws[:, 0].max() == 0.0 and draws[:, -1].min() == 1.0
    np.testing.assert_allclose(draws.mean(axis=0), levels, atol=0.05)
    assert abs(float(draws.mean()) - float(levels.mean())) < 0.01


def test_dynamic_follows_the_global_numpy_rng():
    ds = ImageDataset(grey_images(), binarize="dynamic", shape="rows")
    np.random.seed(123)
    first = [ds[i] for i in range(6)]
    np.random.seed(123)
    batch = ds.get_batch(np.arange(6))  # same draws as the examples one by one
    np.testing.assert_array_equal(np.stack(first), batch)
    state = np.random.get_state()
    x = ds[2]
    np.random.set_state(state)  # what a resumed training run does
    np.testing.assert_array_equal(ds[2], x)


def test_fixed_binarization():
    images = grey_images(200, seed=3)
    np.random.seed(0)
    before = np.random.get_state()[1].copy()
    ds = ImageDataset(images, binarize="fixed", shape="image", seed=4)
    assert np.array_equal(np.random.get_state()[1], before)  # global RNG untouched
    assert ds.binarize == "fixed"
    np.testing.assert_array_equal(ds[7], ds[7])
    np.testing.assert_array_equal(ds.get_batch(np.arange(200)).reshape(200, 784),
                                  binarize_once(images, seed=4))
    same = ImageDataset(images, binarize="fixed", seed=4)
    np.testing.assert_array_equal(same.get_batch(np.arange(200)),
                                  ds.get_batch(np.arange(200)).reshape(200, 784))
    other = binarize_once(images, seed=5)
    assert not np.array_equal(other, binarize_once(images, seed=4))
    assert set(np.unique(other)) == {0.0, 1.0}
    assert abs(float(other.mean()) - float(images.mean())) < 0.01


@pytest.mark.parametrize("kwargs", [{"binarize": "bernoulli"}, {"shape": "square"},
                                    {"binarize": None}])
def test_image_dataset_bad_options(kwargs):
    with pytest.raises(ConfigError):
        ImageDataset(grey_images(), **kwargs)


@pytest.mark.parametrize("images,labels", [
    (np.full((2, 784), 1.5, np.float32), None),
    (np.full((2, 784), np.nan, np.float32), None),
    (np.zeros((2, 783), np.float32), None),
    (np.zeros((2, 28, 27), np.float32), None),
    (np.zeros(784, np.float32), None),
    (np.zeros((2, 784), np.float32), np.arange(3)),
])
def test_image_dataset_bad_data(images, labels):
    with pytest.raises(DataError):
        ImageDataset(images, labels)
