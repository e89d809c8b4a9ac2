"""Make chainer 7.8.1 import and run on today's NumPy, Python and setuptools.

Chainer stopped at 7.8.1 (2020). This package, imported by ``chainer_vae/__init__.py`` before
anything imports chainer, mends the parts of it that break on a 2026 stack (NumPy 2,
Python >= 3.12, setuptools >= 81), as judged by chainer's own test suite, and nothing else:

* ``chainer._environment_check`` imports ``numpy.distutils`` (gone on Python >= 3.12) and
  ``pkg_resources`` (gone in setuptools >= 81). It only warns about CuPy releases other than
  7.x (true of every CuPy today) and about macOS Accelerate BLAS, so it is replaced by a
  module whose ``check()`` does nothing.
* Every other part is fixed by rewriting the module's source as it is loaded (``_SOURCE_FIXES``
  below lists each text replaced and why), each time with what the code meant, or did, under
  NumPy 1.x and Python 3.11. The real ``numpy`` module is never modified, so chainer's
  ``xp is numpy`` checks still hold. The rewrite is applied on any NumPy, and fails loudly
  (``ChainerSourceMismatch``) if chainer's source is not the one it was written for.
* ``chainer.testing`` asked ``pkg_resources`` (gone in setuptools >= 81, deprecated before)
  whether a test's requirements are installed; it asks ``chainer_vae._compat.requirements``
  instead, which answers the same question from ``importlib.metadata`` and ``packaging``.
"""
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types

_ENVIRONMENT_CHECK = "chainer._environment_check"

# What chainer.testing imports in place of pkg_resources (only WorkingSet().require and
# ResolutionError are used).
_PKG_RESOURCES = "from chainer_vae._compat import requirements as pkg_resources\n"

# module -> [(old text, what it meant under NumPy 1 / Python 3.11, expected count)]
_SOURCE_FIXES = {
    # np.sctypes was removed in NumPy 2.0; these are its NumPy 1 lists.
    "chainer.functions.array.as_strided": [
        ("np.sctypes['int']", "[np.int8, np.int16, np.int32, np.int64]", 1),
        ("np.sctypes['float']", "[np.float16, np.float32, np.float64, np.longdouble]", 1),
    ],
    # numpy.float (an alias of the builtin float, i.e. float64) was removed in NumPy 1.24.
    "chainer.functions.array.resize_images": [
        ("dtype=numpy.float)", "dtype=numpy.float64)", 6),
    ],
    # NumPy 1's meshgrid returned a list, NumPy 2's a tuple: `mg + [x]` raised TypeError.
    "chainer.distributions.categorical": [
        ("mg = numpy.meshgrid(\n", "mg = list(numpy.meshgrid(\n", 1),
        ("            indexing='ij')\n", "            indexing='ij'))\n", 1),
    ],
    # NumPy 1 cast a Python int out of the dtype's range modulo 2**bits (-1 -> 255 for uint8);
    # NumPy 2 raises OverflowError for Python scalars, but still casts arrays so.
    "chainer.functions.array.pad_sequence": [
        ("y[i, l:] = self.padding", "y[i, l:] = xp.asarray(self.padding)", 1),
    ],
    # NumPy 2 arrays have a `.device` ('cpu'); NumPy 1's had none, so 'CPU' was printed.
    "chainer.variable": [
        ("device = getattr(array, 'device', 'CPU')",
         "device = ('CPU' if isinstance(array, numpy.ndarray)\n"
         "                          else getattr(array, 'device', 'CPU'))", 1),
    ],
    # numpy.fix is deprecated in NumPy 2.5; it rounds towards zero, which is numpy.trunc
    # (bit for bit, -0.0, inf and nan included; CuPy has both). F.fmod's backward calls F.fix.
    "chainer.functions.math.fix": [
        ("xp.fix(x)", "xp.trunc(x)", 1),
    ],
    # A third positional argument of numpy.maximum is its `out`; passing it so is deprecated
    # in NumPy 2.5. And numpy.full casts its fill value as NumPy 1 did (-1 -> 255 for uint8)
    # only when given an array, as for pad_sequence (CuPy's arrays are left as they were).
    "chainer.dataset.convert": [
        ("numpy.maximum(shape, array.shape, shape)",
         "numpy.maximum(shape, array.shape, out=shape)", 1),
        ("device.xp.full(shape, padding, dtype=arrays[0].dtype)",
         "device.xp.full(shape, numpy.asarray(padding) if device.xp is numpy else padding,\n"
         "                                dtype=arrays[0].dtype)", 1),
    ],
    # NumPy 1's copy=False meant "copy only if needed", which is asarray; NumPy 2's means
    # "never copy" and raises ValueError when the dtype differs, which it always does here.
    "chainermn.communicators._memory_utility": [
        ("xp.array(v, copy=False, dtype=transfer_dtype)",
         "xp.asarray(v, dtype=transfer_dtype)", 1),
    ],
    # Thread.setDaemon is deprecated since Python 3.10 (DeprecationWarning).
    "chainer.iterators.multiprocess_iterator": [
        ("thread.setDaemon(True)", "thread.daemon = True", 1),
    ],
    # chainer.gradient_check imports chainer.testing; with_requires/without_requires asked
    # pkg_resources, which setuptools >= 81 no longer has.
    "chainer.testing.helper": [
        ("import pkg_resources\n", _PKG_RESOURCES, 1),
    ],
    "chainer.testing.doctest_helper": [
        ("import pkg_resources\n", _PKG_RESOURCES, 1),
    ],
}


class ChainerSourceMismatch(ImportError):
    """chainer's source is not the 7.8.1 release these fixes were written for."""


class _FixingLoader(importlib.machinery.SourceFileLoader):
    """Loads a chainer module with its broken parts replaced."""

    def source_to_code(self, data, path, *, _optimize=-1):
        source = importlib.util.decode_source(data)
        for old, new, expected in _SOURCE_FIXES[self.name]:
            found = source.count(old)
            if found != expected:
                raise ChainerSourceMismatch(
                    "{}: expected {} occurrence(s) of {!r}, found {}; chainer-vae supports "
                    "chainer 7.8.1 only".format(path, expected, old, found))
            source = source.replace(old, new)
        return compile(source, path, "exec", dont_inherit=True, optimize=_optimize)

    def get_code(self, fullname):
        # Bypass the bytecode cache: the cached .pyc holds the unfixed code.
        return self.source_to_code(self.get_data(self.get_filename(fullname)),
                                   self.get_filename(fullname))


class _FixingFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname not in _SOURCE_FIXES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and isinstance(spec.loader, importlib.machinery.SourceFileLoader):
            spec.loader = _FixingLoader(fullname, spec.origin)
        return spec


def _environment_check_module():
    module = types.ModuleType(_ENVIRONMENT_CHECK)
    module.__doc__ = "chainer's environment check, replaced by chainer_vae._compat."
    module.check = lambda: None
    return module


def install():
    """Install the fixes. Idempotent; a no-op for chainer modules already imported
    (a chainer that imported before this ran needed no fix)."""
    sys.modules.setdefault(_ENVIRONMENT_CHECK, _environment_check_module())
    if not any(isinstance(finder, _FixingFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _FixingFinder())


install()
