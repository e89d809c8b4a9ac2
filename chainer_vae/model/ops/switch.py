"""The one switch of every fused path: the environment variable ``CHAINER_VAE_FUSED`` and
the context manager ``fused``, read each time a drop-in runs (nothing is fixed at import).

With the fused paths off, each drop-in computes the same formula with chainer's own
functions (chainer's ``n_step_lstm`` for the LSTM): for tests that compare the two and for
profiling what the fused code saves.
"""
import contextlib
import os
import threading

from chainer_vae.errors import ConfigError

ENVIRONMENT_VARIABLE = "CHAINER_VAE_FUSED"
_OFF, _ON = ("0", "false", "no", "off"), ("", "1", "true", "yes", "on")

# ``fused``'s setting in this thread (None: none, the environment decides). Thread-local
# as chainer's own configuration is: a setting in one thread does not reach another.
_setting = threading.local()


def fused_enabled():
    """Whether the drop-ins take their fused paths now: the innermost ``fused(...)`` of
    this thread if any, else ``CHAINER_VAE_FUSED`` (0, false, no or off: not; unset, 1,
    true, yes or on: yes; any case).

    Raises
    ------
    ConfigError
        ``CHAINER_VAE_FUSED`` holds any other value.
    """
    on = getattr(_setting, "on", None)
    if on is not None:
        return on
    value = os.environ.get(ENVIRONMENT_VARIABLE, "").strip().lower()
    if value in _ON:
        return True
    if value in _OFF:
        return False
    raise ConfigError("{}={!r}: use 1 (the fused paths, the default) or 0 (chainer's own "
                      "functions)".format(ENVIRONMENT_VARIABLE, os.environ[ENVIRONMENT_VARIABLE]))


@contextlib.contextmanager
def fused(on=True):
    """Turn every fused path on or off inside a ``with`` block, in this thread, whatever
    ``CHAINER_VAE_FUSED`` says: ``with ops.fused(False): loss = ELBOLoss(model)(x)``.
    Each drop-in decides when it is called: the nodes of a forward pass compute their
    gradients the same way whatever the switch says during the backward pass.
    """
    previous = getattr(_setting, "on", None)
    _setting.on = bool(on)
    try:
        yield
    finally:
        _setting.on = previous
