"""The report, the handoff and the JSON export against golden files, and the report command.

After a deliberate change, regenerate with ``UPDATE_GOLDEN=1 pytest tests/investigation`` and read
the diff of tests/investigation/golden/ before committing it.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import pytest

from opsconsole import report
from opsconsole.cli import build_parser
from opsconsole.store import Store
from tests.investigation.conftest import T0, Clock, build_incident

GOLDEN = Path(__file__).parent / "golden"
NOW = T0 + 7200


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from the golden file"


def test_report_matches_golden(store: Store, clock: Clock) -> None:
    text = report.render_report(store.bundle(build_incident(store, clock)))
    check_golden("report.md", text)
    assert "\x1b" not in text and "\\x1b[31m" in text  # escapes shown, never sent
    assert "Checkout \\[red\\]502s\\[/red\\] \\*after\\* deploy" in text
    assert "OOM-killed E2[^E2]; the 502s followed E1[^E1]" in text
    assert "[E99]" in text
    assert "### Summary" in text  # the notes' headings sit under ## Notes
    assert "````text" in text  # the content's own ``` cannot end the fence


def test_handoff_matches_golden(store: Store, clock: Clock) -> None:
    text = report.render_handoff(store.bundle(build_incident(store, clock)), NOW)
    check_golden("handoff.md", text)
    assert "## Open hypotheses\n\n- Network partition\n" in text
    assert "- [ ] Roll back deploy 1234 (bo)" in text  # next step
    assert "- [~] Roll back deploy 1234 (bo)" in text  # also being tried
    assert "Hypothesis refuted: DB pool exhausted by the new ORM (evidence E1)" in text


def test_json_matches_golden(store: Store, clock: Clock) -> None:
    text = report.render_json(store.bundle(build_incident(store, clock)))
    check_golden("report.json", text)
    data = json.loads(text)
    assert data["incident"]["ref"] == "INC-1"
    assert data["incident"]["time_to_mitigate"] == 750.0
    assert [e["ref"] for e in data["evidence"]] == ["E1", "E2"]


def test_times_and_file_names() -> None:
    assert report.format_time(T0) == "2026-11-18 11:06:40 UTC"
    assert report.handoff_filename(T0) == "20261118T110640Z_handoff.md"


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["report", *argv])


def test_command_writes_report_handoff_and_json(
    tmp_path: Path, store: Store, clock: Clock, capsys: pytest.CaptureFixture[str]
) -> None:
    incident_id = build_incident(store, clock)
    db = str(store.path)
    # The console still has the store open: the command reads beside it.
    assert report.run(parse("--store", db), now=NOW) == 0
    assert capsys.readouterr().out == (GOLDEN / "report.md").read_text()
    out = tmp_path / "out.md"
    assert report.run(parse(f"INC-{incident_id}", "-o", str(out), "--store", db), now=NOW) == 0
    assert out.read_text() == (GOLDEN / "report.md").read_text()
    capsys.readouterr()
    assert report.run(parse("--handoff", "-o", str(tmp_path), "--store", db), now=NOW) == 0
    handoff = tmp_path / "20261118T130640Z_handoff.md"
    assert capsys.readouterr().out.strip().endswith(handoff.name)
    assert handoff.read_text() == (GOLDEN / "handoff.md").read_text()
    assert report.run(parse("1", "--json", "--store", db), now=NOW) == 0
    assert json.loads(capsys.readouterr().out)["incident"]["id"] == incident_id


def test_command_errors_are_one_clear_line(
    tmp_path: Path, store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    assert report.run(parse("--store", str(tmp_path / "none.db"))) == 1
    assert "no investigation store" in capsys.readouterr().err
    store.create_incident("x")
    assert report.run(parse("7", "--store", str(store.path))) == 1
    assert capsys.readouterr().err.strip() == "opsconsole: no incident INC-7"
    assert (
        report.run(parse("1", "-o", str(tmp_path / "no" / "dir.md"), "--store", str(store.path)))
        == 1
    )
    assert "cannot write" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse("INC-x")


def test_export_writes_both_files(tmp_path: Path, store: Store, clock: Clock) -> None:
    incident_id = build_incident(store, clock)
    written = report.export(store, incident_id, tmp_path / "reports", now=NOW)
    assert [p.name for p in written] == ["INC-1_report.md", "20261118T130640Z_handoff.md"]
    assert written[0].read_text() == (GOLDEN / "report.md").read_text()
