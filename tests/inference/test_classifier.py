"""The classifiers that judge generated examples: piano-roll features of a known window,
and the digit classifier's features and test accuracy on toy digits."""
from __future__ import annotations

import numpy as np
import pytest

import chainer_vae  # noqa: F401  (before chainer)
from chainer_vae.config import RunConfig
from chainer_vae.errors import ConfigError
from chainer_vae.inference.classifier import make_classifier, real_examples, roll_features


def test_roll_features_of_a_known_window():
    """Two steps of C4 + E4 (MIDI 60, 64, columns 36 and 40 from MIDI 24), onsets on the
    first, then two silent steps, on a grid of one step per beat."""
    window = np.zeros((4, 2 * 78), np.float32)
    window[:2, [36, 40]] = 1
    window[0, [78 + 36, 78 + 40]] = 1
    features = roll_features(window[None], steps_per_beat=1)
    assert features.shape == (1, 78 + 12 + 4 + 6)
    per_pitch, classes, rhythm, summary = np.split(features[0], [78, 90, 94])
    assert per_pitch[36] == per_pitch[40] == 0.5 and per_pitch.sum() == 1.0
    np.testing.assert_allclose(classes[[0, 4]], [0.5, 0.5])  # C and E
    np.testing.assert_allclose(rhythm, [2, 0, 0, 0])  # two onsets on the first beat
    polyphony, spread, mean_pitch, pitch_spread, length, silent = summary
    assert (polyphony, spread, mean_pitch, pitch_spread) == (1.0, 1.0, 38.0, 2.0)
    assert (length, silent) == (2.0, 0.5)


def test_real_digits_of_a_per_class_subset_train_a_classifier(toy_mnist):
    config = RunConfig()
    config.data.data_dir = str(toy_mnist)
    (train_x, train_y, test_x, test_y), features = real_examples(config, train_per_class=10)
    assert train_x.shape == (100, 784) and np.bincount(train_y).tolist() == [10] * 10
    assert test_x.shape == (100, 784)
    assert features(test_x.reshape(100, 1, 28, 28)).shape == (100, 784)
    classifier = make_classifier("logistic", 0).fit(train_x, train_y)
    assert np.mean(classifier.predict(test_x) == test_y) == 1.0  # bars, one band a digit


def test_an_unknown_classifier_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown classifier"):
        make_classifier("svm", 0)
