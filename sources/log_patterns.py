"""Log patterns: lines grouped into templates, headless and fast enough for a firehose.

A Drain-style grouper (He et al., ICWS 2017: a tree keyed by token count and the leading words,
then word-by-word similarity against the templates in the leaf), written here rather than used
from drain3, for what ``bench/pattern_accuracy.py`` measures on thirteen real logs of many kinds:

- speed: drain3 costs about 15 microseconds a line in pure Python. Here a line whose digits
  alone differ from an earlier one's is masked by one lookup (its digits made 0 are the key,
  the digits the masks keep put back); otherwise each word is masked once and remembered (a
  dict lookup the next time); and the masked line is looked up in a cache of lines already
  grouped, so only a line of a shape never seen walks the tree;
- accuracy: default masks for every kind of log (``MASKS``: times, UUIDs, MACs, IPv6, URLs,
  paths, hex, and any word that starts with a digit, which covers numbers, IPv4 and ports,
  durations, sizes and versions) where drain3 as shipped masks nothing; a different *word*
  weighs more than a different symbol; and a line whose variable part has another number of
  words (``... [preauth]``, an optional clause) joins the pattern whose fixed words it shares,
  as another shape of it, where Drain makes a new pattern for every length; a double-quoted
  span of several words is one value (``"logical replication launcher"``), but a request's
  verb stays (``"GET <*>"``); a different key (``mm_request_send:`` against ``send
  packet:``), verb or call site of a JSON line is always another message; a JSON line is
  its message's words and its fields' names, the fields' values being values.

Memory is bounded: at most ``max_patterns`` patterns (at the cap the least recently seen one
is dropped to make room, counted in ``evicted``, and its id is never reused), caches of at most
``cache_size`` entries (cleared when full), lines cut to ``MAX_LINE`` characters before grouping,
and per-minute rates for the last ``RATE_MINUTES`` minutes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import count
from operator import itemgetter
from typing import Final

WILDCARD: Final = "<*>"
"""What a variable part of a template shows."""

MAX_LINE: Final = 2000
"""Characters of a line used to group it: a 10 MB line is grouped by its start."""

MAX_SHAPES: Final = 16
"""Shapes (word counts) one pattern takes at most; a line of yet another starts a pattern."""

MAX_CANDIDATES: Final = 32
"""Templates a new line is compared with at most, the newest of its leaf (and as many of other
lengths): a flood of lines that match nothing costs a bounded time each, not one that grows
with the patterns."""

_CACHED_WORD: Final = 256
_CACHED_LINE: Final = 1000
"""Longest word and masked line the caches keep: caches full of huge lines would not be
bounded memory."""

RATE_MINUTES: Final = 60
"""Minutes of per-minute rate kept for each pattern's sparkline."""

_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*"
_DAY = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*"
_WORD = r"[\w.:+~\-/@%]"
"""Characters that make one value with the digit next to them (versions, ids, addresses)."""

MASKS: Final[tuple[tuple[str, str], ...]] = (
    ("month or weekday", rf"^(?:{_MONTH}|{_DAY})[.,]?$"),
    ("UUID", r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"),
    ("MAC", r"\b[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}\b"),
    (
        "IPv6",
        # Two colons at least: "1:14.0.6-12" (a Debian epoch) and "12:30" are not addresses.
        r"(?<![\w:])(?=(?:[0-9a-fA-F]*:){2})(?:[0-9a-fA-F]{1,4}:){1,7}:?(?::?[0-9a-fA-F]{1,4}){1,7}"
        r"(?:%\w+)?(?![\w:])|(?<![\w:])::1(?![\w:])",
    ),
    ("URL", r"\b[a-zA-Z][\w+.-]*://\S+"),
    ("path", r"(?<![\w/.])(?:~|\.{1,3})?/(?:[\w.@+~-]+/?)+"),
    # The value of a key=value pair, quoted or not: rexec_argv[0]='-D', mode=fast.
    ("value after =", r"(?<==)(?:'[^']*'|[^\s'=,;]+)"),
    ("hex", r"\b0x[0-9a-fA-F]+\b|\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\b"),
    # A word that starts with a digit: numbers, times and dates (2026-11-24T11:26:59), durations
    # (12ms, 1h2m3s), sizes, IPv4 with a port, versions (1.2.3-4+deb12u1), pids in brackets or
    # after "=". Brackets, quotes and keys stay; words that only end in digits (debug3, libc6,
    # x86_64) are kept as they are, and the similarity step finds those that vary.
    ("number, time, version", rf"(?<!{_WORD})[-+]?\d{_WORD}*"),
)
"""The default masks, tried in this order at each place in a word: (name, regex).

Masks apply to each whitespace-separated word, so a time written as several words ("Nov 24
11:20:01") becomes as many ``<*>``, the same for every line of a format.
"""

MASK_RE: Final = re.compile(r"(?<!\w)(?:" + "|".join(f"(?:{regex})" for _, regex in MASKS) + ")")
"""Every mask as one regular expression: one pass masks a word.

Every mask starts after a character that is no letter, digit or underscore (a word boundary
before a word character, a lookbehind, or the ``=`` before a value), or at the start: said
once first, it rules out a place inside a run of them with one test instead of one per mask
(0.57x the instructions over the words a cold pass masks, the same matches)."""

_MAY_MASK: Final = frozenset("0123456789/:=ABCDEFJMNOSTW")
"""Characters without which no mask matches a word (no digit, slash, colon or name of a month
or day): most words of a line are checked with a set lookup instead of the regex."""


QUOTED: Final = re.compile(r'"(?<![^\s(\[{=:,]")(?<!":")[^"\s]*\s[^"]{0,500}"(?![^\s)\]},;:.])')
"""A double-quoted span with a space in it: one value (``"%s"`` in the format) however many
words it holds (``"GET /x HTTP/1.1"`` and ``"GARBAGE"``, ``"logical replication launcher"``),
made one ``"<*>"`` before the line is split into words. The quotes must open and close a
word (``key="a b"`` too), so that the end of one quoted word and the start of the next are not
taken for a span. A quoted single word is left to the word masks: it may be a keyword. The
message field of a JSON line (``"msg":"..."``, see ``JSON_STRING``) is words, not a value."""

QUOTED_VALUE: Final = '"' + WILDCARD + '"'
_JSON_STRING: Final = '":' + QUOTED_VALUE
_JSON_SCALAR: Final = '":' + WILDCARD


_VERB: Final = re.compile(r'"([A-Z][A-Z_]+) ')
"""A quoted span that starts with an upper-case keyword (``"GET /x HTTP/1.1"``, ``"SELECT
..."``): a request or a command, whose verb is the event."""


def _quoted_value(span: re.Match[str]) -> str:
    verb = _VERB.match(span.group())
    return f'"{verb.group(1)} {WILDCARD}"' if verb else QUOTED_VALUE


MESSAGE_FIELDS: Final = ("msg", "message", "MESSAGE", "Message", "log")
"""JSON fields that are the message (zap, logrus, bunyan, journald, Docker's ``log``): kept as
words, as is ``caller`` (zap's call site); every other field's value is a value."""

_KEPT: Final = "".join(f'(?<!"{key}":)' for key in (*MESSAGE_FIELDS, "caller"))
JSON_STRING: Final = re.compile(rf'":{_KEPT}"(?:[^"\\]{{0,500}}"|(?:[^"\\]|\\.){{0,500}}")')
"""A JSON field's value that is a string, with the colon before it (``":"value"``), but a
kept field's. This and the next two start with a literal, which ``re`` finds fast, and are
replaced by constants, which it does without a call back into Python per field. A value
without a backslash is one run of characters, tried first: the same match, without a
branch per character (0.9x the instructions of a cold pass over etcd's log)."""
JSON_SCALAR: Final = re.compile(rf'":{_KEPT}[-+\w.]+')
"""A JSON field's value that is a number, ``true``, ``false`` or ``null``, with its colon."""
JSON_MESSAGE: Final = re.compile(
    '":"(?:' + "|".join(f'(?<="{key}":")' for key in MESSAGE_FIELDS) + ")"
)
"""Where a JSON message starts: its first word is made a word of its own there, not glued
to the fields before it."""


CALL_SITE: Final = re.compile(
    r"\[(?:[^\s\[\]]|\[[^\s\[\]]{0,60}\]){1,200}?(?=:[A-Za-z_$][\w$]*@\d+\])"
)
"""A thread before the call site it logged from, as log4j's ``[%t:%C{1}@%L]`` writes them
(``[QuorumPeer[myid=1]:Leader@588]``): the thread is a value, the call site a key. The
site is looked ahead at, not replaced: a constant replacement is a copy, not a template
expanded in Python for every match."""

_UNQUOTING: Final[tuple[tuple[str, re.Pattern[str], str | Callable[[re.Match[str]], str]], ...]] = (
    ("@", CALL_SITE, "[" + WILDCARD),
    ('":', JSON_STRING, _JSON_STRING),
    ('":', JSON_SCALAR, _JSON_SCALAR),
    ('":', JSON_MESSAGE, '":" '),
    ('"', QUOTED, _quoted_value),
)
"""What ``_unquote`` replaces, in order, each after a quick check for the text it needs.
No replacement holds a digit (see ``_origins``)."""


def _unquote(line: str) -> str:
    """``line`` cut to ``MAX_LINE`` with every value of a JSON field but the message one
    ``<*>`` and every other quoted span of several words one value, or its verb and one
    value (``"GET <*>"``) when it starts with an upper-case keyword."""
    line = line[:MAX_LINE]
    for needed, regex, replacement in _UNQUOTING:
        if needed in line:
            line = regex.sub(replacement, line)
    return line


_VALUE: Final = re.compile(rf"[-+]?\d{_WORD}*")
"""A whole word that the number mask makes one ``<*>``."""


_WRAPPING: Final = "[](){}<>\"',;"
"""Characters around a value that are not part of it (none is in ``_WORD``)."""


def _mask_word(word: str) -> str:
    # A number, bare or in brackets, quotes or parentheses ("[9207]", "(1.2.3)"), is the
    # common case: one short regex instead of every mask, with the same result.
    inner = word.lstrip(_WRAPPING)
    value = inner.rstrip(_WRAPPING)
    if value and _VALUE.fullmatch(value):
        return word[: len(word) - len(inner)] + WILDCARD + inner[len(value) :]
    if _MAY_MASK.isdisjoint(word):
        return word
    return MASK_RE.sub(WILDCARD, word)


LEVELS: Final = ("trace", "debug", "info", "notice", "warning", "error", "critical", "fatal")
"""Levels from least to most severe; a pattern's level is the worst of its lines'."""
_RANK: Final = {name: rank for rank, name in enumerate(LEVELS)}
_ALIASES: Final = {
    "warn": "warning",
    "err": "error",
    "crit": "critical",
    "alert": "fatal",
    "emerg": "fatal",
    "panic": "fatal",
    "severe": "error",
    "fine": "debug",
    "finer": "trace",
    "finest": "trace",
}


def normalise_level(level: str | None) -> str | None:
    """``level`` as one of ``LEVELS`` (``WARN`` is ``warning``...), or None when unknown."""
    if not level:
        return None
    name = level.strip().lower()
    name = _ALIASES.get(name, name)
    return name if name in _RANK else None


def mask(line: str) -> str:
    """``line``'s words with every variable part the default masks find made ``<*>``."""
    return " ".join(_mask_word(word) for word in _unquote(line).split())


_SPAN: Final = r'"(?:[^"\\]|\\.){0,500}"'
"""A quoted span in a template regex, as long as ``QUOTED`` takes one."""
_SPAN_END: Final = WILDCARD + '"'
_JSON_OPEN: Final = '":"'
"""How the token before a JSON message's first word ends (``..."msg":"``)."""


def template_regex(template: str) -> re.Pattern[str]:
    """A regex matching the lines a template stands for, word for word: its words as they
    are, ``<*>`` any part of one word, a whole ``<*>`` (or ``"<*>"``) a word or a quoted span
    of several (see ``QUOTED``).

    Words are whitespace-separated as the grouper split them, so a ``<*>`` never reaches past
    its word or its bounded span, and nothing is tried twice (atomic groups, possessive
    repeats): the regex runs in time linear in the line, whatever the line (a 10 MB one too).
    """
    parts = []
    tokens = template.split()
    for token in tokens:
        if token == _SPAN_END:
            # The rest of a span after its verb ("GET <*>").
            parts.append(r'[^"]{0,500}"')
        elif token == WILDCARD:
            # A span and what sticks to it ("...":), else one word.
            parts.append(rf"(?>{_SPAN}\S*+|\S++)")
        else:
            parts.append(
                _SPAN.join(
                    r"\S*?".join(re.escape(piece) for piece in quoted.split(WILDCARD))
                    for quoted in token.split(QUOTED_VALUE)
                )
            )
    # A JSON message's first word follows its field's quote with no space (``JSON_MESSAGE``).
    joined = "".join(
        (r"\s*+" if index and tokens[index - 1].endswith(_JSON_OPEN) else r"\s++" if index else "")
        + part
        for index, part in enumerate(parts)
    )
    return re.compile(r"^\s*+" + joined + r"\s*+$")


class _Shape:
    """One shape of a pattern: its words for lines of one length, in one leaf of the tree."""

    __slots__ = ("constants", "firsts", "leaf", "owner", "tokens", "words")

    owner: Pattern
    """The pattern it is a shape of, set when the grouper places it (see ``_match``)."""

    def __init__(self, tokens: list[str], kinds: list[int], leaf: tuple[str, ...]) -> None:
        self.leaf = leaf
        self.constants = constants = _constants(tokens)
        self.firsts = _firsts(constants) if constants else ()
        """Its keys in ``PatternGrouper._by_first``: none without fixed words."""
        self.tokens = tokens
        self.words = kinds
        """What each token is (see ``_kinds``), kept with them for the similarity."""

    def generalise(self, tokens: list[str]) -> None:
        """Make every place where ``tokens`` differ from this shape's a ``<*>``."""
        pairs = zip(self.tokens, tokens, strict=True)
        merged = [mine if mine == theirs else WILDCARD for mine, theirs in pairs]
        if merged != self.tokens:
            self.tokens = merged
            self.words = _kinds(merged)


@dataclass(eq=False)
class Pattern:
    """One template and what was seen of it."""

    id: int
    """Stable for the life of the grouper: the key of its row and of its filter."""
    first_seen: float
    last_seen: float
    count: int = 0
    level: str | None = None
    """The worst level among its lines (see ``LEVELS``), or None when none had one."""
    example: str = ""
    """The first line seen (cut to ``MAX_LINE``), to show what the template came from."""
    _shapes: list[_Shape] = field(default_factory=list)
    _minute0: int = 0
    _rates: list[int] = field(default_factory=lambda: [0] * RATE_MINUTES)

    @property
    def tokens(self) -> list[str]:
        """The template's words; ``<*>`` where lines differ."""
        return self._shapes[0].tokens

    @property
    def template(self) -> str:
        """The template as text, such as ``Accepted password for <*> from <*> port <*>``."""
        return " ".join(self.tokens)

    @property
    def templates(self) -> list[str]:
        """Every shape of the template: lines of one message whose variable parts had another
        number of words (``... [preauth]``, optional clauses) are one pattern with several."""
        return [" ".join(shape.tokens) for shape in self._shapes]

    def regex(self) -> re.Pattern[str]:
        """A regex for the lines of this pattern, any shape (see ``template_regex``)."""
        regexes = [template_regex(template).pattern for template in self.templates]
        return re.compile("|".join(f"(?:{regex})" for regex in regexes))

    def _count(self, ts: float, level_rank: int) -> None:
        self.count += 1
        if ts > self.last_seen:
            self.last_seen = ts
        elif ts < self.first_seen:
            self.first_seen = ts
        if level_rank >= 0 and (self.level is None or level_rank > _RANK[self.level]):
            self.level = LEVELS[level_rank]
        minute = int(ts // 60)
        if minute > self._minute0:
            # Slide the window: minutes gone by without lines are zeros.
            shift = minute - self._minute0
            rates = self._rates
            if shift >= RATE_MINUTES:
                rates[:] = [0] * RATE_MINUTES
            else:
                del rates[:shift]
                rates.extend([0] * shift)
            self._minute0 = minute
        age = self._minute0 - minute
        if age < RATE_MINUTES:
            self._rates[RATE_MINUTES - 1 - age] += 1

    def rate(self, now: float, minutes: int = 30) -> list[int]:
        """Lines per minute over the ``minutes`` (at most ``RATE_MINUTES``) up to ``now``."""
        minutes = min(minutes, RATE_MINUTES)
        lag = int(now // 60) - self._minute0
        if lag >= RATE_MINUTES:
            return [0] * minutes
        series = self._rates[max(0, lag) :] + [0] * max(0, lag)
        return series[-minutes:]


@dataclass(frozen=True)
class GrouperConfig:
    """Settings of the grouper: one set for every kind of log, none per source.

    The defaults scored best on average over the labelled real logs in ``bench/patterns/data``;
    ``bench/pattern_accuracy.py`` also chooses settings on half of those sets and reports them
    on the other half, to show how much that choice flatters its own sets.
    """

    similarity: float = 0.6
    """Weighted share of agreeing words, in place, a line needs to join a template."""
    prefix_tokens: int = 1
    """Leading words that choose the tree's leaf (a word with a mask in it counts as ``<*>``)."""
    max_children: int = 100
    """Distinct leading words under one node before new ones share a ``<*>`` branch."""
    value_weight: float = 1.0
    """Weight of a value (a masked word) facing a value, against 1 for a word that agrees:
    values say less than words about which message a line is."""
    word_weight: float = 3.0
    """Weight of two different words (letters, ``_`` and ``-``, punctuation around them aside),
    against 1 for other differences: a different word is a different message more often than
    a different symbol is."""
    wild_weight: float = 1.0
    """Weight of a word facing a place the template found to vary (0: leave it out)."""
    contained: bool = True
    """Ask of a line of another length that all the fixed words of the shorter be in the longer."""
    variable_length: float = 0.6
    """A line of another length joins a pattern with the same first word when this share of
    the longer one's fixed words is common to both, in order (0 turns this off)."""
    max_patterns: int = 5000
    """Patterns kept; at the cap the least recently seen is dropped (counted in ``evicted``)."""
    cache_size: int = 50_000
    """Masked lines remembered with their pattern, words with their masked form, and lines'
    forms (their masked line by their digits made 0); each cache is cleared when it is full."""


class PatternGrouper:
    """Groups log lines into patterns as they arrive.

    ``add`` returns the id of the line's pattern; ``patterns`` and ``get`` read them; ``new_since``
    lists the patterns first seen after a moment (a deploy, an alert). Not thread-safe: feed it
    from one thread.
    """

    def __init__(self, config: GrouperConfig | None = None) -> None:
        """Create an empty grouper.

        Args:
            config: The settings; the defaults suit every kind of log.
        """
        self.config = config or GrouperConfig()
        self._patterns: dict[int, Pattern] = {}
        """Patterns by id, least recently seen first (moved to the end when seen)."""
        self._leaves: dict[tuple[str, ...], list[_Shape]] = {}
        self._by_first: dict[tuple[str, ...], list[_Shape]] = {}
        """Shapes by their first two fixed words and by their first (see ``_firsts``), for
        lines whose length no shape has yet."""
        self._branches: dict[tuple[str, ...], set[str]] = {}
        self._cache: dict[str, Pattern] = {}
        self._forms: dict[bytes, _Form | int] = {}
        """Masked lines by the line with its digits made 0 (masks treat every digit alike):
        lines that differ in their numbers only are masked with one lookup. A masked line
        that keeps some of the line's digits (``debug3:``, ``Leader@588``) is a format and
        where in the line they are, or how many times its key came until then (see
        ``_mask``)."""
        self._words: dict[str, str] = {}
        """Words seen, masked."""
        self._next_id = 1
        self.lines = 0
        """Lines added."""
        self.evicted = 0
        """Patterns dropped at the cap."""

    def __len__(self) -> int:
        return len(self._patterns)

    @property
    def patterns(self) -> list[Pattern]:
        """Every pattern kept, least recently seen first."""
        return list(self._patterns.values())

    def get(self, pattern_id: int) -> Pattern | None:
        """The pattern with this id, or None when there is none (or it was dropped)."""
        return self._patterns.get(pattern_id)

    def new_since(self, moment: float) -> list[Pattern]:
        """Patterns first seen after ``moment`` (seconds since the epoch), oldest first."""
        return sorted(
            (p for p in self._patterns.values() if p.first_seen > moment),
            key=lambda p: p.first_seen,
        )

    def add(self, line_text: str, ts: float, level: str | None = None) -> int:
        """Group one line seen at ``ts``, of ``level`` if known; returns its pattern's id."""
        line = line_text[:MAX_LINE]
        form = self._forms.get(key := line.encode("utf-8", "surrogatepass").translate(_DIGITS), 0)
        tokens = None
        if isinstance(form, str):
            masked = form
        elif isinstance(form, tuple):
            masked = form[0] % form[1](line)
        else:
            tokens, masked = self._mask(line, key, form + 1)
        pattern = self._cache.get(masked)
        if pattern is None or pattern.id not in self._patterns:
            pattern = self._match(masked.split() if tokens is None else tokens, line, ts)
            if len(masked) <= _CACHED_LINE:
                if len(self._cache) >= self.config.cache_size:
                    self._cache.clear()
                self._cache[masked] = pattern
        else:
            # Seen: most recent last, so the first entry is the one to drop at the cap.
            patterns = self._patterns
            del patterns[pattern.id]
            patterns[pattern.id] = pattern
        rank = _RANK.get(level, -1) if level is not None else -1
        if rank < 0 and level is not None:
            rank = _RANK.get(normalise_level(level) or "", -1)
        pattern._count(ts, rank)
        self.lines += 1
        return pattern.id

    def _mask(self, line: str, key: bytes, seen: int) -> tuple[list[str], str]:
        """``line``'s words masked, and joined; its form is remembered under ``key`` (see
        ``_forms``) when it is short enough and free of the digits the masks name (``0x``,
        ``::1``).

        A form whose masked line keeps digits is worked out only when its key comes for the
        ``_FORM_AFTER``-th time, ``seen`` counting this one: it costs about another masking,
        more than most keys seen once or twice save.
        """
        known = self._words.get
        unquoted = _unquote(line)
        tokens = [known(word) or self._new_word(word) for word in unquoted.split()]
        masked = " ".join(tokens)
        # bytes.find, not "in": "in" first tries the bytes as an int, and raises and clears
        # a TypeError for every line (4% of a cold pass, callgrind).
        if len(key) > _CACHED_LINE or key.find(b"0x") >= 0 or key.find(b"::0") >= 0:
            return tokens, masked
        form: _Form | int = masked
        # A line without digits keeps none.
        if key.find(b"0") >= 0 and _ASCII_DIGIT.search(masked):
            # 0 when the kept digits cannot be placed (a mask that named a digit, see
            # _digit_form): counted again, so such a key costs a working out now and then.
            form = (
                (_digit_form(line, unquoted, tokens, masked) or 0) if seen >= _FORM_AFTER else seen
            )
        forms = self._forms
        if len(forms) >= self.config.cache_size:
            forms.clear()
        forms[key] = form
        return tokens, masked

    def _new_word(self, word: str) -> str:
        """``word`` masked, remembered for the next time (times repeat within a second)."""
        masked = _mask_word(word)
        if len(word) <= _CACHED_WORD:
            words = self._words
            if len(words) >= self.config.cache_size:
                words.clear()
            words[word] = masked
        return masked

    # -- the tree ---------------------------------------------------------------------------

    def _leaf_key(self, tokens: list[str]) -> tuple[str, ...]:
        # The token count, then the first words that are not values: a header of masked
        # times and numbers would otherwise put every line under one branch.
        key: tuple[str, ...] = (str(len(tokens)),)
        branches = self._branches
        limit = self.config.max_children
        wanted = self.config.prefix_tokens
        for token in tokens:
            if len(key) > wanted:
                break
            if WILDCARD in token:
                continue
            children = branches.setdefault(key, set())
            if token not in children:
                if len(children) >= limit:
                    token = WILDCARD
                else:
                    children.add(token)
            key = (*key, token)
        return key

    def _best(
        self, candidates: list[_Shape], tokens: list[str]
    ) -> tuple[_Shape | None, float, bool, list[int] | None]:
        """The candidate most like ``tokens``, its similarity (weighted share of words that
        agree, see ``GrouperConfig``), whether it has a word where ``tokens`` differ (to be
        made a ``<*>``), and the kinds of ``tokens`` (see ``_kinds``) if they were needed.

        A candidate whose key differs from the line's is never it: a key is a word ending in a
        colon that something follows (``mm_request_send:``, ``statement:``), and it names the
        message; a last word with a colon (``versions of six:``) may be a value.
        """
        best: _Shape | None = None
        best_score = -1.0
        best_wild = -1
        best_differs = False
        # Most lines differ from a template only where it has a <*> already: their kinds
        # are worked out when a word faces another word.
        line_words: list[int] | None = None
        config = self.config
        value_weight, wild_weight, word_weight = (
            config.value_weight,
            config.wild_weight,
            config.word_weight,
        )
        for candidate in candidates:
            same = total = 0.0
            wild = 0
            differs = False
            for mine, theirs, mine_word, index in zip(
                candidate.tokens, tokens, candidate.words, count(), strict=False
            ):
                if mine == theirs:
                    weight = value_weight if theirs == WILDCARD else 1.0
                    same += weight
                    total += weight
                elif mine == WILDCARD:
                    wild += 1
                    total += wild_weight
                elif not mine_word:
                    differs = True
                    total += 1
                else:
                    differs = True
                    if line_words is None:
                        line_words = _kinds(tokens)
                    their_word = line_words[index]
                    if not their_word:
                        total += 1
                    elif mine_word == their_word == _KEY_WORD:
                        break  # another key: another message
                    else:
                        total += word_weight
            else:
                score = same / total if total else 1.0
                if score > best_score or (score == best_score and wild > best_wild):
                    best, best_score, best_wild, best_differs = candidate, score, wild, differs
        return best, best_score, best_differs, line_words

    def _other_length(self, shape: _Shape) -> Pattern | None:
        """The pattern of a shape of another length whose fixed words are mostly those of
        ``shape`` (a line's, not yet placed), in order (longest common subsequence), among
        those with the same first two fixed words, or else the same first one."""
        share = self.config.variable_length
        constants = shape.constants
        if not share or not constants:
            return None
        length = len(shape.tokens)
        words = set(constants)
        repeats = len(constants) - len(words)
        best: Pattern | None = None
        best_common = 0
        # Those that share the first two fixed words first, then those with the first.
        for first in shape.firsts:
            for other in self._by_first.get(first, [])[-MAX_CANDIDATES:]:
                if len(other.tokens) == length or len(other.owner._shapes) >= MAX_SHAPES:
                    continue
                theirs = other.constants
                need = share * max(len(theirs), len(constants))
                # The words in common (and the line's repeated ones) bound the subsequence:
                # most shapes stop here, cheaply.
                if len(words.intersection(theirs)) + repeats < need:
                    continue
                common = _common_subsequence(constants, theirs)
                if (
                    common >= need
                    and common > best_common
                    and (not self.config.contained or common == min(len(theirs), len(constants)))
                ):
                    best, best_common = other.owner, common
            if best is not None:
                break
        return best

    def _match(self, tokens: list[str], line: str, ts: float) -> Pattern:
        key = self._leaf_key(tokens)
        leaf = self._leaves.setdefault(key, [])
        kinds = None
        if leaf:
            best, score, differs, kinds = self._best(leaf[-MAX_CANDIDATES:], tokens)
            if best is not None and score >= self.config.similarity:
                if differs:
                    best.generalise(tokens)
                owner = best.owner
                del self._patterns[owner.id]
                self._patterns[owner.id] = owner
                return owner
        # The line's own shape, owned by the pattern it joins or a new one.
        shape = _Shape(tokens, _kinds(tokens) if kinds is None else kinds, key)
        pattern = self._other_length(shape)
        if pattern is None:
            if len(self._patterns) >= self.config.max_patterns:
                self._evict()
            pattern = Pattern(
                id=self._next_id, first_seen=ts, last_seen=ts, example=line[:MAX_LINE]
            )
            pattern._minute0 = int(ts // 60)
            self._next_id += 1
        else:
            del self._patterns[pattern.id]
        self._patterns[pattern.id] = pattern
        shape.owner = pattern
        pattern._shapes.append(shape)
        leaf.append(shape)
        for first in shape.firsts:
            self._by_first.setdefault(first, []).append(shape)
        return pattern

    def _evict(self) -> None:
        oldest = next(iter(self._patterns.values()))
        del self._patterns[oldest.id]
        for shape in oldest._shapes:
            leaf = self._leaves[shape.leaf]
            leaf.remove(shape)
            if not leaf:
                del self._leaves[shape.leaf]
            for first in shape.firsts:
                firsts = self._by_first[first]
                firsts.remove(shape)
                if not firsts:
                    del self._by_first[first]
        self.evicted += 1


_PUNCTUATION: Final = "\"'`.,:;!?()[]{}<>"


_DIGITS: Final = bytes.maketrans(b"0123456789", b"0000000000")
_ASCII_DIGIT: Final = re.compile("[0-9]")
_NON_SPACE: Final = re.compile(r"\S+")

_FORM_AFTER: Final = 3
"""Times a key whose masked line keeps digits comes before its form is worked out."""

_Form = str | tuple[str, Callable[[str], str | tuple[str, ...]]]
"""A line's masked form (see ``PatternGrouper._forms``): the masked line, or a ``%`` format
of it and what takes the digits it keeps from the line."""


def _digit_form(line: str, unquoted: str, tokens: list[str], masked: str) -> _Form | None:
    """The format of ``masked`` (``tokens`` joined: ``line`` unquoted, then masked) with a
    ``%s`` for each digit it keeps, and what takes those digits from any line of the same
    key; None if they cannot be placed.

    Masks keep or drop a digit whatever its value, so the lines of one key keep digits at the
    same places: those that ``MASK_RE`` leaves in their word (``_mask_word``), traced back
    through ``_unquote`` (see ``_origins``).
    """
    kept = [
        word.start() + place
        for word, token in zip(_NON_SPACE.finditer(unquoted), tokens, strict=True)
        if _ASCII_DIGIT.search(token)
        for place in _kept_digits(word.group())
    ]
    if unquoted != line:
        origins = _origins(line)
        kept = [origins[place] for place in kept]
    if not kept:
        return None
    template = _ASCII_DIGIT.sub("%s", masked.replace("%", "%%"))
    take = itemgetter(*kept)
    return (template, take) if template % take(line) == masked else None


def _digit_places(text: str) -> list[int]:
    return [digit.start() for digit in _ASCII_DIGIT.finditer(text)]


def _origins(line: str) -> list[int]:
    """Where in ``line`` each character of ``_unquote(line)`` comes from: -1 for those of a
    replacement. The replacements are made again, one by one, keeping track of where the
    characters between them came from."""
    text = line
    origins = list(range(len(line)))
    for needed, regex, replacement in _UNQUOTING:
        if needed not in text:
            continue
        pieces: list[str] = []
        places: list[int] = []
        end = 0
        for match in regex.finditer(text):
            start, stop = match.span()
            new = replacement if isinstance(replacement, str) else replacement(match)
            pieces += (text[end:start], new)
            places += origins[end:start]
            places += [-1] * len(new)
            end = stop
        pieces.append(text[end:])
        places += origins[end:]
        text = "".join(pieces)
        origins = places
    return origins


@lru_cache(maxsize=4096)
def _kept_digits(word: str) -> tuple[int, ...]:
    """Places in ``word``, whose masked form keeps digits, of the digits it keeps: those no
    mask matched (a masked form with digits is ``MASK_RE``'s, see ``_mask_word``). Cached:
    such words (``debug1:``, ``Leader@588``) begin many lines of many shapes."""
    masked = [match.span() for match in MASK_RE.finditer(word)]
    return tuple(
        place
        for place in _digit_places(word)
        if not any(start <= place < end for start, end in masked)
    )


_KEY: Final = re.compile(r"[A-Za-z_][\w.-]*:$")
"""A key or label (``debug3:``, ``mm_request_send:``, ``statement:``): see ``_best``."""


_KEY_WORD: Final = 2

_SPAN_VERB: Final = re.compile(r'"[A-Z][A-Z_]+$')
"""The verb of a quoted request or command (``"GET <*>"``, see ``_VERB``): a key too."""
_SITE_KEY: Final = re.compile(r"\[<\*>:[A-Za-z_$][\w$]*@\d+\]$")
"""A call site after its thread (see ``CALL_SITE``): a key."""


_NAME: Final = re.compile(r"[A-Z][a-zA-Z]*(?:-[A-Z][a-zA-Z]*)+|[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")
"""Words with a hyphen or a digit that are names all the same: capitalised compounds
(``Request-URI``, ``Content-Type``) and constants (``SSH2_MSG_KEXINIT``)."""


def _kinds(tokens: list[str]) -> list[int]:
    """For each token: 0 a symbol or value, 1 a word or identifier (``packet``,
    ``mm_request_send``), ``_KEY_WORD`` a word that is a key (see ``_KEY``), the word before
    a key, the verb of a quoted request (``_SPAN_VERB``), a JSON line's fields before its
    message or a call site (``_SITE_KEY``); never the last.

    A compound with a hyphen (``half-configured``, ``triggers-pending``, ``sensor-1``) is not
    a word unless it is capitalised (``_NAME``): such tokens are values (states, host and
    package names) as often as message text.
    """
    traits = [_traits(token) for token in tokens]
    kinds = [trait & 1 for trait in traits]
    for index, trait in enumerate(traits[:-1]):
        if trait & _WORD_KEY:
            kinds[index] = _KEY_WORD
        elif trait & 1 and traits[index + 1] & _KEY_LIKE and index + 2 < len(tokens):
            # The word before a key is part of it ("send packet:", "receive packet:").
            kinds[index] = _KEY_WORD
        elif trait & _FIELDS:
            # A JSON object's fields up to its message (another set of them, or another
            # call site, is another message), or a call site.
            kinds[index] = _KEY_WORD
    return kinds


_KEY_LIKE: Final = 2
_WORD_KEY: Final = 4
_FIELDS: Final = 8


@lru_cache(maxsize=4096)
def _traits(token: str) -> int:
    """What ``_kinds`` asks of one token, as bits: 1 a word, ``_KEY_LIKE`` a key
    (``_KEY``), ``_WORD_KEY`` a word that is a key or a verb, ``_FIELDS`` the fields of a
    JSON line or a call site. Cached: tokens repeat from line to line."""
    word = token.strip(_PUNCTUATION)
    is_word = word.replace("_", "").isalpha() or bool(
        ("-" in word or "_" in word) and _NAME.fullmatch(word)
    )
    key = bool(_KEY.match(token))
    return (
        is_word
        | (_KEY_LIKE if key else 0)
        | (_WORD_KEY if is_word and (key or _SPAN_VERB.match(token)) else 0)
        | (_FIELDS if token.endswith(_JSON_OPEN) or _SITE_KEY.match(token) else 0)
    )


def _constants(tokens: list[str]) -> list[str]:
    """The fixed words of ``tokens``: those without a ``<*>``, and call sites (``_SITE_KEY``)."""
    return [token for token in tokens if WILDCARD not in token or _SITE_KEY.match(token)]


def _firsts(constants: list[str]) -> tuple[tuple[str, ...], ...]:
    """The keys of a shape in ``_by_first``: its first two fixed words, and its first, leaving
    out levels and lone symbols (``- INFO [...] -``), which begin lines of every message."""
    words = [
        word
        for word in constants
        if word.strip(_SYMBOLS) and word.strip(_PUNCTUATION).lower() not in _LEVEL_WORDS
    ] or constants
    return (tuple(words[:2]), tuple(words[:1])) if len(words) > 1 else (tuple(words),)


_SYMBOLS: Final = _PUNCTUATION + "-|*#=+>"
_LEVEL_WORDS: Final = frozenset((*LEVELS, *_ALIASES))


def _common_subsequence(first: list[str], second: list[str]) -> int:
    """Length of the longest common subsequence of two lists of words.

    Bit-parallel (Hyyro's form of Allison and Dix's): a row of the dynamic programme is one
    integer, a bit per word of ``first``, updated with a few operations per word of
    ``second`` instead of a Python step per pair of words.
    """
    places: dict[str, int] = {}
    for bit, word in enumerate(first):
        places[word] = places.get(word, 0) | 1 << bit
    full = (1 << len(first)) - 1
    row = full
    for word in second:
        matches = row & places.get(word, 0)
        row = ((row + matches) | (row - matches)) & full
    return len(first) - row.bit_count()
