"""Classifiers of real examples that judge generated ones: a conditional model's samples
of a label (``benchmarks/conditional.py``, the study's claims), prior samples' confidence
and completed digits (``inference.claims``).

scikit-learn classifiers on standardised features: pixels for MNIST, ``roll_features`` of
note-state windows for music.
"""
from __future__ import annotations

import numpy

from chainer_vae.data import examples_array, load_data
from chainer_vae.data.mnist import load_mnist
from chainer_vae.errors import ConfigError

BEATS_PER_BAR = 4  # onsets are counted by their position within a 4/4 bar
CLASSIFIERS = ("mlp", "logistic", "forest")


def roll_features(windows, steps_per_beat=4):
    """Simple features of note-state windows (N, T, 2P) (play | onset, binary) on a grid
    of ``steps_per_beat``: how often each pitch plays (P), the pitch-class histogram
    (12), the onsets per step at each of the 4 * steps_per_beat positions of a 4/4 bar,
    polyphony (mean, spread), pitch (mean, spread), the steps per note and the share of
    silent steps: (N, P + 18 + 4 * steps_per_beat)."""
    windows = numpy.asarray(windows, numpy.float64)
    pitches = windows.shape[2] // 2
    play, onset = windows[:, :, :pitches], windows[:, :, pitches:]
    per_pitch = play.mean(axis=1)
    classes = numpy.zeros((len(windows), 12))
    for pitch in range(pitches):
        classes[:, pitch % 12] += per_pitch[:, pitch]
    classes /= numpy.maximum(classes.sum(axis=1, keepdims=True), 1e-9)
    bar = BEATS_PER_BAR * steps_per_beat
    positions = numpy.arange(windows.shape[1]) % bar
    onsets = onset.sum(axis=2)
    rhythm = numpy.stack([onsets[:, positions == p].mean(axis=1) for p in range(bar)], axis=1)
    polyphony = play.sum(axis=2)
    weight = numpy.maximum(per_pitch.sum(axis=1), 1e-9)
    mean_pitch = (per_pitch * numpy.arange(pitches)).sum(axis=1) / weight
    spread = numpy.sqrt((per_pitch * (numpy.arange(pitches) - mean_pitch[:, None]) ** 2)
                        .sum(axis=1) / weight)
    length = play.sum(axis=(1, 2)) / numpy.maximum(onset.sum(axis=(1, 2)), 1)
    summary = numpy.stack([polyphony.mean(axis=1), polyphony.std(axis=1), mean_pitch, spread,
                           length, (polyphony == 0).mean(axis=1)], axis=1)
    return numpy.concatenate([per_pitch, classes, rhythm, summary], axis=1)


def make_classifier(name, seed):
    """A scikit-learn classifier on standardised features: logistic regression, a random
    forest of 300 trees (leaves of at least 5 examples), or an MLP with one hidden layer
    of 256 ReLU units (Adam, early stopping on 10 % of the data)."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if name == "logistic":
        model = LogisticRegression(max_iter=2000)
    elif name == "forest":
        model = RandomForestClassifier(n_estimators=300, min_samples_leaf=5, random_state=seed)
    elif name == "mlp":
        model = MLPClassifier(hidden_layer_sizes=(256,), early_stopping=True, max_iter=200,
                              random_state=seed)
    else:
        raise ConfigError("unknown classifier {!r}; choose one of {}".format(
            name, ", ".join(CLASSIFIERS)))
    return make_pipeline(StandardScaler(), model)


def real_examples(config, train_per_class=None):
    """(features of the training examples, their labels, of the test examples, theirs)
    of the run config ``config``'s data, and how the features are made from a sample
    array (``features``). MNIST: the grey pixels of every training digit (or
    ``train_per_class`` of each) of the run's ``classes`` and of the 10,000 test digits,
    whatever the run's binarization; a MIDI folder: ``roll_features`` of the run's
    training and test windows (split by piece)."""
    if config.data.dataset == "mnist":
        digits = load_mnist(config.data.data_dir, classes=config.data.classes,
                            train_per_class=train_per_class, progress=False)
        return ((digits.train_images, digits.train_labels, digits.test_images,
                 digits.test_labels), lambda x: x.reshape(len(x), -1))
    if config.data.dataset != "midi":
        raise ConfigError("{} has no labels to condition on".format(config.data.dataset))
    data = load_data(config.data, config.model.encoder, progress=False)

    def features(x):
        return roll_features(x, config.data.steps_per_beat)
    return ((features(examples_array(data.train)), numpy.asarray(data.train_labels),
             features(examples_array(data.test)), numpy.asarray(data.test_labels)), features)
