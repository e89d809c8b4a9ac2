"""Measurements behind the study's claims (``chainer_vae.claims`` runs the experiments):
pure functions of arrays, trained models and training logs; no files.

- ``separation``: how well the digit classes separate in a latent space (k-NN accuracy,
  silhouette);
- ``curve_summary``: the KL and reconstruction terms of a training log;
- ``active_units``: latent dimensions the encoder uses (Burda et al., 2016);
- ``principal_angles``, ``pca``, ``covarying_directions``, ``squared_error``: a linear
  VAE against PCA;
- ``sharpness``, ``confidence``: how sharp and how recognisable generated images are;
- ``completion_accuracy``: a classifier on occluded digits and on the model's completions.
"""
from __future__ import annotations

import numpy

from chainer_vae.data.images import image_layout
from chainer_vae.errors import ConfigError
from chainer_vae.inference import sampling


def separation(z, labels, neighbours=10, folds=5, seed=0):
    """How separated the classes ``labels`` (N,) are among encodings ``z`` (N, latent):
    {"knn_accuracy": the ``neighbours``-nearest-neighbour classifier's accuracy in a
    ``folds``-fold cross-validation (chance: the largest class's share), "silhouette": the
    mean silhouette of the classes in [-1, 1] (Euclidean), "spread": the standard
    deviation of z (over examples and dimensions)}."""
    from sklearn.metrics import silhouette_score
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    z, labels = numpy.asarray(z, numpy.float64), numpy.asarray(labels)
    split = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    accuracy = cross_val_score(KNeighborsClassifier(n_neighbors=neighbours), z, labels,
                               cv=split).mean()
    return {"knn_accuracy": float(accuracy), "silhouette": float(silhouette_score(z, labels)),
            "spread": float(z.std())}


def curve_summary(log, prefix="main/"):
    """The KL and reconstruction terms of a training log (a list of per-epoch dicts, as
    ``runs.read_log`` returns; ``prefix`` "main/" for the training batches' averages,
    "validation/main/" for the test split's), in nats per example: the KL at the first
    epoch, at its lowest and its peak (with their epochs) and at the end; the
    reconstruction term at the first and the last epoch and its fall (first - last, and as
    a fraction of the first)."""
    if not log:
        raise ConfigError("an empty training log has no curves")
    kl = [float(entry[prefix + "kl"]) for entry in log]
    reconstr = [float(entry[prefix + "rec_loss"]) for entry in log]
    peak, lowest = int(numpy.argmax(kl)), int(numpy.argmin(kl))
    return {"epochs": len(log), "kl_first": kl[0], "kl_peak": kl[peak],
            "kl_peak_epoch": int(log[peak]["epoch"]), "kl_lowest": kl[lowest],
            "kl_lowest_epoch": int(log[lowest]["epoch"]), "kl_last": kl[-1],
            "reconstr_first": reconstr[0], "reconstr_last": reconstr[-1],
            "reconstr_fall": reconstr[0] - reconstr[-1],
            "reconstr_fall_fraction": (reconstr[0] - reconstr[-1]) / abs(reconstr[0])}


def active_units(model, x, labels=None, threshold=0.01, batch_size=500):
    """The latent dimensions a model uses on examples ``x``: those whose posterior mean
    varies across the examples, Cov_x(E_q[z_i|x]) > ``threshold`` (Burda et al., 2016).
    Returns (the count, the variances (latent,))."""
    z = sampling.encode(model, x, batch_size, labels=labels)
    variances = z.astype(numpy.float64).var(axis=0)
    return int((variances > threshold).sum()), variances


def pca(x, k):
    """The top ``k`` principal directions of the rows of ``x`` (N, D): (the mean (D,),
    the directions (k, D) with orthonormal rows, the variances along all directions,
    largest first (min(N, D),))."""
    x = numpy.asarray(x, numpy.float64).reshape(len(x), -1)
    mean = x.mean(axis=0)
    _, singular, directions = numpy.linalg.svd(x - mean, full_matrices=False)
    return mean, directions[:k], singular ** 2 / max(1, len(x) - 1)


def pca_reconstruction(x, mean, directions):
    """Rows of ``x`` (N, D) projected on the affine subspace ``mean`` + span of
    ``directions`` (k, D, orthonormal rows): (N, D)."""
    x = numpy.asarray(x, numpy.float64).reshape(len(x), -1)
    return mean + (x - mean) @ directions.T @ directions


def principal_angles(a, b):
    """The principal angles between the column spaces of ``a`` (D, k) and ``b`` (D, m), in
    degrees, smallest first (min(k, m) of them): 0 where the spaces share a direction, 90
    where they are orthogonal."""
    qa, _ = numpy.linalg.qr(numpy.asarray(a, numpy.float64))
    qb, _ = numpy.linalg.qr(numpy.asarray(b, numpy.float64))
    cosines = numpy.linalg.svd(qa.T @ qb, compute_uv=False)
    return numpy.degrees(numpy.arccos(numpy.clip(cosines, -1.0, 1.0)))


def covarying_directions(x, z):
    """Cov(x, z) (D, latent) of examples ``x`` (N, D) and their encodings ``z`` (N,
    latent): the directions of the data each latent dimension follows. For a linear
    encoder z = A x it is Sigma A^T, its rows seen through the data's covariance, so
    directions in which the data do not vary (blank borders of the digits), where the
    rows keep what they started with, count for nothing."""
    x = numpy.asarray(x, numpy.float64).reshape(len(x), -1)
    z = numpy.asarray(z, numpy.float64)
    return (x - x.mean(axis=0)).T @ (z - z.mean(axis=0)) / max(1, len(x) - 1)


def squared_error(x, x_hat):
    """The mean over examples of the summed squared error ||x - x_hat||^2 (per example,
    in squared pixel values)."""
    x = numpy.asarray(x, numpy.float64).reshape(len(x), -1)
    x_hat = numpy.asarray(x_hat, numpy.float64).reshape(len(x), -1)
    return float(((x - x_hat) ** 2).sum(axis=1).mean())


def sharpness(images):
    """The mean gradient magnitude of images (N, *shape) with values in [0, 1]: the mean
    over pixels and images of sqrt(dx^2 + dy^2), with dx, dy the differences between
    horizontal and vertical neighbours (per pixel value; a blurred image has less)."""
    images = numpy.asarray(images, numpy.float64)
    height, width = image_layout(images.shape[1:])
    grid = images.reshape(len(images), height, width)
    dx, dy = grid[:, :-1, 1:] - grid[:, :-1, :-1], grid[:, 1:, :-1] - grid[:, :-1, :-1]
    return float(numpy.sqrt(dx ** 2 + dy ** 2).mean())


def confidence(classifier, features):
    """The mean probability a fitted scikit-learn ``classifier`` gives its own choice of
    class, over the rows of ``features``: near 1 for examples it finds clear, near 1 /
    classes for examples that look like none."""
    return float(classifier.predict_proba(features).max(axis=1).mean())


def completion_accuracy(model, classifier, x, labels, part="bottom", fraction=0.5,
                        iterations=20):
    """A classifier of real digits on test digits ``x`` (N, *shape) with ``part`` of
    ``fraction`` of each hidden (zeros there), and on the model's completions of them
    (``sampling.complete_occluded``): {"occluded": its accuracy on what the model sees,
    "completed": on the completions, "intact": on ``x``} against ``labels`` (N,)."""
    x = numpy.asarray(x, numpy.float32)
    mask = sampling.occlusion_mask(x.shape[1:], part, fraction)
    occluded = numpy.where(mask, x, numpy.float32(0))
    completed = sampling.complete_occluded(model, x, mask, iterations)
    flat = len(x), -1
    return {name: float(numpy.mean(classifier.predict(images.reshape(flat)) == labels))
            for name, images in (("occluded", occluded), ("completed", completed),
                                 ("intact", x))}


def label_agreement(model, classifier, n, seed=0):
    """A conditional model's prior samples judged by a classifier of real examples (of
    the model's label indices, features = flat pixels): ``n`` decoder means of z ~ N(0,
    I) for every label; returns (the share the classifier gives the label they were
    drawn with, that share per label (labels,))."""
    if not model.labels:
        raise ConfigError("label agreement needs a conditional model")
    shares = []
    for label in range(model.labels):
        drawn = sampling.prior_samples(model, n, seed=seed + label,
                                       labels=numpy.full(n, label, numpy.int32))
        shares.append(float(numpy.mean(classifier.predict(drawn.reshape(n, -1)) == label)))
    return float(numpy.mean(shares)), numpy.array(shares)
