"""Record the latent space during training, for the study's scatter.gif and grid.gif.

``LatentRecorder`` is a Chainer training extension: every epoch it encodes a fixed subset
of the test set (the means of q(z|x)) and, for a 2-D latent space, decodes a grid of latent
points; it appends both to ``latents.npz`` in the run folder. ``write_latent_gifs``
turns that file into ``scatter.gif`` and ``grid.gif``.

It draws no random numbers at all (means only, no sampling, no shuffling), so a run
with the recorder resumes bit-identically, and it keeps nothing in snapshots: the file
itself is the record, and entries of epochs at or after the current one are replaced,
so a resumed run rewrites the epochs it repeats.
"""
from __future__ import annotations

from pathlib import Path

import numpy
from chainer import training

from chainer_vae import generation as gen
from chainer_vae.files import atomic_output

LATENTS_FILE = "latents.npz"
SCATTER_GIF = "scatter.gif"
GRID_GIF = "grid.gif"


def read_latents(path):
    """The arrays of a ``latents.npz`` (a path to it or to its run folder) as a dict:
    ``epochs`` (E,), ``z`` (E, N, latent), ``labels`` (N,) and, for 2-D runs with a grid,
    ``grid_z`` (n * n, 2) and ``grid`` (E, n * n, *input_shape) as uint8 (0..255)."""
    path = Path(path)
    if path.is_dir():
        path = path / LATENTS_FILE
    with numpy.load(str(path), allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


def _write_npz(path, arrays):
    with atomic_output(path) as temporary:
        with open(temporary, "wb") as stream:
            numpy.savez_compressed(stream, **arrays)


class LatentRecorder(training.Extension):
    """Appends the encodings of ``x`` (and, for latent size 2 with ``grid``, the decoder's
    means on an ``grid_size`` x ``grid_size`` grid through the inverse Gaussian CDF) to
    ``out_dir/latents.npz`` every epoch. ``x`` is an array or a dataset (such as
    ``data.test``); only its first ``limit`` examples are read, once, here.
    """

    trigger = 1, "epoch"
    priority = training.PRIORITY_READER

    def __init__(self, model, x, labels, out_dir, grid=True, grid_size=20, span=0.95,
                 limit=1000, batch_size=500):
        self._model = model
        x = gen.examples_array(x, limit)
        self._x = x
        self._labels = (numpy.full(len(x), -1, numpy.int64) if labels is None
                        else numpy.asarray(labels).reshape(-1)[:len(x)].astype(numpy.int64))
        self._path = Path(out_dir) / LATENTS_FILE
        self._grid = bool(grid)
        self._grid_size = grid_size
        self._span = span
        self._batch_size = batch_size

    @property
    def path(self):
        return self._path

    def record(self, epoch):
        """Encode (and decode the grid) now, and store it as ``epoch``."""
        model = self._model
        z = gen.encode(model, self._x, self._batch_size)
        arrays = {"epochs": numpy.array([epoch], numpy.int64), "z": z[None],
                  "labels": self._labels}
        if self._grid and model.latent == 2:
            grid_z = gen.latent_grid(self._grid_size, self._span)
            decoded = gen.decode(model, grid_z, self._batch_size)
            arrays["grid_z"] = grid_z
            arrays["grid"] = (numpy.clip(decoded, 0, 1) * 255).round().astype(numpy.uint8)[None]
        old = self._previous(arrays)
        if old is not None:
            keep = old["epochs"] < epoch
            for key in ("epochs", "z", "grid"):
                if key in arrays:
                    arrays[key] = numpy.concatenate([old[key][keep], arrays[key]])
        self._path.parent.mkdir(parents=True, exist_ok=True)
        _write_npz(self._path, arrays)
        return self._path

    def _previous(self, new):
        """The file's arrays when they can be extended by ``new``, else None (start over)."""
        if not self._path.is_file():
            return None
        try:
            old = read_latents(self._path)
        except (OSError, ValueError):
            return None
        if any(key not in old for key in new):
            return None
        if old["z"].shape[1:] != new["z"].shape[1:] or not numpy.array_equal(
                old["labels"], new["labels"]):
            return None
        if "grid" in new and (old["grid"].shape[1:] != new["grid"].shape[1:]
                              or not numpy.array_equal(old["grid_z"], new["grid_z"])):
            return None
        return old

    def __call__(self, trainer):
        self.record(int(trainer.updater.epoch))

    def serialize(self, serializer):
        """Nothing to keep: ``latents.npz`` is the record. Defined (empty) so snapshots
        taken with or without the recorder load into trainers with or without it."""


def write_latent_gifs(run_dir, out_dir=None, fps=4, label_names=None):
    """``scatter.gif`` (the recorded encodings per epoch; PCA for latent > 2, with axis
    limits fixed over the epochs) and, when the grid was recorded, ``grid.gif`` (the 2-D
    manifold per epoch), in ``out_dir`` (default: the run folder). Returns the paths."""
    from chainer_vae import plots

    run_dir = Path(run_dir)
    out = Path(out_dir) if out_dir is not None else run_dir
    out.mkdir(parents=True, exist_ok=True)
    record = read_latents(run_dir)
    epochs, z, labels = record["epochs"], record["z"], record["labels"]
    if len(epochs) == 0:
        return []
    labels = None if (labels < 0).all() else labels
    projected = [plots.latent_projection(z_epoch) for z_epoch in z]
    everything = numpy.concatenate([points for points, _ in projected])
    limits = plots._scatter_limits(everything)
    frames = []
    for epoch, (points, axis_names) in zip(epochs, projected):
        title = "Test-set encodings, epoch {}{}".format(
            int(epoch), ", PCA" if z.shape[2] > 2 else "")
        fig = plots.render_scatter(points, labels, label_names, axis_names, limits, title,
                                   size=(5, 5))
        frames.append(plots.figure_to_array(fig))
    paths = [plots.save_gif(frames, out / SCATTER_GIF, fps)]
    if "grid" in record:
        grid_z, grid = record["grid_z"], record["grid"]
        side = int(round(len(grid_z) ** 0.5))
        frames = []
        for images in grid:
            tiles = gen.as_images(images.astype(numpy.float32) / 255.0)
            image = gen.tile(tiles, side, pad=0)
            scale = max(1, 400 // max(image.shape))
            frames.append(numpy.kron(image, numpy.ones((scale, scale), numpy.float32)))
        paths.append(plots.save_gif(frames, out / GRID_GIF, fps))
    return paths


__all__ = ["LATENTS_FILE", "LatentRecorder", "read_latents", "write_latent_gifs"]
