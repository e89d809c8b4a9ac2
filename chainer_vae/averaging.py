"""An exponential moving average of a model's parameters over the training steps.

The parameters an optimizer visits late in training scatter around a minimum: from one
epoch to the next the validation loss of a small-data model moves by more than it
improves. Their average sits nearer the middle and usually generalises better (Polyak
averaging; the "EMA of weights" of many training tools). ``ParameterAverage`` keeps that
average in a second copy of the model, which the Evaluator scores, the latent recorder
encodes with and the run saves as ``model.npz``; the optimizer keeps training the first.
"""
from __future__ import annotations

from chainer import training

from chainer_vae.errors import ConfigError

# Over the first steps the average follows the parameters more closely than ``decay``
# alone would (decay_n = min(decay, (1 + n) / (10 + n)), as TensorFlow's
# ExponentialMovingAverage does with num_updates), so a run from random weights does not
# carry its initialisation into the average for thousands of steps.
_WARMUP = 10


def check_decay(decay):
    """A ``ConfigError`` unless ``decay`` is a usable average decay per step: 0 (off) <=
    decay < 1."""
    if not 0.0 <= decay < 1.0:
        raise ConfigError("--average must be a decay per step in [0, 1) (0: off), got {}".format(
            decay))


def step_decay(decay, updates):
    """The decay applied at the update after ``updates`` earlier ones."""
    return min(decay, (1.0 + updates) / (_WARMUP + updates))


class ParameterAverage(training.Extension):
    """After every optimizer step: ``average += (1 - decay_n) * (param - average)`` for each
    parameter of ``model``, into ``average`` (a model of the same architecture, on the same
    device). A fresh run starts the average at the parameters it begins with; snapshots
    keep the average and the number of updates, so a resumed run continues it exactly."""

    trigger = 1, "iteration"
    # after the NaN guard (a NaN must not reach the average), before the Evaluator and
    # the snapshots of the same iteration, which read it
    priority = training.PRIORITY_WRITER + 1

    def __init__(self, model, average, decay):
        self._pairs = list(zip(_sorted_params(model), _sorted_params(average)))
        self._average = average
        self._decay = decay  # checked by build_trainer, before any data is loaded
        self.updates = 0

    @property
    def model(self):
        """The model holding the average."""
        return self._average

    def initialize(self, trainer):
        if self.updates == 0:
            for param, mean in self._pairs:
                mean.array[...] = param.array

    def __call__(self, trainer):
        rate = 1.0 - step_decay(self._decay, self.updates)
        for param, mean in self._pairs:
            mean.array += rate * (param.array - mean.array)
        self.updates += 1

    def serialize(self, serializer):
        self.updates = int(serializer("updates", self.updates))
        self._average.serialize(serializer["average"])


def _sorted_params(link):
    return [param for _, param in sorted(link.namedparams(), key=lambda item: item[0])]
