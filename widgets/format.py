"""Number formatting for the panes: sizes, rates, percents, durations, and "n/a" for the unknown.

Every helper takes ``None`` (a figure this kernel does not provide) and non-finite floats (a
damaged recording) and returns ``NA`` instead of raising, so a pane never crashes on a missing
figure. Outputs are short and of bounded width, because they sit in fixed columns at 80x24.
Sizes use binary multiples with one-letter units, as htop and top do (``1.5G`` is 1.5 GiB).
"""

from __future__ import annotations

import math
from typing import Final

NA: Final = "n/a"
"""Shown for a figure that is not available."""

_UNITS: Final = ("B", "K", "M", "G", "T", "P", "E")


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def size(value: float | None) -> str:
    """Bytes as at most four digits and a unit: ``512B``, ``9.8K``, ``123M``, ``1.5G``."""
    if value is None or not _finite(value):
        return NA
    sign = "-" if value < 0 else ""
    amount = abs(float(value))
    unit = 0
    # Step up below 1000, not at 1024, so that the number never needs four digits ("1010K").
    while amount >= 999.5 and unit < len(_UNITS) - 1:
        amount /= 1024
        unit += 1
    if unit == 0:
        return f"{sign}{amount:.0f}B"
    digits = f"{amount:.1f}" if amount < 9.95 else f"{amount:.0f}"
    return f"{sign}{digits}{_UNITS[unit]}"


def rate(value: float | None) -> str:
    """Bytes per second: ``1.2M/s``."""
    text = size(value)
    return text if text == NA else f"{text}/s"


def percent(value: float | None, decimals: int = 1) -> str:
    """A percentage: ``45.2%``; process CPU above 100 (several cores) is shown as it is."""
    if value is None or not _finite(value):
        return NA
    return f"{value:.{decimals}f}%"


def number(value: float | None, decimals: int = 2) -> str:
    """A plain figure with fixed decimals, such as a load average: ``1.25``."""
    if value is None or not _finite(value):
        return NA
    return f"{value:.{decimals}f}"


def count(value: int | None) -> str:
    """A count with thousands separators: ``12,345``."""
    return NA if value is None else f"{value:,}"


def duration(seconds: float | None) -> str:
    """A span of time in its two largest units: ``45s``, ``12m 3s``, ``4h 12m``, ``3d 4h``."""
    if seconds is None or not _finite(seconds):
        return NA
    total = max(0, int(seconds))
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"
