"""Training: ``build_trainer`` and ``train`` (``trainer``), a run trained once and resumed
when it stopped part way (``once``), the Trainer's own extensions and the one table of
their order (``extensions``), Adam in place (``optim``)."""
from chainer_vae.training.once import train_once
from chainer_vae.training.trainer import build_trainer, result_model, train

__all__ = ["build_trainer", "result_model", "train", "train_once"]
