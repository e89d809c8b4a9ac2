"""The hierarchical music model of ``train_throughput.py --model hier`` in PyTorch eager.

The model ``chainer-vae train --dataset jsb --arch lstm --decoder hier --autoregressive
--step-made 300 --latent 32 --hidden 256 --window 64 --hop 32`` builds (JSB's grid is
one step per beat, so a bar is 4 steps and a window 16 bars), module for module: the
flat music model of ``torch_lstm_vae.py`` (the same encoder, the same step decoder with
its MADE, the same loss), whose step decoder reads a conductor's embedding of its bar
where the flat one reads z (``chainer_vae.model.hierarchical.HierarchicalDecoder``):

- conductor: initial state (tanh(W_h z + b_h), W_c z + b_c); an ``nn.LSTM`` reading z
  at each of the U bars -> one embedding (B, U, H) per bar;
- bottom decoder: ``LSTMVAE``'s decoder over the B * U bars (B * U, bar, F), its state
  started afresh from each bar's embedding, reading the embedding and the previous step
  of the bar (the first step of a bar reads zeros), plus the MADE within each step.

One hidden size serves the encoder, the conductor and the bottom decoder (chainer-vae's
``hidden`` of one entry). ``copy_from_chainer`` loads a chainer-vae model's values (or,
``value="grad"``, its gradients); ``differences`` checks that both compute one model.
"""
from __future__ import annotations

import numpy as np
import torch

from benchmarks.torch_lstm_vae import (LSTMVAE, copy_linear, copy_lstm, forward_differences,
                                       loss_differences)
from benchmarks.torch_lstm_vae import copy_from_chainer as copy_flat


class HierVAE(LSTMVAE):
    def __init__(self, keys=88, hidden=256, latent=32, made=300, bar=4):
        super().__init__(keys, hidden, latent, made, code=hidden)
        self.bar = bar
        self.conductor_initial_h = torch.nn.Linear(latent, hidden)
        self.conductor_initial_c = torch.nn.Linear(latent, hidden)
        self.conductor = torch.nn.LSTM(latent, hidden, batch_first=True)

    def embeddings(self, z, bars):
        """The conductor's embedding of every bar, (B * U, H), bar-major within a piece."""
        state = (torch.tanh(self.conductor_initial_h(z))[None],
                 self.conductor_initial_c(z)[None])
        embedded, _ = self.conductor(z[:, None].expand(z.shape[0], bars, z.shape[1]), state)
        return embedded.reshape(z.shape[0] * bars, embedded.shape[2])

    def logits(self, z, x):
        """The logits (B, T, F) of p(x|z), teacher forced within each bar."""
        batch, steps, keys = x.shape
        bars = steps // self.bar
        logits = super().logits(self.embeddings(z, bars),
                                x.reshape(batch * bars, self.bar, keys))
        return logits.reshape(batch, steps, keys)


def peer_of(model_config):
    """A ``HierVAE`` of the sizes of chainer-vae's ``model_config``."""
    (hidden,) = set(model_config.hidden)
    return HierVAE(model_config.input_shape[1], hidden, model_config.latent,
                   model_config.step_made, model_config.bar)


def copy_from_chainer(torch_model, chainer_model, value="array"):
    """Give ``torch_model`` the values (``value="grad"``: the gradients) of the parameters
    of a chainer-vae VAE with the hierarchical decoder (the model of the docstring)."""
    dec = chainer_model.decoder
    copy_flat(torch_model, chainer_model, value, decoder=dec.bottom)
    with torch.no_grad():
        copy_lstm(torch_model.conductor, dec.conductor, "", 0, value)
        copy_linear(torch_model.conductor_initial_h, dec.initial_h, value)
        copy_linear(torch_model.conductor_initial_c, dec.initial_c, value)


def differences(model_config, batch=3):
    """How far ``peer_of(model_config)`` is from chainer-vae's model of ``model_config``
    when both hold chainer-vae's values (the MADE's, its direct weights zero at first,
    drawn): the largest relative difference of log p(x|z), the largest difference of the
    encoder's means, and the relative differences of the training loss and of its
    gradients (``torch_lstm_vae.loss_differences``), on random windows. Both compute
    the same model when all are float32 rounding."""
    from chainer_vae.model import build_model

    np.random.seed(0)
    model = build_model(model_config)
    for param in model.decoder.bottom.made.params():
        param.array[...] = np.random.RandomState(1).randn(*param.shape) * 0.05
    peer = peer_of(model_config)
    copy_from_chainer(peer, model)
    rng = np.random.RandomState(2)
    x = (rng.rand(batch, *model_config.input_shape) < 0.05).astype(np.float32)
    z = rng.randn(batch, model_config.latent).astype(np.float32)
    eps = rng.randn(batch, model_config.latent).astype(np.float32)
    return {**forward_differences(model, peer, x, z),
            **loss_differences(model, peer, copy_from_chainer, x, eps)}
