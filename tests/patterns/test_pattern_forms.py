"""Lines that differ in their digits only: grouped from what the grouper remembered of the
first ones, as they would have been from scratch."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest

from opsconsole.sources import log_patterns
from opsconsole.sources.log_patterns import PatternGrouper, mask

DATA = Path(__file__).resolve().parents[2] / "bench" / "patterns" / "data"


def _templates(lines: list[str]) -> dict[str, list[str]]:
    """Each line's pattern's templates, the lines fed in turn into one grouper."""
    grouper = PatternGrouper()
    ids = {line: grouper.add(line, 1.0) for line in lines}
    found = {}
    for line, pattern_id in ids.items():
        pattern = grouper.get(pattern_id)
        assert pattern is not None
        found[line] = pattern.templates
    return found


def test_digits_kept_in_a_word_stay_those_of_each_line() -> None:
    # debug1:/debug2: and Leader@588/Leader@604 differ in kept digits only.
    lines = [
        *[f"debug1: channel {n}: free" for n in range(5)],
        "debug2: channel 7: free",
        *[f"[Thread-{n}:Leader@588] - sent {n}" for n in range(5)],
        "[Thread-9:Leader@604] - sent 9",
    ]
    found = _templates(lines)
    assert found["debug1: channel 4: free"] == ["debug1: channel <*> free"]
    assert found["debug2: channel 7: free"] == ["debug2: channel <*> free"]
    assert found["[Thread-4:Leader@588] - sent 4"] == ["[<*>:Leader@588] - sent <*>"]
    assert found["[Thread-9:Leader@604] - sent 9"] == ["[<*>:Leader@604] - sent <*>"]


def test_digits_that_a_mask_names_are_told_apart() -> None:
    # 0x starts a hex value and ::1 is an address where 5x and ::2 are neither.
    lines = [*(["at a/0x1f and ::1"] * 4), "at a/5x1f and ::2"]
    assert mask("at a/5x1f and ::2") == "at a/5x1f and ::2"
    found = _templates(lines)
    assert found["at a/0x1f and ::1"] == ["at a/<*> and <*>"]
    assert found["at a/5x1f and ::2"] == ["at a/5x1f and ::2"]


def test_mask_shows_a_time_with_fractions_as_one_value_as_grouping_does() -> None:
    assert mask("14:26:31.723 client 10.0.0.1#53") == "<*> client <*>#<*>"
    assert _templates(["14:26:31.723 client 10.0.0.1#53"])["14:26:31.723 client 10.0.0.1#53"] == [
        "<*> client <*>#<*>"
    ]


def test_every_real_log_is_grouped_as_if_each_line_were_masked_afresh(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every set's lines, interleaved, five times over with every digit changed: the same
    groups and templates as when only lines seen exactly before are remembered (digits
    kept as they are in the key)."""
    sets = []
    for path in sorted(DATA.glob("*.tsv.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as rows:
            sets.append([row.rstrip("\n").partition("\t")[2] for row in rows][:500])
    stream = [
        re.sub(r"\d", lambda digit, k=round_: str((int(digit.group()) + k) % 10), line)
        for round_ in range(5)
        for lines in zip(*sets, strict=False)
        for line in lines
    ]

    def grouped() -> tuple[list[int], list[list[str]]]:
        grouper = PatternGrouper()
        ids = [grouper.add(line, 1.0) for line in stream]
        return ids, [pattern.templates for pattern in grouper.patterns]

    by_digits = grouped()
    monkeypatch.setattr(log_patterns, "_DIGITS", bytes(range(256)))
    assert by_digits == grouped()


def test_the_masks_match_as_they_do_without_the_lookbehind_that_says_where_they_start() -> None:
    """``MASK_RE`` says first that no mask starts after a letter, digit or underscore: every
    word and line of the labelled logs is masked as by the masks alone."""
    plain = re.compile("|".join(f"(?:{regex})" for _, regex in log_patterns.MASKS))
    for path in sorted(DATA.glob("*.tsv.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as rows:
            lines = [row.rstrip("\n").partition("\t")[2] for row in rows]
        for text in {*lines, *(word for line in lines for word in line.split())}:
            assert log_patterns.MASK_RE.sub("<*>", text) == plain.sub("<*>", text), text


def test_a_json_string_value_is_found_as_by_one_character_or_escape_at_a_time() -> None:
    """``JSON_STRING`` tries a value without a backslash as one run first: the same spans as
    the plain form, escapes and the 500-character bound included."""
    kept = log_patterns._KEPT
    plain = re.compile(rf'":{kept}"(?:[^"\\]|\\.){{0,500}}"')
    values = ["", "a b", r"say \"hi\"", "x" * 500, "x" * 501, "x" * 499 + r"\"", r"\\", "é ü"]
    for value in values:
        line = f'{{"level":"info","msg":"{value}","path":"{value}","n":"{value}"}}'
        assert log_patterns.JSON_STRING.sub("<*>", line) == plain.sub("<*>", line), value
