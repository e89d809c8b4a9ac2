"""The toy digits, tiny trained VAEs and randomised links shared by the tests."""
from __future__ import annotations

import chainer_vae  # noqa: F401  (installs the compatibility shim before chainer)
import chainer
import numpy as np

from chainer_vae.model import build_model
from chainer_vae.model import ELBOLoss


def toy_digits(n, seed):
    """Learnable stand-ins for MNIST: digit d is a bright horizontal bar at rows 2d..2d+5
    with a little noise. uint8 images (n, 28, 28) and uint8 labels (n,)."""
    rng = np.random.RandomState(seed)
    labels = (np.arange(n) % 10).astype(np.uint8)
    rng.shuffle(labels)
    images = rng.randint(0, 40, size=(n, 28, 28))
    for i, digit in enumerate(labels):
        images[i, 2 * digit:2 * digit + 6, 4:24] = rng.randint(180, 256, size=(6, 20))
    return images.astype(np.uint8), labels


def toy_images(n, seed=0):
    """The toy digits binarized at 0.5, flat: float32 (n, 784) in {0, 1}, int labels (n,)."""
    images, labels = toy_digits(n, seed)
    return (images >= 128).reshape(n, 784).astype(np.float32), labels.astype(int)


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
