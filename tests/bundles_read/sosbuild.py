"""Builds sosreports in the real on-disk layout (sos 4.x) from code, for tests and the bench.

The layout follows sos's own: ``sos_commands/<plugin>/<mangled command>``, root symlinks into
it, copied files under their original path, ``sos_reports/manifest.json``. The contents are
written here, not copied from any real report.
"""

from __future__ import annotations

import json
import random
import tarfile
from dataclasses import dataclass
from pathlib import Path

NAME = "sosreport-web01-2026-11-24-qwertyu"
REPORT_END = 1_795_513_219.0
"""Epoch time of the last command in the manifest (2026-11-24 09:40:19 UTC): the report's time."""
PODMAN_RUNNING = "a1b2c3d4e5f6" + "0" * 52
PODMAN_EXITED = "f6e5d4c3b2a1" + "1" * 52
DOCKER_RUNNING = "c7efee959ea8" + "2" * 52
ROOTLESS_WEB = "0123456789ab" + "3" * 52
"""A rootless user's container, named ``web`` like root's own."""

PS = """\
USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND
root           1  0.1  0.1 167720 13036 ?        -    Nov20   0:30 /sbin/init splash
root           -  0.1    -      -     - -        Ss   Nov20   0:30 -
root           2  0.0  0.0      0     0 ?        -    Nov20   0:00 [kthreadd]
root           -  0.0    -      -     - -        S    Nov20   0:00 -
mysql       4242 87.5 12.4 2456780 2031616 ?     -    Nov20 912:01 /usr/sbin/mysqld --basedir=/usr
mysql          -  80.0    -      -     - -        Rl   Nov20 900:00 -
mysql          -   5.0    -      -     - -        Sl   Nov20   6:00 -
mysql          -   2.5    -      -     - -        Sl   Nov20   6:01 -
www-data    5151  3.2  1.0 123456 163840 ?       -    10:01   0:12 nginx: worker process \x1b[31m
www-data       -  3.2    -      -     - -        S    10:01   0:12 -
"""

DF = """\
Filesystem                                        1K-blocks     Used Available Use% Mounted on
sysfs                                                     0        0         0    - /sys
/dev/mapper/vg0-root                               51343840 46209456   5134384  90% /
/dev/mapper/a-very-long-device-name-that-wraps-onto-next
      10255636  1024000   9231636  10% /var/lib/containers
tmpfs                                               1631388     1280   1630108   1% /run
"""

FREE = """\
               total        used        free      shared  buff/cache   available
Mem:        16303488     9360536     3651788      123456     3291164     6571304
Swap:        2097148      524288     1572860
"""


def table(header: list[str], rows: list[list[str]]) -> str:
    """A CLI table padded the way podman and docker print one (columns 3 spaces apart)."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return "".join(
        "   ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() + "\n"
        for r in [header, *rows]
    )


_PS_HEADER = ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
PODMAN_PS = table(
    _PS_HEADER,
    [
        [
            PODMAN_RUNNING,
            "docker.io/library/nginx:1.25",
            "nginx -g daemon off;",
            "2 days ago",
            "Up 2 days ago",
            "0.0.0.0:8080->80/tcp",
            "web",
        ],
        [
            PODMAN_EXITED,
            "docker.io/library/redis:7",
            "redis-server",
            "3 days ago",
            "Exited (137) 5 hours ago",
            "",
            "cache",
        ],
    ],
)
DOCKER_PS = table(
    _PS_HEADER,
    [
        [
            DOCKER_RUNNING,
            "postgres:16",
            '"docker-entrypoint.s…"',
            "4 hours ago",
            "Up 4 hours",
            "5432/tcp",
            "db",
        ]
    ],
)


def _inspect(cid: str, name: str, status: str, exit_code: int, *, podman: bool) -> str:
    doc: dict[str, object] = {
        "Id": cid,
        "Created": "2026-11-22T08:00:00.123456789Z",
        "Name": name if podman else f"/{name}",
        "RestartCount": 2,
        "State": {
            "Status": status,
            "Running": status == "running",
            "OOMKilled": exit_code == 137,
            "ExitCode": exit_code,
            "StartedAt": "2026-11-22T08:00:01.5Z",
            "FinishedAt": "2026-11-24T05:00:00Z" if status != "running" else "0001-01-01T00:00:00Z",
        },
        "Config": {
            "Image": "img",
            "Env": ["DB_PASSWORD=********"],
            "Labels": {"com.docker.compose.project": "shop", "tier": "front"},
        },
    }
    if podman:
        doc["ImageName"] = "docker.io/library/nginx:1.25" if name == "web" else "redis:7"
        doc["Pod"] = ""
    return json.dumps([doc], indent=4)


@dataclass(frozen=True)
class Damage:
    """The three faults real reports have (on by default, as in real life)."""

    missing_file: bool = True
    """A manifest command whose output file is absent, and a copied file that is absent."""
    dangling_link: bool = True
    """A root symlink to an output sos did not write."""


def build_sosreport(
    parent: Path,
    *,
    name: str = NAME,
    damage: Damage = Damage(),
    log_files: int = 2,
    log_bytes: int = 4096,
    users: tuple[str, ...] = (),
) -> Path:
    """Write a sosreport directory ``parent/name`` and return it.

    ``log_files`` logs of about ``log_bytes`` each go under var/log/app (two are the minimum:
    messages and one app log). Each of ``users`` gets a rootless podman with one running
    container named ``web``, where ``-k podman.allusers`` puts it.
    """
    root = parent / name
    files: dict[str, str] = {
        "version.txt": "sosreport: 4.5",
        "environment": "LANG=C.UTF-8\nPATH=/usr/bin\n",
        "sos_commands/kernel/uname_-a": "Linux web01 6.1.0-13-amd64 #1 SMP PREEMPT_DYNAMIC "
        "Debian 6.1.55-1 (2023-09-29) x86_64 GNU/Linux\n",
        "sos_commands/host/hostname": "web01.example.com\n",
        "sos_commands/host/uptime": " 09:40:01 up 3 days,  4:05,  2 users,  "
        "load average: 3.52, 2.10, 1.05\n",
        "sos_commands/memory/free": FREE,
        "sos_commands/filesys/df_-al_-x_autofs": DF,
        "sos_commands/process/ps_auxwwwm": PS,
        "sos_commands/podman/podman_ps_-a": PODMAN_PS,
        f"sos_commands/podman/containers/podman_inspect_{PODMAN_RUNNING}": _inspect(
            PODMAN_RUNNING, "web", "running", 0, podman=True
        ),
        f"sos_commands/podman/containers/podman_inspect_{PODMAN_EXITED}": _inspect(
            PODMAN_EXITED, "cache", "exited", 137, podman=True
        ),
        f"sos_commands/podman/containers/podman_logs_-t_{PODMAN_RUNNING}": (
            "2026-11-24T09:00:00.000000001Z 10.0.0.1 - GET / 200\n"
            "2026-11-24T09:00:01.5Z 10.0.0.2 - GET /missing 404\n"
        ),
        "sos_commands/docker/docker_ps_-a": DOCKER_PS,
        f"sos_commands/docker/containers/docker_inspect_{DOCKER_RUNNING}": _inspect(
            DOCKER_RUNNING, "db", "running", 0, podman=False
        ),
        "sos_commands/logs/journalctl_--no-pager_--boot": (
            "Nov 24 09:00:00 web01 systemd[1]: Started nginx.\n"
            "Nov 24 09:30:00 web01 kernel: Out of memory: Killed process 4243 (redis-server)\n"
        ),
        "proc/mounts": "/dev/mapper/vg0-root / ext4 rw 0 0\n"
        "/dev/mapper/a-very-long-device-name-that-wraps-onto-next /var/lib/containers xfs rw 0 0\n"
        "tmpfs /run tmpfs rw 0 0\nsysfs /sys sysfs rw 0 0\n",
        "proc/cpuinfo": "".join(f"processor\t: {i}\nmodel name\t: Test CPU\n\n" for i in range(4)),
        "proc/uptime": "273900.50 1000000.00\n",
        "etc/os-release": 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n',
        "var/log/messages": "".join(
            f"Nov 24 09:{i % 60:02d}:00 web01 app[77]: line {i}\n" for i in range(50)
        ),
        "sos_logs/sos.log": "sos run\n",
    }
    for user in users:
        base = f"sos_commands/podman/users/{user}"
        files[f"{base}/podman_ps_-a"] = table(
            _PS_HEADER,
            [[ROOTLESS_WEB, "localhost/bb:latest", "sh", "1 hour ago", "Up 1 hour", "", "web"]],
        )
        files[f"{base}/containers/podman_inspect_{ROOTLESS_WEB}"] = _inspect(
            ROOTLESS_WEB, "web", "running", 0, podman=True
        )
        files[f"{base}/containers/podman_logs_-t_{ROOTLESS_WEB}"] = (
            f"2026-11-24T09:10:00Z rootless {user} serving\n"
        )
    for i in range(max(0, log_files - 1)):
        files[f"var/log/app/app{i}.log"] = _app_log(random.Random(i), log_bytes)
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    links = {
        "uname": "sos_commands/kernel/uname_-a",
        "hostname": "sos_commands/host/hostname",
        "uptime": "sos_commands/host/uptime",
        "free": "sos_commands/memory/free",
        "df": "sos_commands/filesys/df_-al_-x_autofs",
        "ps": "sos_commands/process/ps_auxwwwm",
    }
    if damage.dangling_link:
        links["lsof"] = "sos_commands/process/lsof_M_-n_-l_-c"
    for link, target in links.items():
        (root / link).symlink_to(target)
    _manifest(root, damage)
    return root


def _app_log(rng: random.Random, size: int) -> str:
    """About ``size`` bytes of varied request lines (they compress like real logs, ~10x)."""
    lines, total = [], 0
    while total < size:
        line = (
            f"Nov 24 09:{rng.randrange(60):02d}:{rng.randrange(60):02d} "
            f"web01 app[{rng.randrange(9999)}]: "
            f"req={rng.getrandbits(64):016x} path=/api/items/{rng.randrange(10**6)} "
            f"status={rng.choice((200, 200, 200, 404, 500))} ms={rng.randrange(2000)}\n"
        )
        lines.append(line)
        total += len(line)
    return "".join(lines)


def _command(
    exec_: str, filepath: str | None, *, rc: int = 0, truncated: bool = False
) -> dict[str, object]:
    return {
        "command": exec_.split()[0],
        "parameters": exec_.split()[1:],
        "exec": exec_,
        "filepath": filepath,
        "truncated": truncated,
        "return_code": rc,
        "priority": 1,
        "start_time": REPORT_END - 10,
        "end_time": REPORT_END - 9,
        "run_time": 1.0,
        "tags": [],
    }


def _manifest(root: Path, damage: Damage) -> None:
    plugins: dict[str, dict[str, object]] = {
        "process": {
            "timeout_hit": False,
            "commands": [
                _command("ps auxwwwm", "sos_commands/process/ps_auxwwwm"),
                _command("lsof M -n -l -c ''", None, rc=124),
            ],
            "files": [],
        },
        "logs": {
            "timeout_hit": False,
            "commands": [
                _command(
                    "journalctl --no-pager --boot",
                    "sos_commands/logs/journalctl_--no-pager_--boot",
                    truncated=True,
                )
            ],
            "files": [{"specification": "/var/log/messages", "files_copied": ["var/log/messages"]}],
        },
        "podman": {
            "timeout_hit": False,
            "commands": [_command("podman ps -a", "sos_commands/podman/podman_ps_-a")],
            "files": [],
        },
    }
    if damage.missing_file:
        plugins["networking"] = {
            "timeout_hit": True,
            "commands": [_command("ip -s link", "sos_commands/networking/ip_-s_link")],
            "files": [{"specification": "/etc/hosts", "files_copied": ["etc/hosts"]}],
        }
    last = _command("uname -a", "sos_commands/kernel/uname_-a")
    last["end_time"] = REPORT_END
    plugins["kernel"] = {"timeout_hit": False, "commands": [last], "files": []}
    manifest = {
        "version": "4.5",
        "cmdline": "report --batch --all-logs",
        "start_time": "2026-11-24 09:39:43.934716",
        "end_time": "2026-11-24 09:40:19.813355",
        "run_time": "0:00:35.878639",
        "compression": "auto",
        "policy": "Debian",
        "components": {"report": {"sysroot": "/", "plugins": plugins}},
    }
    path = root / "sos_reports" / "manifest.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(manifest, indent=2))


def pack(root: Path, archive: Path) -> Path:
    """``root`` as a tar archive the way sos makes it (one top directory); compression by suffix."""
    mode = {".xz": "w:xz", ".gz": "w:gz"}.get(archive.suffix, "w")
    with tarfile.open(archive, mode) as tar:  # type: ignore[call-overload]
        tar.add(root, arcname=root.name)
    return archive
