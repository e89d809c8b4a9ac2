"""Properties of ``chainer-vae``'s options, whatever values they hold (Hypothesis draws
them, derandomized so that CI tries the same ones every time):

- a value outside its option's range (``RULES``, written here from the help and the
  schema, not read from the code) is refused: exit 2, one line on stderr naming the
  option, nothing written;
- a value inside it, of a size a toy run can hold, is accepted: exit 0;
- any mix of values ends with exit 0, or exit 2 and one line, never a traceback; a mix
  whose values are all in range is refused only for how they combine (or the memory
  they ask), never as a bad value.
"""
from __future__ import annotations

import contextlib
import io
import math
from dataclasses import dataclass
from typing import Optional

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chainer_vae  # noqa: F401

from chainer_vae import cli

pytestmark = pytest.mark.slow  # a few minutes of generated runs
SETTINGS = settings(max_examples=30, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])
# Values a hostile user types: signs, zero, huge, not numbers, not finite.
NUMBERS = st.one_of(st.integers(-10 ** 12, 10 ** 12).map(str),
                    st.floats(allow_nan=True, allow_infinity=True).map(repr),
                    st.sampled_from(["0", "-1", "1e309", "nan", "-inf", "abc", "", "0x10", "1_0",
                                     "1.5", "4294967295", "4294967296"]))
# Options whose size sets the work, not the memory: small, so every example ends soon.
SMALL = st.integers(1, 2).map(str)


@dataclass(frozen=True)
class Rule:
    """The values an option takes: ``kind`` (int or float, as Python reads the text),
    finite, from ``low`` to ``high`` (None: unbounded), an ``open`` end excluded."""

    kind: type
    low: Optional[float] = None
    high: Optional[float] = None
    low_open: bool = False
    high_open: bool = False

    def accepts(self, text):
        try:
            value = self.kind(text)
        except ValueError:
            return False
        if not math.isfinite(value):
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return self.high is None or (value < self.high if self.high_open else value <= self.high)


COUNT, INDEX, SEED = Rule(int, 1), Rule(int, 0), Rule(int, 0, 2 ** 32 - 1)
POSITIVE, NON_NEGATIVE, FRACTION = Rule(float, 0, low_open=True), Rule(float, 0), \
    Rule(float, 0, 1, high_open=True)
RULES = {
    "train": {"--latent": COUNT, "--hidden": COUNT, "--channels": COUNT, "--sigma": POSITIVE,
              "--step-made": INDEX, "--dropout": FRACTION, "--batch-size": COUNT,
              "--lr": POSITIVE, "--k": COUNT, "--beta": NON_NEGATIVE,
              "--kl-warmup": NON_NEGATIVE, "--seed": SEED, "--snapshot-every": COUNT,
              "--keep-snapshots": COUNT, "--average": FRACTION, "--limit": COUNT,
              "--valid-fraction": FRACTION, "--classes": Rule(int, 0, 9),
              "--train-per-class": COUNT, "--max-minutes": NON_NEGATIVE,
              "--decoder-hidden": COUNT, "--weight-decay": FRACTION,
              "--free-nats": NON_NEGATIVE, "--free-bits": NON_NEGATIVE},
    "evaluate": {"--limit": COUNT, "--batch-size": COUNT, "--seed": SEED,
                 "--iw-samples": COUNT},
    "sample": {"--temperature": Rule(float, 0, 100, low_open=True),
               "--distance": Rule(float, 0, 100), "--prior-scale": Rule(float, 0, 100),
               "--threshold": Rule(float, 0, 1), "--from-test": INDEX,
               "--steps": Rule(int, 2), "--seed": SEED, "--n": COUNT},
}


def test_the_rules_know_a_value_when_they_see_one():
    """The oracle itself: a test of the tests."""
    assert [COUNT.accepts(text) for text in ("1", "0", "1.0", "1_0", "abc", "")] == [
        True, False, False, True, False, False]
    assert [FRACTION.accepts(text) for text in ("0", "0.999", "1", "nan", "-0.0", "1e-300")] == [
        True, True, False, False, True, True]
    assert [POSITIVE.accepts(text) for text in ("0", "-0.0", "5e-324", "inf")] == [
        False, False, True, False]
    assert [SEED.accepts(text) for text in ("4294967295", "4294967296", "-1")] == [
        True, False, False]


def run(argv):
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        code = cli.main(argv)
    return code, stderr.getvalue()


def check(code, err, command, options):
    """Exit 0, or exit 2 and one line; exit 2 naming one of the options whose value is
    out of range when there is one, and never a value error when there is none."""
    assert "Traceback" not in err, err
    assert code in (0, 2), (code, err)
    refused = [option for option, value in options.items()
               if not RULES[command][option].accepts(value)]
    if refused:
        assert code == 2, (options, err)
    if code == 2:
        # one error line; a warning may come before it (--free-bits, once the options
        # are sound, warns that it is nats)
        lines = [line for line in err.strip().splitlines()
                 if not line.startswith("chainer-vae: warning: --free-bits")]
        assert len(lines) == 1, err
        error = lines[0]
        assert error.startswith("chainer-vae {}: error: ".format(command)), error
        if refused:
            assert any("argument {}:".format(option) in error for option in refused), error
        else:
            assert "error: argument" not in error, (options, error)


def train_argv(toy_mnist, out, arch, options, epochs="1", select="last"):
    argv = ["train", "--data-dir", str(toy_mnist), "--out", str(out), "--epochs", epochs,
            "--arch", arch, "--select", select, "--no-progress"]
    for option, value in options.items():
        argv += [option, value]
    if "--limit" not in options:
        argv += ["--limit", "60"]
    return argv


@SETTINGS
@given(options=st.dictionaries(st.sampled_from(sorted(RULES["train"])), NUMBERS, max_size=3),
       arch=st.sampled_from(["mlp", "conv", "lstm"]), select=st.sampled_from(["last", "valid"]),
       epochs=SMALL)
def test_train_with_any_option_values(toy_mnist, tmp_path_factory, options, arch, select,
                                      epochs):
    out = tmp_path_factory.mktemp("train") / "run"
    code, err = run(train_argv(toy_mnist, out, arch, options, epochs, select))
    check(code, err, "train", options)
    if code == 2 and any(not RULES["train"][option].accepts(value)
                         for option, value in options.items()):
        assert not out.exists()  # refused before any work


def floats(low, high):
    return st.floats(low, high, allow_nan=False, allow_infinity=False).map(repr)


def ints(low, high):
    return st.integers(low, high).map(str)


# Values in range that a toy run must accept (one epoch on the first 60 of the toy data's
# 30 training digits per class), and the options each architecture takes (--dropout:
# the lstm decoder; --decoder-hidden: the mlp one; --step-made: not the conv one).
IN_RANGE = {"--latent": ints(1, 8), "--hidden": ints(1, 16), "--channels": ints(1, 8),
            "--sigma": floats(1e-3, 1e3), "--step-made": ints(0, 8),
            "--dropout": floats(0, 0.99), "--batch-size": ints(1, 100),
            "--lr": floats(1e-6, 1e-2), "--k": ints(1, 4), "--beta": floats(0, 10),
            "--kl-warmup": floats(0, 1e6), "--seed": ints(0, 2 ** 32 - 1),
            "--snapshot-every": ints(1, 10 ** 9), "--keep-snapshots": ints(1, 10 ** 9),
            "--average": floats(0, 0.999), "--limit": ints(20, 10 ** 9),
            "--valid-fraction": floats(0, 0.5), "--classes": ints(0, 9),
            "--train-per-class": ints(1, 30), "--max-minutes": floats(0, 1e9),
            "--decoder-hidden": ints(1, 16), "--weight-decay": floats(0, 0.5),
            "--free-nats": floats(0, 1e3)}
FOR_ARCH = {"mlp": sorted(set(IN_RANGE) - {"--dropout"}),
            "conv": sorted(set(IN_RANGE) - {"--dropout", "--decoder-hidden", "--step-made"}),
            "lstm": sorted(set(IN_RANGE) - {"--decoder-hidden"})}


@st.composite
def accepted_train_options(draw):
    arch = draw(st.sampled_from(sorted(FOR_ARCH)))
    names = draw(st.lists(st.sampled_from(FOR_ARCH[arch]), unique=True, max_size=3))
    return arch, {name: draw(IN_RANGE[name]) for name in names}


@SETTINGS
@given(drawn=accepted_train_options())
def test_train_accepts_every_value_in_range(toy_mnist, tmp_path_factory, drawn):
    arch, options = drawn
    assert all(RULES["train"][option].accepts(value) for option, value in options.items())
    out = tmp_path_factory.mktemp("accepted") / "run"
    code, err = run(train_argv(toy_mnist, out, arch, options))
    assert code == 0, (arch, options, err)
    assert (out / "model.npz").is_file()


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
    code, err = run(argv)
    check(code, err, "evaluate", options)
    if split == "test" and all(RULES["evaluate"][option].accepts(value)
                               for option, value in options.items()):
        # sizes up to 10**12: a batch larger than the split is the split
        assert code == 0, (options, err)


@SETTINGS
@given(options=st.dictionaries(st.sampled_from(["--temperature", "--prior-scale", "--threshold",
                                                "--from-test", "--steps", "--seed", "--n"]),
                               NUMBERS, max_size=3),
       bernoulli=st.booleans())
def test_sample_with_any_option_values(trained, tmp_path_factory, options, bernoulli):
    out = tmp_path_factory.mktemp("sample")
    argv = ["sample", str(trained), "--out", str(out / "s")]
    for option, value in options.items():
        if option == "--n":  # the number of files written: any value a user means is fine
            value = options[option] = (value if not value.lstrip("-").isdigit()
                                       or int(value) < 50 else "3")
        argv += [option, value]
    code, err = run(argv + (["--bernoulli"] if bernoulli else []))
    check(code, err, "sample", options)
    in_range = all(RULES["sample"][option].accepts(value) for option, value in options.items())
    if in_range and int(options.get("--from-test", "0").replace("_", "")) < 100:
        assert code == 0, (options, err)  # the toy run has 100 test digits
    if code == 2:
        assert not (out / "s").exists()


# Values at and beyond the bounds (--temperature: (0, 100], --distance: [0, 100]).
SPREADS = st.one_of(NUMBERS, st.sampled_from(["100", "100.0000001", "99.99", "1e39", "1e308"]),
                    st.floats(0, 1e6).map(repr))


@SETTINGS
@given(temperature=SPREADS, distance=SPREADS)
def test_spreads_at_and_beyond_their_bounds(trained, tmp_path_factory, temperature, distance):
    out = tmp_path_factory.mktemp("spread") / "s"
    options = {"--temperature": temperature, "--distance": distance}
    code, err = run(["sample", str(trained), "--out", str(out), "--n", "2", "--vary", "0",
                     "--temperature", temperature, "--distance", distance])
    check(code, err, "sample", options)
    if code == 0:
        saved = np.load(out / "samples.npz")
        assert all(np.isfinite(saved[key]).all() for key in saved.files)
    else:
        assert not out.exists()
    assert (code == 0) == all(RULES["sample"][option].accepts(value)
                              for option, value in options.items())
