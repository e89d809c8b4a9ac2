"""What ``chainer-vae plot`` writes for a finished run (``sample``: ``outputs.sample``)."""
from __future__ import annotations

from pathlib import Path

import numpy

from chainer_vae.data import examples_array
from chainer_vae.errors import RunDirError
from chainer_vae.files import make_folder
from chainer_vae.inference import sampling
from chainer_vae.inference.music import music_options
from chainer_vae.outputs import figures, plots
from chainer_vae.outputs.gifs import write_latent_gifs
from chainer_vae.outputs.sample import draws_samples
from chainer_vae.runs import LATENTS_FILE, LOG_FILE, load_run, read_latents


def plot_run(run_dir, out_dir=None, data=None, device=None, limit=1000, seed=0, sample=None):
    """Draw every figure that fits a finished run into ``out_dir`` (default
    ``run_dir/figures``); returns the paths written.

    MNIST (images): prior samples (for a conditional model a grid of samples per label),
    latent scatter, losses, reconstructions, completion, interpolation between two
    classes' mean encodings, the manifold when the latent space is 2-D (and the model
    reads no labels), and the scatter/grid GIFs when the run recorded ``latents.npz``.
    Music: losses, piano rolls of a real test window, its reconstruction and samples
    from the prior (one per label for a conditional model; on above 0.2, the study's
    threshold; with ``sample``, by default for models that ``draws_samples``, drawn from
    p(x|z)), and the scatter of the pieces. A conditional model reads the test examples'
    labels. ``data`` replaces the run's own data set (loaded from its config otherwise).
    """
    run_dir = Path(run_dir)
    run = load_run(run_dir, device=device, data=data)
    if sample is None:
        sample = draws_samples(run.config.model)
    # read before any figure is written: a damaged file stops the command, not half of it
    latents = read_latents(run_dir) if (run_dir / LATENTS_FILE).is_file() else None
    config, model, data = run.config, run.model, run.data
    out = Path(out_dir) if out_dir is not None else run_dir / "figures"
    make_folder(out)
    x = examples_array(data.test, limit)
    labels = None if data.test_labels is None else numpy.asarray(data.test_labels)[:len(x)]
    names = data.label_names or None
    paths = []
    if (run_dir / LOG_FILE).is_file():
        try:
            paths.append(plots.plot_losses(run_dir / LOG_FILE, out / "losses.png"))
        except RunDirError:
            pass  # a log without epochs yet
    if len(x) and labels is not None:
        paths.append(figures.plot_latent_scatter(model, x, labels, out / "latent_scatter.png",
                                                 names))
    music = music_options(config.data)
    if music is not None:
        rolls = dict(low=music["low"], steps_per_beat=music["steps_per_beat"],
                     note_state=music["note_state"])
        if len(x):
            recon = sampling.reconstruct(model, x[:1],
                                         labels=None if labels is None else labels[:1])[0]
            paths.append(plots.plot_piano_rolls(
                [x[0], recon], out / "piano_roll_test.png",
                ["test window 0", "its reconstruction (probabilities)"], threshold=0.5, **rolls))
        kinds = list(range(model.labels)) if model.labels else None
        samples = sampling.prior_samples(model, model.labels or 3, sample=sample, seed=seed,
                                         labels=kinds)
        kind = "drawn" if sample else "probabilities"
        titles = (["prior sample, {} ({})".format(name, kind)
                   for name in config.model.label_names] if model.labels else
                  ["prior sample {} ({})".format(i, kind) for i in range(len(samples))])
        paths.append(plots.plot_piano_rolls(list(samples), out / "piano_roll_samples.png",
                                            titles, threshold=0.2, **rolls))
        return paths
    if model.labels:
        paths.append(figures.plot_class_samples(model, out / "samples_by_class.png",
                                                config.model.label_names, seed=seed))
    else:
        paths.append(figures.plot_prior_samples(model, out / "prior_samples.png", seed=seed))
    if len(x):
        paths.append(figures.plot_reconstructions(model, x, out / "reconstructions.png",
                                                  labels=labels))
        paths.append(figures.plot_completion(model, x, out / "completion.png", labels=labels))
    if labels is not None and len(numpy.unique(labels)) >= 2:
        paths.append(figures.plot_class_interpolation(model, x, labels,
                                                      out / "interpolation.png",
                                                      label_names=names))
    if model.latent == 2 and not model.labels:
        paths.append(figures.plot_manifold(model, out / "manifold.png"))
    if latents is not None:
        paths += write_latent_gifs(run_dir, out, record=latents)
    return paths
