"""The four MNIST files: their names and checksums, where they live, and their download.

Where the files live (see :func:`mnist_dir`): an explicit folder, else
``$CHAINER_VAE_DATA/mnist``, else ``~/.cache/chainer_vae/mnist``. Missing files are
fetched from the first mirror that serves them (tqdm for the progress bar).
"""
from __future__ import annotations

import hashlib
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Mapping, Optional, Sequence, Union

from chainer_vae.data.base import data_root
from chainer_vae.errors import ConfigError, DataError, DownloadError
from chainer_vae.files import atomic_binary

PathLike = Union[str, "os.PathLike[str]"]

__all__ = ["MNIST_FILES", "MNIST_CHECKSUMS", "MNIST_MIRRORS", "mnist_dir", "find_file",
           "missing_files", "download_mnist"]

#: The four files: role -> file name.
MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}

#: File name -> MD5 hex digest of the official gzipped file.
MNIST_CHECKSUMS = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}

#: Base URLs tried in order; a file's URL is ``mirror + file name``.
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

_CHUNK = 1 << 16


def mnist_dir(data_dir: Optional[PathLike] = None) -> Path:
    """The folder holding the four MNIST files.

    ``data_dir`` itself if given (the MNIST folder, not the data root); else
    ``$CHAINER_VAE_DATA/mnist`` if that variable is set and non-empty; else
    ``~/.cache/chainer_vae/mnist``. The folder need not exist.
    """
    if data_dir is not None:
        return Path(data_dir).expanduser()
    if data_root() is not None:
        return data_root() / "mnist"
    return Path.home() / ".cache" / "chainer_vae" / "mnist"


def find_file(folder: Path, name: str) -> Optional[Path]:
    """``folder/name``, or its gunzipped twin (name without ``.gz``); None if neither."""
    for candidate in (folder / name, folder / name[:-3] if name.endswith(".gz") else None):
        if candidate is not None and candidate.is_file():
            return candidate
    return None


def missing_files(folder: Path) -> list:
    """The names of the four files that :func:`find_file` does not find in ``folder``."""
    return [name for name in MNIST_FILES.values() if find_file(folder, name) is None]


def _fetch(url: str, target: Path, md5: Optional[str], progress: bool, timeout: float) -> None:
    """Stream ``url`` into a temp file beside ``target``, check its MD5, rename it.

    Raises an exception (any kind) on failure; the temp file is always removed then.
    """
    from tqdm.auto import tqdm

    digest = hashlib.md5()
    with atomic_binary(target) as f:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024,
                      desc=target.name, file=sys.stderr, disable=not progress,
                      leave=False) as bar:
                while True:
                    chunk = response.read(_CHUNK)
                    if not chunk:
                        break
                    f.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
        if total is not None and f.tell() != total:
            raise OSError("got {} bytes, server announced {}".format(f.tell(), total))
        if md5 is not None and digest.hexdigest() != md5.lower():
            raise ValueError("MD5 mismatch: got {}, expected {}".format(
                digest.hexdigest(), md5.lower()))


def _describe(error: BaseException) -> str:
    if isinstance(error, urllib.error.HTTPError):
        return "HTTP {} {}".format(error.code, error.reason)
    if isinstance(error, urllib.error.URLError):
        return "{}".format(error.reason)
    return "{}: {}".format(type(error).__name__, error) if str(error) else type(error).__name__


def download_mnist(data_dir: Optional[PathLike] = None,
                   mirrors: Optional[Sequence[str]] = None,
                   progress: bool = True,
                   timeout: float = 30,
                   checksums: Optional[Mapping[str, Optional[str]]] = None) -> Path:
    """Download whichever of the four MNIST files are missing.

    Each missing file is tried on each mirror in order, streamed to a temp file in the
    target folder (with a tqdm progress bar on stderr unless ``progress`` is False),
    checked against its MD5 and renamed into place; a failed attempt leaves nothing
    behind. Files already present (gzipped or not) are left untouched and not checked.

    Args:
        data_dir: the MNIST folder (see :func:`mnist_dir`); created if absent.
        mirrors: base URLs, each ending the path before the file name; default
            :data:`MNIST_MIRRORS`. ``file://`` URLs work too.
        progress: show a progress bar per file.
        timeout: seconds to wait on connect and on each read.
        checksums: file name -> MD5 hex digest; default :data:`MNIST_CHECKSUMS`. A file
            whose entry is missing or None is not checked.

    Returns:
        The MNIST folder.

    Raises:
        DownloadError: every mirror failed for some file; the message names the file
            and lists each mirror tried with its error.
        DataError: the folder cannot be created.
    """
    folder = mnist_dir(data_dir)
    if isinstance(mirrors, str):  # one base URL
        mirrors = [mirrors] if mirrors else []
    mirrors = list(MNIST_MIRRORS if mirrors is None else mirrors)
    if not mirrors:
        raise ConfigError("download_mnist: mirrors must be a non-empty list of base URLs")
    checksums = MNIST_CHECKSUMS if checksums is None else checksums
    missing = missing_files(folder)
    if not missing:
        return folder
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError("{}: cannot create the MNIST folder: {}"
                        .format(folder, e.strerror or e)) from None
    for name in missing:
        failures = []
        for mirror in mirrors:
            url = mirror.rstrip("/") + "/" + name
            try:
                _fetch(url, folder / name, checksums.get(name), progress, timeout)
                break
            except Exception as e:  # any network, HTTP, disk or checksum failure
                failures.append("{} ({})".format(url, _describe(e)))
        else:
            raise DownloadError("{}: download failed from every mirror tried: {}".format(
                folder / name, "; ".join(failures)))
    return folder
