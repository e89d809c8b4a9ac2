"""The benchmarked VAE written directly in NumPy: the floor under any NumPy-based framework.

The model of ``train_throughput.py`` (MLP 784-400-20, ReLU, Bernoulli, batch 128, one
sample of z, Adam) with no graph, no Variables and no per-operation Python beyond the
NumPy calls themselves: the forward pass, a backward pass derived by hand, and
``chainer_vae.training.optim._adam_step`` over flat arrays (the update ``FusedAdam`` makes).
Its time is what chainer-vae's step would cost if chainer's bookkeeping cost nothing:
the same matrix products, the same float32 elementwise passes, NumPy's single-threaded
ufuncs. ``step_breakdown.py`` times it beside chainer-vae and PyTorch.

``NumpyVAE.from_model`` copies the parameters of a chainer-vae model of that
configuration, so the loss and gradients can be checked against chainer-vae's own
(``tests/benchmarks/test_step_breakdown.py``). The noise of z is drawn as chainer-vae draws it
(NumPy's global ``standard_normal``, cast to float32), so with the same seed the two
see the same z.
"""
from __future__ import annotations

import types

import numpy as np

from chainer_vae.model.ops import stable_softplus
from chainer_vae.training.optim import _adam_step

# (name in this module, path of the chainer-vae parameter); mu and ln_sigma share one
# (2 * latent, hidden) weight here, as chainer-vae's fused heads compute them.
PARAMETERS = (("W1", "/encoder/trunk/0/W"), ("b1", "/encoder/trunk/0/b"),
              ("Wh", ("/encoder/mu/W", "/encoder/ln_sigma/W")),
              ("bh", ("/encoder/mu/b", "/encoder/ln_sigma/b")),
              ("Wd", "/decoder/trunk/0/W"), ("bd", "/decoder/trunk/0/b"),
              ("Wo", "/decoder/out/W"), ("bo", "/decoder/out/b"))


class NumpyVAE:
    """Parameters, gradients and Adam moments as views of flat float32 arrays."""

    def __init__(self, arrays, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, beta=1.0):
        sizes = [arrays[name].size for name, _ in PARAMETERS]
        total = sum(sizes)
        self._flat = {kind: np.zeros(total, np.float32) for kind in ("data", "grad", "m", "v")}
        self._scratch = np.empty(total, np.float32)
        self.params, self.grads = {}, {}
        start = 0
        for (name, _), size in zip(PARAMETERS, sizes):
            shape = arrays[name].shape
            self.params[name] = self._flat["data"][start:start + size].reshape(shape)
            self.params[name][...] = arrays[name]
            self.grads[name] = self._flat["grad"][start:start + size].reshape(shape)
            start += size
        self.latent = arrays["Wh"].shape[0] // 2
        self.beta = beta
        self._adam = types.SimpleNamespace(alpha=lr, beta1=beta1, beta2=beta2, eps=eps,
                                           eta=1.0, weight_decay_rate=0.0)
        self._t = 0
        self._saved = None

    @classmethod
    def from_model(cls, model, **kwargs):
        """A copy of a chainer-vae MLP VAE with one hidden layer on each side."""
        found = {path: param.array for path, param in model.namedparams()}
        arrays = {}
        for name, source in PARAMETERS:
            paths = source if isinstance(source, tuple) else (source,)
            arrays[name] = np.concatenate([found[path] for path in paths], axis=0)
        return cls(arrays, **kwargs)

    def loss(self, x):
        """The negative ELBO, nats per example (a float); keeps what ``backward`` needs."""
        p = self.params
        batch = x.shape[0]
        h = x @ p["W1"].T
        h += p["b1"]
        np.maximum(h, 0, out=h)
        heads = h @ p["Wh"].T
        heads += p["bh"]
        mu, ln_sigma = heads[:, :self.latent], heads[:, self.latent:]
        noise = np.random.standard_normal(mu.shape).astype(np.float32)
        sigma = np.exp(ln_sigma)
        z = sigma * noise
        z += mu
        hd = z @ p["Wd"].T
        hd += p["bd"]
        np.maximum(hd, 0, out=hd)
        logits = hd @ p["Wo"].T
        logits += p["bo"]
        # -log p(x|z) = softplus(logits) - x * logits, with chainer-vae's softplus (kept
        # for the sigmoid in backward)
        softplus = stable_softplus(np, logits)
        neg_log_px = x * logits
        np.subtract(softplus, neg_log_px, out=neg_log_px)
        kl = 0.5 * (mu * mu + sigma * sigma - 1.0) - ln_sigma
        total = neg_log_px.sum(dtype=np.float64) + self.beta * kl.sum(dtype=np.float64)
        self._saved = (x, h, heads, mu, sigma, noise, z, hd, logits, softplus)
        return float(total / batch)

    def backward(self):
        """The gradients of the last ``loss`` into ``self.grads``."""
        x, h, heads, mu, sigma, noise, z, hd, logits, softplus = self._saved
        scale = np.float32(1.0 / x.shape[0])
        # d/dlogits = sigmoid(logits) - x; sigmoid(l) = exp(l - softplus(l)), which stays
        # finite since l - softplus(l) <= 0
        d_logits = np.subtract(logits, softplus)
        np.exp(d_logits, out=d_logits)
        d_logits -= x
        d_logits *= scale
        d_hd = self._linear_backward(d_logits, hd, "Wo", "bo")
        d_hd *= hd > 0
        d_z = self._linear_backward(d_hd, z, "Wd", "bd")
        d_heads = np.empty_like(heads)
        beta = np.float32(self.beta) * scale
        np.multiply(mu, beta, out=d_heads[:, :self.latent])
        d_heads[:, :self.latent] += d_z
        d_ln_sigma = d_heads[:, self.latent:]
        np.multiply(d_z, noise, out=d_ln_sigma)
        d_ln_sigma *= sigma
        d_ln_sigma += beta * (sigma * sigma - 1.0)
        d_h = self._linear_backward(d_heads, h, "Wh", "bh")
        d_h *= h > 0
        self._linear_backward(d_h, x, "W1", "b1", inputs_grad=False)

    def _linear_backward(self, d_out, inputs, weight, bias, inputs_grad=True):
        """The gradients of y = inputs W^T + b: W's and b's into ``self.grads``, and the
        inputs' returned (None with ``inputs_grad`` False: the data need none)."""
        np.dot(d_out.T, inputs, out=self.grads[weight])
        d_out.sum(axis=0, out=self.grads[bias])
        return d_out @ self.params[weight] if inputs_grad else None

    def update(self):
        """One Adam step over all parameters (chainer's rule, bias-corrected step size)."""
        self._t += 1
        hp = self._adam
        alpha_t = hp.alpha * np.sqrt(1.0 - hp.beta2 ** self._t) / (1.0 - hp.beta1 ** self._t)
        flat = self._flat
        _adam_step(hp, alpha_t, flat["data"], flat["grad"], flat["m"], flat["v"],
                   self._scratch)
