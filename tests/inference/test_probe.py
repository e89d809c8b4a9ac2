"""chainer-vae probe: a classifier on the latent means of a few labelled examples."""
import json

import numpy as np
import pytest

import chainer_vae  # noqa: F401

from chainer_vae import cli
from chainer_vae.inference.probe import balanced_draw, probe


def run_cli(capsys, *args):
    code = cli.main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def trained(toy_mnist, tmp_path_factory):
    out = tmp_path_factory.mktemp("probe") / "run"
    assert cli.main(["train", "--data-dir", str(toy_mnist), "--epochs", "3", "--hidden", "64",
                     "--latent", "4", "--batch-size", "50", "--out", str(out),
                     "--no-progress"]) == 0
    return out


def test_balanced_draw_takes_as_many_of_each_class():
    labels = np.repeat(np.arange(4), [10, 10, 10, 3])
    chosen = balanced_draw(labels, 20, np.random.RandomState(0))
    assert len(chosen) == len(set(chosen)) == 20
    counts = np.bincount(labels[chosen], minlength=4)
    assert counts[3] == 3 and counts[:3].min() >= 5  # the small class gives all it has


def test_toy_digits_are_told_apart_from_their_latent_means(trained):
    """The toy digits are bars at ten heights: a few labels separate their encodings."""
    results = probe(trained, labels=[10, 50], repeats=3)
    assert [result.labels for result in results] == [10, 50]
    assert all(len(result.errors) == 3 for result in results)
    assert results[1].mean < 0.2  # chance is 0.9
    knn = probe(trained, labels=[50], repeats=2, classifier="knn", neighbours=3)
    assert knn[0].classifier == "knn" and knn[0].mean < 0.3
    spread = probe(trained, labels=[50], repeats=2, classifier="spreading", neighbours=20)
    assert spread[0].mean < 0.1  # the unlabelled digits carry the labels to the rest
    again = probe(trained, labels=[10, 50], repeats=3)
    assert [r.errors for r in again] == [r.errors for r in results]  # the same draws


def test_probe_command_prints_a_table_or_json(trained, capsys):
    code, out, _ = run_cli(capsys, "probe", trained, "--labels", "20", "--repeats", "2",
                           "--json", "--no-progress")
    assert code == 0
    (result,) = json.loads(out)
    assert result["labels"] == 20 and len(result["errors"]) == 2
    assert result["mean"] == pytest.approx(np.mean(result["errors"]))
    code, out, _ = run_cli(capsys, "probe", trained, "--labels", "20", "--repeats", "2")
    assert code == 0 and "test error (logistic" in out and out.strip().splitlines()[1].split()[0] == "20"


@pytest.mark.parametrize("args,words", [
    (["--labels", "301"], ["--labels 301", "300 examples"]),
    (["--labels", "5"], ["fewer labels than the 10 classes"]),
    (["--labels", "0"], ["--labels", "at least 1"]),
    (["--classifier", "svm"], ["--classifier"]),
])
def test_bad_probes_are_one_line(trained, capsys, args, words):
    code, _, err = run_cli(capsys, "probe", trained, *args)
    assert code == 2 and len(err.strip().splitlines()) == 1
    for word in words:
        assert word in err


def test_probe_needs_labels(tmp_path, capsys):
    from midi_factories import write_mat

    write_mat(tmp_path / "polyphonic" / "JSB_Chorales.mat")
    run = tmp_path / "jsb"
    assert cli.main(["train", "--dataset", "jsb", "--data-dir", str(tmp_path / "polyphonic"),
                     "--arch", "lstm", "--hidden", "4", "--latent", "2", "--window", "4",
                     "--epochs", "1", "--out", str(run), "--no-progress"]) == 0
    capsys.readouterr()
    code, _, err = run_cli(capsys, "probe", run, "--labels", "4")
    assert code == 2 and "needs labelled data" in err


def test_probe_refuses_a_conditional_run(toy_mnist, tmp_path, capsys):
    run = tmp_path / "conditional"
    assert cli.main(["train", "--data-dir", str(toy_mnist), "--epochs", "1", "--hidden", "8",
                     "--latent", "2", "--conditional", "--out", str(run), "--no-progress"]) == 0
    capsys.readouterr()
    code, _, err = run_cli(capsys, "probe", run, "--labels", "10")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "trained with --conditional" in err
