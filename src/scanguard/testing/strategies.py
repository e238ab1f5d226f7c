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


_interval = st.tuples(_port, _port).map(lambda ab: (min(ab), max(ab)))


def interval_sets(max_intervals: int = 6) -> st.SearchStrategy[IntervalSet]:
    """Random interval sets over the port range."""
    return st.lists(_interval, max_size=max_intervals).map(IntervalSet)


port_sets = st.builds(PortSet, interval_sets(4), interval_sets(2))
"""Random tcp/udp port sets."""


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
_booleans = st.booleans()
_categories = st.frozensets(st.sampled_from(CATEGORIES), max_size=3)
_vendor_sets = st.frozensets(vendor_checks, max_size=2)
_forbidden = st.frozensets(st.sampled_from(DISCOVERY_METHODS), max_size=3)
_window_sets = st.frozensets(st.frozensets(windows, min_size=1, max_size=2), max_size=1)
_opt_ports = st.one_of(st.none(), port_sets)
_profiles = st.sampled_from(["pos", "pump", "plc", "monitor"])


def _template(name, ports, icmp, arp, tcp_ping, udp_ping, ping_ports, port_scan, enabled, safe_only, cats, vendor,
              pps, hosts, checks, delay, timeout) -> ScanTemplate:
    return ScanTemplate(
        name=name, ports=ports,
        discovery=Discovery(icmp=icmp, arp=arp, tcp_ping=tcp_ping, udp_ping=udp_ping, ping_ports=ping_ports,
                            port_scan=port_scan),
        checks=Checks(enabled=enabled, safe_only=safe_only, excluded_categories=cats, excluded_vendor_checks=vendor),
        performance=Performance(packets_per_second=pps, parallel_hosts=hosts, parallel_checks_per_host=checks,
                                probe_delay_ms=delay, timeout_s=timeout),
    )


def templates(name: str = "t") -> st.SearchStrategy[ScanTemplate]:
    """Random vendor-neutral templates."""
    return st.builds(
        _template, st.just(name), port_sets, _booleans, _booleans, _booleans, _booleans, port_sets,
        st.sampled_from(["syn", "connect"]), _booleans, _booleans, _categories, _vendor_sets, _opt_int,
        st.integers(1, 64), st.integers(1, 16), st.integers(0, 500), st.integers(1, 30),
    )


def _constraints(pid, excluded, cats, vendor, forbidden, ping, pps, hosts, checks, delay, timeout, safe, window_sets):
    prov = set()
    if excluded:
        prov.add(Provenance(profile=pid, kind="excluded_ports", item=excluded.text(), reason="r", ports=excluded))
    for c in cats:
        prov.add(Provenance(profile=pid, kind="excluded_checks", item=f"category:{c}", reason="r"))
    for m in forbidden:
        prov.add(Provenance(profile=pid, kind="discovery", item=m, reason="r"))
    return Constraints(
        excluded_ports=excluded, excluded_categories=cats, excluded_vendor_checks=vendor,
        allowed_discovery=frozenset(DISCOVERY_METHODS) - forbidden, allowed_ping_ports=ping,
        max_packets_per_second=pps, max_parallel_hosts=hosts, max_parallel_checks_per_host=checks,
        min_probe_delay_ms=delay, max_timeout_s=timeout, safe_checks_only=safe, windows=window_sets,
        provenance=frozenset(prov),
    )


def constraints(profile: str | None = None) -> st.SearchStrategy[Constraints]:
    """Random constraints of one profile, with provenance for each item."""
    return st.builds(
        _constraints, st.just(profile) if profile else _profiles, port_sets, _categories, _vendor_sets, _forbidden,
        _opt_ports, _opt_int, st.one_of(st.none(), st.integers(1, 64)), st.one_of(st.none(), st.integers(1, 16)),
        st.one_of(st.none(), st.integers(0, 500)), st.one_of(st.none(), st.integers(1, 30)), _booleans, _window_sets,
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
