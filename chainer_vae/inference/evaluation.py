"""Evaluate a finished run on a held-out split: ELBO and importance-weighted log-likelihood.

Examples are scored as the model was trained on them (images, or windows of sequences);
for sequence data sets (the polyphonic benchmarks) ``whole=True`` scores each piece at
its own length instead, with the trained LSTM parameters read into a model built for that
length (``chainer_vae.model.at_length``), and reports the figures per time step as the
published sequence models do: the total over the pieces divided by their total steps.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator, Optional, Tuple

import chainer
import numpy
from tqdm import tqdm

from chainer_vae.data import examples_array
from chainer_vae.training.distributed import SingleProcess
from chainer_vae.errors import ConfigError
from chainer_vae.model import ELBOLoss, at_length
from chainer_vae.runs import load_run, seed_everything


@dataclass
class Evaluation:
    """Scores in nats per example (per piece for whole sequences): ``elbo`` <=
    ``log_likelihood`` <= 0 for discrete data (higher is better). For whole sequences
    also the total number of time steps and both figures per step (total / steps)."""

    elbo: float
    log_likelihood: float
    iw_samples: int
    n: int
    split: str = "test"
    steps: Optional[int] = None
    elbo_per_step: Optional[float] = None
    log_likelihood_per_step: Optional[float] = None

    def to_dict(self):
        return {key: value for key, value in asdict(self).items() if value is not None}


def batch_seed(seed, index):
    """The seed of the ``index``-th batch scored: every batch draws from its own seed, so
    the scores do not depend on which process scores which batch."""
    return (int(seed) * 1000003 + int(index)) % (1 << 32)


Batch = Tuple[Optional[int], numpy.ndarray, Optional[numpy.ndarray]]


def scoring_batches(examples, batch_size, whole, labels=None, multiple=1) -> Iterator[Batch]:
    """(steps, batch, labels) triples that together hold ``examples``: batches of the
    examples (an array (N, *shape)) and of their ``labels`` (N,) (None: no labels), steps
    None; or, with ``whole``, batches of the pieces (a list of (T, F) arrays, unlabelled)
    of one length T, shortest first, steps T, each piece padded with silent steps to a
    length that is a ``multiple`` of steps (the bars of a hierarchical decoder)."""
    if not whole:
        for start in range(0, len(examples), batch_size):
            yield (None, examples[start:start + batch_size],
                   None if labels is None else labels[start:start + batch_size])
        return
    lengths = -(-numpy.asarray([len(piece) for piece in examples]) // multiple) * multiple
    for steps in numpy.unique(lengths):
        pieces = [numpy.pad(examples[i], ((0, steps - len(examples[i])), (0, 0)))
                  for i in numpy.flatnonzero(lengths == steps)]
        for start in range(0, len(pieces), batch_size):
            yield (int(steps),
                   numpy.stack(pieces[start:start + batch_size]).astype(numpy.float32), None)


def evaluate(run_dir, iw_samples=5000, batch_size=100, limit=None, seed=0, device=None,
             split="test", whole=False, progress=True, distributed=None) -> Evaluation:
    """The ELBO (one sample of z per example) and the IWAE estimate of log p(x) with
    ``iw_samples`` samples of the run's ``split`` (test or valid), both averaged per
    example; with ``whole``, per piece and per time step of the whole pieces (for a
    hierarchical decoder, each padded to whole bars with silent steps: a lower bound,
    divided by the real steps only). A conditional model scores each example with its
    label: log p(x|y).

    ``limit`` scores only the first examples (pieces); the time grows with
    ``iw_samples`` times the number of examples. The random draws of batch i come from
    ``batch_seed(seed, i)``. With ``distributed`` (ranks of
    ``mpiexec``), rank r scores batches r, r + N, r + 2N, ... of the N ranks and the sums
    are added up over the ranks, so the result is that of one process (up to the order
    of the float64 additions); every rank reads the run folder and the data.
    """
    dist = distributed if distributed is not None else SingleProcess()
    for name, value in (("--iw-samples", iw_samples), ("--batch-size", batch_size)):
        if value < 1:
            raise ConfigError("{} must be at least 1, got {}".format(name, value))
    with dist.root_first():
        run = load_run(run_dir, device=dist.device_spec(device))
    labels = None  # a conditional model's: it scores log p(x|y), each x with its label
    if whole:
        if split not in run.data.sequences:
            raise ConfigError("{}: whole-sequence scoring needs a sequence data set (jsb, "
                              "nottingham, musedata, piano-midi), not {}".format(
                                  run_dir, run.config.data.dataset))
        examples = run.data.sequences[split][:limit]
    else:
        examples, split_labels = run.data.split(split)
        examples = examples_array(examples, limit)
        if run.model.labels:
            labels = numpy.asarray(split_labels, numpy.int32)[:len(examples)]
    if len(examples) == 0:
        raise ConfigError("{}: no {} examples to score".format(run_dir, split))
    models = {None: run.model}  # by sequence length; built where this process needs one

    def model_for(steps):
        if steps not in models:
            models[steps] = at_length(run.model, run.config.model, steps)
        return models[steps]

    totals = numpy.zeros(2)  # ELBO, log-likelihood
    # a hierarchical decoder writes whole bars: pad the pieces' last bars with silent steps,
    # which for binary data only lowers log p, since log p(x, silence) <= log p(x)
    bar = run.config.model.bar if run.config.model.decoder == "hier" else 1
    batches = list(enumerate(scoring_batches(examples, batch_size, whole, labels, bar)))
    mine = batches[dist.rank::dist.size]
    for index, (steps, x, y) in tqdm(mine, desc="evaluate {}".format(Path(run_dir).name),
                                     disable=not (progress and dist.is_writer), unit="batch"):
        model = model_for(steps)
        seed_everything(batch_seed(seed, index), run.device)
        x = run.device.send(x)
        y = None if y is None else run.device.send(y)
        with chainer.no_backprop_mode(), chainer.using_config("train", False):
            totals[0] -= float(ELBOLoss(model, k=1, beta=1.0)(x, y).array) * len(x)
        totals[1] += float(model.log_likelihood(x, iw_samples, y=y).sum())
    elbo, log_likelihood = (float(value) for value in dist.sum(totals))
    n = len(examples)
    result = Evaluation(elbo=elbo / n, log_likelihood=log_likelihood / n,
                        iw_samples=iw_samples, n=n, split=split)
    if whole:
        result.steps = int(sum(len(piece) for piece in examples))
        result.elbo_per_step = elbo / result.steps
        result.log_likelihood_per_step = log_likelihood / result.steps
    return result
