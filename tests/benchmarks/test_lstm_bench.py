"""benchmarks/train_throughput.py --model lstm and sample_speed.py: chainer-vae's side (the
PyTorch peer needs torch, which only ``make bench`` installs) and run_all's report."""
from __future__ import annotations


import numpy as np

import chainer_vae  # noqa: F401  (before chainer)
from benchmarks import run_all, sample_speed
from benchmarks import train_throughput as throughput
from tiny_models import command_line_config

JSB_TRAIN = ("train --dataset jsb --arch lstm --autoregressive --step-made 300 --latent 32 "
             "--hidden 256 --batch-size 32 --window 64 --hop 32").split()


def test_the_benchmarked_music_model_is_the_one_the_command_line_trains():
    config, expected = throughput.lstm_config(), command_line_config(JSB_TRAIN)
    assert (config.data, config.model, config.train) == (expected.data, expected.model,
                                                         expected.train)
    assert throughput.MODELS["lstm"].project_parameters() == 1305668


def test_lstm_throughput_times_the_trainer_and_prints_nothing(capsys):
    bench = throughput.MODELS["lstm"]
    windows = (np.random.RandomState(0).rand(40, 64, 88) < 0.05).astype(np.float32)
    speed = throughput.project_run(windows, iterations=1, warmup=1, bench=bench)[0]
    assert speed > 0
    assert capsys.readouterr().out == ""  # PrintReport writes to stderr: --json stays JSON


def test_the_timed_steps_stay_inside_the_first_epoch():
    bench = throughput.MODELS["lstm"]
    windows = np.zeros((10, 64, 88), np.float32)
    assert len(bench.data(windows, 5).train) > 5 * bench.batch


def test_repeated_examples_fill_the_timed_steps():
    examples = np.arange(5)
    assert list(throughput.repeated(examples, 12)) == [0, 1, 2, 3, 4] * 2 + [0, 1]
    assert list(throughput.repeated(examples, 3)) == [0, 1, 2, 3, 4]


def _lstm_run(threads, ours, theirs):
    return {"model": "lstm", "project_img_s": 32000.0 / ours, "torch_img_s": 32000.0 / theirs,
            "ratio": theirs / ours, "project_ms_step": ours, "torch_ms_step": theirs,
            "parameters": {"project": 1305668, "torch": 1305668}, "numpy_blas_threads": threads,
            "torch": "2.13.0+cpu", "gpu": None, "repeats": 5, "batch": 32,
            "project_cpu_ms_step": ours * 0.9, "torch_cpu_ms_step": theirs * 0.9,
            "cpu_ratio": theirs / ours}


def test_lstm_results_in_the_text_table_and_run_alls_markdown():
    text = throughput.text_table(_lstm_run(1, 250.0, 200.0))
    assert "| chainer-vae | 128.0 | 250.0 | 1,305,668 |" in text
    assert "| ratio | 0.80 | | |" in text
    results = {"machine": {"date": "2026-12-01", "platform": "Linux", "cpus": 2,
                           "python": "3.11", "numpy": "2.4"},
               "train_throughput": {"skipped": "no torch"},
               "step_breakdown": {"skipped": "no torch"},
               "midi_speed": {"skipped": "no pretty_midi"},
               "mpi_throughput": {"skipped": "no mpiexec"},
               "train_throughput_lstm": _lstm_run(2, 300.0, 330.0),
               "train_throughput_lstm_one_thread": _lstm_run(1, 250.0, 200.0),
               "sample_speed": {"n": 16, "length": 400, "cli_s": 6.5, "cli": None,
                                "project_s": 1.2, "torch_s": 2.4, "ratio": 2.0,
                                "torch": "2.13.0+cpu"}}
    text = run_all.markdown(results)
    assert "| ms per step | 2 BLAS threads | 1 BLAS thread |" in text
    assert "| chainer-vae (`chainer-vae train`'s Trainer) | 300 | 250 |" in text
    assert "| ratio (speed) | **1.10** | **0.80** |" in text
    assert ("| CPU ms per step, chainer-vae / PyTorch (ratio) | 270 / 297 (1.10) "
            "| 225 / 180 (0.80) |") in text
    assert "Both models hold 1,305,668 parameters." in text
    assert "| `chainer-vae sample --length 400` (the whole command) | 6.50 |" in text
    assert "| ratio (speed) | **2.00** |" in text
    del results["train_throughput_lstm"], results["sample_speed"]
    assert "skipped: not run" in run_all.markdown(results)


def test_sample_speed_writes_a_run_that_samples(tmp_path):
    """The run folder sample_speed.py times (the model at its initial parameters) is one
    that ``chainer-vae sample`` reads; its in-process generation is timed on it."""
    run = sample_speed.fresh_run(tmp_path / "run")
    config, model = sample_speed.load_model(run)
    assert config.model.step_made == 300 and config.model.autoregressive
    from chainer_vae.inference import sampling
    from chainer_vae.model.registry import at_length

    means = sampling.prior_samples(at_length(model, config.model, 3), 2, seed=0)
    assert means.shape == (2, 3, 88) and ((means > 0) & (means < 1)).all()
