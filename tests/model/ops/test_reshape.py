"""``ops.reshape`` computes what ``F.reshape`` does, values and gradients."""
from __future__ import annotations

import chainer_vae  # noqa: F401  (before chainer)
import chainer.functions as F
import numpy as np
from chainer import gradient_check

from chainer_vae.model import ops

F64 = {"atol": 1e-6, "rtol": 1e-6}


def _rng(seed=0):
    return np.random.RandomState(seed)


def test_reshape_matches_chainers_with_gradients():
    rng = _rng(30)
    x, gy, ggx = rng.randn(2, 1, 6), rng.randn(2, 3, 2), rng.randn(2, 1, 6)
    np.testing.assert_array_equal(ops.reshape(x, (2, 3, 2)).array,
                                  F.reshape(x, (2, 3, 2)).array)
    assert ops.reshape(x, (2, 1, 6)).array is x  # nothing to do: no node

    def f(x):
        return ops.reshape(x, (2, 3, 2))

    gradient_check.check_backward(f, x, gy, dtype=np.float64, **F64)
    gradient_check.check_double_backward(f, x, gy, ggx, dtype=np.float64, **F64)
