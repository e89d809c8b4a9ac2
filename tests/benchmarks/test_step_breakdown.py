"""benchmarks/step_breakdown.py: chainer-vae's side of the per-phase timing (PyTorch's side
needs torch, which only ``make bench`` installs)."""
from __future__ import annotations


import numpy as np
import pytest

import chainer_vae  # noqa: F401  (before chainer)
from benchmarks import machine, numpy_vae, report, run_all
from benchmarks import step_breakdown as breakdown
from benchmarks import train_throughput as throughput


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
    sides["numpy"] = dict(sides["torch"], total=3.5)
    text = breakdown.table({"ms_per_step": sides, "torch": "2.13.0"})
    assert "| ms per step | chainer-vae | NumPy by hand (floor) | PyTorch 2.13.0 |" in text
    assert "| total | 4.10 | 3.50 | 4.10 |" in text


def _throughput(threads, ours, theirs):
    return {"project_img_s": ours, "torch_img_s": theirs, "ratio": ours / theirs,
            "numpy_blas_threads": threads, "torch": "2.13.0+cpu"}


def _results(**entries):
    """``run_all``'s results: two-thread CPU throughput, the rest skipped, and ``entries``."""
    results = {"machine": {"date": "2026-11-30", "platform": "Linux", "cpus": 2,
                           "python": "3.11", "numpy": "2.4"},
               "train_throughput": _throughput(2, 9000.0, 12000.0),
               "step_breakdown": {"skipped": "no torch"},
               "midi_speed": {"skipped": "no pretty_midi"},
               "mpi_throughput": {"skipped": "no mpiexec"}}
    results.update(entries)
    return results


def test_results_markdown_has_a_column_per_thread_count():
    results = _results(train_throughput_one_thread=_throughput(1, 8000.0, 8000.0))
    text = run_all.markdown(results)
    assert "| images/s | 2 BLAS threads | 1 BLAS thread |" in text
    assert "| chainer-vae (`chainer-vae train`'s Trainer) | 9000 | 8000 |" in text
    assert "| ratio (speed) | **0.75** | **1.00** |" in text
    results["train_throughput_one_thread"] = {"skipped": "PyTorch is not installed"}
    assert "skipped: PyTorch is not installed" in run_all.markdown(results)


def _benchmark_loss_chain(beta=1.0):
    """chainer-vae's loss chain and FusedAdam for the benchmarked model (random weights)."""
    from chainer_vae.model import build_model
    from chainer_vae.training.optim import FusedAdam
    from chainer_vae.model import ELBOLoss

    np.random.seed(3)
    model = build_model(throughput.benchmark_config().model)
    chain = ELBOLoss(model, beta=beta)
    optimizer = FusedAdam(alpha=1e-3)
    optimizer.setup(chain)
    return model, chain, optimizer


def test_numpy_vae_matches_chainer_vaes_loss_gradients_and_adam_step():
    """The hand-written floor computes the same step as chainer-vae: same z noise (seeded
    alike), same loss, same gradients, and the same parameters after two Adam steps."""
    model, chain, optimizer = _benchmark_loss_chain(beta=0.7)
    floor = numpy_vae.NumpyVAE.from_model(model, beta=0.7)
    before = numpy_vae.NumpyVAE.from_model(model)
    rng = np.random.RandomState(1)
    for _ in range(2):
        x = (rng.rand(16, 784) < 0.3).astype(np.float32)
        np.random.seed(11)
        loss = chain(x)
        chain.cleargrads()
        loss.backward()
        np.random.seed(11)
        assert floor.loss(x) == pytest.approx(float(loss.array), rel=1e-5)
        floor.backward()
        grads = {path: param.grad for path, param in model.namedparams()}
        for name, source in numpy_vae.PARAMETERS:
            paths = source if isinstance(source, tuple) else (source,)
            expected = np.concatenate([grads[path] for path in paths], axis=0)
            np.testing.assert_allclose(floor.grads[name], expected, rtol=2e-4, atol=2e-6,
                                       err_msg=name)
            # Adam's first steps move a weight by ~alpha whatever the gradient's size, so
            # rounding in a near-zero gradient would show: both update from the same one.
            floor.grads[name][...] = expected
        optimizer.update()
        floor.update()
    after = numpy_vae.NumpyVAE.from_model(model)
    for name in after.params:
        np.testing.assert_allclose(floor.params[name], after.params[name], rtol=1e-6,
                                   atol=1e-7, err_msg=name)
    assert not np.allclose(floor.params["W1"], before.params["W1"], atol=5e-4)


def test_numpy_phases_time_the_floors_step():
    images = (np.random.RandomState(0).rand(1280, 784) < 0.13).astype(np.float32)
    phases = breakdown.numpy_phases(images, iterations=6, warmup=2)
    assert set(phases) == set(breakdown.PHASES)
    assert phases["forward"] > phases["batch"] > 0


class _Trainer:
    def __init__(self):
        self.updater = type("Updater", (), {"iteration": 0})()


def test_stop_after_waits_for_the_device_at_both_ends_of_the_timing():
    waits = []
    stop = throughput._StopAfter(2, 3, synchronize=lambda: waits.append(True))
    trainer = _Trainer()
    for iteration in range(5):
        trainer.updater.iteration = iteration
        assert not stop(trainer)
    assert len(waits) == 1 and stop.started is not None  # at the end of the warm-up only
    trainer.updater.iteration = 5
    assert stop(trainer)
    assert stop.elapsed() >= 0 and len(waits) == 2


def test_the_cpu_needs_no_wait_and_maps_to_torchs_cpu():
    assert machine.torch_device("@numpy") == "cpu"
    assert machine.gpu_name("@numpy") is None
    assert machine.device_synchronizer("@numpy")() is None


def test_a_missing_device_is_one_line_and_exit_2(capsys):
    for device in ("@cupy:99", "@bogus"):
        assert throughput.main(["--device", device, "--json"]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("no device " + device) and "\n" not in err


def _gpu_result(torch_img_s):
    return {"project_img_s": 50000.0, "torch_img_s": torch_img_s,
            "ratio": None if torch_img_s is None else 50000.0 / torch_img_s,
            "gpu": "NVIDIA H200", "numpy_blas_threads": 2, "repeats": 5,
            "torch": "2.13.0" if torch_img_s else "not run: PyTorch has no CUDA here"}


def test_gpu_results_are_reported_with_or_without_pytorch():
    alone = throughput.text_table(_gpu_result(None))
    assert "(median of 5, NVIDIA H200)" in alone and "| chainer-vae | 50000 |" in alone
    assert "not run: PyTorch has no CUDA here" in alone and "ratio" not in alone
    both = throughput.text_table(_gpu_result(40000.0))
    assert "| ratio | 1.25 |" in both
    results = _results(train_throughput_gpu=_gpu_result(None))
    text = run_all.markdown(results)
    assert "| images/s on NVIDIA H200 | |" in text
    assert "| chainer-vae (CuPy) | 50000 |" in text
    assert "| PyTorch | not run: PyTorch has no CUDA here |" in text
    results["train_throughput_gpu"] = _gpu_result(40000.0)
    text = run_all.markdown(results)
    assert "| PyTorch 2.13.0 | 40000 |" in text and "| ratio | **1.25** |" in text
    results["train_throughput_gpu"] = {"skipped": "no CUDA GPU"}
    assert "skipped: no CUDA GPU" in run_all.markdown(results)


@pytest.mark.gpu
def test_throughput_on_the_gpu(capsys):
    assert throughput.main(["--device", "@cupy:0", "--iterations", "5", "--warmup", "2",
                            "--repeats", "1", "--json"]) == 0
    out = capsys.readouterr().out
    result = report.last_json(out)
    assert result["project_img_s"] > 0 and result["gpu"]
    assert result["device"] == "@cupy:0"
