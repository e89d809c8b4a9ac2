"""``study --claims``: every claim gets a row on toy digits (the music rows say they need
their data), and a data root without MNIST is one line, exit 2."""
from __future__ import annotations

import json

import pytest

import chainer_vae  # noqa: F401  (before chainer)
from chainer_vae import claims, cli
from chainer_vae.claims import ClaimsPlan, run_claims
from chainer_vae.study import StudyPlan


def _toy_plan(epochs):
    """Claims on the toy digits in seconds: every digit, one linear k, a logistic judge."""
    study = StudyPlan.smoke()
    study.mnist_epochs, study.mnist_lr = epochs, 1e-2
    return ClaimsPlan(study=study, train_per_class=None, test_per_class=None,
                      linear_latents=(2,), classifier="logistic", samples=50,
                      test_digits=100)


def test_every_claim_has_a_row_on_toy_digits(toy_mnist, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CHAINER_VAE_DATA", str(toy_mnist.parent))
    plan = _toy_plan(epochs=2)
    rows = run_claims(tmp_path, plan)
    assert sorted({row.claim for row in rows}) == [1, 2, 3, 4, 5, 6, 7]
    measured = [row for row in rows if row.holds is not None]
    assert all(isinstance(row.holds, bool) and row.measured for row in measured)
    assert [row.claim for row in rows if row.holds is None] == [2, 3]  # no bach_lute
    separation = rows[0].numbers["curve"]
    assert len(separation) == 3  # epoch 0 (untrained) and two epochs
    table = (tmp_path / "claims" / "claims.md").read_text()
    assert "test accuracy 100.00%" in table  # the toy digits are bars
    assert len(json.loads((tmp_path / "claims" / "claims.json").read_text())) == len(rows)
    # a second call reads the finished runs instead of training them again
    capsys.readouterr()
    again = run_claims(tmp_path, plan)
    out = capsys.readouterr().out
    assert "main/loss" not in out  # no epoch trained
    assert out.count("read again, not retrained") == out.count("-> ") > 0
    assert [row.measured for row in again] == [row.measured for row in rows]


def test_claims_without_mnist_are_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CHAINER_VAE_DATA", str(tmp_path / "empty"))
    assert cli.main(["study", "--claims", "--preset", "smoke", "--out",
                     str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "needs MNIST" in err and "mnist" in err


def test_the_mnist_claims_table_is_written_before_the_music_runs(toy_mnist, tmp_path,
                                                                  monkeypatch):
    monkeypatch.setenv("CHAINER_VAE_DATA", str(toy_mnist.parent))
    plan = _toy_plan(epochs=1)

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(claims, "music_claims", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_claims(tmp_path, plan)
    table = (tmp_path / "claims" / "claims.md").read_text()
    assert "still running" in table
    written = json.loads((tmp_path / "claims" / "claims.json").read_text())
    assert sorted({row["claim"] for row in written}) == [1, 2, 4, 5, 6, 7]
