"""``train_once``: a finished run is found, not retrained; one stopped part way resumes to
the parameters an unbroken run ends with; another config trains afresh."""
import json

import numpy as np
import pytest

import chainer_vae  # noqa: F401

from chainer_vae import study
from chainer_vae.config import RunConfig
from chainer_vae.training import once, train_once
from tiny_models import parameters, read_log, toy_config


def test_a_finished_run_of_the_same_config_is_found_and_left_as_it_is(toy_mnist, tmp_path,
                                                                      capsys):
    run = tmp_path / "run"
    assert train_once(toy_config(toy_mnist), run, progress=False) == "trained"
    saved, written = (run / "model.npz").read_bytes(), (run / "model.npz").stat().st_mtime_ns
    request = json.loads((run / once.REQUEST_FILE).read_text())
    assert request["finished"] and RunConfig.from_dict(request["config"]) == toy_config(toy_mnist)
    study.train_stage(toy_config(toy_mnist), run, progress=False)
    assert "read again, not retrained" in capsys.readouterr().out
    assert (run / "model.npz").read_bytes() == saved
    assert (run / "model.npz").stat().st_mtime_ns == written  # not written again
    assert [entry["epoch"] for entry in read_log(run)] == [1, 2]


def test_another_config_in_the_folder_trains_from_the_start(toy_mnist, tmp_path):
    run = tmp_path / "run"
    train_once(toy_config(toy_mnist), run, progress=False)
    assert train_once(toy_config(toy_mnist, epochs=3), run, progress=False) == "trained"
    assert [entry["epoch"] for entry in read_log(run)] == [1, 2, 3]
    assert json.loads((run / once.REQUEST_FILE).read_text())["config"]["train"]["epochs"] == 3


def test_a_run_stopped_part_way_resumes_to_the_parameters_of_an_unbroken_one(
        toy_mnist, tmp_path, monkeypatch, capsys):
    config = toy_config(toy_mnist, epochs=3, snapshot_every=1)
    whole, stopped = tmp_path / "whole", tmp_path / "stopped"
    train_once(config, whole, progress=False)
    real_train = once.train

    def killed_after_epoch_1(config, out, **options):
        real_train(config, out, **dict(options, max_minutes=0.0))  # its snapshot is written
        raise KeyboardInterrupt  # and the process is stopped before the run ends

    monkeypatch.setattr(once, "train", killed_after_epoch_1)
    with pytest.raises(KeyboardInterrupt):
        train_once(config, stopped, progress=False)
    assert not json.loads((stopped / once.REQUEST_FILE).read_text())["finished"]
    monkeypatch.setattr(once, "train", real_train)
    study.train_stage(config, stopped, progress=False)
    assert "resumed from the newest snapshot" in capsys.readouterr().out
    assert [entry["epoch"] for entry in read_log(stopped)] == [1, 2, 3]
    expected, got = parameters(whole), parameters(stopped)
    for key in expected:
        np.testing.assert_array_equal(got[key], expected[key], err_msg=key)
    assert train_once(config, stopped, progress=False) == "found"


def test_a_damaged_request_trains_the_run_again(toy_mnist, tmp_path):
    run = tmp_path / "run"
    train_once(toy_config(toy_mnist, epochs=1), run, progress=False)
    (run / once.REQUEST_FILE).write_text('{"config": ')  # cut short
    assert train_once(toy_config(toy_mnist, epochs=1), run, progress=False) == "trained"
