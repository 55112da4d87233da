"""Fixtures of the bundle tests: the suite's private podman service (tests/containers), and
bundles built by the real writer."""

from __future__ import annotations

from tests.containers.conftest import podman, sock

__all__ = ["podman", "sock"]
