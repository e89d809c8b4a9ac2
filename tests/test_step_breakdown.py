"""benchmarks/step_breakdown.py: chainer-vae's side of the per-phase timing (PyTorch's side
needs torch, which only ``make bench`` installs)."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np

import chainer_vae  # noqa: F401  (before chainer)

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name):
    spec = importlib.util.spec_from_file_location("_bench_" + name, BENCH / (name + ".py"))
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(BENCH))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCH))
    return module


breakdown = _load("step_breakdown")


def test_project_phases_time_each_phase_of_the_trainers_step():
    images = (np.random.RandomState(0).rand(1280, 784) < 0.13).astype(np.float32)
    phases = breakdown.project_phases(images, iterations=6, warmup=2)
    assert set(phases) == set(breakdown.PHASES)
    assert all(value > 0 for value in phases.values())
    # The forward pass multiplies 128x784 by 784x400 at least: it cannot cost less than
    # drawing the batch, which copies the 128x784 inputs once.
    assert phases["forward"] > phases["batch"]


def test_table_lists_every_phase_and_the_total():
    sides = {side: {"batch": 0.1, "forward": 1.0, "backward": 2.0, "optimizer": 1.0,
                    "total": 4.1} for side in ("chainer-vae", "torch")}
    text = breakdown.table({"ms_per_step": sides, "torch": "2.13.0"})
    rows = text.splitlines()[2:]
    assert [row.split("|")[1].strip() for row in rows] == list(breakdown.PHASES) + ["total"]
    assert "| total | 4.10 | 4.10 |" in text


def _throughput(threads, ours, theirs):
    return {"project_img_s": ours, "torch_img_s": theirs, "ratio": ours / theirs,
            "numpy_blas_threads": threads, "torch": "2.13.0+cpu"}


def test_results_markdown_has_a_column_per_thread_count():
    run_all = _load("run_all")
    results = {"machine": {"date": "2026-11-30", "platform": "Linux", "cpus": 2,
                           "python": "3.11", "numpy": "2.4"},
               "train_throughput": _throughput(2, 9000.0, 12000.0),
               "train_throughput_one_thread": _throughput(1, 8000.0, 8000.0),
               "step_breakdown": {"skipped": "no torch"},
               "midi_speed": {"skipped": "no pretty_midi"},
               "mpi_throughput": {"skipped": "no mpiexec"}}
    text = run_all.markdown(results)
    assert "| images/s | 2 BLAS threads | 1 BLAS thread |" in text
    assert "| chainer-vae (`chainer-vae train`'s Trainer) | 9000 | 8000 |" in text
    assert "| ratio | **0.75** | **1.00** |" in text
    results["train_throughput_one_thread"] = {"skipped": "PyTorch is not installed"}
    assert "skipped: PyTorch is not installed" in run_all.markdown(results)
