"""Pattern grouping: accuracy on labelled real logs and throughput, ours beside drain3's.

Grouping accuracy as the log-parsing literature defines it (Zhu et al., ICSE-SEIP 2019): a line
counts as correct when the set of lines grouped with it is exactly the set of lines of its true
group. The sets are real logs captured here and labelled by the format strings of the programs
that wrote them (bench/patterns/README.md). Each parser sees the whole line, header and all,
with one configuration for every set.

    .venv/bin/python bench/pattern_accuracy.py            # accuracy, leave-half-out, throughput
    .venv/bin/python bench/pattern_accuracy.py --quick    # accuracy only
    .venv/bin/python bench/pattern_accuracy.py --speed    # throughput only
    .venv/bin/python bench/pattern_accuracy.py --groups   # a digest of our groups, to compare
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import itertools
import logging
import random
import re
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Final

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from drain3 import TemplateMiner
from drain3.masking import MaskingInstruction
from drain3.template_miner_config import TemplateMinerConfig

from opsconsole.sources.log_patterns import MASK_RE, GrouperConfig, PatternGrouper

DATA = Path(__file__).resolve().parent / "patterns" / "data"
logging.getLogger("drain3").setLevel(logging.ERROR)  # "config file not found: drain3.ini"

Grouping = Callable[[Sequence[str]], list[object]]
"""Gives each line the id of the group it was put in."""


def load_set(path: Path) -> tuple[list[str], list[str]]:
    """(labels, lines) of one labelled set."""
    labels: list[str] = []
    lines: list[str] = []
    with gzip.open(path, "rt", encoding="utf-8") as source:
        for row in source:
            label, _, line = row.rstrip("\n").partition("\t")
            labels.append(label)
            lines.append(line)
    return labels, lines


def load_sets() -> dict[str, tuple[list[str], list[str]]]:
    """Every labelled set under ``data/``, by name."""
    return {
        path.name.removesuffix(".tsv.gz"): load_set(path) for path in sorted(DATA.glob("*.tsv.gz"))
    }


_VERB: Final = re.compile(r" \{verb [^}]*\}$")
"""The verb of a protocol message in a label (bench/patterns/README.md, "How the labels are
made"): without it, the labels of call sites alone, as they were before that rule."""


def call_site_labels(
    sets: dict[str, tuple[list[str], list[str]]],
) -> dict[str, tuple[list[str], list[str]]]:
    """The sets labelled by call site alone: the verbs of protocol messages left out."""
    return {
        name: ([_VERB.sub("", label) for label in labels], lines)
        for name, (labels, lines) in sets.items()
    }


def grouping_accuracy(truth: Sequence[str], found: Sequence[object]) -> float:
    """Share of lines whose found group is exactly their true group."""
    true_groups: dict[str, set[int]] = defaultdict(set)
    found_groups: dict[object, set[int]] = defaultdict(set)
    for index, (label, group) in enumerate(zip(truth, found, strict=True)):
        true_groups[label].add(index)
        found_groups[group].add(index)
    correct = 0
    for members in found_groups.values():
        label = truth[next(iter(members))]
        if true_groups[label] == members:
            correct += len(members)
    return correct / len(truth)


def drain3_as_shipped(lines: Sequence[str]) -> list[object]:
    """drain3's TemplateMiner with its default configuration (no masks, sim 0.4, depth 4)."""
    miner = TemplateMiner()
    return [miner.add_log_message(line)["cluster_id"] for line in lines]


def drain3_with_our_masks(lines: Sequence[str]) -> list[object]:
    """drain3 with its defaults but our masks: how much of the gain is the masks alone."""
    config = TemplateMinerConfig()
    config.masking_instructions = [MaskingInstruction(MASK_RE.pattern, "*")]
    config.mask_prefix, config.mask_suffix = "<", ">"
    miner = TemplateMiner(config=config)
    return [miner.add_log_message(line)["cluster_id"] for line in lines]


def ours(config: GrouperConfig | None = None) -> Grouping:
    """Our grouper with ``config`` (the defaults when None)."""

    def group(lines: Sequence[str]) -> list[object]:
        grouper = PatternGrouper(config)
        return [grouper.add(line, 0.0, None) for line in lines]

    return group


def accuracies(
    sets: dict[str, tuple[list[str], list[str]]], grouping: Grouping
) -> dict[str, float]:
    """Accuracy of ``grouping`` on each set."""
    return {
        name: grouping_accuracy(labels, grouping(lines)) for name, (labels, lines) in sets.items()
    }


def print_table(rows: dict[str, dict[str, float]], sets: Iterable[str]) -> None:
    """A table of accuracy per set (rows: parsers) with the mean."""
    names = list(sets)
    print(f"{'parser':22}" + "".join(f"{name:>10}" for name in names) + f"{'mean':>8}")
    for parser, figures in rows.items():
        values = [figures[name] for name in names]
        print(
            f"{parser:22}"
            + "".join(f"{value:10.3f}" for value in values)
            + f"{statistics.fmean(values):8.3f}"
        )


GRID = [
    GrouperConfig(
        similarity=similarity,
        wild_weight=wild,
        value_weight=value,
        word_weight=word,
        variable_length=variable,
        contained=contained,
    )
    for similarity, wild, value, word, variable, contained in itertools.product(
        (0.4, 0.5, 0.55, 0.6, 0.65),
        (0.0, 1.0),
        (0.5, 1.0),
        (1.0, 3.0),
        (0.0, 0.6, 0.85),
        (False, True),
    )
]
"""The settings tried in the leave-half-out check (the defaults are among them)."""


def leave_half_out(sets: dict[str, tuple[list[str], list[str]]]) -> None:
    """Choose settings on half the sets, report them on the other half, both ways round."""
    names = sorted(sets)
    halves = (names[::2], names[1::2])
    scores = {config: accuracies(sets, ours(config)) for config in GRID}
    for chosen_on, reported_on in (halves, halves[::-1]):
        best = max(GRID, key=lambda c: statistics.fmean(scores[c][n] for n in chosen_on))
        tuned = statistics.fmean(scores[best][n] for n in chosen_on)
        held = statistics.fmean(scores[best][n] for n in reported_on)
        default = statistics.fmean(scores[GrouperConfig()][n] for n in reported_on)
        print(
            f"  chosen on {','.join(chosen_on)}: similarity={best.similarity} "
            f"wild_weight={best.wild_weight} value_weight={best.value_weight} "
            f"word_weight={best.word_weight} variable_length={best.variable_length} "
            f"contained={best.contained} "
            f"({tuned:.3f} there); on "
            f"{','.join(reported_on)}: {held:.3f} (the default gets {default:.3f})"
        )


def throughput(grouping: Grouping, lines: Sequence[str], runs: int = 3) -> float:
    """Lines per CPU second grouping ``lines`` into a fresh grouper (best of ``runs``).

    CPU time of this process, not wall time: on a shared machine another process's load
    slows the wall clock, not the work done.
    """
    best = float("inf")
    for _ in range(runs):
        start = time.process_time()
        grouping(lines)
        best = min(best, time.process_time() - start)
    return len(lines) / best


def compare(name: str, lines: Sequence[str], ours_grouping: Grouping, drain3_runs: int) -> None:
    """Print drain3's and our lines per CPU second over ``lines``, and their ratio: machines
    differ in speed, the ratio measured in one run much less."""
    theirs = throughput(drain3_as_shipped, lines, drain3_runs)
    mine = throughput(ours_grouping, lines, 5)
    print(f"  {name:36} {theirs:10,.0f} {mine:10,.0f} {mine / theirs:8.1f}x")


_WORDS = [f"{a}{b}{c}" for a in "bcdfgklmnp" for b in "aeiou" for c in "rstxz"]
"""Made-up words for a flood of lines that share no message."""

_NUMBER = re.compile(r"(?<![\w@])(?<!\.[a-z]:)(?<!\.[a-z]{2}:)(?<!\.[a-z]{3}:)\d+")
"""A number, but not the digits that end a name (debug3) nor a call site's source line
(``Leader@588``, ``raft.go:706``, ``query.c:5708``)."""


def firehose(sets: dict[str, tuple[list[str], list[str]]], size: int) -> list[str]:
    """``size`` lines interleaved from every set, as a merged view of several logs sees them.

    Each time round a set, every number in its lines (see ``_NUMBER``) grows by 7919 times
    the round's count: times, ids and counters repeat as often as they did in the captured
    log, and each round brings values never seen before. A program's call sites stay what
    they are from round to round: a new source line every round would be a new program.
    """
    streams = [_rounds(lines) for _, lines in sets.values()]
    return [next(stream) for stream in itertools.islice(itertools.cycle(streams), size)]


def _rounds(lines: list[str]) -> Iterator[str]:
    """``lines`` over and over, their numbers grown each round (see ``firehose``)."""
    # A function of its own: a generator expression in firehose's loop would read the loop's
    # last ``lines`` in every stream (and did: the stream was one set's lines).
    for round_ in itertools.count():
        for line in lines:
            yield _NUMBER.sub(lambda m, k=round_: str(int(m.group()) + 7919 * k), line)


def main() -> int:
    """Print accuracy per set for drain3 and ours, a leave-half-out check, and throughput."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="accuracy only")
    parser.add_argument("--speed", action="store_true", help="throughput only")
    parser.add_argument("--worst", type=int, default=0, help="show N worst groups of ours per set")
    parser.add_argument(
        "--groups", action="store_true", help="only a digest of our groups and templates per set"
    )
    args = parser.parse_args()
    sets = load_sets()
    print(
        "sets: "
        + ", ".join(f"{n} ({len(ls)} lines, {len(set(ls))} groups)" for n, (ls, _) in sets.items())
    )
    if args.groups:
        report_groups(sets)
        return 0
    if not args.speed:
        report_accuracy(sets, args.worst)
    if args.quick:
        return 0
    report_speed(sets)
    return 0


def report_accuracy(sets: dict[str, tuple[list[str], list[str]]], worst: int) -> None:
    """Accuracy per set of drain3 and ours under both labellings, the ``worst`` groups of ours
    split in several, and the leave-half-out check."""
    for title, labelled in (
        ("labels: call sites, verbs of protocol messages (the rule)", sets),
        ("labels: call sites alone (before the rule)", call_site_labels(sets)),
    ):
        print(f"\ngrouping accuracy, {title}")
        rows = {
            "drain3 0.9.11 as shipped": accuracies(labelled, drain3_as_shipped),
            "drain3 + our masks": accuracies(labelled, drain3_with_our_masks),
            "opsconsole": accuracies(labelled, ours()),
        }
        print_table(rows, labelled)
    if worst:
        for name, (labels, lines) in sets.items():
            found = ours()(lines)
            by_label: dict[str, Counter[object]] = defaultdict(Counter)
            for label, group in zip(labels, found, strict=True):
                by_label[label][group] += 1
            split = sorted(
                by_label.items(), key=lambda kv: -sum(kv[1].values()) if len(kv[1]) > 1 else 0
            )
            print(f"\n{name}: true groups split in several")
            for label, groups in split[:worst]:
                if len(groups) > 1:
                    print(f"  {label[:90]!r}: {dict(groups)}")
    print("\nleave-half-out (settings chosen on half the sets, reported on the other half)")
    leave_half_out(sets)


def grouping_digest(lines: Sequence[str]) -> str:
    """A digest of how our grouper, fresh, groups ``lines``: which lines share a group and
    the templates of each, in the order first seen. Equal digests: the same groups, line for
    line, whatever the ids."""
    grouper = PatternGrouper()
    ids = [grouper.add(line, 0.0, None) for line in lines]
    order = {pattern_id: rank for rank, pattern_id in enumerate(dict.fromkeys(ids))}
    templates = sorted(
        (order[pattern.id], pattern.templates)
        for pattern in grouper.patterns
        if pattern.id in order
    )
    text = repr(([order[pattern_id] for pattern_id in ids], templates))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def report_groups(sets: dict[str, tuple[list[str], list[str]]]) -> None:
    """A digest of our groups on each set, on every set once and on the interleaved stream
    of ``report_speed``: a change meant to keep the grouping must keep every digest."""
    print("\ngroups (digest of the lines each group holds and its templates)")
    every = [line for _, lines in sets.values() for line in lines]
    streams = {name: lines for name, (_, lines) in sets.items()}
    streams[f"the {len(every)} lines of every set"] = every
    streams["300k interleaved lines"] = firehose(sets, 300_000)
    for name, lines in streams.items():
        print(f"  {name:36} {grouping_digest(lines)}")


def report_speed(sets: dict[str, tuple[list[str], list[str]]]) -> None:
    """Lines per CPU second of drain3 and ours, and the ratio, on each set, on every set, on
    a firehose interleaving them and on lines that match nothing."""
    print(f"\nthroughput (one core, lines per CPU second){'drain3':>18} {'ours':>10} {'ratio':>8}")
    # Each set into a fresh grouper: what opening one log costs.
    for name, (_, lines) in sets.items():
        compare(name, lines, ours(), 3)
    every = [line for _, lines in sets.values() for line in lines]
    # Every set once into a fresh grouper: every shape is new, the slow path at its most.
    compare(f"the {len(every)} lines of every set", every, ours(), 3)
    # One run of drain3: it takes 40-100 s over it.
    compare("300k interleaved lines", firehose(sets, 300_000), ours(), 1)
    # The worst case: every line a new message (random words), the grouper at its cap.
    rng = random.Random(4)
    flood = [" ".join(rng.choice(_WORDS) for _ in range(8)) for _ in range(20_000)]
    # One run of drain3: it takes a minute or more over it, and three would say the same.
    compare("20k lines matching nothing", flood, ours(GrouperConfig(max_patterns=2000)), 1)


if __name__ == "__main__":
    raise SystemExit(main())
