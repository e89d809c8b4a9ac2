"""Model quality: test log-likelihoods beside published numbers (long; not part of CI).

    python benchmarks/quality.py mnist [--epochs 50] [--minutes M] [--iw-samples 5000]
                                       [--step-made UNITS] [--iw-limit N] [--out DIR] [--json]
    python benchmarks/quality.py mnist-example RUN_DIR [--iw-samples 5000] [--iw-limit N]
    python benchmarks/quality.py jsb [--epochs 50] [--window 16] [--select valid|last]
                                     [--step-made UNITS] [--transpose SEMITONES ...]
                                     [--iw-samples 1000] [--out DIR] [--json]
    python benchmarks/quality.py jsb --resume [--minutes M | --epochs N] [--lr LR] [--out DIR]
    python benchmarks/quality.py jsb --start-from RUN_DIR [RUN_DIR ...] [--transpose SEMITONES ...]
                                     [--lr LR] ...

Every part writes ``DIR/quality_<part>.json`` (``DIR`` defaults to ``runs/quality``),
prints one markdown table row, and with ``--json`` prints the JSON document as well.
The MNIST data come from ``$CHAINER_VAE_DATA/mnist``, JSB Chorales from
``$CHAINER_VAE_DATA/polyphonic/JSB_Chorales.mat`` (the data root defaults to
``<repo>/../shared/data`` as in the Makefile). Run long jobs with ``nice``; on a shared
machine ``OPENBLAS_NUM_THREADS=1`` is often faster than the default.

mnist
    Trains one single-stochastic-layer VAE with chainer_vae's own Trainer
    (``build_trainer``): by default an MLP 784-500-500-50 (encoder and decoder mirrored,
    tanh), Bernoulli likelihood, Adam 1e-3, batch 100, one sample of z, KL warm-up over
    the first 10 epochs, on *dynamically binarized* MNIST (every training pass draws fresh
    Bernoulli pixels; the test set is binarized once, with a fixed seed); with
    ``--step-made UNITS`` the decoder reads the pixels before each one in raster order
    through a MADE (an autoregressive p(x|z), not Burda et al.'s model). Training stops
    after ``--epochs`` epochs, or at the end of the first epoch after ``--minutes`` of
    training (given ``--minutes`` alone, the time is the only limit). Then
    ``chainer_vae.evaluation.evaluate`` scores the test set (all 10,000 digits, or the
    first ``--iw-limit``): the ELBO with one sample of z and the
    importance-weighted estimate of log p(x) with K = ``--iw-samples`` samples
    (Burda et al., 2016), both in nats per digit. Anchors: Burda, Grosse & Salakhutdinov,
    "Importance Weighted Autoencoders", ICLR 2016, Table 1, one stochastic layer, test
    log-likelihood with K = 5000: VAE trained with k = 1 / 5 / 50 samples -86.76 /
    -86.47 / -86.35, IWAE with k = 50 -84.78. The goal is better than -85.0 nats; note that
    Burda et al. trained for 3^8 = 3280 passes over the data.

mnist-example
    Scores an existing run folder of Chainer's VAE example configuration (784-500-20,
    tanh, *thresholded* MNIST, 100 epochs): the test negative ELBO of its last epoch and
    its best epoch from the run's ``log`` (the full thresholded test set, one sample of z),
    the ELBO and the IWAE estimate from ``evaluate`` (K = ``--iw-samples``, first
    ``--iw-limit`` test digits). Anchor: 83.19 nats test negative ELBO after 100 epochs in
    the Chainer example's own run. Thresholded digits are easier than dynamically
    binarized ones, so these numbers are not comparable with Burda et al.'s.

jsb
    The LSTM VAE (bidirectional LSTM encoder; LSTM decoder reading z at every step and,
    ``autoregressive``, the previous step of the roll: teacher forcing) with a Bernoulli
    likelihood over the 88 keys (independent given the LSTM state, or with
    ``--step-made UNITS`` each key conditioned on the lower keys of its step through a
    MADE, ``chainer_vae.made``), on JSB Chorales with Boulanger-Lewandowski et al.'s
    (2012) split: 229 training, 76 validation, 77 test chorales. Training uses windows of
    W = ``--window`` steps (overlapping, every ``--hop`` steps; the last window of a
    chorale padded with silent steps, all keys off); with ``--transpose S ...`` the
    training chorales also come moved by each of S semitones (a copy is left out where a
    note would leave the 88 keys; validation and test chorales stay as written), a
    regulariser the published models compared with below did not use. With ``--select valid`` (the
    default) the Evaluator scores the validation windows every epoch and the parameters
    of the epoch with the lowest validation loss are the ones scored on the test set
    (early stopping; the test set is touched once, at the end); ``--select last`` scores
    the last epoch's parameters and lets the Evaluator report on the test windows
    instead. ``--resume`` continues the run in ``DIR/jsb`` from its newest snapshot (its
    own data, model and selection; ``--epochs`` counts from the start of the run,
    ``--minutes`` from the resume, ``--lr`` replaces the learning rate) and keeps the best
    epoch found so far; ``DIR/jsb/resumes.json`` lists the resumes. ``--start-from RUN_DIR``
    begins a new run with the parameters (``best_model.npz`` when present) and the model of
    another jsb run, with this command's training options and a fresh optimizer (with
    several run folders of one model: the mean of their parameters, as ``jsb-score``
    averages them); the data options not given (``--window``, ``--hop``, ``--transpose``)
    are the source run's. ``DIR/jsb/started_from.json`` records the source runs and epochs.
    With ``--average DECAY`` (as ``chainer-vae train --average``) the moving average of
    the parameters is what is validated, kept as the best epoch's and scored. The
    reported figure is

        test bound per time step = (sum over test chorales s of log p^(s))
                                   / (total number of test steps)

    where log p^(s) is the IWAE estimate of log p(s) with K = ``--iw-samples`` samples:
    the total over all test chorales divided by the total number of their steps (not a
    mean of per-chorale averages; that one is recorded too, for information), in nats.
    With ``--score whole`` (the default) each test chorale is scored whole, at its own
    length: an LSTM has no weight that depends on the length, so the trained parameters
    are read into a model built for that length (``chainer_vae.model.at_length``). The
    published sequence models are scored on whole sequences too. With ``--score
    windows`` each chorale is cut into consecutive windows of the training length,
    modelled independently, and log p^(s) is the sum over its windows; a padded window
    holds the real steps x and silent steps pad, and log p(x, pad) = log p(x) +
    log p(pad | x) <= log p(x) for binary data, so padding can only lower that figure.
    Either way E[log p^] <= log p (Burda et al., 2016): a stochastic lower bound of the
    model's log-likelihood per step, conditional on the sequence length like the
    published numbers.

    ``jsb-score RUN_DIR`` scores the model of a finished ``jsb`` run folder again (its
    ``best_model.npz`` when present), with another K or the other scoring. ``jsb-score
    RUN_DIR RUN_DIR ...`` scores one model whose parameters are the mean of those of
    several runs of the same model (each its own selected epoch; windows, data and seeds
    may differ): weight averaging of runs that began from the same parameters, e.g.
    through ``--start-from`` (a "model soup", Wortsman et al., 2022). It is still one
    model of the same size, not an ensemble. ``--split valid`` scores the validation
    chorales instead (figures named ``valid_*``, written to
    ``quality_jsb-score-valid.json``), to choose between models without the test set.

    Published numbers on the same split, as commonly quoted from Fraccaro, Sønderby,
    Paquet & Winther, "Sequential Neural Models with Stochastic Layers", NIPS 2016,
    Table 2, JSB Chorales column (nats per time step; SRNN and STORN are lower bounds):
    SRNN -4.74, STORN -6.91, RNN-NADE -5.19, RNN -8.71. Not verified here against the
    paper's text (no copy of the table was available to this project); likewise the
    exact averaging behind them (total over total steps, or a mean over sequences).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

import chainer_vae  # noqa: F401  (before chainer)
import chainer
from chainer.training import extensions, triggers

from chainer_vae.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from chainer_vae.data import Data
from chainer_vae.errors import ChainerVAEError, ConfigError, RunDirError
from chainer_vae.files import atomic_output
from chainer_vae.inference.evaluation import evaluate
from chainer_vae.model import MODEL_FILE, at_length, load_model
from chainer_vae.training import (LOG_FILE, build_trainer, latest_snapshot, result_model,
                                  save_model, seed_everything)

sys.path.insert(0, str(Path(__file__).resolve().parent))
import jsb  # noqa: E402  (benchmarks/jsb.py)

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = Path("runs") / "quality"
BEST_MODEL = "best_model.npz"
RESUMES_FILE = "resumes.json"
START_FILE = "started_from.json"
DEFAULT_WINDOW = 16  # steps per training window of a jsb run
UNLIMITED_EPOCHS = 10 ** 6

BURDA = {
    "source": "Burda, Grosse & Salakhutdinov, Importance Weighted Autoencoders, ICLR 2016, "
              "Table 1, one stochastic layer, test log p(x) with K = 5000",
    "VAE k=1": -86.76, "VAE k=5": -86.47, "VAE k=50": -86.35, "IWAE k=50": -84.78,
}
MNIST_GOAL = -85.0
CHAINER_EXAMPLE = {
    "source": "Chainer's examples/vae (784-500-20, thresholded MNIST, 100 epochs), own run",
    "test negative ELBO": 83.19,
}
JSB_PUBLISHED = {
    "source": "Fraccaro, Sønderby, Paquet & Winther, Sequential Neural Models with "
              "Stochastic Layers, NIPS 2016, Table 2 (JSB Chorales, nats per time step)",
    "verified": False,
    "note": "as commonly quoted; not verified here against the paper's text",
    "SRNN": -4.74, "STORN": -6.91, "RNN-NADE": -5.19, "RNN": -8.71,
}
JSB_GOAL = JSB_PUBLISHED["SRNN"]


# --------------------------------------------------------------------------- helpers

def data_root():
    root = os.environ.get("CHAINER_VAE_DATA")
    return Path(root).expanduser() if root else REPO.parent / "shared" / "data"


def write_result(result, out, part, as_json):
    """Write ``out/quality_<part>.json`` (``quality_<part>-valid.json`` for a score of the
    validation chorales); print the markdown row (and the JSON)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    split = result.get("split", "test")
    path = out / "quality_{}{}.json".format(part, "" if split == "test" else "-" + split)
    text = json.dumps(result, indent=2, default=_plain) + "\n"
    with atomic_output(path) as temporary:
        Path(temporary).write_text(text, encoding="utf-8")
    if as_json:
        sys.stdout.write(text)
    print(result["markdown"])
    print("wrote {}".format(path), file=sys.stderr)
    return path


def _plain(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError("not JSON serialisable: {!r}".format(type(value)))


def run_trainer(config, out, data, minutes=None, keep_best=False, resume=None, start=None):
    """Train with chainer_vae's Trainer in ``out`` (as ``chainer_vae.training.train``
    does, with the data given); stop after the configured epochs or, with ``minutes``,
    at the end of the first epoch past that much training time. With ``keep_best`` the
    parameters of the epoch with the lowest ``validation/main/loss`` (the Evaluator's
    loss on ``data.test``) are kept in ``BEST_MODEL`` and are the ones returned and saved
    as ``model.npz``; otherwise the last epoch's. ``resume`` is a snapshot to continue
    from (the best epoch so far is in it too); ``start`` a model of the same
    architecture whose parameters a new run begins with. Returns the model, the epochs
    run in all and the wall time in seconds of this call's training."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    trainer, trained, _ = build_trainer(config, out, progress=False, data=data)
    if start is not None:
        trained.copyparams(start)  # the parameter average, if kept, starts from them too
    model = result_model(trainer, trained)
    config.save(out)
    if keep_best:
        trainer.extend(extensions.snapshot_object(model, BEST_MODEL),
                       trigger=triggers.MinValueTrigger("validation/main/loss", (1, "epoch")))
    by_epochs = trainer.stop_trigger

    # A plain function, with no state for snapshots to keep: a run may be resumed with or
    # without a time limit whichever way it was started. It lets at least one epoch run.
    def stop(trainer):
        updater = trainer.updater
        late = (minutes is not None and updater.is_new_epoch
                and updater.iteration > begun["iteration"]
                and time.perf_counter() - begun["time"] > 60.0 * minutes)
        return by_epochs(trainer) or late

    trainer.stop_trigger = stop
    if resume is not None:
        chainer.serializers.load_npz(str(resume), trainer)
    begun = {"iteration": trainer.updater.iteration, "time": time.perf_counter()}
    begin = time.perf_counter()
    trainer.run(show_loop_exception_msg=False)
    wall = time.perf_counter() - begin
    epochs = int(trainer.updater.epoch)
    if epochs != config.train.epochs:  # stopped by the time limit: say what was run
        config.train.epochs = epochs
        config.save(out)
    if keep_best:
        chainer.serializers.load_npz(str(out / BEST_MODEL), model)
    save_model(model, out)
    return model, epochs, wall


def read_log(run_dir):
    """The entries of a run's ``log`` (one per epoch)."""
    path = Path(run_dir) / LOG_FILE
    if not path.is_file():
        return []
    return json.loads(path.read_text(encoding="utf-8"))


def log_summary(entries):
    """Last and best test negative ELBO (``validation/main/loss``) of a run's log."""
    scored = [e for e in entries if "validation/main/loss" in e]
    if not scored:
        return {}
    best = min(scored, key=lambda e: e["validation/main/loss"])
    last = scored[-1]
    return {"epochs": int(last["epoch"]), "elapsed_s": float(last.get("elapsed_time", math.nan)),
            "last_test_neg_elbo": float(last["validation/main/loss"]),
            "best_test_neg_elbo": float(best["validation/main/loss"]),
            "best_epoch": int(best["epoch"]),
            "last_train_loss": float(last.get("main/loss", math.nan))}


def fmt_minutes(seconds):
    return "{:.1f} min".format(seconds / 60.0)


def average_note(train_config):
    """How the scored parameters were averaged, for the result row ('' for not at all)."""
    if not train_config.average:
        return ""
    return ", moving average of the parameters (decay {:g} per step)".format(
        train_config.average)


# --------------------------------------------------------------------------- mnist

def mnist_config(args):
    mnist = data_root() / "mnist"
    return RunConfig(
        data=DataConfig(dataset="mnist", data_dir=str(mnist) if mnist.is_dir() else None,
                        binarize="dynamic"),
        model=ModelConfig(encoder=args.arch, decoder=args.arch, latent=args.latent,
                          hidden=list(args.hidden), activation=args.activation,
                          step_made=args.step_made),
        train=TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, k=args.k,
                          kl_warmup=args.kl_warmup, seed=args.seed, keep_snapshots=1,
                          average=args.average))


def run_mnist(args):
    config = mnist_config(args)
    out = Path(args.out) / "mnist"
    from chainer_vae.data import load_data

    data = load_data(config.data, config.model.encoder, progress=False)
    _, epochs, train_wall = run_trainer(config, out, data, minutes=args.minutes)
    begin = time.perf_counter()
    scores = evaluate(out, iw_samples=args.iw_samples, batch_size=args.eval_batch,
                      limit=args.iw_limit, seed=args.seed, progress=False)
    eval_wall = time.perf_counter() - begin
    log = log_summary(read_log(out))
    model = config.model
    arch = ("{}-{}-{}".format(784, "-".join(map(str, model.hidden)), model.latent)
            if model.encoder == "mlp" else "{} (hidden {}, latent {})".format(
                model.encoder, model.hidden, model.latent))
    if model.step_made:
        arch += ", pixels in raster order through a MADE of {} hidden units".format(
            model.step_made)
    result = {
        "part": "mnist", "run_dir": str(out), "config": config.to_dict(),
        "model": "{} {}, Bernoulli, k={}, KL warm-up {} epochs{}".format(
            arch, model.activation, config.train.k, config.train.kl_warmup,
            average_note(config.train)),
        "data": "MNIST, dynamically binarized training set, test set binarized once",
        "epochs": epochs, "train_wall_s": train_wall, "eval_wall_s": eval_wall,
        "test_examples": scores.n, "iw_samples": scores.iw_samples,
        "test_elbo": scores.elbo, "test_log_likelihood": scores.log_likelihood,
        "log": log, "anchors": BURDA, "goal": MNIST_GOAL,
        "goal_reached": bool(scores.log_likelihood > MNIST_GOAL),
    }
    subset = "all {}".format(scores.n) if args.iw_limit is None else "first {}".format(scores.n)
    result["markdown"] = (
        "| MNIST dynamic binarization | {model}, {epochs} epochs, {wall} training | "
        "ELBO {elbo:.2f} | log p(x) ~ {ll:.2f} nats (IWAE K={k}, {subset} test digits, "
        "{ewall}) | Burda et al. 2016 Table 1: VAE -86.76/-86.47/-86.35 (k=1/5/50), "
        "IWAE k=50 -84.78; goal > -85.0: {goal} |".format(
            model=result["model"], epochs=epochs, wall=fmt_minutes(train_wall),
            elbo=scores.elbo, ll=scores.log_likelihood, k=scores.iw_samples, subset=subset,
            ewall=fmt_minutes(eval_wall), goal="reached" if result["goal_reached"] else "not reached"))
    return result


def run_mnist_example(args):
    run_dir = Path(args.run_dir)
    config = RunConfig.load(run_dir)
    log = log_summary(read_log(run_dir))
    begin = time.perf_counter()
    scores = evaluate(run_dir, iw_samples=args.iw_samples, batch_size=args.eval_batch,
                      limit=args.iw_limit, seed=args.seed, progress=False)
    eval_wall = time.perf_counter() - begin
    model = config.model
    subset = "all {}".format(scores.n) if args.iw_limit is None else "first {}".format(scores.n)
    result = {
        "part": "mnist-example", "run_dir": str(run_dir), "config": config.to_dict(),
        "data": "MNIST, binarize={}".format(config.data.binarize),
        "log": log, "eval_wall_s": eval_wall, "test_examples": scores.n,
        "iw_samples": scores.iw_samples, "test_elbo": scores.elbo,
        "test_neg_elbo": -scores.elbo, "test_log_likelihood": scores.log_likelihood,
        "anchor": CHAINER_EXAMPLE,
    }
    from_log = ("log: last epoch {last_test_neg_elbo:.2f}, best {best_test_neg_elbo:.2f} "
                "(epoch {best_epoch}) over {epochs} epochs".format(**log) if log else "no log")
    result["markdown"] = (
        "| MNIST Chainer example ({arch} {act}, {binarize}) | test negative ELBO {from_log}; "
        "evaluate: {nelbo:.2f} | log p(x) ~ {ll:.2f} nats (IWAE K={k}, {subset} test digits, "
        "{ewall}) | Chainer's own run: 83.19 negative ELBO after 100 epochs |".format(
            arch="784-{}-{}".format("-".join(map(str, model.hidden)), model.latent),
            act=model.activation, binarize=config.data.binarize, from_log=from_log,
            nelbo=-scores.elbo, ll=scores.log_likelihood, k=scores.iw_samples, subset=subset,
            ewall=fmt_minutes(eval_wall)))
    return result


# --------------------------------------------------------------------------- jsb

def score_windows(model, x, iw_samples, batch_size=100, elbo_samples=10, seed=0):
    """Per-window IWAE estimates of log p(window) (K = ``iw_samples``, through
    ``VAE.log_likelihood``) and ELBO estimates (the mean of ``elbo_samples`` log weights),
    in nats, float64 arrays (N,). Batch i draws from its own seed."""
    device = chainer.get_device("@numpy")
    log_lik = np.empty(len(x), np.float64)
    elbo = np.empty(len(x), np.float64)
    for index, start in enumerate(range(0, len(x), batch_size)):
        seed_everything((int(seed) * 1000003 + index) % (1 << 32), device)
        batch = x[start:start + batch_size]
        log_lik[start:start + len(batch)] = chainer.as_array(
            model.log_likelihood(batch, iw_samples))
        with chainer.no_backprop_mode(), chainer.using_config("train", False):
            log_w = model.log_weights(batch, elbo_samples).array.astype(np.float64)
        elbo[start:start + len(batch)] = log_w.mean(axis=0)
    return log_lik, elbo


def fill_data_options(args, source=None):
    """Set ``--window``, ``--hop`` and ``--transpose`` where they were not given: to the
    source run's (``source``, its ``DataConfig``, with ``--start-from``), else to
    ``DEFAULT_WINDOW`` steps, half a window and no transposed copies. ``--window`` alone
    still takes half of it as the hop."""
    if args.window is None:
        args.window = source.window if source else DEFAULT_WINDOW
        if args.hop is None and source:
            args.hop = source.hop
    if args.hop is None:
        args.hop = max(1, args.window // 2)
    if args.transpose is None:
        args.transpose = list(source.transpose) if source else []


def jsb_config(args, path):
    return RunConfig(
        data=DataConfig(dataset="midi", data_dir=str(path), window=args.window, hop=args.hop,
                        transpose=list(args.transpose)),
        model=ModelConfig(encoder="lstm", decoder="lstm", input_shape=(args.window, jsb.KEYS),
                          latent=args.latent, hidden=[args.hidden_size], activation="tanh",
                          bidirectional=True, autoregressive=True, step_made=args.step_made,
                          dropout=args.dropout or 0.0,
                          likelihood="bernoulli"),
        train=TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, k=args.k,
                          kl_warmup=args.kl_warmup, seed=args.seed, keep_snapshots=1,
                          average=args.average))


def resumed_jsb_config(out, args):
    """The config of the ``jsb`` run in ``out`` with the ``--epochs`` and ``--lr`` given,
    its newest snapshot, and the list of its resumes (epoch and learning rate) with this
    one added and saved in ``out/resumes.json``. The run's config decides the data and
    the model; the options that would describe them are ignored."""
    snapshot = latest_snapshot(out)
    if snapshot is None:
        raise RunDirError("{}: no snapshot to resume from (was it trained by quality.py "
                          "jsb with this --out?)".format(out))
    config = RunConfig.load(out)
    log = read_log(out)
    resume = {"epoch": int(log[-1]["epoch"]) if log else 0, "from_lr": config.train.lr,
              "snapshot": snapshot.name}
    if args.epochs is not None:
        config.train.epochs = args.epochs
    elif args.minutes is not None:
        config.train.epochs = UNLIMITED_EPOCHS
    if config.train.epochs <= resume["epoch"]:
        raise ConfigError("{}: the run has trained {} epochs already; give --epochs above "
                          "that, or --minutes".format(out, resume["epoch"]))
    if args.lr is not None:
        config.train.lr = args.lr
    resume["lr"] = config.train.lr
    resumes = read_resumes(out) + [resume]
    with atomic_output(out / RESUMES_FILE) as temporary:
        Path(temporary).write_text(json.dumps(resumes, indent=2) + "\n", encoding="utf-8")
    return config, snapshot, resumes


def read_resumes(run_dir):
    """The resumes ``resumed_jsb_config`` recorded in a run folder (oldest first)."""
    path = Path(run_dir) / RESUMES_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []


def first_lr(resumes, train_config):
    """The learning rate the run started with."""
    return resumes[0]["from_lr"] if resumes else train_config.lr


def resume_note(resumes):
    """How the run was resumed, for the result row ('' for not at all)."""
    return "".join(", resumed after epoch {epoch} with learning rate {lr:g}".format(**resume)
                   for resume in resumes)


class FinishedRun(NamedTuple):
    """The parameters a finished ``jsb`` run folder is scored with, and where they are from."""
    model: object
    weights: str  # BEST_MODEL when the run kept its best epoch (also if stopped by hand)
    log: dict  # log_summary of the run's log
    epochs: int  # epochs trained
    epoch: int  # the epoch the parameters are from


def finished_run(run_dir, config):
    """``FinishedRun`` of ``run_dir`` (whose config is ``config``): ``best_model.npz`` when
    present, otherwise ``model.npz``."""
    run_dir = Path(run_dir)
    best = (run_dir / BEST_MODEL).is_file()
    weights = BEST_MODEL if best else MODEL_FILE
    log = log_summary(read_log(run_dir))
    # the log, not config.json: a run stopped by hand has no final epoch count
    epochs = log.get("epochs", config.train.epochs)
    return FinishedRun(load_model(run_dir, config.model, weights), weights, log, epochs,
                       log["best_epoch"] if best and log else epochs)


def started_jsb_config(args, path):
    """The config of a new ``jsb`` run that begins with the parameters of the run folder
    ``args.start_from[0]`` (its ``best_model.npz`` when present), or with the mean of the
    parameters of several run folders of one model (``model_of_runs``, as ``jsb-score``
    averages them): the first run's model, this command's training options, and its data
    options where given (``fill_data_options``: the source run's otherwise); the model, and
    a record of where it came from, which is also saved in ``args.out/jsb/started_from.json``
    once training begins. ``--dropout``, when given, replaces the source's rate: it changes
    no parameter."""
    source_config, finished, model, mean_of = model_of_runs(args.start_from)
    fill_data_options(args, source_config.data)
    config = jsb_config(args, path)
    config.model = source_config.model
    config.model.input_shape = (config.data.window, jsb.KEYS)
    if args.dropout is not None:
        config.model.dropout = args.dropout
    start = {"run_dir": str(Path(args.start_from[0]).resolve()), "epoch": finished.epoch,
             "weights": finished.weights}
    if mean_of:
        start["mean_of"] = mean_of
    return config, model, start


def read_start(run_dir):
    """Where the run in ``run_dir`` took its first parameters from (None: initialised)."""
    path = Path(run_dir) / START_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def start_note(start):
    """The parameters the run began with, for the result row ('' for a fresh start)."""
    if not start:
        return ""
    if start.get("mean_of"):
        return "starting from {}, ".format(mean_note(start["mean_of"]))
    return "starting from the parameters of epoch {epoch} of {run_dir}, ".format(**start)


def score_sequences(model, model_config, sequences, iw_samples, batch_size=100,
                    elbo_samples=10, seed=0):
    """Per-sequence IWAE and ELBO estimates of log p(sequence) as ``score_windows`` gives
    them, each sequence scored whole at its own length (those of one length together)."""
    log_lik = np.empty(len(sequences), np.float64)
    elbo = np.empty(len(sequences), np.float64)
    for steps, indices, x in jsb.by_length(sequences):  # a seed of its own per length
        log_lik[indices], elbo[indices] = score_windows(
            at_length(model, model_config, steps), x, iw_samples, batch_size,
            elbo_samples, seed=seed * 7919 + steps)
    return log_lik, elbo


def score_jsb_test(model, model_config, sequences, args):
    """The per-step figures of ``jsb.per_step_bound`` (IWAE, ELBO) on the test sequences,
    scored as ``args.score`` says: each chorale whole, or cut into windows of the
    training length."""
    if args.score == "whole":
        units = jsb.whole(sequences)
        log_lik, elbo = score_sequences(model, model_config, sequences, args.iw_samples,
                                        args.eval_batch, seed=args.seed)
    else:
        units = jsb.windows(sequences, model_config.input_shape[0])
        log_lik, elbo = score_windows(model, units.x, args.iw_samples, args.eval_batch,
                                      seed=args.seed)
    return jsb.per_step_bound(log_lik, units), jsb.per_step_bound(elbo, units)


def describe_jsb_model(model_config):
    hidden, made = model_config.hidden[0], model_config.step_made
    return ("LSTM VAE: BiLSTM {h} encoder, autoregressive LSTM {h} decoder, latent {z}, "
            "{keys}".format(h=hidden, z=model_config.latent, keys=(
                "the 88 keys of a step in pitch order through a MADE of {} hidden "
                "units".format(made) if made else "independent Bernoulli keys"))
            + (", dropout {}".format(model_config.dropout) if model_config.dropout else ""))


JSB_NORMALISATION = {
    "whole": "sum over the test chorales, each scored whole at its own length, of the IWAE "
             "estimate of log p(chorale), divided by the total number of test steps",
    "windows": "sum over test sequences of the sum over their windows of the IWAE estimate "
               "of log p(window), divided by the total number of real (unpadded) test steps",
}


def scored_chorales(splits, limit, split="test"):
    """The chorales of ``split`` (test, or valid for ``jsb-score --split valid``); the first
    ``limit`` only when given (quick checks)."""
    return splits[split] if limit is None else splits[split][:limit]


def run_jsb(args):
    out = Path(args.out) / "jsb"
    snapshot, resumes, start_model, start = None, [], None, None
    if args.resume and args.start_from:
        raise ConfigError("--resume continues a run and --start-from begins a new one: "
                          "give one of them")
    if args.resume:
        config, snapshot, resumes = resumed_jsb_config(out, args)
        path = Path(args.data) if args.data else Path(config.data.data_dir)
        start = read_start(out)
    else:
        path = Path(args.data) if args.data else jsb.default_path()
        if args.start_from:
            config, start_model, start = started_jsb_config(args, path)
        else:
            fill_data_options(args)
            config = jsb_config(args, path)
    window, hop = config.data.window, config.data.hop
    splits = jsb.load_jsb(path)
    train_w = jsb.windows(jsb.transposed(splits["train"], config.data.transpose), window,
                          hop=hop)
    valid_w = jsb.windows(splits["valid"], window)
    test_w = jsb.windows(scored_chorales(splits, args.test_limit), window)
    # a resumed run keeps its own selection: best_model.npz is there if it keeps the best
    by_validation = ((out / BEST_MODEL).is_file() if args.resume
                     else args.select == "valid")
    monitored = valid_w if by_validation else test_w
    data = Data(train=train_w.x, test=monitored.x, input_shape=(window, jsb.KEYS),
                details={"dataset": "jsb", "train": len(train_w.x), "test": len(monitored.x)})
    if start_model is not None:
        out.mkdir(parents=True, exist_ok=True)
        with atomic_output(out / START_FILE) as temporary:
            Path(temporary).write_text(json.dumps(start, indent=2) + "\n", encoding="utf-8")
    model, epochs, train_wall = run_trainer(config, out, data, minutes=args.minutes,
                                            keep_best=by_validation, resume=snapshot,
                                            start=start_model)
    log = log_summary(read_log(out))
    if resumes:  # the whole run's training time, as the log counts it across resumes
        train_wall = log.get("elapsed_s", train_wall)
    run = {"run_dir": str(out), "config": config.to_dict(), "epochs": epochs,
           "train_wall_s": train_wall, "resumes": resumes, "started_from": start,
           "train_windows": len(train_w.x),
           "valid_windows": len(valid_w.x), "test_windows": len(test_w.x),
           "selection": ("the epoch with the lowest validation loss" if by_validation
                         else "the last epoch"),
           "selected_epoch": log["best_epoch"] if by_validation else epochs,
           "log": log, "log_split": "validation" if by_validation else "test"}
    return jsb_result(model, config, splits, path, run, args)


def weights_of(model_config):
    """The part of a model config that decides its weights: not the training window (an
    LSTM has no weight that depends on the length) and not the dropout rate."""
    return dataclasses.replace(model_config, input_shape=(), dropout=0.0)


def model_of_runs(run_dirs):
    """The config and ``FinishedRun`` of the first of ``run_dirs``, the model to use and a
    record of each averaged source (folder, epoch, weights file). With one folder the
    model is that run's and the record empty; with several, the model of the first run's
    config holding the mean of the scored parameters of every run, which must share
    ``weights_of`` the model."""
    run_dirs = [Path(run_dir) for run_dir in run_dirs]
    config = RunConfig.load(run_dirs[0])
    first = finished_run(run_dirs[0], config)
    if len(run_dirs) == 1:
        return config, first, first.model, []
    runs = [first]
    for run_dir in run_dirs[1:]:
        other = RunConfig.load(run_dir)
        if weights_of(other.model) != weights_of(config.model):
            raise ConfigError("{}: another model than {} (the parameters of runs can only be "
                              "averaged for one model)".format(run_dir, run_dirs[0]))
        runs.append(finished_run(run_dir, other))
    mean = first.model.copy(mode="copy")
    sources = [dict(finished.model.namedparams()) for finished in runs]
    for name, param in mean.namedparams():
        param.array[...] = np.mean([source[name].array for source in sources], axis=0)
    return config, first, mean, [{"run_dir": str(run_dir.resolve()), "epoch": finished.epoch,
                                  "weights": finished.weights}
                                 for run_dir, finished in zip(run_dirs, runs)]


def run_jsb_score(args):
    """Score the model of a finished ``jsb`` run folder again (another K or scoring), or
    of the mean of the parameters of several run folders of one model."""
    run_dir = Path(args.run_dir[0])
    config, finished, model, mean_of = model_of_runs(args.run_dir)
    path = Path(args.data) if args.data else Path(config.data.data_dir)
    splits = jsb.load_jsb(path)
    best = finished.weights == BEST_MODEL
    run = {"run_dir": str(run_dir), "config": config.to_dict(), "epochs": finished.epochs,
           "train_wall_s": finished.log.get("elapsed_s", math.nan),
           "resumes": read_resumes(run_dir), "started_from": read_start(run_dir),
           "selection": ("the epoch with the lowest validation loss" if best
                         else "the last epoch"),
           "selected_epoch": finished.epoch, "mean_of": mean_of,
           "log": finished.log, "log_split": "validation" if best else "test"}
    return jsb_result(model, config, splits, path, run, args)


def transposition_note(shifts):
    """How the training chorales were transposed, for the result row ('' for not at all)."""
    shifts = [shift for shift in shifts if shift]
    if not shifts:
        return ""
    return " of the training chorales and their copies moved by {} semitones".format(
        ", ".join("{:+d}".format(shift) for shift in shifts))


def training_note(run, config):
    """How the scored parameters of one run came about, for the result row."""
    return ("trained on windows of {w} steps (hop {hop}){moved}, {started}learning rate "
            "{lr:g}{resumed}, {epochs} epochs, {wall} training, parameters of epoch {selected} "
            "({selection}){averaged}".format(
                w=config.data.window, hop=config.data.hop,
                moved=transposition_note(config.data.transpose),
                started=start_note(run["started_from"]),
                lr=first_lr(run["resumes"], config.train), resumed=resume_note(run["resumes"]),
                epochs=run["epochs"], wall=fmt_minutes(run["train_wall_s"]),
                selected=run["selected_epoch"], selection=run["selection"],
                averaged=average_note(config.train)))


def mean_note(sources):
    """Which runs' parameters were averaged into the scored model, for the result row."""
    return "the mean of the parameters of {} (runs of this model, each at its own " \
           "selected epoch)".format(", ".join("epoch {epoch} of {run_dir}".format(**source)
                                              for source in sources))


def jsb_result(model, config, splits, path, run, args):
    """Score ``model`` on the test chorales (the validation chorales with ``jsb-score
    --split valid``, for choosing between models; the figures are then named ``valid_*``)
    and describe the run and the figures."""
    window, hop = config.data.window, config.data.hop
    split = getattr(args, "split", "test")
    begin = time.perf_counter()
    bound, elbo_bound = score_jsb_test(model, config.model,
                                       scored_chorales(splits, args.test_limit, split), args)
    eval_wall = time.perf_counter() - begin
    result = dict(run, part=args.part, data_file=str(path),
                  model=describe_jsb_model(config.model), window=window, hop=hop)
    result.update({
        "split": split, split + "_sequences": bound["sequences"], split + "_steps": bound["steps"],
        "scoring": args.score, "eval_wall_s": eval_wall, "iw_samples": args.iw_samples,
        split + "_bound_per_step": bound["per_step"],
        split + "_elbo_per_step": elbo_bound["per_step"],
        split + "_bound_mean_of_sequence_per_step": bound["mean_of_sequence_per_step"],
        split + "_log_likelihood_total": bound["total"],
        "normalisation": JSB_NORMALISATION[args.score],
        "published": JSB_PUBLISHED, "goal": JSB_GOAL,
    })
    if split == "test":  # the goal is judged on the test set only
        result["goal_reached"] = bool(bound["per_step"] >= JSB_GOAL)
    named = "test" if split == "test" else "validation"
    result["markdown"] = (
        "| JSB Chorales | {model}, {training} | ELBO {elbo:.2f} | {named} bound {b:.2f} nats per "
        "time step (IWAE K={k}; {scored}: total over {n} {named} chorales / {steps} real "
        "steps) | Fraccaro et al. 2016 Table 2 "
        "(as commonly quoted; not verified here): SRNN -4.74, STORN -6.91, RNN-NADE -5.19, "
        "RNN -8.71; goal >= -4.74: {goal} |".format(
            model=result["model"], named=named,
            training=(mean_note(run["mean_of"]) if run.get("mean_of")
                      else training_note(run, config)),
            elbo=elbo_bound["per_step"], b=bound["per_step"], k=args.iw_samples,
            scored="whole chorales" if args.score == "whole" else
            "windows of {} steps".format(window),
            n=bound["sequences"], steps=bound["steps"],
            goal=("judged on the test set only" if split != "test" else
                  "reached" if result["goal_reached"] else "not reached")))
    return result


# --------------------------------------------------------------------------- CLI

def parser():
    top = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    parts = top.add_subparsers(dest="part", required=True)

    def common(sub, iw_samples):
        sub.add_argument("--iw-samples", type=int, default=iw_samples,
                         help="importance samples K per example (default %(default)s)")
        sub.add_argument("--eval-batch", type=int, default=100)
        sub.add_argument("--seed", type=int, default=0)
        sub.add_argument("--out", default=str(DEFAULT_OUT),
                         help="result folder (default %(default)s)")
        sub.add_argument("--json", action="store_true", help="also print the JSON result")

    def training(sub, epochs, lr, batch, warmup):
        sub.add_argument("--epochs", type=int, default=None,
                         help="most epochs to train (default {}, or no limit with "
                              "--minutes)".format(epochs))
        sub.add_argument("--minutes", type=float, default=None,
                         help="stop at the end of the first epoch after this much training")
        sub.set_defaults(default_epochs=epochs, default_lr=lr)
        sub.add_argument("--lr", type=float, default=None,
                         help="Adam learning rate (default {:g}; with --resume, the run's "
                              "own unless given)".format(lr))
        sub.add_argument("--batch-size", type=int, default=batch)
        sub.add_argument("--k", type=int, default=1, help="samples of z per example in training")
        sub.add_argument("--kl-warmup", type=float, default=warmup)
        sub.add_argument("--average", type=float, default=0.0, metavar="DECAY",
                         help="validate, select and score a moving average of the parameters "
                              "with this decay per step, e.g. 0.998 (0: the parameters "
                              "themselves; with --resume, the run's own)")

    mnist = parts.add_parser("mnist", help="train and score a VAE on dynamically binarized MNIST")
    common(mnist, 5000)
    training(mnist, 50, 1e-3, 100, 10.0)
    mnist.add_argument("--arch", default="mlp", choices=["mlp", "conv"])
    mnist.add_argument("--hidden", type=int, nargs="+", default=[500, 500])
    mnist.add_argument("--latent", type=int, default=50)
    mnist.add_argument("--activation", default="tanh")
    mnist.add_argument("--step-made", type=int, default=0, metavar="UNITS",
                       help="mlp decoder: each pixel conditioned on the ones before it in "
                            "raster order through a MADE of UNITS hidden units (0: independent)")
    mnist.add_argument("--iw-limit", type=int, default=None,
                       help="score only the first N test digits (default: all)")

    example = parts.add_parser("mnist-example", help="score an existing run folder")
    example.add_argument("run_dir")
    common(example, 5000)
    example.add_argument("--iw-limit", type=int, default=None)

    music = parts.add_parser("jsb", help="train and score the LSTM VAE on JSB Chorales")
    common(music, 1000)
    training(music, 50, 1e-3, 32, 5.0)
    music.add_argument("--data", default=None, help="JSB_Chorales.mat (default: under the data root)")
    music.add_argument("--window", type=int, default=None,
                       help="steps per training window (default {}; with --start-from, the "
                            "source run's)".format(DEFAULT_WINDOW))
    music.add_argument("--hop", type=int, default=None,
                       help="steps between training windows (default: window // 2; with "
                            "--start-from and no --window, the source run's)")
    music.add_argument("--select", default="valid", choices=["valid", "last"],
                       help="score the parameters of the epoch best on the validation set "
                            "(default) or of the last epoch")
    music.add_argument("--latent", type=int, default=32)
    music.add_argument("--hidden-size", type=int, default=256)
    music.add_argument("--step-made", type=int, default=0, metavar="UNITS",
                       help="model the keys within a step in pitch order with a MADE of "
                            "UNITS hidden units (0: independent keys)")
    music.add_argument("--dropout", type=float, default=None, metavar="RATE",
                       help="drop this fraction of the decoder's hidden units in training "
                            "(default 0; with --start-from, the source run's rate)")
    music.add_argument("--transpose", type=int, nargs="*", default=None, metavar="SEMITONES",
                       help="also train on copies of the training chorales moved by these "
                            "semitones (validation and test chorales stay as written; "
                            "default: none; with --start-from, the source run's)")
    music.add_argument("--resume", action="store_true",
                       help="continue the run in OUT/jsb from its newest snapshot, with its "
                            "own data, model (config.json) and --select (--epochs, --lr and "
                            "--minutes may change; --minutes counts from the resume)")
    music.add_argument("--start-from", default=None, nargs="+", metavar="RUN_DIR",
                       help="begin a new run with the parameters of a jsb run folder (its "
                            "best_model.npz when present) and that run's model; several "
                            "folders of one model: with the mean of their parameters (as "
                            "jsb-score averages them); the training options are this "
                            "command's, the data options the source run's unless given")
    jsb_scoring(music)

    rescore = parts.add_parser("jsb-score", help="score the model of a finished jsb run folder")
    rescore.add_argument("run_dir", nargs="+",
                         help="a jsb run folder (its best_model.npz when present); several "
                              "folders of one model: score the mean of their parameters")
    common(rescore, 1000)
    rescore.add_argument("--data", default=None,
                         help="JSB_Chorales.mat (default: the one the run was trained on)")
    rescore.add_argument("--split", default="test", choices=["test", "valid"],
                         help="score the test chorales (default) or the validation ones, to "
                              "choose between models (e.g. which runs to average) without "
                              "touching the test set")
    jsb_scoring(rescore)
    return top


def jsb_scoring(sub):
    sub.add_argument("--score", default="whole", choices=["whole", "windows"],
                     help="score each test chorale whole at its own length (default) or cut "
                          "into windows of the training length, the last one padded")
    sub.add_argument("--test-limit", type=int, default=None,
                     help="score only the first N chorales (quick checks)")


def epoch_limit(args):
    """``--epochs`` as given; otherwise the part's default, or no limit (in practice) when
    ``--minutes`` bounds the run, so that a time budget is not cut short by a default."""
    if args.epochs is not None:
        return args.epochs
    return args.default_epochs if args.minutes is None else UNLIMITED_EPOCHS


def main(argv=None):
    args = parser().parse_args(argv)
    if hasattr(args, "default_epochs") and not getattr(args, "resume", False):
        args.epochs = epoch_limit(args)
        if args.lr is None:
            args.lr = args.default_lr
    run = {"mnist": run_mnist, "mnist-example": run_mnist_example, "jsb": run_jsb,
           "jsb-score": run_jsb_score}[args.part]
    result = run(args)
    write_result(result, args.out, args.part, args.json)
    return result


def cli(argv=None):
    """``main`` for the command line: a bad run folder, file or option is one line on
    stderr and exit status 2, not a traceback."""
    try:
        main(argv)
    except (ChainerVAEError, FileNotFoundError, ValueError) as error:
        print("quality.py: error: {}".format(error), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(cli())
