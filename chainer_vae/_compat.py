"""Make chainer 7.8.1 import and run on today's NumPy, Python and setuptools.

Chainer stopped at 7.8.1 (2020). Exactly four of its parts break on a 2026 stack, and
this module, imported by ``chainer_vae/__init__.py`` before anything imports chainer,
mends exactly those four and nothing else:

1. ``chainer._environment_check`` imports ``numpy.distutils`` (gone on Python >= 3.12)
   and ``pkg_resources`` (gone in setuptools >= 81). It only warns about CuPy releases
   other than 7.x (true of every CuPy today) and about macOS Accelerate BLAS, so it is
   replaced by a module whose ``check()`` does nothing.
2. ``chainer.functions.array.as_strided`` reads ``numpy.sctypes`` (removed in NumPy 2.0),
   at import time and in its backward pass.
3. ``chainer.functions.array.resize_images`` passes ``dtype=numpy.float`` (removed in
   NumPy 1.24).
4. ``chainer.testing.helper`` imports ``pkg_resources`` at the top, so with setuptools >= 81
   ``chainer.testing`` and ``chainer.gradient_check`` (which imports it) fail; only its
   ``with_requires``/``without_requires`` use it, so the import moves into them.

For 2, 3 and 4 the module's source is rewritten as it is loaded, each removed name
replaced by what it meant (the NumPy 1.x value; a deferred import), so the real ``numpy``
module is never modified and chainer's ``xp is numpy`` checks still hold. The rewrite is applied on any NumPy (the
replacements are what the old names meant) and fails loudly if chainer's source is not
the one it was written for.
"""
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types

_ENVIRONMENT_CHECK = "chainer._environment_check"

# module -> [(old text, NumPy 1.x meaning, expected count)]
_SOURCE_FIXES = {
    "chainer.functions.array.as_strided": [
        ("np.sctypes['int']", "[np.int8, np.int16, np.int32, np.int64]", 1),
        ("np.sctypes['float']", "[np.float16, np.float32, np.float64, np.longdouble]", 1),
    ],
    "chainer.functions.array.resize_images": [
        ("dtype=numpy.float)", "dtype=numpy.float64)", 6),
    ],
    # Imported by chainer.gradient_check; pkg_resources is only needed by with_requires().
    "chainer.testing.helper": [
        ("import pkg_resources\n", "", 1),
        ("    ws = pkg_resources.WorkingSet()",
         "    import pkg_resources\n    ws = pkg_resources.WorkingSet()", 2),
    ],
}


class ChainerSourceMismatch(ImportError):
    """chainer's source is not the 7.8.1 release these fixes were written for."""


class _FixingLoader(importlib.machinery.SourceFileLoader):
    """Loads a chainer module with its removed NumPy names replaced."""

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
    """Install the four fixes. Idempotent; a no-op for chainer modules already imported
    (a chainer that imported before this ran needed no fix)."""
    sys.modules.setdefault(_ENVIRONMENT_CHECK, _environment_check_module())
    if not any(isinstance(finder, _FixingFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _FixingFinder())


install()
