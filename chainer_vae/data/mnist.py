"""MNIST handwritten digits: IDX file reading and writing, download, and loading.

The four official files (LeCun, Cortes and Burges) hold 60000 training and 10000 test
images of 28 x 28 grey pixels (uint8, 0 = white background, 255 = full ink) with their
digit labels 0-9, in the big-endian IDX format, gzipped.

Where the files live (see :func:`mnist_dir`): an explicit folder, else
``$CHAINER_VAE_DATA/mnist``, else ``~/.cache/chainer_vae/mnist``.

Only NumPy and the standard library are used (tqdm for the download progress bar).
"""
from __future__ import annotations

import dataclasses
import gzip
import hashlib
import os
import struct
import sys
import urllib.error
import urllib.request
import zlib
from pathlib import Path
from collections.abc import Iterable
from typing import Mapping, Optional, Sequence, Union

import numpy as np

from chainer_vae.data.base import ENV_VAR, Data, data_root, limited
from chainer_vae.data.images import ImageDataset
from chainer_vae.errors import ConfigError, DataError, DownloadError
from chainer_vae.files import atomic_binary

PathLike = Union[str, "os.PathLike[str]"]

__all__ = [
    "IDX_DTYPES", "MNIST_FILES", "MNIST_CHECKSUMS", "MNIST_MIRRORS", "ENV_VAR",
    "MnistData", "read_idx", "write_idx", "mnist_dir", "download_mnist", "load_mnist",
    "load_data",
]


#: IDX type code (third magic byte) -> big-endian NumPy dtype, per the IDX specification.
IDX_DTYPES = {
    0x08: np.dtype(">u1"),  # unsigned byte
    0x09: np.dtype(">i1"),  # signed byte
    0x0B: np.dtype(">i2"),  # short
    0x0C: np.dtype(">i4"),  # int
    0x0D: np.dtype(">f4"),  # float
    0x0E: np.dtype(">f8"),  # double
}
_CODE_OF_KIND = {(dt.kind, dt.itemsize): code for code, dt in IDX_DTYPES.items()}

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

IMAGE_SIDE = 28
IMAGE_PIXELS = IMAGE_SIDE * IMAGE_SIDE
N_CLASSES = 10

_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 16


# --------------------------------------------------------------------------- IDX files

def _read_bytes(path: Path) -> bytes:
    """The file's payload, gunzipped when it starts with the gzip magic bytes 1f 8b."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise DataError("{}: file not found".format(path)) from None
    except IsADirectoryError:
        raise DataError("{}: is a folder, not an IDX file".format(path)) from None
    except OSError as e:
        raise DataError("{}: cannot read: {}".format(path, e.strerror or e)) from None
    if raw[:2] != _GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:
        raise DataError("{}: corrupt gzip data ({})".format(path, e)) from None


def read_idx(path: PathLike) -> np.ndarray:
    """Read an IDX file into an array.

    Args:
        path: the file, raw or gzipped (recognised by its first two bytes, 1f 8b, not by
            its name).

    Returns:
        An array of the shape given by the header's dimensions and the dtype given by
        its type code (uint8, int8, int16, int32, float32 or float64), in native byte
        order. For MNIST: images uint8 (N, 28, 28) with 0..255 ink, labels uint8 (N,).

    Raises:
        DataError: the file is missing or unreadable, the gzip stream is corrupt, the
            magic number is wrong (not two zero bytes, an unknown type code, or zero
            dimensions), or the payload is shorter or longer than the dimensions say.
            The message names the file.
    """
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4:
        raise DataError("{}: too short for an IDX header ({} bytes, need at least 4)"
                        .format(path, len(data)))
    zero0, zero1, code, ndim = data[0], data[1], data[2], data[3]
    if zero0 != 0 or zero1 != 0:
        raise DataError("{}: bad IDX magic number {} (must start with two zero bytes)"
                        .format(path, data[:4].hex()))
    if code not in IDX_DTYPES:
        raise DataError("{}: bad IDX magic number {}: unknown type code 0x{:02X} (known: {})"
                        .format(path, data[:4].hex(), code,
                                ", ".join("0x{:02X}".format(c) for c in IDX_DTYPES)))
    if ndim == 0:
        raise DataError("{}: bad IDX magic number {}: zero dimensions"
                        .format(path, data[:4].hex()))
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError("{}: truncated IDX header: {} dimensions need {} bytes, file has {}"
                        .format(path, ndim, header, len(data)))
    shape = struct.unpack(">{}I".format(ndim), data[4:header])
    dtype = IDX_DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    got = len(data) - header
    if got < expected:
        raise DataError("{}: truncated: dimensions {} of {} need {} data bytes, found {}"
                        .format(path, "x".join(map(str, shape)), dtype.name, expected, got))
    if got > expected:
        raise DataError("{}: {} trailing bytes after the {} data bytes that dimensions {} "
                        "of {} need".format(path, got - expected, expected,
                                            "x".join(map(str, shape)), dtype.name))
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="))  # native order, writable copy


def write_idx(path: PathLike, array) -> Path:
    """Write an array as an IDX file, atomically (temp file in the same folder, renamed).

    Args:
        path: target file; gzipped when its name ends in ``.gz``, raw otherwise.
        array: 1 to 255 dimensions, each below 2**32, of dtype uint8, int8, int16, int32,
            float32 or float64 (stored big-endian, as the IDX format requires).

    Returns:
        The path written.

    Raises:
        DataError: the dtype or shape cannot be stored in IDX, or the file cannot be
            written.
    """
    path = Path(path)
    array = np.asarray(array)
    code = _CODE_OF_KIND.get((array.dtype.kind, array.dtype.itemsize))
    if code is None:
        raise DataError("{}: cannot write dtype {} to IDX (supported: {})".format(
            path, array.dtype, ", ".join(dt.newbyteorder("=").name
                                         for dt in IDX_DTYPES.values())))
    if not 1 <= array.ndim <= 255:
        raise DataError("{}: IDX needs 1 to 255 dimensions, got {}".format(path, array.ndim))
    if any(d >= 2 ** 32 for d in array.shape):
        raise DataError("{}: IDX dimensions must be below 2**32, got {}"
                        .format(path, array.shape))
    payload = (bytes([0, 0, code, array.ndim])
               + struct.pack(">{}I".format(array.ndim), *array.shape)
               + np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).tobytes())

    def write(f):
        if path.name.endswith(".gz"):
            # mtime=0 and no file name: the same array always gives the same bytes.
            with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0) as gz:
                gz.write(payload)
        else:
            f.write(payload)

    try:
        with atomic_binary(path) as stream:
            write(stream)
    except OSError as e:
        raise DataError("{}: cannot write: {}".format(path, e.strerror or e)) from None
    return path


# --------------------------------------------------------------------------- location

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


def _find_file(folder: Path, name: str) -> Optional[Path]:
    """``folder/name``, or its gunzipped twin (name without ``.gz``); None if neither."""
    for candidate in (folder / name, folder / name[:-3] if name.endswith(".gz") else None):
        if candidate is not None and candidate.is_file():
            return candidate
    return None


def _missing_files(folder: Path) -> list:
    return [name for name in MNIST_FILES.values() if _find_file(folder, name) is None]


# --------------------------------------------------------------------------- download

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
    missing = _missing_files(folder)
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


# --------------------------------------------------------------------------- loading

@dataclasses.dataclass(frozen=True)
class MnistData:
    """MNIST images and labels, as loaded by :func:`load_mnist`.

    Attributes:
        train_images: float32 (N_train, 784), pixel ink in [0, 1] (value / 255), each
            row a 28 x 28 image in row-major order.
        train_labels: int32 (N_train,), digits 0-9.
        test_images: float32 (N_test, 784), as ``train_images``.
        test_labels: int32 (N_test,).
    """

    train_images: np.ndarray = dataclasses.field(repr=False)
    train_labels: np.ndarray = dataclasses.field(repr=False)
    test_images: np.ndarray = dataclasses.field(repr=False)
    test_labels: np.ndarray = dataclasses.field(repr=False)

    def __repr__(self) -> str:
        return "MnistData(train={} images, test={} images, classes={})".format(
            len(self.train_labels), len(self.test_labels),
            np.unique(np.concatenate([self.train_labels, self.test_labels])).tolist())


def _check_classes(classes) -> Optional[list]:
    if classes is None:
        return None
    if isinstance(classes, (str, bytes)) or not isinstance(classes, Iterable):
        raise ConfigError("classes must be an iterable of digits 0-9, got {!r}".format(classes))
    out = []
    for c in classes:
        if isinstance(c, (bool, np.bool_)) or not isinstance(c, (int, np.integer)) \
                or not 0 <= int(c) < N_CLASSES:
            raise ConfigError("classes: {!r} is not a digit 0-9".format(c))
        out.append(int(c))
    if not out:
        raise ConfigError("classes: empty; give at least one digit 0-9")
    return sorted(set(out))


def _check_per_class(name: str, value) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) \
            or value < 1:
        raise ConfigError("{} must be a positive integer or None, got {!r}".format(name, value))
    return int(value)


def _load_split(folder: Path, images_key: str, labels_key: str):
    paths = {}
    for key in (images_key, labels_key):
        path = _find_file(folder, MNIST_FILES[key])
        if path is None:  # vanished since the check
            raise DataError("{}: file not found".format(folder / MNIST_FILES[key]))
        paths[key] = path
    images = read_idx(paths[images_key])
    labels = read_idx(paths[labels_key])
    if images.dtype != np.uint8 or images.ndim != 3 \
            or images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise DataError("{}: expected uint8 images of shape (N, 28, 28), got {} {}".format(
            paths[images_key], images.dtype, images.shape))
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise DataError("{}: expected uint8 labels of shape (N,), got {} {}".format(
            paths[labels_key], labels.dtype, labels.shape))
    if len(images) != len(labels):
        raise DataError("{} holds {} images but {} holds {} labels".format(
            paths[images_key], len(images), paths[labels_key], len(labels)))
    if labels.size and labels.max() >= N_CLASSES:
        raise DataError("{}: label {} is not a digit 0-9".format(
            paths[labels_key], int(labels.max())))
    return images, labels


def _subset(labels: np.ndarray, classes: Optional[list], per_class: Optional[int],
            seed: int, split: str) -> np.ndarray:
    """Indices (sorted ascending) kept by the class filter and per-class sampling."""
    if classes is None and per_class is None:
        return np.arange(len(labels))
    wanted = list(range(N_CLASSES)) if classes is None else classes
    if per_class is None:
        return np.flatnonzero(np.isin(labels, wanted))
    rng = np.random.RandomState(seed)
    chosen = []
    for c in wanted:
        idx = np.flatnonzero(labels == c)
        if len(idx) < per_class:
            raise ConfigError("{}_per_class={}: the {} set has only {} images of digit {}"
                              .format(split, per_class, split, len(idx), c))
        chosen.append(rng.choice(idx, size=per_class, replace=False))
    return np.sort(np.concatenate(chosen))


def load_mnist(data_dir: Optional[PathLike] = None,
               download: bool = True,
               classes: Optional[Iterable[int]] = None,
               train_per_class: Optional[int] = None,
               test_per_class: Optional[int] = None,
               seed: int = 0,
               progress: bool = True) -> MnistData:
    """Load MNIST as float arrays, optionally a class subset and a per-class sample.

    Args:
        data_dir: the MNIST folder (see :func:`mnist_dir` for the default). Each file may
            be gzipped (official name) or already gunzipped (name without ``.gz``).
        download: fetch missing files with :func:`download_mnist`.
        classes: digits to keep (e.g. ``[0, 1]``); None keeps all ten.
        train_per_class: keep exactly this many training images of each kept digit
            (the study used 1600); None keeps all.
        test_per_class: the same for the test set (the study used 400).
        seed: seeds the ``np.random.RandomState`` that picks the per-class samples (one
            fresh generator per split, so the training sample does not depend on
            ``test_per_class``). Picked images keep their original file order.
        progress: show download progress bars.

    Returns:
        :class:`MnistData`: images float32 (N, 784) in [0, 1], labels int32 (N,).

    Raises:
        DataError: files missing (with ``download=False``) or malformed, or image and
            label counts differ; DownloadError (a DataError) if the download fails.
            Messages name the folder or file and say how to get the data.
        ConfigError: a class outside 0-9, a non-positive count, or more images per class
            asked for than the split has.
    """
    classes = _check_classes(classes)
    train_per_class = _check_per_class("train_per_class", train_per_class)
    test_per_class = _check_per_class("test_per_class", test_per_class)
    folder = mnist_dir(data_dir)
    how = ("put the four MNIST files ({}) in {}, set {} to a folder whose mnist/ "
           "subfolder holds them, or load with download enabled"
           .format(", ".join(MNIST_FILES.values()), folder, ENV_VAR))
    missing = _missing_files(folder)
    if missing:
        if not download:
            raise DataError("{}: MNIST files missing ({}); {}".format(
                folder, ", ".join(missing), how))
        try:
            download_mnist(folder, progress=progress)
        except DownloadError as e:
            raise DownloadError("{}: could not download MNIST: {}. To get the data "
                                "without a download, {}".format(folder, e, how)) from None

    arrays = {}
    for split, per_class in (("train", train_per_class), ("test", test_per_class)):
        images, labels = _load_split(folder, split + "_images", split + "_labels")
        keep = _subset(labels, classes, per_class, seed, split)
        arrays[split + "_images"] = (
            images[keep].reshape(len(keep), IMAGE_PIXELS).astype(np.float32)
            / np.float32(255.0))
        arrays[split + "_labels"] = labels[keep].astype(np.int32)
    return MnistData(**arrays)


# How each encoder reads an image.
IMAGE_LAYOUTS = {"mlp": "flat", "conv": "image", "lstm": "rows"}


def held_out(count, fraction):
    """How many of ``count`` examples a validation ``fraction`` holds out: 0 for 0, else
    at least one and at most ``count - 1``."""
    if not fraction:
        return 0
    return min(max(1, int(round(fraction * count))), count - 1)


def load_data(config, encoder="mlp", progress=True) -> Data:
    """MNIST as a ``DataConfig`` describes it, laid out for ``encoder`` (flat for mlp,
    1-channel images for conv, rows for lstm). With ``valid_fraction`` the last part of
    the training digits (in file order) is held out for validation. A ``data_dir`` given
    must exist; without one the files are found or downloaded as ``load_mnist`` does."""
    layout = IMAGE_LAYOUTS.get(encoder, "flat")
    if config.data_dir is not None and not Path(config.data_dir).expanduser().is_dir():
        # a folder the user named: a typo must not start a download into a new folder
        raise DataError("{}: no such folder (--data-dir names the folder that holds the four "
                        "MNIST files; leave it out to download them)".format(config.data_dir))
    mnist = load_mnist(config.data_dir, classes=config.classes,
                       train_per_class=config.train_per_class,
                       test_per_class=config.test_per_class, progress=progress)
    train_images, train_labels = mnist.train_images, mnist.train_labels
    valid_count = held_out(len(train_images), config.valid_fraction)
    keep = len(train_images) - valid_count
    splits = {"train": limited(train_images[:keep], train_labels[:keep], config.limit),
              "valid": limited(train_images[keep:], train_labels[keep:], config.limit),
              "test": limited(mnist.test_images, mnist.test_labels, config.limit)}
    # Dynamic binarization resamples the training set on every pass; held-out digits are
    # drawn once so that every evaluation scores the same binary images.
    held_out_mode = "fixed" if config.binarize == "dynamic" else config.binarize
    sets = {name: ImageDataset(images, labels, shape=layout,
                               binarize=config.binarize if name == "train" else held_out_mode)
            for name, (images, labels) in splits.items() if len(images) or name != "valid"}
    valid = sets.get("valid")
    return Data(sets["train"], sets["test"], sets["train"].example_shape,
                sets["train"].labels, sets["test"].labels, [str(digit) for digit in range(10)],
                {"dataset": "mnist", "train": len(sets["train"]), "test": len(sets["test"]),
                 "valid": len(valid) if valid is not None else 0},
                valid=valid, valid_labels=valid.labels if valid is not None else None)
