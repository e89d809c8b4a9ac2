"""The IDX file format (LeCun et al.), in which MNIST ships: reading and writing arrays.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of
dimensions), one big-endian uint32 per dimension, then the values, big-endian, in
row-major order. Files may be gzipped; a reader recognises that by the gzip magic bytes.
"""
from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path
from typing import Union

import numpy as np

from chainer_vae.errors import DataError
from chainer_vae.files import atomic_binary

PathLike = Union[str, "os.PathLike[str]"]

__all__ = ["IDX_DTYPES", "read_idx", "write_idx"]

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

_GZIP_MAGIC = b"\x1f\x8b"


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
