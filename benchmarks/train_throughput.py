"""Training throughput: chainer-vae's own training loop against PyTorch eager.

    python -m benchmarks.train_throughput [--model mlp|lstm|hier] [--iterations N]
                                          [--warmup N]
                                          [--repeats 5] [--threads N] [--device @cupy:0]
                                          [--json]

``--model mlp`` (the default): both train the MLP VAE 784-400-20 (ReLU, Bernoulli
likelihood, one sample of z, Adam, batch 128) on the same binarized MNIST images (real ones
from $CHAINER_VAE_DATA/mnist when present, else random stand-ins of the same size).

``--model lstm``: both train the music model that ``chainer-vae train --dataset jsb --arch
lstm --autoregressive --step-made 300 --latent 32 --hidden 256 --batch-size 32 --window 64
--hop 32`` builds (bidirectional LSTM 256 encoder, autoregressive LSTM 256 decoder, latent
32, a MADE of 300 units over the 88 keys of each step; 1,305,668 parameters, printed for
both sides) on the same 64-step JSB Chorales windows (from
$CHAINER_VAE_DATA/polyphonic/JSB_Chorales.mat when present, else random stand-ins of the
same shape and note density), batch 32. PyTorch's model is ``torch_lstm_vae.py`` (for
``mlp``, ``torch_mlp_vae.py``).

``--model hier``: the same, with MusicVAE's hierarchical decoder (``chainer-vae train
--dataset jsb --arch lstm --decoder hier --autoregressive --step-made 300 --latent 32
--hidden 256 --batch-size 32 --window 64 --hop 32``: JSB's grid is one step per beat, so
bars of 4 steps, 16 per window): a conductor LSTM 256 over the bars, then the LSTM 256
decoder with its MADE over the steps of each bar, restarted at every bar; the same
encoder, windows and batch. PyTorch's model is ``torch_hier_vae.py``.

Runs are interleaved (project, PyTorch, project, ...) and each reports its median speed
over the repeats: images (windows) per second and ms per step; the ratio is project /
torch (above 1: chainer-vae is faster). The CPU time each side's process used per step
is reported too (``*_cpu_ms_step``, ``cpu_ratio``): on a machine shared with other jobs it
measures what each side computed rather than how long it waited for a core (with several
threads it also counts threads spinning while they wait for each other).

chainer-vae's side is the Trainer that `chainer-vae train` builds (``build_trainer``:
updater, KL warm-up, NaN guard, reporting), stopped after a number of iterations that
stays inside the first epoch so no evaluation pass is timed (JSB's 332 training windows
make 10 batches: the windows are repeated, for both sides, until the timed iterations fit
in one epoch). What the Trainer would print goes to stderr: with ``--json``, stdout holds
the JSON object only.

Both sides time steady-state training: the first ``--warmup`` iterations of every run
are run but not timed (chainer's PlotReport imports matplotlib at its first call, ~1 s
here, and PyTorch sets up its allocator and thread pool on the first steps).

Both sides use the same number of BLAS threads: by default the number NumPy's OpenBLAS
uses (the machine's cores, or $OPENBLAS_NUM_THREADS), which PyTorch is then set to;
``--threads N`` sets both to N. On a machine shared with other jobs, multi-threaded
GEMM can be many times slower than single-threaded (threads wait for each other), which
then dominates both sides; ``--threads 1`` measures the frameworks rather than that.

``--device @cupy:N`` trains chainer-vae on CUDA GPU N through CuPy, and PyTorch on the
same card (``cuda:N``) where PyTorch has CUDA; otherwise the GPU result is chainer-vae's
images per second alone (``torch_img_s`` null, ``torch`` says why). GPU timings wait for
the queued work (``synchronize``) at both ends of the timed iterations.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Callable, Optional

import numpy as np

import chainer_vae  # noqa: F401  (before chainer)

from chainer_vae.config import ModelConfig, RunConfig
from chainer_vae.data import Data
from chainer_vae.training import build_trainer

from benchmarks import machine, report
from benchmarks.timing import Clock, interleaved

BATCH = 128
HIDDEN, LATENT = 400, 20
MNIST_TRAIN = 60000  # MNIST's training images: the timed steps of --model mlp fit in them
# The music model (--model lstm): JSB windows of 64 steps every 32, 88 keys, batch 32.
LSTM_BATCH, WINDOW, HOP, KEYS = 32, 64, 32, 88
LSTM_HIDDEN, LSTM_LATENT, MADE_UNITS = 256, 32, 300
HIER_BAR = 4  # --model hier: steps per bar, so 16 bars per window


def load_images(limit=MNIST_TRAIN):
    """Binarized MNIST training images (N, 784) float32."""
    root = os.environ.get("CHAINER_VAE_DATA")
    if root and (Path(root) / "mnist").is_dir():
        from chainer_vae.data.mnist import load_mnist

        images = load_mnist(Path(root) / "mnist", download=False, progress=False).train_images
        return (images[:limit] >= 0.5).astype(np.float32), "MNIST"
    rng = np.random.RandomState(0)
    return (rng.rand(limit, 784) < 0.13).astype(np.float32), "random stand-ins"


def benchmark_config():
    """The run config of the benchmarked model: MLP 784-400-20, ReLU, Bernoulli, batch 128."""
    config = RunConfig(model=ModelConfig(hidden=[HIDDEN], latent=LATENT, activation="relu"))
    config.train.batch_size = BATCH
    return config


def lstm_config():
    """The run config of ``chainer-vae train --dataset jsb --arch lstm --autoregressive
    --step-made 300 --latent 32 --hidden 256 --batch-size 32 --window 64 --hop 32``."""
    from chainer_vae.data import default_data_config

    data = default_data_config("jsb")
    data.window, data.hop = WINDOW, HOP
    model = ModelConfig(encoder="lstm", decoder="lstm", input_shape=(WINDOW, KEYS),
                        latent=LSTM_LATENT, hidden=[LSTM_HIDDEN], activation="relu",
                        autoregressive=True, step_made=MADE_UNITS)
    config = RunConfig(data=data, model=model)
    config.train.batch_size = LSTM_BATCH
    return config


def hier_config():
    """The run config of ``chainer-vae train --dataset jsb --arch lstm --decoder hier
    --autoregressive --step-made 300 --latent 32 --hidden 256 --batch-size 32 --window 64
    --hop 32``: ``lstm_config`` with the hierarchical decoder, bars of 4 steps (4 beats
    of JSB's one step per beat)."""
    config = lstm_config()
    config.model.decoder, config.model.bar = "hier", HIER_BAR
    return config


def load_windows():
    """JSB Chorales training windows (N, 64, 88) float32 as ``chainer-vae train`` cuts them
    (64 steps every 32), or random stand-ins of that shape and note density."""
    root = os.environ.get("CHAINER_VAE_DATA")
    config = lstm_config()
    if root and (Path(root) / "polyphonic" / "JSB_Chorales.mat").is_file():
        from chainer_vae.data import load_data

        return load_data(config.data, "lstm", progress=False).train, "JSB Chorales"
    rng = np.random.RandomState(0)
    return (rng.rand(332, WINDOW, KEYS) < 0.045).astype(np.float32), "random stand-ins"


def repeated(examples, count):
    """``examples`` repeated until there are at least ``count``."""
    return np.concatenate([examples] * -(-count // len(examples)))[:max(count, len(examples))]


# The PyTorch peers, imported when a run needs them: torch comes with `make bench` only.
def _mlp_peer():
    from benchmarks.torch_mlp_vae import MLPVAE

    return MLPVAE(784, HIDDEN, LATENT)


def _lstm_peer():
    from benchmarks.torch_lstm_vae import LSTMVAE

    return LSTMVAE(KEYS, LSTM_HIDDEN, LSTM_LATENT, MADE_UNITS)


def _hier_peer():
    from benchmarks.torch_hier_vae import HierVAE

    return HierVAE(KEYS, LSTM_HIDDEN, LSTM_LATENT, MADE_UNITS, HIER_BAR)


def _lstm_differences(model_config):
    from benchmarks.torch_lstm_vae import differences

    return differences(model_config)


def _hier_differences(model_config):
    from benchmarks.torch_hier_vae import differences

    return differences(model_config)


@dataclasses.dataclass(frozen=True)
class Benchmark:
    """One benchmarked model: what differs between them.

    ``config`` builds its run config, ``load`` its training examples (and where they came
    from), ``peer`` the PyTorch model, ``differences`` the largest
    differences between the two sides' results on one set of weights (``{what:
    difference}``; None: not checked). ``epoch_examples``: the examples of the one epoch
    the timed steps must fit in; None: the examples are repeated until they fit.
    ``table`` writes a result as markdown, given where it ran.
    """

    name: str
    config: Callable[[], RunConfig]
    load: Callable[[], tuple]
    input_shape: tuple
    batch: int
    iterations: int
    warmup: int
    peer: Callable
    table: Callable[[dict, str], str]
    differences: Optional[Callable[[ModelConfig], dict]] = None
    epoch_examples: Optional[int] = None

    def data(self, examples, steps):
        """chainer-vae's Data for ``steps`` batches inside one epoch (and a batch more:
        the epoch must not end at the last timed step, which would time the evaluation
        and the snapshot that the end of an epoch triggers)."""
        train = (examples if self.epoch_examples
                 else repeated(examples, (steps + 1) * self.batch))
        return Data(train=train, test=train[:self.batch], input_shape=self.input_shape)

    def torch_model(self):
        """(PyTorch model, Adam optimizer); ``model(x)`` is the loss."""
        import torch

        torch.manual_seed(0)
        model = self.peer()
        return model, torch.optim.Adam(model.parameters(), lr=1e-3)

    def project_parameters(self):
        from chainer_vae.model import build_model

        return sum(param.size for param in build_model(self.config().model).params())

    def torch_parameters(self):
        model, _ = self.torch_model()
        return sum(param.numel() for param in model.parameters())


class _StopAfter(Clock):
    """The trainer's stop trigger: stops after ``warmup + iterations`` iterations and
    starts its clock when the warm-up ends (the trainer calls it once per iteration).
    ``synchronize`` (for a GPU) waits for the queued work before the clock is read."""

    def __init__(self, warmup, iterations, synchronize=None):
        super().__init__(synchronize)
        self.warmup, self.total = warmup, warmup + iterations

    def __call__(self, trainer):
        iteration = trainer.updater.iteration
        if iteration == self.warmup:
            self.start()
        return iteration >= self.total


def project_run(images, iterations, warmup, device="@numpy", bench=None):
    """(images per second, CPU ms per step) of chainer-vae's Trainer."""
    bench = bench or MODELS["mlp"]
    data = bench.data(images, warmup + iterations)
    config = bench.config()
    config.train.device = device
    # PrintReport writes to the stdout it is built with: stderr here, so that --json's
    # stdout holds only the JSON object
    with tempfile.TemporaryDirectory() as out, contextlib.redirect_stdout(sys.stderr):
        trainer, _, _ = build_trainer(config, out, progress=False, data=data)
        trainer.stop_trigger = stop = _StopAfter(warmup, iterations,
                                                 machine.device_synchronizer(device))
        trainer.run()
        elapsed = stop.elapsed()
        cpu = stop.cpu_elapsed()
    return iterations * bench.batch / elapsed, 1000.0 * cpu / iterations


def torch_run(images, iterations, warmup, device="cpu", bench=None):
    """(images per second, CPU ms per step) of the PyTorch peer."""
    import torch

    bench = bench or MODELS["mlp"]
    batch = bench.batch
    model, optimizer = bench.torch_model()
    model.to(device)
    if not bench.epoch_examples:
        images = repeated(images, (warmup + iterations) * batch)
    data = torch.from_numpy(images).to(device)
    order = torch.randperm(len(data), device=device)
    clock = Clock(torch.cuda.synchronize if data.is_cuda else None)
    for i in range(warmup + iterations):
        if i == warmup:
            clock.start()
        x = data[order[i * batch:(i + 1) * batch]]
        optimizer.zero_grad()
        loss = model(x)
        loss.backward()
        optimizer.step()
    elapsed = clock.elapsed()
    cpu = clock.cpu_elapsed()
    return iterations * batch / elapsed, 1000.0 * cpu / iterations


def _image_table(result, where):
    """The result of ``--model mlp`` as a small markdown table."""
    lines = ["| | images/s (median of {}, {}) |".format(result["repeats"], where), "|---|---|",
             "| chainer-vae | {:.0f} |".format(result["project_img_s"])]
    if result["torch_img_s"] is None:
        lines.append("| PyTorch | {} |".format(result["torch"]))
    else:
        lines += ["| PyTorch {} eager | {:.0f} |".format(result["torch"], result["torch_img_s"]),
                  "| ratio | {:.2f} |".format(result["ratio"])]
    return "\n".join(lines)


def _music_table(result, where, title):
    """The result of a music model (``title``) as a small markdown table."""
    params = result["parameters"]
    lines = ["| {}, batch {} (median of {}, {}) | windows/s | ms per step | "
             "parameters |".format(title, result["batch"], result["repeats"], where),
             "|---|---:|---:|---:|",
             "| chainer-vae | {:.1f} | {:.1f} | {:,} |".format(
                 result["project_img_s"], result["project_ms_step"], params["project"])]
    if result["torch_img_s"] is None:
        lines.append("| PyTorch | {} | | |".format(result["torch"]))
    else:
        lines += ["| PyTorch {} eager | {:.1f} | {:.1f} | {:,} |".format(
                      result["torch"], result["torch_img_s"], result["torch_ms_step"],
                      params["torch"]),
                  "| ratio | {:.2f} | | |".format(result["ratio"]),
                  "| CPU ms per step: chainer-vae, PyTorch, ratio | {:.1f} | {:.1f} | {:.2f} |"
                  .format(result["project_cpu_ms_step"], result["torch_cpu_ms_step"],
                          result["cpu_ratio"])]
    return "\n".join(lines)


MODELS = {
    "mlp": Benchmark("mlp", benchmark_config, load_images, input_shape=(784,), batch=BATCH,
                     iterations=150, warmup=20, peer=_mlp_peer, table=_image_table,
                     epoch_examples=MNIST_TRAIN),
    "lstm": Benchmark("lstm", lstm_config, load_windows, input_shape=(WINDOW, KEYS),
                      batch=LSTM_BATCH, iterations=20, warmup=3, peer=_lstm_peer,
                      table=functools.partial(_music_table, title="LSTM + MADE"),
                      differences=_lstm_differences),
    "hier": Benchmark("hier", hier_config, load_windows, input_shape=(WINDOW, KEYS),
                      batch=LSTM_BATCH, iterations=20, warmup=3, peer=_hier_peer,
                      table=functools.partial(_music_table, title="hierarchical LSTM + MADE"),
                      differences=_hier_differences),
}


def text_table(result):
    """The result as a small markdown table."""
    where = result["gpu"] or "{} BLAS threads".format(result["numpy_blas_threads"])
    return MODELS[result.get("model", "mlp")].table(result, where)


def _speeds(bench, runs):
    """The medians over the repeats of both sides' ``runs`` ({side: [(examples per
    second, CPU ms per step), ...]}; no "torch" side where PyTorch did not run)."""
    ours = [speed for speed, _ in runs["project"]]
    our_cpu = [cpu for _, cpu in runs["project"]]
    theirs = [speed for speed, _ in runs.get("torch", [])]
    their_cpu = [cpu for _, cpu in runs.get("torch", [])]
    result = {"project_img_s": statistics.median(ours),
              "torch_img_s": statistics.median(theirs) if theirs else None}
    result["ratio"] = result["project_img_s"] / result["torch_img_s"] if theirs else None
    # CPU time per step: on a machine shared with other jobs, what each side computed
    # rather than how long it waited for a core (with several threads it also counts
    # threads waiting for each other)
    result["project_cpu_ms_step"] = statistics.median(our_cpu)
    result["torch_cpu_ms_step"] = statistics.median(their_cpu) if theirs else None
    result["cpu_ratio"] = (result["torch_cpu_ms_step"] / result["project_cpu_ms_step"]
                           if theirs else None)
    result["project_ms_step"] = 1000.0 * bench.batch / result["project_img_s"]
    result["torch_ms_step"] = (1000.0 * bench.batch / result["torch_img_s"]
                               if theirs else None)
    return result


def measure(args, bench, gpu, torch, missing):
    """The result of the runs ``args`` asks for (see the module docstring): both sides'
    speeds, chainer-vae's alone where ``torch`` is None (``missing`` says why), the
    parameter counts, the differences between the two models, the conditions."""
    images, source = bench.load()
    threads = machine.set_threads(args.threads, torch)
    sides = {"project": lambda: project_run(images, args.iterations, args.warmup,
                                            args.device, bench)}
    if torch is not None:
        sides["torch"] = lambda: torch_run(images, args.iterations, args.warmup,
                                           machine.torch_device(args.device), bench)
    result = {"model": bench.name, **_speeds(bench, interleaved(sides, args.repeats))}
    result["parameters"] = {"project": bench.project_parameters(),
                            "torch": bench.torch_parameters() if torch is not None else None}
    if bench.differences is not None and torch is not None:
        result["peer_differences"] = bench.differences(bench.config().model)
    result.update({"device": args.device, "gpu": gpu, "data": source,
                   "batch": bench.batch, "iterations": args.iterations, "warmup": args.warmup,
                   "repeats": args.repeats,
                   "torch": torch.__version__ if torch is not None else "not run: " + missing,
                   "torch_threads": torch.get_num_threads() if torch is not None else None,
                   "numpy_blas_threads": threads, "numpy": np.__version__})
    return result


def peer_mismatch(result):
    """Why the PyTorch model is not chainer-vae's (a line), or None: no ratio holds
    between two models that compute different things."""
    differences = result.get("peer_differences")
    if differences and max(differences.values()) > 1e-4:
        return "the PyTorch model differs from chainer-vae's: {}".format(differences)
    return None


def parser():
    top = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    top.add_argument("--model", choices=sorted(MODELS), default="mlp",
                     help="mlp: the MLP VAE on MNIST (default); lstm: the LSTM + MADE "
                          "music model on JSB Chorales; hier: the same with the "
                          "hierarchical decoder")
    top.add_argument("--iterations", type=int,
                     help="timed steps per run (default 150 for mlp, 20 for lstm and hier)")
    top.add_argument("--warmup", type=int,
                     help="untimed steps first (default 20 for mlp, 3 for lstm and hier)")
    top.add_argument("--repeats", type=int, default=5)
    top.add_argument("--threads", type=int, default=None,
                     help="BLAS threads for both sides (default: NumPy's OpenBLAS count)")
    top.add_argument("--device", default="@numpy",
                     help="chainer-vae's device: @numpy (the CPU, default) or @cupy:N (CUDA "
                          "GPU N through CuPy; PyTorch then runs on cuda:N where it can)")
    top.add_argument("--json", action="store_true")
    return top


def main(argv=None):
    """Measure, print the result; the exit status: 0, 2 for a device or a peer that is
    not there, 1 where the PyTorch model is not chainer-vae's."""
    command = parser()
    args = command.parse_args(argv)
    bench = MODELS[args.model]
    args.iterations = bench.iterations if args.iterations is None else args.iterations
    args.warmup = bench.warmup if args.warmup is None else args.warmup
    if args.iterations < 1 or args.warmup < 1:
        command.error("--iterations and --warmup must be at least 1")
    steps = args.warmup + args.iterations
    if bench.epoch_examples and steps * bench.batch > bench.epoch_examples:
        command.error("--warmup + --iterations must stay inside one epoch (at most {})".format(
            bench.epoch_examples // bench.batch))
    try:
        gpu = machine.gpu_name(args.device)
    except Exception as error:  # chainer's and CuPy's errors for a device that is not there
        print("no device {}: {}".format(args.device, " ".join(str(error).split())),
              file=sys.stderr)
        return 2
    torch, missing = machine.peer_torch(gpu is not None)
    if torch is None and gpu is None:
        print(machine.TORCH_MISSING, file=sys.stderr)
        return 2
    result = measure(args, bench, gpu, torch, missing)
    mismatch = peer_mismatch(result)
    if mismatch:
        print(mismatch, file=sys.stderr)
        return 1
    report.emit(result, args.json, text_table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
