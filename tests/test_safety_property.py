"""The safety promise as a property over generated workspaces (issue 8): nested and overlapping
CIDRs, hosts inside ranges, restricted groups, both scopes, profiles without an address, and
scanners with and without targets. For every compiled template and every vendor (nmap, Nessus,
GVM, InsightVM), the document the vendor renders, read back through that vendor's parser, keeps
every forbidden port, check and rate of every profile with an address it may reach; it reaches
no never-scan address, and a restricted device only with a template made for it. The
scanner-side exclusions each vendor keeps block every never-scan address and forbidden port.

`make test` runs a few dozen examples; `make test-all` (slow tests included) runs 1,000.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanguard import AddressSet, CannotEnforce, compile_plan, exclusion_gaps, load_workspace, violations
from scanguard.model import DeviceProfile, WorkspaceConfig
from scanguard.plugin.manager import load_plugins
from scanguard.render import render_exclusions
from scanguard.workspace import Workspace, shipped_templates_dir

BASE = int(ipaddress.IPv4Address("10.0.0.0"))
SPAN = 1024  # every address lives in 10.0.0.0/22, so profiles nest and overlap often
PORTS = ["22/tcp", "80/tcp", "443/tcp", "502/tcp", "7100/tcp", "9100-9107/tcp", "161/udp", "53/udp"]
CATS = ["dos", "brute-force", "exploit", "intrusive", "web-crawl", "default-credentials"]
VENDORS = ("nmap", "nessus", "gvm", "insightvm")


def _ip(offset: int) -> str:
    return str(ipaddress.IPv4Address(BASE + offset % SPAN))


@st.composite
def address_items(draw) -> dict[str, list[str]]:
    loc: dict[str, list[str]] = {"hosts": [], "cidrs": [], "ranges": []}
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["hosts", "cidrs", "ranges"]))
        if kind == "hosts":
            loc["hosts"].append(_ip(draw(st.integers(0, SPAN - 1))))
        elif kind == "cidrs":
            prefix = draw(st.integers(22, 30))
            size = 1 << (32 - prefix)
            start = draw(st.integers(0, SPAN // size - 1)) * size
            loc["cidrs"].append(f"{_ip(start)}/{prefix}")
        else:
            lo = draw(st.integers(0, SPAN - 2))
            hi = min(SPAN - 1, lo + draw(st.integers(1, 80)))
            loc["ranges"].append(f"{_ip(lo)}-{_ip(hi)}")
    return {k: v for k, v in loc.items() if v}


@st.composite
def profiles(draw, pid: str) -> DeviceProfile:
    policy = draw(st.sampled_from(["scan", "scan", "restricted", "restricted", "never"]))
    located = policy != "scan" or draw(st.booleans()) or draw(st.booleans())
    doc: dict = {"id": pid, "name": pid.upper(), "policy": policy,
                 "scope": draw(st.sampled_from(["assets", "assets", "everywhere"]))}
    if located:
        doc["location"] = draw(address_items())
    if policy == "restricted":
        group = draw(st.sampled_from([None, "ga", "gb"]))
        if group:
            doc["group"] = group
    if policy == "never":
        doc["risk_acceptance"] = {"accepted_by": "CMIO", "accepted_on": "2026-01-01", "expires": "2030-01-01",
                                  "reason": "restarts", "compensating_controls": ["ACL"]}
    c: dict = {}
    ports = draw(st.lists(st.sampled_from(PORTS), max_size=2, unique=True))
    if ports:
        c["excluded_ports"] = [{"ports": ", ".join(ports), "reason": "crashes"}]
    cats = draw(st.lists(st.sampled_from(CATS), max_size=2, unique=True))
    if cats:
        c["excluded_checks"] = [{"categories": cats, "reason": "disruptive"}]
    if draw(st.booleans()):
        rate = {"reason": "slow stack", "packets_per_second": draw(st.sampled_from([None, 20, 200])),
                "parallel_checks_per_host": draw(st.sampled_from([None, 1, 2])),
                "parallel_hosts": draw(st.sampled_from([None, 1, 5])),
                "probe_delay_ms": draw(st.sampled_from([None, None, 100]))}
        c["rate"] = {k: v for k, v in rate.items() if v is not None}
    if draw(st.booleans()):
        c["discovery"] = {"reason": "fragile", "icmp": draw(st.sampled_from([None, False])),
                          "tcp_syn": draw(st.sampled_from([None, False])), "udp": draw(st.sampled_from([None, False]))}
        c["discovery"] = {k: v for k, v in c["discovery"].items() if v is not None}
    if draw(st.booleans()):
        c["safe_checks_only"] = {"reason": "vendor advice"}
    if draw(st.integers(0, 5)) == 0:
        c["windows"] = {"reason": "night only", "allowed": [{"days": ["sat"], "start": "01:00", "end": "05:00"}]}
    doc["constraints"] = c
    return DeviceProfile.model_validate(doc)


@st.composite
def workspaces(draw) -> Workspace:
    n = draw(st.integers(1, 6))
    profs = tuple(draw(profiles(f"p{i}")) for i in range(n))
    scanners = {}
    for i in range(draw(st.integers(1, 3))):
        targets = draw(st.sampled_from([[], ["10.0.0.0/22"], ["10.0.1.0/24"], ["10.0.0.0/23", "10.9.0.0/24"],
                                        ["10.0.2.128/25"]]))
        templates = draw(st.sampled_from([None, ["full-audit"], ["discovery", "fragile-safe"]]))
        scanners[f"s{i}"] = {"type": "nmap", **({"targets": targets} if targets else {}),
                             **({"templates": templates} if templates else {})}
    config = WorkspaceConfig.model_validate({"workspace": {"name": "generated"}, "scanners": scanners})
    return Workspace(root=shipped_templates_dir(), config=config, profiles=profs, templates=TEMPLATES)


TEMPLATES = load_workspace(Path(__file__).resolve().parents[1] / "examples" / "hospital").templates
PLUGINS = load_plugins()


def _aimed(vendor, ct, payload) -> AddressSet:
    """Where the rendered document may probe: read from it where it carries its targets, else
    the compiled template's own (what scanguard says the document is for)."""
    if vendor.parse_targets is None:
        return ct.reach()
    aimed = vendor.parse_targets(payload)
    return (aimed.include or AddressSet.everything()) - aimed.exclude


def check_workspace(ws: Workspace) -> None:
    plan = compile_plan(ws)
    never = [p for p in ws.profiles if p.policy == "never"]
    for vname in VENDORS:
        vendor = PLUGINS.vendor(vname)
        for ct in plan.templates:
            try:
                payload = vendor.render(ct)
            except CannotEnforce:
                continue  # refusing is the safe outcome (Nessus keeps no delay between probes)
            back = vendor.parse(payload)
            reach = _aimed(vendor, ct, payload)
            for p in never:
                assert not reach.overlaps(p.addresses()), f"{vname} {ct.name} reaches never-scan {p.id}"
            for p in ws.profiles:
                if p.policy == "never":
                    continue
                addrs = p.addresses()
                if addrs and not reach.overlaps(addrs):
                    continue
                bad = [v.text() for v in violations(back, p.lattice(), vendor=vname)]
                assert not bad, f"{vname} {ct.name} breaks {p.id} at {(addrs & reach).items()[:3]}: {bad}"
                if p.policy == "restricted" and addrs:
                    assert p.id in ct.devices, f"{ct.name} reaches restricted {p.id} without being made for it"
        if vendor.exclusions is not None:
            docs = render_exclusions(plan.exclusions, vendor)
            held = [h for d in docs for h in vendor.exclusions.parse(d.payload)]
            kept = vendor.exclusions.enforceable(plan.exclusions)
            assert exclusion_gaps(kept, held) == []
            assert {f"never:{p.id}" for p in never} <= {e.name for e in kept}


FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FULL = settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(workspaces())
def test_every_rendered_template_keeps_every_profile_it_reaches(ws):
    check_workspace(ws)


@pytest.mark.slow
@FULL
@given(workspaces())
def test_every_rendered_template_keeps_every_profile_it_reaches_1000_workspaces(ws):
    check_workspace(ws)
