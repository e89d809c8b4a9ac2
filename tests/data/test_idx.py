"""The IDX format: round trips, the bytes the spec asks for, and every malformed file."""
from __future__ import annotations

import gzip
import os

import numpy as np
import pytest

from chainer_vae.data.idx import read_idx, write_idx
from chainer_vae.errors import DataError


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
