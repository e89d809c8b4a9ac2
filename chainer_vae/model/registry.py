"""The part registry: a VAE built from a ``ModelConfig`` whose parts are looked up by
name, so ``config.json`` rebuilds any model.

The options of a model (``build_model``) are one set for every part; ``build_part`` gives
each part those its constructor names, and refuses an option that no part takes (a
misspelt one), which a part given every option would drop unseen.
"""
import dataclasses
import inspect

import numpy

from chainer_vae.config import ModelConfig, validate_section
from chainer_vae.errors import ConfigError, choice
from chainer_vae.model.layers import CONV_KERNEL, conv_grid, image_shape, sequence_shape
from chainer_vae.model import decoders
from chainer_vae.model.discriminator import Discriminator
from chainer_vae.model.encoders import ENCODERS
from chainer_vae.model.hierarchical import HierarchicalDecoder
from chainer_vae.model.likelihoods import make_likelihood
from chainer_vae.model.vae import VAE, Prior
from chainer_vae.resources import check_fits

DECODERS = dict(decoders.DECODERS, hier=HierarchicalDecoder)
# a VAE-GAN's discriminator: two stride-2 layers as the conv encoder's, at half its widths,
# whose forward and backward passes take 2.7x less time on a CPU (they are most of a step)
DISCRIMINATOR_CHANNELS = (16, 32)
PARTS = {"encoder": ENCODERS, "decoder": DECODERS}
# parts with no weight that depends on the number of steps: they read or write any length
SEQUENCE_ENCODERS, SEQUENCE_DECODERS = ("lstm",), ("lstm", "hier")


def _check(config):
    """The schema's checks of each value (``config.validate_section``), then those of
    how the parts combine."""
    validate_section(config)
    if not config.input_shape:
        raise ConfigError("impossible input shape ()")
    if config.conditional and not config.label_names:
        raise ConfigError("a conditional model needs the names of its labels (label_names; "
                          "runs.build_for takes them from labelled data)")
    for option, value, allowed in (("--autoregressive", config.autoregressive, ("lstm", "hier")),
                                   ("--step-made", config.step_made, ("lstm", "hier", "mlp")),
                                   ("--dropout", config.dropout, ("lstm", "hier")),
                                   ("--decoder-hidden", config.decoder_hidden, ("mlp",))):
        if value and config.decoder not in allowed:
            raise ConfigError("{} needs the {} decoder, not {!r}".format(
                option, _one_of(allowed), config.decoder))


def part_options(cls):
    """The options part class ``cls`` takes: its constructor's arguments that have a
    default (the others are its inputs: shapes, latent size, likelihood), sorted."""
    return sorted(name for name, parameter in inspect.signature(cls).parameters.items()
                  if parameter.default is not inspect.Parameter.empty)


def build_part(kind, name, *inputs, **options):
    """The ``kind`` ("encoder" or "decoder") registered as ``name``, built from
    ``inputs`` and those of ``options`` its constructor takes; the others are left to
    the other parts. An option that no registered part takes is a ``ConfigError``
    naming it, the part and the options the part takes."""
    cls = choice(PARTS[kind], name, kind)
    known = set().union(*(part_options(part) for parts in PARTS.values()
                          for part in parts.values()))
    unknown = sorted(set(options) - known)
    if unknown:
        raise ConfigError("unknown option{} {} for the {} {} ({}); it takes {}".format(
            "s" if len(unknown) > 1 else "", ", ".join(unknown), name, kind, cls.__name__,
            ", ".join(part_options(cls))))
    takes = set(part_options(cls))
    return cls(*inputs, **{key: value for key, value in options.items() if key in takes})


def _one_of(names):
    """``names`` in words: "mlp", "lstm or hier", "lstm, hier or mlp"."""
    return " or ".join(filter(None, (", ".join(names[:-1]), names[-1])))


def _linear(n_in, n_out, bias=True):
    return n_in * n_out + (n_out if bias else 0)


def _made(features, context, hidden, n_params):
    """``StepMADE``: the context layer, then three masked weight matrices and their masks."""
    masked = features * hidden + hidden * n_params * features + n_params * features * features
    return _linear(context, hidden) + 2 * masked


def _lstm(n_in, size, directions=1):
    """``L.NStepLSTM``/``NStepBiLSTM`` of one layer: 8 weight matrices, 8 biases each way."""
    return directions * (4 * size * n_in + 4 * size * size + 8 * size)


def label_count(config: ModelConfig) -> int:
    """How many labels the model of ``config`` reads (one-hot): 0 unless conditional."""
    return len(config.label_names) if config.conditional else 0


def parameter_count(config: ModelConfig) -> int:
    """The number of float32 values (parameters, and the MADE's masks and the prior's
    arrays) of the model ``build_model(config)`` builds, worked out without building it."""
    shape, latent, hidden = tuple(config.input_shape), config.latent, list(config.hidden)
    labels = label_count(config)
    code = latent + labels  # what the decoder reads where it reads z
    beside_x = labels if config.label_input else 0  # what the encoder's features read too
    n_params = 2 if config.likelihood == "gaussian" and config.learned_variance else 1
    flat = int(numpy.prod(shape))
    total = 2 * latent  # the prior's loc and scale
    if config.encoder == "mlp":
        sizes = [flat + beside_x] + hidden
        total += sum(_linear(a, b) for a, b in zip(sizes, sizes[1:]))
        total += 2 * _linear(sizes[-1] + labels, latent)
    elif config.encoder == "conv":
        n_channels, height, width = image_shape(shape)
        grid = conv_grid(height, width, len(config.channels))[-1]
        channels = [n_channels] + list(config.channels)
        dense = hidden[0] if hidden else 256
        total += sum(a * b * CONV_KERNEL ** 2 + b for a, b in zip(channels, channels[1:]))
        total += (_linear(channels[-1] * grid[0] * grid[1] + beside_x, dense)
                  + 2 * _linear(dense + labels, latent))
    elif config.encoder == "lstm":
        _, features = sequence_shape(shape)
        size, directions = (hidden[0] if hidden else 256), 2 if config.bidirectional else 1
        total += (_lstm(features + beside_x, size, directions)
                  + 2 * _linear(directions * size + labels, latent))
    if config.decoder == "mlp":
        sizes = [code] + decoders.mlp_hidden(hidden, config.decoder_hidden)
        total += sum(_linear(a, b) for a, b in zip(sizes, sizes[1:]))
        total += _linear(sizes[-1], n_params * flat)
        if config.step_made:
            total += _made(flat, sizes[-1], config.step_made, n_params)
    elif config.decoder == "conv":
        n_channels, height, width = image_shape(shape)
        grid = conv_grid(height, width, len(config.channels))[-1]
        channels = list(config.channels)
        width_ = hidden[0] if hidden else 256
        outs = channels[-2::-1] + [n_params * n_channels]
        total += _linear(code, width_) + _linear(width_, channels[-1] * grid[0] * grid[1])
        total += sum(a * b * CONV_KERNEL ** 2 + b for a, b in zip(channels[::-1], outs))
    elif config.decoder in ("lstm", "hier"):
        _, features = sequence_shape(shape)
        size = hidden[0] if hidden else 256
        if config.decoder == "hier":  # the conductor; the bottom decoder reads its output
            total += 2 * _linear(code, size) + _lstm(code, size)
            code, size = size, hidden[-1] if hidden else 256
        n_in = code + (features if config.autoregressive else 0)
        total += 2 * _linear(code, size) + _lstm(n_in, size) + _linear(size, n_params * features)
        if config.step_made:
            total += _made(features, size, config.step_made, n_params)
    return int(total)


def build_model(config: ModelConfig, copies=1) -> VAE:
    """A freshly initialised VAE (on the CPU) with the parts named in ``config``.

    ``copies`` is how many arrays of the model's size the caller will hold (training
    holds gradients and Adam's moments too); a model for which that is more memory than
    there is, is a ``ConfigError`` before anything is allocated.
    """
    _check(config)
    choice(ENCODERS, config.encoder, "encoder")
    choice(DECODERS, config.decoder, "decoder")
    check_fits(4 * copies * parameter_count(config), "this model ({:,} values{})".format(
        parameter_count(config), ", {} copies".format(copies) if copies > 1 else ""),
        "choose smaller --latent, --hidden or --channels")
    options = dict(hidden=tuple(config.hidden), activation_name=config.activation,
                   channels=tuple(config.channels), bidirectional=config.bidirectional,
                   autoregressive=config.autoregressive, step_made=config.step_made,
                   dropout=config.dropout, labels=label_count(config), bar=config.bar,
                   handover=config.bar_handover,
                   decoder_hidden=tuple(config.decoder_hidden), label_input=config.label_input)
    likelihood = make_likelihood(config.likelihood, sigma=config.sigma,
                                 learned_variance=config.learned_variance)
    encoder = build_part("encoder", config.encoder, config.input_shape, config.latent,
                         **options)
    decoder = build_part("decoder", config.decoder, config.input_shape, config.latent,
                         likelihood, **options)
    return VAE(encoder, decoder, Prior(config.latent))


def build_discriminator(config: ModelConfig) -> Discriminator:
    """A freshly initialised discriminator (on the CPU) for the images of the model of
    ``config``, for a VAE-GAN (``TrainConfig.adversarial``)."""
    return Discriminator(config.input_shape, DISCRIMINATOR_CHANNELS)


def same_weights(first: ModelConfig, second: ModelConfig) -> bool:
    """Whether models built from the two configs have the same parameters (names and
    shapes): the configs may differ in what decides no weight, the length of LSTM
    sequences, the dropout rate and the bar hand-over, and in whether the mirror of the encoder is the
    mlp decoder's default or spelled out."""
    def weights_of(config):
        shape = tuple(config.input_shape)
        if config.encoder in SEQUENCE_ENCODERS and config.decoder in SEQUENCE_DECODERS:
            shape = shape[1:]
        return dataclasses.replace(config, input_shape=shape, dropout=0.0, bar_handover=False,
                                   label_input=config.label_input and config.conditional,
                                   decoder_hidden=decoders.mlp_hidden(config.hidden,
                                                                      config.decoder_hidden))
    return weights_of(first) == weights_of(second)


def at_length(model: VAE, config: ModelConfig, steps: int) -> VAE:
    """``model`` (built from ``config``) for sequences of ``steps`` time steps: a model
    built for inputs (steps, features) holding a copy of its parameters, on its device.

    LSTM encoders and decoders (and the hierarchical decoder, for a whole number of
    bars) have no weight that depends on the length, so this is the trained model
    itself, run for more or fewer steps: scoring whole pieces, or generating pieces
    longer than the training windows.
    """
    if config.encoder not in SEQUENCE_ENCODERS or config.decoder not in SEQUENCE_DECODERS:
        raise ConfigError("only a model with an lstm encoder and an lstm or hier decoder can "
                          "read or write another length, not {} / {}".format(
                              config.encoder, config.decoder))
    if steps < 1:
        raise ConfigError("a sequence needs at least one step, got {}".format(steps))
    shape = (steps,) + tuple(config.input_shape[1:])
    resized = build_model(dataclasses.replace(config, input_shape=shape))
    resized.copyparams(model, copy_persistent=True)
    resized.to_device(model.device)
    return resized
