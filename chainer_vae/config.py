"""Run configuration: everything needed to rebuild the data, the model and the training.

A run folder's ``config.json`` is ``RunConfig.to_dict()``; ``RunConfig.from_dict`` checks
every key, so a typo or an unknown part is a ``ConfigError`` rather than a silent default.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Tuple

from chainer_vae.errors import ConfigError, RunDirError
from chainer_vae.files import atomic_write_text

CONFIG_FILE = "config.json"
CONFIG_VERSION = 1


@dataclass
class DataConfig:
    """Where the examples come from. MNIST fields and MIDI fields; each dataset reads its own."""

    dataset: str = "mnist"
    data_dir: Optional[str] = None
    # MNIST
    binarize: str = "threshold"
    classes: Optional[List[int]] = None
    train_per_class: Optional[int] = None
    test_per_class: Optional[int] = None
    # MIDI: windows of `window` steps at `steps_per_beat`, pitches [low, high)
    steps_per_beat: int = 4
    window: int = 100
    hop: Optional[int] = None
    windows_per_piece: Optional[int] = None
    low: int = 24
    high: int = 102
    test_fraction: float = 0.2
    transpose: List[int] = field(default_factory=list)
    limit: Optional[int] = None
    # of the training examples (MNIST) or pieces (MIDI) held out for validation; the
    # polyphonic benchmarks have a validation split of their own
    valid_fraction: float = 0.0


@dataclass
class ModelConfig:
    """The parts of the VAE, looked up by name in ``chainer_vae.model``."""

    encoder: str = "mlp"
    decoder: str = "mlp"
    input_shape: Tuple[int, ...] = (784,)
    latent: int = 20
    hidden: List[int] = field(default_factory=lambda: [500])
    activation: str = "tanh"
    channels: List[int] = field(default_factory=lambda: [32, 64])
    bidirectional: bool = True
    autoregressive: bool = False
    step_made: int = 0  # hidden units of the decoder's MADE (lstm: per step, mlp: per image)
    dropout: float = 0.0  # of the lstm decoder's hidden units during training
    likelihood: str = "bernoulli"
    sigma: float = 1.0
    learned_variance: bool = False


@dataclass
class TrainConfig:
    """How the model is trained (Adam on the negative ELBO)."""

    epochs: int = 20
    batch_size: int = 100
    lr: float = 1e-3
    k: int = 1
    beta: float = 1.0
    kl_warmup: float = 0.0  # epochs over which beta rises from 0 to `beta`
    seed: int = 0
    device: str = "@numpy"
    snapshot_every: int = 1  # epochs
    keep_snapshots: int = 2  # the newest ones; older snapshots are deleted
    average: float = 0.0  # decay per step of the moving average of the parameters (0: off)
    select: str = "last"  # "valid": keep the parameters of the epoch best on validation
    init_from: List[str] = field(default_factory=list)  # weight files the run began with


@dataclass
class RunConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self):
        return {"version": CONFIG_VERSION, "data": dataclasses.asdict(self.data),
                "model": dataclasses.asdict(self.model), "train": dataclasses.asdict(self.train)}

    @classmethod
    def from_dict(cls, raw, source="config"):
        if not isinstance(raw, dict):
            raise ConfigError("{}: expected a JSON object".format(source))
        unknown = set(raw) - {"version", "data", "model", "train"}
        if unknown:
            raise ConfigError("{}: unknown section(s) {}".format(source, ", ".join(sorted(unknown))))
        config = cls(data=_section(DataConfig, raw.get("data", {}), source, "data"),
                     model=_section(ModelConfig, raw.get("model", {}), source, "model"),
                     train=_section(TrainConfig, raw.get("train", {}), source, "train"))
        config.model.input_shape = tuple(config.model.input_shape)
        return config

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
        return cls.from_dict(raw, source=str(path))


def _section(cls, values, source, name):
    if not isinstance(values, dict):
        raise ConfigError("{}: section {!r} must be an object".format(source, name))
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(values) - known
    if unknown:
        raise ConfigError("{}: unknown {} option(s): {}".format(
            source, name, ", ".join(sorted(unknown))))
    return cls(**values)


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
