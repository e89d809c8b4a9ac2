"""The chainer 7.8.1 breakages that chainer's own test suite finds on NumPy 2, Python >= 3.12
and setuptools >= 81 (issue 25), each mended by chainer_vae._compat in the behaviour NumPy 1
and Python 3.11 gave. Each test fails on an unmended chainer 7.8.1 under NumPy 2.
"""
import subprocess
import sys
import textwrap
import warnings
from unittest import mock

import numpy as np
import pytest

import chainer_vae  # noqa: F401  (installs the fixes before chainer is imported)
import chainer
import chainer.distributions as D
import chainer.functions as F
from chainer.dataset import concat_examples


def run_python(script):
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(script)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.parametrize("batch_shape", [(), (3,), (2, 3)])
def test_categorical_log_prob_is_the_log_of_the_chosen_probability(batch_shape):
    """NumPy 2's meshgrid returns a tuple, and log_prob did `tuple + list`: TypeError."""
    rng = np.random.RandomState(0)
    p = rng.uniform(0.1, 1, batch_shape + (4,)).astype(np.float32)
    p /= p.sum(axis=-1, keepdims=True)
    x = rng.randint(0, 4, batch_shape).astype(np.int32)
    expected = np.log(np.take_along_axis(p, x[..., None], axis=-1)[..., 0])
    distribution = D.Categorical(p)
    np.testing.assert_allclose(distribution.log_prob(x).array, expected, rtol=1e-6)
    np.testing.assert_allclose(distribution.log_prob(chainer.Variable(x)).array, expected,
                               rtol=1e-6)


def test_pad_sequence_casts_the_padding_as_numpy_1_did():
    """-1 into uint8 is 255 (modulo 2**8), as NumPy 1 cast it; NumPy 2 raised OverflowError."""
    xs = [np.array([1, 2, 3], np.uint8), np.array([4], np.uint8)]
    y = F.pad_sequence(xs, padding=-1).array
    assert y.dtype == np.uint8
    np.testing.assert_array_equal(y, [[1, 2, 3], [4, 255, 255]])
    y = F.pad_sequence([np.array([1.5], np.float32), np.zeros(0, np.float32)], length=2,
                       padding=-0.5).array
    np.testing.assert_array_equal(y, [[1.5, -0.5], [-0.5, -0.5]])


def test_debug_print_names_a_numpy_array_s_device_cpu():
    """NumPy 2 arrays have `.device` ('cpu'); chainer printed 'CPU' for NumPy 1's, which had none."""
    text = chainer.Variable(np.ones(3, np.float32)).debug_print()
    assert "\n- device: CPU\n" in text


def _no(name):
    def refuse(*args, **kwargs):
        raise AssertionError("numpy.{} was called".format(name))
    return refuse


def test_fix_and_fmod_backward_round_towards_zero_without_numpy_fix():
    """numpy.fix is deprecated in NumPy 2.5; numpy.trunc is the same function."""
    x = np.array([-2.5, -0.5, -0.0, 0.5, 1.5, 3.7, np.inf, -np.inf, np.nan], np.float32)
    with mock.patch.object(np, "fix", _no("fix")), warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        y = F.fix(x).array
        a = chainer.Variable(np.array([-7.5, 5.0, 7.0], np.float32))
        b = chainer.Variable(np.array([2.0, -3.0, 2.0], np.float32))
        z = F.fmod(a, b)
        z.grad = np.ones(3, np.float32)
        z.backward()
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, [-2, -0.0, -0.0, 0, 1, 3, np.inf, -np.inf, np.nan])
    assert np.signbit(y[[1, 2]]).all()  # -0.5 and -0.0 round to -0.0, as numpy.fix gave
    np.testing.assert_array_equal(z.array, [-1.5, 2.0, 1.0])
    np.testing.assert_array_equal(b.grad, [3.0, 1.0, -3.0])  # -fix(a / b)


def test_concat_examples_padding_passes_maximum_s_out_by_keyword():
    """numpy.maximum(a, b, out) (positional out) is deprecated in NumPy 2.5."""
    maximum = np.maximum

    def two_arguments(a, b, **kwargs):
        return maximum(a, b, **kwargs)

    arrays = [np.ones((2, 1), np.int32), np.full((1, 3), 2, np.int32)]
    with mock.patch.object(np, "maximum", two_arguments), warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        batch = concat_examples(arrays, padding=-1)
    np.testing.assert_array_equal(batch, [[[1, -1, -1], [1, -1, -1]],
                                          [[2, 2, 2], [-1, -1, -1]]])


def test_concat_examples_casts_the_padding_as_numpy_1_did():
    """-1 into uint8 is 255, as NumPy 1's numpy.full gave; NumPy 2's raised OverflowError."""
    arrays = [np.array([1, 2], np.uint8), np.array([3], np.uint8)]
    batch = concat_examples(arrays, padding=-1)
    assert batch.dtype == np.uint8
    np.testing.assert_array_equal(batch, [[1, 2], [3, 255]])
    batch = concat_examples([(a, a.astype(np.float32)) for a in arrays], padding=(0, -0.5))
    np.testing.assert_array_equal(batch[0], [[1, 2], [3, 0]])
    np.testing.assert_array_equal(batch[1], [[1, 2], [3, -0.5]])


def test_multiprocess_iterator_starts_its_thread_without_set_daemon():
    """Thread.setDaemon is deprecated since Python 3.10."""
    from chainer.iterators import MultiprocessIterator

    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*setDaemon", category=DeprecationWarning)
        iterator = MultiprocessIterator(list(range(10)), 4, n_processes=1, shuffle=False)
        try:
            assert next(iterator) == [0, 1, 2, 3]
            assert iterator._prefetch_loop._thread.daemon
        finally:
            iterator.finalize()


def test_chainermn_unpack_params_casts_like_numpy_1_copy_false():
    """NumPy 1's array(copy=False) copied when the dtype differed; NumPy 2's raises ValueError.
    Runs without MPI: a stand-in mpi4py is put in place when there is none."""
    out = run_python("""
        import sys, types
        try:
            import mpi4py.MPI
        except ImportError:
            stub = types.ModuleType("mpi4py.MPI")
            stub.__getattr__ = lambda name: object()
            sys.modules["mpi4py"] = types.ModuleType("mpi4py")
            sys.modules["mpi4py"].MPI = sys.modules["mpi4py.MPI"] = stub
        import numpy as np
        import chainer_vae, chainer
        from chainermn.communicators import _memory_utility

        class Buffer:  # the received float16 values, copied into the array given
            data = np.arange(5, dtype=np.float16) / 4
            def to_device(self, array, size, offset, stream=None):
                start = offset // 2
                array[...] = self.data[start:start + array.size].reshape(array.shape)

        params = [chainer.Parameter(np.zeros((2,), np.float32)),
                  chainer.Parameter(np.zeros((3,), np.float32))]
        for p in params:
            p.grad = np.zeros_like(p.array)
        _memory_utility.unpack_params(params, "grad", Buffer(), np.float16, False)
        print(params[0].grad.dtype, params[0].grad.tolist() + params[1].grad.tolist())
    """)
    assert out.split(None, 1) == ["float32", "[0.0, 0.25, 0.5, 0.75, 1.0]\n"]


def test_import_raises_no_deprecation_warning():
    out = run_python("""
        import warnings
        warnings.simplefilter("error", DeprecationWarning)
        import chainer_vae, chainer, chainer.functions, chainer.links, chainer.distributions
        import chainer.testing, chainer.gradient_check, chainer.testing.doctest_helper
        import chainer.iterators, chainer.dataset, chainer.training
        print("clean")
    """)
    assert out.strip() == "clean"


def test_every_rewrite_matches_the_installed_chainer_source():
    """Each fix finds its text the expected number of times in chainer 7.8.1 (read, not
    imported: chainermn's module needs mpi4py)."""
    import importlib.util
    from chainer_vae import _compat

    for name, fixes in _compat._SOURCE_FIXES.items():
        origin = importlib.util.find_spec(name).origin
        loader = _compat._FixingLoader(name, origin)
        with open(origin, "rb") as source:
            code = loader.source_to_code(source.read(), origin)  # raises on a mismatch
        assert code.co_filename == origin


def test_training_raises_no_deprecation_warning(toy_mnist, tmp_path):
    """The project's training path under -W error::DeprecationWarning (pytest.ini hides
    chainer's warnings from the other tests)."""
    done = subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning", "-W", "error::FutureWarning",
         "-m", "chainer_vae.cli", "train", "--data-dir", str(toy_mnist), "--limit", "200",
         "--epochs", "1", "--out", str(tmp_path / "run"), "--no-progress"],
        capture_output=True, text=True, cwd=str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "run" / "model.npz").exists()
