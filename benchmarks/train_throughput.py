"""Training throughput: chainer-vae's own training loop against PyTorch eager.

Both train the MLP VAE 784-400-20 (ReLU, Bernoulli likelihood, one sample of z, Adam,
batch 128) on the same binarized MNIST images (real ones from $CHAINER_VAE_DATA/mnist when
present, else random stand-ins of the same size). Runs are interleaved and each reports
its median images per second over the repeats; the ratio is project / torch.

    python benchmarks/train_throughput.py [--iterations 150] [--warmup 20] [--repeats 5]
                                          [--threads N] [--device @cupy:0] [--json]

chainer-vae's side is the Trainer that `chainer-vae train` builds (``build_trainer``:
updater, KL warm-up, NaN guard, reporting), stopped after a number of iterations that
stays inside the first epoch so no evaluation pass is timed.

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
        self.started = None

    def __call__(self, trainer):
        iteration = trainer.updater.iteration
        if iteration == self.warmup:
            self.synchronize()
            self.started = time.perf_counter()
        return iteration >= self.total

    def elapsed(self):
        """Seconds from the end of the warm-up to now, the device's work included."""
        self.synchronize()
        return time.perf_counter() - self.started


def cuda_device(device):
    """CuPy's ``Device`` for chainer's device specifier ``device``, or None for the CPU."""
    device = chainer.get_device(device)
    return None if device.xp is np else device.device


def device_synchronizer(device):
    """A function that waits for ``device``'s queued work (nothing to wait for on a CPU)."""
    cuda = cuda_device(device)
    return (lambda: None) if cuda is None else cuda.synchronize


def project_images_per_second(images, iterations, warmup, device="@numpy"):
    data = Data(train=images, test=images[:BATCH], input_shape=(784,))
    config = benchmark_config()
    config.train.device = device
    with tempfile.TemporaryDirectory() as out:
        trainer, _, _ = build_trainer(config, out, progress=False, data=data)
        trainer.stop_trigger = stop = _StopAfter(warmup, iterations,
                                                 device_synchronizer(device))
        # The report printer would write a line per epoch; none is reached here.
        trainer.run()
        elapsed = stop.elapsed()
    return iterations * BATCH / elapsed


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


def torch_images_per_second(images, iterations, warmup, device="cpu"):
    import torch

    model, optimizer = torch_vae()
    model.to(device)
    data = torch.from_numpy(images).to(device)
    order = torch.randperm(len(data), device=device)
    synchronize = torch.cuda.synchronize if data.is_cuda else (lambda: None)
    for i in range(warmup + iterations):
        if i == warmup:
            synchronize()
            start = time.perf_counter()
        x = data[order[i * BATCH:(i + 1) * BATCH]]
        optimizer.zero_grad()
        loss = model(x)
        loss.backward()
        optimizer.step()
    synchronize()
    elapsed = time.perf_counter() - start
    return iterations * BATCH / elapsed


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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=150)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS threads for both sides (default: NumPy's OpenBLAS count)")
    parser.add_argument("--device", default="@numpy",
                        help="chainer-vae's device: @numpy (the CPU, default) or @cupy:N (CUDA "
                             "GPU N through CuPy; PyTorch then runs on cuda:N where it can)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.iterations < 1 or args.warmup < 1:
        parser.error("--iterations and --warmup must be at least 1")
    if (args.warmup + args.iterations) * BATCH > 60000:
        parser.error("--warmup + --iterations must stay inside one epoch (at most 468)")
    try:
        gpu = gpu_name(args.device)
    except Exception as error:  # chainer's and CuPy's errors for a device that is not there
        print("no device {}: {}".format(args.device, " ".join(str(error).split())),
              file=sys.stderr)
        return 2
    images, source = load_images()
    torch, missing = peer_torch(gpu is not None)
    if torch is None and gpu is None:
        print("PyTorch is not installed: pip install torch==2.13.0 (CPU build)", file=sys.stderr)
        return 2
    threads = set_threads(args.threads, torch)
    ours, theirs = [], []
    for _ in range(args.repeats):
        ours.append(project_images_per_second(images, args.iterations, args.warmup,
                                              args.device))
        if torch is not None:
            theirs.append(torch_images_per_second(images, args.iterations, args.warmup,
                                                  torch_device(args.device)))
    result = {"project_img_s": statistics.median(ours),
              "torch_img_s": statistics.median(theirs) if theirs else None}
    result["ratio"] = result["project_img_s"] / result["torch_img_s"] if theirs else None
    result.update({"device": args.device, "gpu": gpu, "data": source,
                   "batch": BATCH, "iterations": args.iterations, "warmup": args.warmup,
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
    lines = ["| | images/s (median of {}, {}) |".format(result["repeats"], where), "|---|---|",
             "| chainer-vae | {:.0f} |".format(result["project_img_s"])]
    if result["torch_img_s"] is None:
        lines.append("| PyTorch | {} |".format(result["torch"]))
    else:
        lines += ["| PyTorch {} eager | {:.0f} |".format(result["torch"], result["torch_img_s"]),
                  "| ratio | {:.2f} |".format(result["ratio"])]
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
