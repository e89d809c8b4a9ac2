"""Training throughput on the CPU: chainer-vae's own training loop against PyTorch eager.

Both train the MLP VAE 784-400-20 (ReLU, Bernoulli likelihood, one sample of z, Adam,
batch 128) on the same binarized MNIST images (real ones from $CHAINER_VAE_DATA/mnist when
present, else random stand-ins of the same size). Runs are interleaved and each reports
its median images per second over the repeats; the ratio is project / torch.

    python benchmarks/train_throughput.py [--iterations 150] [--repeats 5] [--json]

chainer-vae's side is the Trainer that `chainer-vae train` builds (``build_trainer``:
updater, KL warm-up, NaN guard, reporting), stopped after a number of iterations that
stays inside the first epoch so no evaluation pass is timed.
"""
from __future__ import annotations

import argparse
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
from chainer_vae.datasets import Data
from chainer_vae.training import build_trainer

BATCH = 128
HIDDEN, LATENT = 400, 20


def load_images(limit=60000):
    """Binarized MNIST training images (N, 784) float32."""
    root = os.environ.get("CHAINER_VAE_DATA")
    if root and (Path(root) / "mnist").is_dir():
        from chainer_vae.datasets.mnist import load_mnist

        images = load_mnist(Path(root) / "mnist", download=False, progress=False).train_images
        return (images[:limit] >= 0.5).astype(np.float32), "MNIST"
    rng = np.random.RandomState(0)
    return (rng.rand(limit, 784) < 0.13).astype(np.float32), "random stand-ins"


def project_images_per_second(images, iterations):
    config = RunConfig(model=ModelConfig(hidden=[HIDDEN], latent=LATENT, activation="relu"))
    config.train.batch_size = BATCH
    data = Data(train=images, test=images[:BATCH], input_shape=(784,))
    with tempfile.TemporaryDirectory() as out:
        trainer, _, _ = build_trainer(config, out, progress=False, data=data)
        trainer.stop_trigger = chainer.training.triggers.IntervalTrigger(iterations, "iteration")
        # The report printer would write a line per epoch; none is reached here.
        start = time.perf_counter()
        trainer.run()
        elapsed = time.perf_counter() - start
    return iterations * BATCH / elapsed


def torch_images_per_second(images, iterations):
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
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    data = torch.from_numpy(images)
    order = torch.randperm(len(data))
    start = time.perf_counter()
    for i in range(iterations):
        x = data[order[i * BATCH:(i + 1) * BATCH]]
        optimizer.zero_grad()
        loss = model(x)
        loss.backward()
        optimizer.step()
    elapsed = time.perf_counter() - start
    return iterations * BATCH / elapsed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=150)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.iterations * BATCH > 60000:
        parser.error("--iterations must stay inside one epoch (at most 468)")
    images, source = load_images()
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed: pip install torch==2.13.0 (CPU build)", file=sys.stderr)
        return 2
    ours, theirs = [], []
    for _ in range(args.repeats):
        ours.append(project_images_per_second(images, args.iterations))
        theirs.append(torch_images_per_second(images, args.iterations))
    result = {"project_img_s": statistics.median(ours), "torch_img_s": statistics.median(theirs)}
    result["ratio"] = result["project_img_s"] / result["torch_img_s"]
    result.update({"data": source, "batch": BATCH, "iterations": args.iterations,
                   "repeats": args.repeats, "torch": torch.__version__,
                   "torch_threads": torch.get_num_threads(), "numpy": np.__version__})
    if args.json:
        print(json.dumps(result))
    else:
        print("| | images/s (median of {}) |\n|---|---|".format(args.repeats))
        print("| chainer-vae | {:.0f} |\n| PyTorch {} eager | {:.0f} |".format(
            result["project_img_s"], torch.__version__, result["torch_img_s"]))
        print("| ratio | {:.2f} |".format(result["ratio"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
