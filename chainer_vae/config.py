"""Run configuration: everything needed to rebuild the data, the model and the training.

A run folder's ``config.json`` is ``RunConfig.to_dict()``. The dataclasses below are also
the schema, the one place that says what a value may be: each field's type, and in its
metadata the range (``Range``) or choices (``Choice``) allowed. ``RunConfig.load`` checks
every key of a file against it (unknown, missing, wrong type, out of range: a
``ConfigError`` naming the file and the key), ``RunConfig.validate`` checks a config built
in code, and ``option_type`` turns a field into the argparse type of its command-line
option, so ``chainer-vae train`` refuses a bad value before any work.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Tuple

from chainer_vae.errors import ConfigError, RunDirError, path_error
from chainer_vae.files import atomic_write_text

CONFIG_FILE = "config.json"
CONFIG_VERSION = 8
# Keys a config.json of an older version may lack (their default is what those runs did),
# by their names of today.
ADDED_IN = {2: {"data": {"valid_fraction"}, "train": {"select", "init_from"}},
            3: {"model": {"conditional", "label_names"}},
            4: {"model": {"bar"}, "train": {"free_nats"}},
            5: {"model": {"decoder_hidden"}, "train": {"weight_decay"}},
            6: {"data": {"also"}},
            7: {"model": {"label_input"}},
            8: {"model": {"bar_handover"}, "train": {"adversarial"}}}
# What a config.json older than a key's version did, where that is not the key's default.
LEGACY = {7: {"model": {"label_input": False}}, 8: {"model": {"bar_handover": False}}}
# Keys renamed in a version, {version: {section: {old name: new name}}}: a config.json
# older than that version is read under the new name, with the same value. free_bits was
# always nats; MusicVAE's free_bits are bits, so the name misled.
RENAMED_IN = {8: {"train": {"free_bits": "free_nats"}}}


@dataclass(frozen=True)
class Range:
    """Numbers from ``low`` to ``high`` (None: unbounded); ``open`` excludes that end."""

    low: Optional[float] = None
    high: Optional[float] = None
    low_open: bool = False
    high_open: bool = False

    def problem(self, value):
        if isinstance(value, float) and not math.isfinite(value):
            return "must be a finite number"
        too_low = self.low is not None and (value <= self.low if self.low_open
                                            else value < self.low)
        too_high = self.high is not None and (value >= self.high if self.high_open
                                              else value > self.high)
        return "must be {}".format(self.describe()) if too_low or too_high else None

    def describe(self):
        if self.high is None:
            return "{} {:g}".format("above" if self.low_open else "at least", self.low)
        return "in {}{:g}, {:g}{}".format("(" if self.low_open else "[", self.low, self.high,
                                         ")" if self.high_open else "]")


@dataclass(frozen=True)
class Choice:
    """One of ``names``."""

    names: Tuple[str, ...]

    def problem(self, value):
        return None if value in self.names else "must be one of {}".format(", ".join(self.names))


POSITIVE = Range(0, None, low_open=True)
AT_LEAST_ONE = Range(1)
NON_NEGATIVE = Range(0)
FRACTION = Range(0, 1, high_open=True)  # [0, 1)
SEED = Range(0, 2 ** 32 - 1)


def _field(default, rule=None):
    """A dataclass field with a default (lists copied per instance) and its rule."""
    metadata = {"rule": rule} if rule is not None else {}
    if isinstance(default, (list, tuple)) and not isinstance(default, str):
        return field(default_factory=lambda: type(default)(default), metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass
class DataConfig:
    """Where the examples come from. MNIST fields and music fields; each dataset reads its own."""

    dataset: str = "mnist"
    data_dir: Optional[str] = None
    # MIDI: more sources beside data_dir (MIDI folders, benchmark names or .mat files)
    also: List[str] = _field([])
    # MNIST
    binarize: str = _field("threshold", Choice(("none", "threshold", "dynamic")))
    classes: Optional[List[int]] = _field(None, Range(0, 9))
    train_per_class: Optional[int] = _field(None, AT_LEAST_ONE)
    test_per_class: Optional[int] = _field(None, AT_LEAST_ONE)
    # music: windows of `window` steps at `steps_per_beat`, MIDI pitches [low, high)
    steps_per_beat: int = _field(4, AT_LEAST_ONE)
    window: int = _field(100, AT_LEAST_ONE)
    hop: Optional[int] = _field(None, AT_LEAST_ONE)
    windows_per_piece: Optional[int] = _field(None, AT_LEAST_ONE)
    low: int = _field(24, Range(0, 127))
    high: int = _field(102, Range(1, 128))
    test_fraction: float = _field(0.2, FRACTION)
    transpose: List[int] = _field([], Range(-127, 127))
    limit: Optional[int] = _field(None, AT_LEAST_ONE)
    # of the training examples (MNIST) or pieces (MIDI) held out for validation; the
    # polyphonic benchmarks have a validation split of their own
    valid_fraction: float = _field(0.0, FRACTION)


@dataclass
class ModelConfig:
    """The parts of the VAE, looked up by name in ``chainer_vae.model``."""

    encoder: str = "mlp"
    decoder: str = "mlp"
    input_shape: Tuple[int, ...] = _field((784,), AT_LEAST_ONE)
    latent: int = _field(20, AT_LEAST_ONE)
    hidden: List[int] = _field([500], AT_LEAST_ONE)
    # the mlp decoder's hidden sizes from z to the output; empty: ``hidden`` reversed
    decoder_hidden: List[int] = _field([], AT_LEAST_ONE)
    activation: str = "tanh"
    channels: List[int] = _field([32, 64], AT_LEAST_ONE)
    bidirectional: bool = True
    autoregressive: bool = False
    # hidden units of the decoder's MADE (lstm: per step, mlp: per image); 0: none
    step_made: int = _field(0, NON_NEGATIVE)
    dropout: float = _field(0.0, FRACTION)  # of the lstm decoder's hidden units in training
    likelihood: str = "bernoulli"
    sigma: float = _field(1.0, POSITIVE)
    learned_variance: bool = False
    # a conditional VAE (Sohn et al., 2015): the encoder's head and the decoder read the
    # one-hot label beside the features and z; ``label_names`` are the data's labels, in
    # the order of their indices (set from the data when the model is first built)
    conditional: bool = False
    label_names: List[str] = _field([])
    # a conditional encoder's features read the label beside x too (Sohn et al.); runs of
    # config versions before 7 read it at the encoder's head only
    label_input: bool = True
    bar: int = _field(16, AT_LEAST_ONE)  # steps of a bar, for the hierarchical decoder
    # an autoregressive hierarchical decoder's bar reads the previous bar's last step first
    # (MusicVAE); runs of config versions before 8 read zeros there
    bar_handover: bool = True


@dataclass
class TrainConfig:
    """How the model is trained (Adam on the negative ELBO)."""

    epochs: int = _field(20, AT_LEAST_ONE)
    batch_size: int = _field(100, AT_LEAST_ONE)
    lr: float = _field(1e-3, POSITIVE)
    k: int = _field(1, AT_LEAST_ONE)
    beta: float = _field(1.0, NON_NEGATIVE)
    kl_warmup: float = _field(0.0, NON_NEGATIVE)  # epochs over which beta rises from 0
    seed: int = _field(0, SEED)
    device: str = "@numpy"
    snapshot_every: int = _field(1, AT_LEAST_ONE)  # epochs
    keep_snapshots: int = _field(2, AT_LEAST_ONE)  # the newest ones; older ones are deleted
    # decay per step of the moving average of the parameters (0: off)
    average: float = _field(0.0, FRACTION)
    # "valid": keep the parameters of the epoch best on the validation split
    select: str = _field("last", Choice(("last", "valid")))
    init_from: List[str] = _field([])  # run folders whose parameters the run began with
    # nats of KL per example the loss does not charge (0: off); MusicVAE's free bits, in
    # nats: its free_bits of B bits are B ln 2 nats
    free_nats: float = _field(0.0, NON_NEGATIVE)
    # L2 penalty: this rate times each parameter is added to its gradient before Adam
    # (chainer's WeightDecay hook, as in the study's code; 0: off; above 1 it only diverges)
    weight_decay: float = _field(0.0, FRACTION)
    # a VAE-GAN (Larsen et al., 2016) when above 0: the weight gamma of the reconstruction
    # in a discriminator's features against the GAN loss in the decoder's objective
    adversarial: float = _field(0.0, NON_NEGATIVE)


SECTIONS = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig}


@dataclass
class RunConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self):
        return {"version": CONFIG_VERSION, "data": dataclasses.asdict(self.data),
                "model": dataclasses.asdict(self.model), "train": dataclasses.asdict(self.train)}

    def validate(self, source=None):
        """A ``ConfigError`` for the first value the schema refuses, naming it as the
        command-line option (``source`` None) or as ``section.key`` of ``source``."""
        for name in SECTIONS:
            validate_section(getattr(self, name), source)
        if self.data.low >= self.data.high:
            raise ConfigError("{}the lowest pitch {} is not below the highest {}".format(
                "" if source is None else source + ": ", self.data.low, self.data.high))
        self._check_music_shape(source)
        self._check_adversarial(source)
        grey = self.data.dataset == "mnist" and self.data.binarize == "none"
        if self.model.likelihood == "continuous-bernoulli" and not grey:
            raise ConfigError("{}the continuous-bernoulli likelihood models grey levels: it "
                              "needs --dataset mnist --binarize none, not {}".format(
                                  "" if source is None else source + ": ",
                                  "--binarize " + self.data.binarize
                                  if self.data.dataset == "mnist"
                                  else "--dataset " + self.data.dataset))
        return self

    def _check_music_shape(self, source):
        """A MIDI model's example width against the data's pitch range, and a hierarchical
        decoder's bars against its steps: fields that a hand-edited config.json can set
        apart (once the data set the shape: 2-D for music)."""
        data, model = self.data, self.model
        where = "" if source is None else source + ": "
        if data.dataset == "mnist" or len(model.input_shape) != 2:
            return
        steps, width = model.input_shape
        # a note state of the pitch range; the benchmarks' 88 keys are theirs, whatever
        # data.low and data.high say
        if data.dataset == "midi" and width != 2 * (data.high - data.low):
            raise ConfigError("{}model.input_shape {} does not fit the pitch range data.low {} "
                              "to data.high {}: {} values a step (play | onset) expected".format(
                                  where, list(model.input_shape), data.low, data.high,
                                  2 * (data.high - data.low)))
        if model.decoder == "hier" and steps % model.bar:
            raise ConfigError("{}model.input_shape {}: {} steps are no whole number of model.bar "
                              "{} steps".format(where, list(model.input_shape), steps, model.bar))

    def _check_adversarial(self, source):
        """A VAE-GAN's discriminator reads images that the decoder draws in one pass: MNIST,
        a Bernoulli or Gaussian likelihood (a differentiable mean), no decoder that reads
        its own output, one z per example, no free bits."""
        if not self.train.adversarial:
            return
        where = "" if source is None else source + ": "
        model = self.model
        problem = ("it needs --dataset mnist (images), not {}".format(self.data.dataset)
                   if self.data.dataset != "mnist" else
                   "its decoder reads its own output (--autoregressive, --step-made)"
                   if model.autoregressive or model.step_made else
                   "the {} likelihood has no mean to show a discriminator (bernoulli or "
                   "gaussian)".format(model.likelihood)
                   if model.likelihood not in ("bernoulli", "gaussian") else
                   "it trains on one z per example, not --k {}".format(self.train.k)
                   if self.train.k != 1 else
                   "it charges the whole KL, not --free-nats" if self.train.free_nats else None)
        if problem:
            raise ConfigError("{}--adversarial trains a VAE-GAN on images: {}".format(
                where, problem))

    @classmethod
    def from_dict(cls, raw, source="config"):
        if not isinstance(raw, dict):
            raise ConfigError("{}: expected a JSON object".format(source))
        unknown = set(raw) - {"version"} - set(SECTIONS)
        if unknown:
            raise ConfigError("{}: unknown section(s) {}".format(
                source, ", ".join(sorted(unknown))))
        version = raw.get("version", 1)
        if version not in range(1, CONFIG_VERSION + 1):
            raise ConfigError("{}: config version {!r} is not one this chainer-vae reads "
                              "(1 to {})".format(source, version, CONFIG_VERSION))
        sections = {name: _section(section_cls, raw.get(name), source, name, version)
                    for name, section_cls in SECTIONS.items()}
        config = cls(**sections)
        config.model.input_shape = tuple(config.model.input_shape)
        return config.validate(source)

    def save(self, run_dir):
        """Write ``run_dir/config.json`` atomically."""
        atomic_write_text(Path(run_dir) / CONFIG_FILE, json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, run_dir):
        path = Path(run_dir) / CONFIG_FILE
        if not Path(run_dir).is_dir():
            raise RunDirError("{}: no such run folder".format(run_dir))
        if not path.is_file():
            raise RunDirError("{}: not a run folder (no {})".format(run_dir, CONFIG_FILE))
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as error:
            raise ConfigError("{}: not valid JSON ({})".format(path, error)) from None
        except OSError as error:
            raise path_error(error, path, "read") from None
        return cls.from_dict(raw, source=str(path))


def validate_section(section, source=None):
    """``RunConfig.validate`` for one section (a ``DataConfig``, ``ModelConfig`` or
    ``TrainConfig``); returns it."""
    name = next(name for name, cls in SECTIONS.items() if isinstance(section, cls))
    for spec in dataclasses.fields(section):
        _check(getattr(section, spec.name), _hints(type(section))[spec.name], spec, name, source)
    return section


def _hints(cls):
    return typing.get_type_hints(cls)


def _section(cls, values, source, name, version):
    if not isinstance(values, dict):
        raise ConfigError("{}: section {!r} must be an object".format(source, name))
    values = _renamed(values, source, name, version)
    known = {spec.name for spec in dataclasses.fields(cls)}
    unknown = set(values) - known
    if unknown:
        raise ConfigError("{}: unknown {} key(s): {}".format(
            source, name, ", ".join(sorted(unknown))))
    may_lack = set().union(*(added.get(name, set()) for since, added in ADDED_IN.items()
                             if version < since))
    missing = known - set(values) - may_lack
    if missing:
        raise ConfigError("{}: {} key(s) missing: {}".format(
            source, name, ", ".join(sorted(missing))))
    for key, value in values.items():
        _check(value, _hints(cls)[key], _spec(cls, key), name, source)
    legacy = {key: value for since, sections in LEGACY.items() if version < since
              for key, value in sections.get(name, {}).items() if key not in values}
    return cls(**{**legacy, **values})


def _renamed(values, source, name, version):
    """The keys of section ``name`` of a config.json of ``version`` under their names of
    today (``RENAMED_IN``)."""
    values = dict(values)
    for since, sections in sorted(RENAMED_IN.items()):
        for old, new in sections.get(name, {}).items():
            if version >= since or old not in values:
                continue
            if new in values:
                raise ConfigError("{}: {}.{} and {}.{} are one key (named {} before config "
                                  "version {}); keep one".format(source, name, old, name, new,
                                                                  old, since))
            values[new] = values.pop(old)
    return values


def _spec(cls, name):
    return next(spec for spec in dataclasses.fields(cls) if spec.name == name)


def _check(value, hint, spec, section, source):
    """A ``ConfigError`` unless ``value`` has the type ``hint`` and obeys the field's rule."""
    problem = _problem(value, hint, spec.metadata.get("rule"))
    if problem:
        where = (_flag(spec.name) if source is None
                 else "{}: {}.{}".format(source, section, spec.name))
        raise ConfigError("{} {}, got {!r}".format(where, problem, value))


def _problem(value, hint, rule):
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Union:  # Optional[X]
        return None if value is None else _problem(value, args[0], rule)
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            return "must be a list"
        return next((p for p in (_problem(item, args[0], rule) for item in value) if p), None)
    if not _has_type(value, hint):
        return "must be {}".format({int: "an integer", float: "a number", str: "a string",
                                    bool: "true or false"}[hint])
    return rule.problem(value) if rule is not None else None


def _has_type(value, hint):
    if hint is bool:
        return isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, hint) and not isinstance(value, bool)


def _flag(name):
    return "--" + name.replace("_", "-")


def option_type(cls, name):
    """The argparse ``type`` of the option that sets field ``name`` of ``cls`` (one item
    for list fields): parses the text and refuses what the schema refuses."""
    hint = _hints(cls)[name]
    while typing.get_origin(hint) in (typing.Union, list, tuple):
        hint = typing.get_args(hint)[0]
    rule = _spec(cls, name).metadata.get("rule")
    return number_type(hint, rule)


def number_type(kind, rule=None):
    """An argparse ``type``: ``kind`` (int or float) parsed from the text, finite, and
    obeying ``rule`` (a ``Range``)."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError("{!r} is not {}".format(
                text, "an integer" if kind is int else "a number")) from None
        problem = _problem(value, kind, rule)
        if problem:
            raise argparse.ArgumentTypeError("{}, got {}".format(problem, text))
        return value
    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


def default_model_config(dataset="mnist", arch="mlp") -> ModelConfig:
    """The model a dataset and architecture start from.

    MNIST: Chainer's VAE example (784-500-20, tanh) for mlp. MIDI: the study's MLP
    (15600-1000-500-100-20, ReLU). Conv and LSTM parts take their first hidden size as the
    width of their dense layer or LSTM state.
    """
    if arch == "mlp":
        hidden, act = ([500], "tanh") if dataset == "mnist" else ([1000, 500, 100], "relu")
    else:
        hidden, act = [256], "relu"
    return ModelConfig(encoder=arch, decoder=arch, hidden=hidden, activation=act)
