"""chainer_vae.inference.music: prior samples of a music model against held-out windows."""
from __future__ import annotations

import chainer_vae  # noqa: F401  (installs the compatibility shim before chainer)
import numpy as np
import pytest
from midi.metrics import FEATURES

from chainer_vae.config import ModelConfig
from chainer_vae.data import Data
from chainer_vae.inference.music import as_rolls, prior_overlap, window_overlap
from chainer_vae.model import build_model

PITCHES = 24  # note states of two octaves from MIDI 60: (steps, 2 * PITCHES)


def melodies(n, steps=32, seed=0):
    """n note-state windows (n, steps, 2 * PITCHES) of a melody each: notes of the C major
    scale, one at a time, 1 to 4 steps long."""
    rng = np.random.RandomState(seed)
    scale = [p for p in range(PITCHES) if p % 12 in (0, 2, 4, 5, 7, 9, 11)]
    windows = np.zeros((n, steps, 2 * PITCHES), np.float32)
    for window in windows:
        step = 0
        while step < steps:
            pitch, length = rng.choice(scale), rng.randint(1, 5)
            window[step:step + length, pitch] = 1
            window[step, PITCHES + pitch] = 1
            step += length
    return windows


def test_the_rolls_hold_the_windows_notes_note_by_note():
    play = np.zeros((1, 6, 3))
    play[0, 1:4, 2] = 0.9
    (made,) = as_rolls(play, steps_per_beat=4, low=50, note_state=False)
    assert made.notes()[:, :2].tolist() == [[52, 1]]
    state = np.zeros((1, 6, 6))  # (T, 2P): play bits, then onset bits
    state[0, 0:4, 1] = 0.8
    state[0, 0, 4] = state[0, 2, 4] = 0.7  # two onsets of pitch 1 inside one held span
    (made,) = as_rolls(state, steps_per_beat=4, low=50)
    assert made.notes()[:, :2].tolist() == [[51, 0], [51, 2]]
    assert made.steps_per_beat == 4 and made.n_steps == 6


def test_a_set_against_itself_overlaps_almost_fully_and_silence_hardly():
    real = melodies(24)
    same = window_overlap(real, real, low=60)
    assert same["mean_overlap"] > 0.9
    assert window_overlap(real, melodies(24, seed=1), low=60)["mean_overlap"] > 0.85
    silent = window_overlap(real, np.zeros_like(real), low=60)
    assert silent["mean_overlap"] < 0.2
    noise = (np.random.RandomState(2).uniform(size=real.shape) < 0.5).astype(np.float32)
    assert window_overlap(real, noise, low=60)["mean_overlap"] < 0.5
    with pytest.raises(ValueError, match="at least two"):
        window_overlap(real[:1], real, low=60)


@pytest.fixture(scope="module")
def music():
    """An untrained hierarchical music model and a data set of melodies (16-step windows)."""
    config = ModelConfig(encoder="lstm", decoder="hier", input_shape=(16, 2 * PITCHES),
                         latent=3, hidden=[8], autoregressive=True, bar=4)
    train, test = melodies(40, steps=16), melodies(12, steps=16, seed=1)
    return build_model(config), Data(train, test, (16, 2 * PITCHES))


def test_prior_overlap_of_an_untrained_model_is_below_that_of_real_windows(music):
    model, data = music
    found = prior_overlap(model, data, n=10, sample=True, seed=0, low=60)
    assert set(found["features"]) == set(FEATURES)
    assert (found["samples"], found["held_out"], found["window_steps"]) == (10, 12, 16)
    assert found["drawn"] is True and found["threshold"] is None
    assert 0 <= found["mean_overlap"] < found["real_mean_overlap"] <= 1
    assert found["real_mean_overlap"] > 0.8  # melodies of one kind
    assert prior_overlap(model, data, n=10, sample=True, seed=0, low=60) == found  # seeded
    means = prior_overlap(model, data, n=10, threshold=0.2, seed=0, low=60)
    assert means["drawn"] is False and means["threshold"] == 0.2
    assert means["real_mean_overlap"] == found["real_mean_overlap"]  # the same real windows
