"""MusicVAE's hierarchical decoder: a conductor over bars, each bar decoded afresh."""
import itertools

import numpy as np
import pytest

import chainer_vae  # noqa: F401
import chainer
import chainer.functions as F

from chainer_vae.errors import ConfigError
from chainer_vae.model.hierarchical import HierarchicalDecoder
from chainer_vae.model.likelihoods import make_likelihood
from tiny_models import frequencies, randomised

BAR, BARS, KEYS = 3, 2, 2


def decoder(autoregressive=True, step_made=4, bars=BARS, seed=0, handover=False, keys=KEYS):
    np.random.seed(seed)
    made = HierarchicalDecoder((bars * BAR, keys), 2, make_likelihood("bernoulli"), hidden=[6],
                               bar=BAR, autoregressive=autoregressive, step_made=step_made,
                               handover=handover)
    return randomised(made, seed)


def test_shapes_and_gradients_reach_every_parameter():
    made = decoder()
    z = np.random.RandomState(1).randn(4, 2).astype(np.float32)
    x = (np.random.RandomState(2).rand(4, BARS * BAR, KEYS) > 0.5).astype(np.float32)
    p = made(z, x)
    assert p.batch_shape == (4,) and p.event_shape == (BARS * BAR, KEYS)
    F.sum(p.log_prob(x)).backward()
    missing = [name for name, param in made.namedparams() if param.grad is None
               or not np.abs(param.grad).sum()]
    assert missing == []


def test_a_bar_reads_nothing_of_the_other_bars_but_their_shared_z():
    made = decoder(handover=False)
    z = np.random.RandomState(1).randn(3, 2).astype(np.float32)
    x = (np.random.RandomState(2).rand(3, BARS * BAR, KEYS) > 0.5).astype(np.float32)
    changed = x.copy()
    changed[:, :BAR] = 1 - changed[:, :BAR]  # every value of the first bar
    with chainer.no_backprop_mode():
        before, after = (made.raw(z, v).array for v in (x, changed))
    np.testing.assert_array_equal(before[:, :, BAR:], after[:, :, BAR:])
    assert not np.allclose(before[:, :, :BAR], after[:, :, :BAR])


def test_the_probabilities_of_every_piece_sum_to_one():
    made = decoder(bars=1)
    every_x = np.array(list(itertools.product([0, 1], repeat=BAR * KEYS)),
                       np.float32).reshape(-1, BAR, KEYS)
    z = np.tile(np.random.RandomState(3).randn(1, 2).astype(np.float32), (len(every_x), 1))
    with chainer.no_backprop_mode():
        log_p = made(z, every_x).log_prob(every_x).array.astype(np.float64)
    assert np.exp(log_p).sum() == pytest.approx(1.0, abs=1e-5)


def test_with_handover_a_bar_reads_the_last_step_of_the_bar_before_and_nothing_else():
    made = decoder(handover=True)
    z = np.random.RandomState(1).randn(3, 2).astype(np.float32)
    x = (np.random.RandomState(2).rand(3, BARS * BAR, KEYS) > 0.5).astype(np.float32)
    inner, last = x.copy(), x.copy()
    inner[:, :BAR - 1] = 1 - inner[:, :BAR - 1]  # the first bar but its last step
    last[:, BAR - 1] = 1 - last[:, BAR - 1]
    with chainer.no_backprop_mode():
        before, changed_inner, changed_last = (made.raw(z, v).array for v in (x, inner, last))
    np.testing.assert_array_equal(before[:, :, BAR:], changed_inner[:, :, BAR:])
    assert not np.allclose(before[:, :, BAR], changed_last[:, :, BAR])  # the next bar's step 0


def test_handover_needs_a_decoder_that_reads_its_previous_step():
    assert decoder(handover=True).handover
    assert not decoder(autoregressive=False, handover=True).handover


HANDOVER_CASES = [(True, 4, False), (False, 4, False), (True, 0, False), (True, 4, True),
                  (True, 0, True)]


@pytest.mark.parametrize("autoregressive,step_made,handover", HANDOVER_CASES)
def test_generated_means_are_the_conditionals_of_the_rounded_piece(autoregressive, step_made,
                                                                   handover):
    made = decoder(autoregressive, step_made, seed=5, handover=handover)
    z = np.random.RandomState(4).randn(5, 2).astype(np.float32)
    means = made.generate(z)
    rounded = (means >= 0.5).astype(np.float32)
    with chainer.no_backprop_mode():
        teacher_forced = F.sigmoid(made(z, rounded).distribution.logit).array
    assert means.shape == (5, BARS * BAR, KEYS)
    np.testing.assert_allclose(means, teacher_forced, atol=1e-6)


@pytest.mark.parametrize("autoregressive,step_made,handover", HANDOVER_CASES)
def test_drawn_pieces_follow_p_x_given_z(autoregressive, step_made, handover):
    """Decoding with ``sample`` feeds each step's draws back (and, with hand-over, each
    bar's last step to the next bar): the 64 pieces (one bar of two keys, or two bars of
    one key) appear as often as p(x|z) says (each frequency within 4 standard errors)."""
    bars, keys = (2, 1) if handover else (1, KEYS)
    made = decoder(autoregressive, step_made, bars=bars, seed=5, handover=handover, keys=keys)
    n = 20000
    z = np.tile(np.random.RandomState(3).randn(1, 2).astype(np.float32), (n, 1))
    draws = made.generate(z, sample=np.random.RandomState(0))
    every_x = np.array(list(itertools.product([0, 1], repeat=bars * BAR * keys)),
                       np.float32).reshape(-1, bars * BAR, keys)
    with chainer.no_backprop_mode():
        exact = np.exp(made(z[:64], every_x).log_prob(every_x).array.astype(np.float64))
    error = np.sqrt(exact * (1 - exact) / n)
    assert np.all(np.abs(frequencies(draws, every_x) - exact) < 4 * error + 1e-4)


def test_a_window_of_no_whole_number_of_bars_is_refused():
    with pytest.raises(ConfigError, match="whole number of bars"):
        HierarchicalDecoder((7, KEYS), 2, make_likelihood("bernoulli"), bar=3)


def hier_config(**options):
    from chainer_vae.config import ModelConfig

    return ModelConfig(**dict(dict(encoder="lstm", decoder="hier", input_shape=(8, 5), latent=3,
                                   hidden=[6, 4], bar=4, autoregressive=True, step_made=3),
                              **options))


@pytest.mark.parametrize("options", [{}, dict(autoregressive=False, step_made=0),
                                     dict(conditional=True, label_names=["a", "b"])])
def test_the_registry_builds_it_and_counts_its_values(options):
    from chainer_vae.model import build_model
    from chainer_vae.model.registry import parameter_count

    model = build_model(hier_config(**options))
    assert isinstance(model.decoder, HierarchicalDecoder)
    allocated = sum(param.size for param in model.params())
    for link in model.links():
        allocated += sum(np.asarray(getattr(link, name)).size for name in link._persistent)
    assert parameter_count(hier_config(**options)) == allocated


def test_longer_pieces_come_from_the_same_weights_and_bars_stay_whole():
    from chainer_vae.model import at_length, build_model, same_weights

    config = hier_config()
    model = randomised(build_model(config), 1, scale=0.3)
    longer = at_length(model, config, 24)  # six bars instead of two
    z = np.random.RandomState(2).randn(2, 3).astype(np.float32)
    first, more = model.decode(z), longer.decode(z)
    assert more.shape == (2, 24, 5)
    np.testing.assert_allclose(more[:, :4], first[:, :4], atol=1e-6)  # the conductor's bar 1
    assert same_weights(config, hier_config(input_shape=(24, 5)))
    with pytest.raises(ConfigError, match="whole number of bars"):
        at_length(model, config, 10)


def test_free_nats_charge_the_kl_above_the_floor_only():
    """loss = reconstruction + mean over examples of max(KL - free_nats, 0); the report's
    kl stays the whole mean KL."""
    from chainer_vae.config import ModelConfig
    from chainer_vae.model import ELBOLoss, build_model, ops

    model = build_model(ModelConfig(input_shape=(6,), hidden=[5], latent=3))
    x = (np.random.RandomState(3).rand(4, 6) > 0.5).astype(np.float32)
    with chainer.no_backprop_mode():
        kl = ops.kl_divergence(model.encoder(x), model.prior()).array  # (4,)
    free = float(np.median(kl))  # half the examples above the floor, half below
    results = {}
    for floor in (0.0, free):
        loss = ELBOLoss(model, free_nats=floor)
        reporter = chainer.Reporter()
        reporter.add_observer("main", loss)
        observation = {}
        np.random.seed(7)  # the same draw of z
        with reporter.scope(observation):
            value = float(loss(x).array)
        results[floor] = (value, float(chainer.as_array(observation["main/kl"])),
                          float(chainer.as_array(observation["main/rec_loss"])))
    (plain, kl_plain, reconstr), (floored, kl_floored, reconstr_floored) = (
        results[0.0], results[free])
    assert kl_plain == kl_floored == pytest.approx(kl.mean(), rel=1e-5)
    assert reconstr_floored == reconstr
    assert plain == pytest.approx(reconstr + kl.mean(), rel=1e-5)
    assert floored == pytest.approx(reconstr + np.maximum(kl - free, 0).mean(), rel=1e-5)
