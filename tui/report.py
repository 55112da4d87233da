"""The incident report and the shift handoff: Markdown (or JSON) from the store.

Headless (no textual). ``render_report`` and ``render_handoff`` are pure: the same incident gives
the same text, which the golden tests pin down. Notes cite evidence as ``[E3]``; the report turns
each citation into a footnote at the place it is made and lists every piece of evidence, with its
source, host, time and content, at the end.

``opsconsole report [INCIDENT] [-o FILE] [--json] [--handoff]`` opens the store read-only: a
report never changes the investigation, and works while a console has it open.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from opsconsole.config import InvestigationConfig
from opsconsole.sources.text import safe_text
from opsconsole.store import (
    Evidence,
    Incident,
    IncidentBundle,
    NotFoundError,
    Store,
    StoreError,
    store_path,
)
from opsconsole.widgets.format import duration

EXIT_ERROR: Final = 1
EXIT_USAGE: Final = 2
RECENT_TIMELINE: Final = 10
"""Timeline entries the handoff repeats (the report has all of them)."""

_CITATION = re.compile(r"\[E(\d+)\]")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~#])")


def format_time(ts: float | None) -> str:
    """A wall-clock time as the report shows it, in UTC; ``-`` for none."""
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def inline(text: str) -> str:
    """Outside text for one line of Markdown: controls escaped, markup characters literal."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", safe_text(" ".join(text.split())))


def block(text: str) -> str:
    """Multi-line text made safe for a terminal that shows the file (newlines and tabs kept)."""
    return "\n".join(
        "\t".join(safe_text(part) for part in line.split("\t")) for line in text.splitlines()
    )


def code(text: str) -> str:
    """One line of outside text as inline code, whatever backticks it holds."""
    text = safe_text(" ".join(text.split()))
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    return f"{ticks} {text} {ticks}" if longest else f"`{text}`"


def fenced(text: str) -> str:
    """``text`` in a code fence longer than any run of backticks inside it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{block(text)}\n{fence}"


def summary_rows(incident: Incident) -> list[tuple[str, str]]:
    """The incident's header facts, as the report's table and the UI show them."""
    return [
        ("Severity", incident.severity),
        ("Status", incident.status + (" (archived)" if incident.archived else "")),
        ("Detected", format_time(incident.detected_at)),
        ("Acknowledged", format_time(incident.acknowledged_at)),
        ("Mitigated", format_time(incident.mitigated_at)),
        ("Resolved", format_time(incident.resolved_at)),
        ("Time to mitigate", duration(incident.time_to_mitigate)),
        ("Time to resolve (MTTR)", duration(incident.time_to_resolve)),
        ("Affected services", ", ".join(incident.services) or "-"),
    ]


def _header(incident: Incident, kind: str) -> list[str]:
    lines = [f"# {incident.ref} {kind}: {inline(incident.title)}", ""]
    lines += ["| | |", "|---|---|"]
    lines += [f"| {name} | {inline(value)} |" for name, value in summary_rows(incident)]
    lines += ["", f"**Impact:** {inline(incident.impact) or '-'}", ""]
    return lines


def _evidence_line(evidence: Evidence) -> str:
    return (
        f"{evidence.ref}: {inline(evidence.title)} ({inline(evidence.kind)} from"
        f" {inline(evidence.source)} on {inline(evidence.host)}, {format_time(evidence.ts)})"
    )


def _refs(ids: Iterable[int]) -> str:
    return ", ".join(f"E{i}" for i in ids)


def _step_line(mark: str, title: str, owner: str, note: str) -> str:
    line = f"- [{mark}] {inline(title)}"
    if owner:
        line += f" ({inline(owner)})"
    if note:
        line += f": {inline(note)}"
    return line


_STEP_MARK: Final = {"todo": " ", "doing": " ", "done": "x", "skipped": "-"}


def demote(markdown: str, levels: int = 2) -> str:
    """Headings of ``markdown`` moved ``levels`` down (outside code fences), so the notes' own
    ``# Summary`` sits under the report's ``## Notes``."""
    out: list[str] = []
    fence: str | None = None
    for line in markdown.split("\n"):
        stripped = line.lstrip()
        marker = re.match(r"(`{3,}|~{3,})", stripped)
        if marker and (fence is None or stripped.startswith(fence)):
            fence = None if fence else marker.group(1)
        elif fence is None and re.match(r"#{1,6}( |$)", line):
            line = "#" * levels + line
        out.append(line)
    return "\n".join(out)


def cited(notes: str, evidence: Iterable[Evidence]) -> tuple[str, list[Evidence]]:
    """The notes with each ``[En]`` of a known piece of evidence made a footnote, and the
    evidence cited, in order of first citation."""
    known = {e.id: e for e in evidence}
    order: list[Evidence] = []

    def footnote(match: re.Match[str]) -> str:
        item = known.get(int(match.group(1)))
        if item is None:
            return match.group(0)
        if item not in order:
            order.append(item)
        return f"{item.ref}[^{item.ref}]"

    return _CITATION.sub(footnote, notes), order


def render_report(bundle: IncidentBundle) -> str:
    """The incident report in Markdown: summary, timeline, tracker, notes and evidence."""
    incident = bundle.incident
    lines = _header(incident, "incident report")
    lines += ["## Timeline", ""]
    for entry in bundle.timeline:
        who = "manual" if entry.manual else entry.kind
        line = f"- {format_time(entry.ts)} · {inline(who)} · {inline(entry.text)}"
        if entry.command:
            line += f" ({code(entry.command)})"
        lines.append(line)
    if not bundle.timeline:
        lines.append("Nothing on the timeline.")
    lines += ["", "## Steps", ""]
    lines += [_step_line(_STEP_MARK[s.status], s.title, s.owner, s.note) for s in bundle.steps]
    if not bundle.steps:
        lines.append("No steps.")
    lines += ["", "## Hypotheses", ""]
    for hypothesis in bundle.hypotheses:
        line = f"- **{hypothesis.status}**: {inline(hypothesis.text)}"
        if hypothesis.evidence:
            line += f" (evidence {_refs(hypothesis.evidence)})"
        lines.append(line)
    if not bundle.hypotheses:
        lines.append("No hypotheses.")
    notes, order = cited(bundle.notes.text, bundle.evidence)
    lines += ["", "## Notes", ""]
    lines.append(block(demote(notes)).rstrip() if notes.strip() else "No notes.")
    if order:
        lines.append("")
        lines += [f"[^{e.ref}]: {_evidence_line(e)}" for e in order]
    lines += ["", "## Evidence", ""]
    for evidence in bundle.evidence:
        lines += [f"### {_evidence_line(evidence)}", "", fenced(evidence.content), ""]
    if not bundle.evidence:
        lines += ["No evidence pinned.", ""]
    if bundle.notes_versions:
        lines += ["## Notes replaced by another console", ""]
        for saved_at, text in bundle.notes_versions:
            lines += [f"Saved {format_time(saved_at)}:", "", fenced(text), ""]
    return "\n".join(lines).rstrip() + "\n"


def render_handoff(bundle: IncidentBundle, now: float) -> str:
    """The shift handoff: where things stand, what was tried, what is open, what is next."""
    incident = bundle.incident
    lines = _header(incident, "handoff")
    lines.insert(1, f"\nWritten {format_time(now)}.")
    tried = [s for s in bundle.steps if s.status in ("done", "skipped", "doing")]
    lines += ["## What was tried", ""]
    for step in tried:
        mark = {"done": "x", "skipped": "-", "doing": "~"}[step.status]
        lines.append(_step_line(mark, step.title, step.owner, step.note))
    for hypothesis in bundle.hypotheses:
        if hypothesis.status != "open":
            evidence = f" (evidence {_refs(hypothesis.evidence)})" if hypothesis.evidence else ""
            lines.append(f"- Hypothesis {hypothesis.status}: {inline(hypothesis.text)}{evidence}")
    if len(lines) and lines[-1] == "":
        lines.append("Nothing yet.")
    lines += ["", "## Open hypotheses", ""]
    open_ = [h for h in bundle.hypotheses if h.status == "open"]
    for hypothesis in open_:
        evidence = f" (evidence {_refs(hypothesis.evidence)})" if hypothesis.evidence else ""
        lines.append(f"- {inline(hypothesis.text)}{evidence}")
    if not open_:
        lines.append("None.")
    lines += ["", "## Next steps", ""]
    following = [s for s in bundle.steps if s.status in ("todo", "doing")]
    lines += [_step_line(" ", s.title, s.owner, s.note) for s in following]
    if not following:
        lines.append("None on the tracker.")
    lines += ["", "## Latest on the timeline", ""]
    for entry in bundle.timeline[-RECENT_TIMELINE:]:
        command = f" ({code(entry.command)})" if entry.command else ""
        lines.append(f"- {format_time(entry.ts)} · {inline(entry.text)}{command}")
    if not bundle.timeline:
        lines.append("Nothing on the timeline.")
    if bundle.evidence:
        lines += ["", "## Evidence", ""]
        lines += [f"- {_evidence_line(e)}" for e in bundle.evidence]
    return "\n".join(lines).rstrip() + "\n"


def render_json(bundle: IncidentBundle) -> str:
    """Everything about the incident as JSON (for tools), keys sorted, times in epoch seconds."""

    def plain(value: Any) -> Any:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            data = {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
            if isinstance(value, Incident | Evidence):
                data["ref"] = value.ref
            return data
        if isinstance(value, tuple | list):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        return value

    data = plain(bundle)
    data["incident"]["time_to_mitigate"] = bundle.incident.time_to_mitigate
    data["incident"]["time_to_resolve"] = bundle.incident.time_to_resolve
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def handoff_filename(now: float) -> str:
    """``<timestamp>_handoff.md``, the timestamp in UTC and sortable."""
    return datetime.fromtimestamp(now, UTC).strftime("%Y%m%dT%H%M%SZ") + "_handoff.md"


def write_atomically(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file and a rename: never half a file."""
    directory = path.parent
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def export(
    store: Store, incident_id: int, directory: Path, now: float | None = None
) -> tuple[Path, Path]:
    """Write the report (``INC-n_report.md``) and the handoff into ``directory`` (created);
    the two paths. What the UI's export does; OSError when the disk says no."""
    now = time.time() if now is None else now
    bundle = store.bundle(incident_id)
    directory.mkdir(parents=True, exist_ok=True)
    report = write_atomically(directory / f"{bundle.incident.ref}_report.md", render_report(bundle))
    handoff = write_atomically(directory / handoff_filename(now), render_handoff(bundle, now))
    return report, handoff


# -- the command ---------------------------------------------------------------------------


def run(
    args: argparse.Namespace,
    config: InvestigationConfig | None = None,
    now: float | None = None,
) -> int:
    """Run ``opsconsole report`` with the ``[investigation]`` settings; the exit status.
    Errors go to stderr in one line."""
    now = time.time() if now is None else now
    path = args.store or (config and config.store) or store_path()
    if not path.exists():
        print(f"opsconsole: no investigation store at {path} yet", file=sys.stderr)
        return EXIT_ERROR
    try:
        with Store.open(path, read_only=True) as store:
            if args.incident is None:
                current = store.current_incident()
                if current is None:
                    print(
                        "opsconsole: no open incident; name one (opsconsole report 3)",
                        file=sys.stderr,
                    )
                    return EXIT_ERROR
                incident_id = current.id
            else:
                incident_id = args.incident
            bundle = store.bundle(incident_id)
    except NotFoundError as error:
        print(f"opsconsole: {error}", file=sys.stderr)
        return EXIT_ERROR
    except StoreError as error:
        print(f"opsconsole: {error}", file=sys.stderr)
        return EXIT_ERROR
    if args.json:
        text = render_json(bundle)
    elif args.handoff:
        text = render_handoff(bundle, now)
    else:
        text = render_report(bundle)
    output: Path | None = args.output
    if args.handoff and (output is None or output.is_dir()):
        output = (output or Path.cwd()) / handoff_filename(now)
    try:
        if output is None:
            sys.stdout.write(text)
            sys.stdout.flush()
        else:
            write_atomically(output, text)
            print(output)
    except OSError as error:
        where = output if output is not None else "standard output"
        print(f"opsconsole: cannot write {where}: {error.strerror}", file=sys.stderr)
        return EXIT_ERROR
    return 0
