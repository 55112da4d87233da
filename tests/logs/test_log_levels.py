"""Levels, times and JSON fields detected in log lines."""

from __future__ import annotations

import calendar
import time

import pytest

from opsconsole.sources.log_levels import (
    Level,
    analyse,
    detect_level,
    json_level,
    json_time,
    parse_timestamp,
)


@pytest.mark.parametrize(
    ("line", "level"),
    [
        ("2026-11-24 10:00:00 ERROR db down", Level.ERROR),
        ("2026-11-24 10:00:00 [warn] slow", Level.WARN),
        ("FATAL: out of memory", Level.FATAL),
        ("level=debug msg=hello", Level.DEBUG),
        ('time="x" level=error msg="nope"', Level.ERROR),
        ("<3>kernel: oops", Level.ERROR),
        ("<14>app: fine", Level.INFO),
        ("<12>app: careful", Level.WARN),
        ("Traceback (most recent call last):", Level.ERROR),
        ("java.lang.IllegalStateException: broken", Level.ERROR),
        ("ValueError: bad", Level.ERROR),
        ("all good here", Level.NONE),
        ("no errors were found in the terror", Level.NONE),
        ("INFO listening on :8080", Level.INFO),
    ],
)
def test_levels(line: str, level: Level) -> None:
    assert detect_level(line) == level


def test_traceback_continuation_lines_inherit_the_error() -> None:
    assert detect_level('  File "x.py", line 3, in f', Level.ERROR) == Level.ERROR
    assert detect_level("    at com.example.Foo(Foo.java:1)", Level.ERROR) == Level.ERROR
    assert detect_level('  File "x.py", line 3, in f', Level.INFO) == Level.NONE


def test_json_levels_and_times() -> None:
    info = analyse('{"level":"warning","msg":"slow","ts":1764000000.5}')
    assert info.level == Level.WARN
    assert info.stamp is not None and info.stamp.ts == 1764000000.5
    assert json_level({"PRIORITY": "3"}) == Level.ERROR
    assert json_level({"severity": 2}) == Level.FATAL
    assert json_time({"__REALTIME_TIMESTAMP": "1764000000123456"}) == pytest.approx(
        1764000000.123456
    )
    assert json_time({"time": 1764000000123}) == pytest.approx(1764000000.123)
    assert json_time({"@timestamp": "2026-11-24T10:00:00Z"}) == calendar.timegm(
        (2026, 11, 24, 10, 0, 0)
    )


def test_timestamps() -> None:
    stamp = parse_timestamp("2026-11-24T10:00:00.250+01:00 INFO x")
    assert stamp is not None
    assert stamp.ts == calendar.timegm((2026, 11, 24, 9, 0, 0)) + 0.25
    assert (stamp.start, stamp.end) == (0, 29)
    stamp = parse_timestamp("Nov 24 11:19:54 host sshd[1]: hi", year=2026)
    assert stamp is not None
    assert stamp.ts == time.mktime((2026, 11, 24, 11, 19, 54, 0, 0, -1))
    assert parse_timestamp("2026-02-31T10:00:00Z nope") is None
    assert parse_timestamp("no time here") is None


def test_garbage_never_raises() -> None:
    for text in ("{", "{not json", "<999>", "\x00\x1b[31m", "level=", "\udcff"):
        analyse(text)
