"""The ``chainer-vae`` command: argument parsing and error-to-exit-code mapping only.

Exit codes: 0 done, 2 bad input or options (one line on stderr, no traceback),
130 interrupted.
"""
from __future__ import annotations

import argparse
import json
import sys

from chainer_vae.config import RunConfig, default_model_config
from chainer_vae.errors import ChainerVAEError

ARCHES = ("mlp", "conv", "lstm")


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line (exit 2) instead of the usage text."""

    def error(self, message):
        self.exit(2, "{}: error: {}\n".format(self.prog, message))


def _add_train(subparsers):
    p = subparsers.add_parser("train", help="train a VAE; writes a run folder",
                              formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    data = p.add_argument_group("data")
    data.add_argument("--dataset", choices=("mnist", "midi"), default="mnist")
    data.add_argument("--data-dir", help="MNIST folder (default $CHAINER_VAE_DATA/mnist, else "
                      "downloaded to ~/.cache/chainer_vae/mnist) or MIDI root of <label>/*.mid")
    data.add_argument("--binarize", choices=("none", "threshold", "dynamic"), default="threshold",
                      help="MNIST: grey levels, x >= 0.5, or Bernoulli draws every epoch")
    data.add_argument("--classes", type=int, nargs="+", help="MNIST: keep only these digits")
    data.add_argument("--train-per-class", type=int, help="MNIST: training images per digit")
    data.add_argument("--test-per-class", type=int, help="MNIST: test images per digit")
    data.add_argument("--limit", type=int, help="use only the first N training and test examples")
    data.add_argument("--steps-per-beat", type=int, default=4, help="MIDI: grid steps per quarter note")
    data.add_argument("--window", type=int, default=100, help="MIDI: steps per example")
    data.add_argument("--hop", type=int, help="MIDI: steps between windows (default: window)")
    data.add_argument("--transpose", type=int, nargs="*", default=[],
                      help="MIDI: extra training copies transposed by these semitones")

    model = p.add_argument_group("model")
    model.add_argument("--arch", choices=ARCHES, default="mlp", help="encoder and decoder")
    model.add_argument("--encoder", choices=ARCHES, help="override the encoder of --arch")
    model.add_argument("--decoder", choices=ARCHES, help="override the decoder of --arch")
    model.add_argument("--latent", type=int, help="latent size (default 20)")
    model.add_argument("--hidden", type=int, nargs="+",
                       help="hidden sizes (default: 500 for MNIST, 1000 500 100 for MIDI)")
    model.add_argument("--activation", choices=("relu", "tanh", "softplus", "elu", "leaky_relu"))
    model.add_argument("--channels", type=int, nargs="+", help="conv channels per layer")
    model.add_argument("--likelihood", choices=("bernoulli", "gaussian"), default="bernoulli")
    model.add_argument("--sigma", type=float, default=1.0, help="gaussian: fixed std")
    model.add_argument("--learned-variance", action="store_true", help="gaussian: learn the std")
    model.add_argument("--autoregressive", action="store_true",
                       help="lstm decoder reads the previous step")
    model.add_argument("--step-made", type=int, default=0, metavar="UNITS",
                       help="lstm decoder: the values within a step depend on the lower ones; "
                            "mlp decoder: each pixel on the ones before it (a MADE with UNITS "
                            "hidden units; default 0: independent)")
    model.add_argument("--dropout", type=float, default=0.0, metavar="RATE",
                       help="lstm decoder: drop this fraction of its hidden units in training "
                            "(default 0)")

    run = p.add_argument_group("training")
    run.add_argument("--epochs", type=int, default=None, help="epochs (default 20)")
    run.add_argument("--batch-size", type=int, default=100)
    run.add_argument("--lr", type=float, default=None,
                     help="Adam learning rate (default 1e-3); with --resume, continue at this "
                          "rate (saved in config.json)")
    run.add_argument("--k", type=int, default=1, help="samples of z per example in the ELBO")
    run.add_argument("--beta", type=float, default=1.0, help="weight of the KL term")
    run.add_argument("--kl-warmup", type=float, default=0.0,
                     help="epochs over which beta rises from 0 (0: no warm-up)")
    run.add_argument("--device", default="@numpy",
                     help="Chainer device: @numpy, @cupy:0, or an integer (-1 = CPU)")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--snapshot-every", type=int, default=1, help="epochs between snapshots")
    run.add_argument("--keep-snapshots", type=int, default=2, help="newest snapshots kept")
    run.add_argument("--average", type=float, default=0.0, metavar="DECAY",
                     help="evaluate and save a moving average of the parameters with this "
                          "decay per step, e.g. 0.999 (0: the parameters themselves)")
    run.add_argument("--out", default="result", help="run folder")
    run.add_argument("--resume", nargs="?", const="latest",
                     help="continue the run in --out from its newest snapshot (or this one); "
                          "its config.json is used, --epochs may extend it, --lr change the rate")
    _add_communicator(run)
    _add_progress(p)
    p.set_defaults(handler=_train)


def _add_evaluate(subparsers):
    p = subparsers.add_parser("evaluate", help="test-set ELBO and IWAE log-likelihood of a run")
    p.add_argument("run_dir")
    p.add_argument("--iw-samples", type=int, default=5000, help="importance samples K")
    p.add_argument("--limit", type=int, help="score only the first N test examples")
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--device", help="Chainer device (default: the run's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    _add_communicator(p)
    _add_progress(p)
    p.set_defaults(handler=_evaluate)


def _add_sample(subparsers):
    p = subparsers.add_parser(
        "sample", help="generate from a trained run: digits as a PNG grid, music as MIDI files")
    p.add_argument("run_dir")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--n", type=int, default=16, help="number of samples from the prior")
    p.add_argument("--temperature", type=float, default=1.0, help="z ~ N(0, temperature^2 I)")
    p.add_argument("--threshold", type=float,
                   help="binarize at this probability (MIDI default 0.2, the study's)")
    p.add_argument("--bernoulli", action="store_true", help="draw each value from p(x|z)")
    p.add_argument("--from-test", type=int, metavar="I", help="reconstruct test example I")
    p.add_argument("--interpolate", type=int, nargs=2, metavar=("A", "B"),
                   help="walk the latent space between test examples A and B")
    p.add_argument("--steps", type=int, default=8, help="interpolation steps")
    p.add_argument("--length", type=int, metavar="STEPS",
                   help="LSTM models: prior samples of this many time steps (default: the "
                        "training window)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", help="Chainer device (default: the run's)")
    p.set_defaults(handler=_sample)


def _add_plot(subparsers):
    p = subparsers.add_parser("plot", help="draw the study's figures for a trained run")
    p.add_argument("run_dir")
    p.add_argument("--out", help="output folder (default RUN_DIR/figures)")
    p.add_argument("--device", help="Chainer device (default: the run's)")
    p.set_defaults(handler=_plot)


def _add_study(subparsers):
    p = subparsers.add_parser("study", help="run the study end to end (short runs by default)")
    p.add_argument("--out", default="study", help="output folder")
    p.add_argument("--preset", choices=("quick", "full", "smoke"), default="quick",
                   help="quick: a few minutes on 2 CPU cores; full: the study's lengths "
                        "(hours on a CPU, use a GPU); smoke: seconds, for checks")
    p.add_argument("--device", default="@numpy")
    _add_progress(p)
    p.set_defaults(handler=_study)


def _add_communicator(p):
    from chainer_vae.distributed import COMMUNICATORS

    p.add_argument("--communicator", choices=COMMUNICATORS,
                   help="run data-parallel over the ranks of mpiexec with this ChainerMN "
                        "communicator: naive (CPU or GPU), or pure_nccl, flat or "
                        "non_cuda_aware (one GPU per process, --device @cupy:<local rank>); "
                        "only rank 0 writes and prints")


def _add_progress(p):
    p.add_argument("--progress", dest="progress", action="store_true", default=None,
                   help="show progress bars (default: when stderr is a terminal)")
    p.add_argument("--no-progress", dest="progress", action="store_false")


def _override_resumable(train, args):
    """The training options a resumed run may also change (epochs, lr), where given."""
    for name in ("epochs", "lr"):
        if getattr(args, name) is not None:
            setattr(train, name, getattr(args, name))


def _config_from_args(args) -> RunConfig:
    config = RunConfig()
    data = config.data
    data.dataset, data.data_dir, data.binarize = args.dataset, args.data_dir, args.binarize
    data.classes, data.limit = args.classes, args.limit
    data.train_per_class, data.test_per_class = args.train_per_class, args.test_per_class
    data.steps_per_beat, data.window, data.hop = args.steps_per_beat, args.window, args.hop
    data.transpose = list(args.transpose)

    model = default_model_config(args.dataset, args.arch)
    model.encoder = args.encoder or args.arch
    model.decoder = args.decoder or args.arch
    for name in ("latent", "hidden", "activation", "channels"):
        if getattr(args, name) is not None:
            setattr(model, name, getattr(args, name))
    model.likelihood, model.sigma = args.likelihood, args.sigma
    model.learned_variance, model.autoregressive = args.learned_variance, args.autoregressive
    model.step_made, model.dropout = args.step_made, args.dropout
    config.model = model

    train = config.train
    _override_resumable(train, args)
    train.batch_size, train.k, train.beta = args.batch_size, args.k, args.beta
    train.kl_warmup, train.device, train.seed = args.kl_warmup, args.device, args.seed
    train.snapshot_every, train.keep_snapshots = args.snapshot_every, args.keep_snapshots
    train.average = args.average
    return config


def _distributed(args):
    """The ``Distributed`` for ``--communicator``, kept on ``args`` for ``main``."""
    from chainer_vae.distributed import Distributed

    args.distributed = Distributed.create(args.communicator)
    return args.distributed


def _train(args):
    from chainer_vae.training import train

    dist = _distributed(args)
    if args.resume is not None:
        config = dist.root_value(lambda: RunConfig.load(args.out))  # rank 0's run folder
        _override_resumable(config.train, args)
    else:
        config = _config_from_args(args)
    train(config, args.out, resume=args.resume, progress=args.progress, distributed=dist)
    if dist.is_writer:
        print("trained model written to {}/model.npz".format(args.out))


def _evaluate(args):
    from chainer_vae.evaluation import evaluate

    dist = _distributed(args)
    result = evaluate(args.run_dir, iw_samples=args.iw_samples, batch_size=args.batch_size,
                      limit=args.limit, seed=args.seed, device=args.device,
                      progress=_progress(args), distributed=dist)
    if not dist.is_writer:
        return
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        print("test examples:        {}".format(result.n))
        print("ELBO:                 {:.2f} nats per example (negative ELBO {:.2f})".format(
            result.elbo, -result.elbo))
        print("log p(x), IWAE K={}: {:.2f} nats per example".format(
            result.iw_samples, result.log_likelihood))


def _sample(args):
    from chainer_vae.generation import sample_run

    paths = sample_run(args.run_dir, args.out, n=args.n, temperature=args.temperature,
                       sample=args.bernoulli, threshold=args.threshold,
                       from_test=args.from_test, interpolate_between=args.interpolate,
                       steps=args.steps, seed=args.seed, device=args.device,
                       length=args.length)
    for path in paths:
        print(path)


def _plot(args):
    from chainer_vae.plots import plot_run

    for path in plot_run(args.run_dir, args.out, device=args.device):
        print(path)


def _study(args):
    from chainer_vae.study import StudyPlan, run_study

    plan = getattr(StudyPlan, args.preset)()
    run_study(args.out, plan, device=args.device, progress=_progress(args))


def _progress(args):
    return sys.stderr.isatty() if args.progress is None else args.progress


def build_parser():
    parser = _Parser(
        prog="chainer-vae", description="Variational autoencoders in Chainer for MNIST and MIDI.")
    subparsers = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _add_train(subparsers)
    _add_evaluate(subparsers)
    _add_sample(subparsers)
    _add_plot(subparsers)
    _add_study(subparsers)
    return parser


def _user_errors():
    """The exception types that mean bad input (including unreadable or unwritable paths):
    reported in one line, exit code 2."""
    from midi.errors import MidiFileError

    return ChainerVAEError, MidiFileError, OSError


def main(argv=None):
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # usage errors (2) and --help (0)
        return exit_.code
    try:
        args.handler(args)
    except _user_errors() as error:
        message = " ".join(str(error).split())  # one line, whatever the error held
        dist = getattr(args, "distributed", None)
        if dist is not None and dist.size > 1:
            message = "[rank {} of {}] {}".format(dist.rank, dist.size, message)
        print("chainer-vae {}: error: {}".format(args.command, message), file=sys.stderr)
        if dist is not None:
            dist.abort(2)  # the other ranks may be waiting in a collective
        return 2
    except KeyboardInterrupt:
        print("chainer-vae {}: interrupted".format(args.command), file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
