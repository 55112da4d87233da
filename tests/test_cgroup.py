"""cgroup limits: fake v1, v2, hybrid and container trees in the kernel's file layout, and the
real host (which must not crash the reader, whatever it runs in)."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsconsole.sources.cgroup import LIMITS_TTL, CgroupReader, detect

GIB = 1 << 30
V1_UNLIMITED = "9223372036854771712"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Tree:
    """A fake /proc/self (cgroup, mountinfo) and the cgroup filesystems it points at."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.proc_self = root / "proc" / "self"
        self.proc_self.mkdir(parents=True)
        self.mounts: list[str] = []
        self.clock = Clock()

    def mount(self, name: str, fstype: str, options: str, mount_root: str = "/") -> Path:
        point = self.root / "sys" / "fs" / "cgroup" / name
        point.mkdir(parents=True, exist_ok=True)
        escaped = str(point).replace(" ", "\\040")
        self.mounts.append(
            f"{30 + len(self.mounts)} 25 0:{40 + len(self.mounts)} {mount_root} {escaped} "
            f"rw,nosuid,nodev,noexec,relatime shared:9 - {fstype} cgroup {options}"
        )
        return point

    def membership(self, *lines: str) -> None:
        (self.proc_self / "cgroup").write_text("\n".join(lines) + "\n")
        (self.proc_self / "mountinfo").write_text(
            "22 1 253:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
            + "\n".join(self.mounts)
            + "\n"
        )

    def reader(self) -> CgroupReader:
        return CgroupReader(proc_self=self.proc_self, clock=self.clock)


def write(directory: Path, **files: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name.replace("_", ".", 1)).write_text(text + "\n")


def v2_cpu_stat(usage_usec: int, nr_throttled: int = 0, throttled_usec: int = 0) -> str:
    return (
        f"usage_usec {usage_usec}\nuser_usec {usage_usec // 2}\nsystem_usec {usage_usec // 2}\n"
        f"nr_periods 100\nnr_throttled {nr_throttled}\nthrottled_usec {throttled_usec}\n"
        "nr_bursts 0\nburst_usec 0"
    )


def v1_cpu_stat(nr_throttled: int, throttled_ns: int) -> str:
    return f"nr_periods 100\nnr_throttled {nr_throttled}\nthrottled_time {throttled_ns}"


@pytest.fixture
def tree(tmp_path: Path) -> Tree:
    return Tree(tmp_path / "with space")  # mountinfo escapes spaces as \040


def test_v2_limits_are_the_tightest_up_the_tree(tree: Tree) -> None:
    root = tree.mount("", "cgroup2", "rw,nsdelegate,memory_recursiveprot")
    tree.membership("0::/system.slice/app.service")
    write(root / "system.slice", cpu_max="max 100000", memory_max=str(GIB))
    service = root / "system.slice" / "app.service"
    write(
        service,
        cpu_max="50000 100000",
        memory_max="max",
        memory_current="123456789",
        cpu_stat=v2_cpu_stat(1_000_000, 3, 2_000),
    )
    reader = tree.reader()
    first = reader.read()
    assert first is not None
    assert (first.version, first.path) == (2, "/system.slice/app.service")
    assert (first.cpu_limit_cores, first.memory_limit, first.memory_usage) == (
        0.5,
        GIB,  # set on the parent slice
        123456789,
    )
    assert (first.cpu_usage_cores, first.throttled_periods, first.throttled_seconds) == (
        None,
        None,
        None,
    )
    write(service, cpu_stat=v2_cpu_stat(1_500_000, 5, 302_000))
    tree.clock.now += 2.0
    second = reader.read()
    assert second is not None
    assert second.cpu_usage_cores == pytest.approx(0.25)  # 0.5 s of CPU in 2 s
    assert second.throttled_periods == 2
    assert second.throttled_seconds == pytest.approx(0.3)


def test_v2_throttling_is_read_where_the_quota_is_set(tree: Tree) -> None:
    root = tree.mount("", "cgroup2", "rw")
    tree.membership("0::/kubepods/pod1/ctr")
    pod = root / "kubepods" / "pod1"
    write(pod, cpu_max="25000 100000", cpu_stat=v2_cpu_stat(5_000_000, 10, 1_000_000))
    write(pod / "ctr", cpu_max="max 100000", cpu_stat=v2_cpu_stat(4_000_000))
    reader = tree.reader()
    assert reader.read() is not None
    write(pod, cpu_stat=v2_cpu_stat(5_500_000, 14, 1_800_000))
    write(pod / "ctr", cpu_stat=v2_cpu_stat(4_400_000))
    tree.clock.now += 1.0
    limits = reader.read()
    assert limits is not None
    assert limits.cpu_limit_cores == 0.25
    assert limits.cpu_usage_cores == pytest.approx(0.4)  # the container's own usage
    assert (limits.throttled_periods, limits.throttled_seconds) == (4, pytest.approx(0.8))
    assert limits.memory_limit is None


def test_v2_without_limits_is_none(tree: Tree) -> None:
    root = tree.mount("", "cgroup2", "rw")
    tree.membership("0::/user.slice/session-1.scope")
    write(root / "user.slice", cpu_max="max 100000", memory_max="max")
    write(
        root / "user.slice" / "session-1.scope",
        cpu_max="max 100000",
        memory_max="max",
        memory_current="4096",
        cpu_stat=v2_cpu_stat(10),
    )
    assert tree.reader().read() is None


def test_a_limit_set_or_lifted_later_shows_within_the_ttl(tree: Tree) -> None:
    root = tree.mount("", "cgroup2", "rw")
    tree.membership("0::/app")
    app = root / "app"
    write(app, cpu_max="max 100000", memory_max="max", cpu_stat=v2_cpu_stat(10))
    reader = tree.reader()
    assert reader.read() is None
    write(app, cpu_max="200000 100000")  # `systemctl set-property app CPUQuota=200%`
    tree.clock.now += 1.0
    assert reader.read() is None  # the tree is not walked every second
    tree.clock.now += LIMITS_TTL
    limits = reader.read()
    assert limits is not None and limits.cpu_limit_cores == 2.0
    write(app, cpu_max="max 100000")
    tree.clock.now += LIMITS_TTL
    assert reader.read() is None


def test_v1_combined_cpu_cpuacct_with_quota_and_unlimited_memory(tree: Tree) -> None:
    cpu = tree.mount("cpu,cpuacct", "cgroup", "rw,cpu,cpuacct")
    memory = tree.mount("memory", "cgroup", "rw,memory")
    tree.mount("unified", "cgroup2", "rw")  # hybrid: present, but without controllers
    tree.membership(
        "12:memory:/docker/abc",
        "4:cpu,cpuacct:/docker/abc",
        "1:name=systemd:/docker/abc",
        "0::/docker/abc",
    )
    write(cpu / "docker", cpu_cfs_quota_us="-1", cpu_cfs_period_us="100000")
    write(
        cpu / "docker" / "abc",
        cpu_cfs_quota_us="150000",
        cpu_cfs_period_us="100000",
        cpuacct_usage="2000000000",
        cpu_stat=v1_cpu_stat(7, 50_000_000),
    )
    for directory in (memory, memory / "docker", memory / "docker" / "abc"):
        write(directory, memory_limit_in_bytes=V1_UNLIMITED, memory_usage_in_bytes="5000")
    reader = tree.reader()
    first = reader.read()
    assert first is not None
    assert (first.version, first.path) == (1, "/docker/abc")
    assert (first.cpu_limit_cores, first.memory_limit, first.memory_usage) == (1.5, None, 5000)
    write(
        cpu / "docker" / "abc",
        cpuacct_usage="3500000000",
        cpu_stat=v1_cpu_stat(9, 250_000_000),
    )
    tree.clock.now += 1.0
    second = reader.read()
    assert second is not None
    assert second.cpu_usage_cores == pytest.approx(1.5)
    assert (second.throttled_periods, second.throttled_seconds) == (2, pytest.approx(0.2))


def test_v1_split_controllers_memory_limit_on_a_parent(tree: Tree) -> None:
    """The layout of this project's test machines: cpu and cpuacct mounted apart."""
    cpu = tree.mount("cpu", "cgroup", "rw,cpu")
    cpuacct = tree.mount("cpuacct", "cgroup", "rw,cpuacct")
    memory = tree.mount("memory", "cgroup", "rw,memory")
    tree.membership("4:memory:/jobs/42", "2:cpuacct:/", "1:cpu:/", "0::/")
    write(cpu, cpu_cfs_quota_us="-1", cpu_cfs_period_us="100000", cpu_stat=v1_cpu_stat(0, 0))
    write(cpuacct, cpuacct_usage="1000")
    write(memory, memory_limit_in_bytes=V1_UNLIMITED)
    write(memory / "jobs", memory_limit_in_bytes=str(512 << 20))
    write(memory / "jobs" / "42", memory_limit_in_bytes=V1_UNLIMITED, memory_usage_in_bytes="77")
    limits = tree.reader().read()
    assert limits is not None
    assert (limits.version, limits.memory_limit, limits.memory_usage) == (1, 512 << 20, 77)
    assert limits.cpu_limit_cores is None
    assert limits.path == "memory:/jobs/42 cpu:/"


def test_v1_cpu_usage_of_another_group_is_not_reported(tree: Tree) -> None:
    """cpuacct mounted apart, the process left in its root: that usage is the whole host's."""
    cpu = tree.mount("cpu", "cgroup", "rw,cpu")
    cpuacct = tree.mount("cpuacct", "cgroup", "rw,cpuacct")
    tree.membership("2:cpuacct:/", "1:cpu:/batch")
    write(cpu / "batch", cpu_cfs_quota_us="50000", cpu_cfs_period_us="100000")
    write(cpuacct, cpuacct_usage="1000000000")
    reader = tree.reader()
    reader.read()
    write(cpuacct, cpuacct_usage="3000000000")
    tree.clock.now += 1.0
    limits = reader.read()
    assert limits is not None
    assert (limits.cpu_limit_cores, limits.cpu_usage_cores) == (0.5, None)


def test_v1_without_limits_is_none(tree: Tree) -> None:
    cpu = tree.mount("cpu,cpuacct", "cgroup", "rw,cpu,cpuacct")
    memory = tree.mount("memory", "cgroup", "rw,memory")
    tree.membership("5:memory:/", "3:cpu,cpuacct:/")
    write(cpu, cpu_cfs_quota_us="-1", cpu_cfs_period_us="100000", cpuacct_usage="1")
    write(memory, memory_limit_in_bytes=V1_UNLIMITED, memory_usage_in_bytes="1")
    assert tree.reader().read() is None


def test_container_sees_only_its_own_subtree(tree: Tree) -> None:
    """Without a cgroup namespace, /proc/self/cgroup names the host path while the mount shows
    only the container's cgroup (mountinfo's root field says which)."""
    memory = tree.mount("memory", "cgroup", "rw,memory", mount_root="/docker/abc")
    tree.membership("9:memory:/docker/abc")
    write(memory, memory_limit_in_bytes=str(GIB), memory_usage_in_bytes="1000")
    limits = tree.reader().read()
    assert limits is not None
    assert (limits.memory_limit, limits.memory_usage) == (GIB, 1000)


def test_missing_or_garbled_files_give_none_not_errors(tree: Tree) -> None:
    root = tree.mount("", "cgroup2", "rw")
    tree.membership("0::/a", "garbage line", "")
    write(root / "a", cpu_max="banana", memory_max="", cpu_stat="usage_usec lots")
    assert tree.reader().read() is None
    assert CgroupReader(proc_self=tree.root / "nowhere").read() is None


def test_real_host() -> None:
    placement = detect()
    limits = CgroupReader().read()
    if Path("/proc/self/cgroup").exists():
        found = [h for h in (placement.cpu, placement.cpuacct, placement.memory) if h]
        assert found, "no cgroup controller found on a Linux host"
        for hierarchy in found:
            assert hierarchy.directory.is_dir(), hierarchy
    if limits is not None:
        assert limits.version in (1, 2)
        assert limits.cpu_limit_cores is not None or limits.memory_limit is not None
        assert limits.cpu_limit_cores is None or limits.cpu_limit_cores > 0
        assert limits.memory_limit is None or limits.memory_limit > 0
        assert limits.memory_usage is None or limits.memory_usage > 0
