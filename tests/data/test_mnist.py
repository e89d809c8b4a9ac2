"""MNIST data: IDX files, download, load_mnist, ImageDataset, and the real files."""
from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import http.server
import os
import threading
from pathlib import Path

import numpy as np
import pytest

import chainer_vae  # noqa: F401  (before chainer)
from chainer_vae.data import mnist
from chainer_vae.data.images import ImageDataset, binarize_once
from chainer_vae.data.mnist import (
    MNIST_CHECKSUMS, MNIST_FILES, download_mnist, load_mnist, mnist_dir, read_idx,
    write_idx)
from chainer_vae.errors import ConfigError, DataError, DownloadError

N_TRAIN, N_TEST = 50, 20  # 5 train and 2 test images of each digit


# --------------------------------------------------------------------------- helpers

def fake_mnist_arrays(seed=0):
    """Random uint8 images (N, 28, 28) and labels (N,) with every digit equally often."""
    rng = np.random.RandomState(seed)
    out = {}
    for split, n in (("train", N_TRAIN), ("test", N_TEST)):
        out[split + "_images"] = rng.randint(0, 256, size=(n, 28, 28)).astype(np.uint8)
        out[split + "_labels"] = rng.permutation(np.arange(n) % 10).astype(np.uint8)
    return out


def write_fake_mnist(folder: Path, arrays=None, gz=True) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    arrays = fake_mnist_arrays() if arrays is None else arrays
    for key, name in MNIST_FILES.items():
        write_idx(folder / (name if gz else name[:-3]), arrays[key])
    return arrays


def md5_of(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture
def fake_dir(tmp_path):
    folder = tmp_path / "mnist"
    arrays = write_fake_mnist(folder)
    return folder, arrays


# --------------------------------------------------------------------------- IDX

@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("dtype,shape", [
    (np.uint8, (7,)), (np.uint8, (3, 4, 5)), (np.int8, (6,)), (np.int16, (2, 3)),
    (np.int32, (2, 3, 4)), (np.float32, (5,)), (np.float64, (2, 2, 2)),
])
def test_idx_round_trip(tmp_path, dtype, shape, suffix):
    rng = np.random.RandomState(1)
    if np.dtype(dtype).kind == "f":
        a = rng.standard_normal(shape).astype(dtype)
    else:
        info = np.iinfo(dtype)
        a = rng.randint(info.min, int(info.max) + 1, size=shape).astype(dtype)
    path = write_idx(tmp_path / ("a.idx" + suffix), a)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == (suffix == ".gz")
    b = read_idx(path)
    assert b.dtype == np.dtype(dtype) and b.dtype.isnative
    assert b.shape == shape
    np.testing.assert_array_equal(a, b)
    assert os.listdir(tmp_path) == [path.name]  # no temp file left


def test_idx_bytes_follow_the_spec(tmp_path):
    write_idx(tmp_path / "u8", np.array([1, 2, 255], np.uint8))
    assert (tmp_path / "u8").read_bytes() == bytes.fromhex("00000801 00000003 0102ff")
    write_idx(tmp_path / "i32", np.array([[1, -2]], np.int32))
    assert (tmp_path / "i32").read_bytes() == bytes.fromhex(
        "00000c02 00000001 00000002 00000001 fffffffe")


def test_gzip_is_detected_by_magic_not_name(tmp_path):
    a = np.arange(12, dtype=np.uint8).reshape(3, 4)
    write_idx(tmp_path / "x.gz", a)
    os.rename(tmp_path / "x.gz", tmp_path / "plain-name")
    np.testing.assert_array_equal(read_idx(tmp_path / "plain-name"), a)
    write_idx(tmp_path / "raw", a)
    os.rename(tmp_path / "raw", tmp_path / "raw-but-named.gz")
    np.testing.assert_array_equal(read_idx(tmp_path / "raw-but-named.gz"), a)


def _raw_idx(tmp_path, name="bad-idx"):
    path = tmp_path / name
    write_idx(path, np.arange(24, dtype=np.int16).reshape(2, 3, 4))
    return path, path.read_bytes()


@pytest.mark.parametrize("mangle,words", [
    (lambda b: b[:-1], "truncated"),
    (lambda b: b[:10], "truncated"),           # inside the dimensions
    (lambda b: b[:3], "too short"),
    (lambda b: b + b"\x00\x00", "trailing"),
    (lambda b: b"\x01" + b[1:], "magic"),
    (lambda b: b[:2] + b"\x0a" + b[3:], "type code"),
    (lambda b: b[:3] + b"\x00" + b[4:], "zero dimensions"),
])
@pytest.mark.parametrize("gz", [False, True])
def test_malformed_idx_raises_data_error_naming_the_file(tmp_path, mangle, words, gz):
    path, data = _raw_idx(tmp_path)
    bad = mangle(data)
    path.write_bytes(gzip.compress(bad) if gz else bad)
    with pytest.raises(DataError) as info:
        read_idx(path)
    assert path.name in str(info.value)
    assert words in str(info.value)


def test_corrupt_and_truncated_gzip_raise_data_error(tmp_path):
    path = tmp_path / "images.gz"
    write_idx(path, np.random.RandomState(0).randint(0, 256, (20, 28, 28)).astype(np.uint8))
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])  # truncated stream
    with pytest.raises(DataError, match="images.gz.*gzip"):
        read_idx(path)
    corrupt = bytearray(data)
    for i in range(20, 60):
        corrupt[i] ^= 0xFF
    path.write_bytes(bytes(corrupt))
    with pytest.raises(DataError, match="images.gz.*gzip"):
        read_idx(path)


def test_missing_idx_file(tmp_path):
    with pytest.raises(DataError, match="nothing-here.*not found"):
        read_idx(tmp_path / "nothing-here")


@pytest.mark.parametrize("array", [np.zeros(3, np.int64), np.zeros(3, bool),
                                   np.array(5, np.uint8)])
def test_write_idx_rejects_what_idx_cannot_hold(tmp_path, array):
    with pytest.raises(DataError, match="out.idx"):
        write_idx(tmp_path / "out.idx", array)
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------- download

class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve(folder: Path):
    """An HTTP server on 127.0.0.1 (random port) serving ``folder``; yields its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield "http://127.0.0.1:{}/".format(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def mirror(tmp_path):
    """A local server with an empty ``empty/`` and a ``good/`` holding fake MNIST files."""
    site = tmp_path / "site"
    (site / "empty").mkdir(parents=True)
    arrays = write_fake_mnist(site / "good")
    checksums = {name: md5_of(site / "good" / name) for name in MNIST_FILES.values()}
    with serve(site) as base:
        yield base, site / "good", checksums, arrays


def test_download_success(tmp_path, mirror):
    base, good, checksums, _ = mirror
    dest = tmp_path / "dest" / "mnist"
    assert download_mnist(dest, mirrors=[base + "good/"], progress=False, timeout=5,
                          checksums=checksums) == dest
    assert sorted(os.listdir(dest)) == sorted(MNIST_FILES.values())
    for name in MNIST_FILES.values():
        assert (dest / name).read_bytes() == (good / name).read_bytes()


def test_download_falls_back_to_the_next_mirror(tmp_path, mirror, capsys):
    base, good, checksums, _ = mirror
    dest = tmp_path / "dest"
    mirrors = ["http://127.0.0.1:1/nothing-listens/", base + "empty/", base + "good"]
    download_mnist(dest, mirrors=mirrors, progress=True, timeout=5, checksums=checksums)
    assert sorted(os.listdir(dest)) == sorted(MNIST_FILES.values())
    assert capsys.readouterr().out == ""  # the progress bar goes to stderr only


def test_download_only_fetches_missing_files(tmp_path, mirror):
    base, good, checksums, _ = mirror
    dest = tmp_path / "dest"
    dest.mkdir()
    keep = MNIST_FILES["train_images"]
    (dest / keep).write_bytes(b"left alone")
    download_mnist(dest, mirrors=[base + "good/"], progress=False, checksums=checksums)
    assert (dest / keep).read_bytes() == b"left alone"
    # Nothing missing: no mirror is contacted at all.
    download_mnist(dest, mirrors=["http://127.0.0.1:1/"], progress=False)


def test_download_with_wrong_checksum_leaves_nothing(tmp_path, mirror):
    base, good, checksums, _ = mirror
    dest = tmp_path / "dest"
    bad = dict(checksums)
    bad[MNIST_FILES["test_images"]] = "0" * 32
    mirrors = [base + "empty/", base + "good/"]
    with pytest.raises(DownloadError) as info:
        download_mnist(dest, mirrors=mirrors, progress=False, timeout=5, checksums=bad)
    message = str(info.value)
    assert MNIST_FILES["test_images"] in message
    assert "404" in message and "MD5" in message
    assert all(m + MNIST_FILES["test_images"] in message for m in mirrors)
    assert MNIST_FILES["test_images"] not in os.listdir(dest)
    assert not [f for f in os.listdir(dest) if f.startswith(".")]  # no partial files


def test_load_mnist_downloads_when_missing(tmp_path, mirror, monkeypatch):
    base, good, checksums, arrays = mirror
    monkeypatch.setattr(mnist, "MNIST_MIRRORS", (base + "good/",))
    monkeypatch.setattr(mnist, "MNIST_CHECKSUMS", checksums)
    data = load_mnist(tmp_path / "new", progress=False)
    np.testing.assert_array_equal(data.test_labels, arrays["test_labels"])


def test_load_mnist_reports_a_failed_download(tmp_path, mirror, monkeypatch):
    base = mirror[0]
    monkeypatch.setattr(mnist, "MNIST_MIRRORS", (base + "empty/",))
    folder = tmp_path / "new"
    with pytest.raises(DataError) as info:
        load_mnist(folder, progress=False)
    assert isinstance(info.value, DownloadError)
    assert str(folder) in str(info.value) and "put the four MNIST files" in str(info.value)


# --------------------------------------------------------------------------- load_mnist

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


def test_mnist_dir_resolution(tmp_path, monkeypatch):
    assert mnist_dir(tmp_path / "x") == tmp_path / "x"
    monkeypatch.setenv("CHAINER_VAE_DATA", str(tmp_path / "root"))
    assert mnist_dir() == tmp_path / "root" / "mnist"
    monkeypatch.delenv("CHAINER_VAE_DATA")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert mnist_dir() == tmp_path / "home" / ".cache" / "chainer_vae" / "mnist"


def test_load_mnist_uses_the_env_var(tmp_path, monkeypatch):
    arrays = write_fake_mnist(tmp_path / "root" / "mnist")
    monkeypatch.setenv("CHAINER_VAE_DATA", str(tmp_path / "root"))
    data = load_mnist(download=False)
    np.testing.assert_array_equal(data.train_labels, arrays["train_labels"])


# --------------------------------------------------------------------------- ImageDataset

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
