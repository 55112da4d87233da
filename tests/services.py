"""What the real services the tests start (podman, mosquitto, agents) share."""

from __future__ import annotations

DIES_WITH_TESTS = ("setpriv", "--pdeathsig", "KILL", "--")
"""The prefix of a service's command line that has the kernel kill it when the test process
that started it dies: a pytest killed mid-run leaves no engine or broker running for hours.
(``setpriv`` is util-linux's, on every Debian.)"""
