"""The Trainer's own extensions, and the one table of the order they all run in.

After every update Chainer runs the extensions whose trigger fires, highest priority
first. ``PRIORITIES`` sets every extension's priority in one place, in the order below,
because several must run before others read what they write:

1. ``mpi_sync``: (when training starts) rank 0's parameters go to every rank;
2. ``mpi_check_sync``: the parameters are the same on every rank (``CHAINER_VAE_CHECK_SYNC``);
3. ``mpi_mean``: the training observations become their mean over the ranks, so that
4. ``nan_guard`` sees the same loss on every rank and stops a diverged run before a NaN
   reaches the average or a snapshot;
5. ``average``: the moving average of the parameters, which the Evaluator scores;
6. ``kl_warmup``: beta for the next update;
7. ``validation``: the Evaluator (it draws random numbers);
8. ``best_model``: with ``--select valid``, the parameters of the best epoch so far,
   judged on what the Evaluator just reported;
9. ``latents``: the test encodings of this epoch;
10. ``log``, ``print``, ``plot_loss``, ``plot_kl``, ``progress``: the reports, which read
    the observations above;
11. ``random_state``: NumPy's random state (and, with ranks, every rank's), after every
    extension that draws random numbers;
12. ``snapshot``: last, so that a resumed run starts from exactly this state.

Extensions also initialise in this order when training starts or resumes.
"""
from __future__ import annotations

import math
from pathlib import Path

import chainer
import numpy
from chainer import training

from chainer_vae.data import examples_array
from chainer_vae.errors import TrainingDiverged
from chainer_vae.files import make_folder, write_arrays
from chainer_vae.inference import sampling
from chainer_vae.runs import (LATENTS_FILE, latest_snapshot, read_latents, save_model,
                              serialize_random_state)

ORDER = ("mpi_sync", "mpi_check_sync", "mpi_mean", "nan_guard", "average", "kl_warmup",
         "validation", "best_model", "latents", "log", "print", "plot_loss", "plot_kl", "progress",
         "random_state", "snapshot")
PRIORITIES = {name: 1000 - 10 * index for index, name in enumerate(ORDER)}


def extend(trainer, name, extension, **kwargs):
    """``trainer.extend`` with the extension's priority from ``PRIORITIES``."""
    trainer.extend(extension, name=name, priority=PRIORITIES[name], **kwargs)


class KLWarmup(training.Extension):
    """Sets the loss chain's beta to ``beta * min(1, epoch / span)`` before each update."""

    trigger = 1, "iteration"

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
    """Keeps NumPy's global random state in snapshots (``runs.serialize_random_state``)."""

    trigger = 1, "epoch"

    def __call__(self, trainer):
        pass

    def serialize(self, serializer):
        serialize_random_state(serializer)


# Over the first steps the average follows the parameters more closely than ``decay``
# alone would (decay_n = min(decay, (1 + n) / (10 + n)), as TensorFlow's
# ExponentialMovingAverage does with num_updates), so a run from random weights does not
# carry its initialisation into the average for thousands of steps.
_WARMUP = 10


def step_decay(decay, updates):
    """The decay applied at the update after ``updates`` earlier ones."""
    return min(decay, (1.0 + updates) / (_WARMUP + updates))


class ParameterAverage(training.Extension):
    """After every optimizer step: ``average += (1 - decay_n) * (param - average)`` for each
    parameter of ``model``, into ``average`` (a model of the same architecture, on the same
    device). A fresh run starts the average at the parameters it begins with; snapshots
    keep the average and the number of updates, so a resumed run continues it exactly."""

    trigger = 1, "iteration"

    def __init__(self, model, average, decay):
        self._pairs = list(zip(_sorted_params(model), _sorted_params(average)))
        self._average = average
        self._decay = decay  # checked by the config's schema, before any data is loaded
        self.updates = 0

    @property
    def model(self):
        """The model holding the average."""
        return self._average

    def initialize(self, trainer):
        if self.updates == 0:
            for param, mean in self._pairs:
                mean.array[...] = param.array

    def __call__(self, trainer):
        rate = 1.0 - step_decay(self._decay, self.updates)
        for param, mean in self._pairs:
            mean.array += rate * (param.array - mean.array)
        self.updates += 1

    def serialize(self, serializer):
        self.updates = int(serializer("updates", self.updates))
        self._average.serialize(serializer["average"])


def _sorted_params(link):
    return [param for _, param in sorted(link.namedparams(), key=lambda item: item[0])]


class BestModel(training.Extension):
    """Keeps the parameters of ``model`` at the epoch with the lowest
    ``validation/main/loss`` so far in ``path`` (``best_model.npz``), and reports that
    epoch as ``best_epoch``, so the log names it. Snapshots keep the best loss and epoch."""

    trigger = 1, "epoch"

    def __init__(self, model, path, key="validation/main/loss"):
        self._model, self._path, self._key = model, Path(path), key
        self.best, self.epoch = math.inf, 0

    def __call__(self, trainer):
        value = trainer.observation.get(self._key)
        if value is None:
            return
        value = float(chainer.as_array(value))
        if value < self.best:
            self.best, self.epoch = value, int(trainer.updater.epoch)
            save_model(self._model, self._path.parent, self._path.name)
        trainer.observation["best_epoch"] = self.epoch

    def serialize(self, serializer):
        self.best = float(serializer("best", self.best))
        self.epoch = int(serializer("epoch", self.epoch))


class LatentRecorder(training.Extension):
    """Appends the encodings of ``x`` (and, for latent size 2 with ``grid``, the decoder's
    means on an ``grid_size`` x ``grid_size`` grid through the inverse Gaussian CDF) to
    ``out_dir/latents.npz`` every epoch. ``x`` is an array or a dataset (such as
    ``data.test``); only its first ``limit`` examples are read, once, here. A conditional
    model encodes them with their ``labels`` and records no grid (which has no label).
    """

    trigger = 1, "epoch"

    def __init__(self, model, x, labels, out_dir, grid=True, grid_size=20, span=0.95,
                 limit=1000, batch_size=500):
        self._model = model
        x = examples_array(x, limit)
        self._x = x
        self._y = None if labels is None else numpy.asarray(labels).reshape(-1)[:len(x)]
        self._labels = (numpy.full(len(x), -1, numpy.int64) if labels is None
                        else self._y.astype(numpy.int64))
        self._path = Path(out_dir) / LATENTS_FILE
        self._grid = bool(grid)
        self._grid_size = grid_size
        self._span = span
        self._batch_size = batch_size

    @property
    def path(self):
        return self._path

    def record(self, epoch):
        """Encode (and decode the grid) now, and store it as ``epoch``."""
        model = self._model
        z = sampling.encode(model, self._x, self._batch_size, labels=self._y)
        arrays = {"epochs": numpy.array([epoch], numpy.int64), "z": z[None],
                  "labels": self._labels}
        if self._grid and model.latent == 2 and not model.labels:
            grid_z = sampling.latent_grid(self._grid_size, self._span)
            decoded = sampling.decode(model, grid_z, self._batch_size)
            arrays["grid_z"] = grid_z
            arrays["grid"] = (numpy.clip(decoded, 0, 1) * 255).round().astype(numpy.uint8)[None]
        old = self._previous(arrays)
        if old is not None:
            keep = old["epochs"] < epoch
            for key in ("epochs", "z", "grid"):
                if key in arrays:
                    arrays[key] = numpy.concatenate([old[key][keep], arrays[key]])
        make_folder(self._path.parent)
        write_arrays(self._path, arrays)
        return self._path

    def _previous(self, new):
        """The file's arrays when they can be extended by ``new``, else None (start over)."""
        if not self._path.is_file():
            return None
        try:
            old = read_latents(self._path)
        except (OSError, ValueError):
            return None
        if any(key not in old for key in new):
            return None
        if old["z"].shape[1:] != new["z"].shape[1:] or not numpy.array_equal(
                old["labels"], new["labels"]):
            return None
        if "grid" in new and (old["grid"].shape[1:] != new["grid"].shape[1:]
                              or not numpy.array_equal(old["grid_z"], new["grid_z"])):
            return None
        return old

    def __call__(self, trainer):
        self.record(int(trainer.updater.epoch))

    def serialize(self, serializer):
        """Nothing to keep: ``latents.npz`` is the record. Defined (empty) so snapshots
        taken with or without the recorder load into trainers with or without it."""
