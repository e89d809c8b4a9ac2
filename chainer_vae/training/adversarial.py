"""VAE-GAN training (Larsen, Sønderby, Larochelle and Winther, 2016): a discriminator on the
decoder's images, whose features replace the pixel-wise reconstruction loss.

Per batch x, with z ~ q(z|x), x~ the decoder's mean at z and x_p its mean at a prior draw
z_p ~ N(0, I), and the discriminator's features ``Dis_l`` and logit ``d`` (nats per
example, averaged over the batch):

- ``L_prior`` = KL(q(z|x) || p(z)), weighted by the KL warm-up's beta;
- ``L_llike`` = 1/2 ||Dis_l(x) - Dis_l(x~)||^2, the negative log-likelihood of x~ under a
  unit Gaussian in the discriminator's features (up to a constant);
- ``L_GAN`` = softplus(-d(x)) + softplus(d(x~)) + softplus(d(x_p)), the discriminator's
  cross-entropy, with the non-saturating softplus(-d(x~)) + softplus(-d(x_p)) as the
  decoder's side of it.

As in Larsen et al.'s Algorithm 1 each part minimises its own objective: the encoder
``beta L_prior + L_llike``, the decoder ``gamma L_llike + L_GAN(decoder)`` and the
discriminator ``L_GAN``, with ``gamma`` the ``TrainConfig.adversarial`` weight. The VAE's
two parts share one optimizer (their gradients are taken from their own objectives, then
one Adam step), the discriminator has its own. The test loss stays the plain negative
ELBO of the pixels, which the VAE-GAN does not minimise.
"""
from __future__ import annotations

from collections import namedtuple

import chainer
import chainer.functions as F
from chainer.dataset import convert
from chainer.training import updaters

from chainer_vae.model import ops
from chainer_vae.model.likelihoods import differentiable_mean
from chainer_vae.model.registry import build_discriminator
from chainer_vae.training.optim import FusedAdam

# the objectives of one batch (Variables, nats per example)
Objectives = namedtuple("Objectives", "encoder decoder discriminator")
REPORT_KEYS = ["main/feature", "main/gan"]


class VAEGANLoss(chainer.Chain):
    """The three objectives of a VAE-GAN batch (see the module docstring). ``model`` is
    the VAE (a child link: the main optimizer trains it), ``discriminator`` the
    ``model.discriminator.Discriminator`` that its own optimizer trains (not a child, so
    the main optimizer leaves it alone). ``beta`` is set by the KL warm-up.

    Reports ``loss`` (the negative ELBO of the pixels with this beta), ``rec_loss``
    (-log p(x|z), pixels), ``kl``, ``beta``, ``feature`` (``L_llike``) and ``gan``
    (``L_GAN``, the discriminator's loss).
    """

    def __init__(self, model, discriminator, gamma=1.0, beta=1.0):
        super().__init__()
        self.gamma, self.beta = float(gamma), float(beta)
        self.discriminator = discriminator
        with self.init_scope():
            self.model = model

    def forward(self, x, y=None):
        """``Objectives`` of the batch x (B, *input_shape), labels y (B,) for a conditional
        model."""
        model, disc = self.model, self.discriminator
        batch = x.shape[0]
        q_z = model.encoder(x, y)
        z = ops.reshape(q_z.sample(1), (batch, model.latent))
        p_x = model.decoder(z, x, y)
        kl = F.mean(ops.kl_divergence(q_z, model.prior()))
        rec_loss = -F.mean(p_x.log_prob(x))
        x_tilde = differentiable_mean(p_x)
        z_prior = chainer.Variable(
            model.xp.random.standard_normal((batch, model.latent)).astype(x.dtype))
        x_prior = differentiable_mean(model.decoder(z_prior, y=y))
        real_features, real_logit = disc(x)
        fake_features, fake_logit = disc(x_tilde)
        _, prior_logit = disc(x_prior)
        feature = 0.5 * F.sum(F.squared_difference(fake_features, real_features.array)) / batch
        fooled = F.mean(F.softplus(-fake_logit) + F.softplus(-prior_logit))
        _, detached_fake = disc(x_tilde.array)
        _, detached_prior = disc(x_prior.array)
        gan = F.mean(F.softplus(-real_logit) + F.softplus(detached_fake)
                     + F.softplus(detached_prior))
        chainer.report({"loss": rec_loss + self.beta * kl, "rec_loss": rec_loss, "kl": kl,
                        "beta": self.beta, "feature": feature, "gan": gan}, self)
        return Objectives(encoder=self.beta * kl + feature,
                          decoder=self.gamma * feature + fooled, discriminator=gan)


def adversarial_updater(config, model, optimizer, iterator, converter, device, dist):
    """(the ``AdversarialUpdater`` of the VAE-GAN ``config`` asks for, its
    ``VAEGANLoss``): a new discriminator on ``device`` with its own Adam (the run's
    learning rate, beta1 0.5 as GANs are usually trained), and ``optimizer``, set up here on
    the loss (whose only child is ``model``). ``dist`` (``distributed.SingleProcess`` or ``MPIRanks``) wraps
    the discriminator's optimizer as the caller wrapped ``optimizer``."""
    discriminator = build_discriminator(config.model)
    discriminator.to_device(device)
    loss = VAEGANLoss(model, discriminator, gamma=config.train.adversarial,
                      beta=config.train.beta)
    optimizer.setup(loss)
    discriminator_optimizer = dist.optimizer(FusedAdam(alpha=config.train.lr, beta1=0.5))
    discriminator_optimizer.setup(discriminator)
    return AdversarialUpdater(iterator, optimizer, discriminator_optimizer, loss, converter,
                              device), loss


def take_gradients(loss, in_arrays):
    """Set every parameter's gradient for one VAE-GAN step on the batch ``in_arrays``
    (``x`` or ``(x, y)``): the encoder's of ``Objectives.encoder``, the decoder's of
    ``Objectives.decoder``, the discriminator's of ``Objectives.discriminator`` (a
    ``VAEGANLoss`` ``loss``; one forward pass, one backward pass per objective)."""
    model, disc = loss.model, loss.discriminator
    objectives = loss(*in_arrays) if isinstance(in_arrays, tuple) else loss(in_arrays)
    model.cleargrads()
    objectives.encoder.backward()
    encoder_grads = [param.grad for param in model.encoder.params()]
    model.cleargrads()
    objectives.decoder.backward()
    for param, grad in zip(model.encoder.params(), encoder_grads):
        param.grad = grad
    disc.cleargrads()
    objectives.discriminator.backward()


class AdversarialUpdater(updaters.StandardUpdater):
    """One VAE-GAN step per batch: the VAE's optimizer (``"main"``, on ``loss.model``)
    steps on the encoder's gradients of ``Objectives.encoder`` and the decoder's of
    ``Objectives.decoder``; the discriminator's optimizer (``"discriminator"``) on those
    of ``Objectives.discriminator``. Snapshots keep both optimizers (and the
    discriminator, their target)."""

    def __init__(self, iterator, optimizer, discriminator_optimizer, loss, converter, device):
        super().__init__(iterator, {"main": optimizer,
                                    "discriminator": discriminator_optimizer},
                         converter=converter, device=device, loss_func=loss)

    def update_core(self):
        iterator = self.get_iterator("main")
        in_arrays = convert._call_converter(self.converter, iterator.next(), self.input_device)
        take_gradients(self.loss_func, in_arrays)
        for name in ("main", "discriminator"):
            optimizer = self.get_optimizer(name)
            optimizer.update()
            if self.auto_new_epoch and iterator.is_new_epoch:
                optimizer.new_epoch(auto=True)
