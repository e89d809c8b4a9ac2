"""Examples drawn as images: tiles of a batch, and grey PNG grids of them."""
from __future__ import annotations

import math
from pathlib import Path

import numpy

from chainer_vae.data.images import image_layout
from chainer_vae.files import atomic_output, make_folder, require_finite
from chainer_vae.inference.sampling import to_numpy


def as_images(x, shape=None):
    """A batch (N, *shape) as (N, H, W) images (see ``data.images.image_layout``)."""
    x = numpy.asarray(to_numpy(x))
    shape = tuple(shape) if shape is not None else x.shape[1:]
    return x.reshape((len(x),) + image_layout(shape))


def tile(images, ncols=None, pad=1, pad_value=1.0):
    """(N, H, W) images, or (N, H, W, C) colour ones, tiled into one array of
    (rows * (H + pad) - pad, cols * (W + pad) - pad[, C]), row by row, ``ncols`` per row
    (about square by default), separated by ``pad`` pixels of ``pad_value``."""
    images = numpy.asarray(images, dtype=numpy.float32)
    count, height, width = images.shape[:3]
    ncols = max(1, ncols or math.ceil(math.sqrt(count)))
    nrows = max(1, math.ceil(count / ncols))
    out = numpy.full((nrows * (height + pad) - pad, ncols * (width + pad) - pad)
                     + images.shape[3:], pad_value, numpy.float32)
    for index, image in enumerate(images):
        r, c = divmod(index, ncols)
        out[r * (height + pad):r * (height + pad) + height,
            c * (width + pad):c * (width + pad) + width] = image
    return out


def write_image_grid(images, path, ncols=None, shape=None, scale=4, invert=False):
    """Write a batch of examples (N, *shape) as one grey PNG grid (values in [0, 1],
    white = 1, or black = 1 with ``invert``), each pixel ``scale`` x ``scale``.
    Returns the path."""
    from matplotlib import image as mpimage

    grid = tile(as_images(require_finite(images, path), shape), ncols, pad=1, pad_value=0.5)
    grid = numpy.clip(grid, 0.0, 1.0)
    if invert:
        grid = 1.0 - grid
    if scale > 1:
        grid = numpy.kron(grid, numpy.ones((scale, scale), numpy.float32))
    path = Path(path)
    make_folder(path.parent)
    with atomic_output(path) as temporary:
        mpimage.imsave(temporary, grid, cmap="gray", vmin=0.0, vmax=1.0, format="png")
    return path
