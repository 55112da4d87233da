"""The headless code (sources, config, paths, hub) must import without textual.

Each probe runs in a fresh interpreter, so nothing imported by other tests can hide or fake an
import. Modules are discovered, not listed, so a new source is covered the day it lands.
"""

from __future__ import annotations

import json
import subprocess
import sys

HEADLESS_PACKAGE = "opsconsole.sources"
HEADLESS_MODULES = (
    "opsconsole.config",
    "opsconsole.paths",
    "opsconsole.hub",
    "opsconsole.recorder",
    "opsconsole.store",
    "opsconsole.evidence",
    "opsconsole.timeline_feed",
    "opsconsole.checklists",
    "opsconsole.report",
    "opsconsole.agent",
    "opsconsole.bundle",
    "opsconsole.redact",
    "opsconsole.capture",
    "opsconsole.open_cli",
    "opsconsole.logs_cli",
)
A_TEXTUAL_MODULE = "opsconsole.widgets.pane"

# Imports the modules named in argv one by one and prints the first after which textual is
# loaded (JSON null if none), so a failure names the offender, not just "something".
PROBE = """
import importlib, json, sys
offender = None
for name in sys.argv[1:]:
    importlib.import_module(name)
    if offender is None and "textual" in sys.modules:
        offender = name
print(json.dumps(offender))
"""


def _discover_headless() -> list[str]:
    """Every module under opsconsole.sources, plus the other headless modules that exist."""
    script = f"""
import importlib.util, json, pkgutil
import {HEADLESS_PACKAGE} as pkg
names = [pkg.__name__]
names += [m.name for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + ".")]
names += [n for n in {HEADLESS_MODULES!r} if importlib.util.find_spec(n) is not None]
print(json.dumps(names))
"""
    # Discovery itself runs in a subprocess too: find_spec imports parent packages.
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    names: list[str] = json.loads(out)
    return names


def _first_textual_importer(modules: list[str]) -> str | None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *modules], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, f"importing {modules} failed:\n{result.stderr}"
    offender: str | None = json.loads(result.stdout)
    return offender


def test_headless_modules_do_not_import_textual() -> None:
    modules = _discover_headless()
    assert "opsconsole.sources.events" in modules  # discovery did walk the package
    offender = _first_textual_importer(modules)
    assert offender is None, f"headless code imports textual: first seen after {offender}"


def test_probe_detects_textual() -> None:
    """The probe can fail: a widget module does pull textual in, and the probe names it."""
    assert _first_textual_importer([A_TEXTUAL_MODULE]) == A_TEXTUAL_MODULE
