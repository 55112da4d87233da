"""Number formatting: the figures as a person reads them, and n/a for what is unknown."""

from __future__ import annotations

import math

import pytest

from opsconsole.widgets.format import NA, count, duration, number, percent, rate, size


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0, "0B"),
        (512, "512B"),
        (999, "999B"),
        (1000, "1.0K"),  # steps up before a fourth digit would be needed
        (1536, "1.5K"),
        (10 * 1024, "10K"),
        (999 * 1024, "999K"),
        (1023 * 1024, "1.0M"),
        (int(15.5 * 2**30), "16G"),
        (3 * 2**40, "3.0T"),
        (-2048, "-2.0K"),
    ],
)
def test_size(value: int, shown: str) -> None:
    assert size(value) == shown


def test_size_never_needs_more_than_four_cells() -> None:
    for exponent in range(0, 19):
        for mantissa in (1.0, 4.99, 9.94, 9.96, 99.4, 99.6, 999.4, 999.6):
            assert len(size(mantissa * 10**exponent)) <= 4, mantissa * 10**exponent


@pytest.mark.parametrize("unknown", [None, math.nan, math.inf, -math.inf])
def test_unknown_figures_are_na(unknown: float | None) -> None:
    assert size(unknown) == NA
    assert rate(unknown) == NA
    assert percent(unknown) == NA
    assert number(unknown) == NA
    assert duration(unknown) == NA


def test_rate_percent_number_count() -> None:
    assert rate(1.25 * 2**20) == "1.2M/s"
    assert rate(0.0) == "0B/s"
    assert percent(45.26) == "45.3%"
    assert percent(45.26, 0) == "45%"
    assert percent(350.0) == "350.0%"  # a process on several cores
    assert number(1.256) == "1.26"
    assert number(0.26, 1) == "0.3"
    assert count(1234567) == "1,234,567"
    assert count(None) == NA


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "0s"),
        (45.9, "45s"),
        (12 * 60 + 3, "12m 3s"),
        (4 * 3600 + 12 * 60 + 59, "4h 12m"),
        (3 * 86400 + 4 * 3600 + 5, "3d 4h"),
        (-5, "0s"),  # a clock step backwards is not a negative uptime
    ],
)
def test_duration(seconds: float, shown: str) -> None:
    assert duration(seconds) == shown
