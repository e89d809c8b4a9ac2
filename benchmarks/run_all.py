"""``make bench`` (``python -m benchmarks.run_all``): run the benchmarks, write
benchmarks/results.json and results.md.

Each benchmark runs as its own process (``python -m benchmarks.NAME``) with ``--json`` and
compares against a peer in the same run (ratios), since these machines are small, shared
and noisy:

- train_throughput.py: chainer-vae's training loop against PyTorch eager (CPU), with the
  default BLAS threads (the machine's cores) and again with one thread each, which
  measures the frameworks rather than two thread pools contending for the cores;
  and, where CuPy finds a CUDA GPU, on GPU 0 against PyTorch CUDA on the same card;
- train_throughput.py --model lstm: the same for the music model (LSTM + MADE on JSB
  Chorales windows, batch 32), with 2 BLAS threads and with 1;
- train_throughput.py --model hier: the same with MusicVAE's hierarchical decoder (a
  conductor over bars of 4 steps), with 2 BLAS threads and with 1;
- sample_speed.py: generating 16 pieces of 400 steps with that model (``chainer-vae
  sample --length 400``) against the same sampling loop in PyTorch;
- step_breakdown.py: the same step of both, split into batch, forward, backward, Adam,
  beside the same step written directly in NumPy (numpy_vae.py);
- midi_speed.py: midi.midi_to_roll against mido's parse and pretty_midi;
- mpi_throughput.py: 1 against 2 ChainerMN ranks (when mpiexec and mpi4py are installed).

The long model-quality benchmark (benchmarks/quality.py) is run by hand.
"""
from __future__ import annotations

import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

from benchmarks import report

HERE = Path(__file__).resolve().parent
# (result name, [module of benchmarks/, its options])
BENCHMARKS = (
    ("train_throughput", ["train_throughput", "--json"]),
    ("train_throughput_one_thread", ["train_throughput", "--threads", "1", "--json"]),
    ("train_throughput_gpu", ["train_throughput", "--device", "@cupy:0", "--json"]),
    ("train_throughput_lstm", ["train_throughput", "--model", "lstm", "--threads", "2",
                               "--json"]),
    ("train_throughput_lstm_one_thread", ["train_throughput", "--model", "lstm",
                                          "--threads", "1", "--json"]),
    ("train_throughput_hier", ["train_throughput", "--model", "hier", "--threads", "2",
                               "--json"]),
    ("train_throughput_hier_one_thread", ["train_throughput", "--model", "hier",
                                          "--threads", "1", "--json"]),
    ("sample_speed", ["sample_speed", "--json"]),
    ("step_breakdown", ["step_breakdown", "--json"]),
    ("midi_speed", ["midi_speed", "--json"]),
    ("corpus_memory", ["corpus_memory", "--json"]),
    ("mpi_throughput", ["mpi_throughput", "--json"]),
)


def machine():
    """What the numbers were measured on."""
    import numpy

    return {"date": datetime.date.today().isoformat(), "platform": platform.platform(),
            "processor": platform.machine(), "cpus": os.cpu_count(),
            "python": platform.python_version(), "numpy": numpy.__version__}


def run(name, args):
    """One benchmark's JSON result, or {"skipped": reason}."""
    if name == "mpi_throughput" and shutil.which("mpiexec") is None:
        return {"skipped": "mpiexec not installed (make mpi)"}
    if name == "train_throughput_gpu" and not has_gpu():
        return {"skipped": "no CUDA GPU (CuPy not installed, or no device)"}
    command = ["-m", "benchmarks." + args[0]] + args[1:]
    print("== python {}".format(" ".join(command)), flush=True)
    # run from the checkout's root, where ``benchmarks`` is the package of these scripts
    done = subprocess.run([sys.executable] + command, capture_output=True, text=True,
                          cwd=HERE.parent)
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        return {"skipped": lines[-1] if lines else "exit status {}".format(done.returncode)}
    return report.last_json(done.stdout)


def has_gpu():
    """Whether CuPy is installed and sees a CUDA device."""
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # ImportError, or CuPy's CUDARuntimeError without a driver
        return False


def _fmt(value, digits=2):
    return "{:.{}f}".format(value, digits) if isinstance(value, (int, float)) else str(value)


def _against_pytorch(runs, unit, key):
    """Table rows of chainer-vae against PyTorch, one column per run (BLAS threads):
    ``project_<key>``, ``torch_<key>`` and the speed ratio."""
    return ["| {} | ".format(unit) + " | ".join(
                "{} BLAS thread{}".format(run["numpy_blas_threads"],
                                          "" if run["numpy_blas_threads"] == 1 else "s")
                for run in runs) + " |",
            "|---|" + "---:|" * len(runs),
            "| chainer-vae (`chainer-vae train`'s Trainer) | " + " | ".join(
                _fmt(run["project_" + key], 0) for run in runs) + " |",
            "| PyTorch {} eager | ".format(runs[0].get("torch", "")) + " | ".join(
                _fmt(run["torch_" + key], 0) for run in runs) + " |",
            "| ratio (speed) | " + " | ".join(
                "**{}**".format(_fmt(run["ratio"])) for run in runs) + " |"]


def markdown(results):
    """The results as markdown: benchmarks/results.md."""
    info = results["machine"]
    lines = ["Measured {} on {} ({} CPUs, Python {}, NumPy {}) with `make bench`.".format(
        info["date"], info["platform"], info["cpus"], info["python"], info["numpy"]), ""]
    lines += ["**Training throughput** (MLP VAE 784-400-20, batch 128, CPU; medians):", ""]
    runs = [results[name] for name in ("train_throughput", "train_throughput_one_thread")
            if name in results]
    skipped = [run["skipped"] for run in runs if "skipped" in run]
    if skipped or not runs:
        lines += ["skipped: " + (skipped[0] if skipped else "not run"), ""]
    else:
        lines += _against_pytorch(runs, "images/s", "img_s") + [""]
    gpu = results.get("train_throughput_gpu", {"skipped": "not run"})
    lines += ["On a GPU (`train_throughput.py --device @cupy:0`; medians):", ""]
    if "skipped" in gpu:
        lines += ["skipped: " + gpu["skipped"], ""]
    else:
        lines += ["| images/s on {} | |".format(gpu["gpu"]), "|---|---:|",
                  "| chainer-vae (CuPy) | {} |".format(_fmt(gpu["project_img_s"], 0)),
                  "| PyTorch {} | {} |".format(gpu["torch"], _fmt(gpu["torch_img_s"], 0))
                  if gpu["torch_img_s"] is not None else "| PyTorch | {} |".format(gpu["torch"])]
        if gpu["ratio"] is not None:
            lines.append("| ratio | **{}** |".format(_fmt(gpu["ratio"])))
        lines.append("")
    lines += lstm_markdown(results)
    steps = results["step_breakdown"]
    lines += ["Where a step's time goes (`benchmarks/step_breakdown.py`; medians, ms per step "
              "of 128 images):", ""]
    if "skipped" in steps:
        lines += ["skipped: " + steps["skipped"], ""]
    else:
        from benchmarks.step_breakdown import table  # imports chainer, not torch

        lines += [table(steps), ""]
    speed = results["midi_speed"]
    lines += ["**MIDI to piano roll** (the study's 8 Bach files; medians):", ""]
    if "skipped" in speed:
        lines += ["skipped: " + speed["skipped"], ""]
    else:
        ms = speed["ms_per_file"]
        lines += ["| | ms per file |", "|---|---:|"]
        lines += ["| {} | {} |".format(name, _fmt(value)) for name, value in ms.items()]
        lines += ["", "midi_to_roll costs **{}x** mido's parse alone and is **{}x** faster than "
                  "pretty_midi; the {} genre songs convert at {} files/s on {} processes "
                  "({} on one).".format(_fmt(speed["ratio_to_mido_parse"]),
                                        _fmt(speed["speedup_over_pretty_midi"], 1),
                                        speed["genre_files"],
                                        _fmt(speed["genre_files_per_second_parallel"], 0),
                                        speed["workers"],
                                        _fmt(speed["genre_files_per_second_one_core"], 0)), ""]
    memory = results.get("corpus_memory", {"skipped": "not run"})
    lines += ["**An epoch over a roll store** (copies of a music21 corpus, 4-bar windows "
              "a bar apart, batches of 100):", ""]
    if "skipped" in memory:
        lines += ["skipped: " + memory["skipped"], ""]
    else:
        lines += ["| copies | windows | training windows | peak MB | x the 1x lazy peak | "
                  "windows/s |", "|---:|---|---:|---:|---:|---:|"]
        lines += ["| {copies} | {windows} | {train_windows} | {peak_mb:.1f} | "
                  "{peak_vs_1x_lazy:.2f} | {windows_per_second:.0f} |".format(**row)
                  for row in memory["rows"]]
        lines += [""]
    mpi = results["mpi_throughput"]
    lines += ["**Data-parallel training** (ChainerMN, same effective batch):", ""]
    if "skipped" in mpi:
        lines += ["skipped: " + mpi["skipped"], ""]
    else:
        lines += ["| {} ({}, effective batch {}) | images/s |".format(
            mpi["model"], mpi["data"], mpi["effective_batch"]), "|---|---:|"]
        lines += ["| {} | {} |".format(name, _fmt(value, 0))
                  for name, value in mpi["images_per_s"].items()]
        lines += [""]
    return "\n".join(lines)


def lstm_markdown(results):
    """The lines on the music models: training throughput and generation speed."""
    lines = _music_training(
        results, "train_throughput_lstm",
        "**Training throughput of the music model** (`train_throughput.py --model lstm`: "
        "bidirectional LSTM 256 encoder, autoregressive LSTM 256 decoder with a MADE of 300 "
        "units per step, latent 32, 64-step JSB Chorales windows, batch 32, CPU; medians):")
    lines += _music_training(
        results, "train_throughput_hier",
        "**Training throughput of the hierarchical music model** (`train_throughput.py "
        "--model hier`: the same with MusicVAE's hierarchical decoder, a conductor LSTM 256 "
        "over 16 bars of 4 steps, then the LSTM 256 decoder and its MADE over each bar; "
        "medians):")
    sample = results.get("sample_speed", {"skipped": "not run"})
    lines += ["**Generating music** (`sample_speed.py`: {} pieces of {} steps, one step and "
              "one key at a time; medians):".format(sample.get("n", 16),
                                                   sample.get("length", 400)), ""]
    if "skipped" in sample:
        lines += ["skipped: " + sample["skipped"], ""]
    else:
        lines += ["| seconds | |", "|---|---:|",
                  "| `chainer-vae sample --length {}` (the whole command) | {} |".format(
                      sample["length"], _fmt(sample["cli_s"]) if sample["cli_s"] is not None
                      else sample["cli"]),
                  "| chainer-vae generation | {} |".format(_fmt(sample["project_s"])),
                  "| PyTorch {} sampling loop | {} |".format(sample["torch"],
                                                            _fmt(sample["torch_s"])),
                  "| ratio (speed) | **{}** |".format(_fmt(sample["ratio"])), ""]
    return lines


def _music_training(results, name, title):
    """The lines on the training throughput of one music model: the runs ``name`` (2
    BLAS threads) and ``name``_one_thread."""
    lines = [title, ""]
    runs = [results.get(run, {"skipped": "not run"})
            for run in (name, name + "_one_thread")]
    skipped = [run["skipped"] for run in runs if "skipped" in run]
    if skipped:
        lines += ["skipped: " + skipped[0], ""]
    else:
        lines += _against_pytorch(runs, "ms per step", "ms_step")
        lines += ["| CPU ms per step, chainer-vae / PyTorch (ratio) | " + " | ".join(
                      "{} / {} ({})".format(_fmt(run.get("project_cpu_ms_step"), 0),
                                            _fmt(run.get("torch_cpu_ms_step"), 0),
                                            _fmt(run.get("cpu_ratio")))
                      for run in runs) + " |", "",
                  "Both models hold {:,} parameters.".format(runs[0]["parameters"]["project"]),
                  ""]
    return lines


def main():
    results = {"machine": machine()}
    for name, args in BENCHMARKS:
        results[name] = run(name, args)
    (HERE / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    text = markdown(results)
    (HERE / "results.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
