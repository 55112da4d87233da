"""The podman engine through podman-py, on the libpod API (pods, healthchecks, podman's stats).

podman-py's ``Container`` objects are not used: on containers from ``containers.list()`` their
``status`` raises TypeError (``attrs["State"]`` is a string there and a dict after ``reload()``),
so the adapter reads the libpod API's JSON through the SDK's client and takes it as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Final

import msgspec

from opsconsole.sources.engine import (
    CALL_TIMEOUT,
    Response,
    RestEngine,
    Runtime,
    parse_time,
    real_limit,
)
from opsconsole.sources.events import ContainerInfo, ContainerStats

if TYPE_CHECKING:
    from podman import PodmanClient


class _LibpodStat(msgspec.Struct):
    """The fields of one libpod stats entry the console shows (the rest is skipped unparsed)."""

    CPU: float | None = None
    MemUsage: int | None = None
    MemLimit: int | None = None
    NetInput: int | None = None
    NetOutput: int | None = None
    BlockInput: int | None = None
    BlockOutput: int | None = None
    PIDs: int | None = None


class _LibpodStats(msgspec.Struct):
    Error: Any = None
    Stats: list[_LibpodStat] | None = None


_stats_decoder: Final = msgspec.json.Decoder(_LibpodStats)
STATS_INTERVAL: Final = 5
"""Seconds between two stats reads of one container: libpod's own default, kept because each
read costs the engine cgroup reads (at 200 containers it used 2.3 CPU-s/min at 5 s; the
Docker-compatible API's fixed 1 s cost it 6.3)."""


class PodmanEngine(RestEngine):
    """A podman service (rootful or rootless) on its socket or a TCP address."""

    runtime: ClassVar[Runtime] = "podman"
    _stop_timeout_param: ClassVar[str] = "timeout"
    _client: PodmanClient | None = None

    def _open_client(self) -> None:
        # Imported here, in the connecting thread: the SDK takes a tenth of a second to import,
        # which the console's start-up should not wait for.
        from podman import PodmanClient

        # No timeout on the client: streams must not time out; plain calls pass their own.
        self._client = PodmanClient(base_url=self.spec.url, max_pool_size=self.max_streams + 8)

    def _request(
        self, method: str, path: str, params: Mapping[str, Any] | None, stream: bool
    ) -> Response:
        assert self._client is not None, "connect() first"
        api = self._client.api
        timeout = None if stream else CALL_TIMEOUT
        if method == "POST":
            response: Response = api.post(path, params=params, timeout=timeout)
        else:
            response = api.get(path, params=params, timeout=timeout, stream=stream)
        return response

    def _close_client(self) -> None:
        if self._client is not None:
            self._client.close()  # type: ignore[no-untyped-call]

    def _info(self, item: Mapping[str, Any]) -> ContainerInfo:
        running = str(item.get("State", "")).lower() in ("running", "paused")
        code = item.get("ExitCode")
        # libpod's list puts the health, not a status line, in Status.
        health = str(item.get("Status") or "")
        return self._base_info(
            item,
            status="",
            health=health if health in ("healthy", "unhealthy", "starting") else None,
            started_at=parse_time(item.get("StartedAt")),
            finished_at=parse_time(item.get("ExitedAt")),
            exit_code=code if isinstance(code, int) and not running else None,
            pod=str(item.get("PodName") or "") or None,
        )

    def _stats_request(self, id: str) -> tuple[str, dict[str, Any]]:
        return "/containers/stats", {"containers": id, "stream": "true", "interval": STATS_INTERVAL}

    def _stats(self, id: str, line: bytes) -> ContainerStats | None:
        try:
            doc = _stats_decoder.decode(line)
        except msgspec.DecodeError:
            return None
        if doc.Error or not doc.Stats:
            return None
        s = doc.Stats[0]
        return ContainerStats(
            id=id,
            cpu_percent=s.CPU,
            mem_usage=s.MemUsage,
            mem_limit=real_limit(s.MemLimit, self._host_memory),
            net_rx=s.NetInput,
            net_tx=s.NetOutput,
            blk_read=s.BlockInput,
            blk_write=s.BlockOutput,
            pids=s.PIDs,
        )
