"""Toy digits, tiny trained VAEs and randomised links shared by the tests."""
from __future__ import annotations

import chainer_vae  # noqa: F401  (installs the compatibility shim before chainer)
import chainer
import numpy as np

from chainer_vae.model import build_model
from chainer_vae.model import ELBOLoss


def toy_images(n, seed=0, classes=4):
    """Learnable stand-ins for digits: class c is a bright bar at rows 4 + 5c, with noise.
    Flat float32 (n, 784) in {0, 1} and int labels (n,)."""
    rng = np.random.RandomState(seed)
    labels = np.arange(n) % classes
    x = np.zeros((n, 28, 28), np.float32)
    for i, label in enumerate(labels):
        x[i, 4 + 5 * label:8 + 5 * label, 4:24] = 1
    x = np.maximum(x, rng.rand(n, 28, 28) < 0.02).astype(np.float32)
    return x.reshape(n, 784), labels


def randomised(link, seed, scale=1.0):
    """``link`` with every parameter drawn from N(0, scale^2): strong dependencies
    everywhere, including connections that start at zero (the MADE's direct ones)."""
    rng = np.random.RandomState(seed)
    for param in link.params():
        param.array[...] = rng.randn(*param.shape) * scale
    return link


def train_tiny(config, x, steps, seed=0, lr=1e-2):
    """A model built from ``config`` after ``steps`` Adam steps on batches of ``x``; the
    global NumPy random state is left as it was."""
    state = np.random.get_state()
    np.random.seed(seed)
    model = build_model(config)
    loss = ELBOLoss(model)
    optimizer = chainer.optimizers.Adam(alpha=lr)
    optimizer.setup(loss)
    rng = np.random.RandomState(seed)
    for _ in range(steps):
        loss.cleargrads()
        loss(x[rng.choice(len(x), 32)]).backward()
        optimizer.update()
    np.random.set_state(state)
    return model
