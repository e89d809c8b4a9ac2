"""load_mnist and its options on fake files, and the real MNIST files where present."""
from __future__ import annotations

import numpy as np
import pytest

import chainer_vae  # noqa: F401  (before chainer)
from chainer_vae.data.mnist import MNIST_CHECKSUMS, load_mnist
from chainer_vae.errors import ConfigError, DataError
from mnist_factories import N_TEST, N_TRAIN, fake_mnist_arrays, md5_of, write_fake_mnist


@pytest.fixture
def fake_dir(tmp_path):
    folder = tmp_path / "mnist"
    arrays = write_fake_mnist(folder)
    return folder, arrays


def test_load_mnist_shapes_and_values(fake_dir):
    folder, arrays = fake_dir
    data = load_mnist(folder, download=False)
    assert data.train_images.shape == (N_TRAIN, 784) and data.test_images.shape == (N_TEST, 784)
    assert data.train_images.dtype == np.float32 and data.test_images.dtype == np.float32
    assert data.train_labels.dtype == np.int32 and data.test_labels.shape == (N_TEST,)
    assert 0.0 <= data.train_images.min() and data.train_images.max() == 1.0
    np.testing.assert_allclose(data.train_images * 255,
                               arrays["train_images"].reshape(N_TRAIN, 784), atol=1e-4)
    np.testing.assert_array_equal(data.train_labels, arrays["train_labels"])
    np.testing.assert_array_equal(data.test_labels, arrays["test_labels"])
    assert "50" in repr(data) and len(repr(data)) < 200


def test_load_mnist_accepts_unzipped_files(tmp_path):
    arrays = write_fake_mnist(tmp_path / "m", gz=False)
    data = load_mnist(tmp_path / "m", download=False)
    np.testing.assert_array_equal(data.train_labels, arrays["train_labels"])


def _rows_in(original: np.ndarray, subset: np.ndarray) -> np.ndarray:
    """Index in ``original`` (uint8 (N, 28, 28)) of each row of ``subset`` (float (M, 784))."""
    flat = original.reshape(len(original), -1).astype(np.float32) / 255
    return np.array([int(np.flatnonzero((flat == row).all(axis=1))[0]) for row in subset])


def test_classes_filter_keeps_order(fake_dir):
    folder, arrays = fake_dir
    data = load_mnist(folder, download=False, classes=[7, 3])
    assert set(data.train_labels) == {3, 7} and set(data.test_labels) == {3, 7}
    np.testing.assert_array_equal(_rows_in(arrays["train_images"], data.train_images),
                                  np.flatnonzero(np.isin(arrays["train_labels"], [3, 7])))


def test_per_class_subsets(fake_dir):
    folder, arrays = fake_dir
    data = load_mnist(folder, download=False, train_per_class=3, test_per_class=1, seed=5)
    assert data.train_images.shape == (30, 784) and data.test_images.shape == (10, 784)
    np.testing.assert_array_equal(np.bincount(data.train_labels, minlength=10), [3] * 10)
    np.testing.assert_array_equal(np.bincount(data.test_labels, minlength=10), [1] * 10)
    rows = _rows_in(arrays["train_images"], data.train_images)
    assert (np.diff(rows) > 0).all()  # original order
    np.testing.assert_array_equal(arrays["train_labels"][rows], data.train_labels)

    again = load_mnist(folder, download=False, train_per_class=3, test_per_class=1, seed=5)
    np.testing.assert_array_equal(again.train_images, data.train_images)
    np.testing.assert_array_equal(again.test_labels, data.test_labels)
    other = load_mnist(folder, download=False, train_per_class=3, test_per_class=1, seed=6)
    assert not np.array_equal(other.train_images, data.train_images)
    # The training sample does not depend on the test option.
    alone = load_mnist(folder, download=False, train_per_class=3, seed=5)
    np.testing.assert_array_equal(alone.train_images, data.train_images)
    assert len(alone.test_labels) == N_TEST


def test_classes_with_per_class(fake_dir):
    folder, _ = fake_dir
    data = load_mnist(folder, download=False, classes=(0, 1), train_per_class=5,
                      test_per_class=2)
    np.testing.assert_array_equal(np.bincount(data.train_labels), [5, 5])
    np.testing.assert_array_equal(np.bincount(data.test_labels), [2, 2])


@pytest.mark.parametrize("kwargs,match", [
    ({"train_per_class": 6}, "only 5 images of digit"),
    ({"test_per_class": 3}, "only 2 images of digit"),
    ({"train_per_class": 0}, "positive"),
    ({"classes": [11]}, "11"),
    ({"classes": [3, -1]}, "-1"),
    ({"classes": [2.0]}, "2.0"),
    ({"classes": []}, "empty"),
    ({"classes": "37"}, "iterable"),
])
def test_load_mnist_bad_options(fake_dir, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        load_mnist(fake_dir[0], download=False, **kwargs)


def test_load_mnist_missing_folder(tmp_path):
    folder = tmp_path / "no-such-folder"
    with pytest.raises(DataError) as info:
        load_mnist(folder, download=False)
    assert str(folder) in str(info.value)
    assert "CHAINER_VAE_DATA" in str(info.value) and "download" in str(info.value)
    assert not folder.exists()


def test_load_mnist_count_mismatch(tmp_path):
    arrays = fake_mnist_arrays()
    arrays["test_labels"] = arrays["test_labels"][:-1]
    write_fake_mnist(tmp_path, arrays)
    with pytest.raises(DataError, match="t10k-images.*20 images.*t10k-labels.*19 labels"):
        load_mnist(tmp_path, download=False)


def test_load_mnist_rejects_non_mnist_arrays(tmp_path):
    arrays = fake_mnist_arrays()
    arrays["train_images"] = arrays["train_images"][:, :27, :]
    write_fake_mnist(tmp_path, arrays)
    with pytest.raises(DataError, match="train-images.*28, 28"):
        load_mnist(tmp_path, download=False)


def test_load_mnist_uses_the_env_var(tmp_path, monkeypatch):
    arrays = write_fake_mnist(tmp_path / "root" / "mnist")
    monkeypatch.setenv("CHAINER_VAE_DATA", str(tmp_path / "root"))
    data = load_mnist(download=False)
    np.testing.assert_array_equal(data.train_labels, arrays["train_labels"])


def test_the_names_callers_import_from_mnist_stay_there():
    from chainer_vae.data import idx, mnist, mnist_files

    assert mnist.read_idx is idx.read_idx and mnist.IDX_DTYPES is idx.IDX_DTYPES
    assert mnist.download_mnist is mnist_files.download_mnist
    assert mnist.MNIST_MIRRORS is mnist_files.MNIST_MIRRORS
    assert all(hasattr(mnist, name) for name in mnist.__all__)


# --------------------------------------------------------------------------- real MNIST

@pytest.fixture(scope="module")
def real_mnist(data_root):
    folder = data_root / "mnist"
    if not folder.is_dir():
        pytest.skip("no MNIST files in {}".format(folder))
    return folder


def test_real_files_match_checksums(real_mnist):
    for name, md5 in MNIST_CHECKSUMS.items():
        path = real_mnist / name
        if path.exists():
            assert md5_of(path) == md5, name


def test_real_mnist(real_mnist):
    data = load_mnist(real_mnist, download=False, progress=False)
    assert data.train_images.shape == (60000, 784) and data.test_images.shape == (10000, 784)
    assert data.train_labels.shape == (60000,) and data.test_labels.shape == (10000,)
    assert list(data.train_labels[:10]) == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert data.train_images.min() == 0.0 and data.train_images.max() == 1.0
    assert 0.12 < float(data.train_images.mean()) < 0.14  # MNIST's mean ink is ~0.1307


def test_real_mnist_study_subset(real_mnist):
    data = load_mnist(real_mnist, download=False, train_per_class=1600, test_per_class=400,
                      seed=0, progress=False)
    assert data.train_images.shape == (16000, 784) and data.test_images.shape == (4000, 784)
    np.testing.assert_array_equal(np.bincount(data.train_labels), [1600] * 10)
    np.testing.assert_array_equal(np.bincount(data.test_labels), [400] * 10)
