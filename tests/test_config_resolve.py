"""The rules that make a new run's config from the options given (config_resolve)."""
from dataclasses import fields

import pytest

import chainer_vae  # noqa: F401

from chainer_vae import cli
from chainer_vae.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from chainer_vae.config_resolve import (CONDITIONAL_MNIST_LATENT, DATA_OPTIONS, HIER_BARS,
                                        MODEL_OPTIONS, NOT_OPTIONS, TRAIN_OPTIONS,
                                        resolve_config, resumed_config)
from chainer_vae.errors import ConfigError


@pytest.mark.parametrize("cls,section,options", [(DataConfig, "data", DATA_OPTIONS),
                                                 (ModelConfig, "model", MODEL_OPTIONS),
                                                 (TrainConfig, "train", TRAIN_OPTIONS)])
def test_every_config_field_is_an_option_of_train_or_listed_as_none(cls, section, options):
    dests = set(vars(cli.build_parser().parse_args(["train"])))
    names = {spec.name for spec in fields(cls)}
    assert set(options) | set(NOT_OPTIONS[section]) == names
    assert not set(options) & set(NOT_OPTIONS[section])
    assert set(options) <= dests  # each sets the field of its name


def test_the_defaults_of_the_data_set_and_arch():
    config = resolve_config({"dataset": "midi", "arch": "lstm"})
    assert (config.data.dataset, config.model.encoder, config.model.decoder) == (
        "midi", "lstm", "lstm")
    assert config.model.hidden == [256] and config.data.window == 100


def test_the_hierarchical_decoder_sets_its_bar_and_window_from_the_grid():
    config = resolve_config({"dataset": "midi", "arch": "lstm", "decoder": "hier",
                             "steps_per_beat": 2})
    assert config.model.bar == 8 and config.data.window == HIER_BARS * 8
    given = resolve_config({"dataset": "midi", "arch": "lstm", "decoder": "hier",
                            "bar": 4, "window": 12})
    assert (given.model.bar, given.data.window) == (4, 12)


def test_continuous_bernoulli_reads_grey_levels_unless_told():
    assert resolve_config({"likelihood": "continuous-bernoulli"}).data.binarize == "none"
    with pytest.raises(ConfigError, match="not --binarize dynamic"):  # given, so kept
        resolve_config({"likelihood": "continuous-bernoulli", "binarize": "dynamic"})


def test_select_valid_holds_out_a_tenth_unless_told():
    assert resolve_config({"select": "valid"}).data.valid_fraction == 0.1
    assert resolve_config({"select": "valid", "valid_fraction": 0.25}).data.valid_fraction == 0.25
    assert resolve_config({}).data.valid_fraction == 0.0


def test_a_conditional_mnist_model_has_a_small_latent_unless_told():
    assert resolve_config({"conditional": True}).model.latent == CONDITIONAL_MNIST_LATENT
    assert resolve_config({"conditional": True, "latent": 7}).model.latent == 7
    with pytest.raises(ConfigError, match="needs labelled examples"):
        resolve_config({"dataset": "jsb", "arch": "lstm", "conditional": True})


def test_a_corpus_is_midi_read_from_music21():
    config = resolve_config({"dataset": "corpus:bach"})
    assert (config.data.dataset, config.data.data_dir) == ("midi", "corpus:bach")
    with pytest.raises(ConfigError, match="--data-dir: --dataset corpus:bach"):
        resolve_config({"dataset": "corpus:bach", "data_dir": "x"})


def test_an_option_of_another_data_set_is_refused():
    with pytest.raises(ConfigError, match="--classes applies to mnist only"):
        resolve_config({"dataset": "midi", "classes": [3]})


@pytest.fixture
def source_run(tmp_path):
    config = resolve_config({"dataset": "midi", "arch": "lstm", "free_nats": 2.0,
                             "beta": 0.5})
    config.model.input_shape = (16, 156)
    config.save(tmp_path)
    return str(tmp_path)


def test_init_from_keeps_the_model_and_the_objective(source_run):
    config = resolve_config({"dropout": 0.1, "epochs": 3}, init_from=[source_run])
    assert config.model.encoder == "lstm" and config.model.dropout == 0.1
    assert (config.train.free_nats, config.train.beta, config.train.epochs) == (2.0, 0.5, 3)
    assert config.train.init_from == [source_run]
    assert resolve_config({"beta": 1.0}, init_from=[source_run]).train.beta == 1.0


@pytest.mark.parametrize("given,words", [
    ({"latent": 3}, "--latent: the model comes from --init-from"),
    ({"arch": "mlp"}, "--arch: the model comes from --init-from"),
    ({"steps_per_beat": 2}, "--steps-per-beat 2: --init-from"),
    ({"dataset": "mnist"}, "--dataset mnist: --init-from")])
def test_init_from_refuses_what_contradicts_its_run(source_run, given, words):
    with pytest.raises(ConfigError, match=words):
        resolve_config(given, init_from=[source_run])


def test_resume_changes_only_what_it_may():
    saved = RunConfig()
    config = resumed_config({"epochs": 30, "lr": 1e-4}, "out", lambda: saved)
    assert (config.train.epochs, config.train.lr) == (30, 1e-4)
    with pytest.raises(ConfigError, match="cannot change --beta, --latent"):
        resumed_config({"latent": 3, "beta": 2.0, "epochs": 3}, "out", lambda: saved)
