"""What ``chainer-vae sample`` and ``chainer-vae plot`` write for a finished run."""
from __future__ import annotations

from pathlib import Path

import numpy

from chainer_vae.data import examples_array
from chainer_vae.errors import ConfigError, RunDirError
from chainer_vae.inference import sampling
from chainer_vae.model import at_length
from chainer_vae.outputs import plots
from chainer_vae.outputs.gifs import write_latent_gifs
from chainer_vae.outputs.images import write_image_grid
from chainer_vae.outputs.midi_files import write_midi_samples
from chainer_vae.resources import check_fits
from chainer_vae.runs import LATENTS_FILE, LOG_FILE, load_run, read_latents


MAX_GRID = 10000  # samples in one PNG grid
EXAMPLE_COPIES = 16  # arrays of a sample's size decoding one holds (an estimate)
CHUNK = 256  # samples drawn and written at a time


def music_options(data_config):
    """How a run's examples are written as music: ``steps_per_beat``, ``low`` (MIDI pitch
    of the first column) and ``note_state`` (True for (T, 2P) note states, False for
    (T, 88) play-only rolls of the polyphonic benchmarks); None for images."""
    if data_config.dataset == "mnist":
        return None
    return dict(steps_per_beat=data_config.steps_per_beat, low=data_config.low,
                note_state=data_config.dataset == "midi")


def _test_example(data, index):
    count = len(data.test)
    if not -count <= index < count:
        raise ConfigError("test example {} does not exist (the test set has {})".format(
            index, count))
    return numpy.asarray(data.test[index % count], dtype=numpy.float32)


def sample_run(run_dir, out_dir, n=16, temperature=1.0, sample=False, threshold=None,
               from_test=None, interpolate_between=None, steps=8, methods=("linear", "slerp"),
               seed=None, data=None, device=None, length=None):
    """What ``chainer-vae sample`` writes, for a finished run; returns the written paths.

    MNIST: ``samples.png`` (n digits from the prior), or with ``from_test=I``
    ``reconstruction_I.png`` (the test digit, then its reconstruction), or with
    ``interpolate_between=(A, B)`` ``interpolation_<method>.png`` per method.
    Music (MIDI folders and the polyphonic benchmarks): ``sample_<i>.mid`` (+ .png), or
    ``test_I.mid`` and ``reconstruction_I.mid``, or ``<method>_<step>.mid`` per step. The
    MIDI threshold defaults to 0.2 (the study's); MNIST images show the probabilities
    unless a threshold or ``sample`` is asked for.
    ``length`` (time steps) makes prior samples of a model with LSTM parts that long
    instead of the training window's length.
    """
    run = load_run(run_dir, device=device, data=data)
    config, model, data = run.config, run.model, run.data
    if length is not None:
        if from_test is not None or interpolate_between is not None:
            raise ConfigError("--length applies to samples from the prior only")
        model = at_length(model, config.model, length)
    example = int(numpy.prod(model.decoder.output_shape))
    check_fits(4 * EXAMPLE_COPIES * max(min(n, CHUNK), steps) * example,
               "{:,} samples of {:,} values".format(max(min(n, CHUNK), steps), example),
               "ask for fewer or shorter samples")
    out_dir = Path(out_dir)  # made by the writers, once there is something to write
    music = music_options(config.data)
    is_music = music is not None
    if is_music and threshold is None:
        threshold = 0.2
    rng = sampling.random_state(seed)
    midi_options = dict(music or {}, threshold=0.5 if sample else threshold)

    def finish(arrays):
        if sample or not is_music:
            return sampling.binarize(arrays, threshold, sample, rng)
        return arrays

    if from_test is not None:
        x = _test_example(data, from_test)
        recon = finish(sampling.reconstruct(model, x))
        if is_music:
            return (write_midi_samples([x], out_dir, prefix="test_{}".format(from_test),
                                       **dict(midi_options, threshold=0.5))
                    + write_midi_samples(recon, out_dir, prefix="reconstruction_{}".format(
                        from_test), **midi_options))
        return [write_image_grid(numpy.stack([x, recon[0]]),
                                 out_dir / "reconstruction_{}.png".format(from_test), ncols=2)]
    if interpolate_between is not None:
        index_a, index_b = interpolate_between
        x_a, x_b = _test_example(data, index_a), _test_example(data, index_b)
        paths = []
        for method in methods:
            _, decoded = sampling.interpolate(model, x_a, x_b, steps, method)
            decoded = finish(decoded)
            if is_music:
                paths += write_midi_samples(decoded, out_dir, prefix=method, **midi_options)
            else:
                paths.append(write_image_grid(numpy.concatenate([x_a[None], decoded, x_b[None]]),
                                              out_dir / "interpolation_{}.png".format(method),
                                              ncols=steps + 2))
        return paths
    if not is_music:
        if n > MAX_GRID:
            raise ConfigError("one image grid holds at most {:,} samples, not {:,}".format(
                MAX_GRID, n))
        samples = sampling.prior_samples(model, n, temperature, sample=False, seed=rng)
        return [write_image_grid(finish(samples), out_dir / "samples.png")]
    paths = []
    for first in range(0, n, CHUNK):  # memory for CHUNK samples at a time, whatever n is
        count = min(CHUNK, n - first)
        samples = finish(sampling.prior_samples(model, count, temperature, seed=rng))
        paths += write_midi_samples(samples, out_dir, first=first, total=n, **midi_options)
    return paths


def plot_run(run_dir, out_dir=None, data=None, device=None, limit=1000, seed=0):
    """Draw every figure that fits a finished run into ``out_dir`` (default
    ``run_dir/figures``); returns the paths written.

    MNIST (images): prior samples, latent scatter, losses, reconstructions, completion,
    interpolation between two classes' mean encodings, the manifold when the latent
    space is 2-D, and the scatter/grid GIFs when the run recorded ``latents.npz``.
    Music: losses, piano rolls of a real test window, its reconstruction and samples
    from the prior (on above 0.2, the study's threshold), and the scatter of the pieces.
    ``data`` replaces the run's own data set (loaded from its config otherwise).
    """
    run_dir = Path(run_dir)
    run = load_run(run_dir, device=device, data=data)
    # read before any figure is written: a damaged file stops the command, not half of it
    latents = read_latents(run_dir) if (run_dir / LATENTS_FILE).is_file() else None
    config, model, data = run.config, run.model, run.data
    out = Path(out_dir) if out_dir is not None else run_dir / "figures"
    out.mkdir(parents=True, exist_ok=True)
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
        paths.append(plots.plot_latent_scatter(model, x, labels, out / "latent_scatter.png", names))
    music = music_options(config.data)
    if music is not None:
        rolls = dict(low=music["low"], steps_per_beat=music["steps_per_beat"],
                     note_state=music["note_state"])
        if len(x):
            recon = sampling.reconstruct(model, x[:1])[0]
            paths.append(plots.plot_piano_rolls(
                [x[0], recon], out / "piano_roll_test.png",
                ["test window 0", "its reconstruction (probabilities)"], threshold=0.5, **rolls))
        samples = sampling.prior_samples(model, 3, seed=seed)
        paths.append(plots.plot_piano_rolls(
            list(samples), out / "piano_roll_samples.png",
            ["prior sample {} (probabilities)".format(i) for i in range(len(samples))],
            threshold=0.2, **rolls))
        return paths
    paths.append(plots.plot_prior_samples(model, out / "prior_samples.png", seed=seed))
    if len(x):
        paths.append(plots.plot_reconstructions(model, x, out / "reconstructions.png"))
        paths.append(plots.plot_completion(model, x, out / "completion.png"))
    if labels is not None and len(numpy.unique(labels)) >= 2:
        paths.append(plots.plot_class_interpolation(model, x, labels, out / "interpolation.png",
                                              label_names=names))
    if model.latent == 2:
        paths.append(plots.plot_manifold(model, out / "manifold.png"))
    if latents is not None:
        paths += write_latent_gifs(run_dir, out, record=latents)
    return paths
