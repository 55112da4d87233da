"""Redaction of secrets in what a bundle carries: the same rules for every kind of file.

Headless. A text log, a JSON document (an inspect, the config) and a JSON-lines event stream go
through the same text rules; JSON gets two more, by key: the values of secret-named keys, and the
values of ``Env`` lists (``NAME=<redacted>``). Every mask is counted per kind and per file, so the
manifest says what was hidden without saying what it was.

Speed matters (a bundle may carry 100 MB of logs): the text rules are one compiled alternation,
scanned once per chunk, and a cheap pre-check skips the scan for text with none of the tell-tale
characters.
"""

from __future__ import annotations

import heapq
import re
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import msgspec

MASK = "<redacted>"

MAX_NAME = 256
"""Longest key name or URL scheme the text rules read: a run of name characters longer than
this (a megabyte of base64 or letters on one line) is not a name, and reading it whole for each
tell-tale in it would cost quadratic time."""
# The characters of a key's name around its secret word, and of a URL's scheme.
_NAME = rf"[A-Za-z0-9_.-]{{0,{MAX_NAME}}}"
_SCHEME = rf"[a-zA-Z][a-zA-Z0-9+.-]{{0,{MAX_NAME}}}"

# The value part of key=value: a quoted string or a run without separators.
_VALUE = r"""(?:"[^"\n]*"|'[^'\n]*'|[^\s,;&"'<>]+)"""
_SECRET_WORDS = (
    r"(?:pass(?:word|wd|phrase)?|pwd|secret|token|api[_-]?key|apikey|access[_-]?key"
    r"|private[_-]?key|credentials?)"
)

# A package and its architecture (``passwd:amd64`` in dpkg and apt logs) is not a password.
_DEBIAN_ARCHITECTURE = (
    r"(?:amd64|arm64|armhf|armel|i386|all|ppc64el|s390x|mips64el|riscv64)(?![A-Za-z0-9_.-])"
)

# One alternation, scanned once; the group that matched names the kind. Order matters where two
# could start at the same place: the specific kinds come before the generic key=value.
_RULES: tuple[tuple[str, str], ...] = (
    (
        # The key's body, read token by token (base64 runs and PEM headers, apart by blanks,
        # newlines or escaped ones), then its END line when there is one: a key whose end a
        # file's cut left out is masked too, and a line of BEGIN lines costs no search for an
        # END. A key whose BEGIN line was cut off (a log's newest part taken) is its lines of
        # base64 before an END line.
        "private_key",
        r"-----BEGIN (?P<pk_kind>[A-Z0-9 ]{0,40}?)PRIVATE KEY-----"
        r"(?:(?:\s|\\[nr])+(?:[A-Za-z-]+:[ \t][^\r\n\\]*|[A-Za-z0-9+/=]+))*"
        r"(?:(?:\s|\\[nr])*(?P<pk_end>-----END (?P=pk_kind)PRIVATE KEY-----))?"
        r"|(?:[A-Za-z0-9+/=]{1,100}\r?\n)+(?P<pk_tail>-----END [A-Z0-9 ]{0,40}?PRIVATE KEY-----)",
    ),
    ("bearer_token", r"(?i:(?P<bearer>\bbearer\s+))[A-Za-z0-9\-._~+/]{8,}=*"),
    ("basic_auth", r"(?i:(?P<basic>\bbasic\s+))[A-Za-z0-9+/]{8,}=*"),
    ("aws_access_key", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    (
        "azure_connection_string",
        r"(?i:(?P<az>\b(?:AccountKey|SharedAccessKey|SharedAccessSignature|sig)=))[^;\s\"'&]+",
    ),
    ("url_password", r"(?P<url>\b" + _SCHEME + r"://[^:/\s@\"']+:)[^@\s/\"']+(?=@)"),
    (
        # A Cookie or Set-Cookie header anywhere in a line (after a log's time stamp, in a curl
        # command, as a quoted key): its name=value pairs, to the line's end or closing quote.
        "cookie",
        r"(?i:(?P<ck>\b" + _NAME + r"cookie[\"']?[ \t]*:[ \t]*[\"']?))"
        rf"(?=[^\s=;,\"']{{1,{MAX_NAME}}}=)[^\r\n\"']+",
    ),
    (
        # Tokens that say what they are by their prefix, wherever they stand: GitHub's
        # (personal, OAuth, app, refresh, fine-grained), Slack's, and Google Cloud API keys.
        "vendor_token",
        r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255}"
        r"|xox[abposr]-[A-Za-z0-9-]{10,255}|AIza[0-9A-Za-z_-]{35})(?![A-Za-z0-9_-])",
    ),
    (
        "key_value",
        r"(?i:(?P<kv>\b" + _NAME + _SECRET_WORDS + _NAME + r"[\"']?\s*[=:]\s*))"
        r"(?!" + re.escape(MASK) + r"|" + _DEBIAN_ARCHITECTURE + r")" + _VALUE,
    ),
    (
        # A command line's option and its value apart (``--password hunter2``): only after
        # the dashes of an option, so prose ("the password is wrong") keeps its words.
        "option_value",
        r"(?:(?<=[\s\"'\[,]-)|(?<=[\s\"'\[,]--))"
        r"(?i:(?P<opt>\b" + _NAME + _SECRET_WORDS + _NAME + r"[ \t]+))"
        r"(?!-|" + re.escape(MASK) + r")" + _VALUE,
    ),
    (
        # The MySQL and MariaDB clients take a password glued to -p (``mysql -uroot -pSecret``).
        "mysql_password",
        r"(?P<myp>\b(?:mysql(?:dump|admin|import|check|show|binlog)?|mariadb(?:-dump|-admin)?)"
        r"\b[^\r\n]{0,500}?\s-p)(?![\s\"']|" + re.escape(MASK) + r")[^\s\"']+",
    ),
)
_PATTERN = re.compile("|".join(f"(?P<{kind}>{rule})" for kind, rule in _RULES), re.DOTALL)
KINDS = (*(kind for kind, _ in _RULES), "json_secret_key", "env_value")
"""Every kind of secret the summary counts."""
# Groups that hold the part of a match to keep (the key, the scheme and user, the keyword).
_KEEP = {
    "bearer_token": "bearer",
    "basic_auth": "basic",
    "aws_access_key": None,
    "azure_connection_string": "az",
    "url_password": "url",
    "cookie": "ck",
    "vendor_token": None,
    "key_value": "kv",
    "option_value": "opt",
    "mysql_password": "myp",
}
# Every rule's match contains one of these (in lower case), at a place from which the match's
# start is found (``_start_of``). Found with str.find, far faster than a case-blind regex scan:
# this is what keeps 100 MB of logs quick, even when every line holds a secret.
_TELLTALES = (
    "pass",
    "pwd",
    "secret",
    "token",
    "key",
    "credential",
    "bearer",
    "basic",
    "cookie",
    "akia",
    "asia",
    "sig=",
    "://",
    "-----begin",
    "-----end",
    *(f"gh{kind}_" for kind in "pousr"),
    "github_pat_",
    *(f"xox{kind}-" for kind in "abposr"),
    "aiza",
    "mysql",
    "mariadb",
)
_AT_TELLTALE = frozenset(
    word for word in _TELLTALES if word.startswith(("gh", "github_pat_", "xox", "aiza"))
)
"""Tell-tales that are the start of their match: a token's prefix."""

# JSON keys whose whole value is a secret, whatever it looks like.
_SECRET_KEY = re.compile(
    r"(?i)^(?:.*" + _SECRET_WORDS + r".*|authorization|(?:set-)?cookie|connection_?string)$"
)

CHUNK_BYTES = 4 * 1024 * 1024
"""Text files are redacted in chunks of about this size, cut at line ends."""


class Redactor:
    """Masks secrets and counts what it masked, per file and kind (``summary``)."""

    def __init__(self) -> None:
        self.summary: dict[str, Counter[str]] = {}
        """File name -> kind -> count of masked values."""

    def _count(self, file: str, kind: str, n: int = 1) -> None:
        counts = self.summary.get(file)
        if counts is None:  # not setdefault: a Counter made for every mask costs in 100 MB
            counts = self.summary[file] = Counter()
        counts[kind] += n

    def text(self, text: str, file: str) -> str:
        """``text`` with every secret the text rules find masked."""
        # (where to try a match, the tell-tale it is for), taken earliest first, as a regex
        # search would find them.
        candidates = _candidates(text)
        if not candidates:
            return text
        mask = self._mask(file)
        parts: list[str] = []
        done = 0
        while candidates:
            start, at = heapq.heappop(candidates)
            if at < done:
                continue
            pos = max(start, done)
            match = _PATTERN.match(text, pos)
            if match is None:
                # A match for the same tell-tale may begin further on: after where the last
                # match ended (``Basic ...-Set-Cookie:``), at a part of a compound name, or at
                # a line of a key's body.
                if (later := _next_start(text, pos, at)) is not None:
                    heapq.heappush(candidates, (later, at))
                continue
            parts.append(text[done : match.start()])
            parts.append(mask(match))
            done = match.end()
            if done <= at:  # it ended before the tell-tale (an access key before --password)
                heapq.heappush(candidates, (done, at))
        parts.append(text[done:])
        return "".join(parts)

    def _mask(self, file: str) -> Callable[[re.Match[str]], str]:
        def mask(match: re.Match[str]) -> str:
            kind = match.lastgroup
            assert kind is not None
            self._count(file, kind)
            if kind == "private_key":
                if tail := match.group("pk_tail"):
                    return MASK + "\n" + tail
                label = match.group("pk_kind")
                end = f"-----END {label}PRIVATE KEY-----" if match.group("pk_end") else ""
                return f"-----BEGIN {label}PRIVATE KEY-----{MASK}{end}"
            keep = _KEEP[kind]
            kept = match.group(keep) if keep else ""
            quote = match.group()[len(kept) : len(kept) + 1]
            # A quoted value stays quoted, so JSON text and shell lines keep their shape.
            return kept + (quote + MASK + quote if quote in ('"', "'") else MASK)

        return mask

    def json_value(self, value: Any, file: str) -> Any:
        """A decoded JSON value with secrets masked: by key, in ``Env`` lists, and in strings."""
        if isinstance(value, str):
            return self.text(value, file)
        if isinstance(value, list):
            return [self.json_value(item, file) for item in value]
        if isinstance(value, dict):
            out: dict[str, Any] = {}
            for key, item in value.items():
                if key == "Env" and isinstance(item, list):
                    out[key] = [self._env(entry, file) for entry in item]
                elif isinstance(item, str) and item and item != MASK and _SECRET_KEY.match(key):
                    self._count(file, "json_secret_key")
                    out[key] = MASK
                else:
                    out[key] = self.json_value(item, file)
            return out
        return value

    def _env(self, entry: Any, file: str) -> Any:
        if not isinstance(entry, str) or "=" not in entry:
            return self.json_value(entry, file)
        name, _, value = entry.partition("=")
        if not value or value == MASK:
            return entry
        self._count(file, "env_value")
        return f"{name}={MASK}"

    def json_bytes(self, data: bytes, file: str) -> bytes:
        """One JSON document (or JSON line) redacted; text that is not JSON goes by the text
        rules, so nothing escapes redaction by being malformed."""
        try:
            value = msgspec.json.decode(data)
        except msgspec.DecodeError:
            return self.text(data.decode("utf-8", "replace"), file).encode()
        return msgspec.json.encode(self.json_value(value, file))

    def copy(self, source: BinaryIO, target: BinaryIO, file: str) -> None:
        """Copy a stream, redacting by the kind ``file``'s name says (.json, .jsonl, text)."""
        if file.endswith(".jsonl"):
            for line in source:
                if line.strip():
                    target.write(self.json_bytes(line, file) + b"\n")
        elif file.endswith(".json"):
            target.write(self.json_bytes(source.read(), file))
        else:
            held = ""
            for chunk in _chunks(source):
                text = held + chunk.decode("utf-8", "surrogateescape")
                cut = _open_key(text)
                text, held = text[:cut], text[cut:]
                target.write(self.text(text, file).encode("utf-8", "surrogateescape"))
            target.write(self.text(held, file).encode("utf-8", "surrogateescape"))

    def copy_file(self, source: Path, target: Path, file: str) -> None:
        """``copy`` between two paths (``target`` created or replaced)."""
        with source.open("rb") as src, target.open("wb") as dst:
            self.copy(src, dst, file)

    def report(self) -> dict[str, dict[str, int]]:
        """The summary as plain data for the manifest, files and kinds sorted."""
        return {file: dict(sorted(counts.items())) for file, counts in sorted(self.summary.items())}


def _candidates(text: str) -> list[tuple[int, int]]:
    """Where a rule's match could start, found from the tell-tales: (the start of the word
    holding one, where it is), sorted. The rules are then tried only there and at the places
    ``_next_start`` finds, never scanned over the whole text."""
    low = text.lower()
    if len(low) != len(text):  # a few characters change length in lower case: go slowly
        low = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    found: set[tuple[int, int]] = set()
    for word in _TELLTALES:
        at = low.find(word)
        while at >= 0:
            if (start := _start_of(text, at, word)) is not None:
                found.add((start, at))
            at = low.find(word, at + len(word))
    return sorted(found)


def _next_start(text: str, pos: int, at: int) -> int | None:
    """The next place after ``pos``, up to ``at``, where a match may begin: a word start after
    a dash, dot, plus or line end."""
    for later in range(pos + 1, at + 1):
        if text[later - 1] in _BREAKS and text[later] not in _BREAKS:
            return later
    return None


def _start_of(text: str, at: int, word: str) -> int | None:
    """Where the match that holds the tell-tale ``word`` at ``at`` would begin; None when no
    rule's match can hold it (deep inside a long run of name characters)."""
    if word in ("-----begin", "bearer", "basic", "akia", "asia", "sig=") or word in _AT_TELLTALE:
        return at
    if word == "-----end":  # a key whose BEGIN was cut off: back over its lines of base64
        start, floor = at, max(0, at - MAX_KEY_BYTES)
        while start > floor and text[start - 1] in _KEY_BODY_CHARS:
            start -= 1
        while start < at and text[start] in "\r\n":
            start += 1
        return start
    # A key (password, api_key, AccountKey, Set-Cookie) or a URL's scheme: back to the start
    # of the word, at most MAX_NAME characters: further in is not a name (a megabyte of base64
    # on one line), and looking back further for each tell-tale costs quadratic time.
    allowed = _SCHEME_CHARS if word == "://" else _KEY_CHARS
    start = at
    floor = max(0, at - MAX_NAME)
    while start > floor and text[start - 1] in allowed:
        start -= 1
    if start == floor and start > 0 and text[start - 1] in allowed:
        return None
    # Dashes and dots before a name are not part of it (``--password=``): every rule's match
    # begins at a word boundary.
    while start < at and text[start] in _LEADING:
        start += 1
    return start


MAX_KEY_BYTES = 64 * 1024
"""A private key is held back from one chunk to the next, to be masked whole, up to this size."""


def _open_key(text: str) -> int:
    """Where a private key that ``text`` does not finish begins (its line), so that it is
    redacted with the next chunk; ``len(text)`` when there is none or it is too long to be one."""
    begin = text.rfind("-----BEGIN ")
    if (
        begin < 0
        or len(text) - begin > MAX_KEY_BYTES
        or "PRIVATE KEY-----" not in text[begin : begin + 80]
        or "-----END " in text[begin:]
    ):
        return len(text)
    return text.rfind("\n", 0, begin) + 1


_KEY_BODY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/=\r\n")
_LEADING = "-.+"
"""The characters of a name or a scheme that no rule's match begins with."""
_BREAKS = _LEADING + "\n"
"""Where a match may begin just after, inside what a tell-tale's start looks back over."""
_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-")


def _chunks(source: BinaryIO) -> Iterator[bytes]:
    """About CHUNK_BYTES at a time, each ending at a line end (but the last)."""
    rest = b""
    while block := source.read(CHUNK_BYTES):
        block = rest + block
        cut = block.rfind(b"\n") + 1
        if cut == 0:
            rest = block
            continue
        rest = block[cut:]
        yield block[:cut]
    if rest:
        yield rest
