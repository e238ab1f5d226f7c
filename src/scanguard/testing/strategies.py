"""Hypothesis strategies over the domain model: port sets, templates, constraints (with
provenance), and compiled templates built the way compile builds them."""

from __future__ import annotations

from datetime import time

from hypothesis import strategies as st

from ..lattice import merge_all, narrow
from ..model.checks import CATEGORIES, VendorCheck
from ..model.constraints import Constraints, Provenance
from ..model.intervals import IntervalSet
from ..model.plan import CompiledTemplate, Targets
from ..model.ports import PortSet
from ..model.template import DISCOVERY_METHODS, Checks, Discovery, Performance, ScanTemplate
from ..model.windows import WEEKDAYS, ScanWindow

# interesting ports cluster at the edges and around well-known fragile ones
_port = st.one_of(st.integers(1, 65535), st.sampled_from([1, 2, 79, 80, 81, 104, 443, 7099, 7100, 7101, 65534, 65535]))


@st.composite
def interval_sets(draw, max_intervals: int = 6) -> IntervalSet:
    """Random interval sets over the port range."""
    n = draw(st.integers(0, max_intervals))
    ivs = []
    for _ in range(n):
        a, b = draw(_port), draw(_port)
        ivs.append((min(a, b), max(a, b)))
    return IntervalSet(ivs)


@st.composite
def port_sets(draw) -> PortSet:
    """Random tcp/udp port sets."""
    return PortSet(draw(interval_sets()), draw(interval_sets(max_intervals=3)))


VENDOR_CHECK_EXAMPLES: dict[tuple[str, str], tuple[str, ...]] = {
    ("nessus", "plugin"): ("10180", "11219", "34220"),
    ("nessus", "family"): ("Denial of Service", "SCADA", "Web Servers"),
    ("gvm", "oid"): ("1.3.6.1.4.1.25623.1.0.100315", "1.3.6.1.4.1.25623.1.0.10330"),
    ("gvm", "family"): ("Denial of Service", "Brute force attacks"),
    ("insightvm", "check"): ("http-iis-0001", "ssh-weak-kex"),
    ("insightvm", "category"): ("Denial of Service", "Malware"),
    ("insightvm", "type"): ("Default Account", "Policy"),
    ("nmap", "script"): ("http-slowloris", "smb-flood"),
    ("nmap", "category"): ("dos", "brute", "malware"),
}
"""Realistic (vendor, kind) -> ids; every vendor adapter knows these kinds."""

vendor_checks = st.sampled_from(sorted(VENDOR_CHECK_EXAMPLES)).flatmap(
    lambda vk: st.sampled_from(VENDOR_CHECK_EXAMPLES[vk]).map(lambda i: VendorCheck(vendor=vk[0], kind=vk[1], id=i))
)

windows = st.builds(
    ScanWindow,
    days=st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=7, unique=True).map(tuple),
    start=st.sampled_from([time(0, 0), time(1, 0), time(22, 0)]),
    end=st.sampled_from([time(5, 0), time(23, 59)]),
    tz=st.sampled_from(["UTC", "Europe/Berlin", "America/New_York"]),
)

_opt_int = st.one_of(st.none(), st.integers(1, 500))


@st.composite
def templates(draw, name: str = "t") -> ScanTemplate:
    """Random vendor-neutral templates."""
    return ScanTemplate(
        name=name,
        ports=draw(port_sets()),
        discovery=Discovery(
            icmp=draw(st.booleans()), arp=draw(st.booleans()), tcp_ping=draw(st.booleans()),
            udp_ping=draw(st.booleans()), ping_ports=draw(port_sets()),
            port_scan=draw(st.sampled_from(["syn", "connect"])),
        ),
        checks=Checks(
            enabled=draw(st.booleans()), safe_only=draw(st.booleans()),
            excluded_categories=frozenset(draw(st.lists(st.sampled_from(CATEGORIES), max_size=3))),
            excluded_vendor_checks=frozenset(draw(st.lists(vendor_checks, max_size=2))),
        ),
        performance=Performance(
            packets_per_second=draw(_opt_int), parallel_hosts=draw(st.integers(1, 64)),
            parallel_checks_per_host=draw(st.integers(1, 16)), probe_delay_ms=draw(st.integers(0, 500)),
            timeout_s=draw(st.integers(1, 30)),
        ),
    )


@st.composite
def constraints(draw, profile: str | None = None) -> Constraints:
    """Random constraints of one profile, with provenance for each item."""
    pid = profile or draw(st.sampled_from(["pos", "pump", "plc", "monitor"]))
    excluded = draw(port_sets())
    cats = frozenset(draw(st.lists(st.sampled_from(CATEGORIES), max_size=3)))
    vendor = frozenset(draw(st.lists(vendor_checks, max_size=2)))
    forbidden = frozenset(draw(st.lists(st.sampled_from(DISCOVERY_METHODS), max_size=3)))
    ping = draw(st.one_of(st.none(), port_sets()))
    prov = set()
    if excluded:
        prov.add(Provenance(profile=pid, kind="excluded_ports", item=excluded.text(), reason="r", ports=excluded))
    for c in cats:
        prov.add(Provenance(profile=pid, kind="excluded_checks", item=f"category:{c}", reason="r"))
    for m in forbidden:
        prov.add(Provenance(profile=pid, kind="discovery", item=m, reason="r"))
    window_sets = frozenset(draw(st.lists(st.frozensets(windows, min_size=1, max_size=2), max_size=1)))
    return Constraints(
        excluded_ports=excluded, excluded_categories=cats, excluded_vendor_checks=vendor,
        allowed_discovery=frozenset(DISCOVERY_METHODS) - forbidden, allowed_ping_ports=ping,
        max_packets_per_second=draw(_opt_int), max_parallel_hosts=draw(st.one_of(st.none(), st.integers(1, 64))),
        max_parallel_checks_per_host=draw(st.one_of(st.none(), st.integers(1, 16))),
        min_probe_delay_ms=draw(st.one_of(st.none(), st.integers(0, 500))),
        max_timeout_s=draw(st.one_of(st.none(), st.integers(1, 30))),
        safe_checks_only=draw(st.booleans()), windows=window_sets, provenance=frozenset(prov),
    )


@st.composite
def compiled_templates(draw) -> CompiledTemplate:
    """A random base template narrowed by the merge of one to three profiles' constraints,
    exactly as compile does it."""
    base = draw(templates(name=draw(st.sampled_from(["full-audit", "discovery", "fragile-safe"]))))
    c = merge_all(draw(st.lists(constraints(), min_size=1, max_size=3)))
    group = draw(st.one_of(st.none(), st.sampled_from(["pos", "plcs"])))
    name = base.name if group is None else f"{base.name}@{group}"
    narrowed = narrow(base, c).model_copy(update={"name": name})
    return CompiledTemplate(name=name, base=base.name, group=group, template=narrowed, constraints=c,
                            targets=Targets(), removed_ports=base.ports - narrowed.ports)
