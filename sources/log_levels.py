"""What a log line says about itself: its level, its time, and its fields when it is JSON.

These run for every line drawn on screen and for every line a filter looks at, so each is one
compiled regular expression over the start of the line, with no allocation on the common path.
Nothing here trusts the line: any text gives an answer (possibly "none"), never an exception.
"""

from __future__ import annotations

import enum
import functools
import re
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import msgspec


class Level(enum.IntEnum):
    """Severity of a line, ordered so that a minimum level is a comparison."""

    NONE = 0
    TRACE = 1
    DEBUG = 2
    INFO = 3
    NOTICE = 4
    WARN = 5
    ERROR = 6
    FATAL = 7

    @classmethod
    def parse(cls, text: str) -> Level:
        """The level a word names (``warn``, ``Error``, ``crit``, ``5``...); ValueError if none."""
        word = text.strip().upper()
        if word.isdigit() and int(word) < 8:
            return _SYSLOG_SEVERITY[int(word)]
        level = _WORDS.get(word)
        if level is None:
            raise ValueError(f"not a level: {text!r} (use error, warn, info, debug...)")
        return level


_WORDS: dict[str, Level] = {
    "FATAL": Level.FATAL,
    "PANIC": Level.FATAL,
    "EMERG": Level.FATAL,
    "EMERGENCY": Level.FATAL,
    "ALERT": Level.FATAL,
    "CRIT": Level.FATAL,
    "CRITICAL": Level.FATAL,
    "SEVERE": Level.ERROR,
    "ERROR": Level.ERROR,
    "ERR": Level.ERROR,
    "E": Level.ERROR,
    "WARN": Level.WARN,
    "WARNING": Level.WARN,
    "W": Level.WARN,
    "NOTICE": Level.NOTICE,
    "INFO": Level.INFO,
    "I": Level.INFO,
    "DEBUG": Level.DEBUG,
    "D": Level.DEBUG,
    "TRACE": Level.TRACE,
}

# syslog severities 0..7 (RFC 5424): emerg, alert, crit, err, warning, notice, info, debug.
_SYSLOG_SEVERITY = (
    Level.FATAL,
    Level.FATAL,
    Level.FATAL,
    Level.ERROR,
    Level.WARN,
    Level.NOTICE,
    Level.INFO,
    Level.DEBUG,
)

SCAN = 300
"""Characters at the start of a line searched for a level word: levels sit near the front."""

_LEVEL_WORD = re.compile(
    r"(?<![\w.-])(FATAL|PANIC|EMERG(?:ENCY)?|ALERT|CRIT(?:ICAL)?|SEVERE|ERROR|ERR|WARN(?:ING)?"
    r"|NOTICE|INFO|DEBUG|TRACE)(?![\w.-])",
    re.IGNORECASE,
)


# The patterns below are compiled on first use: a line of most logs needs none of them (a
# level field, a <PRI> prefix, no level word, an error's next line), and compiling them cost
# ``opsconsole logs FILE`` 5.5M instructions (about 2 ms) before its first frame.


@functools.cache
def _key_level() -> re.Pattern[str]:
    """A ``level=warn`` or ``"severity": "error"`` field; searched only in a line that
    ``_may_name_level`` passes (it costs 2.5M instructions to compile, the most of these)."""
    return re.compile(
        r"""\b(?:level|lvl|severity|loglevel)["']?\s*[=:]\s*["']?([A-Za-z]+|[0-7]\b)""",
        re.IGNORECASE,
    )


def _may_name_level(head: str) -> bool:
    """False when ``_key_level`` cannot match ``head``, at the cost of a lower() and two finds:
    each of its keys holds "ev" or "vl" (in any case), and nothing but E, V and L matches e, v
    and l case-insensitively (not even a Unicode letter), so lower() keeps every such pair."""
    lowered = head.lower()
    return "ev" in lowered or "vl" in lowered


@functools.cache
def _pri() -> re.Pattern[str]:
    return re.compile(r"<(\d{1,3})>")


@functools.cache
def _exception() -> re.Pattern[str]:
    return re.compile(
        r"Traceback \(most recent call last\)|^(?:[\w.$]+\.)?\w*(?:Exception|Error)\b(?::|$)"
        r"|^Caused by: |^panic: "
    )


@functools.cache
def _continuation() -> re.Pattern[str]:
    return re.compile(r"^(?:\s+(?:at |File \"|\.\.\. \d+ more)|\s)")


def detect_level(text: str, previous: Level = Level.NONE) -> Level:
    """The level of one line; ``previous`` is the level of the line before it.

    Understands ``<PRI>`` syslog prefixes, ``level=warn`` and ``"level":"error"`` fields,
    level words (``ERROR``, ``[warn]``, ``W1124`` is not one), exception headers and
    tracebacks. An indented line after an error (a stack frame) is part of that error.
    """
    head = text[:SCAN]
    if head.startswith("<") and (pri := _pri().match(head)) is not None:
        return _SYSLOG_SEVERITY[int(pri.group(1)) & 7]
    if _may_name_level(head) and (field := _key_level().search(head)) is not None:
        word = field.group(1)
        try:
            return Level.parse(word)
        except ValueError:
            pass
    if (word_match := _LEVEL_WORD.search(head)) is not None:
        word = word_match.group(1)
        # Lower-case "error" inside a sentence is often just a word; upper or Title case, or
        # a bracketed word, is a level. Accept any case for the long, unambiguous words.
        bracketed = head[word_match.start() - 1 : word_match.start()] in ("[", "<", "(")
        if word.isupper() or word.istitle() or len(word) > 5 or bracketed:
            return _WORDS[word.upper()]
    if _exception().search(head) is not None:
        return Level.ERROR
    if previous >= Level.ERROR and head and _continuation().match(head) is not None:
        return previous
    return Level.NONE


# --- timestamps ------------------------------------------------------------------------------


class Stamp:
    """A time found in a line: seconds since the epoch, and where it sits in the text.

    Plain classes with slots, this and ``LineInfo``, not NamedTuples: making a NamedTuple
    cost ``opsconsole logs FILE`` about 2M instructions before its first frame, and nothing
    unpacks, compares or indexes them.
    """

    __slots__ = ("end", "start", "ts")

    def __init__(self, ts: float, start: int, end: int) -> None:
        self.ts = ts
        self.start = start
        self.end = end


_ISO = (
    r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:[.,](\d{1,9}))?"
    r"\s?(Z|[+-]\d\d:?\d\d|UTC)?"
)
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
_SYSLOG = (
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ([ \d]\d) (\d\d):(\d\d):(\d\d)(?:\.(\d+))?"
)


@functools.cache
def _stamps() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """The ISO and the syslog stamp, compiled on first use: the log view draws a line as
    written unless asked to show its time otherwise, and ``opsconsole logs FILE`` need not
    spend their 3M instructions (1 ms) before its first frame."""
    return re.compile(_ISO), re.compile(_SYSLOG)


STAMP_SCAN = 80
"""Characters at the start of a line searched for a time."""
_EPOCH = datetime(1970, 1, 1)
"""A UTC wall-clock time minus this is its epoch (as calendar.timegm, without importing it)."""


def _local(fields: tuple[int, int, int, int, int, int]) -> float:
    """Seconds since the epoch of a wall-clock time in the local zone."""
    return time.mktime((*fields, 0, 0, -1))


def _fraction(digits: str | None) -> float:
    return int(digits) / 10 ** len(digits) if digits else 0.0


def parse_timestamp(text: str, *, year: int | None = None) -> Stamp | None:
    """The first ISO 8601 or syslog time near the start of ``text``, or None.

    A time without a zone is local time, as the host that wrote it most likely meant; a
    syslog time has no year, so ``year`` (default: this year) is assumed.
    """
    head = text[:STAMP_SCAN]
    iso_stamp, syslog_stamp = _stamps()
    iso = iso_stamp.search(head)
    if iso is not None:
        y, mo, d, h, mi, s, frac, zone = iso.groups()
        try:
            fields = (int(y), int(mo), int(d), int(h), int(mi), int(s))
            # datetime validates the day of the month, which mktime would roll over.
            moment = datetime(*fields)
            if zone is None:
                ts = _local(fields)
            else:
                ts = (moment - _EPOCH).total_seconds()
                if zone not in ("Z", "UTC"):
                    sign = -1 if zone[0] == "+" else 1
                    digits = zone[1:].replace(":", "")
                    ts += sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
        except (ValueError, OverflowError):
            return None
        return Stamp(ts + _fraction(frac), iso.start(), iso.end())
    syslog = syslog_stamp.search(head)
    if syslog is not None:
        mon, day, h, mi, s, frac = syslog.groups()
        try:
            fields = (
                year or time.localtime().tm_year,
                _MONTHS[mon],
                int(day),
                int(h),
                int(mi),
                int(s),
            )
            datetime(*fields)
            ts = _local(fields)
        except (ValueError, OverflowError):
            return None
        return Stamp(ts + _fraction(frac), syslog.start(), syslog.end())
    return None


# --- JSON lines ------------------------------------------------------------------------------


@functools.cache
def json_decoder() -> tuple[msgspec.json.Decoder[dict[str, Any]], type[Exception]]:
    """A JSON decoder of objects and the error it raises, made on first use: importing
    msgspec takes 12 ms, which ``opsconsole logs FILE`` need not spend before its first frame."""
    import msgspec

    return msgspec.json.Decoder(dict[str, Any]), msgspec.DecodeError


LEVEL_KEYS = ("level", "lvl", "severity", "log.level", "loglevel", "PRIORITY")
MESSAGE_KEYS = ("msg", "message", "MESSAGE", "log", "text")
TIME_KEYS = ("ts", "time", "timestamp", "@timestamp", "t", "__REALTIME_TIMESTAMP")


def parse_json(text: str) -> dict[str, Any] | None:
    """The fields of a JSON object line, or None when the line is not one."""
    if not text.startswith("{"):
        return None
    decoder, error = json_decoder()
    try:
        return decoder.decode(text)
    except (error, UnicodeEncodeError):
        return None


def json_level(fields: dict[str, Any]) -> Level:
    """The level a JSON line's fields name (journald's PRIORITY included), or NONE."""
    for key in LEVEL_KEYS:
        value = fields.get(key)
        if value is None:
            continue
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 8:
            return _SYSLOG_SEVERITY[value]
        if isinstance(value, str):
            try:
                return Level.parse(value)
            except ValueError:
                continue
    return Level.NONE


def json_time(fields: dict[str, Any]) -> float | None:
    """The time of a JSON line: an epoch in s, ms, µs or ns, or an ISO string; None if none."""
    for key in TIME_KEYS:
        value = fields.get(key)
        if isinstance(value, str):
            if value.isdigit():
                value = int(value)
            else:
                stamp = parse_timestamp(value)
                if stamp is not None:
                    return stamp.ts
                continue
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            number = float(value)
            # Seconds until the year 5138; beyond that the unit is ms, then µs, then ns.
            while number > 1e11:
                number /= 1000
            return number
    return None


def json_message(fields: dict[str, Any]) -> str | None:
    """The message of a JSON line, or None when it names none."""
    for key in MESSAGE_KEYS:
        value = fields.get(key)
        if isinstance(value, str):
            return value
    return None


class LineInfo:
    """Everything the view needs to know about one line beyond its text."""

    __slots__ = ("fields", "level", "stamp")

    def __init__(self, level: Level, stamp: Stamp | None, fields: dict[str, Any] | None) -> None:
        self.level = level
        self.stamp = stamp
        self.fields = fields


def analyse(text: str, previous: Level = Level.NONE, *, stamp: bool = True) -> LineInfo:
    """Level, time and JSON fields of one line (see ``detect_level`` for ``previous``).

    ``stamp=False`` leaves out the time of a line that is not JSON (its stamp is None), for a
    caller that does not use it.
    """
    fields = parse_json(text)
    if fields is not None:
        level = json_level(fields)
        ts = json_time(fields)
        return LineInfo(level, Stamp(ts, 0, 0) if ts is not None else None, fields)
    return LineInfo(detect_level(text, previous), parse_timestamp(text) if stamp else None, None)


_TIME_CACHE: dict[str, float | None] = {}
TIME_CACHE_SIZE = 4096
"""Distinct seconds whose epoch ``line_time`` keeps (a followed log repeats the same few)."""


@functools.cache
def _any_stamp() -> re.Pattern[str]:
    """Either kind of stamp, compiled on first use: only a merge needs it, and ``opsconsole
    logs FILE`` need not spend the millisecond before its first frame."""
    return re.compile(f"{_ISO}|{_SYSLOG}")


@functools.cache
def _extends() -> re.Pattern[str]:
    """What may follow a stamp and still belong to it (a fraction, a zone); compiled on first
    use, as ``_any_stamp``."""
    return re.compile(r"\s?[.,\dZU+-]")


_last_start: tuple[str, float | None] = ("\0", None)
"""The text a line began with, up to just past its stamp, and that stamp's time."""


def line_time(text: str) -> float | None:
    """The time of a line (a JSON time field, else the first ISO or syslog stamp in its
    first characters), or None: cheaper than ``analyse`` for a merge that needs only the time
    of every line.

    A line that starts like the one before (the same stamp, at the start, then the same two
    characters) costs one comparison; else one regex search, and the calendar conversion is
    cached per second of stamp text.
    """
    global _last_start
    prefix, seconds = _last_start
    if text.startswith(prefix):
        return seconds
    if text.startswith("{"):
        fields = parse_json(text)
        return json_time(fields) if fields is not None else None
    head = text[:STAMP_SCAN]
    match = _any_stamp().search(head)
    if match is None:
        return None
    iso = match.group(1) is not None
    fraction = 7 if iso else 14
    digits = match.group(fraction)
    # The stamp without its fraction: "2026-11-24T10:00:00Z" and "...:00.5Z" share a second.
    key = head[match.start() : match.start(fraction) - 1] if digits else match.group()
    if digits and iso:
        key += match.group(8) or ""
    if key not in _TIME_CACHE:
        if len(_TIME_CACHE) >= TIME_CACHE_SIZE:
            _TIME_CACHE.clear()
        stamp = parse_timestamp(key)
        _TIME_CACHE[key] = stamp.ts if stamp is not None else None
    seconds = _TIME_CACHE[key]
    if seconds is None:
        return None
    end = match.end()
    if match.start() == 0 and not digits and not _extends().match(text, end, end + 2):
        _last_start = (text[: end + 2], seconds)
    return seconds + _fraction(digits)
