"""The investigation as an engineer drives it, through Pilot, on a real store file."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import TabbedContent

from opsconsole.config import InvestigationConfig
from opsconsole.sources.events import Alert, ContainerChange
from opsconsole.store import Store
from opsconsole.widgets.row_table import RowTable
from tests.investigation.conftest import Clock, build_incident, fill_disk
from tests.investigation.launcher import InvestigationApp


def screen_text(app: InvestigationApp) -> str:
    return "\n".join(
        "".join(segment.text for segment in strip)
        for strip in app.screen._compositor.render_strips()
    )


async def until(pilot: Pilot[int], check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened; screen:\n{screen_text(pilot.app)}")  # type: ignore[arg-type]
        await pilot.pause(0.05)


async def shows(pilot: Pilot[int], *texts: str) -> str:
    app = pilot.app
    assert isinstance(app, InvestigationApp)
    await until(pilot, lambda: all(t in screen_text(app) for t in texts))
    return screen_text(app)


def make_app(tmp_path: Path, section: str | None = None, **config: object) -> InvestigationApp:
    store = tmp_path / "investigations.db"
    return InvestigationApp(
        InvestigationConfig(
            store=store,
            templates=tmp_path / "templates",
            export_dir=tmp_path / "reports",
            **config,  # type: ignore[arg-type]
        ),
        section=section,
    )


async def type_text(pilot: Pilot[int], text: str) -> None:
    await pilot.press(*("space" if c == " " else c for c in text))


async def test_open_an_incident_with_markup_in_its_title(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(110, 30)) as pilot:
        await shows(pilot, "No incident open")
        await pilot.press("I")
        await shows(pilot, "+ New incident")
        await pilot.press("enter")
        await shows(pilot, "Affected services")
        await type_text(pilot, "DB [red]down[/red]")
        await pilot.press("enter", "tab")  # title, then past the severity
        await type_text(pilot, "EU users")
        await pilot.press("enter")
        await type_text(pilot, "web, db")
        await pilot.press("enter")
        text = await shows(pilot, "INC-1", "DB [red]down[/red]")
        assert "Impact: EU users · Services: web, db" in text
        await pilot.press("plus")
        await shows(pilot, "[acknowledged]")
    with Store.open(tmp_path / "investigations.db") as store:
        incident = store.incidents()[0]
        assert (incident.title, incident.services) == ("DB [red]down[/red]", ("web", "db"))
        assert incident.acknowledged_at is not None


async def test_steps_from_a_template_then_worked_through(tmp_path: Path) -> None:
    with Store.open(tmp_path / "investigations.db") as store:
        incident_id = store.create_incident("x").id
    app = make_app(tmp_path)
    async with app.run_test(size=(110, 30)) as pilot:
        await shows(pilot, "INC-1")
        app.view.tracker.steps_table.focus()
        await pilot.press("T")
        await shows(pilot, "Add a checklist", "Debugging checklist")
        await pilot.press("enter")  # the first: the incident-response flow
        await shows(pilot, "Detect: confirm", "Improve: file")
        await pilot.press("space", "space")  # todo -> doing -> done
        await pilot.press("j", "s")  # skip the second
        await pilot.press("K")  # and move it up
        await pilot.press("a")
        await shows(pilot, "New step")
        await type_text(pilot, "Page [b]DBA[/b]")
        await pilot.press("enter")
        await shows(pilot, "Page [b]DBA[/b]")
        await until(pilot, lambda: len(store_steps(tmp_path, incident_id)) == 9)
    steps = store_steps(tmp_path, incident_id)
    assert steps[0][:2] == ("Assess: severity, impact, affected services and users", "skipped")
    assert steps[1][1] == "done" and steps[-1] == ("Page [b]DBA[/b]", "todo")


def store_steps(tmp_path: Path, incident_id: int) -> list[tuple[str, str]]:
    with Store.open(tmp_path / "investigations.db") as store:
        return [(s.title, s.status) for s in store.steps(incident_id)]


async def test_pin_evidence_link_and_confirm_a_hypothesis_then_jump_back(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(110, 30)) as pilot:
        await shows(pilot, "No incident open")
        app.query_one("#views", TabbedContent).active = "processes-tab"
        table = app.query_one("#processes").query_one(RowTable)
        table.focus()
        await pilot.pause()
        await pilot.press("g", "p")  # the busiest process: nginx 4242, pinned
        await until(pilot, lambda: app.view.incident is not None)
        app.query_one("#views", TabbedContent).active = "investigation-tab"
        app.view.action_section(1)  # evidence
        text = await shows(pilot, "E1", "process 4242 nginx")
        assert "nginx: worker [red]process[/red]" in text  # the detail, literally
        app.view.action_section(-1)  # tracker
        await pilot.press("h")
        await shows(pilot, "New hypothesis")
        await type_text(pilot, "nginx spins")
        await pilot.press("enter")
        await shows(pilot, "nginx spins")
        app.view.tracker.hypotheses_table.focus()
        await pilot.press("l")
        await shows(pilot, "Link evidence")
        await pilot.press("enter")  # link E1
        await shows(pilot, "E1 ")
        await pilot.press("c")
        await shows(pilot, "confirmed")
        # Back to where E1 came from: the process tab, cursor on pid 4242.
        table.cursor_row = 1
        app.view.action_section(1)
        await pilot.press("enter")
        await until(pilot, lambda: app.query_one("#views", TabbedContent).active == "processes-tab")
        await until(pilot, lambda: table.has_focus)
        assert table.cursor_key == "4242@None"
    with Store.open(tmp_path / "investigations.db") as store:
        (incident,) = store.incidents()
        (evidence,) = store.evidence(incident.id)
        assert evidence.locator == {"pane": "processes", "pid": "4242"}
        (hypothesis,) = store.hypotheses(incident.id)
        assert (hypothesis.status, hypothesis.evidence) == ("confirmed", (evidence.id,))


async def test_timeline_fills_from_the_stream_and_takes_manual_entries(tmp_path: Path) -> None:
    with Store.open(tmp_path / "investigations.db") as store:
        store.create_incident("x")
    app = make_app(tmp_path, section="timeline")
    async with app.run_test(size=(110, 30)) as pilot:
        await shows(pilot, "INC-1")
        now = time.time()
        app.view.consume(
            [
                Alert(
                    ts=now,
                    host="web-7",
                    source="mqtt",
                    key="k",
                    severity="critical",
                    summary="5xx [b]high[/b]",
                    origin="alerts/web",
                ),
                ContainerChange(
                    ts=now + 1,
                    host="web-7",
                    source="podman",
                    engine="podman",
                    id="abc",
                    name="db",
                    action="die",
                    exit_code=137,
                ),
            ]
        )
        await shows(pilot, "Alert critical on web-7: 5xx [b]high[/b]", "Container db die")
        app.view.timeline.table.focus()
        await pilot.press("m")
        await shows(pilot, "Timeline entry")
        await type_text(pilot, "Rolled back [i]1234[/i]")
        await pilot.press("enter")
        await shows(pilot, "Rolled back [i]1234[/i]")
        await pilot.press("slash")
        await type_text(pilot, "rolled")
        await pilot.press("enter")
        text = await shows(pilot, "1 of 4 entries")
        assert "Container db die" not in text
        await pilot.press("escape")
        await shows(pilot, "4 of 4 entries")


async def test_export_writes_report_and_handoff(tmp_path: Path) -> None:
    with Store.open(tmp_path / "investigations.db", clock=Clock()) as store:
        build_incident(store, Clock())
    app = make_app(tmp_path)
    async with app.run_test(size=(110, 30)) as pilot:
        await shows(pilot, "INC-1")
        await pilot.press("X")
        await until(pilot, lambda: (tmp_path / "reports" / "INC-1_report.md").exists())
    report = (tmp_path / "reports" / "INC-1_report.md").read_text()
    assert "OOM-killed E2[^E2]" in report
    assert len(list((tmp_path / "reports").glob("*_handoff.md"))) == 1


async def test_notes_save_within_a_second_and_templates(tmp_path: Path) -> None:
    with Store.open(tmp_path / "investigations.db") as store:
        incident_id = store.create_incident("x").id
    app = make_app(tmp_path, section="notes")
    async with app.run_test(size=(110, 30)) as pilot:
        await shows(pilot, "Notes of INC-1")
        app.view.notes.text_area.focus()
        await pilot.press("f3")
        await shows(pilot, "Incident report (RCA)")
        await pilot.press("enter")
        await type_text(pilot, "[red]literal[/red]")
        typed = time.monotonic()
        await until(pilot, lambda: "[red]literal[/red]" in saved_notes(tmp_path, incident_id))
        assert time.monotonic() - typed < 1.0
        assert "## Five whys" in saved_notes(tmp_path, incident_id)
        await pilot.press("f2")
        await shows(pilot, "Summary", "What happened")
        assert "## Summary" not in screen_text(app)  # rendered, not the source
        await pilot.press("f2")


async def test_quitting_right_after_typing_saves_it(tmp_path: Path) -> None:
    with Store.open(tmp_path / "investigations.db") as store:
        incident_id = store.create_incident("x").id
    app = make_app(tmp_path, section="notes")
    async with app.run_test(size=(110, 30)) as pilot:
        await shows(pilot, "Notes of INC-1")
        await type_text(pilot, "last words")
        await pilot.press("ctrl+q")  # well within the autosave's wait
    assert saved_notes(tmp_path, incident_id) == "last words"


def saved_notes(tmp_path: Path, incident_id: int) -> str:
    db = sqlite3.connect(tmp_path / "investigations.db")
    try:
        row = db.execute("SELECT text FROM notes WHERE incident_id = ?", (incident_id,)).fetchone()
    finally:
        db.close()
    return row[0] if row else ""


async def test_full_disk_keeps_the_text_says_so_and_saves_later(small_fs: Path) -> None:
    with Store.open(small_fs / "investigations.db") as store:
        incident_id = store.create_incident("x").id
    app = make_app(small_fs, section="notes")
    async with app.run_test(size=(110, 30)) as pilot:
        await shows(pilot, "Notes of INC-1")
        filler = fill_disk(small_fs)
        app.view.notes.text_area.text = "precious " * 40_000  # 360 kB: more than fits
        await shows(pilot, "NOT SAVED", "No space left")
        assert app.view.notes.text_area.text.startswith("precious")
        filler.unlink()
        await until(pilot, lambda: app.view.notes.save_error is None, timeout=6)
        await shows(pilot, "Saved")
    assert saved_notes(small_fs, incident_id) == "precious " * 40_000


async def test_one_megabyte_of_notes_stays_responsive(tmp_path: Path) -> None:
    big = "".join(f"- line {i} with some **markdown** and `code` [E1]\n" for i in range(20_000))
    assert len(big) > 1_000_000
    with Store.open(tmp_path / "investigations.db") as store:
        incident_id = store.create_incident("x").id
        store.save_notes(incident_id, big, 0)
    app = make_app(tmp_path, section="notes")
    async with app.run_test(size=(110, 30)) as pilot:
        await shows(pilot, "Notes of INC-1")
        area = app.view.notes.text_area
        area.focus()
        area.move_cursor(area.document.end)
        await pilot.pause()
        started = time.monotonic()
        await type_text(pilot, "typed at the end")
        elapsed = time.monotonic() - started
        assert area.text.endswith("typed at the end")
        # ~65 ms a key here, most of it Pilot's own wait; unpatched Textual took ~400 ms.
        assert elapsed / 16 < 0.15, f"{elapsed / 16 * 1000:.0f} ms a key"
        await until(pilot, lambda: saved_notes(tmp_path, incident_id).endswith("typed at the end"))


async def test_second_console_read_only_says_so(tmp_path: Path) -> None:
    with Store.open(tmp_path / "investigations.db") as store:
        store.create_incident("shared [b]one[/b]")
    app = make_app(tmp_path, section="notes", read_only=True)
    async with app.run_test(size=(110, 30)) as pilot:
        text = await shows(pilot, "shared [b]one[/b]", "read-only")
        assert "Read-only" in text
        assert app.view.notes.text_area.read_only


async def test_corrupt_store_is_a_clear_error_and_untouched(tmp_path: Path) -> None:
    path = tmp_path / "investigations.db"
    path.write_bytes(b"garbage" * 1000)
    app = make_app(tmp_path)
    async with app.run_test(size=(140, 30)) as pilot:
        await shows(pilot, "Investigation unavailable", "left untouched")
    assert path.read_bytes() == b"garbage" * 1000
