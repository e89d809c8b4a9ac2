"""Animated GIFs: frames written with Pillow, and the study's GIFs of a run's latent
space over the epochs (``scatter.gif``, ``grid.gif``) from its ``latents.npz``."""
from __future__ import annotations

from pathlib import Path

import numpy

from chainer_vae.errors import ConfigError
from chainer_vae.files import atomic_output, make_folder
from chainer_vae.outputs import plots
from chainer_vae.outputs.images import as_images, tile
from chainer_vae.runs import read_latents

SCATTER_GIF = "scatter.gif"
GRID_GIF = "grid.gif"


def _frame_to_uint8(frame):
    frame = numpy.asarray(frame)
    if frame.dtype != numpy.uint8:
        frame = (numpy.clip(frame.astype(numpy.float64), 0, 1) * 255).round().astype(numpy.uint8)
    if frame.ndim == 3 and frame.shape[2] == 4:
        frame = frame[..., :3]
    if frame.ndim not in (2, 3):
        raise ConfigError("a GIF frame is (H, W) or (H, W, 3), got shape {}".format(frame.shape))
    return frame


def save_gif(frames, path, fps=4, loop=0):
    """Write frames, each (H, W) grey or (H, W, 3) RGB, floats in [0, 1] or uint8, as an
    animated GIF (with Pillow, which matplotlib depends on), atomically; returns the path."""
    from PIL import Image

    frames = [_frame_to_uint8(frame) for frame in frames]
    if not frames:
        raise ConfigError("a GIF needs at least one frame")
    images = [Image.fromarray(frame).convert("RGB") for frame in frames]
    images = [image.quantize(colors=256, method=Image.Quantize.MEDIANCUT) for image in images]
    path = Path(path)
    make_folder(path.parent)
    with atomic_output(path) as temporary:
        images[0].save(temporary, format="GIF", save_all=True, append_images=images[1:],
                       duration=max(20, int(round(1000 / fps))), loop=loop, optimize=False)
    return path


def write_latent_gifs(run_dir, out_dir=None, fps=4, label_names=None, record=None):
    """``scatter.gif`` (the recorded encodings per epoch; PCA for latent > 2, with axis
    limits fixed over the epochs) and, when the grid was recorded, ``grid.gif`` (the 2-D
    manifold per epoch), in ``out_dir`` (default: the run folder), from the run's
    ``latents.npz`` (``record``: its arrays, when read already). Returns the paths."""
    run_dir = Path(run_dir)
    out = Path(out_dir) if out_dir is not None else run_dir
    record = read_latents(run_dir) if record is None else record
    make_folder(out)
    epochs, z, labels = record["epochs"], record["z"], record["labels"]
    if len(epochs) == 0:
        return []
    labels = None if (labels < 0).all() else labels
    projected = [plots.latent_projection(z_epoch) for z_epoch in z]
    everything = numpy.concatenate([points for points, _ in projected])
    limits = plots.scatter_limits(everything)
    frames = []
    for epoch, (points, axis_names) in zip(epochs, projected):
        title = "Test-set encodings, epoch {}{}".format(
            int(epoch), ", PCA" if z.shape[2] > 2 else "")
        fig = plots.render_scatter(points, labels, label_names, axis_names, limits, title,
                                   size=(5, 5))
        frames.append(plots.figure_to_array(fig))
    paths = [save_gif(frames, out / SCATTER_GIF, fps)]
    if "grid" in record:
        grid_z, grid = record["grid_z"], record["grid"]
        side = int(round(len(grid_z) ** 0.5))
        frames = []
        for images in grid:
            tiles = as_images(images.astype(numpy.float32) / 255.0)
            image = tile(tiles, side, pad=0)
            scale = max(1, 400 // max(image.shape))
            frames.append(numpy.kron(image, numpy.ones((scale, scale), numpy.float32)))
        paths.append(save_gif(frames, out / GRID_GIF, fps))
    return paths
