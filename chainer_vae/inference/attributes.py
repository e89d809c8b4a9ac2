"""Attribute vectors (MusicVAE, Roberts et al. 2018): latent directions that add a quality.

For each attribute of ``midi.attributes`` (note density, mean pitch, pitch range,
polyphony, notes in scale), the vector is the mean posterior (mean of q(z|x)) of the
training windows in the attribute's top quartile minus that of the windows in its bottom
quartile. Moving a latent point by ``amount`` times a vector (``shift``) asks the decoder
for that much more (or, negative, less) of the attribute: amount 1 is the distance between
the two quartiles' centres.

The vectors of a run live in ``RUN/attributes.json`` (``chainer-vae attributes RUN``); the
shipped models carry theirs.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy
from midi.attributes import ATTRIBUTES, attribute_table

from chainer_vae.data import examples_array
from chainer_vae.errors import ConfigError, DamagedFile
from chainer_vae.files import atomic_write_text
from chainer_vae.inference import sampling
from chainer_vae.inference.music import as_rolls, music_options
from chainer_vae.pretrained import run_folder

ATTRIBUTES_FILE = "attributes.json"
QUARTILE = 0.25


@dataclass
class AttributeVectors:
    """One latent direction per attribute, and what it was measured on.

    ``vectors``: {attribute: float32 (latent,)}; ``low`` and ``high``: {attribute: the mean
    attribute value of the bottom and top quartile}; ``windows``: how many training
    windows the vectors come from."""

    vectors: dict
    low: dict
    high: dict
    windows: int

    def to_dict(self):
        return {"version": 1, "windows": self.windows,
                "attributes": {name: {"vector": [float(v) for v in self.vectors[name]],
                                      "low": self.low[name], "high": self.high[name]}
                               for name in self.vectors}}


def attribute_vectors(model, windows, music, batch_size=500):
    """The ``AttributeVectors`` of ``model`` from training windows (N, T, F): each
    attribute's top-quartile mean posterior minus its bottom-quartile one (windows whose
    attribute is undefined, e.g. the mean pitch of an empty window, left out). ``music``:
    ``steps_per_beat``, ``low``, ``note_state`` (``music_options``)."""
    if len(windows) < 4:
        raise ConfigError("attribute vectors need at least 4 training windows, got {}".format(
            len(windows)))
    z = sampling.encode(model, windows, batch_size).astype(numpy.float64)
    table = attribute_table(as_rolls(windows, **music))
    vectors, low, high = {}, {}, {}
    for column, name in enumerate(ATTRIBUTES):
        values = table[:, column]
        known = numpy.isfinite(values)
        order = numpy.argsort(values[known], kind="stable")
        count = max(1, int(len(order) * QUARTILE))
        bottom, top = order[:count], order[-count:]
        latents, values = z[known], values[known]
        vectors[name] = (latents[top].mean(axis=0) - latents[bottom].mean(axis=0)).astype(
            numpy.float32)
        low[name], high[name] = float(values[bottom].mean()), float(values[top].mean())
    return AttributeVectors(vectors, low, high, len(windows))


def compute(run, windows=4000, seed=0):
    """``attribute_vectors`` of a loaded music run (``runs.load_run``) from at most
    ``windows`` of its training windows, drawn at random (``seed``)."""
    music = music_options(run.config.data)
    if music is None:
        raise ConfigError("attribute vectors are musical; this run models {}".format(
            run.config.data.dataset))
    train = run.data.train
    picked = numpy.sort(numpy.random.RandomState(seed).choice(
        len(train), min(windows, len(train)), replace=False))
    return attribute_vectors(run.model, examples_array([train[i] for i in picked]), music)


def save(vectors: AttributeVectors, run_dir) -> Path:
    """Write ``run_dir/attributes.json`` (a temporary file, then renamed); its path."""
    path = run_folder(run_dir) / ATTRIBUTES_FILE
    atomic_write_text(path, json.dumps(vectors.to_dict(), indent=1) + "\n")
    return path


def has_vectors(run_dir) -> bool:
    """Whether a run (a folder or ``pretrained:NAME``) has stored attribute vectors."""
    return (run_folder(run_dir) / ATTRIBUTES_FILE).is_file()


def load(run_dir) -> AttributeVectors:
    """The vectors stored beside a run (a folder or ``pretrained:NAME``); a ``ConfigError``
    saying how to compute them when there are none, a ``DamagedFile`` for a broken file."""
    path = run_folder(run_dir) / ATTRIBUTES_FILE
    if not has_vectors(run_dir):
        raise ConfigError("{} has no attribute vectors; compute them with: chainer-vae "
                          "attributes {}".format(run_dir, run_dir))
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        found = raw["attributes"]
        return AttributeVectors(
            {name: numpy.asarray(entry["vector"], numpy.float32) for name, entry in found.items()},
            {name: float(entry["low"]) for name, entry in found.items()},
            {name: float(entry["high"]) for name, entry in found.items()}, int(raw["windows"]))
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise DamagedFile("{}: not an attributes file ({})".format(path, error)) from None


def attribute_name(text):
    """The attribute ``text`` names: one of ``ATTRIBUTES``, or the one name that contains
    it (``density``: ``note_density``); a ``ConfigError`` listing the known ones."""
    if text in ATTRIBUTES:
        return text
    matches = [name for name in ATTRIBUTES if text and text in name]
    if len(matches) != 1:
        raise ConfigError("unknown attribute {!r}; known: {}".format(text, ", ".join(ATTRIBUTES)))
    return matches[0]


def shift(z, vectors: AttributeVectors, amounts):
    """Latent points z (N, latent) moved by ``amount`` times each attribute's vector
    (``amounts``: {attribute: amount}): float32 (N, latent)."""
    z = numpy.array(z, numpy.float32)
    for name, amount in amounts.items():
        vector = vectors.vectors[attribute_name(name)]
        if vector.shape != z.shape[1:]:
            raise ConfigError("the {} vector has {} dimensions, the model's latent {}".format(
                name, vector.size, z.shape[1]))
        z += numpy.float32(amount) * vector
    return z
