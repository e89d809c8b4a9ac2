"""What ``chainer-vae sample`` and ``chainer-vae plot`` write for a finished run."""
from __future__ import annotations

from pathlib import Path

import numpy

from chainer_vae.data import examples_array
from chainer_vae.data.midi import BEATS_PER_BAR, piece_window
from chainer_vae.errors import ConfigError, RunDirError
from chainer_vae.files import write_arrays
from chainer_vae.inference import sampling
from chainer_vae.inference.music import music_options
from chainer_vae.model import at_length
from chainer_vae.outputs import plots
from chainer_vae.outputs.gifs import write_latent_gifs
from chainer_vae.outputs.images import write_image_grid
from chainer_vae.outputs.midi_files import write_midi_samples
from chainer_vae.resources import check_fits
from chainer_vae.runs import LATENTS_FILE, LOG_FILE, load_run, read_latents


MAX_GRID = 10000  # samples in one PNG grid
SAMPLES_FILE = "samples.npz"  # the arrays ``sample`` drew, beside its pictures or MIDI
EXAMPLE_COPIES = 16  # arrays of a sample's size decoding one holds (an estimate)
CHUNK = 256  # samples drawn and written at a time


def _test_example(data, index):
    """Test example ``index`` and its label (None for unlabelled data)."""
    count = len(data.test)
    if not -count <= index < count:
        raise ConfigError("test example {} does not exist (the test set has {})".format(
            index, count))
    label = None if data.test_labels is None else int(data.test_labels[index % count])
    return numpy.asarray(data.test[index % count], dtype=numpy.float32), label


def _example(run, which, label):
    """The example a ``sample`` option names and its label: test example ``which`` (an
    int), or the first window of the MIDI file ``which`` (a path) for a music run, taking
    the label asked for (``label``, an index) in a conditional model."""
    if isinstance(which, int):
        return _test_example(run.data, which)
    if music_options(run.config.data) is None:
        raise ConfigError("{}: a MIDI file, but {} models images; give a test example's "
                          "index".format(which, run.config.data.dataset))
    if run.model.labels and label is None:
        raise ConfigError("{}: a conditional model needs the file's --label (it knows {})"
                          .format(which, ", ".join(run.config.model.label_names)))
    return piece_window(which, run.config.data, run.config.model.input_shape[0]), label


def steps_per_bar(config):
    """Steps of a bar of a music run: the hierarchical decoder's ``bar``, else 4 beats."""
    if config.model.decoder == "hier":
        return config.model.bar
    return BEATS_PER_BAR * config.data.steps_per_beat


def label_index(run_dir, model_config, label):
    """The index of the label named ``label`` (``--label``) among the labels a
    conditional model knows; None for None. A ``ConfigError`` listing the known labels
    for a name the model does not know, or for a model trained without labels."""
    if label is None:
        return None
    if not model_config.conditional:
        raise ConfigError("--label {}: {} was trained without --conditional; it reads no "
                          "labels".format(label, run_dir))
    names = list(model_config.label_names)
    if str(label) not in names:
        raise ConfigError("unknown label {!r}; the model knows {}".format(
            label, ", ".join(names)))
    return names.index(str(label))


def sample_run(run_dir, out_dir, n=16, temperature=1.0, sample=None, threshold=None,
               from_test=None, interpolate_between=None, steps=8, methods=("linear", "slerp"),
               seed=None, data=None, device=None, length=None, label=None, vary=None,
               distance=1.0, bars=None):
    """What ``chainer-vae sample`` writes, for a finished run; returns the written paths.

    MNIST: ``samples.png`` (n digits from the prior), or with ``from_test=I``
    ``reconstruction_I.png`` (the test digit, then its reconstruction), or with
    ``interpolate_between=(A, B)`` ``interpolation_<method>.png`` per method, or with
    ``vary=I`` ``variations.png`` (the digit, its reconstruction, n variations).
    Music (MIDI folders and the polyphonic benchmarks): ``sample_<i>.mid`` (+ .png), or
    ``test_I.mid`` and ``reconstruction_I.mid``, or ``<method>_<step>.mid`` per step, or
    ``original_000.mid``, ``reconstruction_000.mid`` and ``variation_<i>.mid``. The ends of an
    interpolation and the piece varied are test examples (ints) or, for music, MIDI files
    (paths: their first window from the first bar with a note, ``piece_window``).
    A variation decodes a point at ``distance`` from the piece's encoding (the mean of
    q(z|x)) in a random direction. The MIDI threshold defaults to 0.2 (the study's);
    MNIST images show the probabilities unless a threshold or ``sample`` is asked for.
    With ``sample`` (by default for models that ``draws_samples``) every array is data
    drawn from p(x|z) (an autoregressive decoder reading back its draws), not the means. Beside them, ``samples.npz``: the decoder's
    means (with ``sample``, the draws) as ``means``, their latent points (``z``) and, for
    a conditional model, their ``labels`` and the ``label_names``; an interpolation's
    arrays have a leading axis of ``methods``.
    ``length`` (time steps) or ``bars`` makes prior samples of a model with LSTM parts
    that long instead of the training window's length.

    A conditional model generates with ``label`` (a label's name) or, without one,
    prior samples of every label in turn (sample i has label i mod C: a column each in
    the PNG grid; MIDI files named ``<label>_<k>.mid``), a reconstruction with the test
    example's label and an interpolation whose label moves from one end's to the other's.
    """
    chosen = [from_test] + list(interpolate_between or ()) + [vary]
    prior = chosen == [None, None]
    run = load_run(run_dir, device=device, data=data,
                   with_data=any(isinstance(which, int) for which in chosen))
    config, model = run.config, run.model
    if sample is None:
        sample = draws_samples(config.model)
    label = label_index(run_dir, config.model, label)
    music = music_options(config.data)
    is_music = music is not None
    if bars is not None:
        if not is_music or length is not None:
            raise ConfigError("--bars applies to music runs, without --length")
        length = bars * steps_per_bar(config)
    if length is not None:
        if not prior:
            raise ConfigError("--length and --bars apply to samples from the prior only")
        model = at_length(model, config.model, length)
    example = int(numpy.prod(model.decoder.output_shape))
    check_fits(4 * EXAMPLE_COPIES * max(min(n, CHUNK), steps) * example,
               "{:,} samples of {:,} values".format(max(min(n, CHUNK), steps), example),
               "ask for fewer or shorter samples")
    out_dir = Path(out_dir)  # made by the writers, once there is something to write
    if sample and not model.decoder.likelihood.binary:
        raise ConfigError("--bernoulli draws binary values; the {} likelihood's samples are "
                          "its means".format(config.model.likelihood))
    if not is_music and n > MAX_GRID and (prior or vary is not None):
        raise ConfigError("one image grid holds at most {:,} samples, not {:,}".format(
            MAX_GRID, n))
    check_fits(4 * max(n, steps * len(methods)) * example,
               "{} holding {:,} samples of {:,} values".format(
                   SAMPLES_FILE, max(n, steps * len(methods)), example),
               "ask for fewer or shorter samples")
    if is_music and threshold is None:
        threshold = 0.2
    rng = sampling.random_state(seed)
    midi_options = dict(music or {}, threshold=0.5 if sample else threshold)
    names = list(config.model.label_names)

    def decode(z, labels):
        """The decoder's means of z, or with ``sample`` data drawn from p(x|z, y)."""
        return sampling.decode(model, z, labels=labels, sample=rng if sample else None)

    def finish(arrays):
        if sample or is_music:  # drawn already; MIDI files apply their threshold
            return arrays
        return sampling.binarize(arrays, threshold)

    def arrays(means, z, labels):
        """What samples.npz holds; the labels of a conditional model only."""
        found = {"means": means, "z": z}
        if model.labels:
            found.update(labels=labels, label_names=numpy.array(names))
        return found

    if from_test is not None:
        x, own = _test_example(run.data, from_test)
        z = sampling.encode(model, x, labels=own)
        decode_as = own if label is None else label
        means = decode(z, decode_as)
        recon = finish(means)
        saved = arrays(means, z, sampling.labels_for(model, decode_as, 1))
        if is_music:
            paths = (write_midi_samples([x], out_dir, prefix="test_{}".format(from_test),
                                        **dict(midi_options, threshold=0.5))
                     + write_midi_samples(recon, out_dir, prefix="reconstruction_{}".format(
                         from_test), **midi_options))
        else:
            paths = [write_image_grid(numpy.stack([x, recon[0]]),
                                      out_dir / "reconstruction_{}.png".format(from_test),
                                      ncols=2)]
        return paths + [write_arrays(out_dir / SAMPLES_FILE, saved)]
    if vary is not None:
        x, own = _example(run, vary, label)
        z = sampling.encode(model, x, labels=own)
        z_all = numpy.concatenate([z, sampling.vary_latents(z[0], n, distance, rng)])
        decode_as = own if label is None else label
        means = decode(z_all, decode_as)
        decoded = finish(means)
        saved = arrays(means, z_all, sampling.labels_for(model, decode_as, n + 1))
        if is_music:
            paths = (write_midi_samples([x], out_dir, prefix="original",
                                        **dict(midi_options, threshold=0.5))
                     + write_midi_samples(decoded[:1], out_dir, prefix="reconstruction",
                                          **midi_options)
                     + write_midi_samples(decoded[1:], out_dir, prefix="variation",
                                          **midi_options))
        else:
            paths = [write_image_grid(numpy.concatenate([x[None], decoded]),
                                      out_dir / "variations.png")]
        return paths + [write_arrays(out_dir / SAMPLES_FILE, saved)]
    if interpolate_between is not None:
        (x_a, y_a), (x_b, y_b) = (_example(run, which, label) for which in interpolate_between)
        ends = None if y_a is None else (y_a, y_b)
        path_labels = sampling.label_path(model, ends, steps) if label is None else label
        paths, kept = [], []
        for method in methods:
            z_path, means = sampling.interpolate(model, x_a, x_b, steps, method, labels=ends,
                                                 path_labels=path_labels,
                                                 sample=rng if sample else None)
            kept.append((z_path, means))
            decoded = finish(means)
            if is_music:
                paths += write_midi_samples(decoded, out_dir, prefix=method, **midi_options)
            else:
                paths.append(write_image_grid(numpy.concatenate([x_a[None], decoded, x_b[None]]),
                                              out_dir / "interpolation_{}.png".format(method),
                                              ncols=steps + 2))
        saved = arrays(numpy.stack([means for _, means in kept]),
                       numpy.stack([z for z, _ in kept]),
                       sampling.labels_for(model, path_labels, steps))
        return paths + [write_arrays(out_dir / SAMPLES_FILE, saved)]
    labels = None
    if model.labels:  # the label asked for, else every label in turn
        labels = numpy.full(n, label) if label is not None else numpy.arange(n) % model.labels
    if not is_music:
        z = sampling.prior_latents(model, n, temperature, rng)
        means = decode(z, labels)
        ncols = model.labels if model.labels and label is None else None
        return [write_image_grid(finish(means), out_dir / "samples.png", ncols=ncols),
                write_arrays(out_dir / SAMPLES_FILE, arrays(means, z, labels))]
    paths, kept = [], []
    for first in range(0, n, CHUNK):  # memory for CHUNK samples at a time, whatever n is
        count = min(CHUNK, n - first)
        chunk = None if labels is None else labels[first:first + count]
        z = sampling.prior_latents(model, count, temperature, rng)
        means = decode(z, chunk)
        kept.append((z, means))
        samples = finish(means)
        if chunk is None:
            paths += write_midi_samples(samples, out_dir, first=first, total=n, **midi_options)
            continue
        for value in numpy.unique(chunk):  # <label>_<k>.mid, k counted within the label
            paths += write_midi_samples(
                samples[chunk == value], out_dir, prefix=names[value],
                first=int(numpy.sum(labels[:first] == value)),
                total=int(numpy.sum(labels == value)), **midi_options)
    saved = arrays(numpy.concatenate([means for _, means in kept]),
                   numpy.concatenate([z for z, _ in kept]), labels)
    return paths + [write_arrays(out_dir / SAMPLES_FILE, saved)]


def draws_samples(model_config):
    """Whether a model's samples are best drawn from p(x|z) rather than shown as means: a
    decoder that reads back its own output (autoregressive, or a MADE) of binary data,
    whose means along a greedy decoding are no samples of it."""
    return bool((model_config.autoregressive or model_config.step_made)
                and model_config.likelihood == "bernoulli")


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
        paths.append(plots.plot_latent_scatter(model, x, labels, out / "latent_scatter.png",
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
        paths.append(plots.plot_class_samples(model, out / "samples_by_class.png",
                                              config.model.label_names, seed=seed))
    else:
        paths.append(plots.plot_prior_samples(model, out / "prior_samples.png", seed=seed))
    if len(x):
        paths.append(plots.plot_reconstructions(model, x, out / "reconstructions.png",
                                                labels=labels))
        paths.append(plots.plot_completion(model, x, out / "completion.png", labels=labels))
    if labels is not None and len(numpy.unique(labels)) >= 2:
        paths.append(plots.plot_class_interpolation(model, x, labels, out / "interpolation.png",
                                              label_names=names))
    if model.latent == 2 and not model.labels:
        paths.append(plots.plot_manifold(model, out / "manifold.png"))
    if latents is not None:
        paths += write_latent_gifs(run_dir, out, record=latents)
    return paths
