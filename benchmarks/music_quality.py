"""How musical a trained music VAE is: MusicVAE's measures and MGEval's, for one run folder.

    python benchmarks/music_quality.py RUN [--samples 64] [--pairs 8] [--limit N] [--json]

On the run's held-out (test) windows: reconstruction from the posterior mean (note F1:
the notes, as (pitch, start step), of the decoded window thresholded at 0.5 against the
window's own; and the share of steps reproduced exactly), the KL per window and the
number of active latent dimensions (variance of the posterior means over the windows
above 0.01, as Burda et al. count them); prior samples (data drawn from p(x|z) for
z ~ N(0, I), an autoregressive decoder reading back its draws) against the held-out
windows with ``midi.metrics`` (MGEval's mean overlapping area), beside the same figure
for as many training windows drawn at random (the ceiling); and interpolations (slerp,
7 points, decoded like the reconstructions) between pairs of held-out windows: the mean
overlap of the intermediate points against the held-out windows and the note F1 of the
two end points. The log-likelihood per step of
whole pieces is ``chainer-vae evaluate RUN --whole``. Methods and figures:
benchmarks/README.md.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

import chainer_vae  # noqa: F401  (before chainer)
import chainer
from midi.metrics import compare

from chainer_vae.data import examples_array
from chainer_vae.errors import ConfigError
from chainer_vae.inference import sampling
from chainer_vae.inference.music import as_rolls
from chainer_vae.model import ops
from chainer_vae.outputs.actions import music_options
from chainer_vae.runs import load_run

from quality_io import run_script

ACTIVE = 0.01  # variance of a dimension's posterior means above which it is active


def note_f1(decoded, real):
    """F1 of the notes, (pitch, start step), of the decoded rolls against the real ones."""
    hits = found = wanted = 0
    for mine, theirs in zip(decoded, real):
        a = {(int(p), int(s)) for p, s in mine.notes()[:, :2]}
        b = {(int(p), int(s)) for p, s in theirs.notes()[:, :2]}
        hits, found, wanted = hits + len(a & b), found + len(a), wanted + len(b)
    return 2 * hits / (found + wanted) if found + wanted else 1.0


def measure(run_dir, samples=64, pairs=8, limit=None, seed=0):
    run = load_run(run_dir)
    model, options = run.model, music_options(run.config.data)
    if options is None:
        raise ConfigError("{}: not a music run ({})".format(run_dir, run.config.data.dataset))
    test = examples_array(run.data.test, limit)
    rng = np.random.RandomState(seed)
    picked = rng.choice(len(run.data.train), min(max(len(test), 2), len(run.data.train)),
                        replace=False)
    train = examples_array([run.data.train[i] for i in np.sort(picked)])
    begin = time.perf_counter()
    z = sampling.encode(model, test)
    decoded = sampling.decode(model, z)
    real, back = as_rolls(test, **options), as_rolls(decoded, **options)
    exact = (np.asarray(decoded) > 0.5) == (test > 0.5)
    with chainer.no_backprop_mode(), chainer.using_config("train", False):
        kl = sampling.to_numpy(ops.kl_divergence(model.encoder(model.device.send(test)),
                                                 model.prior()))
    prior = as_rolls(sampling.prior_samples(model, samples, sample=True, seed=seed), **options)
    ends = rng.choice(len(test), size=(pairs, 2), replace=len(test) < 2 * pairs)
    between, end_f1 = [], []
    for a, b in ends:
        _, path = sampling.interpolate(model, test[a], test[b], 7, "slerp")
        between += as_rolls(path[1:-1], **options)
        end_f1.append(note_f1(as_rolls(path[[0, -1]], **options), [real[a], real[b]]))
    return {
        "run_dir": str(run_dir), "windows": len(test), "window_steps": int(test.shape[1]),
        "note_f1": note_f1(back, real),
        "exact_steps": float(exact.all(axis=2).mean()),
        "kl_per_window": float(kl.mean()),
        "active_dimensions": int((z.var(axis=0) > ACTIVE).sum()), "latent": int(z.shape[1]),
        "prior_overlap": compare(real, prior)["mean_overlap"],
        "ceiling_overlap": compare(real, as_rolls(train, **options))["mean_overlap"],
        "interpolation_overlap": compare(real, between)["mean_overlap"],
        "interpolation_end_f1": float(np.mean(end_f1)),
        "seconds": time.perf_counter() - begin}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir")
    parser.add_argument("--samples", type=int, default=64, help="prior samples compared")
    parser.add_argument("--pairs", type=int, default=8, help="interpolations")
    parser.add_argument("--limit", type=int, help="held-out windows used (default: all)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = measure(args.run_dir, args.samples, args.pairs, args.limit)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print("{:24s} {}".format(key, "{:.3f}".format(value) if isinstance(value, float)
                                     else value))
    return result


if __name__ == "__main__":
    run_script("music_quality.py", main)
