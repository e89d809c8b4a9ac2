"""The VAE: prior, model and the loss chain (negative ELBO), plus the IWAE log-likelihood.

Every loss and likelihood here is in nats per example: summed over the dimensions of an
example, averaged over the batch.
"""
import math

import chainer
import chainer.functions as F
import numpy

from chainer_vae.model import ops


class Prior(chainer.Link):
    """p(z) = N(0, I) over ``latent`` dimensions; a Link so its arrays follow the device."""

    def __init__(self, latent):
        super().__init__()
        self.latent = latent
        self.loc = numpy.zeros(latent, numpy.float32)
        self.scale = numpy.ones(latent, numpy.float32)
        self.register_persistent("loc")
        self.register_persistent("scale")

    def forward(self):
        # Built from log(scale), the parameter the fused KL and sampling read directly.
        log_scale = self.xp.log(self.scale)
        return ops.Independent(ops.Normal(self.loc, log_scale=log_scale),
                               reinterpreted_batch_ndims=1)


class VAE(chainer.Chain):
    """An encoder q(z|x), a decoder p(x|z) and a prior p(z); conditional (``labels`` > 0,
    Sohn et al., 2015), q(z|x, y) and p(x|z, y) with the prior p(z).

    Every method taking labels ``y`` takes int labels (B,) or label weights (B, labels)
    (see ``layers.with_labels``), on the model's device; a model without labels ignores
    them, a conditional model needs them.
    """

    def __init__(self, encoder, decoder, prior):
        super().__init__()
        with self.init_scope():
            self.encoder = encoder
            self.decoder = decoder
            self.prior = prior

    @property
    def latent(self):
        return self.prior.latent

    @property
    def labels(self):
        """The number of labels a conditional model reads; 0 for a model without labels."""
        return self.decoder.labels

    def encode(self, x, y=None):
        """The mean of q(z|x, y) as an array (B, latent)."""
        with chainer.no_backprop_mode(), chainer.using_config("train", False):
            return self.encoder(x, y).distribution.loc.array

    def decode(self, z, sample=False, y=None, temperature=1.0):
        """The mean of p(x|z, y) as an array (B, *data_shape), or with ``sample`` data drawn
        from it, the decoder's logits divided by ``temperature``; see ``Decoder.generate``."""
        return self.decoder.generate(z, sample=sample, y=y, temperature=temperature)

    def sample_prior(self, n):
        """n draws of z from the prior, shape (n, latent)."""
        return self.prior().sample(n).array

    def posterior_draws(self, x, n_samples, y=None):
        """q(z|x, y), ``n_samples`` reparameterised draws z of it per example (n_samples,
        B, latent), and log p(x|z, y) of each draw, (n_samples * B,) sample-major, in
        nats."""
        q_z = self.encoder(x, y)
        z = q_z.sample(n_samples)
        z_flat = ops.reshape(z, (n_samples * x.shape[0], self.latent))
        x_rep = _repeat(x, n_samples)
        y_rep = None if y is None else _repeat(y, n_samples)
        return q_z, z, self.decoder(z_flat, x_rep, y_rep).log_prob(x_rep)

    def log_weights(self, x, n_samples, y=None):
        """log p(x, z | y) - log q(z|x, y) for ``n_samples`` draws of z per example:
        (n_samples, B)."""
        q_z, z, log_px_z = self.posterior_draws(x, n_samples, y)
        log_px_z = ops.reshape(log_px_z, (n_samples, x.shape[0]))
        return log_px_z + self.prior().log_prob(z) - q_z.log_prob(z)

    def log_likelihood(self, x, n_samples=5000, chunk=None, y=None):
        """The importance-weighted estimate of log p(x) (Burda et al., 2016), per example;
        log p(x|y) for a conditional model.

        Draws ``n_samples`` z from q(z|x) per example, ``chunk`` at a time (by default as
        many as keep about 2**22 data values in memory at once), and combines the chunks
        with a running log-sum-exp, so memory does not grow with ``n_samples``.
        Returns an array (B,) in nats.
        """
        xp = self.xp
        x = chainer.as_array(x)
        if chunk is None:
            values = max(1, int(numpy.prod(x.shape)))
            chunk = max(1, min(n_samples, (1 << 22) // values))
        total = xp.full(x.shape[0], -numpy.inf, dtype=numpy.float64)
        with chainer.no_backprop_mode(), chainer.using_config("train", False):
            done = 0
            while done < n_samples:
                count = min(chunk, n_samples - done)
                log_w = self.log_weights(x, count, y).array.astype(numpy.float64)
                total = xp.logaddexp(total, _logsumexp(xp, log_w))
                done += count
        return total - math.log(n_samples)


class ELBOLoss(chainer.Chain):
    """The negative ELBO with ``k`` samples of z per example and a KL weight ``beta``.

    loss = E_q[-log p(x|z)] + beta * KL(q(z|x) || p(z)), reported as ``loss``,
    ``rec_loss`` (E_q[-log p(x|z)], a loss: positive for binary data), ``kl`` and
    ``beta`` (nats per example); for a conditional model x|z, y and z|x, y. The KL term
    is the closed form (``ops.kl_divergence``). ``beta`` is changed during training by
    the KL warm-up. Called with a batch x (B, ...) and, from a labelled data set
    (``data.Labelled``), its labels y (B,).

    With ``free_nats`` (nats, > 0) an example's KL is charged only above that floor,
    beta * max(KL - free_nats, 0), as MusicVAE's free bits do (its ``free_bits`` of B
    bits are B ln 2 nats), so the first nats the latent carries are free and the decoder
    cannot win by ignoring z; ``kl`` still reports the whole KL, and ``loss`` what is
    minimised.
    """

    def __init__(self, model, k=1, beta=1.0, free_nats=0.0):
        super().__init__()
        self.k = k
        self.beta = beta
        self.free_nats = free_nats
        with self.init_scope():
            self.model = model

    def forward(self, x, y=None):
        q_z, _, log_px_z = self.model.posterior_draws(x, self.k, y)
        kl = ops.kl_divergence(q_z, self.model.prior())  # (B,)
        if not self.free_nats:
            loss, rec_loss, kl = ops.negative_elbo(log_px_z, kl, self.beta)
        else:
            loss, rec_loss, _ = ops.negative_elbo(log_px_z, F.relu(kl - self.free_nats),
                                                  self.beta)
            kl = F.mean(kl)
        # ``rec_loss``: what Chainer's VAE example (v2 to v5) logs for this very term; its
        # v7 example's ``reconstr`` is the opposite, the mean log-likelihood
        chainer.report({"loss": loss, "rec_loss": rec_loss, "kl": kl, "beta": self.beta}, self)
        return loss


def _repeat(x, times):
    """x (B, ...) repeated as (times * B, ...), sample-major to match z.reshape (also
    labels (B,))."""
    if times == 1:
        return x
    xp = chainer.backend.get_array_module(x)
    x = chainer.as_array(x)
    return xp.broadcast_to(x, (times,) + x.shape).reshape((times * x.shape[0],) + x.shape[1:])


def _logsumexp(xp, a):
    """log sum exp over axis 0, stable."""
    peak = a.max(axis=0)
    safe = xp.where(xp.isfinite(peak), peak, 0)
    return safe + xp.log(xp.exp(a - safe).sum(axis=0))
