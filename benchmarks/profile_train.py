"""Profile the project's training path (the benchmark's trainer) with cProfile.

    python -m benchmarks.profile_train [--model mlp|lstm|hier] [--iterations N] [--top 30]
                                       [--sort tottime] [--unfused]

Builds the same Trainer as ``train_throughput.py`` (``build_trainer``; ``--model mlp``: MLP
VAE 784-400-20, ReLU, Bernoulli, batch 128; ``--model lstm``: the LSTM + MADE music model
on JSB windows, batch 32; ``--model hier``: the same with the hierarchical decoder), runs
it for a number of iterations inside the first epoch and prints cProfile's top entries
and the number of graph nodes (``FunctionNode.apply`` calls) per step. As in the
benchmark, the first ``--warmup`` iterations run unprofiled (they import matplotlib for
PlotReport), so the profile shows the steady state.
``--unfused`` turns every fused path of ``chainer_vae.model.ops`` off (``ops.fused(False)``,
as ``CHAINER_VAE_FUSED=0`` does): chainer's own functions, ``n_step_lstm`` included.
Set OPENBLAS_NUM_THREADS=1 on a busy machine: waiting BLAS threads otherwise swamp
everything else.
"""
from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import pstats
import sys
import tempfile

import chainer_vae  # noqa: F401  (before chainer)
import chainer

from chainer_vae.model import ops
from chainer_vae.training import build_trainer

from benchmarks import train_throughput as bench


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
    parser.add_argument("--model", choices=sorted(bench.MODELS), default="mlp")
    parser.add_argument("--iterations", type=int,
                        help="profiled steps (default 150 for mlp, 20 for lstm and hier)")
    parser.add_argument("--warmup", type=int,
                        help="unprofiled steps first (default 20 for mlp, 3 for lstm and hier)")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--sort", default="tottime", choices=["tottime", "cumulative"])
    parser.add_argument("--unfused", action="store_true",
                        help="chainer's own functions (n_step_lstm included) instead of the "
                             "fused paths of chainer_vae.model.ops")
    args = parser.parse_args(argv)
    model = bench.MODELS[args.model]
    args.iterations = args.iterations or model.iterations
    args.warmup = args.warmup or model.warmup
    examples, _ = model.load()
    data = model.data(examples, args.warmup + args.iterations)
    plain = ops.fused(False) if args.unfused else contextlib.nullcontext()
    with tempfile.TemporaryDirectory() as out, plain:
        trainer, _, _ = build_trainer(model.config(), out, progress=False, data=data)
        profile = cProfile.Profile()
        trainer.stop_trigger = stop = _ProfileAfterWarmup(profile, args.warmup, args.iterations)
        trainer.run()
        profile.disable()
        elapsed = stop.elapsed()
    stream = io.StringIO()
    stats = pstats.Stats(profile, stream=stream)
    stats.sort_stats(args.sort).print_stats(args.top)
    nodes = sum(calls for (path, _, name), (_, calls, *_) in stats.stats.items()
                if name == "apply" and path.endswith("function_node.py"))
    print("{} iterations in {:.2f} s under the profiler ({:.1f} ms per iteration, {:.0f} "
          "graph nodes per iteration)".format(args.iterations, elapsed,
                                             1000 * elapsed / args.iterations,
                                             nodes / args.iterations))
    print(stream.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
