"""Property: whatever values its options hold, ``chainer-vae`` ends with exit 0, or exit 2
and one line on stderr, never a traceback (Hypothesis draws the values, derandomized so
that CI tries the same ones every time)."""
from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chainer_vae  # noqa: F401

from chainer_vae import cli

pytestmark = pytest.mark.slow  # a minute of generated runs
SETTINGS = settings(max_examples=30, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])
# Values a hostile user types: signs, zero, huge, not numbers, not finite.
NUMBERS = st.one_of(st.integers(-10 ** 12, 10 ** 12).map(str),
                    st.floats(allow_nan=True, allow_infinity=True).map(repr),
                    st.sampled_from(["0", "-1", "1e309", "nan", "-inf", "abc", "", "0x10", "1_0"]))
# Options whose size sets the work, not the memory: small, so every example ends soon.
SMALL = st.integers(1, 2).map(str)


def run(argv):
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        code = cli.main(argv)
    return code, stderr.getvalue()


def check(code, err):
    assert "Traceback" not in err, err
    assert code in (0, 2), (code, err)
    if code == 2:
        assert len(err.strip().splitlines()) == 1, err


TRAIN_OPTIONS = ["--latent", "--hidden", "--channels", "--sigma", "--step-made", "--dropout",
                 "--batch-size", "--lr", "--k", "--beta", "--kl-warmup", "--seed",
                 "--snapshot-every", "--keep-snapshots", "--average", "--limit",
                 "--valid-fraction", "--classes", "--train-per-class", "--max-minutes",
                 "--decoder-hidden", "--weight-decay"]


@SETTINGS
@given(options=st.dictionaries(st.sampled_from(TRAIN_OPTIONS), NUMBERS, max_size=3),
       arch=st.sampled_from(["mlp", "conv", "lstm"]), select=st.sampled_from(["last", "valid"]),
       epochs=SMALL)
def test_train_with_any_option_values(toy_mnist, tmp_path_factory, options, arch, select,
                                      epochs):
    out = tmp_path_factory.mktemp("train") / "run"
    argv = ["train", "--data-dir", str(toy_mnist), "--out", str(out), "--epochs", epochs,
            "--arch", arch, "--select", select, "--no-progress"]
    for option, value in options.items():
        argv += [option, value]
    if "--limit" not in options:
        argv += ["--limit", "60"]
    check(*run(argv))


@pytest.fixture(scope="module")
def trained(toy_mnist, tmp_path_factory):
    out = tmp_path_factory.mktemp("trained") / "run"
    assert run(["train", "--data-dir", str(toy_mnist), "--out", str(out), "--epochs", "1",
                "--hidden", "8", "--latent", "2", "--no-progress"])[0] == 0
    return out


@SETTINGS
@given(options=st.dictionaries(st.sampled_from(["--limit", "--batch-size", "--seed"]), NUMBERS,
                               max_size=3),
       iw_samples=SMALL, split=st.sampled_from(["test", "valid"]))
def test_evaluate_with_any_option_values(trained, options, iw_samples, split):
    argv = ["evaluate", str(trained), "--iw-samples", iw_samples, "--split", split, "--json",
            "--no-progress"]
    for option, value in options.items():
        argv += [option, value]
    check(*run(argv))


@SETTINGS
@given(options=st.dictionaries(st.sampled_from(["--temperature", "--threshold", "--from-test",
                                                "--steps", "--seed", "--n"]),
                               NUMBERS, max_size=3),
       bernoulli=st.booleans())
def test_sample_with_any_option_values(trained, tmp_path_factory, options, bernoulli):
    out = tmp_path_factory.mktemp("sample")
    argv = ["sample", str(trained), "--out", str(out / "s")]
    for option, value in options.items():
        if option == "--n":  # the number of files written: any value a user means is fine
            value = value if not value.lstrip("-").isdigit() or int(value) < 50 else "3"
        argv += [option, value]
    code, err = run(argv + (["--bernoulli"] if bernoulli else []))
    check(code, err)
    if code == 2:
        assert not (out / "s").exists()


# Values at and beyond the bounds of the spreads (--temperature, --distance: [0, 100]).
SPREADS = st.one_of(NUMBERS, st.sampled_from(["100", "100.0000001", "99.99", "1e39", "1e308"]),
                    st.floats(0, 1e6).map(repr))


@SETTINGS
@given(temperature=SPREADS, distance=SPREADS)
def test_spreads_at_and_beyond_their_bounds(trained, tmp_path_factory, temperature, distance):
    out = tmp_path_factory.mktemp("spread") / "s"
    code, err = run(["sample", str(trained), "--out", str(out), "--n", "2", "--vary", "0",
                     "--temperature", temperature, "--distance", distance])
    check(code, err)
    if code == 0:
        saved = np.load(out / "samples.npz")
        assert all(np.isfinite(saved[key]).all() for key in saved.files)
    else:
        assert not out.exists()
