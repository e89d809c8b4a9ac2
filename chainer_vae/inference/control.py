"""How well a music model can be steered: measures of MusicVAE's controls.

- ``downbeat_ratio``: notes starting on a bar's first step per note on the other steps,
  in held-out windows and in prior samples (a decoder that restarts each bar from zeros
  stacks chords on the downbeat);
- ``attribute_response``: prior samples moved along each attribute vector by a few
  amounts, the attribute measured on them (Spearman's rho against the amount) and their
  prior overlap with held-out windows at each amount;
- ``temperature_response``: prior overlap and note density against the temperature;
- ``long_structure``: prior samples many bars long (one z for the whole piece) against
  real segments as long, on the bar-repetition features of ``midi.structure`` and on the
  MGEval features.

Every function takes a loaded run (``runs.load_run``) whose data are the windows to
compare with, and returns a JSON-ready dict.
"""
from __future__ import annotations

import dataclasses

import numpy
from midi.attributes import ATTRIBUTES, attribute_table
from midi.metrics import compare
from midi.structure import downbeat_onsets
from scipy.stats import spearmanr

from chainer_vae.data import examples_array, load_data
from chainer_vae.inference import attributes, sampling
from chainer_vae.inference.music import as_rolls, music_options, steps_per_bar
from chainer_vae.model import at_length

AMOUNTS = (-2.0, -1.0, 0.0, 1.0, 2.0)
TEMPERATURES = (0.25, 0.5, 1.0, 1.5, 2.0)


def _held_out(run, limit):
    test = examples_array(run.data.test)
    if limit is not None and len(test) > limit:
        test = test[numpy.sort(numpy.random.RandomState(0).choice(len(test), limit, False))]
    return test


def _samples(model, n, seed, amounts=None, vectors=None, temperature=1.0):
    """n prior samples drawn from p(x|z), z moved along ``amounts`` of ``vectors``."""
    rng = sampling.random_state(seed)
    z = sampling.prior_latents(model, n, 1.0, rng)
    if amounts:
        z = attributes.shift(z, vectors, amounts)
    return sampling.decode(model, z, sample=rng, temperature=temperature)


def downbeat_ratio(run, n=64, seed=0, limit=500):
    """{"real": ..., "samples": ...}: ``midi.structure.downbeat_onsets`` of (at most
    ``limit``) held-out windows and of ``n`` prior samples, and ``ratio_of_ratios``."""
    music = music_options(run.config.data)
    bar_beats = _beats_per_bar(run)
    real = downbeat_onsets(as_rolls(_held_out(run, limit), **music), bar_beats)
    drawn = downbeat_onsets(as_rolls(_samples(run.model, n, seed), **music), bar_beats)
    return {"real": real, "samples": drawn, "ratio_of_ratios": drawn["ratio"] / real["ratio"]}


def attribute_response(run, vectors, n=64, amounts=AMOUNTS, seed=0, limit=200):
    """For each attribute: its mean on ``n`` prior samples at each amount (the same z's
    moved), Spearman's rho between amount and attribute over the amounts' means
    (``rho_of_means``) and over all samples (``rho``), and the samples' prior overlap at
    each amount with (at most ``limit``) held-out windows."""
    music = music_options(run.config.data)
    reference = as_rolls(_held_out(run, limit), **music)
    found = {}
    for column, name in enumerate(ATTRIBUTES):
        measured, overlaps = [], []
        for amount in amounts:
            rolls = as_rolls(_samples(run.model, n, seed, {name: amount}, vectors), **music)
            measured.append(attribute_table(rolls)[:, column])
            overlaps.append(compare(reference, rolls)["mean_overlap"])
        means = [float(numpy.nanmean(values)) for values in measured]
        every = numpy.concatenate(measured)
        known = numpy.isfinite(every)
        found[name] = {
            "amounts": list(amounts), "means": means, "overlaps": overlaps,
            "rho_of_means": _rho(amounts, means),
            "rho": _rho(numpy.repeat(amounts, n)[known], every[known])}
    return found


def _rho(a, b):
    """Spearman's rho of two samples; nan where either is constant (no ranking)."""
    if numpy.ptp(a) == 0 or numpy.ptp(b) == 0:
        return float("nan")
    return float(spearmanr(a, b)[0])


def temperature_response(run, n=64, temperatures=TEMPERATURES, seed=0, limit=200):
    """Prior overlap with held-out windows and notes per bar of ``n`` prior samples at
    each temperature."""
    music = music_options(run.config.data)
    reference = as_rolls(_held_out(run, limit), **music)
    density = ATTRIBUTES.index("note_density")
    rows = []
    for temperature in temperatures:
        rolls = as_rolls(_samples(run.model, n, seed, temperature=temperature), **music)
        rows.append({"temperature": temperature,
                     "overlap": compare(reference, rolls)["mean_overlap"],
                     "note_density": float(attribute_table(rolls)[:, density].mean())})
    return rows


def long_segments(run, bars, hop_bars=4):
    """Held-out segments of ``bars`` bars (N, bars * bar, F) of the run's own data,
    ``hop_bars`` bars apart, without transposed copies."""
    bar = steps_per_bar(run.config)
    data = dataclasses.replace(run.config.data, window=bars * bar, hop=hop_bars * bar,
                               transpose=[], windows_per_piece=None, limit=None)
    return examples_array(load_data(data, run.config.model.encoder, progress=False).test)


def long_structure(run, bars=16, n=64, seed=0, limit=200):
    """Prior samples of ``bars`` bars from one z each (the conductor run longer) against
    (at most ``limit``) real held-out segments as long: the structure features' overlap
    (``repeated_bars``, ``bar_distances``, ``structure_overlap``) and the MGEval
    ``mean_overlap``; ``real_structure_overlap``: half of the real segments against the
    other half, what a model can hope for."""
    music = music_options(run.config.data)
    segments = long_segments(run, bars)
    if limit is not None and len(segments) > limit:
        segments = segments[numpy.sort(numpy.random.RandomState(0).choice(
            len(segments), limit, False))]
    model = at_length(run.model, run.config.model, bars * steps_per_bar(run.config))
    reference = as_rolls(segments, **music)
    drawn = as_rolls(_samples(model, n, seed), **music)
    beats = _beats_per_bar(run)
    found = compare(reference, drawn, beats, structure=True)
    real = compare(reference[::2], reference[1::2], beats, structure=True)
    return {"bars": bars, "segments": len(segments), "samples": n,
            "real_structure_overlap": real["structure_overlap"],
            "repeated_bars": found["repeated_bars"]["overlap"],
            "bar_distances": found["bar_distances"]["overlap"],
            "structure_overlap": found["structure_overlap"],
            "mean_overlap": found["mean_overlap"]}


def _beats_per_bar(run):
    return steps_per_bar(run.config) // run.config.data.steps_per_beat
