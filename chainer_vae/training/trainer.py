"""Training: one Chainer Trainer for every model and dataset, built from a ``RunConfig``.

The run folder ``out`` receives ``config.json`` first, then per epoch the ``log``, the
loss plots and a snapshot, and ``model.npz`` when training ends. A snapshot holds the
model, the optimizer, the iterator, the log and the NumPy random state, so a resumed run
ends with the same parameters as an uninterrupted one (on the CPU, same seed).
"""
from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path

import numpy

from chainer import training
from chainer.optimizer_hooks import WeightDecay
from chainer.training import extensions as chainer_extensions

from chainer_vae.config import RunConfig
from chainer_vae.data import load_data
from chainer_vae.data.iterators import BatchIterator, to_device
from chainer_vae.errors import ConfigError, RunDirError, path_error
from chainer_vae.model import ELBOLoss, same_weights
from chainer_vae.resources import check_fits
from chainer_vae.files import read_arrays
from chainer_vae.runs import (BEST_MODEL_FILE, LOG_FILE, SNAPSHOT_PREFIX, build_for, get_device,
                              initial_weights, load_weights, save_model, save_npz_uncompressed,
                              seed_everything, sound_snapshot, trim_log, writing)
from chainer_vae.training.adversarial import REPORT_KEYS as ADVERSARIAL_KEYS
from chainer_vae.training.adversarial import adversarial_updater
from chainer_vae.training.distributed import SingleProcess
from chainer_vae.training.extensions import (BestModel, KLWarmup, LatentRecorder, NaNGuard,
                                             ParameterAverage, RandomStateKeeper, extend)
from chainer_vae.training.optim import FusedAdam

# arrays of the size of a batch of examples one training step holds at once (an estimate:
# the data, the decoder's outputs, the log-likelihood terms and their gradients)
ACTIVATION_COPIES = 8
REPORT_KEYS = ["main/loss", "main/rec_loss", "main/kl", "main/beta",
               "validation/main/loss", "validation/main/rec_loss", "validation/main/kl"]


class _PlainText:
    """A text stream that drops PrintReport's screen-erase code when it is not a terminal,
    so logs captured to a file read as plain lines."""

    def __init__(self, stream):
        self._stream = stream
        self._plain = not stream.isatty()

    def write(self, text):
        self._stream.write(text.replace("\033[J", "") if self._plain else text)

    def flush(self):
        self._stream.flush()


class TimeBudget:
    """Ends training at the first end of an epoch after ``minutes`` of training (counted
    from when this run or resume began; at least one epoch runs). ``ends(trainer)`` is
    decided once per iteration, so the snapshot trigger and the stop trigger agree."""

    def __init__(self, minutes):
        self._seconds = None if minutes is None else 60.0 * minutes
        self._start = None  # (iteration, time) when training began
        self._decided = (None, False)

    def ends(self, trainer):
        updater = trainer.updater
        if self._start is None:
            self._start = (updater.iteration, time.perf_counter())
        if self._decided[0] != updater.iteration:
            over = (self._seconds is not None and updater.is_new_epoch
                    and updater.iteration > self._start[0]
                    and time.perf_counter() - self._start[1] > self._seconds)
            self._decided = (updater.iteration, over)
        return self._decided[1]


class _Either:
    """A trigger that fires when ``interval`` does or the time budget ends training;
    ``interval``'s state is what snapshots keep (as they kept it before the budget)."""

    def __init__(self, interval, budget):
        self._interval, self._budget = interval, budget

    def __call__(self, trainer):
        fired = self._interval(trainer)  # always called: it tracks its own progress
        return fired or self._budget.ends(trainer)

    def serialize(self, serializer):
        self._interval.serialize(serializer)


def build_trainer(config: RunConfig, out, progress=True, data=None, distributed=None,
                  max_minutes=None):
    """The Trainer for ``config`` writing to ``out``; returns (trainer, model, data).

    The Evaluator reports on the test split, or with ``config.train.select == "valid"``
    on the validation split, whose best epoch's parameters are kept in
    ``best_model.npz``. ``config.train.weight_decay`` adds that rate times each parameter
    to its gradient before Adam (chainer's ``WeightDecay`` hook, an L2 penalty whose
    steps scale with the learning rate, as in the study's code; not Adam's decoupled
    ``weight_decay_rate``). ``max_minutes`` ends training at the first end of an epoch past
    that much training time, with a snapshot. ``distributed`` (an ``MPIRanks`` of
    ``chainer_vae.training.distributed``) makes it one rank of a data-parallel run:
    this rank's device and seed, its shard of the data, ChainerMN's multi-node optimizer
    and Evaluator; only rank 0 gets the extensions that write.
    """
    dist = distributed if distributed is not None else SingleProcess()
    device, data, model, monitored = _model_and_data(config, data, progress, dist)
    trainer, result, budget = _trainer(config, out, model, data, monitored, device, dist,
                                       max_minutes)
    if dist.is_writer:
        _add_writer_extensions(trainer, config, result, data, out, progress, budget)
    return trainer, model, data


def _model_and_data(config, data, progress, dist):
    """(device, data, model, monitored examples) of a run, seeded as ``dist``'s rank: the
    data loaded unless given (rank 0 first), the model built on the device once its
    training step is known to fit in memory."""
    train_config = config.train
    config.validate()
    device = get_device(dist.device_spec(train_config.device))
    seed_everything(dist.seed(train_config.seed), device)
    if data is None:
        with dist.root_first():
            data = load_data(config.data, config.model.encoder, progress=progress)
    # the parameters, their gradients, Adam's two moments, its flat gradient and scratch
    # arrays, and the moving average
    model = build_for(config, data, copies=6 + bool(train_config.average))
    labelled = config.model.conditional  # batches of (x, y) pairs
    monitored = data.examples("valid" if train_config.select == "valid" else "test", labelled)
    batch = min(train_config.batch_size, len(data.train))
    check_fits(4 * ACTIVATION_COPIES * train_config.k * batch * int(numpy.prod(data.input_shape)),
               "a training step on {} examples with k = {}".format(batch, train_config.k),
               "choose a smaller --batch-size or --k")
    model.to_device(device)
    device.use()
    return device, data, model, monitored


def _trainer(config, out, model, data, monitored, device, dist, max_minutes):
    """(the Trainer, the model it evaluates and saves, its ``TimeBudget``) with the
    extensions every rank runs: the optimizer, the NaN guard, the parameter average, the
    KL warm-up, the Evaluator on ``monitored`` and the random state."""
    train_config = config.train
    labelled = config.model.conditional
    average = (ParameterAverage(model, model.copy(mode="copy"), train_config.average)
               if train_config.average else None)
    result = average.model if average else model  # what is evaluated, recorded and saved
    test_loss = ELBOLoss(result, k=1, beta=1.0)  # the test loss is the plain negative ELBO
    optimizer = dist.optimizer(FusedAdam(alpha=train_config.lr))  # chainer's Adam, in place
    train_set = dist.scatter(data.examples("train", labelled), shuffle=True,
                             seed=train_config.seed)
    train_iter = BatchIterator(train_set, min(train_config.batch_size, len(train_set)))
    updater, loss = _updater(config, model, optimizer, train_iter, device, dist)
    if train_config.weight_decay:
        optimizer.add_hook(WeightDecay(train_config.weight_decay))
    monitor_iter = BatchIterator(dist.scatter(monitored), train_config.batch_size,
                                 repeat=False, shuffle=False)
    budget = TimeBudget(max_minutes)
    stop = _Either(training.get_trigger((train_config.epochs, "epoch")), budget)
    trainer = training.Trainer(updater, stop, out=dist.trainer_out(out))

    for name, extension in dist.extensions(optimizer).items():
        extend(trainer, name, extension)
    extend(trainer, "nan_guard", NaNGuard(out))
    if average:
        extend(trainer, "average", average)
    extend(trainer, "kl_warmup", KLWarmup(loss, train_config.beta, train_config.kl_warmup))
    extend(trainer, "validation", dist.evaluator(chainer_extensions.Evaluator(
        monitor_iter, test_loss, converter=to_device, device=device)))
    extend(trainer, "random_state", dist.rank_state_keeper(train_iter) or RandomStateKeeper())
    return trainer, result, budget


def _add_writer_extensions(trainer, config, result, data, out, progress, budget):
    """The extensions of the rank that writes: the best model, latents, log, printed and
    plotted reports, progress bar and snapshots (also when ``budget`` ends the run)."""
    train_config = config.train
    keys = REPORT_KEYS + (ADVERSARIAL_KEYS if train_config.adversarial else [])
    if train_config.select == "valid":
        extend(trainer, "best_model", BestModel(result, Path(out) / BEST_MODEL_FILE))
        keys = keys + ["best_epoch"]
    # Test encodings (and the 2-D manifold) per epoch, for scatter.gif and grid.gif.
    extend(trainer, "latents", LatentRecorder(result, data.test, data.test_labels, out))
    extend(trainer, "log", chainer_extensions.LogReport(trigger=(1, "epoch"), filename=LOG_FILE))
    extend(trainer, "print", chainer_extensions.PrintReport(
        ["epoch"] + keys + ["elapsed_time"], log_report="log", out=_PlainText(sys.stdout)))
    extend(trainer, "plot_loss", chainer_extensions.PlotReport(
        ["main/loss", "validation/main/loss"], "epoch", file_name="loss.png"))
    extend(trainer, "plot_kl", chainer_extensions.PlotReport(
        ["main/kl", "validation/main/kl"], "epoch", file_name="kl.png"))
    if progress:
        extend(trainer, "progress", chainer_extensions.ProgressBar(update_interval=10))
    snapshots = training.get_trigger((train_config.snapshot_every, "epoch"))
    extend(trainer, "snapshot", chainer_extensions.snapshot(
        filename=SNAPSHOT_PREFIX + "{.updater.epoch}", savefun=save_npz_uncompressed,
        n_retains=train_config.keep_snapshots), trigger=_Either(snapshots, budget))


def _updater(config, model, optimizer, iterator, device, dist):
    """(the updater, the loss chain the KL warm-up sets beta on) of a run: the negative
    ELBO's ``StandardUpdater``, or with ``TrainConfig.adversarial`` the VAE-GAN's
    (``adversarial.adversarial_updater``). Sets ``optimizer`` up on the loss chain."""
    if config.train.adversarial:
        return adversarial_updater(config, model, optimizer, iterator, to_device, device, dist)
    loss = ELBOLoss(model, k=config.train.k, beta=config.train.beta,
                    free_nats=config.train.free_nats)
    optimizer.setup(loss)
    return training.updaters.StandardUpdater(iterator, optimizer, converter=to_device,
                                             device=device), loss


def result_model(trainer, model):
    """The model whose parameters are the result of ``trainer``'s run: the average of the
    parameters when the run keeps one (``TrainConfig.average``), else ``model``, the one
    ``build_trainer`` returned and the optimizer trains."""
    try:
        return trainer.get_extension("average").model
    except ValueError:  # chainer's "extension not found"
        return model


def train(config: RunConfig, out, resume=None, progress=None, distributed=None,
          max_minutes=None):
    """Train as ``config`` says, in the run folder ``out``; returns the trained model.

    ``resume`` is a snapshot path, or ``"latest"`` for the newest snapshot in ``out``.
    A new run whose ``config.train.init_from`` names run folders begins with their
    parameters (the mean of them for several). ``max_minutes`` ends training at the
    first end of an epoch past that much time, with a snapshot to resume from. With
    ``config.train.select == "valid"`` the result (``model.npz``) holds the parameters
    of the epoch best on the validation split. ``distributed`` makes this one rank of a
    data-parallel run (see ``build_trainer``); only rank 0 writes ``out``, and it sends
    the snapshot to resume from to the others.
    """
    dist = distributed if distributed is not None else SingleProcess()
    out = Path(out)
    if progress is None:
        progress = sys.stderr.isatty()
    progress = progress and dist.is_writer
    start = None
    if resume is None and config.train.init_from:
        source, start, config.train.init_from = initial_weights(config.train.init_from)
        if not same_weights(source, config.model):
            raise ConfigError("--init-from: the model of {} has other parameters than this "
                              "run's".format(config.train.init_from[0]))
    with writing(out) if dist.is_writer else contextlib.nullcontext():
        trainer, model, _ = build_trainer(config, out, progress=progress, distributed=dist,
                                          max_minutes=max_minutes)
        if start is not None:
            model.copyparams(start)  # the parameter average, if kept, starts from them too
        if dist.is_writer:
            config.save(out)
        if resume is not None:
            dist.load_snapshot(trainer, lambda: _snapshot_to_resume(out, resume))
        try:
            # a diverging run ends with the NaN guard's one line, not NumPy's warnings
            with numpy.errstate(over="ignore", invalid="ignore", divide="ignore"):
                trainer.run(show_loop_exception_msg=False)
        except OSError as error:  # what the extensions write into the run folder
            if dist.is_writer:
                trim_log(out)  # the epochs past the newest snapshot are run again
            raise path_error(error, out) from None
        model = result_model(trainer, model)
        if config.train.select == "valid" and dist.is_writer:
            load_weights(model, out / BEST_MODEL_FILE)
        if dist.is_writer:
            save_model(model, out)
    return model


def _snapshot_to_resume(out, resume):
    """(path, arrays) of the snapshot ``resume`` names: the newest sound one in ``out``
    for "latest" (warning about damaged newer ones), else that file."""
    if resume == "latest":
        return sound_snapshot(out)
    path = Path(resume)
    if not path.is_file():
        raise RunDirError("{}: no snapshot to resume from".format(path))
    return path, read_arrays(path, "snapshot")
