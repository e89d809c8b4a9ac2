"""Sampling: pure functions from a trained VAE (and data) to samples; no files.

Every function takes a model on any Chainer device, moves its inputs there (``model.device``)
and returns NumPy arrays on the CPU, ready to plot or write. Random draws come from a
``numpy.random.RandomState`` made from ``seed`` (or passed in as ``seed``), never from the
global NumPy generator, so generating in the middle of a training run does not change it.

Shapes: an example is an array of the model's input shape, e.g. (784,), (1, 28, 28) or
(28, 28) for MNIST and (T, 2P) note-state windows for MIDI; a batch has a leading axis.

Labels: a conditional model (``model.labels`` > 0) encodes and decodes with the labels of
its examples, which every function here takes as ``labels``: one int for all, int labels
(N,), or label weights (N, C) (one-hot rows, or mixtures along an interpolation); see
``labels_for``. A model without labels ignores them.
"""
from __future__ import annotations

import math

import chainer
import numpy

from chainer_vae.data.images import image_layout
from chainer_vae.errors import ConfigError, choice

_CPU = chainer.backend.CpuDevice()
INTERPOLATIONS = ("linear", "slerp")
OCCLUDED_PARTS = ("top", "bottom", "left", "right")


# ---------------------------------------------------------------------------- helpers

def to_numpy(array):
    """Any Chainer array or variable as a NumPy array on the CPU."""
    return numpy.asarray(_CPU.send(chainer.as_array(array)))


def random_state(seed=None):
    """A ``RandomState``: ``seed`` itself when it is one, else a new one seeded by it
    (from the operating system's entropy when None). Never the global generator."""
    if isinstance(seed, numpy.random.RandomState):
        return seed
    return numpy.random.RandomState(seed)


def _send(model, x):
    return model.device.send(numpy.ascontiguousarray(x, dtype=numpy.float32)
                             if isinstance(x, numpy.ndarray) else x)


def labels_for(model, labels, n):
    """The labels of n examples as the model reads them: None for a model without labels;
    for a conditional model with C labels, int32 (n,) (an int gives all n that label) or
    float32 weights (n, C). A ``ConfigError`` for a conditional model without labels, or
    labels out of [0, C) or of the wrong count."""
    if not model.labels:
        return None
    if labels is None:
        raise ConfigError("the model was trained with --conditional: it needs a label for "
                          "every example (one of its {} labels)".format(model.labels))
    labels = numpy.asarray(to_numpy(labels))
    if labels.ndim == 0:
        labels = numpy.full(n, labels)
    if labels.ndim == 2 and labels.shape == (n, model.labels):
        return labels.astype(numpy.float32)
    if labels.shape != (n,) or labels.dtype.kind not in "iu":
        raise ConfigError("expected {} int labels or label weights ({}, {}), got an array "
                          "of shape {} ({})".format(n, n, model.labels, labels.shape,
                                                    labels.dtype))
    if n and (labels.min() < 0 or labels.max() >= model.labels):
        raise ConfigError("labels must be in [0, {}), got {}".format(
            model.labels, labels.min() if labels.min() < 0 else labels.max()))
    return labels.astype(numpy.int32)


def label_path(model, labels, steps):
    """Label weights (steps, C) moving linearly from one label to another (``labels``, a
    pair of ints), along an interpolation; None for a model without labels or no pair."""
    if labels is None or not model.labels:
        return None
    ends = numpy.eye(model.labels, dtype=numpy.float64)[labels_for(model, list(labels), 2)]
    t = numpy.linspace(0.0, 1.0, steps)[:, None]
    return ((1 - t) * ends[0] + t * ends[1]).astype(numpy.float32)


def _part(model, labels, start, stop):
    """The labels of examples start..stop on the model's device (None passes through)."""
    return None if labels is None else model.device.send(
        numpy.ascontiguousarray(labels[start:stop]))


def _batch(model, x):
    """``x`` as a batch: a single example (the model's input shape) gains a leading axis."""
    x = numpy.asarray(to_numpy(x), dtype=numpy.float32)
    shape = tuple(model.decoder.output_shape)
    if x.shape == shape:
        return x[None]
    if x.shape[1:] != shape:
        raise ConfigError("expected examples of shape {}, got an array of shape {}".format(
            shape, x.shape))
    return x


def encode(model, x, batch_size=500, labels=None):
    """The means of q(z|x, y) for a batch ``x`` (or one example) and its labels:
    (N, latent) float32."""
    x = _batch(model, x)
    labels = labels_for(model, labels, len(x))
    parts = [to_numpy(model.encode(_send(model, x[i:i + batch_size]),
                                   _part(model, labels, i, i + batch_size)))
             for i in range(0, len(x), batch_size)]
    if not parts:
        return numpy.zeros((0, model.latent), numpy.float32)
    return numpy.concatenate(parts).astype(numpy.float32, copy=False)


def decode(model, z, batch_size=500, labels=None, sample=None, temperature=1.0):
    """The means of p(x|z, y) (probabilities for a Bernoulli likelihood) of latent points
    z (N, latent) and their labels: (N, *input_shape). With ``sample`` (a seed or a
    ``RandomState``), binary data drawn from p(x|z, y) instead: an autoregressive
    decoder reads back its own draws, so they are samples of the model, which
    thresholding the means of a greedy (rounded) decoding is not. A ``temperature``
    other than 1 divides the decoder's Bernoulli logits (MusicVAE's sampling control)."""
    z = numpy.asarray(to_numpy(z), dtype=numpy.float32).reshape(-1, model.latent)
    labels = labels_for(model, labels, len(z))
    draws = False if sample is None else random_state(sample)
    parts = [to_numpy(model.decode(_send(model, z[i:i + batch_size]), sample=draws,
                                   y=_part(model, labels, i, i + batch_size),
                                   temperature=temperature))
             for i in range(0, len(z), batch_size)]
    if not parts:
        return numpy.zeros((0,) + tuple(model.decoder.output_shape), numpy.float32)
    return numpy.concatenate(parts)


def binarize(probabilities, threshold=None, sample=False, seed=None):
    """Probabilities as they are, thresholded (value > threshold), or Bernoulli draws
    (with ``sample``, from ``random_state(seed)``); binary results are float32 0/1."""
    p = numpy.asarray(probabilities)
    if sample:
        rng = random_state(seed)
        return (rng.uniform(size=p.shape) < p).astype(numpy.float32)
    if threshold is not None:
        return (p > threshold).astype(numpy.float32)
    return p


# ---------------------------------------------------------------------------- sampling

def prior_latents(model, n, scale=1.0, seed=None):
    """n draws z ~ N(0, scale^2 I): (n, latent) float32."""
    if n < 0 or scale < 0:
        raise ConfigError("the number of samples and the prior's scale must not be negative")
    rng = random_state(seed)
    z = rng.standard_normal((n, model.latent)) * scale
    return z.astype(numpy.float32)


def prior_samples(model, n, scale=1.0, sample=False, threshold=None, seed=None,
                  labels=None, temperature=1.0):
    """n examples decoded from z ~ N(0, scale^2 I) (and, for a conditional model,
    ``labels``), shape (n, *input_shape).

    Returns the decoder's means (probabilities for Bernoulli data), or binary values: the
    means above ``threshold`` (the MIDI study used 0.2) or, with ``sample``, data drawn
    from p(x|z) (``decode``), the logits divided by ``temperature``. One
    ``RandomState(seed)`` supplies z and then the draws.
    """
    if sample and not getattr(model.decoder.likelihood, "binary", True):
        raise ConfigError("Bernoulli sampling needs a model with a Bernoulli likelihood; "
                          "use a threshold or the means")
    labels = labels_for(model, labels, n)
    rng = random_state(seed)
    z = prior_latents(model, n, scale, rng)
    if sample:
        return decode(model, z, labels=labels, sample=rng, temperature=temperature)
    return binarize(decode(model, z, labels=labels, temperature=temperature), threshold)


def reconstruct(model, x, batch_size=500, labels=None, decode_labels=None):
    """decode(encode(x)): the means of p(x|z, y) at the means of q(z|x, y), (N,
    *input_shape); a conditional model encodes with ``labels`` (those of x) and decodes
    with ``decode_labels`` when given (x's style with another label), else ``labels``."""
    z = encode(model, x, batch_size, labels)
    return decode(model, z, batch_size, labels if decode_labels is None else decode_labels)


# ---------------------------------------------------------------------------- latent paths

def interpolate_latents(z_a, z_b, steps, method="linear"):
    """``steps`` points from z_a to z_b (both included): (steps, latent) float32.

    ``linear``: (1 - t) z_a + t z_b. ``slerp``: along the great circle (White, 2016),
    sin((1 - t) w) / sin w z_a + sin(t w) / sin w z_b with w the angle between them,
    which keeps the norm typical of Gaussian samples; linear when they are (anti)parallel.
    """
    choice(INTERPOLATIONS, method, "interpolation")
    if steps < 2:
        raise ConfigError("an interpolation needs at least 2 steps, got {}".format(steps))
    z_a = numpy.asarray(to_numpy(z_a), numpy.float64).reshape(-1)
    z_b = numpy.asarray(to_numpy(z_b), numpy.float64).reshape(-1)
    if z_a.shape != z_b.shape:
        raise ConfigError("the two latent vectors differ in size: {} and {}".format(
            z_a.shape, z_b.shape))
    t = numpy.linspace(0.0, 1.0, steps)[:, None]
    if method == "linear":
        path = (1 - t) * z_a + t * z_b
    else:  # slerp
        norms = numpy.linalg.norm(z_a) * numpy.linalg.norm(z_b)
        cos = numpy.clip(z_a @ z_b / norms, -1.0, 1.0) if norms > 0 else 1.0
        omega = math.acos(cos)
        if math.sin(omega) < 1e-6:
            path = (1 - t) * z_a + t * z_b
        else:
            path = ((numpy.sin((1 - t) * omega) * z_a + numpy.sin(t * omega) * z_b)
                    / math.sin(omega))
    path = path.astype(numpy.float32)
    path[0], path[-1] = z_a, z_b  # exact endpoints
    return path


def vary_latents(z, n, distance, seed=None):
    """``n`` points at Euclidean ``distance`` from the latent point ``z``, each in a
    direction drawn uniformly on the unit sphere: (n, latent) float32. With the prior
    N(0, I), a distance of 1 is one standard deviation along the direction."""
    if distance < 0:
        raise ConfigError("a variation's distance is at least 0, got {}".format(distance))
    z = numpy.asarray(to_numpy(z), numpy.float64).reshape(-1)
    directions = random_state(seed).standard_normal((n, z.size))
    directions /= numpy.maximum(numpy.linalg.norm(directions, axis=1, keepdims=True), 1e-12)
    return (z + distance * directions).astype(numpy.float32)


def interpolate(model, x_a, x_b, steps, method="linear", labels=None, path_labels=None,
                sample=None, temperature=1.0):
    """Walk the latent space between the encodings (means of q(z|x, y)) of two examples.

    Returns ``(z_path, decoded)``: (steps, latent) and (steps, *input_shape); the first
    and last rows decode exactly like ``model.decode(model.encode(x_a))`` and x_b. A
    conditional model encodes the ends with their ``labels`` (a pair) and decodes the
    path with ``path_labels`` (one label for every step, or labels for each), by default
    label weights moving from one end's label to the other's (``label_path``); with
    ``sample`` (a seed or ``RandomState``) the path's data are drawn (``decode``, at
    ``temperature``).
    """
    x = numpy.concatenate([_batch(model, x_a), _batch(model, x_b)])
    if len(x) != 2:
        raise ConfigError("interpolate takes one example at each end")
    z = encode(model, x, labels=None if labels is None else list(labels))
    path = interpolate_latents(z[0], z[1], steps, method)
    if path_labels is None:
        path_labels = label_path(model, labels, steps)
    return path, decode(model, path, labels=path_labels, sample=sample,
                        temperature=temperature)


def class_mean_latents(model, x, labels):
    """{label: mean of the encodings (means of q(z|x, y)) of the examples with that
    label}, ordered by label."""
    labels = numpy.asarray(labels).reshape(-1)
    x = _batch(model, x)
    if len(x) != len(labels):
        raise ConfigError("{} examples but {} labels".format(len(x), len(labels)))
    z = encode(model, x, labels=labels)
    return {label.item(): z[labels == label].mean(axis=0) for label in numpy.unique(labels)}


def latent_grid(n_per_side, span=0.95):
    """A square grid of 2-D latent points through the inverse Gaussian CDF (Kingma and
    Welling's manifold figure): probabilities evenly spaced over [1 - span, span] on each
    axis, mapped by ``scipy.stats.norm.ppf``. Shape (n * n, 2), row-major as an image:
    row i, column j holds (z1 = ppf(p_j), z2 = ppf(p_{n-1-i})), so z2 grows upwards.
    """
    from scipy.stats import norm

    if n_per_side < 1 or not 0.5 < span < 1:
        raise ConfigError("a latent grid needs n >= 1 and 0.5 < span < 1")
    probabilities = (numpy.array([0.5]) if n_per_side == 1
                     else numpy.linspace(1 - span, span, n_per_side))
    values = norm.ppf(probabilities)
    z1, z2 = numpy.meshgrid(values, values[::-1])
    return numpy.stack([z1.ravel(), z2.ravel()], axis=1).astype(numpy.float32)


# ---------------------------------------------------------------------------- completion

def occlusion_mask(shape, part="bottom", fraction=0.5):
    """A boolean mask of an example shape, True where pixels are observed and False on
    the hidden ``part`` (top, bottom, left, right) covering ``fraction`` of the image."""
    choice(OCCLUDED_PARTS, part, "occluded part")
    height, width = image_layout(shape)
    mask = numpy.ones((height, width), bool)
    rows, cols = int(round(height * fraction)), int(round(width * fraction))
    if part == "bottom":
        mask[height - rows:] = False
    elif part == "top":
        mask[:rows] = False
    elif part == "left":
        mask[:, :cols] = False
    else:  # right
        mask[:, width - cols:] = False
    return mask.reshape(shape)


def complete_occluded(model, x, mask, iterations=20, fill=0.0, return_history=False,
                      labels=None):
    """Fill in the missing part of examples: keep the observed pixels (``mask`` True,
    one mask for all or one per example) and replace the missing ones by the model's
    reconstruction, ``iterations`` times (each pass encodes the current guess; a
    conditional model with the examples' ``labels``).

    Returns the completed batch (observed pixels exactly as in ``x``), and with
    ``return_history`` also the guesses after every pass, (iterations + 1, N, ...).
    """
    x = _batch(model, x)
    mask = numpy.broadcast_to(numpy.asarray(mask, bool), x.shape)
    current = numpy.where(mask, x, numpy.float32(fill)).astype(numpy.float32)
    history = [current]
    for _ in range(iterations):
        current = numpy.where(mask, x, reconstruct(model, current, labels=labels)).astype(
            numpy.float32)
        history.append(current)
    return (current, numpy.stack(history)) if return_history else current
