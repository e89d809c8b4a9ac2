"""Does a conditional VAE generate the label it is asked for? (long; not in CI)

    python -m benchmarks.conditional RUN [--n 1000] [--classifier mlp|logistic|forest]
                                         [--threshold 0.2] [--seed 0] [--out DIR] [--json]

RUN is a run folder trained with ``chainer-vae train --conditional`` on MNIST or a MIDI
folder. A classifier is fitted on real training examples and scored on the real test
examples (its accuracy; ``chainer_vae.inference.classifier``): for MNIST on the grey pixels of the 60,000 training digits (or
the run's ``--classes`` subset) and the 10,000 test digits, whatever the run's
binarization; for a MIDI folder on piano-roll features (``roll_features``) of the run's
training and test windows (split by piece). Then ``chainer-vae sample RUN --label L --n
N`` draws N prior samples of every label L, and the classifier labels them: the
agreement is the share it labels L (MNIST: the decoder's means from ``samples.npz``;
music: the means on above ``--threshold``, what the MIDI files hold). Writes
``OUT/conditional_<run name>.json`` (``OUT`` defaults to ``runs/conditional``) and prints
one markdown row. Methods and figures: benchmarks/README.md.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy

import chainer_vae  # noqa: F401  (before chainer)
from chainer_vae import cli
from chainer_vae.config import RunConfig
from chainer_vae.errors import ChainerVAEError, ConfigError
from chainer_vae.files import read_arrays
from chainer_vae.inference.classifier import CLASSIFIERS, make_classifier, real_examples
from chainer_vae.runs import read_log

from benchmarks.report import run_script, write_result
from benchmarks.timing import Clock, timed

def measure(run_dir, args):
    """The classifier's test accuracy and its agreement with every label's samples."""
    config = RunConfig.load(run_dir)
    if not config.model.conditional:
        raise ConfigError("{} was trained without --conditional".format(run_dir))
    names = config.model.label_names
    (train_x, train_y, test_x, test_y), features = real_examples(config)
    classifier, fit_s = timed(
        lambda: make_classifier(args.classifier, args.seed).fit(train_x, train_y))
    accuracy = float(numpy.mean(classifier.predict(test_x) == test_y))
    music = config.data.dataset == "midi"
    per_label, confusion = {}, numpy.zeros((len(names), len(names)), int)
    with Clock() as sampling:
        for index, name in enumerate(names):
            if index not in train_y:
                continue  # a digit left out with --classes
            out = Path(args.out) / Path(run_dir).name / name
            command = ["sample", str(run_dir), "--label", name, "--n", str(args.n), "--seed",
                       str(args.seed + index), "--out", str(out)]
            if cli.main(command) != 0:
                raise ChainerVAEError("chainer-vae {} failed".format(" ".join(command)))
            means = read_arrays(out / "samples.npz")["means"]
            drawn = (means > args.threshold).astype(numpy.float32) if music else means
            predicted = classifier.predict(features(drawn))
            per_label[name] = float(numpy.mean(predicted == index))
            confusion[index] += numpy.bincount(predicted, minlength=len(names))
    sample_s = sampling.seconds
    log = read_log(run_dir)
    return {"run_dir": str(run_dir), "config": config.to_dict(),
            "epochs": log[-1]["epoch"] if log else None,
            "train_wall_s": log[-1].get("elapsed_time") if log else None,
            "classifier": args.classifier, "classifier_fit_s": fit_s,
            "train_examples": int(len(train_y)), "test_examples": int(len(test_y)),
            "test_accuracy": accuracy, "samples_per_label": args.n,
            "threshold": args.threshold if music else None,
            "agreement": float(numpy.mean(list(per_label.values()))),
            "agreement_per_label": per_label, "confusion": confusion.tolist(),
            "label_names": names, "sample_wall_s": sample_s}


def row(result):
    """The markdown table row of a result."""
    model, data = result["config"]["model"], result["config"]["data"]
    return ("| {dataset} {folder}| {encoder}/{decoder} {hidden}-{latent}, {epochs} epochs, "
            "{minutes:.0f} min | {classifier} on {what}: test accuracy {accuracy:.2%} | "
            "{agreement:.2%} of {n} x {labels} samples | {worst} |".format(
                dataset=data["dataset"],
                folder=Path(data["data_dir"]).name + " " if data["data_dir"] else "",
                encoder=model["encoder"], decoder=model["decoder"],
                hidden="-".join(str(size) for size in model["hidden"]), latent=model["latent"],
                epochs=result["epochs"], minutes=(result["train_wall_s"] or 0) / 60,
                classifier=result["classifier"],
                what="pixels" if data["dataset"] == "mnist" else "piano-roll features",
                accuracy=result["test_accuracy"], agreement=result["agreement"],
                n=result["samples_per_label"], labels=len(result["agreement_per_label"]),
                worst="lowest: {} {:.2%}".format(*min(result["agreement_per_label"].items(),
                                                      key=lambda item: item[1]))))


def parser():
    top = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    top.add_argument("run_dir")
    top.add_argument("--n", type=int, default=1000, help="prior samples per label")
    top.add_argument("--classifier", choices=CLASSIFIERS, default="mlp")
    top.add_argument("--threshold", type=float, default=0.2,
                     help="music: a note is on above this probability (sample's default)")
    top.add_argument("--seed", type=int, default=0)
    top.add_argument("--out", default="runs/conditional", help="result folder")
    top.add_argument("--json", action="store_true", help="also print the JSON result")
    return top


def main(argv=None):
    args = parser().parse_args(argv)
    result = measure(Path(args.run_dir), args)
    write_result(result, Path(args.out) / "conditional_{}.json".format(Path(args.run_dir).name),
                 row(result), args.json)
    return result


if __name__ == "__main__":
    run_script("conditional.py", main)
