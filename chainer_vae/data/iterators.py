"""Batches drawn with one indexing of the data set instead of one lookup per example.

chainer's ``SerialIterator`` builds every batch as a Python list of examples, and its
converter then stacks them again row by row: for MNIST at batch 128 that is 256 small
array operations per step, a noticeable part of a training step of the MLP VAE.
``BatchIterator`` visits examples in exactly the order ``SerialIterator`` does (same
state, same snapshots) but asks the data set for the whole batch at once when it can: a
NumPy array is indexed with the index array, an ``ImageDataset`` draws the batch with
``get_batch`` (the same random numbers, in the same order, as per-example access).
Other data sets get chainer's list of examples. A labelled data set (``base.Labelled``,
a conditional model's data) gives (x, y) pairs of arrays. ``to_device`` is the converter
that accepts each of them.
"""
import chainer
import numpy
from chainer.dataset import convert
from chainer.iterators import _statemachine


class BatchIterator(chainer.iterators.SerialIterator):
    """``SerialIterator`` whose batches are arrays (B, ...) where the data set allows."""

    def __next__(self):
        self._previous_epoch_detail = self.epoch_detail
        self._state, indices = _statemachine.iterator_statemachine(
            self._state, self.batch_size, self.repeat, self.order_sampler, len(self.dataset))
        if indices is None:
            raise StopIteration
        return batch_of(self.dataset, indices)

    next = __next__


def batch_of(dataset, indices):
    """Examples ``indices`` of ``dataset``: one array where the data set can index many
    at once, else chainer's list of examples."""
    if isinstance(dataset, numpy.ndarray):
        return dataset[indices]
    get_batch = getattr(dataset, "get_batch", None)
    if get_batch is not None:
        return get_batch(indices)
    return [dataset[index] for index in indices]


@chainer.dataset.converter()
def to_device(batch, device):
    """A batch as arrays on ``device``: an array batch is sent as it is, a pair of
    arrays (x, y) as a pair, a list of examples (or of (x, y) pairs) is stacked by
    chainer's ``concat_examples``."""
    if isinstance(batch, numpy.ndarray):
        return device.send(batch)
    if isinstance(batch, tuple):
        return tuple(device.send(part) for part in batch)
    return convert.concat_examples(batch, device)
