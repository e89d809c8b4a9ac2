"""The study end to end: the runs behind the README's main command (``make demo``).

Each stage trains through the same ``chainer_vae.training.train`` a user runs from the
CLI, evaluates the result and writes a summary, so a short default run and a long one
differ only in their numbers of epochs.
"""
from __future__ import annotations

import json
from pathlib import Path

from chainer_vae.config import RunConfig, atomic_write_text, default_model_config
from chainer_vae.evaluation import evaluate
from chainer_vae.training import train

QUICK_EPOCHS = 5


def mnist_config(epochs, device):
    """The study's MNIST setting: 1600 training and 400 test digits per class, binarized at
    0.5, Chainer's example MLP (784-500-20, tanh)."""
    config = RunConfig(model=default_model_config("mnist", "mlp"))
    config.data.train_per_class, config.data.test_per_class = 1600, 400
    config.train.epochs, config.train.device = epochs, device
    return config


def run_study(out, epochs=None, device="@numpy", progress=False, iw_samples=500):
    """Train and evaluate the study's models under ``out``; returns the summary dict."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    epochs = epochs or QUICK_EPOCHS
    summary = {}
    run_dir = out / "mnist_mlp"
    print("== MNIST, MLP VAE ({} epochs) -> {}".format(epochs, run_dir), flush=True)
    train(mnist_config(epochs, device), run_dir, progress=progress)
    scores = evaluate(run_dir, iw_samples=iw_samples, progress=progress)
    summary["mnist_mlp"] = scores.to_dict()
    print("MNIST test ELBO {:.2f} nats, IWAE (K={}) log p(x) {:.2f} nats, {} test digits".format(
        scores.elbo, scores.iw_samples, scores.log_likelihood, scores.n), flush=True)
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2) + "\n")
    return summary
