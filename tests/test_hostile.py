"""What a hostile user or a damaged file does to chainer-vae: one line and exit 2, never a
traceback; no run folder mixed by two writers; no memory spent on absurd sizes."""
from __future__ import annotations

import errno
import fcntl
import os
import pickle
import shutil
import warnings

import numpy as np
import pytest

import chainer_vae  # noqa: F401
import chainer

from chainer_vae import cli
from chainer_vae.config import RunConfig
from chainer_vae.runs import LOCK_FILE, writing
from chainer_vae.training import trainer as training
from tiny_models import parameters, read_log, toy_config


def run_cli(capsys, *args):
    code = cli.main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line(code, err, *words):
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, err
    for word in words:
        assert word in lines[0], lines[0]


@pytest.fixture(scope="module")
def run(toy_mnist, tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile") / "run"
    assert cli.main(["train", "--data-dir", str(toy_mnist), "--epochs", "2", "--hidden", "16",
                     "--latent", "2", "--batch-size", "50", "--keep-snapshots", "2",
                     "--out", str(folder), "--no-progress"]) == 0
    return folder


def copy_of(run, tmp_path):
    target = tmp_path / "copy"
    shutil.copytree(run, target)
    return target


DAMAGE = {
    "truncated": lambda data: data[:len(data) // 2],
    "empty": lambda data: b"",
    "foreign": lambda data: b"not an archive at all\n" * 40,
    "pickled": lambda data: pickle.dumps({"encoder/mu/W": [1, 2, 3]}),
    "flipped": lambda data: data[:300] + bytes(b ^ 0xFF for b in data[300:400]) + data[400:],
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
@pytest.mark.parametrize("command", [["evaluate", "{run}", "--iw-samples", "2"],
                                     ["sample", "{run}", "--out", "{tmp}/s"],
                                     ["plot", "{run}", "--out", "{tmp}/p"]])
def test_a_damaged_model_file_is_one_line_naming_it(run, tmp_path, capsys, damage, command):
    damaged = copy_of(run, tmp_path)
    path = damaged / "model.npz"
    path.write_bytes(DAMAGE[damage](path.read_bytes()))
    code, _, err = run_cli(capsys, *[a.format(run=damaged, tmp=tmp_path) for a in command])
    assert_one_line(code, err, str(path))
    assert not (tmp_path / "s").exists() and not (tmp_path / "p").exists()


def test_a_damaged_latents_file_stops_plot_before_any_figure(run, tmp_path, capsys):
    damaged = copy_of(run, tmp_path)
    path = damaged / "latents.npz"
    path.write_bytes(path.read_bytes()[:100])
    code, _, err = run_cli(capsys, "plot", damaged, "--out", tmp_path / "figures")
    assert_one_line(code, err, str(path))
    assert not (tmp_path / "figures").exists()


def test_resume_falls_back_to_the_newest_sound_snapshot(toy_mnist, tmp_path, capsys):
    whole, broken = tmp_path / "whole", tmp_path / "broken"
    training.train(toy_config(toy_mnist, epochs=3), whole, progress=False)
    training.train(toy_config(toy_mnist, epochs=2), broken, progress=False)
    newest = broken / "snapshot_epoch_2"
    newest.write_bytes(newest.read_bytes()[:-1000])
    capsys.readouterr()
    config = RunConfig.load(broken)
    config.train.epochs = 3
    training.train(config, broken, resume="latest", progress=False)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "warning" in err and str(newest) in err
    expected, got = parameters(whole), parameters(broken)
    for key in expected:
        np.testing.assert_array_equal(got[key], expected[key], err_msg=key)
    assert [entry["epoch"] for entry in read_log(broken)] == [1, 2, 3]


def test_a_second_writer_is_refused_naming_the_first(toy_mnist, tmp_path, capsys):
    out = tmp_path / "busy"
    with writing(out):
        code, _, err = run_cli(capsys, "train", "--data-dir", toy_mnist, "--epochs", "1",
                               "--out", out, "--no-progress")
        assert_one_line(code, err, str(out), "process {}".format(os.getpid()))
        assert sorted(path.name for path in out.iterdir()) == [LOCK_FILE]


def test_a_lock_file_left_by_a_dead_process_does_not_block(toy_mnist, tmp_path):
    out = tmp_path / "stale"
    out.mkdir()
    (out / LOCK_FILE).write_text("999999")  # no process holds the lock any more
    (out / "tmpsnapshot_epoch_1abc").mkdir()  # what a killed snapshot writer leaves
    (out / ".model.npz.part.npz").write_bytes(b"half")
    training.train(toy_config(toy_mnist, epochs=1), out, progress=False)
    assert not list(out.glob("tmp*")) and not list(out.glob(".*.part*"))
    with open(out / LOCK_FILE) as lock:  # free again once the run ended
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_a_failed_command_leaves_no_empty_run_folder(toy_mnist, tmp_path, capsys):
    out = tmp_path / "never"
    code, _, err = run_cli(capsys, "train", "--data-dir", tmp_path / "no-mnist-here", "--out", out)
    assert_one_line(code, err, "no-mnist-here")
    assert not out.exists() and not (tmp_path / "no-mnist-here").exists()


def test_a_full_disk_names_the_file_and_keeps_the_log_honest(toy_mnist, tmp_path,
                                                             monkeypatch, capsys):
    saved = chainer.serializers.save_npz
    def save_npz(path, target, compression=True):
        if "snapshot_epoch_2" in str(path):
            raise OSError(errno.ENOSPC, "No space left on device")
        return saved(path, target, compression)
    monkeypatch.setattr(chainer.serializers, "save_npz", save_npz)
    out = tmp_path / "full"
    code, _, err = run_cli(capsys, "train", "--data-dir", toy_mnist, "--epochs", "3",
                           "--hidden", "8", "--out", out, "--no-progress")
    assert_one_line(code, err, str(out / "snapshot_epoch_2"), "No space left on device")
    assert [entry["epoch"] for entry in read_log(out)] == [1]
    assert not list(out.glob("tmp*"))


def test_a_diverging_run_ends_with_one_line_and_no_numpy_warnings(toy_mnist, tmp_path,
                                                                  capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        code, _, err = run_cli(capsys, "train", "--data-dir", toy_mnist, "--epochs", "2",
                               "--lr", "1e30", "--out", tmp_path / "nan", "--no-progress")
    assert_one_line(code, err, "loss became")


@pytest.mark.parametrize("args,words", [
    (["train", "--latent", "100000000"], ["would need", "of memory", "--latent"]),
    (["train", "--k", "100000000"], ["would need", "--batch-size or --k"]),
    (["train", "--hidden", "100000", "100000"], ["would need"]),
    (["train", "--dataset", "midi", "--classes", "3"], ["--classes applies to mnist only"]),
    (["train", "--resume", "--latent", "3"], ["cannot change", "--latent"]),
    (["train", "--init-from", "{run}", "--latent", "3"], ["--latent", "comes from --init-from"]),
    (["train", "--lr", "nan"], ["--lr", "finite"]),
    (["train", "--beta", "-1"], ["--beta", "at least 0"]),
    (["train", "--kl-warmup", "-5"], ["--kl-warmup"]),
    (["train", "--limit", "-5"], ["--limit", "at least 1"]),
    (["train", "--average", "1"], ["--average", "[0, 1)"]),
    (["train", "--max-minutes", "-1"], ["--max-minutes"]),
    (["evaluate", "{run}", "--iw-samples", "0"], ["--iw-samples"]),
    (["evaluate", "{run}", "--limit", "0"], ["--limit"]),
    (["evaluate", "{run}", "--batch-size", "-5", "--json"], ["--batch-size"]),
    (["sample", "{run}", "--out", "{tmp}/s", "--from-test", "-1"], ["--from-test"]),
    (["sample", "{run}", "--out", "{tmp}/s", "--from-test", "100000"], ["does not exist"]),
    (["sample", "{run}", "--out", "{tmp}/s", "--temperature", "nan"], ["--temperature"]),
    (["sample", "{run}", "--out", "{tmp}/s", "--n", "100000000"], ["at most 10,000"]),
    (["sample", "{run}", "--out", "{tmp}/s", "--threshold", "2"], ["--threshold"]),
    (["sample", "{run}", "--out", "{tmp}/s", "--steps", "1"], ["--steps"]),
    (["sample", "{run}", "--out", "{tmp}/s", "--interpolate", "0", "1", "--steps",
      "1000000000"], ["would need"]),
])
def test_bad_options_are_refused_in_one_line(run, toy_mnist, tmp_path, capsys, args, words):
    args = [arg.format(run=run, tmp=tmp_path) for arg in args]
    if args[0] == "train":
        args += ["--data-dir", str(toy_mnist), "--out", str(tmp_path / "r"), "--no-progress"]
    code, _, err = run_cli(capsys, *args)
    assert_one_line(code, err, *words)
    assert not (tmp_path / "r" / "model.npz").exists() and not (tmp_path / "s").exists()


@pytest.fixture(scope="module")
def conditional_run(toy_mnist, tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile") / "conditional"
    assert cli.main(["train", "--data-dir", str(toy_mnist), "--epochs", "1", "--hidden", "16",
                     "--latent", "2", "--conditional", "--out", str(folder),
                     "--no-progress"]) == 0
    return folder


@pytest.mark.parametrize("args,words", [
    (["sample", "{crun}", "--label", "12"], ["unknown label '12'", "knows 0, 1, 2,", "8, 9"]),
    (["sample", "{crun}", "--label", "jazz", "--from-test", "1"], ["unknown label 'jazz'"]),
    (["sample", "{run}", "--label", "3"], ["--label 3", "without --conditional"]),
    (["train", "--dataset", "jsb", "--conditional"], ["--conditional needs labelled",
                                                      "jsb data set has no labels"]),
    (["train", "--likelihood", "continuous-bernoulli", "--binarize", "threshold"],
     ["continuous-bernoulli", "--binarize none", "not --binarize threshold"]),
    (["train", "--dataset", "midi", "--likelihood", "continuous-bernoulli"],
     ["continuous-bernoulli", "not --dataset midi"]),
])
def test_labels_and_grey_levels_are_refused_in_one_line(run, conditional_run, toy_mnist,
                                                        tmp_path, capsys, args, words):
    args = [arg.format(run=run, crun=conditional_run) for arg in args]
    if args[0] == "train":
        args += ["--data-dir", str(toy_mnist), "--out", str(tmp_path / "r"), "--no-progress"]
    else:
        args += ["--out", str(tmp_path / "s")]
    code, _, err = run_cli(capsys, *args)
    assert_one_line(code, err, *words)
    assert not (tmp_path / "r").exists() and not (tmp_path / "s").exists()


@pytest.mark.parametrize("args,words", [
    (["--temperature", "1e39"], ["--temperature", "must be in (0, 100]", "1e39"]),
    (["--temperature", "100.5"], ["--temperature", "must be in (0, 100]"]),
    (["--vary", "0", "--distance", "1e308"], ["--distance", "must be in [0, 100]"]),
    (["--vary", "0", "--distance", "inf"], ["--distance", "finite"])])
def test_absurd_spreads_are_refused_before_any_work(run, tmp_path, capsys, args, words):
    code, _, err = run_cli(capsys, "sample", run, "--out", tmp_path / "o", *args)
    assert_one_line(code, err, *words)
    assert not (tmp_path / "o").exists()
    assert run_cli(capsys, "sample", run, "--out", tmp_path / "o", "--temperature", "100",
                   "--n", "2")[0] == 0  # the bound itself gives finite samples


def test_samples_that_are_not_finite_are_never_written(run, tmp_path, capsys, monkeypatch):
    from chainer_vae.inference import sampling

    real = sampling.decode
    monkeypatch.setattr(sampling, "decode", lambda *a, **k: real(*a, **k) * np.nan)
    code, _, err = run_cli(capsys, "sample", run, "--out", tmp_path / "o", "--n", "4")
    assert_one_line(code, err, "samples.png: not written", "not finite")
    assert not list((tmp_path / "o").glob("*.png")) and not list((tmp_path / "o").glob("*.npz"))


@pytest.mark.parametrize("edit,words", [
    ({"data": {"low": 100, "high": 128}}, ["model.input_shape [8, 4]", "data.low 100 to "
                                           "data.high 128: 56 values a step"]),
    ({"model": {"input_shape": [8, 4], "bar": 3}}, ["8 steps are no whole number of "
                                                     "model.bar 3"])])
def test_fields_of_config_json_are_checked_against_each_other(tmp_path, capsys, edit, words):
    config = RunConfig()
    config.data.dataset, config.data.window, config.data.low, config.data.high = "midi", 8, 60, 62
    config.model.decoder, config.model.bar, config.model.input_shape = "hier", 4, (8, 4)
    raw = config.to_dict()
    for section, values in edit.items():
        raw[section].update(values)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.json").write_text(__import__("json").dumps(raw))
    code, _, err = run_cli(capsys, "sample", tmp_path / "run", "--out", tmp_path / "o")
    assert_one_line(code, err, str(tmp_path / "run" / "config.json"), *words)


def test_a_config_whose_model_does_not_fit_in_memory_is_named(run, tmp_path, capsys):
    import json

    edited = copy_of(run, tmp_path)
    raw = json.loads((edited / "config.json").read_text())
    raw["model"]["hidden"] = [10 ** 9]  # a billion units: no machine holds the weights
    (edited / "config.json").write_text(json.dumps(raw))
    code, _, err = run_cli(capsys, "sample", edited, "--out", tmp_path / "o")
    assert_one_line(code, err, str(edited / "config.json"), "would need", "of memory")


def test_an_out_folder_under_a_file_is_named_in_one_line(toy_mnist, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    code, _, err = run_cli(capsys, "train", "--data-dir", toy_mnist, "--epochs", "1",
                           "--out", blocker / "run", "--no-progress")
    assert_one_line(code, err, str(blocker / "run"), "Not a directory")


def test_an_os_error_of_no_path_the_user_gave_is_a_bug_with_its_traceback(run, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("a bug, not bad input")
    monkeypatch.setattr(cli, "evaluate", broken)
    with pytest.raises(OSError, match="a bug"):
        cli.main(["evaluate", str(run), "--iw-samples", "2"])


def test_a_full_disk_under_the_log_names_the_run_folder(toy_mnist, tmp_path, monkeypatch,
                                                         capsys):
    from chainer.training.extensions import log_report

    def dump(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(log_report.json, "dump", dump)
    out = tmp_path / "full-log"
    code, _, err = run_cli(capsys, "train", "--data-dir", toy_mnist, "--epochs", "1",
                           "--hidden", "8", "--out", out, "--no-progress")
    assert_one_line(code, err, "cannot write {}".format(out), "No space left on device")
