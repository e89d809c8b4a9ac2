"""argparse types for numeric options: each refuses a bad value before any work is done.

``integer(low, high)`` and ``real(low, high, above=...)`` build the types; the common
ones are named (``positive_int``, ``non_negative_int``, ``finite_positive_float``,
``probability``). A refused value becomes argparse's usage error, so the command line
prints one line naming the option and exits with status 2.
"""
from __future__ import annotations

import argparse
import math
from typing import Callable, Optional


def integer(low: Optional[int] = None, high: Optional[int] = None) -> Callable[[str], int]:
    """A type for whole numbers in ``low..high`` (either end open when None)."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{_range(low, high, 'an integer')}, not {text!r}") from None
        if (low is not None and value < low) or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{_range(low, high, 'an integer')}, not {text!r}")
        return value

    parse.__name__ = "integer"
    return parse


def real(low: Optional[float] = None, high: Optional[float] = None, *,
         above: bool = False) -> Callable[[str], float]:
    """A type for finite numbers (never nan or inf) from ``low`` (or ``above`` it) to ``high``."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        too_low = low is not None and (value <= low if above else value < low)
        too_high = high is not None and value > high
        if not math.isfinite(value) or too_low or too_high:
            raise argparse.ArgumentTypeError(
                f"{_range(low, high, 'a finite number', above)}, not {text!r}")
        return value

    parse.__name__ = "real"
    return parse


def _range(low, high, kind: str, above: bool = False) -> str:
    """'must be an integer from 1 to 127', 'must be a finite number above 0', ..."""
    if low is not None and high is not None:
        return (f"must be {kind} above {_number(low)} and at most {_number(high)}" if above
                else f"must be {kind} from {_number(low)} to {_number(high)}")
    if low is not None:
        return f"must be {kind} {'above' if above else 'of at least'} {_number(low)}"
    if high is not None:
        return f"must be {kind} of at most {_number(high)}"
    return f"must be {kind}"


def _number(value) -> str:
    """A bound as people write it: 131072, 0.5, 3.576."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.4g}"


positive_int = integer(1)
non_negative_int = integer(0)
finite_float = real()
finite_positive_float = real(0, above=True)
probability = real(0, 1)
