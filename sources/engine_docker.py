"""The Docker API through the docker SDK: docker itself, or podman's Docker-compatible socket."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, ClassVar, Final

from opsconsole.sources.engine import (
    CALL_TIMEOUT,
    Response,
    RestEngine,
    Runtime,
    parse_time,
    stats_from_docker,
)
from opsconsole.sources.events import ContainerInfo, ContainerStats

_HEALTH: Final = re.compile(r"\((?:health: )?(healthy|unhealthy|starting)\)")
"""The health that the list call's status line ends with: ``Up 2 hours (unhealthy)``."""


class DockerEngine(RestEngine):
    """A Docker Engine API endpoint (docker, or podman's compatible API)."""

    runtime: ClassVar[Runtime] = "docker"
    _stop_timeout_param: ClassVar[str] = "t"
    _client: Any = None
    """The SDK's low-level APIClient (untyped upstream)."""

    def _open_client(self) -> None:
        import docker  # here, in the connecting thread: see PodmanEngine._open_client

        # The SDK asks the engine for its API version here, so this already fails on no engine.
        self._client = docker.APIClient(
            base_url=self.spec.url,
            timeout=CALL_TIMEOUT,
            max_pool_size=self.max_streams + 8,
        )

    def _request(
        self, method: str, path: str, params: Mapping[str, Any] | None, stream: bool
    ) -> Response:
        client = self._client
        assert client is not None, "connect() first"
        url = client._url("/_ping", versioned_api=False) if path == "/_ping" else client._url(path)
        timeout = None if stream else CALL_TIMEOUT
        if method == "POST":
            response: Response = client._post(url, params=params, timeout=timeout)
        else:
            response = client._get(url, params=params, stream=stream, timeout=timeout)
        return response

    def _close_client(self) -> None:
        if self._client is not None:
            self._client.close()

    def _info(self, item: Mapping[str, Any]) -> ContainerInfo:
        status = str(item.get("Status") or "")
        health = _HEALTH.search(status)
        return self._base_info(item, status=status, health=health.group(1) if health else None)

    def _stats_request(self, id: str) -> tuple[str, dict[str, Any]]:
        return f"/containers/{id}/stats", {"stream": "true"}

    def _stats(self, id: str, line: bytes) -> ContainerStats | None:
        try:
            doc = json.loads(line)
        except ValueError:
            return None
        if not isinstance(doc, dict) or parse_time(doc.get("read")) is None:
            return None  # a stopped container's stats are all zero, with Go's zero time
        return stats_from_docker(id, doc, self._host_memory)
