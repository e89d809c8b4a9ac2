"""benchmarks/train_throughput.py: its table of models, its checks of the command line, and
a PyTorch model that is not chainer-vae's ending the run (exit status 1) with no result."""
from __future__ import annotations

import pytest

import chainer_vae  # noqa: F401  (before chainer)
from benchmarks import train_throughput as throughput


def test_every_model_is_found_under_its_name():
    assert sorted(throughput.MODELS) == ["hier", "lstm", "mlp"]
    for name, bench in throughput.MODELS.items():
        assert bench.name == name
    assert throughput.MODELS["hier"].config().model.decoder == "hier"
    assert throughput.MODELS["lstm"].config().model.decoder == "lstm"
    assert throughput.MODELS["mlp"].config().model.encoder == "mlp"


def test_mlp_steps_must_fit_in_one_epoch_of_mnist(capsys):
    with pytest.raises(SystemExit) as ended:
        throughput.main(["--iterations", "460", "--warmup", "9"])
    assert ended.value.code == 2
    assert "at most 468" in capsys.readouterr().err


def test_a_peer_that_differs_is_one_line_and_exit_1(monkeypatch, capsys):
    monkeypatch.setattr(throughput.machine, "peer_torch", lambda on_gpu: (object(), None))
    measured = {"model": "lstm", "peer_differences": {"log_px": 1e-6, "loss": 0.5}}
    monkeypatch.setattr(throughput, "measure", lambda *args: measured)
    assert throughput.main(["--model", "lstm", "--json"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("the PyTorch model differs from chainer-vae's")
    assert "\n" not in err.strip()


def test_peer_mismatch_holds_a_ratio_only_between_one_model():
    assert throughput.peer_mismatch({"peer_differences": {"loss": 2e-4}})
    assert throughput.peer_mismatch({"peer_differences": {"loss": 1e-5}}) is None
    assert throughput.peer_mismatch({"model": "mlp"}) is None  # the MLP's peer is not checked
