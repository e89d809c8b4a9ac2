"""Data-parallel training and evaluation over MPI ranks with ChainerMN.

One ``Distributed`` object says how this process takes part in a run. Built from a
ChainerMN communicator name under ``mpiexec`` (``naive``, the one for CPUs, which also
works on GPUs; ``flat``, ``non_cuda_aware`` or ``pure_nccl`` on GPUs only), it knows the
rank, the number of ranks and the rank on this host, and hands ``build_trainer``,
``train`` and ``evaluate`` the ChainerMN parts they need:

* the device: the GPU communicators put rank r of a host on ``@cupy:r`` unless a GPU was
  given;
* the data: every rank loads the data set itself (rank 0 first, so a download happens
  once), then keeps its shard by index (``chainermn.scatter_index``, the index-only form of
  ``chainermn.scatter_dataset``): the permutation is drawn from ``seed`` on every rank, so
  all ranks agree on it without sending any example over MPI. Shards have equal length
  (one example may appear on two ranks when the size does not divide evenly);
* the multi-node optimizer (gradients averaged over the ranks before each Adam step) and
  the multi-node Evaluator (test loss averaged over the ranks' shards);
* the seed rule: rank r seeds Python, NumPy and CuPy with ``seed + r`` (rank 0 draws
  exactly what a single process draws), so ranks draw different z; the parameters are
  then broadcast from rank 0 before the first update, so every rank starts from rank 0's;
* who writes: only rank 0 (``is_writer``) writes the run folder: config.json, log,
  plots, latents, snapshots and model.npz. A snapshot holds, besides rank 0's state, every
  rank's NumPy random state and iterator position, and ``--resume`` sends rank 0's
  snapshot to all ranks, so a resumed multi-rank run ends with the same parameters as an
  uninterrupted one and the other ranks need not see the run folder.

``Distributed()`` (no communicator) is the single process: every method leaves things as
they are, so code that takes a ``Distributed`` runs unchanged without MPI.

Set ``CHAINER_VAE_CHECK_SYNC=1`` to compare a digest of the parameters across all ranks
after every update (a check for the tests and for debugging; it costs one small
all-gather per iteration). Rank 0's setting counts.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import tempfile

import chainer
import numpy
from chainer import training

from chainer_vae.errors import ChainerVAEError, ConfigError, choice
from chainer_vae.files import read_arrays
from chainer_vae.runs import is_cpu, load_into, serialize_random_state

COMMUNICATORS = ("naive", "flat", "non_cuda_aware", "pure_nccl")
GPU_COMMUNICATORS = ("flat", "non_cuda_aware", "pure_nccl")  # CuPy arrays only
CHECK_SYNC_ENV = "CHAINER_VAE_CHECK_SYNC"
MPI_HELP = ("install an MPI and mpi4py: apt-get install openmpi-bin libopenmpi-dev; "
            "pip install 'chainer-vae[mpi]'")


class RanksOutOfSync(ChainerVAEError, RuntimeError):
    """The parameters differ between ranks (seen by the ``CHAINER_VAE_CHECK_SYNC`` check)."""


class Distributed:
    """How this process takes part in a run; see the module docstring.

    ``comm`` is a ChainerMN communicator, or None for a single process.
    """

    def __init__(self, comm=None, name=None):
        self.comm = comm
        self.name = name

    @classmethod
    def create(cls, name=None):
        """The single process for ``name`` None, else a ChainerMN communicator ``name``
        over ``MPI_COMM_WORLD`` (one rank without ``mpiexec``)."""
        if name is None:
            return cls()
        choice(COMMUNICATORS, name, "communicator")
        try:
            import mpi4py.MPI  # noqa: F401
        except ImportError as error:
            raise ConfigError("--communicator {} needs MPI ({}); {}".format(
                name, error, MPI_HELP)) from None
        import chainermn

        if name in GPU_COMMUNICATORS and not chainer.backends.cuda.available:
            raise ConfigError("communicator {!r} needs CuPy and one CUDA GPU per process; "
                              "use naive on CPUs".format(name))
        try:
            comm = chainermn.create_communicator(name)
        except Exception as error:  # NCCL, CUDA or MPI setup errors
            raise ConfigError("cannot create the {} communicator: {}".format(
                name, error)) from None
        if comm.size > 1:
            # An uncaught exception on one rank aborts all of them instead of leaving
            # the others waiting in a collective.
            from chainermn import global_except_hook

            if global_except_hook._orig_except_hook is None:
                global_except_hook.add_hook()
        return cls(comm, name)

    # --- who am I -----------------------------------------------------------------------

    @property
    def active(self):
        """True under a ChainerMN communicator (even with one rank)."""
        return self.comm is not None

    @property
    def rank(self):
        return self.comm.rank if self.active else 0

    @property
    def size(self):
        return self.comm.size if self.active else 1

    @property
    def intra_rank(self):
        """The rank among the processes on this host."""
        return self.comm.intra_rank if self.active else 0

    @property
    def is_writer(self):
        """Only rank 0 writes files and prints reports."""
        return self.rank == 0

    def __repr__(self):
        if not self.active:
            return "Distributed(single process)"
        return "Distributed({}, rank {} of {}, local rank {})".format(
            self.name, self.rank, self.size, self.intra_rank)

    # --- setup --------------------------------------------------------------------------

    def device_spec(self, spec):
        """The device this rank uses for ``spec``: with a GPU communicator, a CPU or
        missing spec becomes ``@cupy:<local rank>``; otherwise ``spec`` itself."""
        if self.name in GPU_COMMUNICATORS and (spec is None or is_cpu(spec)):
            return "@cupy:{}".format(self.intra_rank)
        return spec

    def seed(self, seed):
        """The seed of this rank's generators: ``seed + rank``."""
        return int(seed) + self.rank

    @contextlib.contextmanager
    def root_first(self):
        """Rank 0 runs the block first (e.g. loads, and if need be downloads, the data),
        then the other ranks run it together."""
        if not self.active or self.size == 1:
            yield
            return
        if self.rank != 0:
            self.comm.mpi_comm.Barrier()
        try:
            yield
        finally:
            if self.rank == 0:
                self.comm.mpi_comm.Barrier()

    def root_value(self, compute):
        """``compute()`` on rank 0, sent to every rank. An error on rank 0 is raised on
        every rank, so none is left waiting."""
        if not self.active or self.size == 1:
            return compute()
        if self.rank == 0:
            try:
                message = (True, compute())
            except Exception as error:
                self.comm.bcast_obj((False, error))
                raise
        else:
            message = None
        ok, value = self.comm.bcast_obj(message)
        if not ok:
            raise value
        return value

    def scatter(self, dataset, shuffle=False, seed=None):
        """This rank's shard of ``dataset`` (the whole of it for a single process).

        Every rank holds the same ``dataset``; the shard is chosen by index
        (``chainermn.scatter_index``) after a permutation drawn from ``seed`` when
        ``shuffle``, the same on every rank. All shards have the same length.
        """
        if not self.active:
            return dataset
        from chainermn.datasets import scatter_index

        total = len(dataset)
        lengths = self.comm.mpi_comm.allgather(total)
        if len(set(lengths)) != 1:
            raise ConfigError("the ranks loaded data sets of different sizes {}; every rank "
                              "must see the same data".format(lengths))
        if total < self.size:
            raise ConfigError("{} examples cannot be shared by {} ranks".format(
                total, self.size))
        begin, end = scatter_index(total, self.comm)
        order = numpy.random.RandomState(seed).permutation(total) if shuffle else None
        return chainer.datasets.SubDataset(dataset, begin, end, order)

    def optimizer(self, actual):
        """``actual`` (single process) or ChainerMN's multi-node optimizer around it."""
        if not self.active:
            return actual
        import chainermn

        return chainermn.create_multi_node_optimizer(actual, self.comm)

    def evaluator(self, actual):
        """``actual`` (single process) or ChainerMN's multi-node Evaluator around it."""
        if not self.active:
            return actual
        import chainermn

        return chainermn.create_multi_node_evaluator(actual, self.comm)

    def rank_state_keeper(self, iterator):
        """The extension that keeps every rank's random state and iterator position in
        the snapshots of a run of several ranks; None for a single process."""
        if not self.active:
            return None
        return RankStateKeeper(self.comm, iterator)

    def extensions(self, optimizer):
        """{name: extension} every rank runs (none for a single process): the start-up
        broadcast of rank 0's parameters, the mean of the training observations over the
        ranks (so rank 0's log reports the whole effective batch, and every rank's NaN
        guard sees the same loss) and, with ``CHAINER_VAE_CHECK_SYNC=1``, the check that
        the parameters are the same on every rank."""
        if not self.active:
            return {}
        added = {"mpi_sync": SynchronizeParameters(self.comm, optimizer),
                 "mpi_mean": MeanObservations(self.comm)}
        # Rank 0's setting for all: every rank must run the same collectives.
        if self.root_value(lambda: os.environ.get(CHECK_SYNC_ENV, "") not in ("", "0")):
            added["mpi_check_sync"] = SyncCheck(self.comm, optimizer.target)
        return added

    def trainer_out(self, out):
        """The Trainer's ``out``: the run folder on rank 0. The other ranks write nothing,
        but ``Trainer.run`` creates its ``out``, so theirs is the existing temp folder."""
        return str(out) if self.is_writer else tempfile.gettempdir()

    def load_snapshot(self, trainer, locate):
        """Load the snapshot ``locate()`` gives, as (path, its arrays), into ``trainer``.
        With ranks, rank 0 reads it and sends it to all ranks."""
        path, arrays = self.root_value(locate)
        ranks = snapshot_ranks(arrays)
        if not self.active and ranks != 1:
            raise ConfigError("{} was written by a run of {} ranks; resume it with "
                              "mpiexec -n {} ... --communicator".format(path, ranks, ranks))
        load_into(trainer, path, arrays, what="snapshot")

    def sum(self, values):
        """Element-wise sum of ``values`` (floats) over the ranks, as float64."""
        values = numpy.asarray(values, dtype=numpy.float64)
        if not self.active or self.size == 1:
            return values
        from mpi4py import MPI

        total = numpy.empty_like(values)
        self.comm.mpi_comm.Allreduce(values, total, op=MPI.SUM)
        return total

    def abort(self, code):
        """End every rank now (after an error on this one): MPI_Abort with more than one
        rank; nothing otherwise."""
        if self.active and self.size > 1:
            sys.stdout.flush()
            sys.stderr.flush()
            self.comm.mpi_comm.Abort(code)


def snapshot_ranks(snapshot):
    """How many ranks wrote a snapshot (a path, or its arrays); 1 for a single process."""
    arrays = snapshot if isinstance(snapshot, dict) else read_arrays(snapshot, "snapshot")
    key = "extensions/random_state/ranks"
    return int(arrays[key]) if key in arrays else 1


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


__all__ = ["COMMUNICATORS", "Distributed", "GPU_COMMUNICATORS", "RanksOutOfSync",
           "parameter_digest", "snapshot_ranks"]
