"""The Trainer extensions of a multi-rank run (``chainer_vae.training.distributed.extensions``),
driven through stand-in communicators, without MPI.

(Named apart from a ``test_extensions.py`` of ``chainer_vae.training.extensions``: the
test folders are not packages, so their files' names must differ.)
"""
import numpy as np
import pytest

import chainer_vae  # noqa: F401
import chainer

from chainer_vae.data.iterators import BatchIterator
from chainer_vae.errors import ConfigError
from chainer_vae.training.distributed import RanksOutOfSync, SyncCheck, snapshot_ranks
from chainer_vae.training.distributed.extensions import RankStateKeeper


class _FakeMPI:
    def __init__(self, digests):
        self._digests = digests

    def allgather(self, value):
        return self._digests(value)


class _FakeComm:
    rank, size = 0, 2

    def __init__(self, digests):
        self.mpi_comm = _FakeMPI(digests)


class _FakeTrainer:
    class updater:
        iteration = 3


def test_sync_check_notices_ranks_that_differ():
    link = chainer.links.Linear(3, 2)
    same = SyncCheck(_FakeComm(lambda mine: [mine, mine]), link)
    same(_FakeTrainer)
    assert same.checked == 1
    differ = SyncCheck(_FakeComm(lambda mine: [mine, "0" * 40]), link)
    with pytest.raises(RanksOutOfSync, match="iteration 3"):
        differ(_FakeTrainer)


class _Ranks:
    """Rank ``rank`` of ``size``; ``gather_obj`` gives this rank's object, then ``others``."""

    def __init__(self, rank, size, others=()):
        self.rank, self.size = rank, size
        self._others = list(others)

    def gather_obj(self, mine):
        return [mine] + self._others


def _iterator():
    return BatchIterator(np.arange(10, dtype=np.float32), 3, shuffle=False)


def test_rank_state_keeper_gives_each_rank_its_own_state_back():
    np.random.seed(2)
    visited = _iterator()
    next(visited)  # rank 1 is one batch into its shard
    rank1 = RankStateKeeper(_Ranks(1, 2), visited)._local_state()
    np.random.seed(1)
    keeper = RankStateKeeper(_Ranks(0, 2, [rank1]), _iterator())
    keeper(None)
    saved = chainer.serializers.DictionarySerializer()
    keeper.serialize(saved)
    snapshot = {"extensions/random_state/" + key: value for key, value in saved.target.items()}
    assert snapshot_ranks(snapshot) == 2 and snapshot_ranks({}) == 1

    np.random.seed(99)
    resumed = _iterator()
    RankStateKeeper(_Ranks(1, 2), resumed).serialize(
        chainer.serializers.NpzDeserializer(saved.target))
    assert np.random.rand() == np.random.RandomState(2).rand()
    assert resumed.current_position == visited.current_position == 3

    with pytest.raises(ConfigError, match="2 rank"):
        RankStateKeeper(_Ranks(0, 3), _iterator()).serialize(
            chainer.serializers.NpzDeserializer(saved.target))

