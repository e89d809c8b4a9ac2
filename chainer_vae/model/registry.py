"""The part registry: a VAE built from a ``ModelConfig`` whose parts are looked up by
name, so ``config.json`` rebuilds any model."""
import dataclasses

from chainer_vae.config import ModelConfig
from chainer_vae.errors import ConfigError, choice
from chainer_vae.model.decoders import DECODERS
from chainer_vae.model.encoders import ENCODERS
from chainer_vae.model.likelihoods import make_likelihood
from chainer_vae.model.vae import VAE, Prior


def _check(config):
    if config.latent < 1:
        raise ConfigError("latent size must be at least 1, got {}".format(config.latent))
    if any(size < 1 for size in list(config.hidden) + list(config.channels)):
        raise ConfigError("hidden sizes and channels must be positive, got hidden={} "
                          "channels={}".format(config.hidden, config.channels))
    if not config.input_shape or any(size < 1 for size in config.input_shape):
        raise ConfigError("impossible input shape {}".format(tuple(config.input_shape)))
    if config.autoregressive and config.decoder != "lstm":
        raise ConfigError("--autoregressive needs the lstm decoder, not {!r}".format(config.decoder))
    if config.step_made < 0:
        raise ConfigError("--step-made must be 0 (off) or a number of hidden units, got {}".format(
            config.step_made))
    if config.step_made and config.decoder not in ("lstm", "mlp"):
        raise ConfigError("--step-made needs the lstm or mlp decoder, not {!r}".format(
            config.decoder))
    if not 0.0 <= config.dropout < 1.0:
        raise ConfigError("--dropout must be a rate in [0, 1), got {}".format(config.dropout))
    if config.dropout and config.decoder != "lstm":
        raise ConfigError("--dropout needs the lstm decoder, not {!r}".format(config.decoder))


def build_model(config: ModelConfig) -> VAE:
    """A freshly initialised VAE (on the CPU) with the parts named in ``config``."""
    _check(config)
    encoder_cls = choice(ENCODERS, config.encoder, "encoder")
    decoder_cls = choice(DECODERS, config.decoder, "decoder")
    options = dict(hidden=tuple(config.hidden), activation_name=config.activation,
                   channels=tuple(config.channels), bidirectional=config.bidirectional,
                   autoregressive=config.autoregressive, step_made=config.step_made,
                   dropout=config.dropout)
    likelihood = make_likelihood(config.likelihood, sigma=config.sigma,
                                 learned_variance=config.learned_variance)
    encoder = encoder_cls(config.input_shape, config.latent, **options)
    decoder = decoder_cls(config.input_shape, config.latent, likelihood, **options)
    return VAE(encoder, decoder, Prior(config.latent))


def same_weights(first: ModelConfig, second: ModelConfig) -> bool:
    """Whether models built from the two configs have the same parameters (names and
    shapes): the configs may differ in what decides no weight, the length of LSTM
    sequences and the dropout rate."""
    def weights_of(config):
        shape = tuple(config.input_shape)
        if config.encoder == "lstm" and config.decoder == "lstm":
            shape = shape[1:]
        return dataclasses.replace(config, input_shape=shape, dropout=0.0)
    return weights_of(first) == weights_of(second)


def at_length(model: VAE, config: ModelConfig, steps: int) -> VAE:
    """``model`` (built from ``config``) for sequences of ``steps`` time steps: a model
    built for inputs (steps, features) holding a copy of its parameters, on its device.

    LSTM encoders and decoders have no weight that depends on the length, so this is the
    trained model itself, run for more or fewer steps: scoring whole pieces, or
    generating pieces longer than the training windows.
    """
    if config.encoder != "lstm" or config.decoder != "lstm":
        raise ConfigError("only a model with lstm encoder and decoder can read or write "
                          "another length, not {} / {}".format(config.encoder, config.decoder))
    if steps < 1:
        raise ConfigError("a sequence needs at least one step, got {}".format(steps))
    shape = (steps,) + tuple(config.input_shape[1:])
    resized = build_model(dataclasses.replace(config, input_shape=shape))
    resized.copyparams(model, copy_persistent=True)
    resized.to_device(model.device)
    return resized
