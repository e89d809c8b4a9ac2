"""Data-parallel training and evaluation with ChainerMN over MPI ranks
(``chainer_vae.training.distributed.mpi``).

The MPI tests launch ``mpiexec -n 2`` on the CPU (``naive`` communicator) and skip when
no ``mpiexec`` or no mpi4py is found, unless ``CHAINER_VAE_REQUIRE_MPI=1`` (set in CI),
which makes that a failure. Rank 0 and rank 1 run in different working folders with a
relative ``--out``, so anything rank 1 wrote would land in its own folder.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import chainer_vae  # noqa: F401

from chainer_vae import training
from chainer_vae.config import RunConfig
from chainer_vae.errors import ConfigError
from chainer_vae.inference.evaluation import evaluate
from chainer_vae.training.distributed import for_communicator, snapshot_ranks
from tiny_models import read_log, toy_config

REQUIRE_ENV = "CHAINER_VAE_REQUIRE_MPI"
EPOCHS = 10
# A 2-rank run with batch 50 per rank against one process with batch 100 (the same
# effective batch and learning rate): final test loss within this fraction. Measured on the
# toy digits after 10 epochs: about 1-2 %; runs of one process with other seeds spread as
# much (the loss is still falling fast, about 10 nats an epoch).
ELBO_TOLERANCE = 0.03


def _mpi_problem():
    """Why the MPI tests cannot run here, or None."""
    if shutil.which("mpiexec") is None:
        return "no mpiexec on PATH (Debian: apt-get install openmpi-bin libopenmpi-dev)"
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return "mpi4py is not installed (pip install '.[mpi]')"
    return None


@pytest.fixture(scope="module")
def mpi():
    problem = _mpi_problem()
    if problem is not None:
        if os.environ.get(REQUIRE_ENV, "") not in ("", "0"):
            pytest.fail("{}=1 but the MPI tests cannot run: {}".format(REQUIRE_ENV, problem))
        pytest.skip(problem)
    return _mpiexec_prefix()


def _mpiexec_prefix():
    version = subprocess.run(["mpiexec", "--version"], capture_output=True, text=True)
    prefix = ["mpiexec"]
    if "Open MPI" in version.stdout + version.stderr or "OpenRTE" in version.stdout:
        prefix.append("--oversubscribe")
        if os.geteuid() == 0:
            prefix.append("--allow-run-as-root")
    return prefix


def run_mpi(prefix, args, wdirs, env=None, timeout=400):
    """``chainer-vae args`` on len(wdirs) ranks, rank r in ``wdirs[r]``; returns
    (stdout, stderr)."""
    command = list(prefix)
    for rank, wdir in enumerate(wdirs):
        Path(wdir).mkdir(parents=True, exist_ok=True)
        if rank:
            command.append(":")
        command += ["-n", "1", "-wdir", str(wdir), sys.executable, "-m", "chainer_vae.cli"]
        command += [str(arg) for arg in args]
    full_env = dict(os.environ, OMP_NUM_THREADS="1", **(env or {}))
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=full_env, start_new_session=True)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        pytest.fail("mpiexec timed out after {} s\n{}\n{}".format(timeout, out, err[-3000:]))
    assert process.returncode == 0, "{}\n{}".format(out, err[-3000:])
    return out, err


def train_args(data_dir, epochs, *extra):
    return ["train", "--data-dir", data_dir, "--hidden", 64, "--latent", 4,
            "--batch-size", 50, "--epochs", epochs, "--binarize", "dynamic",
            "--kl-warmup", 2, "--communicator", "naive", "--no-progress", "--out", "run",
            *extra]


def parameters(path):
    with np.load(path) as saved:
        return {key: saved[key] for key in saved.files}


@pytest.fixture(scope="module")
def two_rank_run(mpi, toy_mnist, tmp_path_factory):
    """A 2-rank run of EPOCHS epochs with the parameter check on:
    (rank folders, (stdout, stderr))."""
    base = tmp_path_factory.mktemp("mpi_whole")
    wdirs = [base / "rank0", base / "rank1"]
    out = run_mpi(mpi, train_args(toy_mnist, EPOCHS), wdirs,
                  env={"CHAINER_VAE_CHECK_SYNC": "1"})
    return wdirs, out


@pytest.mark.slow
def test_two_ranks_keep_equal_parameters_and_only_rank_0_writes(two_rank_run):
    (rank0, rank1), (out, err) = two_rank_run
    iterations = EPOCHS * 300 // (2 * 50)
    assert ("parameters identical on all 2 ranks after each of {} updates".format(iterations)
            in err)
    run = rank0 / "run"
    for name in ("config.json", "model.npz", "log", "loss.png", "latents.npz",
                 "snapshot_epoch_{}".format(EPOCHS)):
        assert (run / name).is_file(), name
    assert out.count("trained model written to") == 1  # rank 0 alone prints
    assert list(rank1.iterdir()) == []  # rank 1 wrote nothing
    assert snapshot_ranks(run / "snapshot_epoch_{}".format(EPOCHS)) == 2
    log = read_log(run)
    assert [entry["iteration"] for entry in log][-1] == iterations


@pytest.mark.slow
def test_two_ranks_match_one_process_with_the_same_effective_batch(two_rank_run, toy_mnist,
                                                                   tmp_path):
    (rank0, _), _ = two_rank_run
    config = toy_config(toy_mnist, epochs=EPOCHS, kl_warmup=2.0)
    config.data.binarize = "dynamic"
    config.train.batch_size = 100  # = 2 ranks x 50
    training.train(config, tmp_path / "one", progress=False)
    one = read_log(tmp_path / "one")[-1]["validation/main/loss"]
    two = read_log(rank0 / "run")[-1]["validation/main/loss"]
    assert abs(two - one) <= ELBO_TOLERANCE * abs(one), (one, two)


@pytest.mark.slow
def test_resumed_two_rank_run_ends_with_the_same_parameters(two_rank_run, mpi, toy_mnist,
                                                            tmp_path):
    (whole, _), _ = two_rank_run
    wdirs = [tmp_path / "rank0", tmp_path / "rank1"]
    run_mpi(mpi, train_args(toy_mnist, 1), wdirs)
    # Rank 1 has no run folder: it gets the config and the snapshot from rank 0.
    run_mpi(mpi, ["train", "--out", "run", "--resume", "--epochs", EPOCHS,
                  "--communicator", "naive", "--no-progress"], wdirs)
    assert list(wdirs[1].iterdir()) == []
    expected, got = parameters(whole / "run" / "model.npz"), parameters(
        wdirs[0] / "run" / "model.npz")
    for key in expected:
        np.testing.assert_array_equal(got[key], expected[key], err_msg=key)
    def scores(run):
        return [(e["epoch"], e["main/loss"], e["validation/main/loss"]) for e in read_log(run)]
    assert scores(wdirs[0] / "run") == scores(whole / "run")

    # A single process refuses the 2-rank snapshot rather than resuming it wrongly.
    config = RunConfig.load(wdirs[0] / "run")
    with pytest.raises(ConfigError, match="2 ranks"):
        training.train(config, wdirs[0] / "run", resume="latest", progress=False)


@pytest.mark.slow
def test_evaluate_over_two_ranks_equals_one_process(two_rank_run, mpi, tmp_path):
    (rank0, _), _ = two_rank_run
    run = rank0 / "run"
    out, _ = run_mpi(mpi, ["evaluate", run, "--iw-samples", 20, "--batch-size", 30, "--json",
                        "--communicator", "naive", "--no-progress"],
                  [tmp_path / "rank0", tmp_path / "rank1"])
    lines = [line for line in out.splitlines() if line.startswith("{")]
    assert len(lines) == 1  # rank 0 alone prints
    two = json.loads(lines[0])
    one = evaluate(run, iw_samples=20, batch_size=30, progress=False).to_dict()
    assert two["n"] == one["n"] == 100
    # Batch i draws from its own seed wherever it is scored: equal up to float32 rounding
    # (the ranks run BLAS on one thread each; measured 1e-9 relative).
    np.testing.assert_allclose(two["elbo"], one["elbo"], rtol=1e-6)
    np.testing.assert_allclose(two["log_likelihood"], one["log_likelihood"], rtol=1e-6)


def test_unknown_communicator_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown communicator"):
        for_communicator("carrier_pigeon")
