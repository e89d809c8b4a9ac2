"""Data-parallel training and evaluation over MPI ranks with ChainerMN.

One object says how this process takes part in a run: ``SingleProcess`` (``single``) or
``MPIRanks`` (``mpi``), with one interface; ``for_communicator`` gives the one for
``--communicator``. ``build_trainer``, ``train`` and ``evaluate`` take either and ask it
for the parts below; the single process leaves each thing as it is, so the same code runs
without MPI. ``MPIRanks`` is built from a ChainerMN communicator name under ``mpiexec``
(``naive``, the one for CPUs, which also works on GPUs; ``flat``, ``non_cuda_aware`` or
``pure_nccl`` on GPUs only) and knows the rank, the number of ranks and the rank on this
host:

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

The Trainer extensions that keep the ranks together are in ``extensions``.

Set ``CHAINER_VAE_CHECK_SYNC=1`` to compare a digest of the parameters across all ranks
after every update (a check for the tests and for debugging; it costs one small
all-gather per iteration). Rank 0's setting counts.
"""
from chainer_vae.training.distributed.extensions import (RanksOutOfSync, SyncCheck,
                                                         parameter_digest, snapshot_ranks)
from chainer_vae.training.distributed.mpi import (CHECK_SYNC_ENV, COMMUNICATORS,
                                                  GPU_COMMUNICATORS, MPIRanks)
from chainer_vae.training.distributed.single import SingleProcess


def for_communicator(name=None):
    """How this process takes part in a run: ``SingleProcess()`` for ``name`` None, else
    ``MPIRanks`` over the ChainerMN communicator ``name`` (one of ``COMMUNICATORS``; one
    rank without ``mpiexec``). ``ConfigError`` for an unknown name or a missing MPI."""
    if name is None:
        return SingleProcess()
    return MPIRanks.create(name)


__all__ = ["CHECK_SYNC_ENV", "COMMUNICATORS", "GPU_COMMUNICATORS", "MPIRanks",
           "RanksOutOfSync", "SingleProcess", "SyncCheck", "for_communicator",
           "parameter_digest", "snapshot_ranks"]
