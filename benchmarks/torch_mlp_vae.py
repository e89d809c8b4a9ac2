"""The MLP VAE of ``train_throughput.py --model mlp`` written in PyTorch eager: the peer.

784-400-20 with ReLU, a Bernoulli likelihood on logits and one draw of z; the loss is
the negative ELBO per example (summed over the pixels, mean over the batch), as
chainer-vae's ``ELBOLoss`` computes it. ``step_breakdown.py`` times it phase by phase.
"""
from __future__ import annotations

import torch
import torch.nn.functional as TF


class MLPVAE(torch.nn.Module):
    """``model(x)`` is the loss of a batch x (B, pixels) of binary images (float32)."""

    def __init__(self, pixels=784, hidden=400, latent=20):
        super().__init__()
        self.enc = torch.nn.Linear(pixels, hidden)
        self.mu = torch.nn.Linear(hidden, latent)
        self.ln_sigma = torch.nn.Linear(hidden, latent)
        self.dec = torch.nn.Linear(latent, hidden)
        self.out = torch.nn.Linear(hidden, pixels)

    def forward(self, x):
        h = TF.relu(self.enc(x))
        mu, ln_sigma = self.mu(h), self.ln_sigma(h)
        z = mu + torch.exp(ln_sigma) * torch.randn_like(mu)
        logits = self.out(TF.relu(self.dec(z)))
        reconstr = TF.binary_cross_entropy_with_logits(logits, x, reduction="sum")
        kl = 0.5 * torch.sum(mu ** 2 + torch.exp(2 * ln_sigma) - 1 - 2 * ln_sigma)
        return (reconstr + kl) / x.shape[0]
