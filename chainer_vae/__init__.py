"""chainer-vae: variational autoencoders in Chainer, for MNIST digits and MIDI music."""
from chainer_vae import _compat  # noqa: F401  (must run before chainer is imported)
