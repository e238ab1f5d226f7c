"""The stages of a trial as vendor-neutral templates.

Each stage is a :class:`ScanTemplate` built here and narrowed by the device's profile (its
known exclusions and limits are honoured: a trial looks for what is *not yet* known), then
wrapped as a :class:`CompiledTemplate` aimed at the one target, for a vendor's ``run``:

- ``discovery-icmp``: an ICMP echo ping, no ports;
- ``discovery-syn``: a half-open SYN survey of the port list (finds the open ports without
  completing a handshake; needs raw sockets, so it is skipped when this process cannot);
- ``discovery-connect``: full TCP connects to the liveness (ping) ports;
- ``service``: one full-connect scan per open port, one port at a time, so that a failure
  names its port by construction;
- ``vulnerability``: the vendor's safe checks, one open port at a time (each with its own time
  limit, so that one slow service cannot starve the others, and a failure names its port by
  construction); for nmap they include version detection's service probes, with only safe
  version scripts (docs/trials.md, "Service probes are checks");
- ``speed``: every open port many times over at full speed, to test rate fragility (every port
  survived on its own in ``service``: a failure here is the rate).

:func:`estimate_s` says how long a scan takes at the template's rate before it starts, so that a
stage that cannot finish within its time limit is refused, with a port list that fits
(:func:`ports_that_fit`), instead of being cut short.
"""

from __future__ import annotations

import math
import os

from ..lattice import narrow
from ..model.addresses import AddressSet
from ..model.intervals import IntervalSet
from ..model.base import Model
from ..model.constraints import Constraints
from ..model.plan import CompiledTemplate, Targets
from ..model.ports import PortSet
from ..model.template import Checks, Discovery, Performance, ScanTemplate
from .records import StageName

STAGE_TITLES: dict[StageName, str] = {
    "discovery-icmp": "Discovery: ICMP echo",
    "discovery-syn": "Discovery: TCP SYN survey",
    "discovery-connect": "Discovery: full TCP connect to the liveness ports",
    "service": "Service evaluation, port by port",
    "vulnerability": "Vulnerability checks (safe only)",
    "speed": "Higher speed (rate resilience)",
}
GENTLE_EXCLUSIONS = frozenset({"dos", "brute-force", "exploit", "intrusive", "fuzzing", "unsafe", "web-crawl"})
"""Check categories a trial's vulnerability stage never runs: it tests fragility, not exploits."""
UNLIMITED_PROBES_PER_S = 1000.0
"""What an estimate assumes a scan without a rate limit or delay sends per second (a cautious
figure: scanners send far more on a fast network, fewer to a slow device)."""


class StagePlan(Model):
    """One scan a stage runs: its label, template and target list."""

    stage: StageName
    label: str
    compiled: CompiledTemplate
    targets: tuple[str, ...]
    port: int | None = None

    @property
    def probes(self) -> int:
        """Port probes it plans: its ports times its targets (one host probe when it has no ports)."""
        ports = self.compiled.template.ports
        return max(1, len(ports.tcp) + len(ports.udp)) * len(self.targets)


def with_rate(plan: StagePlan, packets_per_second: int) -> StagePlan:
    """The same scan at no more than `packets_per_second` (only ever slower)."""
    ct = plan.compiled
    perf = ct.template.performance
    pps = min(packets_per_second, perf.packets_per_second or packets_per_second)
    template = ct.template.model_copy(update={"performance": perf.model_copy(update={"packets_per_second": pps})})
    return plan.model_copy(update={"compiled": ct.model_copy(update={"template": template})})


def seconds_per_probe(t: ScanTemplate) -> float:
    """How long one probe takes at the template's pace: the slower of its packet rate and its
    delay between probes (:data:`UNLIMITED_PROBES_PER_S` when it has neither)."""
    p = t.performance
    each = 0.0
    if p.packets_per_second:
        each = max(each, 1.0 / p.packets_per_second)
    if p.probe_delay_ms:
        each = max(each, p.probe_delay_ms / 1000.0)
    return each or 1.0 / UNLIMITED_PROBES_PER_S


def estimate_s(plan: StagePlan) -> float:
    """The least time a scan of `plan` takes: its probes at its template's pace (retries, waits
    for answers and checks come on top)."""
    return plan.probes * seconds_per_probe(plan.compiled.template)


def ports_that_fit(survey: PortSet, plan: StagePlan, limit_s: float, keep: PortSet = PortSet()) -> PortSet:
    """A TCP port list the scan of `plan` covers within `limit_s` (with a fifth spare): the ports
    of `keep` that are in `survey` (the device's known ports), then the lowest of `survey`."""
    budget = max(1, int(0.8 * limit_s / seconds_per_probe(plan.compiled.template) / max(1, len(plan.targets))))
    chosen = set(list(keep.tcp & survey.tcp)[:budget])
    for port in survey.tcp:
        if len(chosen) >= budget:
            break
        chosen.add(port)
    return PortSet(IntervalSet((p, p) for p in chosen))


def can_raw_scan() -> bool:
    """Whether this process may send raw packets (SYN scans, ICMP pings): root on POSIX.
    Without it nmap silently falls back to a connect scan, which a trial must not mistake for
    a SYN survey."""
    return hasattr(os, "geteuid") and os.geteuid() == 0


def skip_reason(stage: StageName, constraints: Constraints) -> str | None:
    """Why a stage cannot or must not run for this device (None: it runs)."""
    allowed = constraints.allowed_discovery
    if stage == "discovery-icmp":
        if "icmp" not in allowed:
            return "the profile forbids ICMP discovery"
        if not can_raw_scan():
            return "ICMP echo needs raw sockets (root); nmap would fall back to a TCP ping"
    if stage == "discovery-syn":
        if "syn_scan" not in allowed:
            return "the profile forbids SYN scans"
        if not can_raw_scan():
            return "a SYN scan needs raw sockets (root); nmap would fall back to a full connect scan"
    return None


def _compiled(name: str, t: ScanTemplate, constraints: Constraints, target: str, devices: tuple[str, ...]) -> CompiledTemplate:
    safe = narrow(t, constraints).model_copy(update={"name": name})
    return CompiledTemplate(name=name, base="trial", template=safe, constraints=constraints,
                            targets=Targets(include=AddressSet.parse([target])), devices=devices,
                            removed_ports=t.ports - safe.ports)


def _quiet_discovery(port_scan: str = "connect") -> Discovery:
    # no pings: the health monitor already knows the device is up, and a ping's ICMP or TCP
    # probes would muddy which activity came last before a failure
    return Discovery(icmp=False, arp=False, tcp_ping=False, udp_ping=False, ping_ports=PortSet(), port_scan=port_scan)


def plan_stage(stage: StageName, *, target: str, constraints: Constraints, profile: str, survey: PortSet,
               ping_ports: PortSet, open_ports: tuple[int, ...], speed_probes: int = 60,
               max_copies: int = 32) -> list[StagePlan]:
    """The scans of one stage (empty: nothing to scan). `open_ports` are the TCP ports found
    open so far (already bounded by the caller)."""
    devices = (profile,)
    no_checks = Checks(enabled=False, safe_only=True)
    name = f"trial-{stage}"
    if stage == "discovery-icmp":
        t = ScanTemplate(name=name, ports=PortSet(), checks=no_checks,
                         discovery=Discovery(icmp=True, arp=False, tcp_ping=False, ping_ports=PortSet()),
                         performance=Performance(parallel_hosts=1, parallel_checks_per_host=1))
        return [StagePlan(stage=stage, label=stage, compiled=_compiled(name, t, constraints, target, devices),
                          targets=(target,))]
    if stage == "discovery-syn":
        t = ScanTemplate(name=name, ports=PortSet(survey.tcp), checks=no_checks, discovery=_quiet_discovery("syn"),
                         performance=Performance(parallel_hosts=1, parallel_checks_per_host=64))
        return [StagePlan(stage=stage, label=stage, compiled=_compiled(name, t, constraints, target, devices),
                          targets=(target,))]
    if stage == "discovery-connect":
        ports = PortSet(ping_ports.tcp) - constraints.excluded_ports
        if not ports:
            return []
        t = ScanTemplate(name=name, ports=ports, checks=no_checks, discovery=_quiet_discovery(),
                         performance=Performance(parallel_hosts=1, parallel_checks_per_host=1))
        return [StagePlan(stage=stage, label=stage, compiled=_compiled(name, t, constraints, target, devices),
                          targets=(target,))]
    ports = [p for p in open_ports if not constraints.excluded_ports.contains(p, "tcp")]
    if not ports:
        return []
    if stage == "service":
        out = []
        for port in ports:
            t = ScanTemplate(name=f"{name}-{port}", ports=PortSet.parse(f"{port}/tcp"), checks=no_checks,
                             discovery=_quiet_discovery(),
                             performance=Performance(parallel_hosts=1, parallel_checks_per_host=1))
            out.append(StagePlan(stage=stage, label=f"service {port}/tcp", port=port,
                                 compiled=_compiled(f"{name}-{port}", t, constraints, target, devices),
                                 targets=(target,)))
        return out
    if stage == "vulnerability":
        out = []
        for port in ports:
            t = ScanTemplate(name=f"{name}-{port}", ports=PortSet.parse(f"{port}/tcp"), discovery=_quiet_discovery(),
                             checks=Checks(enabled=True, safe_only=True, excluded_categories=GENTLE_EXCLUSIONS),
                             performance=Performance(parallel_hosts=1, parallel_checks_per_host=1, probe_delay_ms=100))
            out.append(StagePlan(stage=stage, label=f"checks {port}/tcp", port=port,
                                 compiled=_compiled(f"{name}-{port}", t, constraints, target, devices),
                                 targets=(target,)))
        return out
    portset = PortSet.parse(",".join(map(str, ports)))
    # speed: the same target listed several times, which nmap scans as so many hosts at once,
    # so each open port takes many connections within a second (a lone port list cannot)
    copies = max(1, min(max_copies, math.ceil(speed_probes / len(ports))))
    t = ScanTemplate(name=name, ports=portset, checks=no_checks, discovery=_quiet_discovery(),
                     performance=Performance(parallel_hosts=copies, parallel_checks_per_host=300, timeout_s=1))
    return [StagePlan(stage=stage, label=stage, compiled=_compiled(name, t, constraints, target, devices),
                      targets=tuple([target] * copies))]
