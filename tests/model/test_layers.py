"""The layers of the parts: the MLP stack."""
from __future__ import annotations

import chainer_vae  # noqa: F401  (before chainer)
import chainer.functions as F
import numpy as np

from chainer_vae.model.layers import MLP


def _rng(seed=0):
    return np.random.RandomState(seed)


def test_mlp_output_is_the_plain_stack():
    mlp = MLP(6, [5, 4], "relu")
    x = _rng().randn(3, 6).astype(np.float32)
    h = x
    for layer in mlp:
        h = F.relu(layer(h))
    np.testing.assert_allclose(mlp(x).array, h.array, rtol=1e-6)
