"""The chainer-vae command: runs, JSON output, and one-line errors with exit code 2."""
import json
import subprocess
import sys

import numpy as np
import pytest

import chainer_vae  # noqa: F401
from chainer_vae import cli


def run_cli(capsys, *args):
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, err, *words):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for word in words:
        assert word in lines[0]


@pytest.fixture(scope="module")
def trained_run(toy_mnist, tmp_path_factory):
    run = tmp_path_factory.mktemp("cli") / "run"
    code = cli.main(["train", "--data-dir", str(toy_mnist), "--epochs", "1", "--hidden", "32",
                     "--latent", "3", "--batch-size", "50", "--out", str(run), "--no-progress"])
    assert code == 0
    return run


def test_train_writes_a_run_and_evaluate_prints_json(trained_run, capsys):
    config = json.loads((trained_run / "config.json").read_text())
    assert config["model"]["hidden"] == [32] and config["model"]["latent"] == 3
    assert config["model"]["activation"] == "tanh"  # the MNIST default
    code, out, _ = run_cli(capsys, "evaluate", trained_run, "--iw-samples", "10", "--json",
                           "--no-progress")
    assert code == 0
    result = json.loads(out)
    assert set(result) == {"elbo", "log_likelihood", "iw_samples", "n", "split"}
    assert result["iw_samples"] == 10 and result["n"] == 100
    assert result["elbo"] < result["log_likelihood"] < 0


def test_train_resume_extends_a_run(trained_run, tmp_path, capsys):
    import shutil

    run = tmp_path / "copy"
    shutil.copytree(trained_run, run)
    code, out, _ = run_cli(capsys, "train", "--out", run, "--resume", "--epochs", "2",
                           "--no-progress")
    assert code == 0
    assert [entry["epoch"] for entry in json.loads((run / "log").read_text())] == [1, 2]


def test_resume_at_a_new_learning_rate(trained_run, tmp_path, capsys):
    import shutil

    import numpy as np

    runs = {}
    for name, extra in (("same", []), ("slower", ["--lr", "1e-5"])):
        run = runs[name] = tmp_path / name
        shutil.copytree(trained_run, run)
        code, _, _ = run_cli(capsys, "train", "--out", run, "--resume", "--epochs", "2",
                             "--no-progress", *extra)
        assert code == 0
    lr = {name: json.loads((run / "config.json").read_text())["train"]["lr"]
          for name, run in runs.items()}
    assert lr == {"same": 1e-3, "slower": 1e-5}
    start, same, slower = (np.load(run / "model.npz")["decoder/out/W"]
                           for run in (trained_run, runs["same"], runs["slower"]))
    # one epoch at 1/100 of the rate moves the weights about 1/100 as far
    assert np.abs(slower - start).max() < 0.05 * np.abs(same - start).max()


def test_bad_arguments_are_one_line(capsys):
    code, _, err = run_cli(capsys, "train", "--arch", "transformer")
    assert_one_line_error(code, err, "--arch", "transformer")


def test_corrupt_idx_file_is_named(toy_mnist, tmp_path, capsys):
    import shutil

    broken = tmp_path / "mnist"
    shutil.copytree(toy_mnist, broken)
    name = "t10k-labels-idx1-ubyte.gz"
    (broken / name).write_bytes((broken / name).read_bytes()[:-9])
    code, _, err = run_cli(capsys, "train", "--data-dir", broken, "--out", tmp_path / "r",
                           "--no-progress")
    assert_one_line_error(code, err, name)
    assert not (tmp_path / "r" / "model.npz").exists()


@pytest.mark.parametrize("args,words", [
    (["evaluate", "{tmp}/missing"], ["no such run folder"]),
    (["evaluate", "{tmp}"], ["not a run folder"]),
    (["train", "--out", "{tmp}", "--resume"], ["not a run folder"]),
    (["train", "--data-dir", "{toy}", "--latent", "0", "--out", "{tmp}/r"], ["latent"]),
    (["train", "--data-dir", "{toy}", "--arch", "conv", "--channels", "8", "8", "8", "8", "8",
      "8", "--out", "{tmp}/r"], ["too small"]),
    (["train", "--data-dir", "{toy}", "--device", "@cupy:7", "--out", "{tmp}/r"], ["device"]),
    (["train", "--data-dir", "{toy}", "--arch", "conv", "--step-made", "32", "--out",
      "{tmp}/r"], ["--step-made", "lstm, hier or mlp"]),
    (["train", "--data-dir", "{toy}", "--arch", "lstm", "--dropout", "1.5", "--out", "{tmp}/r"],
     ["--dropout", "[0, 1)"]),
    (["train", "--data-dir", "{toy}", "--weight-decay", "-1", "--out", "{tmp}/r"],
     ["--weight-decay", "[0, 1)", "-1"]),
    (["train", "--data-dir", "{toy}", "--weight-decay", "1e300", "--out", "{tmp}/r"],
     ["--weight-decay", "[0, 1)", "1e300"]),
    (["train", "--data-dir", "{toy}", "--decoder-hidden", "0", "--out", "{tmp}/r"],
     ["--decoder-hidden", "at least 1", "0"]),
    (["train", "--data-dir", "{toy}", "--arch", "conv", "--decoder-hidden", "8", "--out",
      "{tmp}/r"], ["--decoder-hidden", "needs the mlp decoder", "conv"]),
])
def test_user_errors_exit_2_with_one_line(toy_mnist, tmp_path, capsys, args, words):
    args = [a.format(tmp=tmp_path, toy=toy_mnist) for a in args] + ["--no-progress"]
    code, _, err = run_cli(capsys, *args)
    assert_one_line_error(code, err, *words)


def test_decoder_hidden_and_weight_decay_are_kept_in_the_run(toy_mnist, tmp_path, capsys):
    run = tmp_path / "asymmetric"
    code, _, _ = run_cli(capsys, "train", "--data-dir", toy_mnist, "--epochs", "1", "--hidden",
                         "32", "--decoder-hidden", "16", "8", "--latent", "3", "--weight-decay",
                         "1e-3", "--out", run, "--no-progress")
    assert code == 0
    config = json.loads((run / "config.json").read_text())
    assert (config["model"]["decoder_hidden"], config["train"]["weight_decay"]) == ([16, 8], 1e-3)
    saved = np.load(run / "model.npz")
    assert [saved[key].shape for key in ("encoder/trunk/0/W", "decoder/trunk/0/W",
                                         "decoder/trunk/1/W", "decoder/out/W")] == [
        (32, 784), (16, 3), (8, 16), (784, 8)]
    from chainer_vae.runs import load_run

    loaded = load_run(run, with_data=False)  # config.json alone rebuilds the decoder
    assert loaded.config.model.decoder_hidden == [16, 8]
    np.testing.assert_array_equal(loaded.model.decoder.out.W.array, saved["decoder/out/W"])
    code, out, _ = run_cli(capsys, "report", run)
    assert code == 0 and "32 (decoder 16 8)" in (run / "index.html").read_text()


def test_free_nats_and_their_old_name_free_bits_set_the_same_nats(toy_mnist, tmp_path,
                                                                     capsys):
    """--free-bits is --free-nats by its old name (nats, as it always took), with a warning
    saying so; the help shows --free-nats alone, in nats."""
    saved = {}
    for flag in ("--free-nats", "--free-bits"):
        run = tmp_path / flag
        code, _, err = run_cli(capsys, "train", "--data-dir", toy_mnist, "--limit", "60",
                               "--epochs", "1", "--hidden", "8", "--latent", "2", flag, "2.5",
                               "--out", run, "--no-progress")
        assert code == 0, err
        saved[flag] = json.loads((run / "config.json").read_text())["train"]["free_nats"]
        warned = [line for line in err.splitlines() if "--free-bits" in line]
        assert warned == ([] if flag == "--free-nats" else [
            "chainer-vae: warning: --free-bits 2.5 is 2.5 nats, not bits (MusicVAE's free_bits "
            "B is B x 0.693 nats); it is deprecated: write --free-nats 2.5"])
    assert saved == {"--free-nats": 2.5, "--free-bits": 2.5}
    assert cli.main(["train", "--help"]) == 0
    shown = " ".join(capsys.readouterr().out.split())
    assert "--free-nats NATS charge an example's KL only above this many nats" in shown
    assert "--free-bits" not in shown
    code, _, err = run_cli(capsys, "train", "--free-bits", "-1")
    assert_one_line_error(code, err, "--free-bits", "at least 0")


def test_module_entry_point_runs_as_a_program():
    done = subprocess.run([sys.executable, "-m", "chainer_vae.cli", "evaluate", "/nonexistent"],
                          capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip() == "chainer-vae evaluate: error: /nonexistent: no such run folder"


def test_sample_length_needs_lstm_parts(trained_run, tmp_path, capsys):
    code, _, err = run_cli(capsys, "sample", trained_run, "--out", tmp_path / "s",
                           "--length", "40")
    assert_one_line_error(code, err, "lstm", "mlp")


def test_mlp_decoder_with_made_trains_scores_and_draws_digits(toy_mnist, tmp_path, capsys):
    run = tmp_path / "made"
    code, _, _ = run_cli(capsys, "train", "--data-dir", toy_mnist, "--epochs", "1", "--hidden",
                         "32", "--latent", "3", "--step-made", "16", "--batch-size", "50",
                         "--out", run, "--no-progress")
    assert code == 0
    assert json.loads((run / "config.json").read_text())["model"]["step_made"] == 16
    code, out, _ = run_cli(capsys, "evaluate", run, "--iw-samples", "5", "--json",
                           "--no-progress")
    result = json.loads(out)
    assert code == 0 and result["elbo"] < result["log_likelihood"] < 0
    code, out, _ = run_cli(capsys, "sample", run, "--out", tmp_path / "s", "--n", "4",
                           "--bernoulli")
    assert code == 0
    assert sorted(path.suffix for path in (tmp_path / "s").iterdir()) == [".npz", ".png"]


def test_continuous_bernoulli_models_grey_levels_in_nats(toy_mnist, tmp_path, capsys):
    run = tmp_path / "grey"
    code, _, _ = run_cli(capsys, "train", "--data-dir", toy_mnist, "--epochs", "2", "--hidden",
                         "32", "--latent", "3", "--likelihood", "continuous-bernoulli",
                         "--out", run, "--no-progress")
    assert code == 0
    config = json.loads((run / "config.json").read_text())
    assert config["data"]["binarize"] == "none"  # grey levels, its only data
    code, out, _ = run_cli(capsys, "evaluate", run, "--iw-samples", "20", "--json",
                           "--no-progress")
    result = json.loads(out)
    # a density on [0, 1]^784: positive log densities are possible, the bound holds
    assert code == 0 and result["elbo"] < result["log_likelihood"]
    code, _, _ = run_cli(capsys, "sample", run, "--out", tmp_path / "s", "--n", "6")
    saved = np.load(tmp_path / "s" / "samples.npz")
    assert code == 0 and saved["means"].shape == (6, 784) and saved["z"].shape == (6, 3)
    assert "labels" not in saved.files
    from chainer_vae.runs import load_run

    model = load_run(run).model
    np.testing.assert_array_equal(model.decode(saved["z"]), saved["means"])
    code, _, err = run_cli(capsys, "sample", run, "--out", tmp_path / "b", "--bernoulli")
    assert_one_line_error(code, err, "--bernoulli", "continuous-bernoulli")
    assert not (tmp_path / "b").exists()


def test_a_conditional_run_samples_plots_and_scores_with_labels(toy_mnist, tmp_path, capsys):
    run = tmp_path / "labels"
    code, _, _ = run_cli(capsys, "train", "--data-dir", toy_mnist, "--epochs", "1", "--hidden",
                         "32", "--latent", "3", "--conditional", "--out", run, "--no-progress")
    assert code == 0
    code, out, _ = run_cli(capsys, "sample", run, "--out", tmp_path / "seven", "--n", "5",
                           "--label", "7")
    assert code == 0 and out.split() == [str(tmp_path / "seven" / name)
                                         for name in ("samples.png", "samples.npz")]
    saved = np.load(tmp_path / "seven" / "samples.npz")
    assert saved["labels"].tolist() == [7] * 5
    assert saved["label_names"].tolist() == [str(d) for d in range(10)]
    code, _, _ = run_cli(capsys, "sample", run, "--out", tmp_path / "all", "--n", "12")
    assert np.load(tmp_path / "all" / "samples.npz")["labels"].tolist() == [
        d % 10 for d in range(12)]
    code, _, _ = run_cli(capsys, "sample", run, "--out", tmp_path / "walk", "--interpolate",
                         "0", "1", "--steps", "4")
    walk = np.load(tmp_path / "walk" / "samples.npz")
    assert walk["means"].shape == (2, 4, 784) and walk["labels"].shape == (4, 10)
    np.testing.assert_allclose(walk["labels"].sum(axis=1), 1)
    code, out, _ = run_cli(capsys, "plot", run, "--out", tmp_path / "figures")
    names = {line.rsplit("/", 1)[-1] for line in out.split()}
    assert code == 0 and "samples_by_class.png" in names
    assert not names & {"prior_samples.png", "manifold.png"}
    code, out, _ = run_cli(capsys, "evaluate", run, "--iw-samples", "5", "--json",
                           "--no-progress")
    result = json.loads(out)
    assert code == 0 and result["elbo"] < result["log_likelihood"] < 0
