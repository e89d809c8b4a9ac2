"""Where a training step's time goes: chainer-vae against PyTorch eager, phase by phase.

    python -m benchmarks.step_breakdown [--iterations 200] [--warmup 30] [--repeats 3]
                                        [--threads N] [--json]

The model and data are train_throughput.py's (MLP VAE 784-400-20, ReLU, Bernoulli, Adam,
batch 128). Each step is timed in four phases:

- batch: drawing the next batch (chainer-vae: the Trainer's iterator and converter;
  PyTorch: indexing the data tensor);
- forward: the loss (chainer-vae: the ``ELBOLoss`` chain the Trainer optimizes);
- backward: clearing the gradients and back-propagating;
- optimizer: the Adam update (chainer-vae: ``FusedAdam.update``).

A third column times the same step written directly in NumPy (``numpy_vae.py``: no graph,
the backward pass by hand, the same flat Adam update; its batch is an indexed copy, as
PyTorch's): what chainer-vae's step would cost if chainer's bookkeeping cost nothing.

chainer-vae's objects are the ones ``build_trainer`` makes, called in the order its
``StandardUpdater`` calls them; the Trainer's own per-step work (extensions, reporting)
is not in any phase: train_throughput.py measures the whole. Per phase, the median over
the timed steps of a run, then the median over ``--repeats`` interleaved runs; ms per
step.
"""
from __future__ import annotations

import argparse
import functools
import sys
import tempfile
import time

import numpy as np

import chainer_vae  # noqa: F401  (before chainer)

from chainer_vae.data import Data
from chainer_vae.training import build_trainer

from benchmarks import machine, report
from benchmarks import train_throughput as bench
from benchmarks.numpy_vae import NumpyVAE
from benchmarks.timing import interleaved, median_per_key, medians

PHASES = ("batch", "forward", "backward", "optimizer")


def time_phases(batch, forward, backward, optimize, iterations, warmup):
    """Median ms per phase over ``iterations`` steps after ``warmup`` untimed ones; a step
    is ``x = batch(step)``, ``loss = forward(x)``, ``backward(loss)``, ``optimize()``."""
    times = {phase: [] for phase in PHASES}
    for step in range(warmup + iterations):
        t0 = time.perf_counter()
        x = batch(step)
        t1 = time.perf_counter()
        loss = forward(x)
        t2 = time.perf_counter()
        backward(loss)
        t3 = time.perf_counter()
        optimize()
        t4 = time.perf_counter()
        if step >= warmup:
            for phase, start, end in zip(PHASES, (t0, t1, t2, t3), (t1, t2, t3, t4)):
                times[phase].append(1e3 * (end - start))
    return medians(times)


def _indexed_batches(data, order):
    """batch(step): the step-th batch of ``data`` in ``order`` (one indexing, a copy)."""
    return lambda step: data[order[step * bench.BATCH:(step + 1) * bench.BATCH]]


def project_phases(images, iterations, warmup):
    """Median ms per phase of chainer-vae's training step."""
    data = Data(train=images, test=images[:bench.BATCH], input_shape=(784,))
    with tempfile.TemporaryDirectory() as out:
        trainer, _, _ = build_trainer(bench.benchmark_config(), out, progress=False, data=data)
    updater = trainer.updater
    iterator, optimizer = updater.get_iterator("main"), updater.get_optimizer("main")
    loss_chain = optimizer.target

    def backward(loss):
        loss_chain.cleargrads()
        loss.backward()

    return time_phases(lambda step: updater.converter(iterator.next(), updater.input_device),
                       loss_chain, backward, optimizer.update, iterations, warmup)


def numpy_phases(images, iterations, warmup):
    """Median ms per phase of the same step written directly in NumPy (``numpy_vae.py``):
    the floor under chainer-vae's step."""
    from chainer_vae.model import build_model

    floor = NumpyVAE.from_model(build_model(bench.benchmark_config().model))
    return time_phases(_indexed_batches(images, np.random.permutation(len(images))),
                       floor.loss, lambda loss: floor.backward(), floor.update,
                       iterations, warmup)


def torch_phases(images, iterations, warmup):
    """Median ms per phase of the PyTorch step."""
    import torch

    model, optimizer = bench.MODELS["mlp"].torch_model()
    data = torch.from_numpy(images)

    def backward(loss):
        optimizer.zero_grad()
        loss.backward()

    return time_phases(_indexed_batches(data, torch.randperm(len(data))), model, backward,
                       optimizer.step, iterations, warmup)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS threads for both sides (default: NumPy's OpenBLAS count)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.iterations < 1 or args.warmup < 0 or args.repeats < 1:
        parser.error("--iterations and --repeats must be at least 1, --warmup at least 0")
    if (args.warmup + args.iterations) * bench.BATCH > bench.MNIST_TRAIN:
        parser.error("--warmup + --iterations must stay inside one epoch (at most {})".format(
            bench.MNIST_TRAIN // bench.BATCH))
    torch, _ = machine.peer_torch(False)
    if torch is None:
        print(machine.TORCH_MISSING, file=sys.stderr)
        return 2
    images, source = bench.load_images()
    threads = machine.set_threads(args.threads, torch)
    sides = {"chainer-vae": project_phases, "numpy": numpy_phases, "torch": torch_phases}
    runs = interleaved({side: functools.partial(phases, images, args.iterations, args.warmup)
                        for side, phases in sides.items()}, args.repeats)
    result = {"ms_per_step": {side: median_per_key(side_runs)
                              for side, side_runs in runs.items()},
              "data": source, "batch": bench.BATCH, "iterations": args.iterations,
              "repeats": args.repeats, "threads": threads, "torch": torch.__version__}
    for phases in result["ms_per_step"].values():
        phases["total"] = sum(phases[phase] for phase in PHASES)
    report.emit(result, args.json, table)
    return 0


def table(result):
    """The breakdown as a markdown table, ms per step (the NumPy floor's column where the
    result has one)."""
    sides = [side for side in ("chainer-vae", "numpy", "torch") if side in result["ms_per_step"]]
    names = {"chainer-vae": "chainer-vae", "numpy": "NumPy by hand (floor)",
             "torch": "PyTorch {}".format(result["torch"])}
    lines = ["| ms per step | " + " | ".join(names[side] for side in sides) + " |",
             "|---|" + "---:|" * len(sides)]
    for phase in PHASES + ("total",):
        lines.append("| {} | ".format(phase) + " | ".join(
            "{:.2f}".format(result["ms_per_step"][side][phase]) for side in sides) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
