"""How musical a trained music VAE is: MusicVAE's measures and MGEval's, for one run folder.

    python -m benchmarks.music_quality RUN [--samples 64] [--pairs 8] [--limit N] [--json]

RUN is a run folder or a shipped model (``pretrained:NAME``); the measures are
``chainer_vae.inference.music.music_quality``.

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

import chainer_vae  # noqa: F401  (before chainer)
from chainer_vae.inference.music import note_f1, music_quality  # noqa: F401 (note_f1: tests)

from benchmarks.report import run_script


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", help="a run folder, or pretrained:NAME")
    parser.add_argument("--samples", type=int, default=64, help="prior samples compared")
    parser.add_argument("--pairs", type=int, default=8, help="interpolations")
    parser.add_argument("--limit", type=int, help="held-out windows used (default: all)")
    parser.add_argument("--data-dir", help="measure on the pieces of this MIDI folder (on the "
                                           "run's grid, split by piece as a run on it is) "
                                           "instead of the run's own")
    parser.add_argument("--hop", type=int, help="with --data-dir: steps between its windows "
                                                "(default: the run's)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = music_quality(args.run_dir, args.samples, args.pairs, args.limit,
                           data_dir=args.data_dir, hop=args.hop)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print("{:24s} {}".format(key, "{:.3f}".format(value) if isinstance(value, float)
                                     else value))
    return result


if __name__ == "__main__":
    run_script("music_quality.py", main)
