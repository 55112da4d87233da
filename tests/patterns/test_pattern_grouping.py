"""The pattern grouper: masks, grouping, new-since, caps, hostile lines, accuracy on real logs."""

from __future__ import annotations

import gzip
import time
from pathlib import Path

import pytest

from opsconsole.sources.log_patterns import (
    GrouperConfig,
    PatternGrouper,
    mask,
)

DATA = Path(__file__).resolve().parents[2] / "bench" / "patterns" / "data"


def test_masks_hide_values_and_keep_words() -> None:
    line = (
        "Nov 24 11:20:01 host sshd[1234]: Accepted key from fe80::1%eth0 port=22 "
        "id 3DB21401-FCCE-7A5E-2078-D5109D6DCEDB at 0xdeadbeef in /var/log/x.log took 12ms"
    )
    assert mask(line) == (
        "<*> <*> <*> host sshd[<*>]: Accepted key from <*> port=<*> id <*> at <*> in <*> took <*>"
    )
    assert mask("2026-11-24T11:26:59: New connection from 127.0.0.1:34166 on port 1883.") == (
        "<*> New connection from <*> on port <*>"
    )
    # Words that only end in digits are names, not values.
    assert mask("debug3: libc6:amd64 x86_64 sha256") == "debug3: libc6:amd64 x86_64 sha256"
    # A Debian epoch is a version, not an IPv6 address (which takes two colons at least).
    assert mask("Unpacking (1:14.0.6-12) ... 2001:db8::8a2e:370:7334") == "Unpacking (<*>) ... <*>"


def test_lines_of_one_format_share_a_pattern_and_others_do_not() -> None:
    grouper = PatternGrouper()
    first = grouper.add("Accepted password for alice from 10.0.0.1 port 5022 ssh2", 1.0)
    second = grouper.add("Accepted password for bob from 10.0.0.9 port 6100 ssh2", 2.0)
    other = grouper.add("Connection closed by 10.0.0.3 port 41000 [preauth]", 3.0)
    assert first == second != other
    pattern = grouper.get(first)
    assert pattern is not None
    assert pattern.template == "Accepted password for <*> from <*> port <*> ssh2"
    assert (pattern.count, pattern.first_seen, pattern.last_seen) == (2, 1.0, 2.0)
    regex = pattern.regex()
    assert regex.search("Accepted password for carol from 10.1.1.1 port 1 ssh2")
    assert not regex.search("Connection closed by 10.0.0.3 port 41000 [preauth]")


def test_a_message_with_an_extra_word_is_another_shape_of_the_same_pattern() -> None:
    grouper = PatternGrouper()
    plain = grouper.add("debug3: send packet: type 20", 1.0)
    preauth = grouper.add("debug3: send packet: type 21 [preauth]", 2.0)
    other = grouper.add("debug3: mm_request_send: entering, type 6", 3.0)
    assert plain == preauth != other
    pattern = grouper.get(plain)
    assert pattern is not None
    assert pattern.templates == [
        "debug3: send packet: type <*>",
        "debug3: send packet: type <*> [preauth]",
    ]
    regex = pattern.regex()
    assert regex.search("debug3: send packet: type 98")
    assert regex.search("debug3: send packet: type 98 [preauth]")
    assert not regex.search("debug3: mm_request_send: entering, type 6")


def test_a_quoted_span_is_one_value_and_a_request_keeps_its_verb() -> None:
    assert mask('1.2.3.4 - - "GET /x?q=1 HTTP/1.1" 200 "curl/8.1 (x86_64)"') == (
        '<*> - - "GET <*>" <*> "<*>"'
    )
    assert mask('index "t1_pkey" for table "t1"') == 'index "t1_pkey" for table "t1"'
    grouper = PatternGrouper()
    get = grouper.add('127.0.0.1 - - [24/Nov/2026 11:27:23] "GET /a.css HTTP/1.1" 200 -', 1)
    again = grouper.add('127.0.0.9 - - [24/Nov/2026 11:27:24] "GET /b?q=1 HTTP/1.0" 404 -', 2)
    post = grouper.add('127.0.0.1 - - [24/Nov/2026 11:27:24] "POST /api HTTP/1.1" 200 -', 3)
    garbage = grouper.add('127.0.0.1 - - [24/Nov/2026 11:27:24] "GARBAGE" 400 -', 4)
    # One request of each verb is one event, as a reader (and Loghub's labels) would have it.
    assert get == again
    assert len({get, post, garbage}) == 3
    pattern = grouper.get(get)
    assert pattern is not None
    assert pattern.template == '<*> - - [<*> <*>] "GET <*>" <*> -'
    # The pattern's filter finds its lines as they are, quotes and all, and no other verb's.
    assert pattern.regex().search('10.0.0.1 - - [1/Dec/2026 00:00:00] "GET / HTTP/1.0" 404 -')
    assert not pattern.regex().search('10.0.0.1 - - [1/Dec/2026 00:00:00] "HEAD / HTTP/1.0" 4 -')
    # Two quoted spans of several words, the second without a verb.
    starting = grouper.add('LOG: starting background worker process "logical replication x"', 5)
    parallel = grouper.add('LOG: starting background worker process "parallel worker y"', 6)
    assert starting == parallel


def test_a_json_line_is_grouped_by_its_message_and_fields() -> None:
    def zap(caller: str, msg: str, **fields: object) -> str:
        extra = "".join(
            f',"{key}":"{value}"' if isinstance(value, str) else f',"{key}":{value}'
            for key, value in fields.items()
        )
        return (
            f'{{"level":"info","ts":"2026-11-24T14:26:52.426Z","caller":"{caller}",'
            f'"msg":"{msg}"{extra}}}'
        )

    assert mask(zap("mvcc/index.go:189", "compact tree index", revision=126)) == (
        '{"level":"<*>","ts":"<*>","caller":"mvcc/index.go:189","msg":" compact tree index",'
        '"revision":<*>}'
    )
    grouper = PatternGrouper()
    first = grouper.add(zap("mvcc/index.go:189", "compact tree index", revision=126), 1)
    second = grouper.add(zap("mvcc/index.go:189", "compact tree index", revision=9), 2)
    # Another call site with a message of as many words is another message.
    stopped = grouper.add(zap("rafthttp/peer.go:340", "stopped remote peer", id="ab12"), 3)
    started = grouper.add(zap("rafthttp/peer.go:128", "started remote peer", id="cd34"), 4)
    # Field values, quoted or not, spaces or not, are values.
    lost = grouper.add(zap("x.go:1", "lost stream", type="stream MsgApp v2", error="EOF"), 5)
    again = grouper.add(zap("x.go:1", "lost stream", type="stream Message", error="ctx gone"), 6)
    assert first == second
    assert len({first, stopped, started, lost}) == 4
    assert lost == again
    for pattern_id, line in (
        (first, zap("mvcc/index.go:189", "compact tree index", revision=7)),
        (lost, zap("x.go:1", "lost stream", type="a b c", error='say \\"no\\" 2')),
    ):
        pattern = grouper.get(pattern_id)
        assert pattern is not None and pattern.regex().search(line)


def test_a_log4j_call_site_is_a_key_and_its_thread_a_value() -> None:
    def log4j(thread: str, site: str, message: str) -> str:
        return f"2026-11-24 14:43:45,705 - INFO  [{thread}:{site}] - {message}"

    assert mask(log4j("QuorumPeer[myid=3](plain=127.0.0.1:23181)", "Leader@588", "x = 10")) == (
        "<*> <*>,<*> - INFO [<*>:Leader@588] - x = <*>"
    )
    leader, learner = "LeaderSessionTracker@104", "LearnerSessionTracker@116"
    grouper = PatternGrouper()
    one = grouper.add(log4j("CommitProcessor:1", leader, "Committing s 0x1"), 1)
    two = grouper.add(log4j("CommitProcessor:3", leader, "Committing s 0x2"), 2)
    # The same message from another call site is another message.
    other = grouper.add(log4j("CommitProcessor:1", learner, "Committing s 0x3"), 3)
    # A line of another length from the call site joins it, header and all being alike.
    longer = grouper.add(log4j("main", leader, "Committing s 0x4 again now"), 4)
    assert one == two == longer != other
    pattern = grouper.get(one)
    assert pattern is not None
    assert pattern.regex().search(log4j("CommitProcessor:9", leader, "Committing s 0x5"))


def test_another_key_is_another_message_and_a_hyphenated_value_is_not() -> None:
    grouper = PatternGrouper()
    send = grouper.add("debug3: mm_request_send: entering, type 6", 1.0)
    receive = grouper.add("debug3: mm_request_receive: entering, type 6", 2.0)
    assert send != receive
    # The last word may end in a colon and still be a value.
    six = grouper.add("2 location(s) to search for versions of six:", 3.0)
    idna = grouper.add("2 location(s) to search for versions of idna:", 4.0)
    assert six == idna
    # States and names written with a hyphen are values of one message.
    pending = grouper.add("2025-06-24 14:36:25 status triggers-pending libc-bin:amd64 2.36-9", 5.0)
    half = grouper.add("2025-06-24 14:36:25 status half-installed libsystemd0:amd64 252.36-1", 6.0)
    assert pending == half


def test_a_template_regex_never_backtracks_on_a_huge_line() -> None:
    grouper = PatternGrouper()
    pattern = grouper.get(grouper.add("Nov 24 11:20:01 web sshd[12]: Accepted key for bob", 1.0))
    assert pattern is not None
    regex = pattern.regex()
    start = time.perf_counter()
    assert not regex.search("x" * 10_000_000)
    assert not regex.search("a " * 5_000_000)
    quoted = grouper.get(grouper.add('"GET / HTTP/1.1" <*> "a b" then "c d" end', 2.0))
    assert quoted is not None
    assert not quoted.regex().search('"a ' * 3_000_000)
    assert time.perf_counter() - start < 0.5


def test_level_is_the_worst_seen_and_rate_counts_per_minute() -> None:
    grouper = PatternGrouper()
    for minute, level in ((0, "info"), (0, "WARN"), (2, "error"), (2, None)):
        pattern_id = grouper.add(f"job {minute} finished", 600.0 + minute * 60, level)
    pattern = grouper.get(pattern_id)
    assert pattern is not None
    assert pattern.level == "error"
    assert pattern.rate(600.0 + 3 * 60, 4) == [2, 0, 2, 0]
    assert pattern.rate(600.0 + 1000 * 60, 4) == [0, 0, 0, 0]


def test_new_since_lists_patterns_first_seen_after_the_moment() -> None:
    grouper = PatternGrouper()
    grouper.add("GET /health 200", 100.0)
    grouper.add("GET /health 200", 300.0)  # old pattern seen again after the deploy
    late = grouper.add("database connection refused: retrying in 5s", 250.0)
    assert [p.id for p in grouper.new_since(200.0)] == [late]
    assert grouper.new_since(400.0) == []


def test_the_cap_drops_the_least_recently_seen_pattern() -> None:
    grouper = PatternGrouper(GrouperConfig(max_patterns=3))
    kept = grouper.add("alpha event happened", 1.0)
    for ts, word in enumerate(("beta", "gamma", "delta", "epsilon"), start=2):
        grouper.add(f"{word} unrelated thing", float(ts))
        grouper.add("alpha event happened", float(ts))  # alpha stays recent
    assert len(grouper) == 3
    assert grouper.evicted == 2
    assert grouper.get(kept) is not None
    assert {p.template for p in grouper.patterns} >= {"alpha event happened"}


def test_hostile_lines_are_grouped_quickly_and_kept_as_text() -> None:
    grouper = PatternGrouper()
    escapes = "\x1b]0;pwned\x07\x1b[2J\x1b]52;c;ZXZpbA==\x07\x9b31m\x1bP+q\x1b\\ boom"
    undecodable = b"bad \xff\xfe bytes \x00 here".decode("utf-8", "surrogateescape")
    start = time.perf_counter()
    ids = [
        grouper.add(escapes, 1.0),
        grouper.add(undecodable, 1.0),
        grouper.add("x" * 10_000_000, 1.0),
        grouper.add("", 1.0),
        grouper.add("   \t ", 1.0),
    ]
    assert time.perf_counter() - start < 1.0
    assert len(set(ids)) == 4  # the two empty lines are one (empty) pattern
    huge = grouper.get(ids[2])
    assert huge is not None and len(huge.template) <= 2000
    hostile = grouper.get(ids[0])
    # Kept as data (the pane makes it safe when it draws it), values masked as in any line.
    assert hostile is not None and hostile.template.startswith("\x1b]<*>;pwned\x07")


def test_a_flood_of_lines_that_match_nothing_costs_bounded_time_and_memory() -> None:
    words = [f"{a}{b}{c}x" for a in "abcdefgh" for b in "ijklmnop" for c in "qrstuvwx"]
    grouper = PatternGrouper(GrouperConfig(max_patterns=300))
    start = time.process_time()
    for index in range(6000):
        picked = [words[(index * prime) % len(words)] for prime in (7, 31, 101, 211)]
        grouper.add("user {} did {} to {} with {}".format(*picked), float(index))
    assert time.process_time() - start < 3.0  # about 0.3 s here
    assert len(grouper) == 300
    assert grouper.evicted > 0


def _accuracy(labels: list[str], found: list[int]) -> float:
    truth: dict[str, set[int]] = {}
    groups: dict[int, set[int]] = {}
    for index, (label, group) in enumerate(zip(labels, found, strict=True)):
        truth.setdefault(label, set()).add(index)
        groups.setdefault(group, set()).add(index)
    right = sum(len(m) for m in groups.values() if truth[labels[next(iter(m))]] == m)
    return right / len(labels)


def _labelled(name: str) -> tuple[list[str], list[str]]:
    labels, lines = [], []
    with gzip.open(DATA / f"{name}.tsv.gz", "rt", encoding="utf-8") as rows:
        for row in rows:
            label, _, line = row.rstrip("\n").partition("\t")
            labels.append(label)
            lines.append(line)
    return labels, lines


@pytest.mark.parametrize("name", ["postgres", "http", "sshd", "etcd", "bind9", "zookeeper"])
def test_the_filter_of_a_pattern_finds_every_line_grouped_in_it(name: str) -> None:
    _, lines = _labelled(name)
    grouper = PatternGrouper()
    found = [grouper.add(line, 0.0) for line in lines]
    regexes = {pattern.id: pattern.regex() for pattern in grouper.patterns}
    missed = [line for line, pid in zip(lines, found, strict=True) if not regexes[pid].search(line)]
    assert missed == []


FLOORS = {
    # Measured with the defaults (drain3 as shipped in brackets): bench/pattern_accuracy.py.
    "mosquitto": 0.95,  # 1.000 (0.322)
    "redis": 0.95,  # 0.991 (0.811)
    "http": 0.95,  # 0.992 (0.000)
    "dpkg": 0.95,  # 1.000 (0.002)
    "memcached": 0.95,  # 1.000 (0.491)
    "etcd": 0.95,  # 0.985 (0.259), held out: 0.835 before the grouper read JSON fields
    "bind9": 0.92,  # 0.962 (0.638), held out
    "haproxy": 0.95,  # 0.987 (0.035), held out: 0.971
    "zookeeper": 0.88,  # 0.912, held out: 0.361 before call sites and repeated words
    "sshd": 0.80,  # 0.844 (0.329)
}
"""Floors on accuracy per set, a few points under what the defaults score."""


def _accuracy_of(name: str) -> float:
    labels, lines = _labelled(name)
    grouper = PatternGrouper()
    return _accuracy(labels, [grouper.add(line, 0.0) for line in lines])


@pytest.mark.parametrize(("name", "floor"), FLOORS.items())
def test_accuracy_on_real_logs_does_not_regress(name: str, floor: float) -> None:
    assert _accuracy_of(name) >= floor


def test_mean_accuracy_over_every_labelled_set_stays_above_the_target() -> None:
    names = sorted(path.name.removesuffix(".tsv.gz") for path in DATA.glob("*.tsv.gz"))
    assert len(names) >= 13
    # 0.959 measured over thirteen sets; the target is 0.90.
    assert sum(_accuracy_of(name) for name in names) / len(names) >= 0.93
