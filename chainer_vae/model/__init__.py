"""The model: parts looked up by name in one registry, the VAE and its ELBO loss.

``build_model(config)`` builds the VAE a ``ModelConfig`` names; ``VAE``, ``Prior`` and
``ELBOLoss`` are in ``vae.py``, the encoders, decoders, likelihoods and the step MADE in
their own modules, and every custom Chainer function in the package ``ops``.
"""
from chainer_vae.model.registry import at_length, build_model, same_weights
from chainer_vae.model.vae import VAE, ELBOLoss, Prior

__all__ = ["ELBOLoss", "Prior", "VAE", "at_length", "build_model", "same_weights"]
