"""The Trainer extensions every rank of a multi-rank run adds (``MPIRanks.extensions`` and
``MPIRanks.rank_state_keeper``), and what a snapshot says of the ranks that wrote it.

Each talks to the other ranks through a ChainerMN communicator ``comm``; none is used by a
single process.
"""
from __future__ import annotations

import hashlib
import sys

import chainer
import numpy
from chainer import training

from chainer_vae.errors import ChainerVAEError, ConfigError
from chainer_vae.files import read_arrays
from chainer_vae.runs import serialize_random_state

RANKS_KEY = "extensions/random_state/ranks"  # where RankStateKeeper's count lands


class RanksOutOfSync(ChainerVAEError, RuntimeError):
    """The parameters differ between ranks (seen by the ``CHAINER_VAE_CHECK_SYNC`` check)."""


def snapshot_ranks(snapshot):
    """How many ranks wrote a snapshot (a path, or its arrays); 1 for a single process."""
    arrays = snapshot if isinstance(snapshot, dict) else read_arrays(snapshot, "snapshot")
    return int(arrays[RANKS_KEY]) if RANKS_KEY in arrays else 1


class SynchronizeParameters(training.Extension):
    """Before training (and after a resume): rank 0's parameters go to every rank, and
    the multi-node optimizer is told so, so that its first step is an update.

    (Left to itself ChainerMN's optimizer spends its first ``update`` on this broadcast and
    skips that step's update, which would also happen again after every resume.)
    """

    trigger = 1, "epoch"

    def __init__(self, comm, optimizer):
        self._comm = comm
        self._optimizer = optimizer

    def initialize(self, trainer):
        target = self._optimizer.target
        if any(param.array is None for param in target.params()):
            return  # uninitialized links: ChainerMN broadcasts at the first update
        self._comm.bcast_data(target)
        self._optimizer.is_changed(target)  # record the parameter set as broadcast

    def __call__(self, trainer):
        pass


class MeanObservations(training.Extension):
    """Replaces this iteration's ``main/...`` observations by their mean over the ranks
    (one small all-reduce); runs before the NaN guard and the log read them."""

    trigger = 1, "iteration"

    def __init__(self, comm, prefix="main/"):
        self._comm = comm
        self._prefix = prefix

    def __call__(self, trainer):
        if self._comm.size == 1:
            return
        from mpi4py import MPI

        observation = trainer.observation
        keys = sorted(key for key in observation if key.startswith(self._prefix))
        values = numpy.array([float(chainer.as_array(observation[key])) for key in keys],
                             dtype=numpy.float64)
        total = numpy.empty_like(values)
        self._comm.mpi_comm.Allreduce(values, total, op=MPI.SUM)
        for key, value in zip(keys, total / self._comm.size):
            observation[key] = float(value)


def parameter_digest(link):
    """A SHA-1 of every parameter's name and bytes (on the CPU)."""
    digest = hashlib.sha1()
    for name, param in sorted(link.namedparams()):
        digest.update(name.encode())
        if param.array is not None:
            digest.update(numpy.ascontiguousarray(chainer.backends.cuda.to_cpu(param.array))
                          .tobytes())
    return digest.hexdigest()


class SyncCheck(training.Extension):
    """After every update, all-gathers a digest of the parameters and raises
    ``RanksOutOfSync`` unless every rank has the same; rank 0 says how many updates it
    checked when training ends."""

    trigger = 1, "iteration"

    def __init__(self, comm, target, stream=None):
        self._comm = comm
        self._target = target
        self._stream = stream
        self.checked = 0

    def __call__(self, trainer):
        digests = self._comm.mpi_comm.allgather(parameter_digest(self._target))
        if len(set(digests)) != 1:
            raise RanksOutOfSync("parameters differ between ranks after iteration {}: {}"
                                 .format(trainer.updater.iteration, digests))
        self.checked += 1

    def finalize(self):
        if self._comm.rank == 0 and self.checked:
            print("chainer-vae: parameters identical on all {} ranks after each of {} "
                  "updates".format(self._comm.size, self.checked),
                  file=self._stream or sys.stderr, flush=True)


class RankStateKeeper(training.Extension):
    """The ``random_state`` extension of a multi-rank run.

    Just before each snapshot (it runs after every other extension) it gathers every rank's
    NumPy random state and training-iterator state on rank 0, which saves them next to its
    own (kept under the single-process keys too). On load every rank takes back its own, so
    the ranks go on drawing and visiting their shards as if never stopped. A snapshot
    written by a different number of ranks is refused.
    """

    trigger = 1, "epoch"

    def __init__(self, comm, iterator):
        self._comm = comm
        self._iterator = iterator
        self._gathered = None

    def _local_state(self):
        state = chainer.serializers.DictionarySerializer()
        serialize_random_state(state["rng"])
        self._iterator.serialize(state["iterator"])
        return state.target

    def __call__(self, trainer):
        self._gathered = self._comm.gather_obj(self._local_state())

    def serialize(self, serializer):
        serialize_random_state(serializer)  # rank 0's state under the plain keys
        if isinstance(serializer, chainer.serializer.Deserializer):
            try:
                ranks = int(serializer("ranks", 0))
            except KeyError:
                ranks = 1
            if ranks != self._comm.size:
                raise ConfigError("the snapshot was written by a run of {} rank(s); resume "
                                  "it with {} rank(s), not {}".format(
                                      ranks, ranks, self._comm.size))
            own = serializer["rank{}".format(self._comm.rank)]
            serialize_random_state(own["rng"])
            self._iterator.serialize(own["iterator"])
            return
        if self._gathered is None:
            raise RuntimeError("RankStateKeeper must run before the snapshot is taken")
        serializer("ranks", self._comm.size)
        for rank, state in enumerate(self._gathered):
            child = serializer["rank{}".format(rank)]
            for key, value in state.items():
                child(key, value)
