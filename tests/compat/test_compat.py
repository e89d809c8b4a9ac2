"""chainer 7.8.1 imports and runs on today's stack through chainer_vae._compat."""
import subprocess
import sys
import textwrap

import numpy as np

import chainer_vae  # noqa: F401  (installs the fixes before chainer is imported)
import chainer
import chainer.functions as F


def test_numpy_itself_is_not_modified():
    script = textwrap.dedent("""
        import types, numpy
        def names():
            return {k for k, v in vars(numpy).items() if not isinstance(v, types.ModuleType)}
        before = names()
        import chainer_vae, chainer, chainer.functions as F
        F.resize_images(numpy.ones((1, 1, 2, 2), numpy.float32), (3, 3))
        print(sorted(names() ^ before))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_as_strided_forward_and_backward():
    x = chainer.Variable(np.arange(12, dtype=np.float32).reshape(3, 4))
    y = F.as_strided(x, (2, 2), (1, 1))
    np.testing.assert_array_equal(y.array, [[0, 1], [1, 2]])
    y.grad = np.ones((2, 2), np.float32)
    y.backward()  # reads the sctypes replacement in as_strided's backward
    np.testing.assert_array_equal(x.grad[0], [1, 2, 1, 0])


def test_resize_images_runs_on_the_cpu_path():
    image = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    resized = F.resize_images(image, (7, 7)).array
    # align_corners bilinear: row 0 goes 0, 0.5, ..., 3 and the last pixel is kept.
    np.testing.assert_allclose(resized[0, 0, 0], np.arange(7) * 0.5)
    assert resized[0, 0, -1, -1] == 15


def test_environment_check_is_replaced():
    check = sys.modules["chainer._environment_check"]
    assert check.check() is None
    assert "replaced by chainer_vae._compat" in check.__doc__


def test_imports_without_pkg_resources_or_numpy_distutils():
    """As with setuptools >= 81 (no pkg_resources) and Python >= 3.12 (no numpy.distutils)."""
    script = textwrap.dedent("""
        import importlib.abc, sys
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name == "pkg_resources" or name.startswith("numpy.distutils"):
                    raise ImportError("blocked: " + name)
        sys.meta_path.insert(0, Block())
        import chainer_vae, chainer, chainer.functions as F, numpy as np
        import chainer.gradient_check, chainer.testing  # chainer.testing.helper's import
        x = chainer.Variable(np.ones((2, 3), np.float32))
        F.sum(F.as_strided(x, (2, 2), (3, 1))).backward()
        print("ok", chainer.__version__, float(x.grad.sum()))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["ok", "7.8.1", "4.0"]


def test_a_changed_chainer_source_is_refused(tmp_path):
    """The rewrite checks chainer's source instead of patching blindly."""
    from chainer_vae import _compat

    loader = _compat._FixingLoader("chainer.functions.array.as_strided", str(tmp_path / "x.py"))
    try:
        loader.source_to_code(b"import numpy as np\n", str(tmp_path / "x.py"))
    except _compat.ChainerSourceMismatch as error:
        assert "np.sctypes['int']" in str(error)
    else:
        raise AssertionError("a source without the expected text was accepted")
