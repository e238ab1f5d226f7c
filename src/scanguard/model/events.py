"""What happens when scans run: scanner activity, device health, scan results, and what
scanguard concludes from them (outages, suspects, findings, proposed profile changes, check results)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from .base import Model
from .checks import VendorCheck
from .ports import PortSet

Phase = Literal["discovery", "portscan", "service", "check", "other"]
Severity = Literal["error", "warning", "info"]


class ActivityEvent(Model):
    """One step of a scanner's activity against a host, normalised across vendors.

    `probe` names a payload the scanner sent that is not a check of its own (nmap's
    version-detection probes, such as ``GetRequest``). Kind ``lost`` is the scanner's own signal
    that the target stopped answering right after a probe (a connection refused on a service it
    was just talking to, a service it gave up on); it names the port and the probe that was in
    flight, and what follows it is the aftermath, not the cause."""

    time: datetime
    host: str
    port: int | None = None
    protocol: Literal["tcp", "udp", "icmp", "arp"] | None = None
    check_id: str | None = None
    check_name: str | None = None
    probe: str | None = None
    phase: Phase = "other"
    kind: Literal["start", "finish", "probe", "info", "error", "lost"] = "probe"
    vendor: str = ""
    duration_s: float | None = None
    detail: str = ""


class HealthEvent(Model):
    """One observation of a device's health."""

    time: datetime
    host: str
    state: Literal["up", "down", "degraded"]
    source: str = ""
    detail: str = ""


class Outage(Model):
    """A span in which a host was down (end None: not seen back yet)."""

    host: str
    start: datetime
    end: datetime | None = None
    last_up: datetime | None = None


class ResultItem(Model):
    """One finding or open service a scanner reported on a host."""

    port: int | None = None
    protocol: str | None = None
    service: str | None = None
    check_id: str | None = None
    check_name: str | None = None
    family: str | None = None
    severity: int = 0
    detail: str = ""


EvidenceKind = Literal["service", "product", "banner", "http_title", "tls_subject", "os", "device_type", "cpe"]
"""What a piece of evidence says: a service name (https), a product (with its version, as the
scanner wrote it), a banner, an HTTP page title, a TLS certificate subject, an OS guess, a device
type (general-purpose, printer, ...), a CPE."""


class Evidence(Model):
    """One thing a scanner saw on a host that can tell what the device is, with where it saw it
    (`port`/`protocol`, None for the host as a whole) and what said so (`source`: the scanner's
    own name for it, like "nmap service detection" or "Nessus 22964 Service Detection")."""

    kind: EvidenceKind
    value: str
    port: int | None = None
    protocol: str | None = None
    source: str = ""


class HostResult(Model):
    """What a scan export says about one host.

    `evidence` is what the scanner saw that can identify the device (services, products,
    banners, titles, certificate subjects, OS and CPE strings); `probed_ports` are the ports the
    scan probed and got an answer for (open or closed; None: the export does not say), so that a
    port missing from `open_ports` can be told apart from a port never looked at."""

    address: str
    hostname: str | None = None
    mac: str | None = None
    os: str | None = None
    cpes: tuple[str, ...] = ()
    open_ports: PortSet = Field(default_factory=PortSet)
    start: datetime | None = None
    end: datetime | None = None
    items: tuple[ResultItem, ...] = ()
    errors: tuple[str, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    probed_ports: PortSet | None = None


class ProfileChange(Model):
    """A proposed change to a profile: exclude a port or a check, cap the rate, forbid discovery
    methods (`forbid_discovery`: icmp, arp, tcp_ping, udp_ping, tcp_syn, udp), require safe checks
    only, add open ports to the fingerprint (`ports`), or add hosts to its location (`hosts`: a
    device recognised by its fingerprint outside its known place). `advisory`, when set, is added
    to the profile's advisories."""

    profile: str | None = None
    kind: Literal["excluded_port", "excluded_check", "rate", "discovery", "safe_checks", "fingerprint", "location"]
    ports: PortSet | None = None
    check: VendorCheck | None = None
    category: str | None = None
    categories: tuple[str, ...] = ()
    packets_per_second: int | None = None
    parallel_checks_per_host: int | None = None
    probe_delay_ms: int | None = None
    forbid_discovery: tuple[Literal["icmp", "arp", "tcp_ping", "udp_ping", "tcp_syn", "udp"], ...] = ()
    advisory: str | None = None
    hosts: tuple[str, ...] = ()
    reason: str
    evidence: tuple[str, ...] = ()


class Suspect(Model):
    """Activity seen on a host just before it went down, ranked by how likely it is the cause."""

    host: str
    port: int | None = None
    protocol: str | None = None
    check_id: str | None = None
    check_name: str | None = None
    probe: str | None = None
    phase: Phase = "other"
    score: float = 0.0
    reason: str = ""
    runs_seen: int = 1
    runs_total: int = 1
    confirmed: bool = False
    source: str = "core"


class Finding(Model):
    """A conclusion with its evidence and confidence, and the change that would prevent it."""

    title: str
    severity: Literal["critical", "high", "medium", "low", "info"] = "medium"
    host: str | None = None
    device: str | None = None
    description: str = ""
    evidence: tuple[str, ...] = ()
    confidence: float = Field(default=0.5, ge=0.0, le=1.0)
    proposal: ProfileChange | None = None
    suspect: Suspect | None = None
    """What the finding blames (a port, a check, a probe on a port), when it blames one thing."""


class CheckResult(Model):
    """One result of a pre-scan check or audit: severity error vetoes the scan."""

    severity: Severity
    code: str
    message: str
    device: str | None = None
    fix: str = ""
    source: str = "core"


class CheckRequest(Model):
    """A scan about to start: which scanner, which template, which targets, when.

    `exclude` holds the addresses the scan leaves out of its targets (nmap's --exclude).
    `scanguard.check.check_scan` hands the checks a request whose `targets` are what the scan
    will reach: less `exclude`, and less the compiled template's own `targets.exclude` where the
    scanner that runs it keeps it."""

    scanner: str | None = None
    template_name: str | None = None
    template: object | None = None  # a CompiledTemplate or ScanTemplate (kept loose: no import cycle)
    targets: "AddressSet"
    exclude: "AddressSet" = Field(default_factory=lambda: AddressSet())
    when: datetime


from .addresses import AddressSet  # noqa: E402

CheckRequest.model_rebuild()
