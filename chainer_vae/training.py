"""Training: one Chainer Trainer for every model and dataset, built from a ``RunConfig``.

The run folder ``out`` receives ``config.json`` first, then per epoch the ``log``, the
loss plots and a snapshot, and ``model.npz`` when training ends. A snapshot holds the
model, the optimizer, the iterator, the log and the NumPy random state, so a resumed run
ends with the same parameters as an uninterrupted one (on the CPU, same seed).
"""
from __future__ import annotations

import math
import random
import re
import sys
from pathlib import Path

import chainer
import matplotlib
import numpy
from chainer import training
from chainer.training import extensions

from chainer_vae.averaging import ParameterAverage, check_decay
from chainer_vae.config import RunConfig
from chainer_vae.datasets import load_data
from chainer_vae.distributed import Distributed
from chainer_vae.files import atomic_output
from chainer_vae.iterators import BatchIterator, to_device
from chainer_vae.errors import ConfigError, RunDirError, TrainingDiverged
from chainer_vae.model import MODEL_FILE, build_model
from chainer_vae.optimizers import FusedAdam
from chainer_vae.recorders import LatentRecorder
from chainer_vae.vae import ELBOLoss

matplotlib.use("Agg")  # PlotReport draws in the run folder; no display is needed

SNAPSHOT_PREFIX = "snapshot_epoch_"
LOG_FILE = "log"
AVERAGE_EXTENSION = "average"
REPORT_KEYS = ["main/loss", "main/reconstr", "main/kl", "main/beta",
               "validation/main/loss", "validation/main/reconstr", "validation/main/kl"]


def get_device(spec):
    """A Chainer device from ``@numpy``, ``@cupy:0``, ``@intel64`` or an integer (-1 = CPU)."""
    spec = str(spec).strip()
    if re.fullmatch(r"-?\d+", spec):
        spec = "@numpy" if int(spec) < 0 else "@cupy:{}".format(int(spec))
    if spec.startswith("@cupy") and not chainer.backends.cuda.available:
        raise ConfigError("device {!r} is not available: CuPy with a CUDA GPU is needed "
                          "(pip install cupy-cuda12x); use @numpy for the CPU".format(spec))
    try:
        return chainer.get_device(spec)
    except Exception as error:  # chainer raises bare ValueError/RuntimeError/ImportError
        raise ConfigError("device {!r} is not available: {}".format(spec, error)) from None


def seed_everything(seed, device):
    """Seed every generator a run draws from: Python, NumPy and, on a GPU, CuPy."""
    random.seed(seed)
    numpy.random.seed(seed)
    if device.xp is not numpy:
        device.xp.random.seed(seed)


class KLWarmup(training.Extension):
    """Sets the loss chain's beta to ``beta * min(1, epoch / span)`` before each update."""

    trigger = 1, "iteration"
    priority = training.PRIORITY_WRITER

    def __init__(self, loss, beta, span):
        self._loss, self._beta, self._span = loss, beta, span

    def _set(self, trainer):
        progress = 1.0 if self._span <= 0 else min(1.0, trainer.updater.epoch_detail / self._span)
        self._loss.beta = self._beta * progress

    initialize = _set

    def __call__(self, trainer):
        self._set(trainer)


class NaNGuard(training.Extension):
    """Stops training when the loss is NaN or infinite, before a snapshot could save it."""

    trigger = 1, "iteration"
    priority = training.PRIORITY_WRITER + 2  # before the average and the snapshot

    def __init__(self, out):
        self._out = Path(out)

    def __call__(self, trainer):
        loss = trainer.observation.get("main/loss")
        if loss is None:
            return
        value = float(chainer.as_array(loss))
        if not math.isfinite(value):
            last = latest_snapshot(self._out)
            kept = "last good snapshot: {}".format(last) if last else "no snapshot was written yet"
            raise TrainingDiverged("loss became {} at iteration {} (epoch {:.2f}); {}".format(
                value, trainer.updater.iteration, trainer.updater.epoch_detail, kept))


class RandomStateKeeper(training.Extension):
    """Saves and restores NumPy's global random state in snapshots.

    Shuffling, dynamic binarization and the reparameterised samples all draw from it, so
    a resumed run must continue from the same state.
    """

    trigger = 1, "epoch"

    def __call__(self, trainer):
        pass

    def serialize(self, serializer):
        name, keys, pos, has_gauss, cached = numpy.random.get_state()
        keys = serializer("keys", keys)
        pos = int(serializer("pos", pos))
        has_gauss = int(serializer("has_gauss", has_gauss))
        cached = float(serializer("cached_gaussian", cached))
        if isinstance(serializer, chainer.serializer.Deserializer):
            numpy.random.set_state((name, numpy.asarray(keys, dtype=numpy.uint32), pos,
                                    has_gauss, cached))


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


def save_npz_uncompressed(path, target):
    """chainer's save_npz without zlib: trained weights barely compress, and compressing
    the study's 32M-weight MLP took over 20 s per snapshot."""
    chainer.serializers.save_npz(path, target, compression=False)


def latest_snapshot(out):
    """The snapshot of the highest epoch in ``out``, or None."""
    found = []
    for path in Path(out).glob(SNAPSHOT_PREFIX + "*"):
        match = re.fullmatch(re.escape(SNAPSHOT_PREFIX) + r"(\d+)", path.name)
        if match:
            found.append((int(match.group(1)), path))
    return max(found)[1] if found else None


def build_trainer(config: RunConfig, out, progress=True, data=None, distributed=None):
    """The Trainer for ``config`` writing to ``out``; returns (trainer, model, data).

    ``distributed`` (a ``chainer_vae.distributed.Distributed``) makes it one rank of a
    data-parallel run: this rank's device and seed, its shard of the data, ChainerMN's
    multi-node optimizer and Evaluator; only rank 0 gets the extensions that write.
    """
    dist = distributed if distributed is not None else Distributed()
    train_config = config.train
    if train_config.epochs < 1 or train_config.batch_size < 1 or train_config.k < 1:
        raise ConfigError("epochs, batch size and k must be at least 1")
    if train_config.lr <= 0 or train_config.beta < 0:
        raise ConfigError("the learning rate must be positive and beta non-negative")
    if train_config.snapshot_every < 1 or train_config.keep_snapshots < 1:
        raise ConfigError("snapshot interval and snapshots kept must be at least 1")
    check_decay(train_config.average)
    device = get_device(dist.device_spec(train_config.device))
    seed_everything(dist.seed(train_config.seed), device)
    if data is None:
        with dist.root_first():
            data = load_data(config.data, config.model.encoder, progress=progress)
    if len(data.train) == 0 or len(data.test) == 0:
        raise ConfigError("the data set has no training or no test examples")
    config.model.input_shape = tuple(data.input_shape)
    model = build_model(config.model)
    model.to_device(device)
    device.use()

    loss = ELBOLoss(model, k=train_config.k, beta=train_config.beta)
    average = (ParameterAverage(model, model.copy(mode="copy"), train_config.average)
               if train_config.average else None)
    result = average.model if average else model  # what is evaluated, recorded and saved
    test_loss = ELBOLoss(result, k=1, beta=1.0)  # the test loss is the plain negative ELBO
    optimizer = dist.optimizer(FusedAdam(alpha=train_config.lr))  # chainer's Adam, in place
    optimizer.setup(loss)

    train_set = dist.scatter(data.train, shuffle=True, seed=train_config.seed)
    test_set = dist.scatter(data.test)
    batch = min(train_config.batch_size, len(train_set))
    train_iter = BatchIterator(train_set, batch)
    test_iter = BatchIterator(test_set, train_config.batch_size, repeat=False, shuffle=False)
    updater = training.updaters.StandardUpdater(train_iter, optimizer, converter=to_device,
                                                device=device)
    trainer = training.Trainer(updater, (train_config.epochs, "epoch"),
                               out=dist.trainer_out(out))

    trainer.extend(KLWarmup(loss, train_config.beta, train_config.kl_warmup))
    trainer.extend(NaNGuard(out))
    if average:
        trainer.extend(average, name=AVERAGE_EXTENSION)
    trainer.extend(dist.evaluator(extensions.Evaluator(test_iter, test_loss, converter=to_device,
                                                       device=device)))
    trainer.extend(dist.random_state_keeper(train_iter), name="random_state")
    dist.extend(trainer, optimizer)
    if not dist.is_writer:
        return trainer, model, data
    trainer.extend(extensions.LogReport(trigger=(1, "epoch"), filename=LOG_FILE))
    trainer.extend(extensions.PrintReport(["epoch"] + REPORT_KEYS + ["elapsed_time"],
                                          out=_PlainText(sys.stdout)))
    trainer.extend(extensions.PlotReport(["main/loss", "validation/main/loss"], "epoch",
                                         file_name="loss.png"))
    trainer.extend(extensions.PlotReport(["main/kl", "validation/main/kl"], "epoch",
                                         file_name="kl.png"))
    # Test encodings (and the 2-D manifold) per epoch, for scatter.gif and grid.gif.
    trainer.extend(LatentRecorder(result, data.test, data.test_labels, out), name="latents")
    # Lowest priority: the snapshot is taken after every extension that draws random
    # numbers (the Evaluator), so a resumed run sees the same random state.
    trainer.extend(extensions.snapshot(filename=SNAPSHOT_PREFIX + "{.updater.epoch}",
                                       savefun=save_npz_uncompressed,
                                       n_retains=train_config.keep_snapshots),
                   trigger=(train_config.snapshot_every, "epoch"), priority=-1000)
    if progress:
        trainer.extend(extensions.ProgressBar(update_interval=10))
    return trainer, model, data


def result_model(trainer, model):
    """The model whose parameters are the result of ``trainer``'s run: the average of the
    parameters when the run keeps one (``TrainConfig.average``), else ``model``, the one
    ``build_trainer`` returned and the optimizer trains."""
    try:
        return trainer.get_extension(AVERAGE_EXTENSION).model
    except ValueError:  # chainer's "extension not found"
        return model


def train(config: RunConfig, out, resume=None, progress=None, distributed=None):
    """Train as ``config`` says, in the run folder ``out``; returns the trained model.

    ``resume`` is a snapshot path, or ``"latest"`` for the newest snapshot in ``out``.
    ``distributed`` makes this one rank of a data-parallel run (see ``build_trainer``);
    only rank 0 writes ``out``, and it sends the snapshot to resume from to the others.
    """
    dist = distributed if distributed is not None else Distributed()
    out = Path(out)
    if progress is None:
        progress = sys.stderr.isatty()
    progress = progress and dist.is_writer
    if dist.is_writer:
        out.mkdir(parents=True, exist_ok=True)
    trainer, model, _ = build_trainer(config, out, progress=progress, distributed=dist)
    if dist.is_writer:
        config.save(out)
    if resume is not None:
        dist.load_snapshot(trainer, lambda: _snapshot_to_resume(out, resume))
    trainer.run(show_loop_exception_msg=False)
    model = result_model(trainer, model)
    if dist.is_writer:
        save_model(model, out)
    return model


def _snapshot_to_resume(out, resume):
    snapshot = latest_snapshot(out) if resume == "latest" else Path(resume)
    if snapshot is None or not snapshot.is_file():
        raise RunDirError("{}: no snapshot to resume from".format(
            snapshot if snapshot is not None else out))
    return snapshot


def save_model(model, out):
    """Write ``out/model.npz`` (CPU arrays) through a temporary file and a rename."""
    path = Path(out) / MODEL_FILE
    with atomic_output(path) as temporary:
        save_npz_uncompressed(temporary, model)
    return path
