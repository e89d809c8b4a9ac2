"""Profile the project's training path (the benchmark's trainer) with cProfile.

    python benchmarks/profile_train.py [--iterations 150] [--top 30] [--sort tottime]

Builds the same Trainer as ``train_throughput.py`` (``build_trainer``, MLP VAE 784-400-20,
ReLU, Bernoulli, batch 128), runs it for a number of iterations inside the first epoch
and prints cProfile's top entries. As in the benchmark, the first ``--warmup`` iterations
run unprofiled (they import matplotlib for PlotReport), so the profile shows the steady
state. Set OPENBLAS_NUM_THREADS=1 on a busy machine: waiting BLAS threads otherwise
swamp everything else.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import train_throughput as bench  # noqa: E402  (imports chainer_vae before chainer)

import chainer  # noqa: E402

from chainer_vae.data import Data  # noqa: E402
from chainer_vae.training import build_trainer  # noqa: E402


class _ProfileAfterWarmup(bench._StopAfter):
    """The benchmark's stop trigger, which also starts the profiler when warm-up ends."""

    def __init__(self, profile, warmup, iterations):
        super().__init__(warmup, iterations)
        self._profile = profile

    def __call__(self, trainer):
        done = super().__call__(trainer)
        if trainer.updater.iteration == self.warmup:
            self._profile.enable()
        return done


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=150)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--sort", default="tottime", choices=["tottime", "cumulative"])
    args = parser.parse_args(argv)
    images, _ = bench.load_images()
    data = Data(train=images, test=images[:bench.BATCH], input_shape=(784,))
    with tempfile.TemporaryDirectory() as out:
        trainer, _, _ = build_trainer(bench.benchmark_config(), out, progress=False, data=data)
        profile = cProfile.Profile()
        trainer.stop_trigger = stop = _ProfileAfterWarmup(profile, args.warmup, args.iterations)
        trainer.run()
        profile.disable()
        elapsed = time.perf_counter() - stop.started
    stream = io.StringIO()
    pstats.Stats(profile, stream=stream).sort_stats(args.sort).print_stats(args.top)
    print("{} iterations in {:.2f} s under the profiler ({:.1f} ms per iteration)".format(
        args.iterations, elapsed, 1000 * elapsed / args.iterations))
    print(stream.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
