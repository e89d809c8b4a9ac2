"""config.json and the schema in chainer_vae.config: what a file or an option may hold."""
import argparse
import json

import pytest

import chainer_vae  # noqa: F401

from chainer_vae.config import (CONFIG_VERSION, DataConfig, ModelConfig, RunConfig, TrainConfig,
                                option_type)
from chainer_vae.errors import ConfigError


def write(tmp_path, raw):
    (tmp_path / "config.json").write_text(json.dumps(raw))
    return tmp_path


def test_a_saved_config_loads_back_equal(tmp_path):
    config = RunConfig()
    config.model.hidden, config.train.init_from = [7, 3], ["/a/run"]
    config.save(tmp_path)
    assert RunConfig.load(tmp_path) == config
    assert json.loads((tmp_path / "config.json").read_text())["version"] == CONFIG_VERSION


@pytest.mark.parametrize("edit,words", [
    (lambda raw: raw["model"].update(latent="abc"), ["model.latent", "must be an integer", "'abc'"]),
    (lambda raw: raw["model"].update(hidden=5), ["model.hidden", "must be a list"]),
    (lambda raw: raw["model"].update(hidden=[5, 0]), ["model.hidden", "at least 1"]),
    (lambda raw: raw["model"].update(bidirectional=1), ["model.bidirectional", "true or false"]),
    (lambda raw: raw["train"].update(lr=-1), ["train.lr", "above 0"]),
    (lambda raw: raw["train"].update(average=1.0), ["train.average", "[0, 1)"]),
    (lambda raw: raw["train"].update(select="best"), ["train.select", "last, valid"]),
    (lambda raw: raw["data"].update(low=110), ["lowest pitch 110", "highest 102"]),
    (lambda raw: raw["data"].pop("window"), ["data key(s) missing: window"]),
    (lambda raw: raw["train"].update(colour="blue"), ["unknown train key(s): colour"]),
    (lambda raw: raw.update(extra={}), ["unknown section(s) extra"]),
    (lambda raw: raw.update(model=[]), ["section 'model' must be an object"]),
    (lambda raw: raw.update(version=99), ["config version 99"]),
    (lambda raw: raw["model"].update(conditional="yes"), ["model.conditional", "true or false"]),
    (lambda raw: raw["model"].update(label_names=[3]), ["model.label_names", "a string"]),
    (lambda raw: raw["model"].update(likelihood="continuous-bernoulli"),
     ["continuous-bernoulli", "--binarize none"]),
    (lambda raw: raw["model"].update(decoder_hidden=[100, 0]),
     ["model.decoder_hidden", "at least 1"]),
    (lambda raw: raw["train"].update(weight_decay=-5e-4), ["train.weight_decay", "[0, 1)"]),
])
def test_a_bad_config_names_the_file_and_the_key(tmp_path, edit, words):
    raw = RunConfig().to_dict()
    edit(raw)
    with pytest.raises(ConfigError) as caught:
        RunConfig.load(write(tmp_path, raw))
    message = str(caught.value)
    assert str(tmp_path / "config.json") in message
    for word in words:
        assert word in message


# The keys each config version added, with the values runs written before it had.
ADDED_KEYS = [
    (2, {"data": {"valid_fraction": 0.0}, "train": {"select": "last", "init_from": []}}),
    (3, {"model": {"conditional": False, "label_names": []}}),
    (4, {"model": {"bar": 16}, "train": {"free_nats": 0.0}}),
    (5, {"model": {"decoder_hidden": []}, "train": {"weight_decay": 0.0}}),
    (6, {"data": {"also": []}}),
    (7, {"model": {"label_input": False}}),
    (8, {"model": {"bar_handover": False}, "train": {"adversarial": 0.0}}),
]


@pytest.mark.parametrize("version,added", ADDED_KEYS)
def test_an_older_config_lacks_only_the_keys_added_since(tmp_path, version, added):
    raw = RunConfig().to_dict()
    raw["version"] = version - 1
    for section, keys in added.items():
        for key in keys:
            del raw[section][key]
    config = RunConfig.load(write(tmp_path, raw))
    for section, keys in added.items():
        assert {key: getattr(getattr(config, section), key) for key in keys} == keys
    raw["version"] = version  # from this version on, the keys are required
    first = next(section for section in ("data", "model", "train") if section in added)
    with pytest.raises(ConfigError, match="{} key.s. missing: {}".format(
            first, ", ".join(sorted(added[first])))):
        RunConfig.load(write(tmp_path, raw))
    del raw["train"]["epochs"]  # a key no version lacked
    raw["version"] = 1
    with pytest.raises(ConfigError, match="train key.s. missing: epochs"):
        RunConfig.load(write(tmp_path, raw))


def test_free_bits_of_a_config_before_version_8_are_its_free_nats(tmp_path):
    """Version 8 renamed train.free_bits (always nats) to free_nats: the same number."""
    old = RunConfig().to_dict()
    del old["train"]["free_nats"]
    old["version"], old["train"]["free_bits"] = 7, 96.0
    config = RunConfig.load(write(tmp_path, old))
    assert config.train.free_nats == 96.0
    config.save(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert (saved["version"], saved["train"]["free_nats"]) == (8, 96.0)
    assert "free_bits" not in saved["train"]
    both = dict(old, train=dict(old["train"], free_nats=96.0))
    with pytest.raises(ConfigError, match="train.free_bits and train.free_nats are one key"):
        RunConfig.load(write(tmp_path, both))
    with pytest.raises(ConfigError, match="unknown train key.s.: free_bits"):
        RunConfig.load(write(tmp_path, dict(old, version=8)))


def test_a_version_4_config_builds_the_mirror_decoder(tmp_path):
    from chainer_vae.model import build_model

    raw = RunConfig().to_dict()
    raw["version"] = 4
    del raw["model"]["decoder_hidden"], raw["train"]["weight_decay"]
    decoder = build_model(RunConfig.load(write(tmp_path, raw)).model).decoder
    assert [decoder.trunk[0].W.shape, decoder.out.W.shape] == [(500, 20), (784, 500)]  # 20-500-784


def test_validate_names_the_command_line_option():
    config = RunConfig()
    config.train.kl_warmup = -5
    with pytest.raises(ConfigError, match=r"^--kl-warmup must be at least 0, got -5$"):
        config.validate()
    config.train.kl_warmup, config.model.dropout = 0, float("nan")
    with pytest.raises(ConfigError, match="--dropout must be a finite number"):
        config.validate()


@pytest.mark.parametrize("cls,name,text,value", [
    (ModelConfig, "latent", "3", 3), (TrainConfig, "lr", "1e-4", 1e-4),
    (DataConfig, "transpose", "-2", -2), (TrainConfig, "average", "0", 0.0),
    (TrainConfig, "weight_decay", "5e-4", 5e-4), (ModelConfig, "decoder_hidden", "100", 100),
])
def test_option_types_parse_what_the_schema_allows(cls, name, text, value):
    assert option_type(cls, name)(text) == value


@pytest.mark.parametrize("cls,name,text", [
    (ModelConfig, "latent", "0"), (ModelConfig, "latent", "2.5"), (TrainConfig, "lr", "nan"),
    (TrainConfig, "lr", "0"), (TrainConfig, "beta", "inf"), (TrainConfig, "average", "1"),
    (DataConfig, "classes", "10"), (TrainConfig, "seed", "-1"), (DataConfig, "limit", "-5"),
    (TrainConfig, "weight_decay", "-1"), (ModelConfig, "decoder_hidden", "0"),
])
def test_option_types_refuse_what_the_schema_refuses(cls, name, text):
    with pytest.raises(argparse.ArgumentTypeError):
        option_type(cls, name)(text)
