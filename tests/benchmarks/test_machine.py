"""benchmarks/machine.py: BLAS threads set alike for both sides, and the PyTorch peer
found or explained (torch itself is installed by ``make bench`` only: stand-ins here)."""
from __future__ import annotations

import sys
import types

from benchmarks import machine


class _Torch:
    def __init__(self, cuda=False):
        self.cuda = types.SimpleNamespace(is_available=lambda: cuda)
        self.threads = None

    def set_num_threads(self, threads):
        self.threads = threads


def test_set_threads_gives_blas_and_torch_the_same_count():
    before = machine.blas_threads()
    torch = _Torch()
    try:
        assert machine.set_threads(1, torch) == 1 and torch.threads == 1
        assert machine.blas_threads() in (1, None)  # None: NumPy without its OpenBLAS
        assert machine.set_threads(None, torch) == torch.threads >= 1
    finally:
        machine.blas_threads(before)


def test_the_peer_is_torch_or_why_there_is_none(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch raises ImportError
    assert machine.peer_torch(False) == (None, "PyTorch is not installed")
    cpu_only = _Torch(cuda=False)
    monkeypatch.setitem(sys.modules, "torch", cpu_only)
    assert machine.peer_torch(False) == (cpu_only, None)
    assert machine.peer_torch(True) == (None, "PyTorch has no CUDA here")
    monkeypatch.setitem(sys.modules, "torch", _Torch(cuda=True))
    assert machine.peer_torch(True)[1] is None
