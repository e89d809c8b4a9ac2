"""The config of a run from the options a user gave: the rules that fill in what was not
given (the data set's and architecture's defaults, the --init-from run's model) and refuse
what cannot go together.

Every option of ``chainer-vae train`` that fills config.json sets the config field of its
name (``--steps-per-beat`` sets ``steps_per_beat``); ``--free-bits``, the old name of
``--free-nats``, is the one flag that differs from its field.
"""
from __future__ import annotations

from dataclasses import fields

from chainer_vae import pretrained
from chainer_vae.config import (DataConfig, ModelConfig, RunConfig, TrainConfig,
                                default_model_config)
from chainer_vae.data import LABELLED_DATASETS, default_data_config
from chainer_vae.data.midi import BEATS_PER_BAR, is_corpus
from chainer_vae.data.polyphonic import DATASETS as SEQUENCE_DATASETS
from chainer_vae.errors import ConfigError

# The config fields no option sets: what the data or the saved run decides, and
# ``init_from``, which --init-from sets through ``resolve_config``'s own argument.
NOT_OPTIONS = {"data": ("windows_per_piece", "low", "high", "test_fraction"),
               "model": ("input_shape", "bidirectional", "label_names", "label_input"),
               "train": ("init_from",)}


def _options(cls, section):
    return tuple(spec.name for spec in fields(cls) if spec.name not in NOT_OPTIONS[section])


# The options of ``train`` that fill each section of config.json, by their field names.
DATA_OPTIONS = _options(DataConfig, "data")
MODEL_OPTIONS = _options(ModelConfig, "model")
TRAIN_OPTIONS = _options(TrainConfig, "train")
# the option that sets no field: the encoder and decoder together, of a new run only
ARCH_OPTION = "arch"
RESUMABLE = ("epochs", "lr", "device")  # what --resume may change (saved in config.json)
HIER_BARS = 4  # bars of a window for --decoder hier unless --window says otherwise
# A conditional MNIST model's latent unless --latent says otherwise: the label carries the
# digit, the latent its style. With 20 dimensions the encoder also puts the digit into z,
# and prior samples then follow z rather than the label asked for (benchmarks/README.md:
# 78.7 % agreement at 20, 89.3 % at 8, 98.5 % at 4).
CONDITIONAL_MNIST_LATENT = 4
# data options that mean something for some data sets only: {option: those data sets}
ONLY_FOR = {"binarize": ("mnist",), "classes": ("mnist",), "train_per_class": ("mnist",),
            "test_per_class": ("mnist",), "steps_per_beat": ("midi",),
            "window": ("midi",) + SEQUENCE_DATASETS, "hop": ("midi",) + SEQUENCE_DATASETS,
            "transpose": ("midi",) + SEQUENCE_DATASETS, "valid_fraction": ("mnist", "midi"),
            "also": ("midi",)}
# what --init-from may change about the source run's model: it decides no weight
INIT_MODEL_OPTIONS = ("dropout", "bar_handover")
# the objective a run started with --init-from keeps unless told otherwise: a model trained
# with free bits loses its latent when fine-tuned without them
INIT_OBJECTIVE = ("free_nats", "beta")


def flag(name):
    """The command-line flag of option ``name`` (a field name): ``--steps-per-beat``."""
    return "--" + name.replace("_", "-")


def _section(given, names):
    return {name: given[name] for name in names if name in given}


def resolve_config(given, init_from=None) -> RunConfig:
    """The config of a new run: the defaults of its data set and architecture, or the data
    and model of the ``init_from`` runs, with the options ``given`` on top.

    Parameters
    ----------
    given : dict
        {option: value} of the options given, by field name (``DATA_OPTIONS``,
        ``MODEL_OPTIONS``, ``TRAIN_OPTIONS``, and ``"arch"``: mlp, conv or lstm).
        ``dataset`` may be ``corpus:NAME``, music21's corpus read as MIDI.
    init_from : list of str, optional
        Run folders (or ``pretrained:NAME``) whose parameters the run begins with; the
        first one's config gives the model and the data.

    Returns
    -------
    RunConfig
        Validated. ``ConfigError`` for options that cannot go together.
    """
    data_options = _section(given, DATA_OPTIONS)
    model_options = _section(given, MODEL_OPTIONS + (ARCH_OPTION,))
    train_options = _section(given, TRAIN_OPTIONS)
    _read_corpus(data_options)
    if init_from:
        source = RunConfig.load(pretrained.run_folder(init_from[0]))
        _check_init_from(source, init_from[0], data_options, model_options)
        data, model = source.data, source.model
    else:
        data = default_data_config(data_options.get("dataset", "mnist"))
        model = default_model_config(data.dataset, model_options.pop(ARCH_OPTION, "mlp"))
    for name, value in data_options.items():
        if data.dataset not in ONLY_FOR.get(name, (data.dataset,)):
            raise ConfigError("{} applies to {} only, not to --dataset {}".format(
                flag(name), ", ".join(ONLY_FOR[name]), data.dataset))
        setattr(data, name, list(value) if name in ("transpose", "also") else value)
    for name, value in model_options.items():
        setattr(model, name, value)
    _implied(data, model, data_options, model_options, new=not init_from)
    train = TrainConfig(**train_options)
    if init_from:
        train.init_from = list(init_from)
        for name in set(INIT_OBJECTIVE) - set(train_options):
            setattr(train, name, getattr(source.train, name))
    if (train.select == "valid" and "valid_fraction" not in data_options
            and data.dataset not in SEQUENCE_DATASETS and not data.valid_fraction):
        data.valid_fraction = 0.1
    return RunConfig(data=data, model=model, train=train).validate()


def _read_corpus(data_options):
    """``--dataset corpus:NAME``: a MIDI source that is no folder, kept as the data_dir."""
    if is_corpus(data_options.get("dataset", "")):
        if "data_dir" in data_options:
            raise ConfigError("--data-dir: --dataset {} reads music21's corpus, not a folder"
                              .format(data_options["dataset"]))
        data_options["data_dir"], data_options["dataset"] = data_options["dataset"], "midi"


def _check_init_from(source, name, data_options, model_options):
    """Refuse the options that contradict the --init-from run ``name`` (config ``source``):
    another grid or data set, or a model option that decides a weight."""
    grid = data_options.get("steps_per_beat", source.data.steps_per_beat)
    if grid != source.data.steps_per_beat:
        raise ConfigError("--steps-per-beat {}: --init-from {} was trained on a grid of {} "
                          "steps per beat, MIDI pitches {}-{}; its data must be on that "
                          "grid".format(grid, name, source.data.steps_per_beat,
                                        source.data.low, source.data.high - 1))
    fixed = sorted(set(model_options) - set(INIT_MODEL_OPTIONS))
    if fixed:
        raise ConfigError("{}: the model comes from --init-from {}".format(
            ", ".join(flag(option) for option in fixed), name))
    if data_options.get("dataset", source.data.dataset) != source.data.dataset:
        raise ConfigError("--dataset {}: --init-from {} was trained on {}".format(
            data_options["dataset"], name, source.data.dataset))


def _implied(data, model, data_options, model_options, new):
    """What the model implies for what was not given: the hierarchical decoder's bar and
    window, a conditional MNIST model's latent, continuous Bernoulli's grey levels; and
    the labels a conditional model needs. ``new``: no --init-from run decided the model."""
    if model.decoder == "hier" and "bar" not in model_options:
        model.bar = BEATS_PER_BAR * data.steps_per_beat
    if model.decoder == "hier" and "window" not in data_options and new:
        data.window = HIER_BARS * model.bar  # MusicVAE's 4 bars; a data set's 100 steps are none
    if (model.conditional and data.dataset == "mnist" and "latent" not in model_options
            and new):
        model.latent = CONDITIONAL_MNIST_LATENT
    if model.conditional and data.dataset not in LABELLED_DATASETS:
        raise ConfigError("--conditional needs labelled examples ({}); the {} data set has no "
                          "labels".format(", ".join(LABELLED_DATASETS), data.dataset))
    if model.likelihood == "continuous-bernoulli" and "binarize" not in data_options:
        data.binarize = "none"  # grey levels, the only data it models


def resumed_config(given, folder, load) -> RunConfig:
    """The config of the run in ``folder`` that --resume continues, with the options
    ``given`` ({field name: value}) that --resume may change (``RESUMABLE``) on top.

    ``load()`` returns the saved config (in an MPI run, rank 0's); a ``ConfigError``
    names the options given that --resume cannot change.
    """
    fixed = sorted(set(given) - set(RESUMABLE))
    if fixed:
        raise ConfigError("--resume continues the run in {} as its config.json says; it cannot "
                          "change {}".format(folder, ", ".join(flag(name) for name in fixed)))
    config = load()
    for name, value in given.items():
        setattr(config.train, name, value)
    return config
