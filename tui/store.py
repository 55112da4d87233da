"""The investigation store: incidents, tracker, evidence, timeline and notes in one SQLite file.

Headless (no textual). The file lives in the XDG data directory (``store_path``) and is opened in
WAL mode, so a second console on the same file reads while the first writes and both keep
working (writers wait up to ``busy_timeout`` seconds for each other). Every change is one
transaction; the schema is versioned with ``PRAGMA user_version`` and migrated forward in place
(after a backup copy of the old file).

Nothing here ever replaces a file it cannot read: a corrupt database, a file that is not ours, or
one written by a newer opsconsole raises ``StoreError`` with a message that says what to do, and
the file is left byte for byte as it was. A full disk raises ``StoreFullError``; callers keep what
the engineer wrote and try again later (the notes editor does).

The ``Store`` is safe to call from several threads (one lock around the connection), so the UI
calls it from worker threads and never blocks on the disk.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal, get_args

from opsconsole import paths
from opsconsole.evidence import EvidenceDraft

STORE_FILE_NAME: Final = "investigations.db"
APPLICATION_ID: Final = 0x4F505343  # "OPSC": marks the file as ours for `file(1)` and for us
SCHEMA_VERSION: Final = 2

Severity = Literal["SEV1", "SEV2", "SEV3", "SEV4"]
SEVERITIES: Final[tuple[Severity, ...]] = get_args(Severity)
IncidentStatus = Literal["detected", "acknowledged", "mitigated", "resolved", "closed"]
INCIDENT_STATUSES: Final[tuple[IncidentStatus, ...]] = get_args(IncidentStatus)
StepStatus = Literal["todo", "doing", "done", "skipped"]
STEP_STATUSES: Final[tuple[StepStatus, ...]] = get_args(StepStatus)
HypothesisStatus = Literal["open", "confirmed", "refuted"]
HYPOTHESIS_STATUSES: Final[tuple[HypothesisStatus, ...]] = get_args(HypothesisStatus)

# The time column each status sets when an incident reaches it.
_STATUS_TIME: Final[Mapping[str, str]] = {
    "detected": "detected_at",
    "acknowledged": "acknowledged_at",
    "mitigated": "mitigated_at",
    "resolved": "resolved_at",
    "closed": "closed_at",
}

# Migration N takes a database from user_version N to N + 1. Never edit a released one: add one.
MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    (
        """CREATE TABLE incident (
            id INTEGER PRIMARY KEY,
            title TEXT NOT NULL,
            severity TEXT NOT NULL CHECK (severity IN ('SEV1', 'SEV2', 'SEV3', 'SEV4')),
            impact TEXT NOT NULL DEFAULT '',
            services TEXT NOT NULL DEFAULT '[]',
            status TEXT NOT NULL DEFAULT 'detected',
            detected_at REAL NOT NULL,
            acknowledged_at REAL,
            mitigated_at REAL,
            resolved_at REAL,
            closed_at REAL,
            archived INTEGER NOT NULL DEFAULT 0,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        )""",
        """CREATE TABLE step (
            id INTEGER PRIMARY KEY,
            incident_id INTEGER NOT NULL REFERENCES incident(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            title TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'todo',
            owner TEXT NOT NULL DEFAULT '',
            note TEXT NOT NULL DEFAULT '',
            template TEXT,
            updated_at REAL NOT NULL
        )""",
        "CREATE INDEX step_incident ON step (incident_id, position)",
        """CREATE TABLE hypothesis (
            id INTEGER PRIMARY KEY,
            incident_id INTEGER NOT NULL REFERENCES incident(id) ON DELETE CASCADE,
            text TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'open',
            updated_at REAL NOT NULL
        )""",
        """CREATE TABLE evidence (
            id INTEGER PRIMARY KEY,
            incident_id INTEGER NOT NULL REFERENCES incident(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            source TEXT NOT NULL,
            host TEXT NOT NULL,
            ts REAL NOT NULL,
            title TEXT NOT NULL,
            content TEXT NOT NULL,
            locator TEXT NOT NULL DEFAULT '{}',
            pinned_at REAL NOT NULL
        )""",
        """CREATE TABLE timeline (
            id INTEGER PRIMARY KEY,
            incident_id INTEGER NOT NULL REFERENCES incident(id) ON DELETE CASCADE,
            ts REAL NOT NULL,
            kind TEXT NOT NULL,
            text TEXT NOT NULL,
            command TEXT,
            source TEXT NOT NULL DEFAULT '',
            manual INTEGER NOT NULL DEFAULT 0,
            dedup TEXT,
            UNIQUE (incident_id, dedup)
        )""",
        "CREATE INDEX timeline_incident ON timeline (incident_id, ts)",
        """CREATE TABLE notes (
            incident_id INTEGER PRIMARY KEY REFERENCES incident(id) ON DELETE CASCADE,
            text TEXT NOT NULL,
            revision INTEGER NOT NULL,
            saved_at REAL NOT NULL
        )""",
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    ),
    (
        # v2: hypotheses cite evidence, and notes overwritten by another console are kept.
        """CREATE TABLE hypothesis_evidence (
            hypothesis_id INTEGER NOT NULL REFERENCES hypothesis(id) ON DELETE CASCADE,
            evidence_id INTEGER NOT NULL REFERENCES evidence(id) ON DELETE CASCADE,
            PRIMARY KEY (hypothesis_id, evidence_id)
        )""",
        """CREATE TABLE notes_version (
            id INTEGER PRIMARY KEY,
            incident_id INTEGER NOT NULL REFERENCES incident(id) ON DELETE CASCADE,
            text TEXT NOT NULL,
            saved_at REAL NOT NULL
        )""",
    ),
)
assert len(MIGRATIONS) == SCHEMA_VERSION


class StoreError(Exception):
    """The store cannot do what was asked; the message says why and what to do."""


class CorruptStoreError(StoreError):
    """The file is damaged or is not an opsconsole store. It was not touched."""


class FutureStoreError(StoreError):
    """The file was written by a newer opsconsole. It was not touched."""


class StoreFullError(StoreError):
    """The disk (or the file system) is full: nothing was saved this time."""


class StoreBusyError(StoreError):
    """Another console held the store for longer than the busy timeout."""


class ReadOnlyStoreError(StoreError):
    """The store was opened read-only (by choice, or because the file is not writable)."""


class NotFoundError(StoreError):
    """No such incident (or step, hypothesis, evidence) in the store."""


def store_path(env: Mapping[str, str] | None = None) -> Path:
    """Where the store lives by default: ``<data dir>/investigations.db``."""
    return paths.data_dir(env) / STORE_FILE_NAME


@dataclass(frozen=True, slots=True)
class Incident:
    """One incident and the times that give its time to mitigate and MTTR."""

    id: int
    title: str
    severity: Severity
    impact: str
    services: tuple[str, ...]
    status: IncidentStatus
    detected_at: float
    acknowledged_at: float | None
    mitigated_at: float | None
    resolved_at: float | None
    closed_at: float | None
    archived: bool
    created_at: float
    updated_at: float

    @property
    def ref(self) -> str:
        """The incident's short name, ``INC-<id>``."""
        return f"INC-{self.id}"

    @property
    def time_to_mitigate(self) -> float | None:
        """Seconds from detection to mitigation, None until mitigated."""
        return None if self.mitigated_at is None else self.mitigated_at - self.detected_at

    @property
    def time_to_resolve(self) -> float | None:
        """Seconds from detection to resolution (this incident's part of MTTR)."""
        return None if self.resolved_at is None else self.resolved_at - self.detected_at

    @property
    def is_open(self) -> bool:
        """True until the incident is closed or archived."""
        return self.status != "closed" and not self.archived


@dataclass(frozen=True, slots=True)
class Step:
    """A step of the tracker."""

    id: int
    incident_id: int
    position: int
    title: str
    status: StepStatus
    owner: str
    note: str
    template: str | None


@dataclass(frozen=True, slots=True)
class Hypothesis:
    """Something suspected, and the evidence for or against it."""

    id: int
    incident_id: int
    text: str
    status: HypothesisStatus
    evidence: tuple[int, ...]
    """Ids of the linked evidence, in order."""


@dataclass(frozen=True, slots=True)
class Evidence:
    """A pinned piece of evidence; ``locator`` says where it came from, to jump back."""

    id: int
    incident_id: int
    kind: str
    source: str
    host: str
    ts: float
    title: str
    content: str
    locator: Mapping[str, str]
    pinned_at: float

    @property
    def ref(self) -> str:
        """How notes cite it: ``E<id>``."""
        return f"E{self.id}"


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One line of the timeline: automatic (alerts, containers, actions) or manual."""

    id: int
    incident_id: int
    ts: float
    kind: str
    text: str
    command: str | None
    source: str
    manual: bool


@dataclass(frozen=True, slots=True)
class TimelineDraft:
    """A timeline entry to add; ``dedup`` makes adding the same fact twice a no-op."""

    ts: float
    kind: str
    text: str
    command: str | None = None
    source: str = ""
    dedup: str | None = None


@dataclass(frozen=True, slots=True)
class Notes:
    """The RCA notes of an incident, with the revision they were saved as."""

    text: str
    revision: int
    saved_at: float | None


@dataclass(frozen=True, slots=True)
class SavedNotes:
    """What ``save_notes`` did: the new revision, and whether another console's text was kept
    aside (``notes_version``) because it changed the notes since ``base_revision``."""

    revision: int
    saved_at: float
    conflict: bool = False


@dataclass(frozen=True, slots=True)
class IncidentBundle:
    """Everything about one incident, as a report needs it."""

    incident: Incident
    steps: tuple[Step, ...]
    hypotheses: tuple[Hypothesis, ...]
    evidence: tuple[Evidence, ...]
    timeline: tuple[TimelineEntry, ...]
    notes: Notes
    notes_versions: tuple[tuple[float, str], ...] = field(default=())
    """Texts another console's save replaced: (saved at, text)."""


def _check(value: str, allowed: Sequence[str], what: str) -> None:
    if value not in allowed:
        raise ValueError(f"{what} must be one of {', '.join(allowed)}, not {value!r}")


def _clean(text: str, what: str, limit: int = 10_000) -> str:
    text = text.strip()
    if not text:
        raise ValueError(f"{what} cannot be empty")
    return text[:limit]


class Store:
    """The investigation store on one SQLite file. Open with ``Store.open``; close when done."""

    def __init__(
        self,
        connection: sqlite3.Connection,
        path: Path,
        *,
        read_only: bool,
        read_only_reason: str | None,
        clock: Callable[[], float],
    ) -> None:
        self._db = connection
        self.path = path
        """The database file."""
        self.read_only = read_only
        """True when nothing can be written; ``read_only_reason`` says why."""
        self.read_only_reason = read_only_reason
        self._clock = clock
        self._lock = threading.RLock()

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: Path | None = None,
        *,
        read_only: bool = False,
        busy_timeout: float = 3.0,
        clock: Callable[[], float] = time.time,
    ) -> Store:
        """Open (creating and migrating when needed) the store at ``path`` (``store_path()``).

        A file that is not writable opens read-only and says so in ``read_only_reason``.
        Raises CorruptStoreError, FutureStoreError or StoreError (file system trouble).
        """
        path = store_path() if path is None else path
        reason = "opened read-only (--read-only)" if read_only else None
        if not read_only:
            try:
                paths.ensure_dir(path.parent)
            except OSError as error:
                raise StoreError(f"cannot create {path.parent}: {error.strerror}") from None
            writable = _writable(path)
            if writable is not None:
                read_only, reason = True, writable
        if read_only and not path.exists():
            raise StoreError(f"{path}: no investigation store here yet")
        uri = f"{path.resolve().as_uri()}?mode={'ro' if read_only else 'rwc'}"
        try:
            db = sqlite3.connect(
                uri, uri=True, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as error:
            raise StoreError(f"cannot open {path}: {error}") from None
        try:
            _prepare(db, path, read_only)
        except BaseException:
            db.close()
            raise
        return cls(db, path, read_only=read_only, read_only_reason=reason, clock=clock)

    def close(self) -> None:
        """Close the file (idempotent); WAL content is checkpointed by SQLite."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing --------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; SQLite errors become StoreErrors that say what to do."""
        if self.read_only:
            raise ReadOnlyStoreError(f"{self.path} is read-only: {self.read_only_reason}")
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                    self._db.execute("COMMIT")
                except BaseException:
                    if self._db.in_transaction:
                        self._db.execute("ROLLBACK")
                    raise
            except sqlite3.Error as error:
                raise _translate(error, self.path) from None

    def _read(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
        with self._lock:
            try:
                self._db.row_factory = sqlite3.Row
                return list(self._db.execute(sql, params))
            except sqlite3.Error as error:
                raise _translate(error, self.path) from None

    def _now(self, at: float | None) -> float:
        return self._clock() if at is None else at

    # -- incidents -------------------------------------------------------------------------

    def create_incident(
        self,
        title: str,
        *,
        severity: Severity = "SEV3",
        impact: str = "",
        services: Sequence[str] = (),
        detected_at: float | None = None,
    ) -> Incident:
        """Open a new incident (status detected) and make it the current one."""
        _check(severity, SEVERITIES, "severity")
        title = _clean(title, "the title", 500)
        now = self._clock()
        detected = now if detected_at is None else detected_at
        with self._write() as db:
            cursor = db.execute(
                "INSERT INTO incident (title, severity, impact, services, detected_at, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (title, severity, impact, _services(services), detected, now, now),
            )
            incident_id = int(cursor.lastrowid or 0)
            self._log(db, incident_id, detected, f"Incident opened: {title} ({severity})")
            db.execute(
                "INSERT OR REPLACE INTO meta VALUES ('current_incident', ?)", (str(incident_id),)
            )
        return self.incident(incident_id)

    def incident(self, incident_id: int) -> Incident:
        """One incident; NotFoundError if there is none with that id."""
        rows = self._read("SELECT * FROM incident WHERE id = ?", (incident_id,))
        if not rows:
            raise NotFoundError(f"no incident INC-{incident_id}")
        return _incident(rows[0])

    def incidents(self, *, archived: bool = False) -> list[Incident]:
        """Incidents, newest first; archived ones only when asked."""
        where = "" if archived else "WHERE archived = 0"
        rows = self._read(f"SELECT * FROM incident {where} ORDER BY detected_at DESC, id DESC")
        return [_incident(row) for row in rows]

    def current_incident(self) -> Incident | None:
        """The incident the last console worked on, else the newest open one, else None."""
        rows = self._read("SELECT value FROM meta WHERE key = 'current_incident'")
        if rows:
            try:
                incident = self.incident(int(rows[0][0]))
            except (NotFoundError, ValueError):
                pass
            else:
                if not incident.archived:
                    return incident
        return next((i for i in self.incidents() if i.is_open), None)

    def set_current_incident(self, incident_id: int) -> None:
        """Remember ``incident_id`` as the one to open next time."""
        self.incident(incident_id)
        with self._write() as db:
            db.execute(
                "INSERT OR REPLACE INTO meta VALUES ('current_incident', ?)", (str(incident_id),)
            )

    def update_incident(
        self,
        incident_id: int,
        *,
        title: str | None = None,
        severity: Severity | None = None,
        impact: str | None = None,
        services: Sequence[str] | None = None,
    ) -> Incident:
        """Change the given fields; a change of severity goes on the timeline."""
        before = self.incident(incident_id)
        changes: dict[str, object] = {}
        if title is not None:
            changes["title"] = _clean(title, "the title", 500)
        if severity is not None:
            _check(severity, SEVERITIES, "severity")
            changes["severity"] = severity
        if impact is not None:
            changes["impact"] = impact.strip()[:10_000]
        if services is not None:
            changes["services"] = _services(services)
        if not changes:
            return before
        now = self._clock()
        with self._write() as db:
            columns = ", ".join(f"{name} = ?" for name in changes)
            db.execute(
                f"UPDATE incident SET {columns}, updated_at = ? WHERE id = ?",
                (*changes.values(), now, incident_id),
            )
            if severity is not None and severity != before.severity:
                self._log(db, incident_id, now, f"Severity {before.severity} -> {severity}")
        return self.incident(incident_id)

    def set_status(
        self, incident_id: int, status: IncidentStatus, at: float | None = None
    ) -> Incident:
        """Move the incident to ``status`` at ``at`` (now), on the timeline too.

        Reaching a status also stamps the earlier ones not yet stamped (resolved implies
        mitigated and acknowledged no later than that), so MTTR and time to mitigate always
        have their times. A time already stamped is kept: the first one is what counts.
        """
        _check(status, INCIDENT_STATUSES, "status")
        self.incident(incident_id)
        now = self._now(at)
        reached = INCIDENT_STATUSES[1 : INCIDENT_STATUSES.index(status) + 1]
        with self._write() as db:
            for name in reached:
                column = _STATUS_TIME[name]
                db.execute(
                    f"UPDATE incident SET {column} = ? WHERE id = ? AND {column} IS NULL",
                    (now, incident_id),
                )
            db.execute(
                "UPDATE incident SET status = ?, updated_at = ? WHERE id = ?",
                (status, self._clock(), incident_id),
            )
            self._log(db, incident_id, now, f"Status: {status}")
        return self.incident(incident_id)

    def close_incident(self, incident_id: int, at: float | None = None) -> Incident:
        """Close the incident (resolving it first if it was not)."""
        return self.set_status(incident_id, "closed", at)

    def archive_incident(self, incident_id: int, archived: bool = True) -> Incident:
        """Hide the incident from the list (or bring it back); nothing is deleted."""
        self.incident(incident_id)
        with self._write() as db:
            db.execute(
                "UPDATE incident SET archived = ?, updated_at = ? WHERE id = ?",
                (int(archived), self._clock(), incident_id),
            )
        return self.incident(incident_id)

    # -- steps -----------------------------------------------------------------------------

    def add_steps(
        self, incident_id: int, titles: Sequence[str], *, template: str | None = None
    ) -> list[Step]:
        """Append steps (todo) in order; ``template`` names the checklist they came from."""
        self.incident(incident_id)
        cleaned = [_clean(title, "a step", 500) for title in titles]
        now = self._clock()
        with self._write() as db:
            (last,) = db.execute(
                "SELECT coalesce(max(position), -1) FROM step WHERE incident_id = ?",
                (incident_id,),
            ).fetchone()
            for offset, title in enumerate(cleaned, start=1):
                db.execute(
                    "INSERT INTO step (incident_id, position, title, template, updated_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (incident_id, last + offset, title, template, now),
                )
            if template is not None:
                self._log(db, incident_id, now, f"Checklist added: {template}")
        return self.steps(incident_id)[-len(cleaned) :] if cleaned else []

    def steps(self, incident_id: int) -> list[Step]:
        """The incident's steps in their order."""
        rows = self._read(
            "SELECT * FROM step WHERE incident_id = ? ORDER BY position, id", (incident_id,)
        )
        return [
            Step(
                id=row["id"],
                incident_id=row["incident_id"],
                position=row["position"],
                title=row["title"],
                status=row["status"],
                owner=row["owner"],
                note=row["note"],
                template=row["template"],
            )
            for row in rows
        ]

    def update_step(
        self,
        step_id: int,
        *,
        title: str | None = None,
        status: StepStatus | None = None,
        owner: str | None = None,
        note: str | None = None,
    ) -> Step:
        """Change a step; a change of status goes on the timeline."""
        step = self._step(step_id)
        changes: dict[str, object] = {}
        if title is not None:
            changes["title"] = _clean(title, "a step", 500)
        if status is not None:
            _check(status, STEP_STATUSES, "a step's status")
            changes["status"] = status
        if owner is not None:
            changes["owner"] = owner.strip()[:200]
        if note is not None:
            changes["note"] = note.strip()[:10_000]
        now = self._clock()
        with self._write() as db:
            columns = ", ".join(f"{name} = ?" for name in changes)
            if changes:
                db.execute(
                    f"UPDATE step SET {columns}, updated_at = ? WHERE id = ?",
                    (*changes.values(), now, step_id),
                )
            if status is not None and status != step.status:
                self._log(db, step.incident_id, now, f"Step {status}: {step.title}")
        return self._step(step_id)

    def move_step(self, step_id: int, offset: int) -> list[Step]:
        """Move a step ``offset`` places (negative: up) within its incident; the new order."""
        step = self._step(step_id)
        order = [s.id for s in self.steps(step.incident_id)]
        index = order.index(step_id)
        target = max(0, min(len(order) - 1, index + offset))
        order.insert(target, order.pop(index))
        with self._write() as db:
            db.executemany(
                "UPDATE step SET position = ? WHERE id = ?",
                [(position, sid) for position, sid in enumerate(order)],
            )
        return self.steps(step.incident_id)

    def delete_step(self, step_id: int) -> None:
        """Remove a step (a mistyped one); the timeline keeps what happened to it."""
        step = self._step(step_id)
        with self._write() as db:
            db.execute("DELETE FROM step WHERE id = ?", (step_id,))
            self._log(db, step.incident_id, self._clock(), f"Step removed: {step.title}")

    def _step(self, step_id: int) -> Step:
        rows = self._read("SELECT incident_id FROM step WHERE id = ?", (step_id,))
        if not rows:
            raise NotFoundError(f"no step {step_id}")
        return next(s for s in self.steps(rows[0][0]) if s.id == step_id)

    # -- hypotheses ------------------------------------------------------------------------

    def add_hypothesis(
        self, incident_id: int, text: str, evidence: Sequence[int] = ()
    ) -> Hypothesis:
        """Record a hypothesis (open), linked to ``evidence`` ids."""
        self.incident(incident_id)
        text = _clean(text, "a hypothesis", 2000)
        now = self._clock()
        with self._write() as db:
            cursor = db.execute(
                "INSERT INTO hypothesis (incident_id, text, updated_at) VALUES (?, ?, ?)",
                (incident_id, text, now),
            )
            hypothesis_id = int(cursor.lastrowid or 0)
            self._link(db, incident_id, hypothesis_id, evidence)
            self._log(db, incident_id, now, f"Hypothesis: {text}")
        return self._hypothesis(hypothesis_id)

    def hypotheses(self, incident_id: int) -> list[Hypothesis]:
        """The incident's hypotheses, oldest first, with their evidence."""
        links: dict[int, list[int]] = {}
        for row in self._read(
            "SELECT l.hypothesis_id, l.evidence_id FROM hypothesis_evidence l"
            " JOIN hypothesis h ON h.id = l.hypothesis_id WHERE h.incident_id = ?"
            " ORDER BY l.evidence_id",
            (incident_id,),
        ):
            links.setdefault(row[0], []).append(row[1])
        rows = self._read(
            "SELECT * FROM hypothesis WHERE incident_id = ? ORDER BY id", (incident_id,)
        )
        return [
            Hypothesis(
                id=row["id"],
                incident_id=row["incident_id"],
                text=row["text"],
                status=row["status"],
                evidence=tuple(links.get(row["id"], ())),
            )
            for row in rows
        ]

    def set_hypothesis_status(self, hypothesis_id: int, status: HypothesisStatus) -> Hypothesis:
        """Confirm, refute or reopen a hypothesis (on the timeline)."""
        _check(status, HYPOTHESIS_STATUSES, "a hypothesis's status")
        hypothesis = self._hypothesis(hypothesis_id)
        now = self._clock()
        with self._write() as db:
            db.execute(
                "UPDATE hypothesis SET status = ?, updated_at = ? WHERE id = ?",
                (status, now, hypothesis_id),
            )
            if status != hypothesis.status:
                self._log(
                    db, hypothesis.incident_id, now, f"Hypothesis {status}: {hypothesis.text}"
                )
        return self._hypothesis(hypothesis_id)

    def link_evidence(self, hypothesis_id: int, evidence: Sequence[int]) -> Hypothesis:
        """Link more evidence to a hypothesis (of the same incident)."""
        hypothesis = self._hypothesis(hypothesis_id)
        with self._write() as db:
            self._link(db, hypothesis.incident_id, hypothesis_id, evidence)
        return self._hypothesis(hypothesis_id)

    def _link(
        self, db: sqlite3.Connection, incident_id: int, hypothesis_id: int, evidence: Sequence[int]
    ) -> None:
        for evidence_id in evidence:
            found = db.execute(
                "SELECT 1 FROM evidence WHERE id = ? AND incident_id = ?",
                (evidence_id, incident_id),
            ).fetchone()
            if found is None:
                raise NotFoundError(f"no evidence E{evidence_id} in INC-{incident_id}")
            db.execute(
                "INSERT OR IGNORE INTO hypothesis_evidence VALUES (?, ?)",
                (hypothesis_id, evidence_id),
            )

    def _hypothesis(self, hypothesis_id: int) -> Hypothesis:
        rows = self._read("SELECT incident_id FROM hypothesis WHERE id = ?", (hypothesis_id,))
        if not rows:
            raise NotFoundError(f"no hypothesis {hypothesis_id}")
        return next(h for h in self.hypotheses(rows[0][0]) if h.id == hypothesis_id)

    # -- evidence --------------------------------------------------------------------------

    def add_evidence(self, incident_id: int, draft: EvidenceDraft) -> Evidence:
        """Pin ``draft`` to the incident (on the timeline too)."""
        self.incident(incident_id)
        now = self._clock()
        with self._write() as db:
            cursor = db.execute(
                "INSERT INTO evidence (incident_id, kind, source, host, ts, title, content,"
                " locator, pinned_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    incident_id,
                    draft.kind,
                    draft.source,
                    draft.host,
                    draft.ts,
                    draft.title,
                    draft.content,
                    json.dumps(dict(draft.locator), sort_keys=True),
                    now,
                ),
            )
            evidence_id = int(cursor.lastrowid or 0)
            self._log(db, incident_id, now, f"Evidence E{evidence_id} pinned: {draft.title}")
        return next(e for e in self.evidence(incident_id) if e.id == evidence_id)

    def evidence(self, incident_id: int) -> list[Evidence]:
        """The incident's evidence in the order it was pinned."""
        rows = self._read(
            "SELECT * FROM evidence WHERE incident_id = ? ORDER BY id", (incident_id,)
        )
        return [
            Evidence(
                id=row["id"],
                incident_id=row["incident_id"],
                kind=row["kind"],
                source=row["source"],
                host=row["host"],
                ts=row["ts"],
                title=row["title"],
                content=row["content"],
                locator=_locator(row["locator"]),
                pinned_at=row["pinned_at"],
            )
            for row in rows
        ]

    # -- timeline --------------------------------------------------------------------------

    def add_timeline(self, incident_id: int, drafts: Sequence[TimelineDraft]) -> int:
        """Add automatic entries; those whose ``dedup`` is already there are skipped. The count
        added."""
        if not drafts:
            return 0
        self.incident(incident_id)
        with self._write() as db:
            before = db.total_changes
            db.executemany(
                "INSERT OR IGNORE INTO timeline (incident_id, ts, kind, text, command, source,"
                " dedup) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(incident_id, d.ts, d.kind, d.text, d.command, d.source, d.dedup) for d in drafts],
            )
            return db.total_changes - before

    def add_manual_entry(self, incident_id: int, text: str, at: float | None = None) -> None:
        """A line the engineer writes into the timeline themselves."""
        self.incident(incident_id)
        text = _clean(text, "the entry", 10_000)
        with self._write() as db:
            db.execute(
                "INSERT INTO timeline (incident_id, ts, kind, text, manual) VALUES (?, ?, ?, ?, 1)",
                (incident_id, self._now(at), "note", text),
            )

    def timeline(self, incident_id: int) -> list[TimelineEntry]:
        """The incident's timeline in time order."""
        rows = self._read(
            "SELECT * FROM timeline WHERE incident_id = ? ORDER BY ts, id", (incident_id,)
        )
        return [
            TimelineEntry(
                id=row["id"],
                incident_id=row["incident_id"],
                ts=row["ts"],
                kind=row["kind"],
                text=row["text"],
                command=row["command"],
                source=row["source"],
                manual=bool(row["manual"]),
            )
            for row in rows
        ]

    def _log(self, db: sqlite3.Connection, incident_id: int, ts: float, text: str) -> None:
        """An automatic entry for an action taken in the console, in the same transaction."""
        db.execute(
            "INSERT INTO timeline (incident_id, ts, kind, text, source) VALUES (?, ?, ?, ?, ?)",
            (incident_id, ts, "action", text, "console"),
        )

    # -- notes -----------------------------------------------------------------------------

    def notes(self, incident_id: int) -> Notes:
        """The incident's notes (empty, revision 0, before the first save)."""
        rows = self._read("SELECT * FROM notes WHERE incident_id = ?", (incident_id,))
        if not rows:
            return Notes("", 0, None)
        return Notes(rows[0]["text"], rows[0]["revision"], rows[0]["saved_at"])

    def save_notes(self, incident_id: int, text: str, base_revision: int) -> SavedNotes:
        """Save the notes typed over ``base_revision``.

        When another console saved a newer revision in between, its text is kept in
        ``notes_version`` (nothing typed is lost) and this text wins; ``conflict`` says so.
        """
        now = self._clock()
        with self._write() as db:
            row = db.execute(
                "SELECT text, revision, saved_at FROM notes WHERE incident_id = ?", (incident_id,)
            ).fetchone()
            revision = 0 if row is None else row[1]
            conflict = row is not None and revision != base_revision and row[0] != text
            if conflict:
                db.execute(
                    "INSERT INTO notes_version (incident_id, text, saved_at) VALUES (?, ?, ?)",
                    (incident_id, row[0], row[2]),
                )
            db.execute(
                "INSERT OR REPLACE INTO notes VALUES (?, ?, ?, ?)",
                (incident_id, text, revision + 1, now),
            )
        return SavedNotes(revision + 1, now, conflict)

    def notes_versions(self, incident_id: int) -> list[tuple[float, str]]:
        """Texts of the notes that another console's save replaced: (saved at, text)."""
        rows = self._read(
            "SELECT saved_at, text FROM notes_version WHERE incident_id = ? ORDER BY id",
            (incident_id,),
        )
        return [(row[0], row[1]) for row in rows]

    # -- everything ------------------------------------------------------------------------

    def bundle(self, incident_id: int, *, with_notes: bool = True) -> IncidentBundle:
        """Everything about one incident, read in one transaction (a consistent picture);
        without the notes' text (empty) when the caller has it already."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                return IncidentBundle(
                    incident=self.incident(incident_id),
                    steps=tuple(self.steps(incident_id)),
                    hypotheses=tuple(self.hypotheses(incident_id)),
                    evidence=tuple(self.evidence(incident_id)),
                    timeline=tuple(self.timeline(incident_id)),
                    notes=self.notes(incident_id) if with_notes else Notes("", 0, None),
                    notes_versions=tuple(self.notes_versions(incident_id)),
                )
            finally:
                self._db.execute("COMMIT")


# -- helpers -------------------------------------------------------------------------------


def _writable(path: Path) -> str | None:
    """Why ``path`` cannot be written, or None when it can."""
    import os

    target = path if path.exists() else path.parent
    if not os.access(target, os.W_OK):
        return f"{target} is not writable by this user"
    if path.exists() and not os.access(path.parent, os.W_OK):
        # WAL needs its -wal and -shm files beside the database.
        return f"{path.parent} is not writable by this user (SQLite needs it for its journal)"
    return None


def _prepare(db: sqlite3.Connection, path: Path, read_only: bool) -> None:
    """Check the file is ours and current, then migrate it. Reads before any write, so a file
    that is not a store (or a newer one) is never modified."""
    try:
        (version,) = db.execute("PRAGMA user_version").fetchone()
        (app_id,) = db.execute("PRAGMA application_id").fetchone()
        tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    except sqlite3.DatabaseError as error:
        raise CorruptStoreError(_corrupt_message(path, str(error))) from None
    if version > SCHEMA_VERSION:
        raise FutureStoreError(
            f"{path} was written by a newer opsconsole (schema {version}; this one knows up to"
            f" {SCHEMA_VERSION}). It was left untouched: upgrade opsconsole to open it."
        )
    if (version or tables) and app_id != APPLICATION_ID:
        raise CorruptStoreError(_corrupt_message(path, "it is an SQLite file of another program"))
    if version:
        try:
            (check,) = db.execute("PRAGMA quick_check(1)").fetchone()
        except sqlite3.DatabaseError as error:
            raise CorruptStoreError(_corrupt_message(path, str(error))) from None
        if check != "ok":
            raise CorruptStoreError(_corrupt_message(path, check))
    if read_only:
        if version < SCHEMA_VERSION:
            raise StoreError(f"{path} needs an upgrade, which a read-only store cannot do")
        return
    try:
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA foreign_keys = ON")
        if 0 < version < SCHEMA_VERSION:
            _backup(db, path.with_name(f"{path.name}.v{version}.bak"))
        for index in range(version, SCHEMA_VERSION):
            db.execute("BEGIN IMMEDIATE")
            try:
                for statement in MIGRATIONS[index]:
                    db.execute(statement)
                db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                db.execute(f"PRAGMA user_version = {index + 1}")
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
    except sqlite3.Error as error:
        raise _translate(error, path) from None


def _backup(db: sqlite3.Connection, target: Path) -> None:
    """A copy of the store as it was before a migration (kept, never overwritten)."""
    if target.exists():
        return
    copy = sqlite3.connect(target)
    try:
        db.backup(copy)
    finally:
        copy.close()


def _corrupt_message(path: Path, reason: str) -> str:
    return (
        f"{path} is not a readable opsconsole store ({reason}). It was left untouched: move it"
        " aside (or restore a backup) and opsconsole will start a new one."
    )


def _translate(error: sqlite3.Error, path: Path) -> StoreError:
    """A StoreError that says in words what went wrong and what the engineer can do."""
    code = getattr(error, "sqlite_errorcode", None)
    text = str(error)
    if code == sqlite3.SQLITE_FULL or "full" in text:
        return StoreFullError(
            f"No space left on the disk of {path}: nothing was saved. Your text is kept and"
            " will be saved as soon as there is room."
        )
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or "locked" in text:
        return StoreBusyError(
            f"{path} is busy: another console holds it. Your change is kept; try again."
        )
    if code == sqlite3.SQLITE_READONLY or "readonly" in text:
        return ReadOnlyStoreError(f"{path} cannot be written: {text}")
    if isinstance(error, sqlite3.DatabaseError) and (
        "malformed" in text or "not a database" in text
    ):
        return CorruptStoreError(_corrupt_message(path, text))
    return StoreError(f"{path}: {text}")


def _services(services: Sequence[str]) -> str:
    return json.dumps([s.strip() for s in services if s.strip()])


def _locator(text: str) -> Mapping[str, str]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _incident(row: sqlite3.Row) -> Incident:
    try:
        services = tuple(str(s) for s in json.loads(row["services"]))
    except (ValueError, TypeError):
        services = ()
    return Incident(
        id=row["id"],
        title=row["title"],
        severity=row["severity"],
        impact=row["impact"],
        services=services,
        status=row["status"],
        detected_at=row["detected_at"],
        acknowledged_at=row["acknowledged_at"],
        mitigated_at=row["mitigated_at"],
        resolved_at=row["resolved_at"],
        closed_at=row["closed_at"],
        archived=bool(row["archived"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def mean_time_to_resolve(incidents: Sequence[Incident]) -> float | None:
    """MTTR over the resolved incidents among ``incidents``, seconds; None without any."""
    times = [t for i in incidents if (t := i.time_to_resolve) is not None]
    return sum(times) / len(times) if times else None
