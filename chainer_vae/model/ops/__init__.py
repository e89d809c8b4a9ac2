"""Every custom Chainer function of the model, behind drop-ins named like chainer's.

Model code calls ``ops.reshape``, ``ops.linear``, ``ops.Normal``, ``ops.Independent``,
``ops.Bernoulli``, ``ops.kl_divergence``, ``ops.NStepLSTM`` and ``ops.NStepBiLSTM`` where
Chainer's examples call ``F.reshape``, ``F.linear``, ``D.Normal``, ``D.Independent``,
``D.Bernoulli``, ``chainer.kl_divergence``, ``L.NStepLSTM`` and ``L.NStepBiLSTM``: they
take chainer's arguments and give chainer's values (within float32 rounding), plus the
additions below. Each drop-in decides itself whether its fused path applies and otherwise
calls chainer's own functions, so model code never branches on it.

A fused path computes what a short chain of ``chainer.functions`` computes in one
``FunctionNode``: one graph node instead of several, fewer temporary arrays, and a
backward pass that works on arrays directly (``gradients``: one formula, on arrays or as a
graph for double backprop). On small models (the MLP VAE on MNIST) chainer's per-node
Python overhead costs more than the arithmetic, so this is where the time goes.
``tests/model/ops/`` checks every one against the plain formulation it replaces, values
and gradients.

One switch turns every fused path off (``switch``): ``CHAINER_VAE_FUSED=0`` in the
environment, or ``with ops.fused(False):``; both are read when a drop-in runs.

What each drop-in adds to chainer's:

- ``reshape`` (``reshape.py``): nothing; its backward adds no node.
- ``linear`` (``linear.py``): an ``activation`` argument (``F.relu``, ``F.tanh`` or None
  in the same node; any other function after chainer's ``F.linear``).
- ``linear_heads(x, links)`` (``linear.py``): not in chainer; several ``link(x)`` of one x
  (the encoder's mean and log standard deviation) in one node.
- ``Bernoulli`` (``distributions.py``): a log-probability that never overflows, and
  ``summed_log_prob(x, event_ndims)``.
- ``Normal`` (``distributions.py``): nothing; ``sample_n`` is one node when built from
  ``log_scale``, its noise drawn as chainer draws it.
- ``Independent`` (``distributions.py``): nothing; its ``log_prob`` over a base with
  ``summed_log_prob`` sums over the event inside that one node.
- ``kl_divergence`` (``kl.py``): also for subclasses of chainer's distributions (chainer
  looks up exact classes); one node between Normals (also inside Independents).
- ``negative_elbo`` (``elbo.py``): not in chainer; the loss, reconstruction and KL terms
  of the negative ELBO from log p(x|z) and KL per example, in one node.
- ``NStepLSTM``, ``NStepBiLSTM`` (``lstm.py``, the node in ``lstm_node.py``): ``forward``
  also takes the B sequences as one (B, T, I) array (ys is then one (B, T, D H) Variable)
  and ``context=`` (B, C) that every step reads before x_t (the LSTM decoder's z);
  ``NStepLSTM.stepper(context=None)`` runs it one step at a time on arrays, for
  generation loops. Over sequences of one length on NumPy, one node per layer and
  direction instead of chainer's loop of about 30 nodes per time step; on a GPU, and for
  sequences of several lengths, chainer's ``n_step_lstm`` (cuDNN on a GPU).
"""
from chainer_vae.model.ops.distributions import Bernoulli, Independent, Normal, stable_softplus
from chainer_vae.model.ops.elbo import negative_elbo
from chainer_vae.model.ops.kl import kl_divergence
from chainer_vae.model.ops.linear import linear, linear_heads
from chainer_vae.model.ops.lstm import NStepBiLSTM, NStepLSTM
from chainer_vae.model.ops.reshape import reshape
from chainer_vae.model.ops.switch import ENVIRONMENT_VARIABLE, fused, fused_enabled

__all__ = ["Bernoulli", "ENVIRONMENT_VARIABLE", "Independent", "NStepBiLSTM", "NStepLSTM",
           "Normal", "fused", "fused_enabled", "kl_divergence", "linear", "linear_heads",
           "negative_elbo", "reshape", "stable_softplus"]
