"""How much a music model's prior samples resemble held-out music: MGEval's mean overlap.

``midi.metrics.compare`` (Yang & Lerch, 2018) compares two sets of pieces feature by
feature; its ``mean_overlap`` is 1 when the generated pieces lie among the reference
pieces as those lie among themselves. Real windows the model was trained on, compared
the same way, give the figure a model can hope for (the ceiling).
"""
from __future__ import annotations

import midi
import numpy
from midi.metrics import FEATURES, compare

from chainer_vae.data import examples_array
from chainer_vae.inference.sampling import prior_samples, random_state


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
    ``outputs.actions.music_options`` gives them). Returns a JSON-ready dict:
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
