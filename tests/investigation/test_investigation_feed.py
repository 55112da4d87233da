"""The timeline fed from the event stream, and the checklist templates (built-in and user)."""

from __future__ import annotations

from pathlib import Path

from opsconsole.checklists import BUILTIN_STEPS, load_templates
from opsconsole.sources.events import Alert, ContainerAction, ContainerChange, HostSample
from opsconsole.store import Store
from opsconsole.timeline_feed import TimelineFeed
from tests.investigation.conftest import T0


def change(action: str, ts: float, **kw: object) -> ContainerChange:
    return ContainerChange(
        ts=ts,
        host="web-7",
        source="podman",
        engine="podman",
        id="abc",
        name="db",
        action=action,
        **kw,  # type: ignore[arg-type]
    )


def test_feed_records_alerts_changes_and_actions_once(store: Store) -> None:
    incident = store.create_incident("x", detected_at=T0)
    alert = Alert(
        ts=T0 + 1,
        host="web-7",
        source="mqtt",
        key="k",
        severity="critical",
        summary="disk [b]95%[/b]\x1b[2J",
        origin="alerts/web-7",
    )
    batch = [
        alert,
        HostSample(ts=T0 + 2, host="web-7", source="host"),
        change("exec_start", T0 + 3),
        change("die", T0 + 4, exit_code=137),
        change("health_status", T0 + 5, health="unhealthy"),
        change("health_status", T0 + 6, health="unhealthy"),  # same health again: no line
        change("health_status", T0 + 7, health="healthy"),
        ContainerAction(
            ts=T0 + 8,
            host="web-7",
            source="podman",
            engine="podman",
            id="abc",
            name="db",
            action="restart",
            command="podman restart db",
            ok=False,
            error="timeout",
        ),
    ]
    feed = TimelineFeed()
    assert feed.feed(store, incident.id, batch) == 5
    assert feed.feed(store, incident.id, [alert]) == 0  # the hub re-sends the latest alert
    entries = [(e.kind, e.text, e.command) for e in store.timeline(incident.id)][1:]
    assert entries == [
        ("alert", "Alert critical on web-7: disk [b]95%[/b]\\x1b[2J", None),
        ("container", "Container db die (exit 137)", None),
        ("container", "Container db health_status: unhealthy", None),
        ("container", "Container db health_status: healthy", None),
        ("action", "Restart container db failed: timeout", "podman restart db"),
    ]
    assert feed.feed(store, None, batch) == 0  # no incident open: nothing recorded


def test_builtin_templates_have_the_named_steps() -> None:
    names = {t.name: t for t in BUILTIN_STEPS}
    flow = [s.split(":")[0] for s in names["incident-response"].steps]
    assert flow == [
        "Detect",
        "Assess",
        "Communicate",
        "Diagnose",
        "Mitigate",
        "Resolve",
        "Document",
        "Improve",
    ]
    assert len(names["debugging"].steps) == 5 and len(names["performance"].steps) == 7
    report = load_templates(Path("/nonexistent")).notes[0].text
    for heading in (
        "Summary",
        "Impact",
        "Timeline",
        "Root cause",
        "Five whys",
        "Resolution",
        "Prevention and action items",
    ):
        assert f"## {heading}" in report


def test_user_templates_load_and_broken_ones_give_messages(tmp_path: Path) -> None:
    (tmp_path / "failover.toml").write_text(
        'title = "DB failover"\nsteps = ["Check lag", "Promote [b]replica[/b]"]\n'
    )
    (tmp_path / "postmortem.toml").write_text('notes = """# PM\\n"""\n')
    (tmp_path / "debugging.toml").write_text('title = "Our debugging"\nsteps = ["Mine"]\n')
    (tmp_path / "broken.toml").write_text("steps = [unclosed\n")
    (tmp_path / "empty.toml").write_text("title = 'x'\n")
    (tmp_path / "binary.toml").write_bytes(b"\xff\xfe\x00")
    templates = load_templates(tmp_path)
    by_name = {t.name: t for t in templates.steps}
    assert by_name["failover"].steps == ("Check lag", "Promote [b]replica[/b]")
    assert by_name["debugging"].title == "Our debugging"  # the user's replaces the built-in
    assert [t.name for t in templates.notes] == ["incident-report", "postmortem"]
    assert len(templates.errors) == 3
    assert any("broken.toml" in e and "invalid TOML" in e for e in templates.errors)
    assert any("empty.toml" in e and '"steps"' in e for e in templates.errors)
    assert any("binary.toml" in e and "UTF-8" in e for e in templates.errors)
