"""benchmarks/timing.py: the clock, interleaved repeats and medians the speed scripts share."""
from __future__ import annotations

import time

from benchmarks.timing import Clock, interleaved, median_per_key, medians, timed


def test_the_clock_waits_for_the_device_when_it_starts_and_when_it_is_read():
    waits = []
    with Clock(lambda: waits.append(True)) as clock:
        assert len(waits) == 1
        total = sum(range(200000))  # CPU work for the CPU clock
        time.sleep(0.02)
    assert total > 0 and len(waits) == 2
    assert clock.seconds >= 0.02 and clock.cpu_seconds > 0
    assert clock.elapsed() > clock.seconds and len(waits) == 3


def test_timed_returns_the_value_and_its_seconds():
    value, seconds = timed(lambda delay: time.sleep(delay) or "done", 0.02)
    assert value == "done" and seconds >= 0.02


def test_interleaved_runs_every_side_in_turn_each_round():
    calls = []
    runs = interleaved({"ours": lambda: calls.append("ours") or len(calls),
                        "theirs": lambda: calls.append("theirs") or -len(calls)}, 3)
    assert calls == ["ours", "theirs"] * 3
    assert runs == {"ours": [1, 3, 5], "theirs": [-2, -4, -6]}


def test_medians_of_lists_and_per_key():
    assert medians({"odd": [3, 1, 2], "even": [4, 1, 3, 2]}) == {"odd": 2, "even": 2.5}
    runs = [{"forward": 1.0, "backward": 5.0}, {"forward": 3.0, "backward": 1.0},
            {"forward": 2.0, "backward": 3.0}]
    assert median_per_key(runs) == {"forward": 2.0, "backward": 3.0}
    assert list(median_per_key(runs)) == ["forward", "backward"]  # the runs' key order
