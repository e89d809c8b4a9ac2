"""Atomic file output: readers see the old file or the whole new one, never a part."""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_output(path):
    """Yield a temporary path beside ``path`` (same suffix, so writers that pick a format
    by suffix still work); rename it to ``path`` when the block succeeds, remove it when
    the block fails."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=".", suffix=".part" + path.suffix,
                                         dir=str(path.parent))
    os.close(handle)
    try:
        yield temporary
        os.chmod(temporary, 0o644)  # mkstemp makes the file private
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


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
