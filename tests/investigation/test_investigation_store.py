"""The investigation store on real SQLite files: what it keeps, and how it fails safely."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from opsconsole.evidence import EvidenceDraft
from opsconsole.store import (
    MIGRATIONS,
    SCHEMA_VERSION,
    CorruptStoreError,
    FutureStoreError,
    NotFoundError,
    ReadOnlyStoreError,
    Store,
    StoreBusyError,
    StoreFullError,
    TimelineDraft,
    mean_time_to_resolve,
    store_path,
)
from tests.investigation.conftest import T0, Clock, fill_disk


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def draft(title: str = "nginx 502s", content: str = "upstream timed out") -> EvidenceDraft:
    return EvidenceDraft(
        kind="log",
        source="file:/var/log/nginx/error.log",
        host="web-7",
        ts=T0 + 5,
        title=title,
        content=content,
        locator={"pane": "logs", "stream": "file:/var/log/nginx/error.log", "line": "42"},
    )


def test_default_location_is_the_xdg_data_dir(tmp_path: Path) -> None:
    env = {"XDG_DATA_HOME": str(tmp_path / "xdg"), "HOME": str(tmp_path)}
    assert store_path(env) == tmp_path / "xdg" / "opsconsole" / "investigations.db"


def test_new_store_is_wal_and_current_version(store: Store) -> None:
    db = sqlite3.connect(store.path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    db.close()
    assert oct(store.path.parent.stat().st_mode & 0o777) == "0o700"


def test_incident_lifecycle_times_and_mttr(store: Store, clock: Clock) -> None:
    incident = store.create_incident(
        "Checkout 502s", severity="SEV2", impact="EU checkout down", services=["web", " db ", ""]
    )
    assert incident.ref == "INC-1"
    assert incident.status == "detected" and incident.services == ("web", "db")
    assert incident.time_to_mitigate is None and incident.time_to_resolve is None
    store.set_status(incident.id, "acknowledged", at=T0 + 120)
    # Straight to resolved: mitigated is stamped at the same time, acknowledged is kept.
    resolved = store.set_status(incident.id, "resolved", at=T0 + 3600)
    assert resolved.acknowledged_at == T0 + 120
    assert resolved.mitigated_at == T0 + 3600
    assert resolved.time_to_mitigate == 3600 and resolved.time_to_resolve == 3600
    closed = store.close_incident(incident.id, at=T0 + 7200)
    assert closed.status == "closed" and closed.resolved_at == T0 + 3600 and not closed.is_open
    second = store.create_incident("Disk full", detected_at=T0)
    store.set_status(second.id, "resolved", at=T0 + 1800)
    assert mean_time_to_resolve(store.incidents()) == 2700
    texts = [entry.text for entry in store.timeline(incident.id)]
    assert texts == [
        "Incident opened: Checkout 502s (SEV2)",
        "Status: acknowledged",
        "Status: resolved",
        "Status: closed",
    ]


def test_several_incidents_switch_and_archive(store: Store) -> None:
    first = store.create_incident("one")
    second = store.create_incident("two")
    assert store.current_incident() == second
    store.set_current_incident(first.id)
    assert store.current_incident() == first
    store.archive_incident(first.id)
    assert [i.title for i in store.incidents()] == ["two"]
    assert {i.title for i in store.incidents(archived=True)} == {"one", "two"}
    assert store.current_incident() == store.incident(second.id)  # archived: not reopened
    with pytest.raises(NotFoundError, match="INC-99"):
        store.incident(99)
    with pytest.raises(ValueError, match="severity"):
        store.create_incident("x", severity="SEV9")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="empty"):
        store.create_incident("   ")


def test_steps_order_status_and_reorder(store: Store) -> None:
    incident = store.create_incident("x")
    a, b, c = store.add_steps(incident.id, ["detect", "assess", "mitigate"], template="flow")
    store.update_step(b.id, status="doing", owner="ana", note="looking at [b]logs[/b]")
    moved = store.move_step(c.id, -2)
    assert [s.title for s in moved] == ["mitigate", "detect", "assess"]
    assert [s.title for s in store.move_step(c.id, 10)] == ["detect", "assess", "mitigate"]
    step = store.steps(incident.id)[1]
    assert (step.status, step.owner, step.note) == ("doing", "ana", "looking at [b]logs[/b]")
    store.delete_step(a.id)
    assert [s.title for s in store.steps(incident.id)] == ["assess", "mitigate"]
    assert "Step doing: assess" in [e.text for e in store.timeline(incident.id)]


def test_hypotheses_link_evidence(store: Store) -> None:
    incident = store.create_incident("x")
    other = store.create_incident("y")
    e1 = store.add_evidence(incident.id, draft())
    e2 = store.add_evidence(incident.id, draft("oom", "Out of memory: Killed process 4242"))
    foreign = store.add_evidence(other.id, draft())
    hypothesis = store.add_hypothesis(incident.id, "db pool exhausted", [e2.id])
    assert store.link_evidence(hypothesis.id, [e1.id, e2.id]).evidence == (e1.id, e2.id)
    with pytest.raises(NotFoundError, match=f"E{foreign.id}"):
        store.link_evidence(hypothesis.id, [foreign.id])
    assert store.hypotheses(incident.id)[0].evidence == (e1.id, e2.id)  # rolled back whole
    confirmed = store.set_hypothesis_status(hypothesis.id, "confirmed")
    assert confirmed.status == "confirmed"
    assert e1.locator["line"] == "42" and e1.ref == f"E{e1.id}"


def test_evidence_draft_is_bounded_and_single_line_title(store: Store) -> None:
    incident = store.create_incident("x")
    big = store.add_evidence(incident.id, draft("a\nb\x1b[31m", "x" * 200_000))
    assert big.title == "a b\\x1b[31m"
    assert len(big.content) < 70_000 and "more characters not kept" in big.content


def test_timeline_dedup_and_manual_entries(store: Store) -> None:
    incident = store.create_incident("x", detected_at=T0)
    entries = [
        TimelineDraft(ts=T0 + 10, kind="alert", text="disk 95%", dedup="a1"),
        TimelineDraft(ts=T0 + 5, kind="container", text="web died", dedup="c1"),
    ]
    assert store.add_timeline(incident.id, entries) == 2
    assert store.add_timeline(incident.id, entries) == 0  # the hub re-sends the latest events
    store.add_manual_entry(incident.id, "rolled back deploy 1234", at=T0 + 7)
    timeline = store.timeline(incident.id)
    assert [e.text for e in timeline] == [
        "Incident opened: x (SEV3)",
        "web died",
        "rolled back deploy 1234",
        "disk 95%",
    ]
    assert [e.manual for e in timeline] == [False, False, True, False]


def test_notes_save_and_conflict_keeps_the_other_text(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with Store.open(path) as one, Store.open(path) as two:
        incident = one.create_incident("x")
        saved = one.save_notes(incident.id, "first console", 0)
        assert (saved.revision, saved.conflict) == (1, False)
        # The second console typed over revision 0 too, and saves after the first.
        other = two.save_notes(incident.id, "second console", 0)
        assert other.conflict and other.revision == 2
        assert one.notes(incident.id).text == "second console"
        assert [text for _, text in one.notes_versions(incident.id)] == ["first console"]
        again = one.save_notes(incident.id, "first console again", other.revision)
        assert not again.conflict


def test_two_consoles_both_keep_writing(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with Store.open(path) as one, Store.open(path) as two:
        incident = one.create_incident("shared")
        two.add_steps(incident.id, ["from two"])
        one.add_steps(incident.id, ["from one"])
        assert [s.title for s in two.steps(incident.id)] == ["from two", "from one"]
        assert two.current_incident() == one.incident(incident.id)


def test_a_writer_holding_the_store_gives_busy_and_nothing_half_done(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with Store.open(path, busy_timeout=0.2) as store:
        incident = store.create_incident("x")
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        with pytest.raises(StoreBusyError, match="another console"):
            store.save_notes(incident.id, "kept by the caller", 0)
        blocker.execute("ROLLBACK")
        blocker.close()
        store.save_notes(incident.id, "kept by the caller", 0)
        assert store.notes(incident.id).text == "kept by the caller"


def test_read_only_file_opens_read_only_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with Store.open(path) as store:
        store.create_incident("x")
    with Store.open(path, read_only=True) as viewer:
        assert viewer.read_only and "read-only" in (viewer.read_only_reason or "")
        assert viewer.incidents()[0].title == "x"
        with pytest.raises(ReadOnlyStoreError, match="read-only"):
            viewer.create_incident("y")


def test_corrupt_file_is_refused_and_untouched(tmp_path: Path) -> None:
    path = tmp_path / "investigations.db"
    path.write_bytes(b"this is not a database\n" * 300)
    before = digest(path)
    with pytest.raises(CorruptStoreError, match="left untouched"):
        Store.open(path)
    assert digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["investigations.db"]


def test_damaged_store_is_refused_and_untouched(tmp_path: Path) -> None:
    path = tmp_path / "investigations.db"
    with Store.open(path) as store:
        incident = store.create_incident("x")
        store.save_notes(incident.id, "n" * 50_000, 0)
    db = sqlite3.connect(path)
    (root,) = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'step'").fetchone()
    db.close()
    data = bytearray(path.read_bytes())
    page = (root - 1) * 4096
    data[page : page + 4096] = b"\x0d" + b"\xff" * 4095  # scribble over a table's root page
    path.write_bytes(bytes(data))
    before = digest(path)
    with pytest.raises(CorruptStoreError, match="not a readable opsconsole store"):
        Store.open(path)
    assert digest(path) == before


def test_another_programs_sqlite_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    before = digest(path)
    with pytest.raises(CorruptStoreError, match="another program"):
        Store.open(path)
    assert digest(path) == before


def test_future_version_is_refused_and_untouched(tmp_path: Path) -> None:
    path = tmp_path / "investigations.db"
    with Store.open(path) as store:
        store.create_incident("from the future")
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    before = digest(path)
    with pytest.raises(FutureStoreError, match="newer opsconsole"):
        Store.open(path)
    assert digest(path) == before


def test_migration_from_version_1_keeps_data_and_a_backup(tmp_path: Path) -> None:
    path = tmp_path / "investigations.db"
    db = sqlite3.connect(path, isolation_level=None)
    for statement in MIGRATIONS[0]:
        db.execute(statement)
    db.execute("PRAGMA application_id = 1330664259")
    db.execute("PRAGMA user_version = 1")
    db.execute(
        "INSERT INTO incident (title, severity, detected_at, created_at, updated_at)"
        " VALUES ('old one', 'SEV1', 1, 1, 1)"
    )
    db.execute("INSERT INTO notes VALUES (1, 'old notes', 3, 1)")
    db.close()
    with Store.open(path) as store:
        assert store.incident(1).title == "old one"
        assert store.notes(1).text == "old notes"
        evidence = store.add_evidence(1, draft())
        assert store.add_hypothesis(1, "linked", [evidence.id]).evidence == (evidence.id,)
    backup = tmp_path / "investigations.db.v1.bak"
    check = sqlite3.connect(backup)
    assert check.execute("PRAGMA user_version").fetchone()[0] == 1
    check.close()


def test_full_disk_raises_clearly_and_saves_when_there_is_room(small_fs: Path) -> None:
    with Store.open(small_fs / "investigations.db") as store:
        incident = store.create_incident("disk full")
        store.save_notes(incident.id, "before", 0)
        filler = fill_disk(small_fs)
        text = "important notes " * 20_000  # 320 kB, more than the room left
        with pytest.raises(StoreFullError, match="No space left"):
            store.save_notes(incident.id, text, 1)
        assert store.notes(incident.id).text == "before"  # nothing half written
        filler.unlink()
        saved = store.save_notes(incident.id, text, 1)
        assert store.notes(incident.id).text == text and saved.revision == 2


def test_open_in_a_directory_that_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(Exception, match="cannot create"):
        Store.open(blocker / "sub" / "investigations.db")


def test_store_module_never_imports_textual() -> None:
    code = textwrap.dedent(
        """
        import sys, opsconsole.store, opsconsole.evidence, opsconsole.timeline_feed
        import opsconsole.checklists, opsconsole.report
        print("textual" in sys.modules)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
