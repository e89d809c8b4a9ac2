"""The options of the ``chainer-vae`` command: its argparse parser (the ``type`` of each
option that is not a config field is in ``cli_types``; a config field's option is parsed and
checked by the config schema, ``config.option_type``).
"""
from __future__ import annotations

import argparse

from midi.attributes import ATTRIBUTES
from midi.corpus import CORPORA

from chainer_vae import pretrained
from chainer_vae.cli_types import (COUNT, INDEX, MAX_SPREAD, attribute_type, dataset_type,
                                   example_type, run_type)
from chainer_vae.config import (NON_NEGATIVE, SEED, DataConfig, ModelConfig, Range, TrainConfig,
                                number_type, option_type)
from chainer_vae.config_resolve import ARCH_OPTION, DATA_OPTIONS, MODEL_OPTIONS, TRAIN_OPTIONS
from chainer_vae.data.polyphonic import DATASETS as SEQUENCE_DATASETS
from chainer_vae.errors import print_warning
from chainer_vae.inference.probe import CLASSIFIERS
from chainer_vae.model.layers import ACTIVATIONS
from chainer_vae.model.likelihoods import LIKELIHOODS
from chainer_vae.training.distributed import COMMUNICATORS

ARCHES = ("mlp", "conv", "lstm")
# the options of ``train`` that fill config.json, by the config fields they set
OPTIONS = DATA_OPTIONS + MODEL_OPTIONS + TRAIN_OPTIONS + (ARCH_OPTION,)


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line (exit 2) instead of the usage text."""

    def error(self, message):
        self.exit(2, "{}: error: {}\n".format(self.prog, message))


class _FreeBits(argparse.Action):
    """``--free-bits``: ``--free-nats`` by its old name, in nats as it always took; notes
    that it was given, for ``warn_free_bits`` (MusicVAE's free bits are bits)."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)
        namespace.free_bits_given = values


def warn_free_bits(args):
    """The one-line warning of ``--free-bits``, once its run's config is sound."""
    given = getattr(args, "free_bits_given", None)
    if given is not None:
        print_warning("--free-bits {0:g} is {0:g} nats, not bits (MusicVAE's free_bits B is "
                      "B x 0.693 nats); it is deprecated: write --free-nats {0:g}".format(given))


def _schema_option(group, flag, section, **options):
    """An option of ``train`` whose value is the config field of its name in ``section``,
    parsed and checked by the schema (``config.option_type``)."""
    group.add_argument(flag, type=option_type(section, flag[2:].replace("-", "_")), **options)


def _add_train(subparsers):
    # Every option defaults to None: a run's config is its defaults (those of the data
    # set and --arch, or of the --init-from run) with the options given on top, and
    # --resume refuses the options it cannot change.
    p = subparsers.add_parser("train", help="train a VAE; writes a run folder")
    _add_data_options(p.add_argument_group("data"))
    model = p.add_argument_group("model")
    _add_model_parts(model)
    _add_model_variants(model)
    run = p.add_argument_group("training")
    _add_optimiser_options(run)
    _add_objective_options(run)
    _add_run_options(run)
    _add_progress(p)


def _add_data_options(group):
    """The data group of ``train``: what the run reads."""
    group.add_argument("--dataset", type=dataset_type,
                       help="mnist (default), midi (a folder of <label>/*.mid), corpus:NAME "
                            "(music21's corpus: {}; pip install 'chainer-vae[corpus]') or a "
                            "polyphonic benchmark: {}".format(", ".join(CORPORA),
                                                              ", ".join(SEQUENCE_DATASETS)))
    group.add_argument("--data-dir", help="MNIST folder (default $CHAINER_VAE_DATA/mnist, else "
                       "downloaded to ~/.cache/chainer_vae/mnist), MIDI root of <label>/*.mid "
                       "(default $CHAINER_VAE_DATA/bach_lute), or the folder or .mat file of a "
                       "benchmark (default $CHAINER_VAE_DATA/polyphonic)")
    group.add_argument("--binarize", choices=("none", "threshold", "dynamic"),
                       help="MNIST: grey levels, x >= 0.5 (default), or Bernoulli draws every "
                            "epoch")
    _schema_option(group, "--classes", DataConfig, nargs="+", help="MNIST: keep only these digits")
    _schema_option(group, "--train-per-class", DataConfig, help="MNIST: training images per digit")
    _schema_option(group, "--test-per-class", DataConfig, help="MNIST: test images per digit")
    _schema_option(group, "--limit", DataConfig,
                   help="use only the first N examples of each split (pieces for the "
                        "benchmarks)")
    _schema_option(group, "--steps-per-beat", DataConfig,
                   help="MIDI: grid steps per quarter note (default 4)")
    _schema_option(group, "--window", DataConfig,
                   help="music: steps per example (default 100 for MIDI, 16 for the "
                        "benchmarks)")
    _schema_option(group, "--hop", DataConfig,
                   help="music: steps between windows (default: window)")
    group.add_argument("--also", nargs="+", metavar="SOURCE",
                       help="MIDI: more pieces beside --data-dir: MIDI folders (<label>/*.mid), "
                            "corpus:NAME, benchmarks (jsb, nottingham, musedata, piano-midi) or "
                            "their .mat files, converted to the same grid; a benchmark keeps its "
                            "split")
    _schema_option(group, "--transpose", DataConfig, nargs="*",
                   help="music: extra training copies transposed by these semitones")
    _schema_option(group, "--valid-fraction", DataConfig, metavar="F",
                   help="MNIST, MIDI: hold out this fraction of the training examples "
                        "(MIDI: of the pieces) for validation (default 0.1 with --select "
                        "valid, else 0; the benchmarks have their own validation split)")


def _add_model_parts(group):
    """The model group of ``train``, its parts and sizes."""
    group.add_argument("--arch", choices=ARCHES, help="encoder and decoder (default mlp)")
    group.add_argument("--encoder", choices=ARCHES, help="override the encoder of --arch")
    group.add_argument("--decoder", choices=ARCHES + ("hier",),
                       help="override the decoder of --arch; hier: MusicVAE's hierarchical "
                            "decoder, a conductor LSTM over bars and an LSTM per bar")
    _schema_option(group, "--latent", ModelConfig, help="latent size (default 20)")
    _schema_option(group, "--hidden", ModelConfig, nargs="+",
                   help="hidden sizes (default: 500 for MNIST, 1000 500 100 for MIDI)")
    _schema_option(group, "--decoder-hidden", ModelConfig, nargs="+", metavar="SIZES",
                   help="mlp decoder: its own hidden sizes, from z to the output (default: "
                        "--hidden reversed; the study's music decoder: 100 500)")
    group.add_argument("--activation", choices=sorted(ACTIVATIONS))
    _schema_option(group, "--channels", ModelConfig, nargs="+", help="conv channels per layer")


def _add_model_variants(group):
    """The model group of ``train``, its likelihood and decoder variants."""
    group.add_argument("--likelihood", choices=sorted(LIKELIHOODS),
                       help="default bernoulli; continuous-bernoulli for grey levels (MNIST "
                            "with --binarize none, its default then)")
    _schema_option(group, "--sigma", ModelConfig, help="gaussian: fixed std (default 1)")
    group.add_argument("--learned-variance", action="store_true", default=None,
                       help="gaussian: learn the std")
    group.add_argument("--autoregressive", action="store_true", default=None,
                       help="lstm decoder reads the previous step")
    _schema_option(group, "--step-made", ModelConfig, metavar="UNITS",
                   help="lstm decoder: the values within a step depend on the lower ones; "
                        "mlp decoder: each pixel on the ones before it (a MADE with UNITS "
                        "hidden units; default 0: independent)")
    _schema_option(group, "--bar", ModelConfig, metavar="STEPS",
                   help="hier decoder: steps of a bar (default: 4 beats of --steps-per-beat; "
                        "--window must be a whole number of bars, default 4 bars)")
    group.add_argument("--bar-handover", action=argparse.BooleanOptionalAction, default=None,
                       help="hier decoder, autoregressive: each bar reads the previous bar's "
                            "last step first, as MusicVAE (default: on; an --init-from run "
                            "keeps its own)")
    _schema_option(group, "--dropout", ModelConfig, metavar="RATE",
                   help="lstm decoder: drop this fraction of its hidden units in training "
                        "(default 0)")
    group.add_argument("--conditional", action="store_true", default=None,
                       help="a conditional VAE: encoder and decoder read the label (MNIST "
                            "digit, MIDI folder label); sample --label chooses it")


def _add_optimiser_options(group):
    """The training group of ``train``: the optimiser, device and snapshots."""
    _schema_option(group, "--epochs", TrainConfig, help="epochs (default 20)")
    _schema_option(group, "--batch-size", TrainConfig, help="default 100")
    _schema_option(group, "--lr", TrainConfig, help="Adam learning rate (default 1e-3)")
    _schema_option(group, "--weight-decay", TrainConfig, metavar="RATE",
                   help="L2 penalty: add RATE x each parameter to its gradient before Adam "
                        "(chainer's WeightDecay hook; the study: 5e-4; default 0)")
    _schema_option(group, "--k", TrainConfig,
                   help="samples of z per example in the ELBO (default 1)")
    _schema_option(group, "--beta", TrainConfig, help="weight of the KL term (default 1)")
    _schema_option(group, "--kl-warmup", TrainConfig,
                   help="epochs over which beta rises from 0 (default 0: no warm-up)")
    group.add_argument("--device",
                       help="Chainer device: @numpy (default), @cupy:0, or an integer (-1 = CPU)")
    _schema_option(group, "--seed", TrainConfig, help="default 0")
    _schema_option(group, "--snapshot-every", TrainConfig,
                   help="epochs between snapshots (default 1)")
    _schema_option(group, "--keep-snapshots", TrainConfig, help="newest snapshots kept (default 2)")


def _add_objective_options(group):
    """The training group of ``train``: the objective and the parameters kept."""
    _schema_option(group, "--free-nats", TrainConfig, metavar="NATS",
                   help="charge an example's KL only above this many nats, against a decoder "
                        "that ignores z (MusicVAE's free bits in nats: its free_bits B is "
                        "B x 0.693 nats; default 0)")
    # the name of --free-nats before, with the same value in nats: old command lines (the
    # shipped models' cards) still train what they trained
    group.add_argument("--free-bits", dest="free_nats", action=_FreeBits, metavar="NATS",
                       type=option_type(TrainConfig, "free_nats"), help=argparse.SUPPRESS)
    _schema_option(group, "--average", TrainConfig, metavar="DECAY",
                   help="evaluate and save a moving average of the parameters with this "
                        "decay per step, e.g. 0.999 (default 0: the parameters themselves)")
    _schema_option(group, "--adversarial", TrainConfig, nargs="?", const=1.0, metavar="GAMMA",
                   help="MNIST: train a VAE-GAN (Larsen et al., 2016), a discriminator's "
                        "features giving the reconstruction loss; GAMMA weighs it against "
                        "the GAN loss in the decoder's objective (default 1)")
    group.add_argument("--select", choices=("last", "valid"),
                       help="the parameters the run keeps: those of the last epoch (default), or "
                            "of the epoch with the lowest validation loss (best_model.npz while "
                            "training; the log's best_epoch names it)")


def _add_run_options(group):
    """The training group of ``train``: the run folder, its start and its length."""
    group.add_argument("--max-minutes", type=number_type(float, NON_NEGATIVE), metavar="M",
                       help="end at the first end of an epoch after M minutes of training, with "
                            "a snapshot (--resume continues)")
    group.add_argument("--init-from", nargs="+", metavar="RUN",
                       help="begin with the parameters (model.npz) of this run, or the mean of "
                            "those of several runs of one model; the model is theirs, the data "
                            "options theirs unless given")
    group.add_argument("--out", default="result", help="run folder (default result)")
    group.add_argument("--resume", nargs="?", const="latest",
                       help="continue the run in --out from its newest snapshot (or this one) "
                            "with its config.json; --epochs may extend it, --lr and --device "
                            "change it")
    _add_communicator(group)


def _add_evaluate(subparsers):
    p = subparsers.add_parser("evaluate", help="ELBO and IWAE log-likelihood of a run")
    _add_run(p)
    p.add_argument("--split", choices=("test", "valid"), default="test",
                   help="the held-out split to score (default test)")
    p.add_argument("--whole", action="store_true",
                   help="benchmarks: score each piece whole at its own length, and report "
                        "nats per time step")
    p.add_argument("--iw-samples", type=COUNT, default=5000, help="importance samples K")
    p.add_argument("--limit", type=COUNT, help="score only the first N examples (pieces)")
    p.add_argument("--batch-size", type=COUNT, default=100)
    p.add_argument("--device", help="Chainer device (default: the run's)")
    p.add_argument("--seed", type=number_type(int, SEED), default=0)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    _add_communicator(p)
    _add_progress(p)


def _add_sample(subparsers):
    p = subparsers.add_parser(
        "sample", help="generate from a trained run: digits as a PNG grid, music as MIDI files")
    _add_run(p)
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--n", type=COUNT, default=16,
                   help="number of samples from the prior, or of --vary's variations")
    p.add_argument("--temperature", type=number_type(float, Range(0, MAX_SPREAD, low_open=True)),
                   default=1.0,
                   help="divide the decoder's logits by T (MusicVAE's sampling temperature; "
                        "Bernoulli models): below 1 surer, above 1 wilder (default 1, at most "
                        "{:g})".format(MAX_SPREAD))
    p.add_argument("--prior-scale", type=number_type(float, Range(0, MAX_SPREAD)), default=1.0,
                   metavar="S", help="prior samples from z ~ N(0, S^2 I) (default 1)")
    p.add_argument("--attribute", type=attribute_type, action="append", metavar="NAME=AMOUNT",
                   help="music: move prior samples, --from-test and --vary along the run's "
                        "attribute vectors (chainer-vae attributes): {}; 1 is the distance "
                        "between the bottom and top quartiles' mean codes; repeatable"
                   .format(", ".join(ATTRIBUTES)))
    p.add_argument("--threshold", type=number_type(float, Range(0, 1)),
                   help="binarize at this probability (MIDI default 0.2, the study's)")
    drawn = p.add_mutually_exclusive_group()
    drawn.add_argument("--bernoulli", action="store_true", default=None,
                       help="draw each value from p(x|z) (the default for autoregressive and "
                            "MADE decoders, whose means along a greedy decoding are no samples)")
    drawn.add_argument("--means", dest="bernoulli", action="store_false",
                       help="decode the means (greedily for autoregressive decoders)")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--from-test", type=INDEX, metavar="I", help="reconstruct test example I")
    what.add_argument("--interpolate", type=example_type, nargs=2, metavar=("A", "B"),
                      help="walk the latent space between A and B: test example indices or, "
                           "for music, MIDI files (their first window)")
    p.add_argument("--steps", type=number_type(int, Range(2)), default=8,
                   help="interpolation steps")
    what.add_argument("--vary", type=example_type, metavar="X",
                      help="--n variations of X (a test example index or, for music, a MIDI "
                           "file): decode points at --distance from its encoding")
    p.add_argument("--distance", type=number_type(float, Range(0, MAX_SPREAD)), default=1.0,
                   help="--vary: how far from the encoding, in prior standard deviations "
                        "(default 1, at most {:g})".format(MAX_SPREAD))
    length = p.add_mutually_exclusive_group()
    length.add_argument("--length", type=COUNT, metavar="STEPS",
                        help="LSTM models: prior samples of this many time steps (default: "
                             "the training window)")
    length.add_argument("--bars", type=COUNT,
                        help="LSTM models: prior samples of this many bars (4 beats, or the "
                             "hier decoder's --bar)")
    p.add_argument("--label", help="conditional models: generate this label (a digit, a "
                                   "MIDI folder's label such as jazz; default: every label in "
                                   "turn, a test example's own)")
    p.add_argument("--wav", action="store_true",
                   help="music: render a WAV beside each MIDI file (FluidSynth with a "
                        "General MIDI soundfont or $MIDI_SOUNDFONT where installed, else the "
                        "built-in synthesizer)")
    p.add_argument("--seed", type=number_type(int, SEED), default=0)
    p.add_argument("--device", help="Chainer device (default: the run's)")


def _add_attributes(subparsers):
    p = subparsers.add_parser(
        "attributes", help="music: latent directions that add note density, mean pitch, pitch "
                           "range, polyphony or notes in scale (for sample --attribute)")
    _add_run(p, "a music run folder")
    p.add_argument("--windows", type=COUNT, default=4000,
                   help="training windows drawn at random to measure them on (default 4000)")
    p.add_argument("--seed", type=number_type(int, SEED), default=0)
    p.add_argument("--device", help="Chainer device (default: the run's)")
    _add_progress(p)


def _add_plot(subparsers):
    p = subparsers.add_parser("plot", help="draw the study's figures for a trained run")
    _add_run(p)
    p.add_argument("--out", help="output folder (default RUN_DIR/figures)")
    p.add_argument("--device", help="Chainer device (default: the run's)")


def _add_probe(subparsers):
    p = subparsers.add_parser("probe", help="test error of a classifier fitted on the latent "
                                            "means of a few labelled training examples")
    _add_run(p)
    p.add_argument("--labels", type=COUNT, nargs="+", default=[100, 600, 1000, 3000],
                   help="labelled training examples, as many of each class (default 100 600 "
                        "1000 3000)")
    p.add_argument("--repeats", type=COUNT, default=10, help="draws of the labelled examples")
    p.add_argument("--classifier", choices=CLASSIFIERS, default="logistic",
                   help="logistic regression on standardised means (default), k nearest "
                        "neighbours, or label spreading over the k-NN graph of every training "
                        "example (which uses the unlabelled ones too)")
    p.add_argument("--neighbours", type=COUNT, default=10,
                   help="k of knn and of spreading's graph (default 10)")
    p.add_argument("--seed", type=number_type(int, SEED), default=0)
    p.add_argument("--device", help="Chainer device (default: the run's)")
    p.add_argument("--json", action="store_true", help="print one JSON list")
    _add_progress(p)


def _add_report(subparsers):
    p = subparsers.add_parser("report", help="write DIR/index.html: a page with the figures, "
                                             "metrics and music of a run or study folder")
    p.add_argument("folder", metavar="DIR", type=run_type,
                   help="a run folder, a study folder, or pretrained:NAME (with --out)")
    p.add_argument("--out", help="write the page here, showing the pictures and music under "
                                 "this folder (default DIR)")


def _add_pretrained(subparsers):
    p = subparsers.add_parser("pretrained", help="list the shipped models (pretrained:NAME): "
                                                 "data, terms, size, command, figures")
    p.add_argument("name", nargs="?", choices=pretrained.names() or None, metavar="NAME",
                   help="one of them: " + ", ".join(pretrained.names()))
    p.add_argument("--json", action="store_true", help="print one JSON list")


def _add_study(subparsers):
    p = subparsers.add_parser("study", help="run the study end to end (short runs by default)")
    p.add_argument("--out", default="study",
                   help="output folder; run again into it, a study stopped part way "
                        "carries on (finished stages are read again, not retrained)")
    p.add_argument("--preset", choices=("quick", "full", "smoke", "paper"), default="quick",
                   help="quick: a few minutes on 2 CPU cores; full: the study's lengths "
                        "(hours on a CPU, use a GPU); smoke: seconds, for checks; paper: the "
                        "settings of the study's code: Adam at batch 32 with L2 5e-4, MNIST at "
                        "lr 5e-5 for 150 epochs, Bach at lr 1e-5 for 100 epochs with the "
                        "decoder 20-100-500-15600 and up to 200 overlapping windows a piece, "
                        "no genre stage, the hierarchical model beside it for 200 epochs "
                        "(2 h 21 min measured on a shared 2-core machine)")
    p.add_argument("--claims", action="store_true",
                   help="instead, test the study's claims at the preset's lengths, one "
                        "experiment each: OUT/claims/claims.md (needs MNIST in "
                        "$CHAINER_VAE_DATA/mnist; the music claims need bach_lute)")
    p.add_argument("--device", default="@numpy")
    _add_progress(p)


def _add_run(p, what="a run folder"):
    p.add_argument("run_dir", type=run_type, metavar="RUN",
                   help=what + ", or a shipped model: pretrained:NAME")


def _add_communicator(p):
    p.add_argument("--communicator", choices=COMMUNICATORS,
                   help="run data-parallel over the ranks of mpiexec with this ChainerMN "
                        "communicator: naive (CPU or GPU), or pure_nccl, flat or "
                        "non_cuda_aware (one GPU per process, --device @cupy:<local rank>); "
                        "only rank 0 writes and prints")


def _add_progress(p):
    p.add_argument("--progress", dest="progress", action="store_true", default=None,
                   help="show progress bars (default: when stderr is a terminal)")
    p.add_argument("--no-progress", dest="progress", action="store_false")


def build_parser():
    """The parser of ``chainer-vae``: ``args.command`` names the command."""
    parser = _Parser(
        prog="chainer-vae", description="Variational autoencoders in Chainer for MNIST and MIDI.")
    subparsers = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _add_train(subparsers)
    _add_evaluate(subparsers)
    _add_sample(subparsers)
    _add_attributes(subparsers)
    _add_plot(subparsers)
    _add_probe(subparsers)
    _add_report(subparsers)
    _add_pretrained(subparsers)
    _add_study(subparsers)
    return parser
