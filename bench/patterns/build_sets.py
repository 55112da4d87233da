"""Label real logs by the format strings of the programs that wrote them.

Each line of a captured log (``capture.sh``) is matched against every message format that the
program and its libraries carry: printf formats in a binary's strings, string literals and
f-strings in Python sources (read with ``ast``), quoted strings in shell and Perl scripts. A
format becomes a regular expression (its literal text exact, each conversion a wildcard); a line
is labelled with the matching format that has the most literal text, together with the constant
prefix before it (a syslog-style ``debug2: function_name:``), since one call site writes both.
Lines that no format explains with at least ``MIN_LITERAL`` letters (program output that is not
a log call, such as source lines quoted in a traceback) are left out and counted.

Usage::

    bench/patterns/capture.sh /tmp/raw           # run the real programs (root; ~2 min)
    .venv/bin/python bench/patterns/build_sets.py /tmp/raw   # writes bench/patterns/data/*.tsv.gz
"""

from __future__ import annotations

import argparse
import ast
import gzip
import re
import sys
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final

DATA = Path(__file__).resolve().parent / "data"
LINES_PER_SET = 2000
MIN_LITERAL = 6
"""Letters a format must have outside its conversions to label a line on its own."""


@dataclass(frozen=True)
class LogSet:
    """One labelled set: where its raw lines come from and which formats explain them."""

    name: str
    kind: str
    raw: str
    header: str
    """Regex of the line's header (time, host, pid): stripped before matching formats."""
    sources: tuple[str, ...]
    """Globs of the files whose formats wrote the lines (``{raw}``: the capture folder)."""
    prefix: str = r"(?:debug\d: )?(?:[A-Za-z_][\w.]*(?: [A-Za-z_][\w.]*)?: )?"
    """Regex of constant call-site prefixes that may come before a format."""
    suffix: str = r"(?: \[preauth\])?"
    extra: tuple[str, ...] = ()
    """Formats read in the program's source that its files do not carry whole (a format
    built at run time, or one with too few letters to stand on its own)."""
    protocol: tuple[tuple[str, int], ...] = ()
    """Formats, read in the program's source, with the number (from 1) of their string
    conversion that echoes a whole message of the program's protocol (a command or request
    it received, a reply it sent): the message's verb is part of the label (``verb_label``)."""
    wrapped: str = ""
    """Regex of the values a wrapping call writes around a message (BIND's ``zone %s: ``):
    each made ``%s`` before labelling, so that the wrapper's text is a constant prefix."""
    caller: str = ""
    """Regex whose group 1 is the call site the line itself names (zap's ``"caller":
    "raft/raft.go:706"``): when set, that call site is the label, and no format is read."""


_ZONE_LOG = r"(?<=zone )[^\s:']+(?=: )"
"""The zone in BIND's ``dns_zone_log`` wrapper, ``zone %s%s%s%s: %s``."""

SETS = (
    LogSet(
        "dpkg",
        "package manager",
        "dpkg.raw",
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ",
        ("/usr/bin/dpkg",),
        prefix="",
        # dpkg's log_action(action, ...) writes "%s %s %s %s" with the action from each caller.
        extra=tuple(
            f"{action} %s %s %s"
            for action in ("install", "upgrade", "configure", "trigproc", "remove", "purge")
        ),
    ),
    LogSet(
        "apt-term",
        "package manager (maintainer scripts)",
        "apt-term.raw",
        "",
        (
            "/usr/bin/dpkg",
            "/usr/bin/update-alternatives",
            "/usr/bin/dpkg-*",
            "/usr/lib/x86_64-linux-gnu/libapt-pkg.so.*",
            "/usr/lib/x86_64-linux-gnu/libapt-private.so.*",
            "/usr/sbin/adduser",
            "/usr/sbin/addgroup",
            "/usr/sbin/update-ca-certificates",
            "/usr/share/perl5/Debconf/*.pm",
            "/usr/share/perl5/Debconf/*/*.pm",
            "/usr/bin/deb-systemd-helper",
            "/usr/bin/systemctl",
            "/var/lib/dpkg/info/*.postinst",
            "/usr/sbin/invoke-rc.d",
            "/usr/bin/ucf",
            "/usr/sbin/ldconfig",
        ),
    ),
    LogSet(
        "mosquitto",
        "network daemon (MQTT broker)",
        "mosquitto.raw",
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d: ",
        ("/usr/sbin/mosquitto",),
        prefix="",
    ),
    LogSet(
        "sshd",
        "network daemon (OpenSSH, debug 3)",
        "sshd.raw",
        "",
        ("/usr/sbin/sshd",),
    ),
    LogSet(
        "postgres",
        "database server",
        "postgres.raw",
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \w+ \[\d+\] ",
        ("/usr/lib/postgresql/15/bin/postgres",),
        prefix=r"(?:LOG|DEBUG\d?|ERROR|FATAL|WARNING|DETAIL|HINT|CONTEXT|STATEMENT|NOTICE|INFO):  ",
        protocol=(("statement: %s", 1),),  # log_statement's SQL
    ),
    LogSet(
        "http",
        "web server (Python http.server)",
        "http.raw",
        r"\S+ - - \[[^\]]+\] ",
        ("/usr/lib/python3.11/http/server.py", "/usr/lib/python3.11/http/__init__.py"),
        prefix="",
        extra=('"%s" %s %s',),  # log_request's format
        protocol=(('"%s" %s %s', 1),),  # the request line
    ),
    LogSet(
        "redis",
        "distributed key-value store (redis 7, a primary and a replica)",
        "redis.raw",
        # pid:role day month year time level-mark
        r"\d+:[XCSM] \d+ \w+ \d{4} \d\d:\d\d:\d\d\.\d+ [.*#-] ",
        ("/usr/bin/redis-server",),
        prefix="",
    ),
    LogSet(
        "memcached",
        "cache server (memcached 1.6, -vv)",
        "memcached.raw",
        "",
        ("/usr/bin/memcached",),
        prefix="",
        # Its source echoes each command and reply with these; they have too few letters to
        # label a line on their own, and "sending key" is written in two calls.
        extra=("<%d %s", ">%d %s", ">%d sending key %s", "slab class %d: chunk size %d perslab %d"),
        protocol=(("<%d %s", 1), (">%d %s", 1)),  # each command received, each reply sent
    ),
    LogSet(
        "bind9",
        "DNS server (BIND 9.18, named -g -d 1)",
        "bind9.raw",
        # ns_client_log's wrapper, "client @%p %s%s%s%s%s%s: ", is a header of values.
        # cfg_obj_log's, "%s:%u: ", too.
        r"\d\d-\w{3}-\d{4} \d\d:\d\d:\d\d\.\d{3} (?:client @0x[0-9a-f]+ \S+(?: \([^)]*\))?: )?"
        r"(?:[\w.]+:\d+: )?",
        (
            "/usr/sbin/named",
            "/usr/lib/x86_64-linux-gnu/libdns-9.*.so",
            "/usr/lib/x86_64-linux-gnu/libisc-9.*.so",
            "/usr/lib/x86_64-linux-gnu/libns-9.*.so",
            "/usr/lib/x86_64-linux-gnu/libisccfg-9.*.so",
            "/usr/lib/x86_64-linux-gnu/libisccc-9.*.so",
            "/usr/lib/x86_64-linux-gnu/libbind9-9.*.so",
        ),
        prefix=r"(?:[a-z_]+: )?(?:zone %s: |managed-keys-zone: )?",
        suffix="",
        # query_log's format has five letters only.
        extra=("query: %s %s %s %s%s%s%s%s%s%s (%s)%s",),
        wrapped=_ZONE_LOG,
    ),
    LogSet(
        "etcd",
        "distributed key-value store (etcd 3.4, zap JSON, a cluster of three)",
        "etcd.raw",
        "",
        (),
        caller=r'^\{"level":"\w+","ts":"[^"]+","caller":"([^"]+)"',
    ),
    LogSet(
        "zookeeper",
        "distributed coordination (ZooKeeper 3.8, Java, log4j, an ensemble of three)",
        "zookeeper.raw",
        "",
        (),
        # log4j's "%d{ISO8601} - %-5p [%t:%C{1}@%L] - %m%n": class and line, the call site.
        caller=r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ - \w+ +\[.*?:(\w+@\d+)\] - ",
    ),
    LogSet(
        "haproxy",
        "load balancer (HAProxy 2.6, httplog and tcplog, health checks)",
        "haproxy.raw",
        r"(?:\[\w+\] +\(\d+\) : )?",
        ("/usr/sbin/haproxy",),
        prefix="",
        suffix="",
        extra=(
            # The default log-format of "option httplog" and "option tcplog" (its own
            # language in the binary: %ci:%cp [%tr] %ft %b/%s ... %{+Q}r), as printf.
            '%s:%d [%s] %s %s/%s %d/%d/%d/%d/%d %d %d %s %s %s %d/%d/%d/%d/%d %d/%d "%s"',
            "%s:%d [%s] %s %s/%s %d/%d/%d %d %s %d/%d/%d/%d/%d %d/%d",
            # A server's change of state, written piece by piece (srv_append_status).
            'Server %s/%s is DOWN, reason: %s, info: "%s", check duration: %s. %d active and %d'
            " backup servers left. %d sessions active, %d requeued, %d remaining in queue.",
            "Server %s/%s is UP, reason: %s, check duration: %s. %d active and %d backup servers"
            " online. %d sessions requeued, %d total in queue.",
        ),
        protocol=(
            ('%s:%d [%s] %s %s/%s %d/%d/%d/%d/%d %d %d %s %s %s %d/%d/%d/%d/%d %d/%d "%s"', 9),
        ),
    ),
    LogSet(
        "pip",
        "package manager / build (pip -vvv)",
        "pip.raw",
        "",
        (
            "{raw}/pip-src/**/*.py",
            "/usr/lib/python3.11/traceback.py",
            "/usr/lib/python3/dist-packages/setuptools/**/*.py",
        ),
        prefix=r"(?:  )*(?:[\w.]+: )?",
    ),
)

_PRINTF = re.compile(
    r"%(?:\((\w+)\))?[-+ #0']*(?:\*|\d+)?(?:\.(?:\*|\d+))?"
    r"(?:hh|h|ll|l|L|q|j|z|Z|t)?([diouxXeEfFgGaAcspmr%])"
)
_SHELL = re.compile(r"\$\{[^}]*\}|\$\w+|\$\(.*?\)")
_BRACES = re.compile(r"\{[\w.!:]*\}")
"""Python's format fields."""
_HOLES = re.compile(f"{_PRINTF.pattern}|{_SHELL.pattern}|\x00")


def _strings_of_binary(data: bytes) -> list[str]:
    return [m.decode("latin-1") for m in re.findall(rb"[\x20-\x7e\t]{6,}", data)]


def _strings_of_python(text: str) -> list[str]:
    found: list[str] = []
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return found
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.append(_BRACES.sub("\x00", node.value))
        elif isinstance(node, ast.JoinedStr):
            parts = []
            for value in node.values:
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    parts.append(value.value.replace("%", "%%"))
                else:
                    parts.append("\x00")
            found.append("".join(parts))
    return [text for string in found for text in string.splitlines() if text.strip()]


def _strings_of_script(text: str) -> list[str]:
    return [a or b for a, b in re.findall(r'"([^"\n]{4,})"|\'([^\'\n]{4,})\'', text)]


def formats_of(sources: tuple[str, ...], raw_dir: Path) -> set[str]:
    """Every message format found in the files named by the globs ``sources``."""
    found: set[str] = set()
    for source in sources:
        pattern = (
            str(raw_dir.resolve() / source.removeprefix("{raw}/")) if "{raw}" in source else source
        )
        root = Path(pattern).anchor
        for path in Path(root).glob(pattern.removeprefix(root)):
            if not path.is_file():
                continue
            data = path.read_bytes()
            if path.suffix == ".py":
                found.update(_strings_of_python(data.decode("utf-8", "replace")))
            elif b"\x00" in data[:4096]:
                found.update(_strings_of_binary(data))
            else:
                found.update(_strings_of_script(data.decode("utf-8", "replace")))
    return {f.strip() for f in found if f.strip()}


def _hole(match: re.Match[str]) -> str:
    text = match.group(0)
    if text == "%%":
        return "%"
    conversion = match.group(2)
    if conversion in ("d", "i", "u"):
        return r"-?\d+"
    if conversion in ("x", "X", "p"):
        return r"(?:0x)?[0-9a-fA-F]+"
    if conversion in ("e", "E", "f", "F", "g", "G"):
        return r"[-+\d.eEinfa]+"
    if conversion == "c":
        return "."
    return "(.*?)"


@cache
def format_regex(fmt: str) -> re.Pattern[str] | None:
    """The regex of the lines a format writes, or None when the format is not a usable one."""
    out = []
    last = 0
    for match in _HOLES.finditer(fmt):
        out.append(re.escape(fmt[last : match.start()]))
        out.append(_hole(match) if match.group(0) != "\x00" and match.group(2) else "(.*?)")
        last = match.end()
    out.append(re.escape(fmt[last:]))
    try:
        return re.compile("".join(out))
    except re.error:
        return None


def literal_letters(fmt: str) -> int:
    """Letters in a format outside its conversions: how specific it is."""
    return sum(c.isalpha() for c in _HOLES.sub("", fmt))


VERB_TAG: Final = re.compile(r" \{verb [^}]*\}$")
"""The verb part of a label (see ``verb_label``): without it, a label is the format alone."""


def verb_label(fmt: str, protocol: tuple[tuple[str, int], ...], content: str) -> str:
    """``fmt``, with the verb (first word) of the protocol message that its string conversion
    named in ``protocol`` holds in ``content``, when it is one of the ``protocol`` formats.

    Loghub's curators label a line by its event: memcached's ``<%d %s`` echo of ``get k`` and
    of ``set k 0 0 3`` are two events, http.server's ``"GET / HTTP/1.1"`` and ``"GARBAGE"``
    two requests. The verb is the message's first word, whatever it is (an unknown command
    is an event of its own): ``<%d %s {verb get}``.
    """
    conversion = dict(protocol).get(fmt)
    regex = format_regex(fmt)
    match = regex.fullmatch(content) if regex is not None and conversion else None
    if match is None or not conversion or (match.lastindex or 0) < conversion:
        return fmt
    words = match.group(conversion).split()
    return f"{fmt} {{verb {words[0] if words else ''}}}"


class Labeller:
    """Finds, for a line's content, the most specific format that writes it."""

    def __init__(
        self,
        formats: set[str],
        extra: tuple[str, ...] = (),
        protocol: tuple[tuple[str, int], ...] = (),
    ) -> None:
        self._by_word: dict[str, list[str]] = {}
        self._extra = extra
        self._protocol = protocol
        for fmt in formats:
            literal = _HOLES.sub(" ", fmt)
            words = re.findall(r"[A-Za-z]{3,}", literal)
            if literal_letters(fmt) < MIN_LITERAL or not words:
                continue
            self._by_word.setdefault(max(words, key=len), []).append(fmt)

    def label(self, content: str, depth: int = 0) -> str | None:
        """The format that explains ``content`` best, or None.

        When the format ends in a string conversion that holds another message of the
        program (``code %d, message %s`` with ``File not found``), that message's format is
        part of the label: one call site wrote both.
        """
        best: tuple[int, int] | None = None
        chosen = None
        found = None
        candidates = [
            f for w in set(re.findall(r"[A-Za-z]{3,}", content)) for f in self._by_word.get(w, ())
        ]
        for fmt in [*candidates, *self._extra]:
            regex = format_regex(fmt)
            match = regex.fullmatch(content) if regex is not None else None
            if match is None:
                continue
            score = (literal_letters(fmt), -len(_HOLES.findall(fmt)))
            if best is None or score > best:
                best, chosen, found = score, fmt, match
        if chosen is None or found is None or depth > 0 or not found.lastindex:
            return chosen
        if chosen in dict(self._protocol):
            return verb_label(chosen, self._protocol, content)
        inner = found.group(found.lastindex)
        if found.end(found.lastindex) == len(content) and " " in inner.strip():
            # Only a message of several words: a lone word that some string constant happens
            # to equal (a URL, a content type) is a value, not a message.
            nested = self.label(inner, depth + 1)
            if nested is not None and " " in nested.strip():
                return f"{chosen} <{nested}>"
        return chosen


def _best_label(labeller: Labeller, around: re.Pattern[str], content: str) -> str | None:
    """The label of ``content`` as it is, or of its message after the call site's constant
    prefix and decoration (``debug2: func: ... [preauth]``): whichever explains more of it."""
    choices = []
    whole = labeller.label(content)
    if whole is not None:
        choices.append((literal_letters(whole), whole))
    parts = around.fullmatch(content)
    if parts and parts.group(2) != content:
        # The prefix is one call site's constant text (a debug level, a function name): with
        # no format of at least MIN_LITERAL letters for the rest ("%u/%u"), it names the call.
        inner = labeller.label(parts.group(2)) or "*"
        prefix_letters = sum(c.isalpha() for c in parts.group(1))
        if inner != "*" or prefix_letters >= 2 * MIN_LITERAL:
            # Indentation (pip's nested steps) is decoration, not part of the call.
            label = " ".join(parts.group(1).split()) + " " + inner
            choices.append((literal_letters(inner) + prefix_letters, label.strip()))
    return max(choices)[1] if choices else None


_HOST = re.compile(r"\b(https?)://[^/\s:'\"]+")
_OPT = re.compile(r"(?<![\w.])/opt/[\w.-]+")
_TMP = re.compile(r"/tmp/tmp\.\w+")


def scrub(line: str) -> str:
    """``line`` with what describes this machine rather than the program made neutral: URL
    hosts (the package index it used), local mirror folders, temporary folder names."""
    line = _HOST.sub(r"\1://host.invalid", line)
    line = _OPT.sub("/srv/mirror", line)
    return _TMP.sub("/tmp/capture", line)


def label_set(log_set: LogSet, raw_dir: Path) -> tuple[list[tuple[str, str]], Counter[str]]:
    """(label, line) for the first ``LINES_PER_SET`` lines labelled, and counts of the rest."""
    labeller = Labeller(formats_of(log_set.sources, raw_dir), log_set.extra, log_set.protocol)
    header = re.compile(log_set.header)
    around = re.compile(f"({log_set.prefix})(.*?){log_set.suffix}")
    wrapped = re.compile(log_set.wrapped) if log_set.wrapped else None
    caller = re.compile(log_set.caller) if log_set.caller else None
    rows: list[tuple[str, str]] = []
    stats: Counter[str] = Counter()
    raw = (raw_dir / log_set.raw).read_bytes().decode("utf-8", "replace")
    for line in raw.splitlines():
        if len(rows) >= LINES_PER_SET:
            break
        if not line.strip() or "\t" in line:
            stats["blank or tab"] += 1
            continue
        line = scrub(line)
        match = header.match(line)
        content = line[match.end() :] if match else line
        if wrapped is not None:
            content = wrapped.sub("%s", content)
        if caller is not None:
            site = caller.match(content)
            label = site.group(1) if site else None
        else:
            label = _best_label(labeller, around, content)
        if label is None:
            stats["unlabelled"] += 1
            continue
        stats["labelled"] += 1
        # A hole from an f-string shows as {}; a tab would end the label's column.
        rows.append((label.replace("\x00", "{}").replace("\t", "\\t"), line))
    return rows, stats


def relabel(log_set: LogSet, rows: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``rows`` of a set already written, with the verbs of its protocol formats labelled
    anew (see ``verb_label``): the same lines, so labels old and new compare line for line."""
    header = re.compile(log_set.header)
    around = re.compile(f"({log_set.prefix})(.*?){log_set.suffix}")
    out = []
    for label, line in rows:
        base = VERB_TAG.sub("", label)
        match = header.match(line)
        content = line[match.end() :] if match else line
        for fmt, _ in log_set.protocol:
            if base == fmt:
                label = verb_label(fmt, log_set.protocol, content)
            elif base.endswith(" " + fmt) and (parts := around.fullmatch(content)):
                label = base.removesuffix(fmt) + verb_label(fmt, log_set.protocol, parts.group(2))
        out.append((label, line))
    return out


def _write(name: str, rows: list[tuple[str, str]]) -> None:
    with gzip.open(DATA / f"{name}.tsv.gz", "wt", encoding="utf-8", compresslevel=9) as out:
        out.writelines(f"{label}\t{line}\n" for label, line in rows)


def main() -> int:
    """Label every set found in the raw directory and write them under ``data/``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("raw", type=Path, nargs="?", help="directory written by capture.sh")
    parser.add_argument("--only", action="append", help="set name (repeatable)")
    parser.add_argument(
        "--relabel", action="store_true", help="relabel the verbs of the sets in data/ only"
    )
    args = parser.parse_args()
    DATA.mkdir(exist_ok=True)
    for log_set in SETS:
        if args.only and log_set.name not in args.only:
            continue
        if args.relabel:
            path = DATA / f"{log_set.name}.tsv.gz"
            if log_set.protocol and path.exists():
                with gzip.open(path, "rt", encoding="utf-8") as source:
                    old = [tuple(row.rstrip("\n").split("\t", 1)) for row in source]
                _write(log_set.name, relabel(log_set, [(label, line) for label, line in old]))
                print(f"{log_set.name}: relabelled")
            continue
        if args.raw is None:
            parser.error("the raw directory is needed unless --relabel")
        if not (args.raw / log_set.raw).exists():
            print(f"{log_set.name}: no {log_set.raw}, skipped", file=sys.stderr)
            continue
        rows, stats = label_set(log_set, args.raw)
        groups = len({label for label, _ in rows})
        _write(log_set.name, rows)
        print(f"{log_set.name:10} {len(rows):5} lines {groups:4} groups  {dict(stats)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
