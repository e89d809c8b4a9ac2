"""Inference with a trained VAE: pure sampling functions (``sampling``: encode, decode,
prior samples, interpolation, completion) and scores of held-out data (``evaluation``:
ELBO, IWAE, whole sequences; ``music``: prior samples against held-out music)."""
from chainer_vae.inference import sampling
from chainer_vae.inference.evaluation import Evaluation, evaluate

__all__ = ["Evaluation", "evaluate", "sampling"]
