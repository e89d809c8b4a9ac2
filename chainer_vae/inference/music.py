"""How musical a music model is: its prior samples against held-out music (MGEval's mean
overlap), and MusicVAE's measures of its reconstructions (``music_quality``).

``midi.metrics.compare`` (Yang & Lerch, 2018) compares two sets of pieces feature by
feature; its ``mean_overlap`` is 1 when the generated pieces lie among the reference
pieces as those lie among themselves. Real windows the model was trained on, compared
the same way, give the figure a model can hope for (the ceiling).
"""
from __future__ import annotations

import dataclasses
import time

import chainer
import midi
import numpy
from midi.metrics import FEATURES, compare

from chainer_vae.config import RunConfig
from chainer_vae.data import examples_array, load_data
from chainer_vae.data.midi import BEATS_PER_BAR
from chainer_vae.errors import ConfigError
from chainer_vae.inference import sampling
from chainer_vae.inference.sampling import prior_samples, random_state
from chainer_vae.model import ops
from chainer_vae.pretrained import run_folder
from chainer_vae.runs import load_run

ACTIVE = 0.01  # variance of a dimension's posterior means above which it is active


def music_options(data_config):
    """How a run's examples are written as music: ``steps_per_beat``, ``low`` (MIDI pitch
    of the first column) and ``note_state`` (True for (T, 2P) note states, False for
    (T, 88) play-only rolls of the polyphonic benchmarks); None for images."""
    if data_config.dataset == "mnist":
        return None
    return dict(steps_per_beat=data_config.steps_per_beat, low=data_config.low,
                note_state=data_config.dataset == "midi")


def steps_per_bar(config):
    """Steps of a bar of a music run (its ``RunConfig``): the hierarchical decoder's
    ``bar``, else 4 beats."""
    if config.model.decoder == "hier":
        return config.model.bar
    return BEATS_PER_BAR * config.data.steps_per_beat


def as_rolls(windows, steps_per_beat=4, low=24, note_state=True):
    """``midi.PianoRoll``s of windows (N, T, F), on above 0.5: note states (T, 2P)
    (play | onset), or with ``note_state`` False play-only rolls (T, P); pitches from
    MIDI ``low``."""
    on = numpy.asarray(windows) > 0.5
    if note_state:
        return [midi.PianoRoll.from_note_state(w, steps_per_beat, low) for w in on]
    return [midi.PianoRoll(w, steps_per_beat=steps_per_beat, low=low) for w in on]


def window_overlap(reference, generated, **music):
    """``midi.metrics.compare`` of two sets of windows (N, T, F), binary or on above 0.5;
    ``music`` as for ``as_rolls``. The reference needs two windows or more."""
    return compare(as_rolls(reference, **music), as_rolls(generated, **music))


def prior_overlap(model, data, n=64, sample=False, threshold=0.2, seed=0, **music):
    """MGEval's comparison of ``n`` prior samples of a music model with the held-out
    (test) windows of ``data`` (the run's ``Data``), and of ``n`` of its training windows
    drawn at random (transposed copies included) with the same held-out windows.

    The samples are drawn from p(x|z) with ``sample`` (right for an autoregressive
    decoder, whose means are not samples), else the decoder's means above
    ``threshold``. ``music``: ``steps_per_beat``, ``low`` and ``note_state`` (as
    ``music_options`` gives them). Returns a JSON-ready dict:
    ``mean_overlap`` (the samples'), ``real_mean_overlap`` (the training windows'),
    ``features`` (the samples' overlap per feature), ``samples``, ``held_out`` (windows),
    ``window_steps`` and how the samples were made (``drawn``, ``threshold``)."""
    test = examples_array(data.test)
    picked = random_state(seed).choice(len(data.train), min(n, len(data.train)), replace=False)
    train = examples_array([data.train[i] for i in numpy.sort(picked)])
    generated = prior_samples(model, n, sample=sample, threshold=None if sample else threshold,
                              seed=seed)
    found = window_overlap(test, generated, **music)
    return {"mean_overlap": found["mean_overlap"],
            "real_mean_overlap": window_overlap(test, train, **music)["mean_overlap"],
            "features": {name: found[name]["overlap"] for name in FEATURES},
            "samples": int(n), "held_out": len(test), "window_steps": int(test.shape[1]),
            "drawn": bool(sample), "threshold": None if sample else threshold}


def held_out_f1(model, data, limit=None, **music):
    """Note F1 of the reconstructions (posterior mean, decoded greedily, on above 0.5) of
    the first ``limit`` held-out (test) windows of ``data`` against the windows' own
    notes; ``music`` as for ``as_rolls``."""
    test = examples_array(data.test, limit)
    decoded = sampling.decode(model, sampling.encode(model, test))
    return note_f1(as_rolls(decoded, **music), as_rolls(test, **music))


def note_f1(decoded, real):
    """F1 of the notes, (pitch, start step), of the decoded rolls against the real ones."""
    hits = found = wanted = 0
    for mine, theirs in zip(decoded, real):
        a = {(int(p), int(s)) for p, s in mine.notes()[:, :2]}
        b = {(int(p), int(s)) for p, s in theirs.notes()[:, :2]}
        hits, found, wanted = hits + len(a & b), found + len(a), wanted + len(b)
    return 2 * hits / (found + wanted) if found + wanted else 1.0


def on_other_pieces(run_dir, data_dir, limit=None, progress=False, hop=None):
    """The run ``run_dir`` (a folder or ``pretrained:NAME``) loaded with the pieces of the
    MIDI folder ``data_dir`` in place of its own data: on its grid and windows, split by
    piece as a run on that folder is (no transposed copies, no validation pieces), to
    measure it on music it was not trained on. ``limit``: the first N windows of each
    split only; ``hop``: steps between windows (default: the run's)."""
    config = RunConfig.load(run_folder(run_dir))
    if config.data.dataset != "midi":
        raise ConfigError("{}: a model of {}, not of MIDI folders; it reads no other pieces"
                          .format(run_dir, config.data.dataset))
    data = dataclasses.replace(config.data, data_dir=str(data_dir), also=[], transpose=[],
                               valid_fraction=0.0, limit=limit,
                               hop=config.data.hop if hop is None else hop)
    return load_run(run_dir, data=load_data(data, config.model.encoder, progress=progress))


def music_quality(run_dir, samples=64, pairs=8, limit=None, seed=0, data_dir=None,
                  hop=None) -> dict:
    """MusicVAE's and MGEval's measures of a music run (a folder or ``pretrained:NAME``) on
    its held-out (test) windows, as a JSON-ready dict.

    Reconstruction from the posterior mean: ``note_f1`` (the notes, as (pitch, start
    step), of the decoded window on above 0.5 against the window's own) and
    ``exact_steps`` (the share of steps reproduced exactly); ``kl_per_window`` (nats);
    ``active_dimensions`` (variance of the posterior means above 0.01, as Burda et al.
    count them); ``prior_overlap``: ``samples`` prior samples drawn from p(x|z) against
    the held-out windows (MGEval's mean overlapping area), beside ``ceiling_overlap``,
    as many training windows drawn at random; ``interpolation_overlap`` and
    ``interpolation_end_f1``: slerp walks of 7 points between ``pairs`` pairs of held-out
    windows. ``limit``: the first N held-out windows only. ``data_dir``: measured on the
    pieces of that MIDI folder instead of the run's own (``on_other_pieces``, windows
    ``hop`` steps apart).
    """
    run = (load_run(run_dir) if data_dir is None
           else on_other_pieces(run_dir, data_dir, hop=hop))
    model, options = run.model, music_options(run.config.data)
    if options is None:
        raise ConfigError("{}: not a music run ({})".format(run_dir, run.config.data.dataset))
    test = examples_array(run.data.test, limit)
    rng = numpy.random.RandomState(seed)
    picked = rng.choice(len(run.data.train), min(max(len(test), 2), len(run.data.train)),
                        replace=False)
    train = examples_array([run.data.train[i] for i in numpy.sort(picked)])
    begin = time.perf_counter()
    z = sampling.encode(model, test)
    decoded = sampling.decode(model, z)
    real, back = as_rolls(test, **options), as_rolls(decoded, **options)
    exact = (numpy.asarray(decoded) > 0.5) == (test > 0.5)
    with chainer.no_backprop_mode(), chainer.using_config("train", False):
        kl = sampling.to_numpy(ops.kl_divergence(model.encoder(model.device.send(test)),
                                                 model.prior()))
    prior = as_rolls(sampling.prior_samples(model, samples, sample=True, seed=seed), **options)
    ends = rng.choice(len(test), size=(pairs, 2), replace=len(test) < 2 * pairs)
    between, end_f1 = [], []
    for a, b in ends:
        _, path = sampling.interpolate(model, test[a], test[b], 7, "slerp")
        between += as_rolls(path[1:-1], **options)
        end_f1.append(note_f1(as_rolls(path[[0, -1]], **options), [real[a], real[b]]))
    return {
        "run_dir": str(run_dir), "windows": len(test), "window_steps": int(test.shape[1]),
        "note_f1": note_f1(back, real),
        "exact_steps": float(exact.all(axis=2).mean()),
        "kl_per_window": float(kl.mean()),
        "active_dimensions": int((z.var(axis=0) > ACTIVE).sum()), "latent": int(z.shape[1]),
        "prior_overlap": compare(real, prior)["mean_overlap"],
        "ceiling_overlap": compare(real, as_rolls(train, **options))["mean_overlap"],
        "interpolation_overlap": compare(real, between)["mean_overlap"],
        "interpolation_end_f1": float(numpy.mean(end_f1)),
        "seconds": time.perf_counter() - begin}
