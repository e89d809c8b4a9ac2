"""Ranks under ``mpiexec``: a ChainerMN communicator and what each rank does with it.

``MPIRanks`` has the interface of ``SingleProcess``; the package docstring says what each
method means for a run of several ranks.
"""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import warnings

import chainer
import numpy

from chainer_vae.errors import ConfigError, choice
from chainer_vae.runs import is_cpu, load_into
from chainer_vae.training.distributed.extensions import (MeanObservations, RankStateKeeper,
                                                         SyncCheck, SynchronizeParameters)

COMMUNICATORS = ("naive", "flat", "non_cuda_aware", "pure_nccl")
GPU_COMMUNICATORS = ("flat", "non_cuda_aware", "pure_nccl")  # CuPy arrays only
CHECK_SYNC_ENV = "CHAINER_VAE_CHECK_SYNC"
MPI_HELP = ("install an MPI and mpi4py: apt-get install openmpi-bin libopenmpi-dev; "
            "pip install 'chainer-vae[mpi]'")


class MPIRanks:
    """This process as one rank of ``comm`` (a ChainerMN communicator called ``name``);
    one rank alone without ``mpiexec``."""

    def __init__(self, comm, name):
        self.comm = comm
        self.name = name

    @classmethod
    def create(cls, name):
        """The ranks of a ChainerMN communicator ``name`` (one of ``COMMUNICATORS``) over
        ``MPI_COMM_WORLD``. ``ConfigError`` if MPI, mpi4py or, for the GPU communicators,
        CUDA is missing, or the communicator cannot be made."""
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
            _abort_all_on_uncaught_exceptions()
        return cls(comm, name)

    # --- who am I -----------------------------------------------------------------------

    @property
    def rank(self):
        return self.comm.rank

    @property
    def size(self):
        return self.comm.size

    @property
    def intra_rank(self):
        """The rank among the processes on this host."""
        return self.comm.intra_rank

    @property
    def is_writer(self):
        """Only rank 0 writes files and prints reports."""
        return self.rank == 0

    def __repr__(self):
        return "MPIRanks({}, rank {} of {}, local rank {})".format(
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
        if self.size == 1:
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
        if self.size == 1:
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
        """This rank's shard of ``dataset``.

        Every rank holds the same ``dataset``; the shard is chosen by index
        (``chainermn.scatter_index``) after a permutation drawn from ``seed`` when
        ``shuffle``, the same on every rank. All shards have the same length.
        """
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
        """ChainerMN's multi-node optimizer around ``actual``."""
        import chainermn

        return chainermn.create_multi_node_optimizer(actual, self.comm)

    def evaluator(self, actual):
        """ChainerMN's multi-node Evaluator around ``actual``."""
        import chainermn

        return chainermn.create_multi_node_evaluator(actual, self.comm)

    def rank_state_keeper(self, iterator):
        """The extension that keeps every rank's random state and iterator position in
        the snapshots."""
        return RankStateKeeper(self.comm, iterator)

    def extensions(self, optimizer):
        """{name: extension} every rank runs: the start-up broadcast of rank 0's
        parameters, the mean of the training observations over the ranks (so rank 0's
        log reports the whole effective batch, and every rank's NaN guard sees the same
        loss) and, with ``CHAINER_VAE_CHECK_SYNC=1``, the check that the parameters are
        the same on every rank."""
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
        """Load the snapshot ``locate()`` gives, as (path, its arrays), into ``trainer``:
        rank 0 reads it and sends it to all ranks (``RankStateKeeper`` refuses one of
        another number of ranks)."""
        path, arrays = self.root_value(locate)
        load_into(trainer, path, arrays, what="snapshot")

    def sum(self, values):
        """Element-wise sum of ``values`` (floats) over the ranks, as float64."""
        values = numpy.asarray(values, dtype=numpy.float64)
        if self.size == 1:
            return values
        from mpi4py import MPI

        total = numpy.empty_like(values)
        self.comm.mpi_comm.Allreduce(values, total, op=MPI.SUM)
        return total

    def abort(self, code):
        """End every rank now (after an error on this one): MPI_Abort with more than one
        rank; nothing with one."""
        if self.size > 1:
            sys.stdout.flush()
            sys.stderr.flush()
            self.comm.mpi_comm.Abort(code)


def _abort_all_on_uncaught_exceptions():
    """Make an uncaught exception on one rank abort all of them (ChainerMN's global
    except hook) instead of leaving the others waiting in a collective."""
    from chainermn import global_except_hook

    with warnings.catch_warnings():
        # add_hook ignores a second call (a second communicator in this process, or
        # CHAINERMN_FORCE_ABORT_ON_EXCEPTION set) with this one UserWarning
        warnings.simplefilter("ignore", UserWarning)
        global_except_hook.add_hook()
