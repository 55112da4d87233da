"""The focused host view: every core, filesystem and interface, the cgroup, long history."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Static

from opsconsole.config import Threshold
from opsconsole.sources.events import HostSample, NetRate
from opsconsole.widgets.format import count, duration, rate
from opsconsole.widgets.host_overview import DISK_RATE_FLOOR, NET_RATE_FLOOR, HostPane
from opsconsole.widgets.metric import Meters, Metric, Reading


class HostDetail(HostPane, can_focus=True):
    """The host in full, scrollable: the whole kept history of each figure and every part.

    CPU with a meter per core, load, memory and swap, each filesystem with a usage meter, disk
    read and write, network totals and each interface (errors or drops are a warning), and the
    cgroup's CPU, throttling and memory when the console runs in one. Tall sparklines squeeze
    the whole history into the width, keeping each stretch's peak.
    """

    HELP_GROUP: ClassVar[str] = "Host view"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j,down", "scroll_down", "Scroll down", show=False, id="host.down"),
        Binding("k,up", "scroll_up", "Scroll up", show=False, id="host.up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="host.page_down"),
        Binding("pageup", "page_up", "Page up", show=False, id="host.page_up"),
        Binding("g,home", "scroll_home", "Top", show=False, id="host.top"),
        Binding("G,end", "scroll_end", "Bottom", show=False, id="host.bottom"),
    ]

    DEFAULT_CSS = """
    HostDetail {
        height: 1fr;
        overflow-y: auto;
        padding: 0 1;
        background: $surface;
        &:focus { background: $boost; }
        & > .section { color: $accent; text-style: bold; margin-top: 1; }
        & > #summary { color: $text-muted; }
        & > .-tall { height: 3; }
        & > #cgroup-path { color: $text-muted; }
        & > #interfaces { height: auto; }
    }
    """

    def __init__(
        self,
        *,
        thresholds: Mapping[str, Threshold],
        history: int,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """Create the view (arguments as ``HostPane``)."""
        super().__init__(thresholds=thresholds, history=history, id=id, classes=classes)
        self._summary = Static(id="summary", markup=False)
        self._cpu = _tall("TOTAL", "cpu")
        self._cores = Meters(id="cores")
        self._load = _tall("LOAD", "load")
        self._memory = _tall("MEM", "memory")
        self._swap = _tall("SWAP", "swap")
        self._disks = Meters(columns=1, label_width=16, text_width=6, detail_width=34, id="disks")
        self._disk_read = _tall("READ", "disk-read")
        self._disk_write = _tall("WRITE", "disk-write")
        self._net_rx = _tall("RX", "net-rx")
        self._net_tx = _tall("TX", "net-tx")
        self._network_title = Static("Network", classes="section", markup=False)
        self._interfaces = Vertical(id="interfaces")
        self._interface_metrics: dict[str, Metric] = {}
        self._cgroup_title = Static("Cgroup", classes="section")
        self._cgroup_path = Static(id="cgroup-path", markup=False)
        self._cgroup_cpu = _tall("CPU", "cgroup-cpu")
        self._cgroup_throttled = Metric(
            "THROTTLED", label_width=9, value_width=22, id="cgroup-throttled"
        )
        self._cgroup_memory = _tall("MEM", "cgroup-memory")
        self._cgroup_widgets = (
            self._cgroup_title,
            self._cgroup_path,
            self._cgroup_cpu,
            self._cgroup_throttled,
            self._cgroup_memory,
        )

    def compose(self) -> ComposeResult:
        yield self._summary
        yield Static("CPU", classes="section")
        yield from (self._cpu, self._cores, self._load)
        yield Static("Memory", classes="section")
        yield from (self._memory, self._swap)
        yield Static("Disks", classes="section")
        yield from (self._disks, self._disk_read, self._disk_write)
        yield self._network_title
        yield from (self._net_rx, self._net_tx, self._interfaces)
        yield from self._cgroup_widgets

    def on_mount(self) -> None:
        self._summary.update("Waiting for the first host sample…")
        for widget in self._cgroup_widgets:
            widget.display = False

    def show(self) -> None:
        model, readings, sample = self.model, self.readings, self.model.sample
        if sample is None:
            return
        cores = "n/a" if sample.cpu_count is None else str(sample.cpu_count)
        self._summary.update(
            f"{cores} cores · history {duration(model.span)}, "
            f"{count(len(model.times))} samples · ! warning  !! critical"
        )
        self._cpu.show_reading(readings.cpu(sample), model.cpu)
        self._cores.show_meters(readings.cores(sample))
        self._load.show_reading(readings.load(sample), model.load)
        self._memory.show_reading(readings.memory(sample), model.memory)
        self._swap.show_reading(readings.swap(sample), model.swap)
        self._disks.show_meters(readings.disk_meter(disk) for disk in sample.disks)
        self._disk_read.show_reading(
            readings.rate(sample.disk_read_bps, DISK_RATE_FLOOR), model.disk_read
        )
        self._disk_write.show_reading(
            readings.rate(sample.disk_write_bps, DISK_RATE_FLOOR), model.disk_write
        )
        self._net_rx.show_reading(readings.rate(sample.net_rx_bps, NET_RATE_FLOOR), model.net_rx)
        self._net_tx.show_reading(readings.rate(sample.net_tx_bps, NET_RATE_FLOOR), model.net_tx)
        self._show_interfaces(sample.interfaces)
        self._show_cgroup(sample)

    def _show_interfaces(self, interfaces: Sequence[NetRate]) -> None:
        """One metric per interface; added and removed as interfaces come and go."""
        left_out = sorted(interface.name for interface in interfaces if not interface.in_total)
        # Which interfaces the RX/TX totals leave out: bridges, their ports, mirrors.
        named = ", ".join(left_out[:4]) + (f" +{len(left_out) - 4}" if len(left_out) > 4 else "")
        self._network_title.update(f"Network · total without {named}" if left_out else "Network")
        present = {interface.name for interface in interfaces}
        for name in self._interface_metrics.keys() - present:
            self._interface_metrics.pop(name).remove()
        for interface in sorted(interfaces, key=lambda i: i.name):
            metric = self._interface_metrics.get(interface.name)
            if metric is None:
                metric = Metric(interface.name, label_width=10, value_width=34)
                self._interface_metrics[interface.name] = metric
                self._interfaces.mount(metric)
            metric.show_reading(
                _interface_reading(interface), self.model.interfaces[interface.name]
            )

    def _show_cgroup(self, sample: HostSample) -> None:
        cgroup = sample.cgroup
        for widget in self._cgroup_widgets:
            widget.display = cgroup is not None
        if cgroup is None:
            return
        self._cgroup_path.update(Text(f"cgroup v{cgroup.version}  {cgroup.path}"))
        readings, model = self.readings, self.model
        self._cgroup_cpu.show_reading(readings.cgroup_cpu(cgroup), model.cgroup_cpu)
        self._cgroup_throttled.show_reading(
            readings.cgroup_throttled(cgroup), model.cgroup_throttled
        )
        self._cgroup_memory.show_reading(readings.cgroup_memory(cgroup), model.cgroup_memory)


def _interface_reading(interface: NetRate) -> Reading:
    """Rates of one interface; any error or drop since the previous sample is a warning."""
    faults = interface.errors + interface.drops
    text = (
        f"rx {rate(interface.rx_bps)} tx {rate(interface.tx_bps)} "
        f"err {interface.errors} drop {interface.drops}"
    )
    return Reading(text, "warning" if faults else None, floor=NET_RATE_FLOOR)


def _tall(label: str, id: str) -> Metric:
    """A metric over three lines whose sparkline covers the whole history."""
    return Metric(label, value_width=22, window="all", id=id, classes="-tall")
