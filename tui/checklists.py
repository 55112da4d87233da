"""Checklist and notes templates: the built-in ones and the user's own TOML files.

Headless (no textual). A user template is one TOML file in ``<config dir>/templates/``::

    name = "db-failover"                 # optional; the file name without .toml otherwise
    title = "Database failover"
    steps = ["Check replication lag", "Promote the replica", "Repoint the app"]
    # or, for a notes template:
    notes = '''# Postmortem ...'''

A file that cannot be read or makes no sense gives one message naming it and the reason, and the
other templates still load: a typo never stops the console.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from opsconsole import paths
from opsconsole.sources.text import safe_text

MAX_TEMPLATE_BYTES: Final = 256 * 1024
MAX_STEPS: Final = 200
MAX_TEMPLATES: Final = 200


@dataclass(frozen=True, slots=True)
class StepTemplate:
    """A checklist: steps to add to the tracker in this order."""

    name: str
    title: str
    steps: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NotesTemplate:
    """A Markdown skeleton for the RCA notes."""

    name: str
    title: str
    text: str


INCIDENT_RESPONSE = StepTemplate(
    "incident-response",
    "Incident response flow",
    (
        "Detect: confirm the alert is real and note when it started",
        "Assess: severity, impact, affected services and users",
        "Communicate: open the incident channel and post a first status",
        "Diagnose: form hypotheses and test them against evidence",
        "Mitigate: stop the bleeding (rollback, failover, scale, feature flag)",
        "Resolve: fix the cause and confirm recovery",
        "Document: timeline, root cause and actions in the RCA notes",
        "Improve: file the follow-up actions and owners",
    ),
)

DEBUGGING = StepTemplate(
    "debugging",
    "Debugging checklist",
    (
        "Can I reproduce it?",
        "What changed recently (deploys, config, traffic, dependencies)?",
        "Is it all users or some (region, tenant, version)?",
        "What do the logs and metrics say?",
        "Is it environment-specific (one host, one zone, one version)?",
    ),
)

PERFORMANCE = StepTemplate(
    "performance",
    "Performance checklist",
    (
        "CPU: saturation, steal, throttling, hot processes",
        "Memory: usage, swap, OOM kills, leaks",
        "Disk: space, I/O wait, latency, inodes",
        "Network: errors, drops, retransmits, bandwidth, DNS",
        "Queries: slow queries, locks, missing indexes",
        "Caching: hit rate, evictions, cold caches",
        "Concurrency: pool exhaustion, thread counts, lock contention",
    ),
)

INCIDENT_REPORT = NotesTemplate(
    "incident-report",
    "Incident report (RCA)",
    """\
# Incident report

## Summary

What happened, in two or three sentences.

## Impact

Who and what was affected, for how long, and how badly.

## Timeline

- HH:MM detected:
- HH:MM mitigated:
- HH:MM resolved:

## Root cause

## Five whys

1. Why?
2. Why?
3. Why?
4. Why?
5. Why?

## Resolution

What fixed it, and how recovery was confirmed.

## Prevention and action items

- [ ] Action (owner, due date)
""",
)

BUILTIN_STEPS: Final = (INCIDENT_RESPONSE, DEBUGGING, PERFORMANCE)
BUILTIN_NOTES: Final = (INCIDENT_REPORT,)


@dataclass(frozen=True, slots=True)
class Templates:
    """Every template the console offers, and the messages of user files that did not load."""

    steps: tuple[StepTemplate, ...]
    notes: tuple[NotesTemplate, ...]
    errors: tuple[str, ...] = ()


def templates_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where user templates live: ``<config dir>/templates``."""
    return paths.config_dir(env) / "templates"


def load_templates(directory: Path | None = None) -> Templates:
    """The built-in templates followed by the user's (a user one replaces a built-in of the
    same name). Never raises: unreadable files become messages in ``errors``."""
    directory = templates_dir() if directory is None else directory
    steps = {t.name: t for t in BUILTIN_STEPS}
    notes = {t.name: t for t in BUILTIN_NOTES}
    errors: list[str] = []
    try:
        files = sorted(directory.glob("*.toml"))[:MAX_TEMPLATES]
    except OSError as error:
        files = []
        errors.append(f"{safe_text(str(directory))}: {error.strerror}")
    for file in files:
        try:
            template = _load(file)
        except (OSError, ValueError) as error:
            reason = error.strerror if isinstance(error, OSError) else str(error)
            errors.append(f"Template {safe_text(file.name)} not loaded: {safe_text(str(reason))}")
            continue
        if isinstance(template, StepTemplate):
            steps[template.name] = template
        else:
            notes[template.name] = template
    return Templates(tuple(steps.values()), tuple(notes.values()), tuple(errors))


def _load(file: Path) -> StepTemplate | NotesTemplate:
    if file.stat().st_size > MAX_TEMPLATE_BYTES:
        raise ValueError(f"larger than {MAX_TEMPLATE_BYTES // 1024} KiB")
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text") from None
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"invalid TOML: {error}") from None
    name = data.get("name", file.stem)
    title = data.get("title", name)
    if not isinstance(name, str) or not isinstance(title, str) or not name.strip():
        raise ValueError("name and title must be text")
    name, title = safe_text(name.strip())[:100], safe_text(" ".join(title.split()))[:200]
    has_steps, has_notes = "steps" in data, "notes" in data
    if has_steps == has_notes:
        raise ValueError('give either "steps" (a list of text) or "notes" (text)')
    if has_notes:
        text = data["notes"]
        if not isinstance(text, str):
            raise ValueError('"notes" must be text')
        return NotesTemplate(name, title, text)
    steps = data["steps"]
    if not isinstance(steps, list) or not all(isinstance(s, str) and s.strip() for s in steps):
        raise ValueError('"steps" must be a list of non-empty text')
    if not steps or len(steps) > MAX_STEPS:
        raise ValueError(f'"steps" must have 1 to {MAX_STEPS} items')
    return StepTemplate(name, title, tuple(safe_text(" ".join(s.split())) for s in steps))
