"""Figures of the study, each a PNG: pure functions from arrays (images, latent points,
labels, piano rolls) to a file. They run no model: ``chainer_vae.outputs.figures`` computes
a model's arrays through ``chainer_vae.inference.sampling`` and hands them to these.

Every ``plot_*`` function draws with matplotlib's Agg canvas (``matplotlib.figure.Figure``
without pyplot, so it works headless, in threads and beside a notebook's own backend),
writes its PNG atomically (a temporary file, then a rename) and returns the path.
Examples are NumPy arrays in any layout of ``data.images.image_layout``, values in [0, 1].

- Fig. 2: ``plot_prior_samples`` (decoded prior samples); for a conditional model
  ``plot_class_samples`` (one row of samples per label, one column per z);
- Fig. 3: ``plot_latent_scatter`` (encodings coloured by digit); its GIF over the epochs
  comes from ``chainer_vae.outputs.gifs``;
- Figs. 4 and 5: ``plot_losses`` (train and test loss and KL per epoch);
- ``plot_manifold`` (a 2-D latent grid and its decodings), ``plot_samples_by_latent_size``,
  ``plot_interpolation``, ``plot_reconstructions``, ``plot_completion``,
  ``plot_piano_roll(s)`` (drawn by ``midi.plot.draw_roll``).

``chainer_vae.outputs.actions.plot_run`` draws every figure that fits a finished run.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

import midi
from midi.plot import draw_roll

from chainer_vae.errors import ConfigError, RunDirError
from chainer_vae.files import atomic_output, make_folder
from chainer_vae.outputs.images import as_images, tile
from chainer_vae.runs import read_log

DPI = 100


# ---------------------------------------------------------------------------- drawing helpers

def _figure(width, height):
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig, path):
    """Write ``fig`` to ``path`` as a PNG, atomically; returns the path."""
    path = Path(path)
    make_folder(path.parent)
    with atomic_output(path) as temporary:
        fig.savefig(temporary, format="png", dpi=DPI)
    return path


def figure_to_array(fig):
    """The rendered figure as an RGB uint8 array (H, W, 3)."""
    fig.canvas.draw()
    return numpy.asarray(fig.canvas.buffer_rgba())[..., :3].copy()


def _show_tiles(ax, images, ncols=None, title=None, cmap="gray"):
    """Draw a batch of (N, H, W) images tiled on ``ax``, white on black like MNIST."""
    ax.imshow(tile(numpy.clip(images, 0, 1), ncols, pad=1, pad_value=0.5),
              cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)


def _image_figure(images, path, ncols=None, title=None, width_px=800):
    """One panel of tiled images, the figure sized to the tiles (each image pixel drawn
    as an integer number of screen pixels, 1 to 4), the title above."""
    images = numpy.asarray(images)
    grid = tile(numpy.clip(images, 0, 1), ncols, pad=1, pad_value=0.5)
    height, width = grid.shape[:2]
    scale = int(min(4, max(1, width_px // width)))
    image_w, image_h = width * scale / DPI, height * scale / DPI
    title_h = 0.45 if title else 0.05
    fig = _figure(image_w + 0.1, image_h + title_h + 0.05)
    total_w, total_h = image_w + 0.1, image_h + title_h + 0.05
    ax = fig.add_axes([0.05 / total_w, 0.05 / total_h, image_w / total_w, image_h / total_h])
    ax.imshow(grid, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        fig.suptitle(title, fontsize=10, y=1 - 0.08 / total_h, va="top")
    return save_figure(fig, path)


def _label_colors(count):
    from matplotlib import colormaps

    cmap = colormaps["tab10" if count <= 10 else "tab20" if count <= 20 else "hsv"]
    return [cmap(i % cmap.N if count <= 20 else i / count) for i in range(count)]


def latent_projection(z):
    """Encodings (N, latent) as 2-D points for a scatter plot, and how they were made:
    the latent axes themselves for 1 or 2 dimensions (one dimension is plotted against
    zero), else the first two principal components (numpy SVD of the centred points,
    each axis's sign fixed so its largest loading is positive)."""
    z = numpy.asarray(z, dtype=numpy.float64)
    if z.ndim != 2 or z.shape[1] < 1:
        raise ConfigError("expected encodings (N, latent), got shape {}".format(z.shape))
    if z.shape[1] == 1:
        return numpy.column_stack([z[:, 0], numpy.zeros(len(z))]), ("z1", "")
    if z.shape[1] == 2:
        return z.copy(), ("z1", "z2")
    centred = z - z.mean(axis=0)
    _, singular, axes = numpy.linalg.svd(centred, full_matrices=False)
    axes = axes[:2]
    signs = numpy.sign(axes[numpy.arange(2), numpy.abs(axes).argmax(axis=1)])
    axes = axes * signs[:, None]
    variance = singular ** 2
    share = variance[:2] / variance.sum() if variance.sum() > 0 else numpy.zeros(2)
    return centred @ axes.T, ("PC1 ({:.0%})".format(share[0]), "PC2 ({:.0%})".format(share[1]))


def draw_scatter(ax, points, labels=None, label_names=None, axis_names=("z1", "z2"),
                 limits=None, size=6):
    """The latent scatter on ``ax``, one colour per label, with a legend."""
    if labels is None:
        ax.scatter(points[:, 0], points[:, 1], s=size, alpha=0.7, linewidths=0)
    else:
        labels = numpy.asarray(labels).reshape(-1)
        classes = numpy.unique(labels)
        for value, color in zip(classes, _label_colors(len(classes))):
            chosen = labels == value
            name = (label_names[int(value)] if label_names is not None
                    and 0 <= int(value) < len(label_names) else str(value))
            ax.scatter(points[chosen, 0], points[chosen, 1], s=size, color=color, alpha=0.8,
                       linewidths=0, label=name)
        if len(classes) <= 20:
            ax.legend(loc="upper right", fontsize=7, markerscale=2, framealpha=0.7,
                      ncol=2 if len(classes) > 10 else 1)
    ax.set_xlabel(axis_names[0])
    ax.set_ylabel(axis_names[1])
    if limits is not None:
        ax.set_xlim(limits[0])
        ax.set_ylim(limits[1])
    ax.grid(True, alpha=0.3)


def scatter_limits(points, margin=0.05):
    """Axis limits ((x0, x1), (y0, y1)) around 2-D ``points``, with a ``margin`` share."""
    low, high = points.min(axis=0), points.max(axis=0)
    pad = numpy.maximum((high - low) * margin, 1e-3)
    return (low[0] - pad[0], high[0] + pad[0]), (low[1] - pad[1], high[1] + pad[1])


def render_scatter(points, labels=None, label_names=None, axis_names=("z1", "z2"),
                   limits=None, title=None, size=(6, 6)):
    """A latent scatter as a Figure (see ``draw_scatter``)."""
    fig = _figure(*size)
    ax = fig.add_subplot(1, 1, 1)
    draw_scatter(ax, points, labels, label_names, axis_names, limits)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------- the figures

def plot_prior_samples(samples, path, ncols=10, title="Decoded prior samples"):
    """Fig. 2: decoded prior samples (N, *example), e.g. the means of p(x|z) of
    z ~ N(0, I), tiled ``ncols`` to a row under ``title``."""
    return _image_figure(as_images(samples), path, ncols, title)


def plot_class_samples(samples, path, label_names, title=None):
    """Samples of a conditional model (labels, per_class, *example): one row per label
    (named on the left by ``label_names``), one column per z, so that a column drawn from
    one z shows one style in every class."""
    samples = numpy.asarray(samples)
    if samples.ndim < 3:
        raise ConfigError("class samples are (labels, per_class, *example), got shape "
                          "{}".format(samples.shape))
    rows, per_class = samples.shape[:2]
    images = as_images(samples.reshape((rows * per_class,) + samples.shape[2:]))
    height = images.shape[1]
    grid = tile(numpy.clip(images, 0, 1), per_class, pad=1, pad_value=0.5)
    fig = _figure(0.35 * per_class * images.shape[2] / 28 + 1.2, 0.35 * rows * height / 28 + 0.6)
    ax = fig.add_axes([0.12, 0.02, 0.86, 0.9])
    ax.imshow(grid, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([row * (height + 1) + height / 2 for row in range(rows)])
    ax.set_yticklabels([str(name) for name in label_names][:rows], fontsize=8)
    ax.set_title(title or "Samples by label (one z per column)", fontsize=10)
    return save_figure(fig, path)


def plot_latent_scatter(z, labels, path, label_names=None, title=None):
    """Fig. 3: encodings ``z`` (N, latent), e.g. the means of q(z|x), coloured by
    ``labels`` (N,) or in one colour when None; for more than two latent dimensions the
    first two principal components (said in the default title)."""
    points, axis_names = latent_projection(z)
    if title is None:
        latent = numpy.shape(z)[1]
        title = "Test-set encodings (latent {}){}".format(
            latent, ", PCA projection" if latent > 2 else "")
    fig = render_scatter(points, labels, label_names, axis_names, title=title)
    return save_figure(fig, path)


def _series(entries, key):
    pairs = [(e.get("epoch"), e.get(key)) for e in entries if isinstance(e, dict)]
    pairs = [(float(x), float(y)) for x, y in pairs if x is not None and y is not None]
    return numpy.array(pairs).reshape(-1, 2)


def plot_losses(log, path, title=None):
    """Figs. 4 and 5: the negative ELBO (total loss) and the KL term per epoch, training
    and test, from a run's ``log`` (LogReport JSON: a path, a run folder or the entries)."""
    entries = read_log(log)
    fig = _figure(10, 4)
    panels = (("loss", "total loss (negative ELBO, nats)"), ("kl", "KL(q(z|x) || p(z)) (nats)"))
    drawn = 0
    for index, (key, label) in enumerate(panels):
        ax = fig.add_subplot(1, 2, index + 1)
        for prefix, name, style in (("main/", "train", "o-"), ("validation/main/", "test", "s--")):
            series = _series(entries, prefix + key)
            if len(series):
                ax.plot(series[:, 0], series[:, 1], style, markersize=3, label=name)
                drawn += 1
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
        if ax.lines:
            ax.legend()
    if not drawn:
        raise RunDirError("the training log has no loss or KL entries yet")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_manifold(decoded, grid, path, title=None):
    """The learned 2-D manifold: ``decoded`` (n * n, *example), the decodings of the
    latent points ``grid`` (n * n, 2) laid out as ``sampling.latent_grid`` makes them
    (row-major as an image, z2 growing upwards), drawn as one n x n image with the
    points' coordinates on the axes."""
    grid = numpy.asarray(grid)
    n = int(round(math.sqrt(len(grid))))
    if grid.shape != (n * n, 2) or len(decoded) != n * n:
        raise ConfigError("the manifold needs a square grid of 2-D latent points and one "
                          "decoding each; got grid {} and {} decodings".format(
                              grid.shape, len(decoded)))
    images = as_images(decoded)
    height, width = images.shape[1:]
    fig = _figure(7, 7.3)
    ax = fig.add_axes([0.1, 0.08, 0.86, 0.84])
    ax.imshow(tile(numpy.clip(images, 0, 1), n, pad=0), cmap="gray", vmin=0, vmax=1,
              interpolation="nearest")
    values = grid[:n, 0]
    ticks = numpy.unique(numpy.linspace(0, n - 1, min(n, 5)).round().astype(int))
    ax.set_xticks(ticks * width + (width - 1) / 2)
    ax.set_xticklabels(["{:.2f}".format(values[i]) for i in ticks])
    ax.set_yticks(ticks * height + (height - 1) / 2)
    ax.set_yticklabels(["{:.2f}".format(values[::-1][i]) for i in ticks])
    ax.set_xlabel("z1")
    ax.set_ylabel("z2")
    ax.set_title(title or "Learned 2-D manifold (grid through the inverse Gaussian CDF)",
                 fontsize=10)
    return save_figure(fig, path)


def plot_samples_by_latent_size(samples_by_size, path, title=None):
    """Samples of several models side by side, {latent size: samples (n, *example)},
    e.g. {2: s2, 10: s10, 20: s20}, in order of size, each tiled about square."""
    if not samples_by_size:
        raise ConfigError("plot_samples_by_latent_size needs the samples of at least one model")
    items = sorted(samples_by_size.items())
    fig = _figure(3.2 * len(items), 3.6)
    for index, (size, samples) in enumerate(items):
        ax = fig.add_subplot(1, len(items), index + 1)
        _show_tiles(ax, as_images(samples), math.ceil(math.sqrt(len(samples))),
                    "latent = {}".format(size))
    fig.suptitle(title or "Random samples by latent size", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_interpolation(rows, path, ends=None, names=("A", "B"), title=None):
    """Decodings along latent paths, one row per method: ``rows`` {method: decoded
    (steps, *example)}, e.g. {"linear": ..., "slerp": ...}, drawn in that order. With
    ``ends`` (the two examples the paths join), they are drawn in the first and last
    columns. ``names``: what the ends are called in the default title."""
    methods = list(rows)
    rows = [as_images(rows[method]) for method in methods]
    ncols = len(rows[0]) if rows else 0
    if ends is not None:
        ends = as_images(numpy.stack([numpy.asarray(ends[0]), numpy.asarray(ends[1])]))
        rows = [numpy.concatenate([ends[:1], row, ends[1:]]) for row in rows]
        ncols += 2
    fig = _figure(max(4.0, 0.75 * ncols + 0.8), 0.85 * len(rows) + 0.8)
    for index, (method, row) in enumerate(zip(methods, rows)):
        ax = fig.add_subplot(len(rows), 1, index + 1)
        _show_tiles(ax, row, ncols)
        ax.set_ylabel(method, fontsize=9)
    fig.suptitle(title or "Interpolation from {} to {}{}".format(
        names[0], names[1], "" if ends is None else " (data at the ends)"), fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_reconstructions(x, reconstructions, path, title=None):
    """Examples ``x`` (N, *example) in the top row and their ``reconstructions`` below."""
    images = numpy.concatenate([as_images(x), as_images(reconstructions)])
    return _image_figure(images, path, len(x), title or "Test data (top) and reconstructions")


HIDDEN_COLOR = (0.15, 0.35, 0.75)


def plot_completion(x, mask, completed, path, title=None):
    """Completion of occluded examples, three rows: the data ``x`` (N, *example), what a
    model sees (the part hidden by ``mask``, one boolean example shape True where
    observed, in blue; ``sampling.occlusion_mask``), and ``completed`` (N, *example),
    e.g. ``sampling.complete_occluded``."""
    grey = [numpy.repeat(as_images(v)[..., None], 3, axis=3) for v in (x, x, completed)]
    hidden = ~as_images(numpy.asarray(mask)[None])[0]
    grey[1][:, hidden] = HIDDEN_COLOR
    return _image_figure(numpy.concatenate(grey), path, len(x),
                         title or "Data, hidden part (blue), completed")


def _play_and_onset(roll, note_state):
    """(play, onset or None, low or None, steps_per_beat or None) of an array or a
    ``midi.PianoRoll``."""
    if isinstance(roll, midi.PianoRoll):
        return roll.play, roll.onset, roll.low, roll.steps_per_beat
    array = numpy.asarray(roll, dtype=numpy.float32)
    if array.ndim == 3 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 2 or (note_state and array.shape[1] % 2):
        raise ConfigError("a {} piano roll is a (steps, {}pitches) array, got shape {}".format(
            "note-state" if note_state else "play-only", "2 * " if note_state else "",
            array.shape))
    if not note_state:
        return array, None, None, None
    width = array.shape[1] // 2
    return array[:, :width], array[:, width:], None, None


def plot_piano_rolls(rolls, path, titles=None, *, title=None, low=24, threshold=0.5,
                     steps_per_beat=4, note_state=True):
    """Several piano rolls stacked (e.g. real and generated music), each under its entry
    of ``titles``, all under ``title``. A roll is a (T, 2P) note-state NumPy array (play
    in columns 0..P-1, onsets in P..2P-1), or with ``note_state`` False a (T, P)
    play-only roll, binary or probabilities (on above ``threshold``), pitches from MIDI
    ``low``, ``steps_per_beat`` steps a beat; or a ``midi.PianoRoll``, which knows its
    own pitches and grid. Drawn by ``midi.plot.draw_roll``."""
    rolls = list(rolls)
    if not rolls:
        raise ConfigError("no piano rolls to draw")
    fig = _figure(10, 2.6 * len(rolls) + 0.4)
    for index, roll in enumerate(rolls):
        play, onset, roll_low, roll_grid = _play_and_onset(roll, note_state)
        ax = fig.add_subplot(len(rolls), 1, index + 1)
        draw_roll(ax, play, onset, low if roll_low is None else roll_low,
                  steps_per_beat if roll_grid is None else roll_grid, threshold)
        if titles is not None and index < len(titles):
            ax.set_title(titles[index], fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_piano_roll(roll, path, *, title=None, low=24, threshold=0.5, steps_per_beat=4,
                    note_state=True):
    """One piano roll: ``plot_piano_rolls`` of ``[roll]`` with ``title`` above it (as
    ``titles[0]``), the same keyword options in the same order."""
    return plot_piano_rolls([roll], path, [title] if title else None, low=low,
                            threshold=threshold, steps_per_beat=steps_per_beat,
                            note_state=note_state)
