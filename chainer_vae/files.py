"""Files the project writes: atomic output (readers see the old file or the whole new
one, never a part) and the one reader of its ``.npz`` array files."""
from __future__ import annotations

import contextlib
import os
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy

from chainer_vae.errors import DamagedFile, NotFinite, path_error


@contextlib.contextmanager
def user_path(path, verb="write"):
    """A block that uses ``path``, a path the user chose: an ``OSError`` in it becomes a
    ``PathError`` naming ``path`` (``errors.path_error``)."""
    try:
        yield
    except OSError as error:
        raise path_error(error, path, verb) from None


def make_folder(path):
    """Create folder ``path`` and its parents unless they exist; a ``PathError`` naming
    it when it cannot be (a file in the way, no permission)."""
    with user_path(path, "create"):
        Path(path).mkdir(parents=True, exist_ok=True)


@contextlib.contextmanager
def atomic_output(path):
    """Yield a temporary path beside ``path`` (same suffix, so writers that pick a format
    by suffix still work); rename it to ``path`` when the block succeeds, remove it when
    the block fails (an ``OSError`` of the operating system becomes a ``PathError``, which
    names ``path`` when the error names no file)."""
    path = Path(path)
    with user_path(path):
        handle, temporary = tempfile.mkstemp(prefix=".", suffix=".part" + path.suffix,
                                             dir=str(path.parent))
    os.close(handle)
    try:
        yield temporary
        os.chmod(temporary, 0o644)  # mkstemp makes the file private
        os.replace(temporary, path)
    except BaseException as error:
        if os.path.exists(temporary):
            os.unlink(temporary)
        if isinstance(error, OSError) and error.errno is not None:  # a full disk, say
            raise path_error(error, path) from None
        raise  # not the file's: a download's HTTP error, say


@contextlib.contextmanager
def atomic_binary(path):
    """``atomic_output`` opened for writing bytes: yields the stream, synced before renaming."""
    with atomic_output(path) as temporary, open(temporary, "wb") as stream:
        yield stream
        stream.flush()
        os.fsync(stream.fileno())


def atomic_write_text(path, text):
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_binary(path) as stream:
        stream.write(text.encode("utf-8"))


def require_finite(array, path):
    """``array`` as it is when every value is finite, else a ``NotFinite`` naming the file
    ``path`` it was to be written to: the last check before a write, so that no NaN ever
    reaches a MIDI, PNG or array file."""
    values = numpy.asarray(array)
    if values.dtype.kind in "fc" and not numpy.isfinite(values).all():
        raise NotFinite("{}: not written: {} of its {} values are not finite (NaN or "
                        "infinity): the model's output overflowed".format(
                            path, int((~numpy.isfinite(values)).sum()), values.size))
    return array


def write_arrays(path, arrays):
    """Write ``arrays`` (a dict of name -> array) to ``path`` as a compressed ``.npz``,
    atomically, once each is checked finite (``require_finite``); returns the path."""
    for array in arrays.values():
        require_finite(array, path)
    with atomic_binary(path) as stream:
        numpy.savez_compressed(stream, **arrays)
    return Path(path)


def read_arrays(path, what="array file"):
    """Every array of an ``.npz`` file the project wrote (weights, snapshots, latents),
    read whole, as a dict; a ``DamagedFile`` naming the file when it is missing, empty,
    truncated or not an ``.npz`` archive of plain arrays."""
    path = Path(path)
    if not path.is_file():
        raise DamagedFile("{}: no such {}".format(path, what))
    try:
        loaded = numpy.load(str(path), allow_pickle=False)
        if not isinstance(loaded, numpy.lib.npyio.NpzFile):
            raise ValueError("a single array, not an .npz archive")
        with loaded as archive:
            return {key: archive[key] for key in archive.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as error:
        reason = "not an .npz archive of arrays" if "pickle" in str(error) else str(error)
        raise DamagedFile("{}: a damaged {} ({})".format(
            path, what, " ".join(reason.split()) or type(error).__name__)) from None
