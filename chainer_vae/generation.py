"""Generation: pure functions from a trained VAE (and data) to samples, and writers for them.

Every function takes a model on any Chainer device, moves its inputs there (``model.device``)
and returns NumPy arrays on the CPU, ready to plot or write. Random draws come from a
``numpy.random.RandomState`` made from ``seed`` (or passed in as ``seed``), never from the
global NumPy generator, so generating in the middle of a training run does not change it.

Shapes: an example is an array of the model's input shape, e.g. (784,), (1, 28, 28) or
(28, 28) for MNIST and (T, 2P) note-state windows for MIDI; a batch has a leading axis.
"""
from __future__ import annotations

import math
from pathlib import Path

import chainer
import numpy

from chainer_vae.files import atomic_output
from chainer_vae.errors import ConfigError

_CPU = chainer.backend.CpuDevice()


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


def examples_array(dataset, limit=None):
    """The first ``limit`` examples (all when None) of an array or a Chainer dataset as one
    float32 array (N, *shape); dataset items that are tuples give their first element."""
    if isinstance(dataset, numpy.ndarray) or hasattr(dataset, "__array_priority__"):
        return numpy.asarray(to_numpy(dataset[:limit]), dtype=numpy.float32)
    count = len(dataset) if limit is None else min(limit, len(dataset))
    items = [dataset[i] for i in range(count)]
    items = [item[0] if isinstance(item, tuple) else item for item in items]
    if not items:
        return numpy.zeros((0,), numpy.float32)
    return numpy.stack([to_numpy(item) for item in items]).astype(numpy.float32, copy=False)


def _send(model, x):
    return model.device.send(numpy.ascontiguousarray(x, dtype=numpy.float32)
                             if isinstance(x, numpy.ndarray) else x)


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


def encode(model, x, batch_size=500):
    """The means of q(z|x) for a batch ``x`` (or one example): (N, latent) float32."""
    x = _batch(model, x)
    parts = [to_numpy(model.encode(_send(model, x[i:i + batch_size])))
             for i in range(0, len(x), batch_size)]
    if not parts:
        return numpy.zeros((0, model.latent), numpy.float32)
    return numpy.concatenate(parts).astype(numpy.float32, copy=False)


def decode(model, z, batch_size=500):
    """The means of p(x|z) (probabilities for a Bernoulli likelihood): (N, *input_shape)."""
    z = numpy.asarray(to_numpy(z), dtype=numpy.float32).reshape(-1, model.latent)
    parts = [to_numpy(model.decode(_send(model, z[i:i + batch_size])))
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

def prior_latents(model, n, temperature=1.0, seed=None):
    """n draws z ~ N(0, temperature^2 I): (n, latent) float32."""
    if n < 0 or temperature < 0:
        raise ConfigError("the number of samples and the temperature must not be negative")
    rng = random_state(seed)
    z = rng.standard_normal((n, model.latent)) * temperature
    return z.astype(numpy.float32)


def prior_samples(model, n, temperature=1.0, sample=False, threshold=None, seed=None):
    """n examples decoded from z ~ N(0, temperature^2 I), shape (n, *input_shape).

    Returns the decoder's means (probabilities for Bernoulli data), or binary values: the
    means above ``threshold`` (the MIDI study used 0.2) or, with ``sample``, Bernoulli
    draws from them. One ``RandomState(seed)`` supplies z and then the draws.
    """
    if sample and not getattr(model.decoder.likelihood, "binary", True):
        raise ConfigError("Bernoulli sampling needs a model with a Bernoulli likelihood; "
                          "use a threshold or the means")
    rng = random_state(seed)
    means = decode(model, prior_latents(model, n, temperature, rng))
    return binarize(means, threshold, sample, rng)


def reconstruct(model, x, batch_size=500):
    """decode(encode(x)): the means of p(x|z) at the means of q(z|x), (N, *input_shape)."""
    return decode(model, encode(model, x, batch_size), batch_size)


# ---------------------------------------------------------------------------- latent paths

def interpolate_latents(z_a, z_b, steps, method="linear"):
    """``steps`` points from z_a to z_b (both included): (steps, latent) float32.

    ``linear``: (1 - t) z_a + t z_b. ``slerp``: along the great circle (White, 2016),
    sin((1 - t) w) / sin w z_a + sin(t w) / sin w z_b with w the angle between them,
    which keeps the norm typical of Gaussian samples; linear when they are (anti)parallel.
    """
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
    elif method == "slerp":
        norms = numpy.linalg.norm(z_a) * numpy.linalg.norm(z_b)
        cos = numpy.clip(z_a @ z_b / norms, -1.0, 1.0) if norms > 0 else 1.0
        omega = math.acos(cos)
        if math.sin(omega) < 1e-6:
            path = (1 - t) * z_a + t * z_b
        else:
            path = (numpy.sin((1 - t) * omega) * z_a + numpy.sin(t * omega) * z_b) / math.sin(omega)
    else:
        raise ConfigError("unknown interpolation {!r}; choose linear or slerp".format(method))
    path = path.astype(numpy.float32)
    path[0], path[-1] = z_a, z_b  # exact endpoints
    return path


def interpolate(model, x_a, x_b, steps, method="linear"):
    """Walk the latent space between the encodings (means of q(z|x)) of two examples.

    Returns ``(z_path, decoded)``: (steps, latent) and (steps, *input_shape); the first
    and last rows decode exactly like ``model.decode(model.encode(x_a))`` and x_b.
    """
    z = encode(model, numpy.concatenate([_batch(model, x_a), _batch(model, x_b)]))
    if len(z) != 2:
        raise ConfigError("interpolate takes one example at each end")
    path = interpolate_latents(z[0], z[1], steps, method)
    return path, decode(model, path)


def class_mean_latents(model, x, labels):
    """{label: mean of the encodings (means of q(z|x)) of the examples with that label},
    ordered by label."""
    labels = numpy.asarray(labels).reshape(-1)
    z = encode(model, x)
    if len(z) != len(labels):
        raise ConfigError("{} examples but {} labels".format(len(z), len(labels)))
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


def as_images(x, shape=None):
    """A batch (N, *shape) as (N, H, W) images (see ``image_layout``)."""
    x = numpy.asarray(to_numpy(x))
    shape = tuple(shape) if shape is not None else x.shape[1:]
    return x.reshape((len(x),) + image_layout(shape))


def occlusion_mask(shape, part="bottom", fraction=0.5):
    """A boolean mask of an example shape, True where pixels are observed and False on
    the hidden ``part`` (top, bottom, left, right) covering ``fraction`` of the image."""
    height, width = image_layout(shape)
    mask = numpy.ones((height, width), bool)
    rows, cols = int(round(height * fraction)), int(round(width * fraction))
    if part == "bottom":
        mask[height - rows:] = False
    elif part == "top":
        mask[:rows] = False
    elif part == "left":
        mask[:, :cols] = False
    elif part == "right":
        mask[:, width - cols:] = False
    else:
        raise ConfigError("unknown occluded part {!r}; choose top, bottom, left or "
                          "right".format(part))
    return mask.reshape(shape)


def complete_occluded(model, x, mask, iterations=20, fill=0.0, return_history=False):
    """Fill in the missing part of examples: keep the observed pixels (``mask`` True,
    one mask for all or one per example) and replace the missing ones by the model's
    reconstruction, ``iterations`` times (each pass encodes the current guess).

    Returns the completed batch (observed pixels exactly as in ``x``), and with
    ``return_history`` also the guesses after every pass, (iterations + 1, N, ...).
    """
    x = _batch(model, x)
    mask = numpy.broadcast_to(numpy.asarray(mask, bool), x.shape)
    current = numpy.where(mask, x, numpy.float32(fill)).astype(numpy.float32)
    history = [current]
    for _ in range(iterations):
        current = numpy.where(mask, x, reconstruct(model, current)).astype(numpy.float32)
        history.append(current)
    return (current, numpy.stack(history)) if return_history else current


# ---------------------------------------------------------------------------- writers

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

    grid = tile(as_images(images, shape), ncols, pad=1, pad_value=0.5)
    grid = numpy.clip(grid, 0.0, 1.0)
    if invert:
        grid = 1.0 - grid
    if scale > 1:
        grid = numpy.kron(grid, numpy.ones((scale, scale), numpy.float32))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as temporary:
        mpimage.imsave(temporary, grid, cmap="gray", vmin=0.0, vmax=1.0, format="png")
    return path


def _midi_module():
    try:
        import midi
    except ImportError as error:  # pragma: no cover - midi ships with this project
        raise ConfigError("writing MIDI needs the midi package ({})".format(error)) from None
    if not hasattr(midi, "roll_to_midi"):
        raise ConfigError("the installed midi package has no roll_to_midi")
    return midi


def write_midi_samples(arrays, out_dir, steps_per_beat=4, low=24, threshold=0.2,
                       prefix="sample", bpm=120.0, piano_rolls=True):
    """Write each (T, 2P) note-state array (probabilities or binary) as
    ``out_dir/<prefix>_<i>.mid`` (on where a value exceeds ``threshold``) with a
    piano-roll PNG of the same name beside it. Both written atomically; returns the
    .mid paths."""
    midi = _midi_module()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    arrays = [numpy.asarray(to_numpy(a), dtype=numpy.float32) for a in arrays]
    digits = max(3, len(str(max(len(arrays) - 1, 0))))
    paths = []
    for index, array in enumerate(arrays):
        if array.ndim != 2 or array.shape[1] % 2:
            raise ConfigError("a MIDI sample is a (steps, 2 * pitches) array, got shape {}".format(
                array.shape))
        pitches = array.shape[1] // 2
        stem = "{}_{:0{}d}".format(prefix, index, digits)
        path = out_dir / (stem + ".mid")
        midi.roll_to_midi(array, str(path), threshold=threshold, steps_per_beat=steps_per_beat,
                          low=low, high=low + pitches, bpm=bpm)
        if piano_rolls:
            from chainer_vae.plots import plot_piano_roll

            plot_piano_roll(array, out_dir / (stem + ".png"), low=low, threshold=threshold,
                            title="{} (on above {:g})".format(stem, threshold))
        paths.append(path)
    return paths


# ---------------------------------------------------------------------------- a run folder

def load_run_parts(run_dir, data=None, device=None):
    """(config, model, data) of a finished run; ``data`` replaces the run's own data."""
    from chainer_vae.evaluation import load_run

    if data is None:
        run = load_run(run_dir, device=device, progress=False)
        return run.config, run.model, run.data
    from chainer_vae.config import RunConfig
    from chainer_vae.model import load_model
    from chainer_vae.training import get_device

    config = RunConfig.load(run_dir)
    config.model.input_shape = tuple(data.input_shape)
    model = load_model(run_dir, config.model)
    model.to_device(get_device(device if device is not None else config.train.device))
    return config, model, data


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
    MIDI: ``sample_<i>.mid`` (+ .png), or ``test_I.mid`` and ``reconstruction_I.mid``,
    or ``<method>_<step>.mid`` per step. The MIDI threshold defaults to 0.2 (the study's);
    MNIST images show the probabilities unless a threshold or ``sample`` is asked for.
    ``length`` (time steps) makes prior samples of a model with LSTM parts that long
    instead of the training window's length.
    """
    config, model, data = load_run_parts(run_dir, data, device)
    if length is not None:
        if from_test is not None or interpolate_between is not None:
            raise ConfigError("--length applies to samples from the prior only")
        from chainer_vae.model import at_length

        model = at_length(model, config.model, length)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    is_midi = config.data.dataset == "midi"
    if is_midi and threshold is None:
        threshold = 0.2
    rng = random_state(seed)
    midi_options = dict(steps_per_beat=config.data.steps_per_beat, low=config.data.low,
                        threshold=0.5 if sample else threshold)

    def finish(arrays):
        return binarize(arrays, threshold, sample, rng) if (sample or not is_midi) else arrays

    if from_test is not None:
        x = _test_example(data, from_test)
        recon = finish(reconstruct(model, x))
        if is_midi:
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
            _, decoded = interpolate(model, x_a, x_b, steps, method)
            decoded = finish(decoded)
            if is_midi:
                paths += write_midi_samples(decoded, out_dir, prefix=method, **midi_options)
            else:
                paths.append(write_image_grid(numpy.concatenate([x_a[None], decoded, x_b[None]]),
                                              out_dir / "interpolation_{}.png".format(method),
                                              ncols=steps + 2))
        return paths
    samples = prior_samples(model, n, temperature, sample=False, seed=rng)
    samples = finish(samples)
    if is_midi:
        return write_midi_samples(samples, out_dir, **midi_options)
    return [write_image_grid(samples, out_dir / "samples.png")]
