"""Data-parallel training throughput: 1 rank against 2 ranks at the same effective batch.

Each configuration launches ``mpiexec -n R`` ranks of the Trainer that
``chainer-vae train --communicator naive`` builds (``build_trainer`` with a
``MPIRanks``: scattered data, multi-node optimizer, the per-iteration mean of the
reports), trains the MLP VAE 784-400-20 (ReLU, Bernoulli, Adam) with an effective batch of
128 images per update (128 on 1 rank, 64 per rank on 2), and reports images per second
over ``--iterations`` updates after ``--warmup`` untimed ones, all inside the first epoch
(no evaluation pass is timed). Real MNIST from $CHAINER_VAE_DATA/mnist when present, else
random stand-ins of the same size.

    python -m benchmarks.mpi_throughput [--iterations 100] [--warmup 10] [--repeats 3]
                                        [--batch 128] [--json]

Configurations, interleaved over the repeats, each reported as its median:
``1 rank, T threads`` (BLAS on all cores; the plain single process), ``1 rank, 1 thread``
and ``2 ranks, 1 thread each`` (OMP_NUM_THREADS=1, so 2 ranks use as many cores as the
first). Needs mpiexec and mpi4py (``make mpi``).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HIDDEN, LATENT = 400, 20


def _mpiexec(ranks):
    version = subprocess.run(["mpiexec", "--version"], capture_output=True, text=True)
    command = ["mpiexec", "-n", str(ranks)]
    if "Open MPI" in version.stdout + version.stderr or "OpenRTE" in version.stdout:
        command.append("--oversubscribe")
        if os.geteuid() == 0:
            command.append("--allow-run-as-root")
    return command


def worker(args):
    """One rank: train and, on rank 0, print one JSON line with the timing."""
    import numpy as np

    import chainer_vae  # noqa: F401  (before chainer)
    import chainer

    from chainer_vae.config import ModelConfig, RunConfig
    from chainer_vae.data import Data
    from chainer_vae.training import build_trainer
    from chainer_vae.training.distributed import for_communicator

    dist = for_communicator("naive")
    root = os.environ.get("CHAINER_VAE_DATA")
    if root and (Path(root) / "mnist").is_dir():
        from chainer_vae.data.mnist import load_mnist

        images = load_mnist(Path(root) / "mnist", download=False, progress=False).train_images
        images, source = (images >= 0.5).astype(np.float32), "MNIST"
    else:
        images = (np.random.RandomState(0).rand(60000, 784) < 0.13).astype(np.float32)
        source = "random stand-ins"
    per_rank = args.batch // dist.size
    config = RunConfig(model=ModelConfig(hidden=[HIDDEN], latent=LATENT, activation="relu"))
    config.train.batch_size = per_rank
    data = Data(train=images, test=images[:per_rank * dist.size], input_shape=(784,))
    total = args.warmup + args.iterations
    if total * per_rank > len(images) // dist.size:
        raise SystemExit("--warmup + --iterations must stay inside the first epoch")
    times = {}

    @chainer.training.make_extension(trigger=(1, "iteration"), priority=-2000)
    def clock(trainer):
        if trainer.updater.iteration in (args.warmup, total):
            times[trainer.updater.iteration] = time.perf_counter()

    with tempfile.TemporaryDirectory() as out:
        trainer, _, _ = build_trainer(config, out, progress=False, data=data, distributed=dist)
        trainer.extend(clock)
        trainer.stop_trigger = chainer.training.triggers.IntervalTrigger(total, "iteration")
        trainer.run()
    elapsed = times[total] - times[args.warmup]
    if dist.is_writer:
        print(json.dumps({"ranks": dist.size, "images_per_s": args.iterations * per_rank *
                          dist.size / elapsed, "batch_per_rank": per_rank, "data": source}),
              flush=True)


def run_config(ranks, threads, args):
    env = dict(os.environ)
    if threads is None:
        env.pop("OMP_NUM_THREADS", None)
        env.pop("OPENBLAS_NUM_THREADS", None)
    else:
        env["OMP_NUM_THREADS"] = env["OPENBLAS_NUM_THREADS"] = str(threads)
    command = _mpiexec(ranks) + [sys.executable, "-m", "benchmarks.mpi_throughput", "--worker",
                                 "--iterations", str(args.iterations),
                                 "--warmup", str(args.warmup), "--batch", str(args.batch)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    if done.returncode != 0:
        raise SystemExit("mpiexec failed:\n{}\n{}".format(done.stdout, done.stderr[-3000:]))
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    return json.loads(lines[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=128, help="effective batch per update")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    if shutil.which("mpiexec") is None:
        raise SystemExit("no mpiexec: apt-get install openmpi-bin libopenmpi-dev; make mpi")
    cores = len(os.sched_getaffinity(0))
    configs = [("1 rank, {} threads".format(cores), 1, None), ("1 rank, 1 thread", 1, 1),
               ("2 ranks, 1 thread each", 2, 1)]
    samples = {name: [] for name, _, _ in configs}
    source = None
    load = [os.getloadavg()[0]]
    for _ in range(args.repeats):
        for name, ranks, threads in configs:
            result = run_config(ranks, threads, args)
            samples[name].append(result["images_per_s"])
            source = result["data"]
        load.append(os.getloadavg()[0])
    results = {name: statistics.median(values) for name, values in samples.items()}
    report = {"model": "MLP VAE 784-{}-{}".format(HIDDEN, LATENT),
              "effective_batch": args.batch, "iterations": args.iterations,
              "repeats": args.repeats, "cores": cores, "data": source,
              "load_average": [round(value, 2) for value in load],
              "images_per_s": {name: round(value, 1) for name, value in results.items()},
              "samples": {name: [round(v, 1) for v in values]
                          for name, values in samples.items()}}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print("{} on {} ({}), effective batch {}, {} timed updates, median of {}; {} cores, "
          "load average {}".format(report["model"], source, "communicator naive", args.batch,
                                   args.iterations, args.repeats, cores, report["load_average"]))
    for name, value in results.items():
        print("  {:<26} {:8.0f} images/s".format(name, value))


if __name__ == "__main__":
    main()
