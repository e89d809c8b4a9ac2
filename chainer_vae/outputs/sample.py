"""What ``chainer-vae sample`` writes for a finished run: one function per mode.

``sample_run`` checks the request, loads the run and hands a ``Sampling`` (the model, how
to decode and one writer, PNG grids for images or MIDI files for music) to the mode asked
for: prior samples, a test example's reconstruction, variations of an example, or an
interpolation between two. Every mode also writes ``samples.npz``: the decoder's means
(with ``sample``, the draws) as ``means``, their latent points ``z`` and, for a
conditional model, their ``labels`` and the ``label_names``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy

from chainer_vae.data.midi import piece_window
from chainer_vae.errors import ConfigError
from chainer_vae.files import write_arrays
from chainer_vae.inference import attributes, sampling
from chainer_vae.inference.music import music_options, steps_per_bar
from chainer_vae.model import at_length
from chainer_vae.outputs.images import write_image_grid
from chainer_vae.outputs.midi_files import write_midi_samples
from chainer_vae.resources import check_fits
from chainer_vae.runs import load_run

MAX_GRID = 10000  # samples in one PNG grid
SAMPLES_FILE = "samples.npz"  # the arrays ``sample`` drew, beside its pictures or MIDI
EXAMPLE_COPIES = 16  # arrays of a sample's size decoding one holds (an estimate)
CHUNK = 256  # samples drawn and written at a time
MIDI_THRESHOLD = 0.2  # the study's: a MIDI file's notes are the means above it


def draws_samples(model_config):
    """Whether a model's samples are best drawn from p(x|z) rather than shown as means: a
    decoder that reads back its own output (autoregressive, or a MADE) of binary data,
    whose means along a greedy decoding are no samples of it."""
    return bool((model_config.autoregressive or model_config.step_made)
                and model_config.likelihood == "bernoulli")


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


@dataclass
class Sampling:
    """What every mode of ``sample_run`` shares: the loaded run and its model, whether to
    draw from p(x|z) (``sample``) at ``temperature``, the label asked for (an index), the
    attribute ``amounts`` and where and how to write."""

    run: object
    model: object
    out_dir: Path
    sample: bool
    temperature: float
    threshold: Optional[float]
    rng: numpy.random.RandomState
    label: Optional[int] = None
    amounts: dict = field(default_factory=dict)
    vectors: Optional[attributes.AttributeVectors] = None

    @property
    def music(self):
        return music_options(self.run.config.data)

    def decode(self, z, labels):
        """The decoder's means of z, or with ``sample`` data drawn from p(x|z, y)."""
        return sampling.decode(self.model, z, labels=labels,
                               sample=self.rng if self.sample else None,
                               temperature=self.temperature)

    def shifted(self, z):
        """z moved along the attribute vectors asked for (z itself without any)."""
        return attributes.shift(z, self.vectors, self.amounts) if self.amounts else z

    def shown(self, arrays):
        """What a PNG shows: drawn values as they are, means at the threshold if one is
        asked for (MIDI files apply their threshold themselves)."""
        if self.sample or self.music is not None:
            return arrays
        return sampling.binarize(arrays, self.threshold)

    def midi(self, arrays, prefix="sample", threshold=None, **numbering):
        """Write MIDI files ``<prefix>_<i>.mid`` (a real example's at 0.5)."""
        options = dict(self.music, threshold=threshold if threshold is not None
                       else 0.5 if self.sample else self.threshold)
        return write_midi_samples(arrays, self.out_dir, prefix=prefix, **options, **numbering)

    def grid(self, arrays, name, ncols=None):
        return write_image_grid(arrays, self.out_dir / name, ncols=ncols)

    def arrays(self, means, z, labels):
        """``samples.npz`` beside the other files (the labels of a conditional model
        only); its path."""
        found = {"means": means, "z": z}
        if self.model.labels:
            found.update(labels=labels,
                         label_names=numpy.array(self.run.config.model.label_names))
        return write_arrays(self.out_dir / SAMPLES_FILE, found)


def _test_example(data, index):
    """Test example ``index`` and its label (None for unlabelled data)."""
    count = len(data.test)
    if not -count <= index < count:
        raise ConfigError("test example {} does not exist (the test set has {})".format(
            index, count))
    label = None if data.test_labels is None else int(data.test_labels[index % count])
    return numpy.asarray(data.test[index % count], dtype=numpy.float32), label


def _example(job, which):
    """The example a ``sample`` option names and its label: test example ``which`` (an
    int), or the first window of the MIDI file ``which`` (a path) for a music run, taking
    the label asked for in a conditional model."""
    if isinstance(which, int):
        return _test_example(job.run.data, which)
    config = job.run.config
    if job.music is None:
        raise ConfigError("{}: a MIDI file, but {} models images; give a test example's "
                          "index".format(which, config.data.dataset))
    if job.model.labels and job.label is None:
        raise ConfigError("{}: a conditional model needs the file's --label (it knows {})"
                          .format(which, ", ".join(config.model.label_names)))
    return piece_window(which, config.data, config.model.input_shape[0]), job.label


def reconstruction(job: Sampling, index):
    """Test example ``index`` and its reconstruction: ``reconstruction_I.png`` (side by
    side) or ``test_I.mid`` and ``reconstruction_I.mid``."""
    x, own = _test_example(job.run.data, index)
    decode_as = own if job.label is None else job.label
    z = job.shifted(sampling.encode(job.model, x, labels=own))
    means = job.decode(z, decode_as)
    if job.music is not None:
        paths = (job.midi([x], prefix="test_{}".format(index), threshold=0.5)
                 + job.midi(means, prefix="reconstruction_{}".format(index)))
    else:
        paths = [job.grid(numpy.stack([x, job.shown(means)[0]]),
                          "reconstruction_{}.png".format(index), ncols=2)]
    return paths + [job.arrays(means, z, sampling.labels_for(job.model, decode_as, 1))]


def variations(job: Sampling, which, n, distance):
    """An example, its reconstruction, (with attribute amounts) the reconstruction moved
    along the attribute vectors, and ``n`` variations: points at ``distance`` from the
    (moved) encoding in random directions. ``variations.png``, or ``original_000.mid``,
    ``reconstruction_000.mid``, ``moved_000.mid`` and ``variation_<i>.mid``."""
    x, own = _example(job, which)
    decode_as = own if job.label is None else job.label
    z = sampling.encode(job.model, x, labels=own)
    ends = [z, job.shifted(z)] if job.amounts else [z]
    z_all = numpy.concatenate(ends + [sampling.vary_latents(ends[-1][0], n, distance,
                                                            job.rng)])
    means = job.decode(z_all, decode_as)
    kept = len(ends)
    if job.music is not None:
        paths = (job.midi([x], prefix="original", threshold=0.5)
                 + job.midi(means[:1], prefix="reconstruction")
                 + (job.midi(means[1:2], prefix="moved") if job.amounts else [])
                 + job.midi(means[kept:], prefix="variation"))
    else:
        paths = [job.grid(numpy.concatenate([x[None], job.shown(means)]), "variations.png")]
    return paths + [job.arrays(means, z_all,
                               sampling.labels_for(job.model, decode_as, len(z_all)))]


def interpolation(job: Sampling, ends, steps, methods):
    """Walks between two examples, one per method: ``interpolation_<method>.png`` (the
    ends beside the path) or ``<method>_<step>.mid``; the arrays gain a leading axis of
    methods. A conditional model's label moves from one end's to the other's."""
    (x_a, y_a), (x_b, y_b) = (_example(job, which) for which in ends)
    labels = None if y_a is None else (y_a, y_b)
    path_labels = (sampling.label_path(job.model, labels, steps) if job.label is None
                   else job.label)
    paths, kept = [], []
    for method in methods:
        z_path, means = sampling.interpolate(job.model, x_a, x_b, steps, method, labels=labels,
                                             path_labels=path_labels,
                                             sample=job.rng if job.sample else None,
                                             temperature=job.temperature)
        kept.append((z_path, means))
        if job.music is not None:
            paths += job.midi(means, prefix=method)
        else:
            paths.append(job.grid(numpy.concatenate([x_a[None], job.shown(means), x_b[None]]),
                                  "interpolation_{}.png".format(method), ncols=steps + 2))
    return paths + [job.arrays(numpy.stack([means for _, means in kept]),
                               numpy.stack([z for z, _ in kept]),
                               sampling.labels_for(job.model, path_labels, steps))]


def prior(job: Sampling, n, scale):
    """``n`` samples from z ~ N(0, scale^2 I), moved along the attribute vectors asked
    for: ``samples.png`` (a column per label for a conditional model without a label
    asked for) or ``sample_<i>.mid`` (``<label>_<k>.mid``), ``CHUNK`` at a time."""
    model, names = job.model, list(job.run.config.model.label_names)
    labels = None
    if model.labels:  # the label asked for, else every label in turn
        labels = (numpy.full(n, job.label) if job.label is not None
                  else numpy.arange(n) % model.labels)
    if job.music is None:
        z = job.shifted(sampling.prior_latents(model, n, scale, job.rng))
        means = job.decode(z, labels)
        ncols = model.labels if model.labels and job.label is None else None
        return [job.grid(job.shown(means), "samples.png", ncols=ncols),
                job.arrays(means, z, labels)]
    paths, kept = [], []
    for first in range(0, n, CHUNK):  # memory for CHUNK samples at a time, whatever n is
        count = min(CHUNK, n - first)
        chunk = None if labels is None else labels[first:first + count]
        z = job.shifted(sampling.prior_latents(model, count, scale, job.rng))
        means = job.decode(z, chunk)
        kept.append((z, means))
        if chunk is None:
            paths += job.midi(means, first=first, total=n)
            continue
        for value in numpy.unique(chunk):  # <label>_<k>.mid, k counted within the label
            paths += job.midi(means[chunk == value], prefix=names[value],
                              first=int(numpy.sum(labels[:first] == value)),
                              total=int(numpy.sum(labels == value)))
    return paths + [job.arrays(numpy.concatenate([means for _, means in kept]),
                               numpy.concatenate([z for z, _ in kept]), labels)]


def sample_run(run_dir, out_dir, n=16, scale=1.0, sample=None, threshold=None,
               from_test=None, interpolate_between=None, steps=8, methods=("linear", "slerp"),
               seed=None, data=None, device=None, length=None, label=None, vary=None,
               distance=1.0, bars=None, temperature=1.0, amounts=None):
    """What ``chainer-vae sample`` writes, for a finished run; returns the written paths.

    The mode: prior samples (``prior``), ``from_test=I`` (``reconstruction``),
    ``vary=X`` (``variations``) or ``interpolate_between=(A, B)`` (``interpolation``);
    examples are test examples (ints) or, for music, MIDI files (their first window from
    the first bar with a note). The MIDI threshold defaults to 0.2 (the study's); MNIST
    images show the probabilities unless a threshold or ``sample`` is asked for. With
    ``sample`` (by default for models that ``draws_samples``) every array is data drawn
    from p(x|z) (an autoregressive decoder reading back its draws), not the means.
    ``temperature`` divides the decoder's Bernoulli logits (MusicVAE's sampling
    temperature); ``scale`` is the prior's standard deviation (z ~ N(0, scale^2 I)).
    ``amounts`` ({attribute: amount}) moves prior samples, reconstructions and
    variations along the run's attribute vectors (``chainer-vae attributes``).
    ``length`` (time steps) or ``bars`` makes prior samples of a model with LSTM parts
    that long instead of the training window's length: one z for the whole piece.
    A conditional model generates with ``label`` (a label's name) or, without one, prior
    samples of every label in turn (sample i has label i mod C).
    """
    chosen = [from_test] + list(interpolate_between or ()) + [vary]
    is_prior = chosen == [None, None]
    vectors = attributes.load(run_dir) if amounts else None  # before any work
    run = load_run(run_dir, device=device, data=data,
                   with_data=any(isinstance(which, int) for which in chosen))
    config, model = run.config, run.model
    sample = draws_samples(config.model) if sample is None else sample
    music = music_options(config.data)
    if amounts and (music is None or interpolate_between is not None):
        raise ConfigError("--attribute moves music models' prior samples, reconstructions "
                          "and variations")
    if bars is not None:
        if music is None or length is not None:
            raise ConfigError("--bars applies to music runs, without --length")
        length = bars * steps_per_bar(config)
    if length is not None:
        if not is_prior:
            raise ConfigError("--length and --bars apply to samples from the prior only")
        model = at_length(model, config.model, length)
    _check_sizes(model, n, steps, methods, music is None and (is_prior or vary is not None))
    if sample and not model.decoder.likelihood.binary:
        raise ConfigError("--bernoulli draws binary values; the {} likelihood's samples are "
                          "its means".format(config.model.likelihood))
    job = Sampling(run, model, Path(out_dir), sample, temperature,
                   MIDI_THRESHOLD if music is not None and threshold is None else threshold,
                   sampling.random_state(seed), label_index(run_dir, config.model, label),
                   dict(amounts or {}), vectors)
    if from_test is not None:
        return reconstruction(job, from_test)
    if vary is not None:
        return variations(job, vary, n, distance)
    if interpolate_between is not None:
        return interpolation(job, interpolate_between, steps, methods)
    return prior(job, n, scale)


def _check_sizes(model, n, steps, methods, one_grid):
    """A ``ConfigError`` before any memory is spent on more samples than fit."""
    example = int(numpy.prod(model.decoder.output_shape))
    check_fits(4 * EXAMPLE_COPIES * max(min(n, CHUNK), steps) * example,
               "{:,} samples of {:,} values".format(max(min(n, CHUNK), steps), example),
               "ask for fewer or shorter samples")
    if one_grid and n > MAX_GRID:
        raise ConfigError("one image grid holds at most {:,} samples, not {:,}".format(
            MAX_GRID, n))
    check_fits(4 * max(n, steps * len(methods)) * example,
               "{} holding {:,} samples of {:,} values".format(
                   SAMPLES_FILE, max(n, steps * len(methods)), example),
               "ask for fewer or shorter samples")
