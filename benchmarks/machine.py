"""What the speed benchmarks run on: NumPy's BLAS threads (and PyTorch's, set alike), the
device (CPU or a CUDA GPU through CuPy), and whether PyTorch is there to compare with."""
from __future__ import annotations

import ctypes
import glob
import os
from pathlib import Path

import numpy as np

import chainer_vae  # noqa: F401  (before chainer)
import chainer

TORCH_MISSING = "PyTorch is not installed: pip install torch==2.13.0 (CPU build)"


def _openblas():
    """NumPy's bundled OpenBLAS library (ctypes) and its symbol (prefix, suffix), or
    (None, (None, None))."""
    libs = Path(np.__file__).resolve().parent.parent / "numpy.libs"
    for path in sorted(glob.glob(str(libs / "libscipy_openblas*.so*"))):
        lib = ctypes.CDLL(path)  # already loaded by NumPy: the same library instance
        for prefix in ("scipy_openblas", "openblas"):
            for suffix in ("64_", "_64_", ""):
                if hasattr(lib, prefix + "_get_num_threads" + suffix):
                    return lib, (prefix, suffix)
    return None, (None, None)


def blas_threads(set_to=None):
    """The number of threads NumPy's OpenBLAS uses (after setting it to ``set_to``), or
    None where NumPy has no bundled OpenBLAS."""
    lib, (prefix, suffix) = _openblas()
    if lib is None:
        return None
    if set_to is not None:
        getattr(lib, prefix + "_set_num_threads" + suffix)(int(set_to))
    return int(getattr(lib, prefix + "_get_num_threads" + suffix)())


def set_threads(requested=None, torch=None):
    """Give NumPy's OpenBLAS and PyTorch (the module, where given) the same number of
    threads: ``requested``, else OpenBLAS's own count (the machine's cores, or
    $OPENBLAS_NUM_THREADS). Returns that number."""
    threads = blas_threads(requested)
    if threads is None:  # NumPy without its bundled OpenBLAS: count cores
        threads = requested or len(os.sched_getaffinity(0))
    if torch is not None:
        torch.set_num_threads(threads)
    return threads


def cuda_device(device):
    """CuPy's ``Device`` for chainer's device specifier ``device``, or None for the CPU."""
    device = chainer.get_device(device)
    return None if device.xp is np else device.device


def device_synchronizer(device):
    """A function that waits for ``device``'s queued work (nothing to wait for on a CPU)."""
    cuda = cuda_device(device)
    return (lambda: None) if cuda is None else cuda.synchronize


def torch_device(device):
    """PyTorch's name for chainer's ``device`` (``@cupy:N`` -> ``cuda:N``)."""
    cuda = cuda_device(device)
    return "cpu" if cuda is None else "cuda:{}".format(cuda.id)


def gpu_name(device):
    """The GPU's name for the results, or None on the CPU."""
    cuda = cuda_device(device)
    if cuda is None:
        return None
    import cupy

    name = cupy.cuda.runtime.getDeviceProperties(cuda.id)["name"]
    return name.decode() if isinstance(name, bytes) else name


def peer_torch(on_gpu):
    """(the torch module to compare with, None) or (None, why there is none): on a GPU,
    PyTorch is the peer only where it has CUDA."""
    try:
        import torch
    except ImportError:
        return None, "PyTorch is not installed"
    if on_gpu and not torch.cuda.is_available():
        return None, "PyTorch has no CUDA here"
    return torch, None
