"""Generation speed of the music model: ``chainer-vae sample --length 400`` against the
same sampling loop in PyTorch eager.

    python -m benchmarks.sample_speed [RUN] [--length 400] [--n 16] [--repeats 3]
                                      [--threads 1] [--json]

RUN is a run folder of the model ``train_throughput.py --model lstm`` trains (``chainer-vae
train --dataset jsb --arch lstm --autoregressive --step-made 300 --latent 32 --hidden 256
...``); without one, the model with its initial parameters is written to a temporary run
folder (generation costs the same whatever the weights). Three timings, medians over the
repeats, interleaved:

- ``cli_s``: ``chainer-vae sample RUN --out TMP --length 400 --means`` (greedy, as the
  PyTorch loop is) as a process, start to end (Python start-up, imports, loading the run,
  generating n = 16 pieces, writing 16 MIDI files and piano-roll images);
- ``project_s``: the generation itself in this process (``sampling.prior_samples`` on the
  run's model at 400 steps, what ``sample`` calls): one step at a time through the LSTM,
  one key at a time through the MADE, 16 pieces at once;
- ``torch_s``: ``torch_lstm_vae.LSTMVAE.sample`` on the same z with the run's parameters,
  the same loop in PyTorch (``nn.LSTM`` step, the MADE's keys one at a time); the largest
  difference between the two sides' means is reported (``max_mean_difference``).
"""
from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

import chainer_vae  # noqa: F401  (before chainer)
from chainer_vae.config import RunConfig
from chainer_vae.inference import sampling
from chainer_vae.model import build_model
from chainer_vae.model.registry import at_length
from chainer_vae.runs import load_weights, save_model

from benchmarks import machine, report
from benchmarks import train_throughput as bench
from benchmarks.timing import Clock, interleaved, timed


def fresh_run(folder):
    """A run folder holding the benchmarked model with its initial parameters."""
    config = bench.lstm_config()
    np.random.seed(config.train.seed)
    Path(folder).mkdir(parents=True, exist_ok=True)
    config.save(folder)
    save_model(build_model(config.model), folder)
    return folder


def load_model(run):
    """The run's model (read without its data set)."""
    config = RunConfig.load(run)
    return config, load_weights(build_model(config.model), Path(run) / "model.npz")


def time_cli(run, length, n, threads):
    """Seconds that ``chainer-vae sample RUN --length L --n N --means`` takes (the greedy
    decoding PyTorch's loop does), or None with the reason it failed."""
    cli = Path(sys.executable).with_name("chainer-vae")
    command = [str(cli)] if cli.is_file() else [sys.executable, "-m", "chainer_vae.cli"]
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads))
    with tempfile.TemporaryDirectory() as out, Clock() as clock:
        done = subprocess.run(command + ["sample", str(run), "--out", out, "--length",
                                         str(length), "--n", str(n), "--means"],
                              capture_output=True, text=True, env=env)
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        return None, lines[-1] if lines else "exit status {}".format(done.returncode)
    return clock.seconds, None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", nargs="?", help="a run folder of the music model")
    parser.add_argument("--length", type=int, default=400)
    parser.add_argument("--n", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    torch, _ = machine.peer_torch(False)
    if torch is None:
        print(machine.TORCH_MISSING, file=sys.stderr)
        return 2
    from benchmarks.torch_lstm_vae import copy_from_chainer

    machine.set_threads(args.threads, torch)
    with contextlib.ExitStack() as stack:
        run = args.run or fresh_run(stack.enter_context(tempfile.TemporaryDirectory()))
        config, model = load_model(run)
        model = at_length(model, config.model, args.length)
        torch_model = bench.MODELS["lstm"].peer()
        copy_from_chainer(torch_model, model)
        z = sampling.prior_latents(model, args.n, seed=0)
        runs = interleaved({
            "project": lambda: timed(sampling.prior_samples, model, args.n, seed=0),
            "torch": lambda: timed(
                lambda: torch_model.sample(torch.from_numpy(z), args.length).numpy()),
            "cli": lambda: time_cli(run, args.length, args.n, args.threads)}, args.repeats)
    (means, _), (torch_means, _) = runs["project"][-1], runs["torch"][-1]
    cli = [seconds for seconds, _ in runs["cli"] if seconds is not None]
    why = runs["cli"][-1][1]
    result = {"length": args.length, "n": args.n, "repeats": args.repeats,
              "threads": args.threads, "run": args.run or "initial parameters",
              "cli_s": statistics.median(cli) if cli else None,
              "cli": None if cli else "not run: " + str(why),
              "project_s": statistics.median(seconds for _, seconds in runs["project"]),
              "torch_s": statistics.median(seconds for _, seconds in runs["torch"]),
              "max_mean_difference": float(np.abs(means - torch_means).max()),
              "torch": torch.__version__, "numpy": np.__version__}
    result["ratio"] = result["torch_s"] / result["project_s"]
    report.emit(result, args.json, text_table)
    return 0


def text_table(result):
    """The result as a small markdown table."""
    lines = ["| {} pieces of {} steps ({} thread{}, median of {}) | s |".format(
                 result["n"], result["length"], result["threads"],
                 "" if result["threads"] == 1 else "s", result["repeats"]), "|---|---:|",
             "| `chainer-vae sample --length {} --means` (whole command) | {} |".format(
                 result["length"], "{:.2f}".format(result["cli_s"]) if result["cli_s"]
                 else result["cli"]),
             "| chainer-vae generation (in process) | {:.2f} |".format(result["project_s"]),
             "| PyTorch {} sampling loop | {:.2f} |".format(result["torch"], result["torch_s"]),
             "| ratio (speed, chainer-vae / PyTorch) | {:.2f} |".format(result["ratio"]),
             "| largest difference between the two sides' means | {:.1e} |".format(
                 result["max_mean_difference"])]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
