"""Training throughput: chainer-vae's own training loop against PyTorch eager.

    python benchmarks/train_throughput.py [--model mlp|lstm|hier] [--iterations N]
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
same shape and note density), batch 32. PyTorch's model is ``torch_lstm_vae.py``.

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
import ctypes
import glob
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import chainer_vae  # noqa: F401  (before chainer)
import chainer

from chainer_vae.config import ModelConfig, RunConfig
from chainer_vae.data import Data
from chainer_vae.training import build_trainer

BATCH = 128
HIDDEN, LATENT = 400, 20
# The music model (--model lstm): JSB windows of 64 steps every 32, 88 keys, batch 32.
LSTM_BATCH, WINDOW, HOP, KEYS = 32, 64, 32, 88
LSTM_HIDDEN, LSTM_LATENT, MADE_UNITS = 256, 32, 300
HIER_BAR = 4  # --model hier: steps per bar, so 16 bars per window


def load_images(limit=60000):
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


def _torch_lstm_vae():
    """The module of the PyTorch music model, ``benchmarks/torch_lstm_vae.py``."""
    here = str(Path(__file__).resolve().parent)
    if here not in sys.path:
        sys.path.insert(0, here)
    import torch_lstm_vae

    return torch_lstm_vae


def _torch_hier_vae():
    """The module of the PyTorch hierarchical model, ``benchmarks/torch_hier_vae.py``."""
    _torch_lstm_vae()  # its folder on sys.path
    import torch_hier_vae

    return torch_hier_vae


class Benchmark:
    """What differs between the benchmarked models: config, data, batch and PyTorch peer."""

    def __init__(self, name):
        self.name = name
        self.lstm = name in ("lstm", "hier")  # a music model on JSB windows
        self.batch = LSTM_BATCH if self.lstm else BATCH
        self.unit = "windows" if self.lstm else "images"

    def config(self):
        if self.name == "hier":
            return hier_config()
        return lstm_config() if self.lstm else benchmark_config()

    def load(self):
        """(training examples, where they came from)."""
        return load_windows() if self.lstm else load_images()

    def data(self, examples, steps):
        """chainer-vae's Data for ``steps`` batches inside one epoch (and a batch more:
        the epoch must not end at the last timed step, which would time the evaluation
        and the snapshot that the end of an epoch triggers)."""
        if self.lstm:
            train = repeated(examples, (steps + 1) * self.batch)
            return Data(train=train, test=train[:self.batch], input_shape=(WINDOW, KEYS))
        return Data(train=examples, test=examples[:self.batch], input_shape=(784,))

    def torch_model(self):
        """(PyTorch model, Adam optimizer); ``model(x)`` is the loss."""
        if not self.lstm:
            return torch_vae()
        import torch

        torch.manual_seed(0)
        if self.name == "hier":
            model = _torch_hier_vae().HierVAE(KEYS, LSTM_HIDDEN, LSTM_LATENT, MADE_UNITS,
                                              HIER_BAR)
        else:
            model = _torch_lstm_vae().LSTMVAE(KEYS, LSTM_HIDDEN, LSTM_LATENT, MADE_UNITS)
        return model, torch.optim.Adam(model.parameters(), lr=1e-3)

    def project_parameters(self):
        from chainer_vae.model import build_model

        return sum(param.size for param in build_model(self.config().model).params())

    def torch_parameters(self):
        model, _ = self.torch_model()
        return sum(param.numel() for param in model.parameters())


def _openblas():
    """NumPy's bundled OpenBLAS library (ctypes) and its symbol suffix, or (None, None)."""
    libs = Path(np.__file__).resolve().parent.parent / "numpy.libs"
    for path in sorted(glob.glob(str(libs / "libscipy_openblas*.so*"))):
        lib = ctypes.CDLL(path)  # already loaded by NumPy: the same library instance
        for prefix in ("scipy_openblas", "openblas"):
            for suffix in ("64_", "_64_", ""):
                if hasattr(lib, prefix + "_get_num_threads" + suffix):
                    return lib, (prefix, suffix)
    return None, None


def blas_threads(set_to=None):
    """The number of threads NumPy's OpenBLAS uses (after setting it to ``set_to``)."""
    lib, (prefix, suffix) = _openblas()
    if lib is None:
        return None
    if set_to is not None:
        getattr(lib, prefix + "_set_num_threads" + suffix)(int(set_to))
    return int(getattr(lib, prefix + "_get_num_threads" + suffix)())


class _StopAfter:
    """The trainer's stop trigger: stops after ``warmup + iterations`` iterations and
    notes the time when the warm-up ends (the trainer calls it once per iteration).
    ``synchronize`` (for a GPU) waits for the queued work before the clock is read."""

    def __init__(self, warmup, iterations, synchronize=lambda: None):
        self.warmup, self.total = warmup, warmup + iterations
        self.synchronize = synchronize
        self.started = self.cpu_started = None

    def __call__(self, trainer):
        iteration = trainer.updater.iteration
        if iteration == self.warmup:
            self.synchronize()
            self.started = time.perf_counter()
            self.cpu_started = time.process_time()
        return iteration >= self.total

    def elapsed(self):
        """Seconds from the end of the warm-up to now, the device's work included."""
        self.synchronize()
        return time.perf_counter() - self.started

    def cpu_elapsed(self):
        """CPU seconds this process used since the end of the warm-up (all its threads)."""
        return time.process_time() - self.cpu_started


def cuda_device(device):
    """CuPy's ``Device`` for chainer's device specifier ``device``, or None for the CPU."""
    device = chainer.get_device(device)
    return None if device.xp is np else device.device


def device_synchronizer(device):
    """A function that waits for ``device``'s queued work (nothing to wait for on a CPU)."""
    cuda = cuda_device(device)
    return (lambda: None) if cuda is None else cuda.synchronize


def project_images_per_second(images, iterations, warmup, device="@numpy", bench=None):
    """chainer-vae's images (windows) per second."""
    return project_run(images, iterations, warmup, device, bench)[0]


def project_run(images, iterations, warmup, device="@numpy", bench=None):
    """(images per second, CPU ms per step) of chainer-vae's Trainer."""
    bench = bench or Benchmark("mlp")
    data = bench.data(images, warmup + iterations)
    config = bench.config()
    config.train.device = device
    # PrintReport writes to the stdout it is built with: stderr here, so that --json's
    # stdout holds only the JSON object
    with tempfile.TemporaryDirectory() as out, contextlib.redirect_stdout(sys.stderr):
        trainer, _, _ = build_trainer(config, out, progress=False, data=data)
        trainer.stop_trigger = stop = _StopAfter(warmup, iterations,
                                                 device_synchronizer(device))
        trainer.run()
        elapsed = stop.elapsed()
        cpu = stop.cpu_elapsed()
    return iterations * bench.batch / elapsed, 1000.0 * cpu / iterations


def torch_vae():
    """The same VAE in PyTorch: (model, Adam optimizer); ``model(x)`` is the loss."""
    import torch
    import torch.nn.functional as TF

    torch.manual_seed(0)

    class VAE(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = torch.nn.Linear(784, HIDDEN)
            self.mu = torch.nn.Linear(HIDDEN, LATENT)
            self.ln_sigma = torch.nn.Linear(HIDDEN, LATENT)
            self.dec = torch.nn.Linear(LATENT, HIDDEN)
            self.out = torch.nn.Linear(HIDDEN, 784)

        def forward(self, x):
            h = TF.relu(self.enc(x))
            mu, ln_sigma = self.mu(h), self.ln_sigma(h)
            z = mu + torch.exp(ln_sigma) * torch.randn_like(mu)
            logits = self.out(TF.relu(self.dec(z)))
            reconstr = TF.binary_cross_entropy_with_logits(logits, x, reduction="sum")
            kl = 0.5 * torch.sum(mu ** 2 + torch.exp(2 * ln_sigma) - 1 - 2 * ln_sigma)
            return (reconstr + kl) / x.shape[0]

    model = VAE()
    return model, torch.optim.Adam(model.parameters(), lr=1e-3)


def torch_images_per_second(images, iterations, warmup, device="cpu", bench=None):
    """PyTorch's images (windows) per second."""
    return torch_run(images, iterations, warmup, device, bench)[0]


def torch_run(images, iterations, warmup, device="cpu", bench=None):
    """(images per second, CPU ms per step) of the PyTorch peer."""
    import torch

    bench = bench or Benchmark("mlp")
    batch = bench.batch
    model, optimizer = bench.torch_model()
    model.to(device)
    if bench.lstm:
        images = repeated(images, (warmup + iterations) * batch)
    data = torch.from_numpy(images).to(device)
    order = torch.randperm(len(data), device=device)
    synchronize = torch.cuda.synchronize if data.is_cuda else (lambda: None)
    for i in range(warmup + iterations):
        if i == warmup:
            synchronize()
            start = time.perf_counter()
            cpu_start = time.process_time()
        x = data[order[i * batch:(i + 1) * batch]]
        optimizer.zero_grad()
        loss = model(x)
        loss.backward()
        optimizer.step()
    synchronize()
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    return iterations * batch / elapsed, 1000.0 * cpu / iterations


def torch_device(device):
    """PyTorch's name for chainer's ``device`` (``@cupy:N`` -> ``cuda:N``)."""
    cuda = cuda_device(device)
    return "cpu" if cuda is None else "cuda:{}".format(cuda.id)


def gpu_name(device):
    """The GPU's name for the results, or None on the CPU."""
    cuda = cuda_device(device)
    if cuda is None:
        return None
    import cupy

    name = cupy.cuda.runtime.getDeviceProperties(cuda.id)["name"]
    return name.decode() if isinstance(name, bytes) else name


def set_threads(requested=None, torch=None):
    """Give NumPy's OpenBLAS and PyTorch (the module, where given) the same number of
    threads: ``requested``, else OpenBLAS's own count (the machine's cores, or
    $OPENBLAS_NUM_THREADS)."""
    threads = blas_threads(requested)
    if threads is None:  # NumPy without its bundled OpenBLAS: count cores
        threads = requested or len(os.sched_getaffinity(0))
    if torch is not None:
        torch.set_num_threads(threads)
    return threads


# (iterations, warm-up) by default, per model
DEFAULT_STEPS = {"mlp": (150, 20), "lstm": (20, 3), "hier": (20, 3)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=sorted(DEFAULT_STEPS), default="mlp",
                        help="mlp: the MLP VAE on MNIST (default); lstm: the LSTM + MADE "
                             "music model on JSB Chorales; hier: the same with the "
                             "hierarchical decoder")
    parser.add_argument("--iterations", type=int,
                        help="timed steps per run (default 150 for mlp, 20 for lstm "
                             "and hier)")
    parser.add_argument("--warmup", type=int,
                        help="untimed steps first (default 20 for mlp, 3 for lstm and "
                             "hier)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS threads for both sides (default: NumPy's OpenBLAS count)")
    parser.add_argument("--device", default="@numpy",
                        help="chainer-vae's device: @numpy (the CPU, default) or @cupy:N (CUDA "
                             "GPU N through CuPy; PyTorch then runs on cuda:N where it can)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    iterations, warmup = DEFAULT_STEPS[args.model]
    args.iterations = iterations if args.iterations is None else args.iterations
    args.warmup = warmup if args.warmup is None else args.warmup
    if args.iterations < 1 or args.warmup < 1:
        parser.error("--iterations and --warmup must be at least 1")
    if args.model == "mlp" and (args.warmup + args.iterations) * BATCH > 60000:
        parser.error("--warmup + --iterations must stay inside one epoch (at most 468)")
    bench = Benchmark(args.model)
    try:
        gpu = gpu_name(args.device)
    except Exception as error:  # chainer's and CuPy's errors for a device that is not there
        print("no device {}: {}".format(args.device, " ".join(str(error).split())),
              file=sys.stderr)
        return 2
    images, source = bench.load()
    torch, missing = peer_torch(gpu is not None)
    if torch is None and gpu is None:
        print("PyTorch is not installed: pip install torch==2.13.0 (CPU build)", file=sys.stderr)
        return 2
    threads = set_threads(args.threads, torch)
    ours, theirs, our_cpu, their_cpu = [], [], [], []
    for _ in range(args.repeats):
        speed, cpu = project_run(images, args.iterations, args.warmup, args.device, bench)
        ours.append(speed)
        our_cpu.append(cpu)
        if torch is not None:
            speed, cpu = torch_run(images, args.iterations, args.warmup,
                                   torch_device(args.device), bench)
            theirs.append(speed)
            their_cpu.append(cpu)
    result = {"model": args.model,
              "project_img_s": statistics.median(ours),
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
    result["parameters"] = {"project": bench.project_parameters(),
                            "torch": bench.torch_parameters() if torch is not None else None}
    if bench.lstm and torch is not None:  # the two compute one model, or no ratio holds
        peer = _torch_hier_vae() if bench.name == "hier" else _torch_lstm_vae()
        result["peer_differences"] = peer.differences(bench.config().model)
        if max(result["peer_differences"].values()) > 1e-4:
            raise SystemExit("the PyTorch model differs from chainer-vae's: {}".format(
                result["peer_differences"]))
    result.update({"device": args.device, "gpu": gpu, "data": source,
                   "batch": bench.batch, "iterations": args.iterations, "warmup": args.warmup,
                   "repeats": args.repeats,
                   "torch": torch.__version__ if torch is not None else "not run: " + missing,
                   "torch_threads": torch.get_num_threads() if torch is not None else None,
                   "numpy_blas_threads": threads, "numpy": np.__version__})
    if args.json:
        print(json.dumps(result))
    else:
        print(text_table(result))
    return 0


def text_table(result):
    """The result as a small markdown table."""
    where = result["gpu"] or "{} BLAS threads".format(result["numpy_blas_threads"])
    if result.get("model") in ("lstm", "hier"):
        return _lstm_table(result, where)
    lines = ["| | images/s (median of {}, {}) |".format(result["repeats"], where), "|---|---|",
             "| chainer-vae | {:.0f} |".format(result["project_img_s"])]
    if result["torch_img_s"] is None:
        lines.append("| PyTorch | {} |".format(result["torch"]))
    else:
        lines += ["| PyTorch {} eager | {:.0f} |".format(result["torch"], result["torch_img_s"]),
                  "| ratio | {:.2f} |".format(result["ratio"])]
    return "\n".join(lines)


def _lstm_table(result, where):
    params = result["parameters"]
    name = "hierarchical LSTM + MADE" if result["model"] == "hier" else "LSTM + MADE"
    lines = ["| {}, batch {} (median of {}, {}) | windows/s | ms per step | "
             "parameters |".format(name, result["batch"], result["repeats"], where),
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


def peer_torch(on_gpu):
    """(the torch module to compare with, None) or (None, why there is none): on a GPU,
    PyTorch is the peer only where it has CUDA."""
    try:
        import torch
    except ImportError:
        return None, "PyTorch is not installed"
    if on_gpu and not torch.cuda.is_available():
        return None, "PyTorch has no CUDA here"
    return torch, None


if __name__ == "__main__":
    sys.exit(main())
