"""Model quality beside published numbers, through ``chainer-vae`` itself (long; not in CI).

    python -m benchmarks.quality mnist [--epochs N | --minutes M] [--step-made UNITS]
                                       [--average DECAY] [--iw-samples 5000] [--iw-limit N]
    python -m benchmarks.quality jsb [--epochs N | --minutes M] [--window 16] [--hop WINDOW/2]
                                     [--step-made UNITS] [--transpose SEMITONES ...]
                                     [--dropout RATE] [--average DECAY] [--lr LR]
                                     [--init-from RUN ...] [--iw-samples 1000]
    python -m benchmarks.quality score RUN_DIR [--iw-samples K] [--iw-limit N]

``mnist`` and ``jsb`` train a run with ``chainer-vae train`` (the options printed in the
result) in ``OUT/<part>`` and score it with ``chainer-vae evaluate``; ``score`` scores a
run folder made any other way (e.g. continued with ``chainer-vae train --resume``). Every
part writes ``OUT/quality_<part>.json`` (``OUT`` defaults to ``runs/quality``), prints
one markdown table row and, with ``--json``, the JSON document. Methods, anchors and
every figure measured so far: benchmarks/README.md.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import chainer_vae  # noqa: F401  (before chainer)
from chainer_vae import cli
from chainer_vae.config import RunConfig
from chainer_vae.data.polyphonic import DATASETS as BENCHMARKS
from chainer_vae.errors import ChainerVAEError
from chainer_vae.inference import evaluate
from chainer_vae.runs import read_log

from benchmarks.report import run_script, write_result
from benchmarks.timing import timed

UNLIMITED_EPOCHS = 10 ** 6  # with --minutes alone, time is the only limit
REFERENCES = {
    "mnist": {"source": "Burda, Grosse & Salakhutdinov, Importance Weighted Autoencoders, "
                        "ICLR 2016, Table 1, one stochastic layer, test log p(x), K = 5000",
              "VAE k=1": -86.76, "IWAE k=50": -84.78, "goal": -85.0},
    "jsb": {"source": "Fraccaro, Sønderby, Paquet & Winther, Sequential Neural Models with "
                      "Stochastic Layers, NIPS 2016, Table 2, JSB Chorales, nats per time "
                      "step, as commonly quoted (not verified against the paper's text)",
            "SRNN": -4.74, "STORN": -6.91, "RNN-NADE": -5.19, "goal": -4.74},
}


def train_options(args):
    """The ``chainer-vae train`` options of a part (beside --out)."""
    common = ["--batch-size", args.batch_size, "--lr", args.lr, "--kl-warmup", args.kl_warmup,
              "--seed", args.seed, "--keep-snapshots", 1, "--average", args.average,
              "--epochs", args.epochs or (UNLIMITED_EPOCHS if args.minutes else 50)]
    if args.minutes:
        common += ["--max-minutes", args.minutes]
    if args.part == "mnist":
        return common + ["--dataset", "mnist", "--binarize", "dynamic", "--hidden", 500, 500,
                         "--latent", 50, "--step-made", args.step_made]
    if args.init_from:  # the model and the data options are the source run's
        options = ["--init-from"] + args.init_from
    else:
        options = ["--dataset", "jsb", "--arch", "lstm", "--autoregressive", "--latent", 32,
                   "--hidden", 256, "--step-made", args.step_made]
        args.window = args.window or 16
        args.hop = args.hop or max(1, args.window // 2)  # training windows overlap by half
    for name in ("window", "hop", "dropout"):
        if getattr(args, name) is not None:
            options += ["--" + name, getattr(args, name)]
    if args.transpose:
        options += ["--transpose"] + args.transpose
    return common + options + ["--select", "valid"]


def score(run_dir, args):
    """The result of a finished run: what it is, how it trained, its scores."""
    config = RunConfig.load(run_dir)
    whole = config.data.dataset in BENCHMARKS
    scores, eval_s = timed(evaluate, run_dir, iw_samples=args.iw_samples, limit=args.iw_limit,
                           seed=args.seed, whole=whole, progress=False)
    log = read_log(run_dir)
    last = log[-1] if log else {}
    return {"part": args.part, "run_dir": str(run_dir), "config": config.to_dict(),
            "epochs": last.get("epoch"), "train_wall_s": last.get("elapsed_time"),
            "selected_epoch": int(last.get("best_epoch", last.get("epoch", 0))),
            "evaluation": scores.to_dict(), "eval_wall_s": eval_s,
            "reference": REFERENCES["jsb" if whole else "mnist"]}


def describe(config):
    """The model of a config dict in a few words."""
    model, data = config["model"], config["data"]
    made = ", MADE {}".format(model["step_made"]) if model["step_made"] else ""
    extras = "".join(", {} {}".format(name, value) for name, value in (
        ("dropout", model["dropout"]), ("average", config["train"]["average"])) if value)
    if model["encoder"] == "lstm":
        return "{} {}: LSTM {} VAE, latent {}{}{}{}, windows of {}".format(
            data["dataset"], "autoregressive" if model["autoregressive"] else "",
            model["hidden"][0], model["latent"], made, extras,
            ", transposed {}".format(data["transpose"]) if data["transpose"] else "",
            data["window"])
    return "{} ({} binarization): {} {}-{}{}{}".format(
        data["dataset"], data["binarize"], model["encoder"],
        "-".join(str(size) for size in model["hidden"]), model["latent"], made, extras)


def row(result):
    """The markdown table row of a result (the one place results become prose)."""
    scores, reference = result["evaluation"], result["reference"]
    per_step = "log_likelihood_per_step" in scores
    figure = scores["log_likelihood_per_step"] if per_step else scores["log_likelihood"]
    anchors = ", ".join("{} {}".format(name, value) for name, value in reference.items()
                        if name not in ("source", "goal"))
    return ("| {model} | {epochs} epochs, {minutes:.0f} min, parameters of epoch {selected} | "
            "ELBO {elbo:.3f} | {figure:.3f} nats per {unit} (IWAE K={k}, {n} {split} {what}) | "
            "{anchors}; goal >= {goal}: {reached} |".format(
                model=describe(result["config"]), epochs=result["epochs"],
                minutes=(result["train_wall_s"] or 0) / 60, selected=result["selected_epoch"],
                elbo=scores["elbo_per_step"] if per_step else scores["elbo"], figure=figure,
                unit="time step" if per_step else "example", k=scores["iw_samples"],
                n=scores["n"], split=scores["split"], what="pieces" if per_step else "examples",
                anchors=anchors, goal=reference["goal"],
                reached="reached" if figure >= reference["goal"] else "not reached"))


def run(args):
    if args.part == "score":
        return score(Path(args.run_dir), args)
    run_dir = Path(args.out) / args.part
    command = ["train"] + [str(option) for option in train_options(args)] + [
        "--out", str(run_dir), "--no-progress"]
    if cli.main(command) != 0:
        raise ChainerVAEError("chainer-vae {} failed".format(" ".join(command)))
    return dict(score(run_dir, args), train_command="chainer-vae " + " ".join(command))


def parser():
    top = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    parts = top.add_subparsers(dest="part", required=True)
    for name, iw_samples in (("mnist", 5000), ("jsb", 1000), ("score", 1000)):
        part = parts.add_parser(name)
        part.add_argument("--iw-samples", type=int, default=iw_samples)
        part.add_argument("--iw-limit", type=int, help="score only the first N examples")
        part.add_argument("--seed", type=int, default=0)
        part.add_argument("--out", default="runs/quality", help="result folder")
        part.add_argument("--json", action="store_true", help="also print the JSON result")
        if name == "score":
            part.add_argument("run_dir")
            continue
        part.add_argument("--epochs", type=int, help="default 50, or no limit with --minutes")
        part.add_argument("--minutes", type=float, help="chainer-vae train --max-minutes")
        part.add_argument("--lr", type=float, default=1e-3)
        part.add_argument("--batch-size", type=int, default=100 if name == "mnist" else 32)
        part.add_argument("--kl-warmup", type=float, default=10.0 if name == "mnist" else 5.0)
        part.add_argument("--average", type=float, default=0.0, metavar="DECAY")
        part.add_argument("--step-made", type=int, default=0, metavar="UNITS")
        if name == "jsb":
            part.add_argument("--window", type=int)
            part.add_argument("--hop", type=int)
            part.add_argument("--transpose", type=int, nargs="*")
            part.add_argument("--dropout", type=float)
            part.add_argument("--init-from", nargs="+", metavar="RUN")
    return top


def main(argv=None):
    args = parser().parse_args(argv)
    result = run(args)
    write_result(result, Path(args.out) / "quality_{}.json".format(args.part), row(result),
                 args.json)
    return result


if __name__ == "__main__":
    run_script("quality.py", main)
