"""The single process (``chainer_vae.training.distributed.single``): every part of a run
left as it is, behind the interface of the MPI ranks."""
import inspect

import numpy as np
import pytest

import chainer_vae  # noqa: F401
import chainer

from chainer_vae.errors import ConfigError
from chainer_vae.training.distributed import MPIRanks, SingleProcess, for_communicator
from chainer_vae.training.distributed.extensions import RANKS_KEY


def test_no_communicator_is_the_single_process():
    assert isinstance(for_communicator(None), SingleProcess)


def test_single_process_changes_nothing():
    single = SingleProcess()
    assert single.rank == 0 and single.size == 1 and single.intra_rank == 0
    assert single.is_writer and single.name is None
    data = np.arange(5)
    assert single.scatter(data, shuffle=True, seed=0) is data
    optimizer = chainer.optimizers.Adam()
    assert single.optimizer(optimizer) is optimizer
    evaluator = object()
    assert single.evaluator(evaluator) is evaluator
    assert single.extensions(optimizer) == {} and single.rank_state_keeper(None) is None
    assert single.device_spec("@numpy") == "@numpy" and single.seed(7) == 7
    assert single.trainer_out("run") == "run"
    assert single.root_value(lambda: 42) == 42
    with single.root_first():
        pass
    total = single.sum([1.0, 2.0])
    assert total.dtype == np.float64
    np.testing.assert_array_equal(total, [1.0, 2.0])
    single.abort(2)  # returns: there is no other rank to end


def test_single_process_refuses_a_snapshot_of_several_ranks():
    def locate():
        return "snapshot_epoch_1", {RANKS_KEY: np.array(2)}

    with pytest.raises(ConfigError, match="snapshot_epoch_1 was written by a run of 2 ranks"):
        SingleProcess().load_snapshot(None, locate)


class _Comm:
    """What ``MPIRanks`` reads of a communicator without calling it."""
    rank, size, intra_rank = 1, 2, 1


def _interface(instance):
    """{public name: signature, or the kind of a plain attribute}."""
    found = {}
    for name in dir(instance):
        if name.startswith("_"):
            continue
        value = getattr(instance, name)
        found[name] = inspect.signature(value) if callable(value) else type(value).__name__
    return found


def test_single_process_and_mpi_ranks_share_one_interface():
    single = _interface(SingleProcess())
    ranks = _interface(MPIRanks(_Comm(), "naive"))
    ranks.pop("comm")
    ranks.pop("create")  # the constructor from a communicator name
    assert set(single) == set(ranks)
    for name, kind in single.items():
        if name != "name":  # None without a communicator
            assert ranks[name] == kind, name
