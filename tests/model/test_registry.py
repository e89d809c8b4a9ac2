"""The part registry: what build_model builds, and the sizes it checks before building."""
import numpy as np
import pytest

import chainer_vae  # noqa: F401

from chainer_vae.config import ModelConfig
from chainer_vae.errors import ConfigError
from chainer_vae.model import build_model, ops, same_weights
from chainer_vae.model.decoders import MLPDecoder
from chainer_vae.model.encoders import MLPEncoder
from chainer_vae.model.likelihoods import make_likelihood
from chainer_vae.model.registry import PARTS, build_part, parameter_count, part_options

CONFIGS = [
    dict(),
    dict(hidden=[32, 16], latent=3),
    dict(hidden=[], latent=2, likelihood="gaussian", learned_variance=True),
    dict(hidden=[20], step_made=12, input_shape=(36,)),
    dict(encoder="conv", decoder="conv", input_shape=(1, 28, 28), channels=[4, 8], hidden=[16]),
    dict(encoder="conv", decoder="conv", input_shape=(12, 10), channels=[3], hidden=[],
         likelihood="gaussian", learned_variance=True),
    dict(encoder="lstm", decoder="lstm", input_shape=(7, 10), hidden=[6], latent=4),
    dict(encoder="lstm", decoder="lstm", input_shape=(7, 10), hidden=[6], autoregressive=True,
         step_made=5, bidirectional=False),
    dict(encoder="lstm", decoder="mlp", input_shape=(28, 28), hidden=[9], step_made=3),
    dict(encoder="mlp", decoder="lstm", input_shape=(5, 6), hidden=[4], dropout=0.2),
    dict(hidden=[], latent=2, conditional=True, label_names=["a", "b", "c"]),
    dict(hidden=[20], step_made=12, input_shape=(36,), conditional=True, label_names=["x"]),
    dict(encoder="conv", decoder="conv", input_shape=(12, 10), channels=[3], hidden=[7],
         conditional=True, label_names=list("abcd"), likelihood="continuous-bernoulli"),
    dict(encoder="lstm", decoder="lstm", input_shape=(7, 10), hidden=[6], autoregressive=True,
         step_made=5, conditional=True, label_names=list("ab")),
    dict(hidden=[32, 16], decoder_hidden=[8, 24, 40], latent=3),
    dict(hidden=[20], decoder_hidden=[6], step_made=12, input_shape=(36,), conditional=True,
         label_names=["x", "y"]),
    dict(encoder="lstm", decoder="mlp", input_shape=(28, 28), hidden=[9], decoder_hidden=[5, 7]),
]


@pytest.mark.parametrize("options", CONFIGS)
def test_parameter_count_is_what_build_model_allocates(options):
    config = ModelConfig(**options)
    model = build_model(config)
    allocated = sum(param.size for param in model.params())
    for link in model.links():  # the persistent arrays: the MADE's masks, the prior's
        allocated += sum(np.asarray(getattr(link, name)).size for name in link._persistent)
    assert parameter_count(config) == allocated


def test_a_model_larger_than_memory_is_refused_before_it_is_built():
    with pytest.raises(ConfigError, match=r"would need .* of memory.*--latent"):
        build_model(ModelConfig(latent=10 ** 9))
    with pytest.raises(ConfigError, match="copies"):
        build_model(ModelConfig(hidden=[500], latent=20), copies=10 ** 9)


def test_same_weights_ignores_what_decides_no_weight():
    lstm = dict(encoder="lstm", decoder="lstm", hidden=[6])
    assert same_weights(ModelConfig(input_shape=(7, 10), **lstm),
                        ModelConfig(input_shape=(70, 10), dropout=0.3, **lstm))
    assert not same_weights(ModelConfig(input_shape=(7, 10), **lstm),
                            ModelConfig(input_shape=(7, 11), **lstm))
    assert not same_weights(ModelConfig(input_shape=(784,)), ModelConfig(input_shape=(783,)))
    mirror = ModelConfig(hidden=[7, 3])
    assert same_weights(mirror, ModelConfig(hidden=[7, 3], decoder_hidden=[3, 7]))
    assert not same_weights(mirror, ModelConfig(hidden=[7, 3], decoder_hidden=[3]))


def test_only_the_mlp_decoder_has_hidden_sizes_of_its_own():
    with pytest.raises(ConfigError, match="--decoder-hidden needs the mlp decoder, not 'conv'"):
        build_model(ModelConfig(encoder="conv", decoder="conv", input_shape=(1, 28, 28),
                                decoder_hidden=[16]))


def test_a_misspelt_part_option_names_itself_the_part_and_what_it_takes():
    with pytest.raises(ConfigError) as caught:
        build_part("encoder", "mlp", (6,), 2, hidden=(5,), hiden=(7,))
    assert str(caught.value) == ("unknown option hiden for the mlp encoder (MLPEncoder); it "
                                 "takes activation_name, hidden, label_input, labels")
    with pytest.raises(ConfigError, match=r"unknown options bars, hiden for the hier decoder "
                                          r"\(HierarchicalDecoder\); it takes autoregressive, "
                                          r"bar, dropout, handover, hidden, labels, step_made$"):
        build_part("decoder", "hier", (8, 3), 2, make_likelihood("bernoulli"), bars=4, hiden=1)
    # a part built by hand has no default for what it does not take
    with pytest.raises(TypeError, match="hiden"):
        MLPEncoder((6,), 2, hiden=(7,))


def test_each_part_is_given_only_the_options_it_takes():
    options = dict(hidden=(5,), channels=(4,), bar=3, bidirectional=False, label_input=True,
                   decoder_hidden=(6, 7), activation_name="relu")
    decoder = build_part("decoder", "mlp", (9,), 2, make_likelihood("bernoulli"), **options)
    assert isinstance(decoder, MLPDecoder)
    assert [link.W.shape for link in decoder.trunk] + [decoder.out.W.shape] == [
        (6, 2), (7, 6), (9, 7)]
    encoder = build_part("encoder", "lstm", (4, 3), 2, **options)
    assert type(encoder.lstm) is ops.NStepLSTM  # bidirectional=False reached it
    with pytest.raises(ConfigError, match="unknown encoder 'gru'; choose one of conv, lstm, mlp"):
        build_part("encoder", "gru", (4, 3), 2)


def test_every_option_build_model_passes_is_taken_by_a_part():
    taken = {name for parts in PARTS.values() for part in parts.values()
             for name in part_options(part)}
    assert taken == {"activation_name", "autoregressive", "bar", "bidirectional", "channels",
                     "decoder_hidden", "dropout", "handover", "hidden", "label_input", "labels",
                     "step_made"}
