"""The likelihoods read their parameters from the decoder's raw outputs."""
from __future__ import annotations

import chainer_vae  # noqa: F401  (before chainer)
import numpy as np

from chainer_vae.model.likelihoods import BernoulliLikelihood, GaussianLikelihood


def _rng(seed=0):
    return np.random.RandomState(seed)


def test_likelihood_takes_the_first_parameter_like_a_slice():
    raw = _rng(5).randn(3, 1, 4, 5).astype(np.float32)
    bern = BernoulliLikelihood()(raw)
    np.testing.assert_array_equal(bern.distribution.logit.array, raw[:, 0])
    assert bern.batch_shape == (3,) and bern.event_shape == (4, 5)
    raw2 = _rng(6).randn(3, 2, 4).astype(np.float32)
    gauss = GaussianLikelihood(learned=True)(raw2)
    np.testing.assert_array_equal(gauss.distribution.loc.array, raw2[:, 0])
    np.testing.assert_array_equal(gauss.distribution.log_scale.array, raw2[:, 1])
