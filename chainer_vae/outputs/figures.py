"""A model's figures: each function computes the arrays of one figure of ``outputs.plots``
through ``chainer_vae.inference.sampling`` (prior samples, encodings, reconstructions,
completions, latent paths, the manifold's grid decoded) and draws them there.

The functions carry the names of the ``plots`` functions they feed and take a model where
those take arrays; every draw comes from its ``seed``, so a figure is the same each time.
"""
from __future__ import annotations

import numpy

from chainer_vae.errors import ConfigError
from chainer_vae.inference import sampling
from chainer_vae.outputs import plots

METHODS = ("linear", "slerp")


def plot_prior_samples(model, path, n=100, scale=1.0, seed=0, ncols=10, title=None):
    """Fig. 2: ``n`` examples decoded (the means of p(x|z)) from z ~ N(0, scale^2 I)."""
    samples = sampling.prior_samples(model, n, scale, seed=seed)
    if title is None:
        title = "Decoded prior samples (latent {}, z ~ N(0, {:g}² I))".format(model.latent, scale)
    return plots.plot_prior_samples(samples, path, ncols, title)


def plot_class_samples(model, path, label_names, per_class=10, scale=1.0, seed=0,
                       title=None):
    """Samples of a conditional model: the same ``per_class`` draws of z ~ N(0, scale^2 I)
    decoded with every label, one row per label."""
    z = sampling.prior_latents(model, per_class, scale, seed)
    labels = numpy.repeat(numpy.arange(model.labels), per_class)
    samples = sampling.decode(model, numpy.tile(z, (model.labels, 1)), labels=labels)
    return plots.plot_class_samples(samples.reshape((model.labels, per_class)
                                                    + samples.shape[1:]),
                                    path, label_names, title)


def plot_latent_scatter(model, x, labels, path, label_names=None, title=None):
    """Fig. 3: the means of q(z|x) (q(z|x, y) for a conditional model) of examples ``x``
    coloured by ``labels``."""
    z = sampling.encode(model, x, labels=labels)
    return plots.plot_latent_scatter(z, labels, path, label_names, title)


def plot_manifold(model, path, n=20, span=0.95, title=None):
    """The learned 2-D manifold: the decoder's means on ``sampling.latent_grid(n, span)``,
    an n x n grid of latent points through the inverse Gaussian CDF."""
    if model.latent != 2:
        raise ConfigError("the latent manifold needs a 2-D latent space; this model has {} "
                          "dimensions".format(model.latent))
    grid = sampling.latent_grid(n, span)
    return plots.plot_manifold(sampling.decode(model, grid), grid, path, title)


def plot_samples_by_latent_size(models_by_size, path, n=25, scale=1.0, seed=0, title=None):
    """``n`` prior samples of each of several models side by side, e.g. {2: m2, 10: m10},
    each from the same ``seed``."""
    if not models_by_size:
        raise ConfigError("plot_samples_by_latent_size needs at least one model")
    samples = {size: sampling.prior_samples(model, n, scale, seed=seed)
               for size, model in models_by_size.items()}
    return plots.plot_samples_by_latent_size(samples, path, title)


def plot_interpolation(model, a, b, path, steps=10, methods=METHODS, encoded=False,
                       names=("A", "B"), title=None, labels=None):
    """Decodings along latent paths from ``a`` to ``b``, one row per method. ``a`` and
    ``b`` are examples (encoded to their means of q(z|x), and drawn at the ends), or
    latent vectors with ``encoded``. A conditional model reads the ends' ``labels`` (a
    pair), their weights moving along the path (``sampling.label_path``)."""
    rows = {}
    for method in methods:
        if encoded:
            z_path = sampling.interpolate_latents(a, b, steps, method)
            rows[method] = sampling.decode(model, z_path,
                                           labels=sampling.label_path(model, labels, steps))
        else:
            rows[method] = sampling.interpolate(model, a, b, steps, method, labels=labels)[1]
    return plots.plot_interpolation(rows, path, None if encoded else (a, b), names, title)


def plot_class_interpolation(model, x, labels, path, classes=None, steps=10, methods=METHODS,
                             label_names=None):
    """Interpolation between the mean encodings of two ``classes`` (by default the first
    two) of examples ``x`` with ``labels``."""
    means = sampling.class_mean_latents(model, x, labels)
    if classes is None:
        if len(means) < 2:
            raise ConfigError("class interpolation needs examples of two classes")
        classes = list(means)[:2]
    missing = [c for c in classes if c not in means]
    if missing:
        raise ConfigError("no examples of class {}".format(missing[0]))

    def name(c):
        return label_names[int(c)] if label_names is not None and int(c) < len(label_names) \
            else str(c)

    a, b = (means[c] for c in classes)
    return plot_interpolation(model, a, b, path, steps, methods, encoded=True,
                              names=(name(classes[0]), name(classes[1])),
                              title="Between the mean encodings of {} and {}".format(
                                  name(classes[0]), name(classes[1])), labels=classes)


def plot_reconstructions(model, x, path, n=10, title=None, labels=None):
    """The first ``n`` examples of ``x`` and their reconstructions (with their
    ``labels`` for a conditional model)."""
    x = numpy.asarray(x)[:n]
    recon = sampling.reconstruct(model, x, labels=None if labels is None else labels[:n])
    return plots.plot_reconstructions(x, recon, path, title)


def plot_completion(model, x, path, n=8, part="bottom", fraction=0.5, iterations=20,
                    title=None, labels=None):
    """The first ``n`` examples of ``x`` with their ``part`` (``fraction`` of the image)
    hidden, completed by ``sampling.complete_occluded`` in ``iterations`` passes (a
    conditional model knows the examples' ``labels``)."""
    x = numpy.asarray(x)[:n]
    mask = sampling.occlusion_mask(x.shape[1:], part, fraction)
    completed = sampling.complete_occluded(model, x, mask, iterations,
                                           labels=None if labels is None else labels[:n])
    return plots.plot_completion(x, mask, completed, path, title or (
        "Data, {} {:.0%} hidden (blue), completed ({} passes)".format(part, fraction, iterations)))
