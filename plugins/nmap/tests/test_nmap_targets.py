"""Targets and exclusions are written in the syntax nmap reads: CIDR blocks and last-octet ranges
for IPv4, CIDR blocks for IPv6 (in a run of their own, with -6). Real nmap's reading of them is
tested in test_real_nmap_reads_renderings.py."""

from __future__ import annotations

from scanguard import AddressSet, CompiledTemplate, PortSet, ScanTemplate, Targets
from scanguard_nmap.plugin import scanguard_vendors
from scanguard_nmap.targets import nmap_items

NMAP = scanguard_vendors()[0]


def _items(text: str, version: int = 4) -> list[str]:
    return nmap_items(AddressSet.parse(text), version)


def test_ipv4_ranges_become_cidrs_and_last_octet_ranges():
    assert _items("10.20.60.0-10.20.61.127") == ["10.20.60.0/24", "10.20.61.0/25"]
    assert _items("10.40.20.11-10.40.20.12") == ["10.40.20.11-12"]
    assert _items("10.20.70.10-10.20.70.29") == ["10.20.70.10-29"]
    assert _items("10.0.0.5-10.0.2.9") == ["10.0.0.5-255", "10.0.1.0/24", "10.0.2.0-9"]
    assert _items("10.0.2.0-10.0.2.7") == ["10.0.2.0/29"]
    assert _items("10.0.0.0/16, 10.1.0.7") == ["10.0.0.0/16", "10.1.0.7"]
    assert _items("10.0.0.255-10.0.1.0") == ["10.0.0.255", "10.0.1.0"]


def test_ipv6_ranges_become_cidrs():
    assert _items("fd00::1-fd00::4", 6) == ["fd00::1", "fd00::2/127", "fd00::4"]
    assert _items("fd00::/120", 6) == ["fd00::/120"]


def _template(include: str, exclude: str = "") -> CompiledTemplate:
    t = ScanTemplate(name="t", ports=PortSet.parse("22"), checks={"enabled": False})
    return CompiledTemplate(name="t", base="t", template=t,
                            targets=Targets(include=AddressSet.parse(include), exclude=AddressSet.parse(exclude)))


def test_ipv4_and_ipv6_targets_are_two_runs_each_with_its_own_exclusions():
    doc = NMAP.render(_template("10.0.0.0/24, fd00::/120", "10.0.0.7, fd00::9"))
    v4, v6 = doc["argv"], doc["argv6"]
    assert "-6" not in v4 and v4[-1] == "10.0.0.0/24" and v4[v4.index("--exclude") + 1] == "10.0.0.7"
    assert "-6" in v6 and v6[-1] == "fd00::/120" and v6[v6.index("--exclude") + 1] == "fd00::9"
    script = NMAP.serialize(doc)
    assert script.count("nmap -n") == 2 and script.rstrip().splitlines()[-1].startswith("exec nmap")
    assert NMAP.parse(doc) == NMAP.parse(script).model_copy(update={"name": "t"})


def test_targets_left_to_the_scanner_keep_every_exclusion():
    argv = NMAP.render(_template("", "10.0.0.7-10.0.0.9, fd00::9"))["argv"]
    assert argv[-2:] == ["--exclude", "10.0.0.7-9,fd00::9"]
