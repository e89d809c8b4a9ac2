"""BatchIterator: chainer's SerialIterator order and state, with batches drawn at once."""
import chainer_vae  # noqa: F401  (before chainer)
import chainer
import numpy as np
import pytest
from chainer.dataset import concat_examples

from chainer_vae.data import Data, Labelled
from chainer_vae.data.images import ImageDataset
from chainer_vae.data.iterators import BatchIterator, to_device
from chainer_vae.errors import ConfigError


def _grey_images(n=23, side=4, seed=0):
    return np.random.RandomState(seed).rand(n, side * side).astype(np.float32)


def _batches(iterator, count):
    cpu = chainer.get_device("@numpy")
    return [to_device(iterator.next(), cpu) for _ in range(count)]


@pytest.mark.parametrize("make_dataset", [
    lambda: _grey_images(),
    lambda: ImageDataset(_grey_images(), binarize="dynamic"),
    lambda: ImageDataset(_grey_images(), binarize="threshold", shape="image"),
], ids=["ndarray", "dynamic", "threshold-image"])
def test_batches_match_serial_iterator_over_epochs(make_dataset):
    """Same examples, same order, same random draws (dynamic binarization), with a
    batch size that does not divide the data, across three epochs."""
    results = []
    for cls in (BatchIterator, chainer.iterators.SerialIterator):
        np.random.seed(3)
        iterator = cls(make_dataset(), 5)
        batches = []
        for _ in range(14):
            batch = iterator.next()
            batches.append(concat_examples(batch) if isinstance(batch, list) else batch)
        results.append((batches, iterator.epoch, iterator.epoch_detail))
    (ours, epoch, detail), (theirs, their_epoch, their_detail) = results
    assert (epoch, detail) == (their_epoch, their_detail)
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)


def test_array_batches_are_one_array():
    batch = BatchIterator(_grey_images(), 4, shuffle=False).next()
    assert isinstance(batch, np.ndarray) and batch.shape == (4, 16)
    np.testing.assert_array_equal(batch, _grey_images()[:4])


def test_other_datasets_get_chainers_list_and_the_converter_stacks_them():
    pairs = chainer.datasets.TupleDataset(_grey_images(), np.arange(23, dtype=np.int32))
    batch = BatchIterator(pairs, 3, shuffle=False).next()
    assert isinstance(batch, list) and len(batch) == 3
    images, labels = to_device(batch, chainer.get_device("@numpy"))
    np.testing.assert_array_equal(labels, [0, 1, 2])
    assert images.shape == (3, 16)


def test_test_iterator_stops_after_one_pass():
    iterator = BatchIterator(_grey_images(), 10, repeat=False, shuffle=False)
    sizes = [len(batch) for batch in iterator]
    assert sizes == [10, 10, 3]


def test_snapshot_state_loads_into_serial_iterator(tmp_path):
    """The state is SerialIterator's: snapshots taken with either resume in the other."""
    np.random.seed(0)
    ours = BatchIterator(_grey_images(), 5)
    for _ in range(7):
        ours.next()
    chainer.serializers.save_npz(str(tmp_path / "it.npz"), ours)
    theirs = chainer.iterators.SerialIterator(_grey_images(), 5)
    chainer.serializers.load_npz(str(tmp_path / "it.npz"), theirs)
    np.testing.assert_array_equal(ours.next(), concat_examples(theirs.next()))
    assert ours.epoch_detail == theirs.epoch_detail


def test_labelled_batches_are_pairs_drawn_as_the_examples_are():
    """(x, y) pairs whose x are the batches of the examples alone, with the same random
    draws (dynamic binarization), and whose y belong to those x; per-example access (a
    shard of a data-parallel run) gives the same pairs."""
    cpu = chainer.get_device("@numpy")
    images, labels = _grey_images(), (np.arange(23) * 7) % 5
    np.random.seed(3)
    expected = _batches(BatchIterator(ImageDataset(images, binarize="dynamic"), 5), 9)
    np.random.seed(3)
    pairs = _batches(BatchIterator(Labelled(ImageDataset(images, binarize="dynamic"), labels),
                                   5), 9)
    for x, (got, y) in zip(expected, pairs):
        np.testing.assert_array_equal(got, x)
        assert y.dtype == np.int32 and y.shape == (len(x),)
    np.random.seed(4)
    x, y = to_device(BatchIterator(Labelled(images, labels), 6).next(), cpu)
    rows = [int(np.flatnonzero((images == row).all(axis=1))[0]) for row in x]
    np.testing.assert_array_equal(y, labels[rows])
    shard = chainer.datasets.SubDataset(Labelled(images, labels), 2, 9)
    x, y = to_device(BatchIterator(shard, 4, shuffle=False).next(), cpu)
    np.testing.assert_array_equal(x, images[2:6])
    np.testing.assert_array_equal(y, labels[2:6])


def test_only_labelled_splits_become_pairs():
    images = _grey_images()
    data = Data(images, images[:3], (16,), np.arange(23) % 2, np.arange(3) % 2, ["a", "b"])
    assert data.examples("train") is images
    x, y = data.examples("test", labelled=True)[1]
    assert y == 1 and x.shape == (16,)
    unlabelled = Data(images, images[:3], (16,), details={"dataset": "jsb"})
    with pytest.raises(ConfigError, match="jsb data set has no labels"):
        unlabelled.examples("train", labelled=True)
    with pytest.raises(ConfigError, match="3 labels for 23 examples"):
        Labelled(images, np.arange(3))
