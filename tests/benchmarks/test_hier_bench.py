"""benchmarks/train_throughput.py --model hier: the model it times is the one the command
line trains. That its PyTorch peer (torch_hier_vae.py) computes the same loss and gradients
for the same weights, with as many parameters, the script checks before it times (torch is
installed by ``make bench`` only, so the suite has no test that would skip without it)."""
from __future__ import annotations

import numpy as np

import chainer_vae  # noqa: F401  (before chainer)
from benchmarks import run_all
from benchmarks import train_throughput as throughput
from tiny_models import command_line_config

JSB_HIER = ("train --dataset jsb --arch lstm --decoder hier --autoregressive --step-made 300 "
            "--latent 32 --hidden 256 --batch-size 32 --window 64 --hop 32").split()
PARAMETERS = 1963588


def test_the_benchmarked_hierarchical_model_is_the_one_the_command_line_trains():
    config, expected = throughput.hier_config(), command_line_config(JSB_HIER)
    assert (config.data, config.model, config.train) == (expected.data, expected.model,
                                                         expected.train)
    assert config.model.bar == 4  # JSB: one step per beat, 16 bars per window
    assert throughput.MODELS["hier"].project_parameters() == PARAMETERS


def test_hier_throughput_times_the_trainer_and_prints_nothing(capsys):
    bench = throughput.MODELS["hier"]
    windows = (np.random.RandomState(0).rand(40, 64, 88) < 0.05).astype(np.float32)
    speed = throughput.project_run(windows, iterations=1, warmup=1, bench=bench)[0]
    assert speed > 0
    assert capsys.readouterr().out == ""


def _run(model, threads, ours, theirs, parameters):
    return {"model": model, "project_img_s": 32000.0 / ours, "torch_img_s": 32000.0 / theirs,
            "ratio": theirs / ours, "project_ms_step": ours, "torch_ms_step": theirs,
            "parameters": {"project": parameters, "torch": parameters},
            "numpy_blas_threads": threads, "torch": "2.13.0+cpu", "gpu": None, "repeats": 5,
            "batch": 32, "project_cpu_ms_step": ours, "torch_cpu_ms_step": theirs,
            "cpu_ratio": theirs / ours}


def test_hier_results_in_the_text_table_and_run_alls_markdown():
    text = throughput.text_table(_run("hier", 1, 160.0, 200.0, PARAMETERS))
    assert "| hierarchical LSTM + MADE, batch 32" in text
    assert "| chainer-vae | 200.0 | 160.0 | 1,963,588 |" in text
    assert "| ratio | 1.25 | | |" in text
    assert ("train_throughput_hier_one_thread", ["train_throughput", "--model", "hier",
                                                 "--threads", "1", "--json"]) in run_all.BENCHMARKS
    lines = run_all.lstm_markdown({
        "train_throughput_lstm": _run("lstm", 2, 300.0, 330.0, 1305668),
        "train_throughput_lstm_one_thread": _run("lstm", 1, 250.0, 200.0, 1305668),
        "train_throughput_hier": _run("hier", 2, 150.0, 180.0, PARAMETERS),
        "train_throughput_hier_one_thread": _run("hier", 1, 120.0, 150.0, PARAMETERS)})
    text = "\n".join(lines)
    assert text.index("music model**") < text.index("hierarchical music model**")
    assert "| ratio (speed) | **1.20** | **1.25** |" in text
    assert "Both models hold 1,963,588 parameters." in text
    assert "Both models hold 1,305,668 parameters." in text
