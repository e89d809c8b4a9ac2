"""How the benchmarks time: a clock of wall and CPU seconds, runs interleaved over repeats,
and the medians they report."""
from __future__ import annotations

import statistics
import time


def _no_wait():
    """Nothing queued to wait for (the CPU)."""


class Clock:
    """Wall and CPU seconds since ``start``.

    Parameters
    ----------
    synchronize : callable, optional
        Waits for a device's queued work (a GPU's); called when the clock starts and before
        each wall-time reading, so the timed span holds exactly the work queued within it.
        Default: nothing to wait for.

    Used as a context manager, the clock starts on entry and leaves ``seconds`` (wall) and
    ``cpu_seconds`` when the block ends.
    """

    def __init__(self, synchronize=None):
        self.synchronize = synchronize or _no_wait
        self.started = self.cpu_started = None
        self.seconds = self.cpu_seconds = None

    def start(self):
        """Start (or restart) the clock; returns it."""
        self.synchronize()
        self.started = time.perf_counter()
        self.cpu_started = time.process_time()
        return self

    def elapsed(self):
        """Wall seconds since ``start``, the device's queued work included."""
        self.synchronize()
        return time.perf_counter() - self.started

    def cpu_elapsed(self):
        """CPU seconds this process used since ``start`` (all its threads)."""
        return time.process_time() - self.cpu_started

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.seconds = self.elapsed()
        self.cpu_seconds = self.cpu_elapsed()


def interleaved(sides, repeats):
    """Run every side once per round, in the order given, for ``repeats`` rounds: on a
    shared, noisy machine each side then sees the same spells of load.

    Parameters
    ----------
    sides : dict
        {name: function()} returning one run's figure(s).
    repeats : int
        Rounds.

    Returns
    -------
    dict
        {name: [what its function returned, round by round]}.
    """
    runs = {name: [] for name in sides}
    for _ in range(repeats):
        for name, side in sides.items():
            runs[name].append(side())
    return runs


def medians(values):
    """{name: median of its list} of {name: list of numbers}."""
    return {name: statistics.median(numbers) for name, numbers in values.items()}


def median_per_key(runs):
    """{key: median over ``runs``} of a list of {key: number} dicts (runs of equal keys)."""
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def timed(function, *args, **kwargs):
    """(what ``function(*args, **kwargs)`` returns, the wall seconds it took)."""
    with Clock() as clock:
        value = function(*args, **kwargs)
    return value, clock.seconds
