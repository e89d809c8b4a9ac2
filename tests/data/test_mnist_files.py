"""The four MNIST files: where they are looked for, and their download from local mirrors."""
from __future__ import annotations

import contextlib
import functools
import http.server
import os
import threading
from pathlib import Path

import numpy as np
import pytest

import chainer_vae  # noqa: F401  (before chainer)
from chainer_vae.data import mnist_files
from chainer_vae.data.mnist import load_mnist
from chainer_vae.data.mnist_files import MNIST_FILES, download_mnist, mnist_dir
from chainer_vae.errors import DataError, DownloadError
from mnist_factories import md5_of, write_fake_mnist


def test_mnist_dir_resolution(tmp_path, monkeypatch):
    assert mnist_dir(tmp_path / "x") == tmp_path / "x"
    monkeypatch.setenv("CHAINER_VAE_DATA", str(tmp_path / "root"))
    assert mnist_dir() == tmp_path / "root" / "mnist"
    monkeypatch.delenv("CHAINER_VAE_DATA")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert mnist_dir() == tmp_path / "home" / ".cache" / "chainer_vae" / "mnist"


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
    monkeypatch.setattr(mnist_files, "MNIST_MIRRORS", (base + "good/",))
    monkeypatch.setattr(mnist_files, "MNIST_CHECKSUMS", checksums)
    data = load_mnist(tmp_path / "new", progress=False)
    np.testing.assert_array_equal(data.test_labels, arrays["test_labels"])


def test_load_mnist_reports_a_failed_download(tmp_path, mirror, monkeypatch):
    base = mirror[0]
    monkeypatch.setattr(mnist_files, "MNIST_MIRRORS", (base + "empty/",))
    folder = tmp_path / "new"
    with pytest.raises(DataError) as info:
        load_mnist(folder, progress=False)
    assert isinstance(info.value, DownloadError)
    assert str(folder) in str(info.value) and "put the four MNIST files" in str(info.value)
