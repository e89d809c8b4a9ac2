"""The run folder: what a training run writes, and everything that reads it back.

A run folder holds ``config.json`` (``chainer_vae.config``), ``log`` (Chainer's
LogReport: one JSON entry per epoch), ``snapshot_epoch_N`` (the whole trainer, for
``--resume``), ``latents.npz`` (test encodings per epoch), ``best_model.npz`` (with
``--select valid``: the parameters of the epoch best on validation so far) and, when
training ends, ``model.npz``: the parameters the run's result is (with ``--select valid``
those of the best epoch). This module knows those names and formats, rebuilds a run
(``load_run``), and holds what every command that runs a model needs: the Chainer
device of a ``--device`` option and the seeding of every random generator.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import random
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

import chainer
import numpy

from chainer_vae.config import CONFIG_FILE, RunConfig
from chainer_vae.data import Data, load_data
from chainer_vae.errors import ConfigError, DamagedFile, RunDirError, path_error, print_warning
from chainer_vae.files import (atomic_output, atomic_write_text, make_folder, read_arrays,
                               user_path)
from chainer_vae.model import VAE, build_model, same_weights
from chainer_vae.pretrained import is_pretrained, run_folder

MODEL_FILE = "model.npz"
BEST_MODEL_FILE = "best_model.npz"
LOG_FILE = "log"
LATENTS_FILE = "latents.npz"
SNAPSHOT_PREFIX = "snapshot_epoch_"
LOCK_FILE = ".lock"
# Log keys renamed since, {old: new}; ``read_log`` reads an old log under the new names.
# ``reconstr`` (E_q[-log p(x|z)], nats per example) became ``rec_loss``, the name Chainer's
# VAE example gives that loss, as its later ``reconstr`` is the log-likelihood.
RENAMED_LOG_KEYS = {prefix + "reconstr": prefix + "rec_loss"
                    for prefix in ("main/", "validation/main/")}


# ---------------------------------------------------------------------------- devices, seeds


def device_spec(spec):
    """A ``--device`` value in Chainer's notation: an integer becomes ``@numpy`` (below
    0) or ``@cupy:N``; anything else is returned stripped."""
    spec = str(spec).strip()
    if re.fullmatch(r"-?\d+", spec):
        return "@numpy" if int(spec) < 0 else "@cupy:{}".format(int(spec))
    return spec


def is_cpu(spec):
    """Whether a ``--device`` value names the CPU (``@numpy``, ``@intel64``, below 0)."""
    return device_spec(spec).startswith(("@numpy", "@intel64"))


def get_device(spec):
    """A Chainer device from ``@numpy``, ``@cupy:0``, ``@intel64`` or an integer (-1 = CPU)."""
    spec = device_spec(spec)
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


def serialize_random_state(serializer):
    """Save NumPy's global random state into a snapshot, or restore it from one.

    Shuffling, dynamic binarization and the reparameterised samples all draw from it, so
    a resumed run must continue from the same state.
    """
    name, keys, pos, has_gauss, cached = numpy.random.get_state()
    keys = serializer("keys", keys)
    pos = int(serializer("pos", pos))
    has_gauss = int(serializer("has_gauss", has_gauss))
    cached = float(serializer("cached_gaussian", cached))
    if isinstance(serializer, chainer.serializer.Deserializer):
        numpy.random.set_state((name, numpy.asarray(keys, dtype=numpy.uint32), pos,
                                has_gauss, cached))


# ---------------------------------------------------------------------------- files

def save_npz_uncompressed(path, target):
    """chainer's save_npz without zlib: trained weights barely compress, and compressing
    a large model (the study's MLP has 32M weights) costs seconds per snapshot. A failed
    write (a full disk) names the file, which the operating system's error does not."""
    try:
        chainer.serializers.save_npz(path, target, compression=False)
    except OSError as error:
        raise path_error(error, _final_name(path)) from None


def _final_name(path):
    """The file a temporary path stands for: chainer's snapshot writer writes
    ``OUT/tmp<name>XXXX/<name>`` and then moves it to ``OUT/<name>``."""
    path = Path(path)
    return path.parent.parent / path.name if path.parent.name.startswith("tmp") else path


def save_model(model, out, name=MODEL_FILE):
    """Write ``out/name`` (``model.npz`` by default) through a temporary file and a rename."""
    path = Path(out) / name
    with atomic_output(path) as temporary:
        save_npz_uncompressed(temporary, model)
    return path


def load_into(target, path, arrays=None, what="weights"):
    """Read the ``.npz`` file ``path`` written by chainer's serializers (weights, a
    snapshot) into ``target`` (a model of the same architecture, a Trainer); ``arrays``
    are its contents when already read. A damaged file is a ``DamagedFile``, one that
    does not fit ``target`` a ``RunDirError``, each naming the file."""
    path = Path(path)
    if arrays is None:
        if not path.is_file():
            raise RunDirError("{}: no such file (has training finished?)".format(path))
        arrays = read_arrays(path, what)
    try:
        chainer.serializers.NpzDeserializer(arrays).load(target)
    except (KeyError, ValueError, TypeError) as error:
        raise RunDirError("{}: {} do not fit the {} ({})".format(
            path, what, "model" if what == "weights" else "run", error)) from None
    return target


def load_weights(model, path):
    """Read the parameter file ``path`` (``model.npz``) into ``model``; see ``load_into``."""
    return load_into(model, path)


def snapshots(out):
    """The snapshots in ``out``, newest (highest epoch) first."""
    found = []
    for path in Path(out).glob(SNAPSHOT_PREFIX + "*"):
        match = re.fullmatch(re.escape(SNAPSHOT_PREFIX) + r"(\d+)", path.name)
        if match and path.is_file():
            found.append((int(match.group(1)), path))
    return [path for _, path in sorted(found, reverse=True)]


def latest_snapshot(out):
    """The snapshot of the highest epoch in ``out``, or None."""
    found = snapshots(out)
    return found[0] if found else None


def sound_snapshot(out, warn=print_warning):
    """(path, arrays) of the newest snapshot in ``out`` that reads whole; each damaged
    newer one is named in a one-line warning. A ``RunDirError`` when there is none."""
    for path in snapshots(out):
        try:
            return path, read_arrays(path, "snapshot")
        except DamagedFile as error:
            warn("{}; trying the snapshot before it".format(error))
    raise RunDirError("{}: no snapshot to resume from".format(out))


def read_log(log):
    """The entries of a Chainer ``LogReport`` file: a path to it, to its run folder, or
    the list itself; the keys of a log written before a rename under their new names
    (``RENAMED_LOG_KEYS``)."""
    if isinstance(log, (list, tuple)):
        return [_renamed(entry) for entry in log]
    path = Path(log)
    if path.is_dir():
        path = path / LOG_FILE
    if not path.is_file():
        raise RunDirError("{}: no training log".format(path))
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise RunDirError("{}: not a Chainer log ({})".format(path, error)) from None
    except OSError as error:
        raise path_error(error, path, "read") from None
    if not isinstance(entries, list):
        raise RunDirError("{}: not a Chainer log (expected a list of entries)".format(path))
    return [_renamed(entry) for entry in entries]


def _renamed(entry):
    """A log entry with its renamed keys under their new names (other values as they are)."""
    if not isinstance(entry, dict):
        return entry
    return {RENAMED_LOG_KEYS.get(key, key): value for key, value in entry.items()}


def read_latents(path):
    """The arrays of a ``latents.npz`` (a path to it or to its run folder) as a dict:
    ``epochs`` (E,), ``z`` (E, N, latent), ``labels`` (N,) and, for 2-D runs with a grid,
    ``grid_z`` (n * n, 2) and ``grid`` (E, n * n, *input_shape) as uint8 (0..255)."""
    path = Path(path)
    if path.is_dir():
        path = path / LATENTS_FILE
    return read_arrays(path, "latents file")


# ---------------------------------------------------------------------------- writing a run

@contextlib.contextmanager
def writing(out):
    """Hold the run folder ``out`` for writing, as one ``chainer-vae train`` does.

    Creates ``out``; takes ``out/.lock`` (``fcntl.flock``, which the operating system
    releases when a process dies, so a killed run never blocks the next), refusing with a
    ``RunDirError`` naming the process that holds it; removes what killed writers left
    (chainer's ``tmpsnapshot_*`` folders, our ``.*.part*`` files). When the block fails
    and ``out`` was new and holds nothing else, ``out`` is removed again.
    """
    out = Path(out)
    new = not out.exists()
    make_folder(out)
    with user_path(out / LOCK_FILE):
        lock = open(out / LOCK_FILE, "a+")
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "unknown"
            raise RunDirError("{} is being written by another chainer-vae train (process {}); "
                              "wait for it or choose another --out".format(out, holder)) from None
        lock.seek(0)
        lock.truncate()
        lock.write(str(os.getpid()))
        lock.flush()
        for leftover in list(out.glob("tmp" + SNAPSHOT_PREFIX + "*")) + list(out.glob(".*.part*")):
            shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()
        yield out
    except BaseException:
        if new and [path.name for path in out.iterdir()] == [LOCK_FILE]:
            shutil.rmtree(out)
        raise
    finally:
        lock.close()  # and with it the lock


def trim_log(out):
    """Drop the log entries of epochs after the newest snapshot (after a failed run,
    whose resume starts from that snapshot and rewrites them)."""
    newest = latest_snapshot(out)
    path = Path(out) / LOG_FILE
    if not path.is_file():
        return
    last = int(newest.name[len(SNAPSHOT_PREFIX):]) if newest is not None else 0
    entries = [entry for entry in read_log(path) if entry.get("epoch", 0) <= last]
    atomic_write_text(path, json.dumps(entries, indent=4))


# ---------------------------------------------------------------------------- whole runs

def build_for(config: RunConfig, data: Data, copies=1) -> VAE:
    """A fresh model of ``config`` for the examples of ``data``: the one place a run's
    ``config.model.input_shape`` and, conditional, ``label_names`` are set, from the
    data (a model that has label names already must have the data's). ``copies``: see
    ``build_model``."""
    config.model.input_shape = tuple(data.input_shape)
    if config.model.conditional:
        if data.train_labels is None:
            raise ConfigError("--conditional needs labelled examples (MNIST digits, MIDI "
                              "folders); the {} data set has no labels".format(
                                  config.data.dataset))
        names = [str(name) for name in data.label_names]
        known = config.model.label_names
        if known and known != names:
            raise ConfigError("the model was trained on the labels {} but the data has {}"
                              .format(", ".join(known), ", ".join(names)))
        config.model.label_names = names
    return build_model(config.model, copies)


@dataclass
class LoadedRun:
    """A finished run: its config, its trained model (on ``device``) and its data."""

    config: RunConfig
    model: VAE
    data: Optional[Data]
    device: object


def load_run(run_dir, device=None, data=None, progress=False, with_data=True) -> LoadedRun:
    """Rebuild a run from ``run_dir/config.json`` and ``model.npz``: its model on
    ``device`` (default: the run's) and its data (``data`` replaces them when given).
    ``with_data=False`` leaves the data unread (``LoadedRun.data`` is None) when the
    config knows the examples' shape, so that a model can generate where its data set
    is not. ``run_dir`` may name a shipped model: ``pretrained:NAME``."""
    run_dir = run_folder(run_dir)
    config = RunConfig.load(run_dir)
    device = get_device(device if device is not None else config.train.device)
    if data is None and not with_data and config.model.input_shape:
        model = _built(run_dir, lambda: build_model(config.model))
    else:
        if data is None:
            data = load_data(config.data, config.model.encoder, progress=progress)
        model = _built(run_dir, lambda: build_for(config, data))
    model = load_weights(model, Path(run_dir) / MODEL_FILE)
    model.to_device(device)
    return LoadedRun(config, model, data, device)


def _built(run_dir, build):
    """``build()``, a model of a saved config: one it cannot build (sizes beyond this
    machine's memory, labels the data lack) is a ``ConfigError`` naming its config.json."""
    try:
        return build()
    except ConfigError as error:
        raise ConfigError("{}: {}".format(Path(run_dir) / CONFIG_FILE, error)) from None


def initial_weights(run_dirs) -> tuple:
    """The parameters a run started with ``--init-from RUN [RUN ...]`` begins with: the
    ``model.npz`` of one run folder, or the mean of those of several runs of one model.

    Returns (the first run's ``ModelConfig``, a model holding the parameters, the run
    folders as absolute paths, or ``pretrained:NAME`` for a shipped model). Runs whose
    models have other parameters are a ``ConfigError``.
    """
    given = list(run_dirs)
    run_dirs = [run_folder(run_dir) for run_dir in given]
    if not run_dirs:
        raise ConfigError("--init-from needs at least one run folder")
    config = RunConfig.load(run_dirs[0]).model
    models: List[VAE] = []
    for run_dir in run_dirs:
        other = RunConfig.load(run_dir).model
        if not same_weights(other, config):
            raise ConfigError("--init-from: {} holds another model than {} (only runs of one "
                              "model can be averaged)".format(run_dir, run_dirs[0]))
        models.append(load_weights(build_model(other), run_dir / MODEL_FILE))
    mean = models[0]
    if len(models) > 1:
        sources = [dict(model.namedparams()) for model in models]
        for name, param in mean.namedparams():
            param.array[...] = numpy.mean([source[name].array for source in sources], axis=0)
    return config, mean, [text if is_pretrained(text) else str(run_dir.resolve())
                          for text, run_dir in zip(given, run_dirs)]


__all__ = ["BEST_MODEL_FILE", "LATENTS_FILE", "LOCK_FILE", "LOG_FILE", "MODEL_FILE",
           "SNAPSHOT_PREFIX", "build_for", "device_spec", "get_device", "initial_weights",
           "is_cpu", "latest_snapshot", "load_into", "load_run", "load_weights", "LoadedRun",
           "read_latents", "read_log", "save_model", "save_npz_uncompressed", "seed_everything",
           "serialize_random_state", "snapshots", "sound_snapshot", "trim_log", "writing"]
