"""What a keystroke costs in the RCA notes editor, next to Textual's own TextArea.

Each editor holds the same notes (1 MB of Markdown by default) in a bare app under Pilot; the
script types ``--keys`` characters at the end and reports the CPU time of this process per key
(Pilot's own bookkeeping included, the same for both) and the wall time per key. Then it saves
the notes to a store on a temporary file and renders the report of a large incident.

    .venv/bin/python bench/investigation.py            # ~20 s
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from textual.app import App, ComposeResult
from textual.widgets import TextArea

from opsconsole.evidence import EvidenceDraft
from opsconsole.report import render_report
from opsconsole.store import Store, TimelineDraft
from opsconsole.widgets.notes import NotesArea


def notes_text(size: int) -> str:
    lines, total, i = [], 0, 0
    while total < size:
        line = f"- line {i} with some **markdown**, `code` and a citation [E1]\n"
        lines.append(line)
        total += len(line)
        i += 1
    return "".join(lines)


class Bare(App[None]):
    def __init__(self, area: TextArea) -> None:
        super().__init__()
        self.area = area

    def compose(self) -> ComposeResult:
        yield self.area


async def per_key(area: TextArea, keys: int) -> tuple[float, float]:
    app = Bare(area)
    async with app.run_test(size=(120, 40)) as pilot:
        area.focus()
        area.move_cursor(area.document.end)
        await pilot.pause(0.2)
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(keys):
            await pilot.press("x")
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return cpu / keys * 1000, wall / keys * 1000


def store_figures(text: str) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp, Store.open(Path(tmp) / "b.db") as store:
        incident = store.create_incident("bench")
        started = time.perf_counter()
        for revision in range(5):
            store.save_notes(incident.id, text + str(revision), revision)
        save_ms = (time.perf_counter() - started) / 5 * 1000
        draft = EvidenceDraft("log", "file:/var/log/x", "h", 1.0, "line", "content " * 100)
        for _ in range(100):
            store.add_evidence(incident.id, draft)
        store.add_timeline(
            incident.id,
            [TimelineDraft(ts=float(i), kind="alert", text=f"a{i}") for i in range(5000)],
        )
        started = time.perf_counter()
        render_report(store.bundle(incident.id))
        report_ms = (time.perf_counter() - started) * 1000
    return save_ms, report_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000, help="notes size in characters")
    parser.add_argument("--keys", type=int, default=30)
    args = parser.parse_args()
    text = notes_text(args.size)
    rows = []
    for name, area in (
        ("opsconsole NotesArea, plain", NotesArea(text, soft_wrap=True)),
        ("Textual TextArea, plain", TextArea(text, soft_wrap=True)),
        ("Textual TextArea, markdown", TextArea(text, language="markdown", soft_wrap=True)),
    ):
        cpu, wall = asyncio.run(per_key(area, args.keys))
        rows.append((name, cpu, wall))
    print(f"notes of {len(text):,} characters, {args.keys} keys typed at the end")
    print(f"{'editor':<30} {'CPU ms/key':>11} {'wall ms/key':>12}")
    for name, cpu, wall in rows:
        print(f"{name:<30} {cpu:>11.1f} {wall:>12.1f}")
    save_ms, report_ms = store_figures(text)
    print(f"save of the notes to SQLite (WAL): {save_ms:.1f} ms")
    print(f"report of 5000 timeline entries and 100 pieces of evidence: {report_ms:.1f} ms")


if __name__ == "__main__":
    main()
