"""Train, pack and measure the shipped models: ``make pretrained`` (or
``python -m chainer_vae.pretrained.build [NAME ...] [--work DIR]``).

Each recipe is one ``chainer-vae train`` command line, run as it is into ``WORK/NAME``;
the result is packed into ``chainer_vae/pretrained/NAME/`` (``config.json``, ``log``,
``model.npz`` with float16 parameters where that moves the test loss by less than
``FLOAT16_TOLERANCE``, else float32) and measured on the packed weights: the test
split's negative ELBO (``evaluate``, seed 0, which the tests reproduce) and, for music,
``chainer_vae.inference.music.music_quality``. ``card.json`` keeps the command, the data
and their terms, the training time and those figures. A music model's 8 prior samples
(MIDI, and their piano rolls in one picture) go to ``docs/samples/`` for the README.
"""
from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import midi
import numpy
from midi.corpus import CORPORA

from chainer_vae import cli
from chainer_vae.config import CONFIG_FILE, RunConfig
from chainer_vae.files import atomic_output, atomic_write_text, read_arrays
from chainer_vae.inference import evaluate
from chainer_vae.inference.music import music_quality
from chainer_vae.outputs.sample import sample_run
from chainer_vae.outputs.plots import plot_piano_rolls
from chainer_vae.pretrained import CARD_FILE, PREFIX, ROOT
from chainer_vae.runs import LOG_FILE, MODEL_FILE, read_log

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"  # what the README shows
FLOAT16_TOLERANCE = 0.002  # relative change of the test loss that float16 storage may cause
EVALUATION = {"iw_samples": 1, "seed": 0, "progress": False}  # the figure the tests reproduce
MNIST_TERMS = ("MNIST (LeCun, Cortes and Burges), commonly cited as CC BY-SA 3.0; "
               "the weights are this project's")


@dataclass(frozen=True)
class Recipe:
    """How one shipped model is made: its description, data, terms and training options."""

    description: str
    data: str
    terms: str
    options: tuple
    music: bool = True


# --free-bits: the shipped cards' command as it trained them (--free-nats by its old name,
# the same nats)
HIER = ("--arch", "lstm", "--decoder", "hier", "--autoregressive", "--step-made", "100",
        "--latent", "64", "--hidden", "256", "--free-bits", "96", "--select", "valid",
        "--seed", "0")
RECIPES = {
    "bach-chorales": Recipe(
        "MusicVAE-style hierarchical model of 4-bar windows (64 steps of 16th notes, MIDI "
        "24-101, play|onset) of Bach's chorales", "music21's corpus: bach-chorales (370 "
        "chorales, 80 % of each mode's pieces train, transposed by -2 to +2 semitones)", CORPORA["bach-chorales"].terms,
        ("--dataset", "corpus:bach-chorales", "--hop", "16", "--transpose", "-2", "-1", "1", "2",
         "--epochs", "30") + HIER),
    "folk-melodies": Recipe(
        "MusicVAE-style hierarchical model of 4-bar windows (64 steps of 16th notes) of Irish "
        "folk melodies", "music21's corpus: oneills-1850 (O'Neill's Music of Ireland, 80 % "
        "of the tunes train)", CORPORA["oneills-1850"].terms,
        ("--dataset", "corpus:oneills-1850", "--hop", "16", "--epochs", "20") + HIER),
    "mnist-z2": Recipe(
        "the study's MNIST MLP VAE (784-500-2, tanh, Bernoulli)", "MNIST, all 60,000 "
        "training digits binarized at 0.5", MNIST_TERMS,
        ("--dataset", "mnist", "--latent", "2", "--epochs", "30", "--seed", "0"), music=False),
    "mnist-z20": Recipe(
        "the study's MNIST MLP VAE (784-500-20, tanh, Bernoulli)", "MNIST, all 60,000 "
        "training digits binarized at 0.5", MNIST_TERMS,
        ("--dataset", "mnist", "--latent", "20", "--epochs", "30", "--seed", "0"), music=False),
}


def command(name) -> str:
    """The ``chainer-vae train`` command line of recipe ``name``."""
    return "chainer-vae train " + " ".join(map(shlex.quote, RECIPES[name].options)) + \
        " --out runs/pretrained/" + name


def train_recipe(name, work) -> Path:
    """Run recipe ``name`` into ``work/name`` (resuming a run that stopped); its folder."""
    out = Path(work) / name
    resume = ["--resume"] if (out / CONFIG_FILE).is_file() and not (out / MODEL_FILE).is_file() \
        else []
    if not (out / MODEL_FILE).is_file():
        code = cli.main(["train", *(RECIPES[name].options if not resume else ()), *resume,
                         "--out", str(out), "--no-progress"])
        if code:
            raise SystemExit("training {} failed (exit {})".format(name, code))
    return out


def pack(name, run, target=None) -> Path:
    """Copy run folder ``run`` into the package as ``name`` and measure it; the folder."""
    target = Path(target or ROOT / name)
    target.mkdir(parents=True, exist_ok=True)
    config = RunConfig.load(run)
    config.train.device = "@numpy"
    config.save(target)
    shutil.copyfile(Path(run) / LOG_FILE, target / LOG_FILE)
    arrays = dict(read_arrays(Path(run) / MODEL_FILE, "weights"))
    _write(target / MODEL_FILE, arrays)
    full = evaluate(target, **EVALUATION).elbo
    _write(target / MODEL_FILE, {key: value.astype(numpy.float16) if value.dtype == numpy.float32
                                 else value for key, value in arrays.items()})
    half = evaluate(target, **EVALUATION).elbo
    if abs(half - full) > FLOAT16_TOLERANCE * abs(full):
        _write(target / MODEL_FILE, arrays)
        half = full
    recipe = RECIPES[name]
    figures = {"test_loss": -half, "test_loss_float32": -full,
               "storage": "float16" if half != full else "float32"}
    if recipe.music:
        figures.update({key: value for key, value in music_quality(str(target)).items()
                        if key not in ("run_dir", "seconds")})
    entries = read_log(run)
    card = {"description": recipe.description, "data": recipe.data, "terms": recipe.terms,
            "command": command(name), "figures": figures,
            "training_minutes": round(entries[-1]["elapsed_time"] / 60, 1)}
    atomic_write_text(target / CARD_FILE, json.dumps(card, indent=2) + "\n")
    return target


def listening_samples(name, out=SAMPLES) -> Path:
    """The 8 prior samples the README shows of shipped music model ``name``:
    ``out/name/sample_00i.mid`` and ``out/name.png`` (their piano rolls, four in a row)."""
    with tempfile.TemporaryDirectory() as folder:
        paths = [path for path in sample_run(PREFIX + name, folder, n=8, seed=0)
                 if path.suffix == ".mid"]
        (out / name).mkdir(parents=True, exist_ok=True)
        for path in paths:
            shutil.copyfile(path, out / name / path.name)
    config = RunConfig.load(ROOT / name).data
    rolls = [midi.midi_to_roll(str(out / name / path.name), config.steps_per_beat, config.low,
                               config.high).to_note_state() for path in paths]
    rows = [numpy.vstack(rolls[:4]), numpy.vstack(rolls[4:])]
    return plot_piano_rolls(rows, out / (name + ".png"), titles=[
        "{}{}: prior samples 1-4 (4 bars each)".format(PREFIX, name), "samples 5-8"],
        low=config.low, steps_per_beat=config.steps_per_beat)


def _write(path, arrays):
    with atomic_output(path) as temporary:
        with open(temporary, "wb") as stream:
            numpy.savez(stream, **arrays)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help="models to make (default: all): " + ", ".join(sorted(RECIPES)))
    parser.add_argument("--work", default="runs/pretrained", help="where the runs train")
    parser.add_argument("--pack-only", action="store_true",
                        help="pack and measure runs already trained in --work")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(RECIPES))
    if unknown:
        parser.error("unknown model {}; choose from {}".format(", ".join(unknown),
                                                               ", ".join(sorted(RECIPES))))
    for name in args.names or sorted(RECIPES):
        begin = time.time()
        run = Path(args.work) / name if args.pack_only else train_recipe(name, args.work)
        print("{}: packed into {} ({:.0f} s)".format(name, pack(name, run), time.time() - begin),
              file=sys.stderr)
        if RECIPES[name].music:
            print("{}: samples in {}".format(name, listening_samples(name)), file=sys.stderr)


if __name__ == "__main__":
    main()
