"""Peak memory and windows per second of an epoch over a roll store as the corpus grows.

    python -m benchmarks.corpus_memory [--copies 1 4 16] [--corpus bach-chorales] [--json]

The corpus (converted once through ``midi.corpus``) is written into roll stores of 1x,
4x and 16x its pieces (the copies moved by 1..15 semitones, notes leaving the range
dropped). For each, a fresh process opens the store, cuts 4-bar windows a bar apart
lazily (``midi.split_windows(lazy=True)``), and reads one epoch of shuffled batches of
100 windows (``Windows.get_batch``, as training draws them); it reports its peak
resident memory (``ru_maxrss``) and windows per second. The same is measured with the
windows cut in memory (``lazy=False``, the way before roll stores) for comparison.
Goal (issue 29): the 16x store within 1.3x of the 1x store's peak memory.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import midi
from midi.corpus import load_corpus
from midi.rollstore import StoreWriter, open_store

WINDOW, HOP, BATCH = 64, 16, 100


def write_copies(pieces, copies, path):
    """A roll store of ``copies`` times ``pieces``, copy c moved up by c semitones."""
    width = pieces.note_states[0].shape[1]
    half = width // 2
    with StoreWriter(path, width, pieces.label_names, {"copies": copies}) as store:
        for copy in range(copies):
            for name, label, state in zip(pieces.pieces, pieces.labels, pieces.note_states):
                moved = np.zeros_like(np.asarray(state))
                moved.reshape(-1, 2, half)[:, :, copy:] = np.asarray(state).reshape(
                    -1, 2, half)[:, :, :half - copy]
                store.add("{}+{}".format(name, copy), label, moved)


def measure(path, lazy):
    """(peak resident MB, windows per second, windows) of one epoch over the store."""
    stored = open_store(path)
    pieces = midi.PieceSet(stored.pieces, stored.labels, stored.label_names,
                           stored.note_states)
    split = midi.split_windows(pieces, midi.split_pieces(pieces.labels, 0.2), path, 4, 24, 102,
                               WINDOW, HOP, lazy=lazy)
    train = split.train
    order = np.random.default_rng(0).permutation(len(train))
    begin = time.perf_counter()
    for first in range(0, len(order), BATCH):
        batch = order[first:first + BATCH]
        x = train.get_batch(batch) if lazy else train[batch]
        assert x.shape[1:] == (WINDOW, 156)
    seconds = time.perf_counter() - begin
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return peak, len(train) / seconds, len(train)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--corpus", default="bach-chorales")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # STORE:lazy|eager, in a child
    args = parser.parse_args(argv)
    if args.measure:
        path, how = args.measure.rsplit(":", 1)
        print(json.dumps(measure(path, how == "lazy")))
        return None
    pieces = load_corpus(args.corpus, progress=False)
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for copies in args.copies:
            path = Path(folder) / "x{}".format(copies)
            write_copies(pieces, copies, path)
            for how in ("lazy", "eager"):
                if how == "eager" and copies > 4:
                    continue  # in memory, 16x would need gigabytes: that is the point
                found = subprocess.run([sys.executable, "-m", "benchmarks.corpus_memory",
                                        "--measure", "{}:{}".format(path, how)],
                                       capture_output=True, text=True, check=True)
                peak, rate, windows = json.loads(found.stdout)
                results.append({"copies": copies, "windows": how, "train_windows": windows,
                                "store_mb": (path / "states.bin").stat().st_size / 1e6,
                                "peak_mb": peak, "windows_per_second": rate})
    base = next(r["peak_mb"] for r in results if r["copies"] == min(args.copies)
                and r["windows"] == "lazy")
    for result in results:
        result["peak_vs_1x_lazy"] = result["peak_mb"] / base
    if args.json:
        print(json.dumps({"corpus": args.corpus, "rows": results}, indent=2))
    else:
        print("copies  windows  train windows  store MB  peak MB  x 1x lazy  windows/s")
        for r in results:
            print("{copies:6d}  {windows:7s}  {train_windows:13d}  {store_mb:8.1f}  "
                  "{peak_mb:7.1f}  {peak_vs_1x_lazy:9.2f}  {windows_per_second:9.0f}".format(**r))
    return results


if __name__ == "__main__":
    main()
