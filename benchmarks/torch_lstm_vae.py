"""The music model of ``train_throughput.py --model lstm`` written in PyTorch eager: the peer.

The model ``chainer-vae train --dataset jsb --arch lstm --autoregressive --step-made 300
--latent 32 --hidden 256`` builds, module for module:

- encoder: a bidirectional ``nn.LSTM`` over the (B, T, 88) window; the last states of both
  directions (B, 512) -> mean and log standard deviation of q(z|x) (B, 32);
- decoder: initial state (tanh(W_h z + b_h), W_c z + b_c); an ``nn.LSTM`` reading z and
  the previous step of x at every step (teacher forcing); its outputs -> 88 logits per step,
  plus a MADE of 300 hidden units over the 88 keys of each step (context: the LSTM output;
  masks of ``chainer_vae.model.made.made_masks``);
- loss: Bernoulli negative log-likelihood summed over the window plus the closed-form KL
  to N(0, I), per example (mean over the batch); one draw of z.

The parameters are those of chainer-vae's model, one for one (``nn.LSTM``'s weight_ih,
weight_hh, bias_ih and bias_hh hold chainer's w0..w3, w4..w7, b0..b3 and b4..b7 in the
same gate order i, f, a, o): ``copy_from_chainer`` loads a chainer-vae model's values, so
that both compute the same loss. ``sample`` is the generation loop of ``chainer-vae
sample`` (one step and one key at a time) in PyTorch. ``differences`` checks that both
compute one model: log p(x|z), the encoder, generation, and the training loss and its
gradients (``loss_differences``, which ``torch_hier_vae.py`` shares).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as TF

from chainer_vae.model.made import made_masks


class LSTMVAE(torch.nn.Module):
    """The model of the module docstring. ``code`` is the size of what the step decoder
    reads where it reads z: z itself (``latent``, the default) here, a conductor's
    embedding of a bar in ``torch_hier_vae.HierVAE``."""

    def __init__(self, keys=88, hidden=256, latent=32, made=300, code=None):
        super().__init__()
        self.keys, self.latent = keys, latent
        code = latent if code is None else code
        self.encoder = torch.nn.LSTM(keys, hidden, batch_first=True, bidirectional=True)
        self.mu = torch.nn.Linear(2 * hidden, latent)
        self.ln_sigma = torch.nn.Linear(2 * hidden, latent)
        self.initial_h = torch.nn.Linear(code, hidden)
        self.initial_c = torch.nn.Linear(code, hidden)
        self.decoder = torch.nn.LSTM(code + keys, hidden, batch_first=True)
        self.out = torch.nn.Linear(hidden, keys)
        self.made_context = torch.nn.Linear(hidden, made)
        self.made_to_hidden = torch.nn.Linear(keys, made, bias=False)
        self.made_to_out = torch.nn.Linear(made, keys, bias=False)
        self.made_direct = torch.nn.Linear(keys, keys, bias=False)
        torch.nn.init.zeros_(self.made_direct.weight)
        for name, mask in zip(("to_hidden_mask", "to_out_mask", "direct_mask"),
                              made_masks(keys, made)):
            self.register_buffer(name, torch.from_numpy(mask))

    def encode(self, x):
        """(mean, log standard deviation) of q(z|x) for windows x (B, T, F)."""
        _, (h_n, _) = self.encoder(x)
        features = torch.cat([h_n[0], h_n[1]], dim=1)
        return self.mu(features), self.ln_sigma(features)

    def initial_state(self, z):
        return torch.tanh(self.initial_h(z))[None], self.initial_c(z)[None]

    def logits(self, z, x):
        """The logits (B, T, F) of p(x|z), teacher forced (z: (B, code))."""
        batch, steps, _ = x.shape
        previous = TF.pad(x[:, :-1], (0, 0, 1, 0))
        inputs = torch.cat([z[:, None].expand(batch, steps, z.shape[1]), previous], dim=2)
        hs, _ = self.decoder(inputs, self.initial_state(z))
        hidden = torch.tanh(TF.linear(x, self.made_to_hidden.weight * self.to_hidden_mask)
                            + self.made_context(hs))
        return (self.out(hs) + TF.linear(hidden, self.made_to_out.weight * self.to_out_mask)
                + TF.linear(x, self.made_direct.weight * self.direct_mask))

    def forward(self, x):
        """The negative ELBO, nats per window (mean over the batch)."""
        return self.loss(x, None)

    def loss(self, x, eps):
        """The negative ELBO for the draw z = mu + sigma * eps (eps (B, latent); None:
        drawn here)."""
        mu, ln_sigma = self.encode(x)
        eps = torch.randn_like(mu) if eps is None else eps
        z = mu + torch.exp(ln_sigma) * eps
        reconstr = TF.binary_cross_entropy_with_logits(self.logits(z, x), x, reduction="sum")
        kl = 0.5 * torch.sum(mu ** 2 + torch.exp(2 * ln_sigma) - 1 - 2 * ln_sigma)
        return (reconstr + kl) / x.shape[0]

    @torch.no_grad()
    def sample(self, z, steps):
        """Means (B, steps, F) of windows drawn as ``chainer-vae sample`` draws them: one
        step at a time, each key of a step in order through the MADE (its hidden layer
        updated one input column at a time), each mean rounded and fed back."""
        batch = z.shape[0]
        to_hidden = self.made_to_hidden.weight * self.to_hidden_mask  # (U, F)
        to_out = self.made_to_out.weight * self.to_out_mask  # (F, U)
        direct = self.made_direct.weight * self.direct_mask  # (F, F)
        state = self.initial_state(z)
        previous = torch.zeros(batch, self.keys)
        means = torch.empty(batch, steps, self.keys)
        for t in range(steps):
            inputs = torch.cat([z, previous], dim=1)[:, None]
            h, state = self.decoder(inputs, state)
            h = h[:, 0]
            base = self.out(h)
            pre_activation = self.made_context(h)
            values = torch.zeros(batch, self.keys)
            for k in range(self.keys):
                raw = (base[:, k] + torch.tanh(pre_activation) @ to_out[k]
                       + values @ direct[k])
                mean = torch.sigmoid(raw)
                means[:, t, k] = mean
                values[:, k] = (mean >= 0.5).float()
                pre_activation += values[:, k:k + 1] * to_hidden[:, k]
            previous = values
        return means


def parameter_count(model):
    return sum(p.numel() for p in model.parameters())


def copy_lstm(module, link, suffix, index, value="array"):
    """Load direction ``index`` of chainer's LSTM ``link`` into ``module``'s weights of
    ``suffix`` ("" or "_reverse"); ``value``: the attribute of chainer's parameters read
    ("array", or "grad" to lay chainer's gradients out as ``module``'s weights)."""
    ws = [getattr(w, value) for w in link.ws[index]]
    bs = [getattr(b, value) for b in link.bs[index]]
    for name, values in (("weight_ih_l0", ws[:4]), ("weight_hh_l0", ws[4:]),
                         ("bias_ih_l0", bs[:4]), ("bias_hh_l0", bs[4:])):
        getattr(module, name + suffix).copy_(torch.from_numpy(np.concatenate(values)))


def copy_linear(module, link, value="array"):
    module.weight.copy_(torch.from_numpy(getattr(link.W, value)))
    if module.bias is not None:
        module.bias.copy_(torch.from_numpy(getattr(link.b, value)))


def copy_from_chainer(torch_model, chainer_model, value="array", decoder=None):
    """Give ``torch_model`` the values of a chainer-vae VAE's parameters (the model of
    this module's docstring); ``value="grad"``: their gradients instead. ``decoder``: the
    chainer ``LSTMDecoder`` that the step decoder mirrors (default: the model's
    decoder; a hierarchical decoder's ``bottom``)."""
    enc, dec = chainer_model.encoder, decoder or chainer_model.decoder
    with torch.no_grad():
        copy_lstm(torch_model.encoder, enc.lstm, "", 0, value)
        copy_lstm(torch_model.encoder, enc.lstm, "_reverse", 1, value)
        copy_lstm(torch_model.decoder, dec.lstm, "", 0, value)
        for module, link in ((torch_model.mu, enc.mu), (torch_model.ln_sigma, enc.ln_sigma),
                             (torch_model.initial_h, dec.initial_h),
                             (torch_model.initial_c, dec.initial_c), (torch_model.out, dec.out),
                             (torch_model.made_context, dec.made.context),
                             (torch_model.made_to_hidden, dec.made.to_hidden),
                             (torch_model.made_to_out, dec.made.to_out),
                             (torch_model.made_direct, dec.made.direct)):
            copy_linear(module, link, value)


def loss_differences(model, peer, copy, x, eps):
    """How far the PyTorch ``peer`` (holding ``model``'s values) is from chainer-vae's
    ``model`` on windows x (B, T, F) and draws eps (B, latent): the relative difference
    of the negative ELBO (z = mu + sigma * eps, KL to N(0, I), mean over the batch) and
    the largest relative difference of its gradients, parameter by parameter (chainer's
    gradients laid out as the peer's weights by ``copy(torch_model, model, "grad")``)."""
    import copy as copying

    import chainer.functions as F

    from chainer_vae.model import ops

    model.cleargrads()
    q = model.encoder(x)
    z = q.distribution.loc + q.distribution.scale * eps
    log_p = model.decoder(z, x).log_prob(x)
    loss = F.mean(-log_p + ops.kl_divergence(q, model.prior()))
    loss.backward()
    peer.zero_grad()
    peer_loss = peer.loss(torch.from_numpy(x), torch.from_numpy(eps))
    peer_loss.backward()
    expected = copying.deepcopy(peer)
    copy(expected, model, "grad")
    worst = 0.0
    with torch.no_grad():
        for param, grad in zip(peer.parameters(), expected.parameters()):
            scale = max(float(grad.abs().max()), 1e-12)
            worst = max(worst, float((param.grad - grad).abs().max()) / scale)
    return {"loss": abs(peer_loss.item() - float(loss.array)) / abs(float(loss.array)),
            "gradients": worst}


def differences(model_config):
    """How far this model is from chainer-vae's model of ``model_config`` when both hold
    chainer-vae's values (the MADE's direct weights, zero at first, drawn too): the
    largest differences of log p(x|z), of the encoder's means and of generated means,
    and those of the training loss and its gradients (``loss_differences``), on random
    windows. Both compute the same model when all are float32 rounding."""
    from chainer_vae.model import at_length, build_model

    np.random.seed(0)
    model = build_model(model_config)
    for param in model.decoder.made.params():
        param.array[...] = np.random.RandomState(1).randn(*param.shape) * 0.05
    peer = LSTMVAE()
    copy_from_chainer(peer, model)
    rng = np.random.RandomState(2)
    x = (rng.rand(3, 64, 88) < 0.05).astype(np.float32)
    z = rng.randn(3, 32).astype(np.float32)
    with torch.no_grad():
        peer_means = peer.sample(torch.from_numpy(z), 5).numpy()
    means = at_length(model, model_config, 5).decode(z)
    eps = rng.randn(3, 32).astype(np.float32)
    return {**forward_differences(model, peer, x, z),
            "generated_means": float(np.abs(peer_means - means).max()),
            **loss_differences(model, peer, copy_from_chainer, x, eps)}


def forward_differences(model, peer, x, z):
    """The largest relative difference of log p(x|z) and the largest difference of the
    encoder's means between chainer-vae's ``model`` and its PyTorch ``peer`` holding the
    same weights, on windows ``x`` and latent points ``z`` (NumPy arrays)."""
    import chainer

    with chainer.no_backprop_mode():
        log_p = model.decoder(z, x).log_prob(x).array
        loc = model.encoder(x).distribution.loc.array
    with torch.no_grad():
        logits = peer.logits(torch.from_numpy(z), torch.from_numpy(x))
        peer_log_p = -torch.nn.functional.binary_cross_entropy_with_logits(
            logits, torch.from_numpy(x), reduction="none").sum((1, 2)).numpy()
        peer_loc = peer.encode(torch.from_numpy(x))[0].numpy()
    return {"log_likelihood": float(np.abs(peer_log_p - log_p).max() / np.abs(log_p).max()),
            "encoder_means": float(np.abs(peer_loc - loc).max())}
