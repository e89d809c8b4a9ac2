"""Files below a folder, found without recursion: bounded in depth, safe from symlink loops.

``pathlib``'s ``rglob`` recurses once per level, so a folder some thousand levels deep ends
in ``RecursionError``, and it follows no symlinked folder at all. :func:`files_below` walks
with a stack of its own, follows symlinked folders once each (a link back to a folder
already walked is skipped with one warning line), and stops descending at ``max_depth``
levels with one warning line naming where.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Callable, Optional

MAX_DEPTH = 64
"""Folder levels below the root walked by default; real collections need a handful."""


def warn_on_stderr(message: str) -> None:
    print(f"warning: {' '.join(message.split())}", file=sys.stderr)


def files_below(root, suffixes: Optional[tuple] = None, max_depth: int = MAX_DEPTH,
                warn: Callable[[str], None] = warn_on_stderr) -> list:
    """Sorted paths of the files below ``root`` (at any depth up to ``max_depth``) whose
    name ends in one of ``suffixes`` (any case; None: every file)."""
    root = Path(root)
    found, seen = [], set()
    stack = [(root, 0)]
    deep = loops = 0
    while stack:
        folder, depth = stack.pop()
        try:
            key = (folder.stat().st_dev, folder.stat().st_ino)
            entries = list(os.scandir(folder))
        except OSError:
            continue  # unreadable (permissions, vanished): nothing found there
        if key in seen:
            loops += 1
            if loops == 1:
                warn(f"{shown_name(folder)}: a symlink to a folder already walked, skipped")
            continue
        seen.add(key)
        for entry in entries:
            try:
                is_dir = entry.is_dir()
            except OSError:
                continue
            if is_dir:
                if depth + 1 > max_depth:
                    deep += 1
                    if deep == 1:
                        warn(f"{shown_name(folder)}: folders more than {max_depth} levels below "
                             f"{shown_name(root)} are not walked")
                    continue
                stack.append((Path(entry.path), depth + 1))
            elif suffixes is None or entry.name.lower().endswith(tuple(suffixes)):
                try:
                    if entry.is_file():
                        found.append(Path(entry.path))
                except OSError:
                    continue
    return sorted(found)


def shown_name(path) -> str:
    """A path (or any text) as text that any terminal, page or picture can show: bytes of
    a file name that are no UTF-8 replaced by U+FFFD."""
    return os.fsencode(os.fspath(path)).decode("utf-8", "replace")


def tolerant_output() -> None:
    """Let stdout and stderr show any file name: bytes that are no text in the terminal's
    encoding (a name that is no UTF-8) print as replacement characters, never a crash."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
