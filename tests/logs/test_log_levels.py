"""Levels, times and JSON fields detected in log lines."""

from __future__ import annotations

import calendar
import random
import re
import sys
import time

import pytest

from opsconsole.sources.log_levels import (
    SCAN,
    Level,
    _may_name_level,
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


_KEY_FIELD = re.compile(
    r"""\b(?:level|lvl|severity|loglevel)["']?\s*[=:]\s*["']?([A-Za-z]+|[0-7]\b)""", re.IGNORECASE
)
"""The level-field pattern ``detect_level`` searches with, as it was before its pre-check."""
_LEVEL_PIECES = (
    "level", "LEVEL", "Level", "lEvEl", "lvl", "LVL", "severity", "SEVERITY", "\u017feverity",
    "\u0130", "\u0131", "\u212a", "loglevel", "log.level", "PRIORITY", "=", ":", " = ", "\"", "'",
    "warn", "Error", "ERROR", "error", "crit", "info", "I", "E", "3", "7", "9", "[", "]", "<",
    "<3>", "<14>", "{", "}", ",", "  ", "\t", "ev", "vl", "EV", "VL", "eV", "Vl", "served",
    "device", "x", "W1124", "Exception", "Traceback (most recent call last)", "Caused by: ",
    "panic: ", "  at ", "Nov 24 11:19:54 ", "2026-11-24T10:00:00.250+01:00 ", "é", "\x1b[31m",
)  # fmt: skip


def test_the_level_field_pre_check_passes_every_line_the_pattern_matches() -> None:
    # detect_level searches for a level field only in a line that _may_name_level passes:
    # a line it refused that the pattern matches would lose its level.
    rng = random.Random(11)
    for _ in range(20_000):
        text = "".join(rng.choice(_LEVEL_PIECES) for _ in range(rng.randint(1, 10)))
        if _KEY_FIELD.search(text[:SCAN]) is not None:
            assert _may_name_level(text[:SCAN]), repr(text)


def test_only_e_v_and_l_match_their_letters_case_insensitively() -> None:
    # What _may_name_level relies on, over every code point.
    for letter in "evl":
        pattern = re.compile(letter, re.IGNORECASE)
        matched = [c for c in map(chr, range(sys.maxunicode + 1)) if pattern.fullmatch(c)]
        assert matched == [letter.upper(), letter]


def test_analyse_without_the_stamp_leaves_out_only_a_text_line_s_time() -> None:
    for text in (
        "Nov 24 11:19:54 host sshd[1]: ERROR hi",
        "2026-11-24T10:00:00Z level=warn x",
        '{"level":"error","ts":1764000000.5,"msg":"x"}',
        "no time here",
    ):
        full, lean = analyse(text), analyse(text, stamp=False)
        assert (lean.level, lean.fields) == (full.level, full.fields)
        if full.fields is None:
            assert lean.stamp is None
        else:
            assert lean.stamp is not None and full.stamp is not None
            assert (lean.stamp.ts, lean.stamp.start, lean.stamp.end) == (
                full.stamp.ts,
                full.stamp.start,
                full.stamp.end,
            )
