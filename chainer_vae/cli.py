"""The ``chainer-vae`` command: each command's call and the error-to-exit-code mapping;
its options are ``cli_parser``'s, a new run's config ``config_resolve``'s.

Exit codes: 0 done, 1 a bug (with its traceback), 2 bad input or options (one line on
stderr, no traceback), 130 interrupted.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy
from midi.attributes import ATTRIBUTES
from midi.errors import MidiFileError
from midi.render import choose_synth, render_wav
from midi.walk import tolerant_output

from chainer_vae import pretrained
from chainer_vae.claims import ClaimsPlan, run_claims
from chainer_vae.cli_parser import OPTIONS, build_parser, warn_free_bits
from chainer_vae.config import RunConfig
from chainer_vae.config_resolve import resolve_config, resumed_config
from chainer_vae.errors import ChainerVAEError, ConfigError
from chainer_vae.inference import attributes, evaluate
from chainer_vae.inference.probe import probe
from chainer_vae.outputs.actions import plot_run
from chainer_vae.outputs.report import write_report
from chainer_vae.outputs.sample import sample_run
from chainer_vae.runs import load_run
from chainer_vae.study import StudyPlan, run_study
from chainer_vae.training import train
from chainer_vae.training.distributed import for_communicator

def _given(args, names):
    """{name: value} of the options among ``names`` given on the command line."""
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


def _resumed_config(args, dist) -> RunConfig:
    """The config of the run in --out (rank 0's), with the options --resume may change."""
    given = _given(args, OPTIONS + ("init_from",))
    return resumed_config(given, args.out, lambda: dist.root_value(
        lambda: RunConfig.load(args.out)))


def _distributed(args):
    """This process's part in the run for ``--communicator``, kept on ``args`` for ``main``."""
    args.distributed = for_communicator(args.communicator)
    return args.distributed


def _train(args):
    dist = _distributed(args)
    if args.resume is not None:
        config = _resumed_config(args, dist)
    else:
        config = resolve_config(_given(args, OPTIONS), init_from=args.init_from)
    warn_free_bits(args)
    train(config, args.out, resume=args.resume, progress=args.progress, distributed=dist,
          max_minutes=args.max_minutes)
    if dist.is_writer:
        print("trained model written to {}/model.npz".format(args.out))


def _evaluate(args):
    dist = _distributed(args)
    result = evaluate(args.run_dir, iw_samples=args.iw_samples, batch_size=args.batch_size,
                      limit=args.limit, seed=args.seed, device=args.device, split=args.split,
                      whole=args.whole, progress=_progress(args), distributed=dist)
    if not dist.is_writer:
        return
    if args.json:
        print(json.dumps(result.to_dict()))
        return
    unit = "piece" if args.whole else "example"
    print("{} {}s:{}{}".format(result.split, unit, " " * (14 - len(result.split) - len(unit)),
                               result.n))
    print("ELBO:                 {:.2f} nats per {} (negative ELBO {:.2f})".format(
        result.elbo, unit, -result.elbo))
    print("log p(x), IWAE K={}: {:.2f} nats per {}".format(
        result.iw_samples, result.log_likelihood, unit))
    if args.whole:
        print("per time step:        ELBO {:.3f}, IWAE {:.3f} nats ({} steps)".format(
            result.elbo_per_step, result.log_likelihood_per_step, result.steps))


def _sample(args):
    if args.wav:  # before any work
        if RunConfig.load(args.run_dir).data.dataset == "mnist":
            raise ConfigError("--wav renders music; {} models images".format(args.run_dir))
        synth = choose_synth()
    paths = sample_run(args.run_dir, args.out, n=args.n, scale=args.prior_scale,
                       temperature=args.temperature, amounts=dict(args.attribute or ()),
                       sample=args.bernoulli, threshold=args.threshold,
                       from_test=args.from_test, interpolate_between=args.interpolate,
                       steps=args.steps, seed=args.seed, device=args.device,
                       length=args.length, label=args.label, vary=args.vary,
                       distance=args.distance, bars=args.bars)
    for path in paths:
        print(path)
        if args.wav and path.suffix == ".mid":
            print(render_wav(path, synth=synth))


def _attributes(args):
    run = load_run(args.run_dir, device=args.device, progress=_progress(args))
    found = attributes.compute(run, windows=args.windows, seed=args.seed)
    path = attributes.save(found, args.run_dir)
    print("{} windows; the mean attribute of the bottom and top quartiles, the vector's "
          "length:".format(found.windows))
    for name in ATTRIBUTES:
        print("{:14s} {:9.3f} {:9.3f} {:8.3f}".format(name, found.low[name], found.high[name],
                                                      float(numpy.linalg.norm(
                                                          found.vectors[name]))))
    print(path)


def _plot(args):
    if args.out is None and _in_package(args.run_dir):
        raise ConfigError("{}{} is a shipped model; give --out for its figures".format(
            pretrained.PREFIX, args.run_dir.name))
    for path in plot_run(args.run_dir, args.out, device=args.device):
        print(path)


def _probe(args):
    results = probe(args.run_dir, labels=args.labels, repeats=args.repeats,
                    classifier=args.classifier, neighbours=args.neighbours, seed=args.seed,
                    device=args.device, progress=_progress(args))
    if args.json:
        print(json.dumps([result.to_dict() for result in results]))
        return
    print("labels  test error ({}, mean +- std over {} draws)".format(
        args.classifier, args.repeats))
    for result in results:
        print("{:6d}  {:6.2f} % +- {:.2f}".format(result.labels, 100 * result.mean,
                                                  100 * result.std))


def _report(args):
    if args.out is None and _in_package(args.folder):
        raise ConfigError("{}{} is a shipped model; give --out for its page (e.g. the folder "
                          "of its samples)".format(pretrained.PREFIX, args.folder.name))
    print(write_report(args.folder, args.out))


def _in_package(folder):
    """Whether ``folder`` is a shipped model's, which commands read but never write."""
    return pretrained.ROOT in Path(folder).resolve().parents


def _pretrained(args):
    names = [args.name] if args.name else pretrained.names()
    cards = [pretrained.card(name) for name in names]
    if args.json:
        print(json.dumps([dict(name=card.name, description=card.description, data=card.data,
                               terms=card.terms, command=card.command, figures=card.figures,
                               training_minutes=card.training_minutes, bytes=card.size)
                          for card in cards]))
        return
    for card in cards:
        figures = ", ".join("{} {}".format(key, "{:.4g}".format(value) if isinstance(
            value, float) else value) for key, value in card.figures.items()
            if isinstance(value, (int, float, str)) and key != "run_dir")
        print("{}{}: {}\n  data: {}\n  terms: {}\n  size: {:.1f} MB, trained {} min by: {}"
              "\n  measured: {}".format(pretrained.PREFIX, card.name, card.description,
                                       card.data, card.terms, card.size / 1e6,
                                       card.training_minutes, card.command, figures))


def _study(args):
    if args.claims:
        run_claims(args.out, ClaimsPlan.preset(args.preset), device=args.device,
                   progress=_progress(args))
        return
    plan = getattr(StudyPlan, args.preset)()
    run_study(args.out, plan, device=args.device, progress=_progress(args))


def _progress(args):
    return sys.stderr.isatty() if args.progress is None else args.progress


# what each command does, by its name
HANDLERS = {"train": _train, "evaluate": _evaluate, "sample": _sample, "attributes": _attributes,
            "plot": _plot, "probe": _probe, "report": _report, "pretrained": _pretrained,
            "study": _study}


# The exception types that mean bad input (including a path the user gave that cannot be
# read or written, errors.PathError): reported in one line, exit code 2. Any other
# OSError is a bug and shows its traceback.
USER_ERRORS = (ChainerVAEError, MidiFileError)


def main(argv=None):
    tolerant_output()
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # usage errors (2) and --help (0)
        return exit_.code
    try:
        HANDLERS[args.command](args)
    except USER_ERRORS as error:
        message = " ".join(str(error).split())  # one line, whatever the error held
        dist = getattr(args, "distributed", None)
        if dist is not None and dist.size > 1:
            message = "[rank {} of {}] {}".format(dist.rank, dist.size, message)
        print("chainer-vae {}: error: {}".format(args.command, message), file=sys.stderr)
        if dist is not None:
            dist.abort(2)  # the other ranks may be waiting in a collective
        return 2
    except MemoryError:  # what the size checks did not foresee
        print("chainer-vae {}: error: out of memory; ask for smaller sizes".format(
            args.command), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("chainer-vae {}: interrupted".format(args.command), file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
