"""The single process: one rank that talks to nobody.

``SingleProcess`` has the interface of ``MPIRanks`` and leaves everything as it is, so
``build_trainer``, ``train`` and ``evaluate`` run unchanged without MPI.
"""
from __future__ import annotations

import contextlib

import numpy

from chainer_vae.errors import ConfigError
from chainer_vae.runs import load_into
from chainer_vae.training.distributed.extensions import snapshot_ranks


class SingleProcess:
    """The whole run in this process: rank 0 of 1, which writes."""

    name = None  # no communicator
    rank = 0
    size = 1
    intra_rank = 0  # the rank among the processes on this host
    is_writer = True  # the one process writes files and prints reports

    def __repr__(self):
        return "SingleProcess()"

    def device_spec(self, spec):
        """The device to use for ``spec``: ``spec`` itself."""
        return spec

    def seed(self, seed):
        """The seed of this process's generators: ``seed``."""
        return int(seed)

    def root_first(self):
        """A context that runs its block at once (there is no other rank to wait)."""
        return contextlib.nullcontext()

    def root_value(self, compute):
        """``compute()``."""
        return compute()

    def scatter(self, dataset, shuffle=False, seed=None):
        """The whole of ``dataset``, in its order (``shuffle`` and ``seed`` are for ranks)."""
        return dataset

    def optimizer(self, actual):
        """``actual`` itself."""
        return actual

    def evaluator(self, actual):
        """``actual`` itself."""
        return actual

    def rank_state_keeper(self, iterator):
        """None: the Trainer's own ``RandomStateKeeper`` keeps the one random state."""
        return None

    def extensions(self, optimizer):
        """{}: a single process needs no extension to keep ranks together."""
        return {}

    def trainer_out(self, out):
        """The Trainer's ``out``: the run folder ``out`` (str)."""
        return str(out)

    def load_snapshot(self, trainer, locate):
        """Load the snapshot ``locate()`` gives, as (path, its arrays), into ``trainer``;
        a snapshot of several ranks is refused (only as many ranks can resume it)."""
        path, arrays = locate()
        ranks = snapshot_ranks(arrays)
        if ranks != 1:
            raise ConfigError("{} was written by a run of {} ranks; resume it with "
                              "mpiexec -n {} ... --communicator".format(path, ranks, ranks))
        load_into(trainer, path, arrays, what="snapshot")

    def sum(self, values):
        """``values`` (floats) as float64: the sum over one rank."""
        return numpy.asarray(values, dtype=numpy.float64)

    def abort(self, code):
        """Nothing: no other rank waits on this one."""
