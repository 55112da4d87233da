"""Suite-wide pytest configuration.

- Under ``CI=true`` a skipped test fails: CI installs every service the suite needs, so a skip
  there means a missing install step, not a machine that lacks something optional.
- ``opsconsole_bin``: the installed ``opsconsole`` console script, for end-to-end tests.
- Every test has its own XDG directories, so nothing touches the user's.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Generator
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"


def _fail_skip(report: pytest.TestReport | pytest.CollectReport) -> None:
    """Turn a skip (not an xfail) into a failure that says why it was skipped."""
    if not report.skipped or hasattr(report, "wasxfail"):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    report.outcome = "failed"
    report.longrepr = f"skipped under CI=true, which counts as a failure: {reason}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if IN_CI:
        _fail_skip(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    report = yield
    if IN_CI:
        _fail_skip(report)
    return report


@pytest.fixture(scope="session")
def opsconsole_bin() -> Path:
    """The ``opsconsole`` console script installed beside the interpreter running the tests."""
    path = Path(sys.executable).parent / "opsconsole"
    if not path.is_file():
        pytest.fail(f"{path} is missing: install the project first (scripts/test does)")
    return path


@pytest.fixture(autouse=True)
def private_xdg_dirs(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every test gets its own config, data and state directories: the console writes its
    investigation store there, and a test must never touch the user's."""
    root = tmp_path_factory.mktemp("xdg")
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, str(root / name.lower()))
