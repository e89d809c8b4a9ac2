"""Shared pytest fixtures."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The data root: ``$CHAINER_VAE_DATA`` if set, else ``<repo>/../shared/data``.

    Tests that need a data set skip themselves when its subfolder (e.g. ``mnist``) is absent.
    """
    return Path(os.environ.get("CHAINER_VAE_DATA") or REPO.parent / "shared" / "data")
