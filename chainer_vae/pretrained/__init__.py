"""Models this project trained, shipped in the package: ``pretrained:NAME`` names one
wherever a command takes a run folder (``sample``, ``plot``, ``evaluate``, ``report``,
``probe``, ``train --init-from``).

Each is a run folder under this package, ``NAME/``: ``config.json``, ``model.npz``
(float16 parameters, read back into the model's float32) and ``card.json``: what it
models, its data and their terms of use, the one command that trained it and the figures
measured on the shipped weights. ``chainer_vae.pretrained.build`` (``make pretrained``)
trains, packs and measures them.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from chainer_vae.errors import ConfigError, DamagedFile

PREFIX = "pretrained:"
ROOT = Path(__file__).parent
CARD_FILE = "card.json"


@dataclass
class Card:
    """What ``chainer-vae pretrained`` tells of a shipped model."""

    name: str
    description: str
    data: str
    terms: str
    command: str
    figures: dict
    training_minutes: float
    path: Path

    @property
    def size(self) -> int:
        """Bytes of its files."""
        return sum(path.stat().st_size for path in self.path.iterdir() if path.is_file())


def names() -> list:
    """The shipped models' names, sorted."""
    return sorted(path.name for path in ROOT.iterdir() if (path / CARD_FILE).is_file())


def is_pretrained(text) -> bool:
    """Whether ``text`` names a shipped model (``pretrained:NAME``) rather than a folder."""
    return str(text).startswith(PREFIX)


def model_folder(name) -> Path:
    """The run folder of shipped model ``name``; a ``ConfigError`` listing the known ones."""
    if name not in names():
        raise ConfigError("{}{}: no such pretrained model; known: {}".format(
            PREFIX, name, ", ".join(PREFIX + known for known in names()) or "none"))
    return ROOT / name


def run_folder(text) -> Path:
    """The run folder ``text`` names: ``pretrained:NAME``'s, or the path itself."""
    return model_folder(str(text)[len(PREFIX):]) if is_pretrained(text) else Path(text)


def card(name) -> Card:
    """The card of shipped model ``name``; a ``DamagedFile`` naming a broken card."""
    path = model_folder(name) / CARD_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return Card(name=name, description=raw["description"], data=raw["data"],
                    terms=raw["terms"], command=raw["command"], figures=dict(raw["figures"]),
                    training_minutes=float(raw["training_minutes"]), path=path.parent)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise DamagedFile("{}: not a model card ({})".format(path, error)) from None


__all__ = ["CARD_FILE", "Card", "PREFIX", "card", "is_pretrained", "model_folder", "names",
           "run_folder"]
