"""The within-step MADE: its outputs respect the order, and the decoder stays a normalised
likelihood (checked by summing p(x|z) over every binary window)."""
import itertools

import numpy as np
import pytest

import chainer_vae  # noqa: F401
import chainer
import chainer.functions as F

from chainer_vae.model.made import StepMADE, made_masks
from tiny_models import MADE_DECODERS, frequencies, randomised, step_made_model


def test_masks_connect_each_output_to_the_earlier_values_only():
    to_hidden, to_out, direct = made_masks(features=5, hidden=12)
    paths = to_out @ to_hidden + direct  # (output, input): number of paths
    assert (np.triu(paths) == 0).all()
    assert (paths[np.tril_indices(5, -1)] > 0).all()  # and every earlier value is reachable


@pytest.mark.parametrize("n_params", [1, 2])
def test_output_k_changes_with_earlier_values_only(n_params):
    features = 6
    made = randomised(StepMADE(features, context_size=3, hidden=10, n_params=n_params), 0)
    rng = np.random.RandomState(1)
    x = (rng.rand(4, features) > 0.5).astype(np.float32)
    context = rng.randn(4, 3).astype(np.float32)
    base = made(x, context).array.reshape(4, n_params, features)
    for j in range(features):
        flipped = x.copy()
        flipped[:, j] = 1 - flipped[:, j]
        moved = made(flipped, context).array.reshape(4, n_params, features)
        np.testing.assert_array_equal(moved[..., :j + 1], base[..., :j + 1])
        if j + 1 < features:
            assert np.abs(moved[..., j + 1:] - base[..., j + 1:]).max() > 1e-3


# Decoders with a MADE, on data (2, 3): lstm over 2 steps of 3 keys (each step's keys
# in order, the steps independent given z or, autoregressive, each reading the one
# before), and mlp over 6 values, all in one order.


def test_masks_let_few_hidden_units_see_the_whole_example():
    to_hidden, to_out, _ = made_masks(features=784, hidden=500)
    through_hidden = to_out @ to_hidden
    # the last pixel reads every pixel up to the last two through the hidden layer,
    # not only the first 500
    assert (through_hidden[-1, :782] > 0).all()
    assert (through_hidden[-1, 782:] == 0).all()


@pytest.mark.parametrize("kind", sorted(MADE_DECODERS))
def test_decoder_sums_to_one_over_every_binary_window(kind):
    model = step_made_model(kind)
    every_x = np.array(list(itertools.product([0, 1], repeat=6)), np.float32).reshape(-1, 2, 3)
    z = np.random.RandomState(2).randn(1, 2).astype(np.float32).repeat(len(every_x), axis=0)
    with chainer.no_backprop_mode():
        log_p = model.decoder(z, every_x).log_prob(every_x).array.astype(np.float64)
    assert np.exp(log_p).sum() == pytest.approx(1.0, abs=1e-5)
    # the MADE matters: the same z gives far from equal probabilities to the 64 windows
    assert log_p.max() - log_p.min() > 3.0


@pytest.mark.parametrize("kind", sorted(MADE_DECODERS))
def test_generated_means_are_the_conditionals_of_the_rounded_window(kind):
    model = step_made_model(kind, seed=3)
    z = np.random.RandomState(4).randn(5, 2).astype(np.float32)
    means = model.decode(z)
    rounded = (means >= 0.5).astype(np.float32)
    with chainer.no_backprop_mode():
        teacher_forced = F.sigmoid(model.decoder(z, rounded).distribution.logit).array
    np.testing.assert_allclose(means, teacher_forced, atol=1e-6)
    assert means.shape == (5, 2, 3)


@pytest.mark.parametrize("kind", sorted(MADE_DECODERS))
def test_drawn_windows_follow_p_x_given_z_and_their_seed(kind):
    """Decoding with ``sample`` feeds the draws back: the 64 windows appear as often as
    the decoder's own p(x|z) says (each frequency within 4 standard errors)."""
    model = step_made_model(kind, seed=3)
    n = 20000
    z = np.tile(np.random.RandomState(4).randn(1, 2).astype(np.float32), (n, 1))
    draws = model.decode(z, sample=np.random.RandomState(7))
    assert set(np.unique(draws)) <= {0.0, 1.0} and draws.shape == (n, 2, 3)
    every_x = np.array(list(itertools.product([0, 1], repeat=6)), np.float32).reshape(-1, 2, 3)
    with chainer.no_backprop_mode():
        exact = np.exp(model.decoder(z[:64], every_x).log_prob(every_x).array.astype(float))
    error = np.sqrt(exact * (1 - exact) / n)
    assert np.all(np.abs(frequencies(draws, every_x) - exact) < 4 * error + 1e-4)
    again = [model.decode(z[:50], sample=np.random.RandomState(seed)) for seed in (7, 7, 8)]
    np.testing.assert_array_equal(again[0], again[1])
    assert (again[0] != again[2]).any()


@pytest.mark.parametrize("kind", sorted(MADE_DECODERS))
def test_draws_at_uniform_one_half_are_the_greedy_decoding(kind):
    """A draw is 1 where a uniform number falls below the mean: with every number 0.5,
    drawing and rounding each value before reading it back agree."""
    class Half:
        def uniform(self, size):
            return np.full(size, 0.5)

    model = step_made_model(kind, seed=3)
    z = np.random.RandomState(4).randn(5, 2).astype(np.float32)
    np.testing.assert_array_equal(model.decode(z, sample=Half()),
                                  (model.decode(z) > 0.5).astype(np.float32))


@pytest.mark.parametrize("kind", ["lstm", "mlp"])
def test_step_made_needs_the_data_in_training(kind):
    model = step_made_model(kind)
    with pytest.raises(ValueError, match="teacher forcing"):
        model.decoder(np.zeros((1, 2), np.float32))


def test_values_drawn_one_at_a_time_follow_the_joint_distribution():
    features, n = 3, 40000
    made = randomised(StepMADE(features, context_size=2, hidden=6), 5)
    context = np.tile(np.array([[0.3, -0.8]], np.float32), (n, 1))
    base = np.zeros((n, features), np.float32)
    rng = np.random.RandomState(6)

    def draw(raw):
        mean = 1 / (1 + np.exp(-raw[:, 0]))
        return mean, (rng.rand(len(mean)) < mean).astype(np.float32)

    _, values = made.generate(context, base, draw)
    every_x = np.array(list(itertools.product([0, 1], repeat=features)), np.float32)
    logits = made(every_x, context[:len(every_x)]).array
    exact = np.exp((every_x * logits - np.logaddexp(0, logits)).sum(axis=1))
    assert exact.sum() == pytest.approx(1.0, abs=1e-5)
    codes = values @ (2 ** np.arange(features - 1, -1, -1))
    drawn = np.bincount(codes.astype(int), minlength=len(every_x)) / n
    np.testing.assert_allclose(drawn, exact, atol=0.01)


def test_dropout_acts_in_training_only_and_keeps_the_evaluation_model():
    plain = step_made_model("lstm-autoregressive", seed=7)
    dropped = step_made_model("lstm-autoregressive", seed=7, dropout=0.5)
    rng = np.random.RandomState(8)
    z = rng.randn(16, 2).astype(np.float32)
    x = (rng.rand(16, 2, 3) > 0.5).astype(np.float32)

    def log_p(model):
        with chainer.no_backprop_mode():
            return model.decoder(z, x).log_prob(x).array

    with chainer.using_config("train", False):
        np.testing.assert_array_equal(log_p(dropped), log_p(plain))
        np.testing.assert_array_equal(dropped.decode(z), plain.decode(z))
    first, second = log_p(dropped), log_p(dropped)  # train mode: a new mask each pass
    assert np.abs(first - second).max() > 1e-3
    assert np.abs(first - log_p(plain)).max() > 1e-3
