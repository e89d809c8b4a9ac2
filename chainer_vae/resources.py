"""Sizes checked before memory is spent: what this machine can hold, in bytes."""
from __future__ import annotations

import os
import resource

from chainer_vae.errors import ConfigError


def available_memory():
    """Bytes of memory available to a new allocation: ``MemAvailable`` of /proc/meminfo
    where there is one, else the physical memory; less where this process's address
    space is limited (``ulimit -v``)."""
    available = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
    except OSError:
        pass
    limit, _ = resource.getrlimit(resource.RLIMIT_AS)
    if limit != resource.RLIM_INFINITY:
        available = min(available, max(0, limit - _address_space()))
    return available


def _address_space():
    """Bytes of address space this process uses now (0 where /proc does not say)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def check_fits(nbytes, what, hint=""):
    """A ``ConfigError`` saying what ``what`` would need when ``nbytes`` is more than the
    memory available now; ``hint`` says what to change."""
    available = available_memory()
    if nbytes > available:
        raise ConfigError("{} would need {} of memory; {} is available{}".format(
            what, _size(nbytes), _size(available), "; " + hint if hint else ""))


def _size(nbytes):
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if nbytes < 1024 or unit == "PiB":
            return "{:.1f} {}".format(nbytes, unit) if unit != "bytes" else "{} bytes".format(
                int(nbytes))
        nbytes /= 1024.0
