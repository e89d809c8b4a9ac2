"""A Chainer dataset of grey-level images with optional binarization.

Images are held once as float32 (N, D) pixel ink in [0, 1] (D = side * side, 784 for
MNIST) and served one at a time (``get_example``) or as a whole batch (``get_batch``,
and ``dataset[indices]``, which draws a batch at once) in one of three layouts:

* ``"flat"``:  (D,)           e.g. (784,)
* ``"image"``: (1, side, side) e.g. (1, 28, 28), channels first for convolutions
* ``"rows"``:  (side, side)    e.g. (28, 28), one row per time step for recurrent models

and one of these binarizations:

* ``"none"``: the grey levels themselves.
* ``"threshold"``: 1.0 where the grey level is >= 0.5, else 0.0.
* ``"dynamic"``: a fresh Bernoulli(grey level) draw on every access, from the *global*
  ``np.random`` generator, so a training run that saves and restores
  ``np.random.get_state()`` in its snapshots resumes with the identical draws.
* ``"fixed"``: one Bernoulli draw per pixel made at construction from
  ``np.random.RandomState(seed)`` (see :func:`binarize_once`), for a test set that should
  stay the same across epochs and runs.
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np

import chainer

from chainer_vae.errors import ConfigError, DataError, choice

__all__ = ["ImageDataset", "binarize_once", "image_layout", "BINARIZE_MODES", "SHAPES"]

BINARIZE_MODES = ("none", "threshold", "dynamic", "fixed")
SHAPES = ("flat", "image", "rows")


def _as_flat_images(images) -> np.ndarray:
    """Images as float32 C-contiguous (N, D) in [0, 1]; uint8 input is divided by 255.

    Accepts (N, D) with D a square number, (N, side, side) or (N, 1, side, side).
    """
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[1] == 1:
        images = images.reshape(images.shape[0], images.shape[2], images.shape[3])
    if images.ndim == 3:
        if images.shape[1] != images.shape[2]:
            raise DataError("images must be square, got shape {}".format(images.shape))
        images = images.reshape(images.shape[0], -1)
    if images.ndim != 2:
        raise DataError("images must have shape (N, D), (N, side, side) or "
                        "(N, 1, side, side), got {}".format(images.shape))
    side = int(round(images.shape[1] ** 0.5))
    if side * side != images.shape[1] or side == 0:
        raise DataError("images of {} pixels are not square (D must be side**2)"
                        .format(images.shape[1]))
    if images.dtype == np.uint8:
        return images.astype(np.float32) / np.float32(255.0)
    if images.dtype.kind not in "fiub":
        raise DataError("images must be numeric, got dtype {}".format(images.dtype))
    images = np.ascontiguousarray(images, dtype=np.float32)
    if images.size:
        lo, hi = float(images.min()), float(images.max())
        if not (0.0 <= lo and hi <= 1.0):  # also catches NaN
            raise DataError("image pixels must lie in [0, 1], found range [{}, {}]"
                            .format(lo, hi))
    return images


def binarize_once(images, seed: int = 0) -> np.ndarray:
    """One fixed Bernoulli binarization of grey-level images.

    Args:
        images: float array of any shape, pixel ink in [0, 1].
        seed: seeds the ``np.random.RandomState`` the draws come from (the global
            ``np.random`` state is neither used nor changed).

    Returns:
        float32 array of the same shape, each pixel 1.0 with probability its grey level,
        else 0.0. The same images and seed always give the same result.
    """
    images = np.asarray(images, dtype=np.float32)
    u = np.random.RandomState(seed).random_sample(images.shape)
    return (u < images).astype(np.float32)


class ImageDataset(chainer.dataset.DatasetMixin):
    """Grey-level images served flat, as 1-channel images or as rows, binarized or not.

    Args:
        images: float (N, D), (N, side, side) or (N, 1, side, side) with pixel ink in
            [0, 1], or uint8 0..255 (divided by 255). D must be a square (784 for MNIST).
        labels: optional (N,) labels, kept as int32 in ``.labels``; not returned by
            ``get_example``.
        binarize: ``"none"``, ``"threshold"``, ``"dynamic"`` or ``"fixed"`` (see the
            module docstring).
        shape: ``"flat"`` (D,), ``"image"`` (1, side, side) or ``"rows"`` (side, side).
        seed: seeds the one-off draw of ``binarize="fixed"``; unused otherwise
            (``"dynamic"`` draws from the global ``np.random`` on purpose).

    Attributes:
        images: float32 (N, D) grey levels in [0, 1] (the input, not binarized).
        labels: int32 (N,) or None.
        binarize, shape: the modes given.
        side: image side in pixels (28 for MNIST).
        example_shape: shape of one example, e.g. (784,), (1, 28, 28) or (28, 28).

    Raises:
        ConfigError: unknown ``binarize`` or ``shape``.
        DataError: images of the wrong shape, dtype or range, or labels whose length
            differs from the number of images.
    """

    def __init__(self, images, labels=None, binarize: str = "none", shape: str = "flat",
                 seed: int = 0):
        choice(BINARIZE_MODES, binarize, "binarize mode")
        choice(SHAPES, shape, "example shape")
        self.images = _as_flat_images(images)
        if labels is not None:
            labels = np.asarray(labels)
            if labels.ndim != 1 or len(labels) != len(self.images):
                raise DataError("labels of shape {} do not match {} images".format(
                    labels.shape, len(self.images)))
            labels = labels.astype(np.int32, copy=False)
        self.labels: Optional[np.ndarray] = labels
        self.binarize = binarize
        self.shape = shape
        self.seed = seed
        self.side = int(round(self.images.shape[1] ** 0.5))
        self.example_shape = {"flat": (self.side * self.side,),
                              "image": (1, self.side, self.side),
                              "rows": (self.side, self.side)}[shape]
        # "fixed" is drawn once here; the others are applied on access.
        self._source = binarize_once(self.images, seed) if binarize == "fixed" else self.images

    def __len__(self) -> int:
        return len(self.images)

    def _transform(self, x: np.ndarray) -> np.ndarray:
        """Binarize grey levels ``x`` (..., D) per the mode; always a new float32 array."""
        if self.binarize == "threshold":
            return (x >= 0.5).astype(np.float32)
        if self.binarize == "dynamic":
            return (np.random.random_sample(x.shape) < x).astype(np.float32)
        return x.copy()  # "none", "fixed": a copy, so callers cannot corrupt the data

    def get_example(self, i) -> np.ndarray:
        """Example ``i``: float32 of shape ``example_shape``, values in [0, 1]."""
        return self._transform(self._source[i]).reshape(self.example_shape)

    def get_batch(self, indices) -> np.ndarray:
        """Examples ``indices`` (ints, array or slice) at once: float32 (B,) + example_shape.

        Under ``"dynamic"`` this draws exactly the random numbers that calling
        ``get_example`` on each index in turn would, in the same order.
        """
        if isinstance(indices, slice):
            indices = np.arange(len(self))[indices]
        indices = np.asarray(indices)
        if indices.dtype == np.bool_:
            indices = np.flatnonzero(indices)
        x = self._source[indices.astype(np.intp, copy=False).reshape(-1)]
        return self._transform(x).reshape((len(x),) + self.example_shape)

    def __getitem__(self, index):
        """One example for an int; a list of examples for a slice, list or array.

        Lists are what Chainer iterators expect; they are drawn as one vectorised batch.
        """
        if isinstance(index, (slice, list, np.ndarray)):
            return list(self.get_batch(index))
        return self.get_example(index)

    def __repr__(self) -> str:
        return "ImageDataset({} images, binarize={!r}, shape={!r}, example_shape={})".format(
            len(self), self.binarize, self.shape, self.example_shape)


def image_layout(shape):
    """(H, W) of an example shape drawn as an image: (784,) -> (28, 28), (1, 28, 28) ->
    (28, 28), (T, F) -> (T, F); a non-square flat vector becomes one row."""
    shape = tuple(shape)
    if len(shape) == 1:
        side = math.isqrt(shape[0])
        return (side, side) if side * side == shape[0] else (1, shape[0])
    if len(shape) == 3 and shape[0] == 1:
        return shape[1:]
    if len(shape) == 2:
        return shape
    raise ConfigError("cannot draw examples of shape {} as images".format(shape))
