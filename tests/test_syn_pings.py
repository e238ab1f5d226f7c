"""A device that forbids TCP SYN gets no TCP SYN ping either, from any vendor: a TCP ping that sends
SYN (nmap -PS as root, Nessus's "Do a TCP ping" of plugin 10180, InsightVM's asset-discovery TCP
packets, GVM's TCP-SYN alive test and Ping Host's SYN options) is a SYN probe of its port. Each vendor renders it off, and each vendor's parser reads a
document whose TCP ping is on as SYN, so that check and audit never pass it for such a device."""

from __future__ import annotations

import pytest

from scanguard import compile_plan, load_workspace, violations
from scanguard.plugin.manager import load_plugins
from tests.helpers import make_workspace

NO_SYN = """
id: syn-fragile
name: A PLC whose stack hangs on half-open connections
location: {hosts: ["10.9.0.7"]}
constraints:
  discovery: {tcp_syn: false, reason: "half-open connections hang the stack"}
"""

PLUGINS = load_plugins()


@pytest.fixture(scope="module")
def no_syn(tmp_path_factory):
    ws = make_workspace(tmp_path_factory.mktemp("ws"), {"syn-fragile.yaml": NO_SYN})
    return compile_plan(load_workspace(ws)).get("full-audit")


def test_the_template_of_a_syn_forbidding_device_keeps_its_tcp_ping_but_scans_by_connect(no_syn):
    d = no_syn.template.discovery
    assert d.port_scan == "connect" and d.tcp_ping  # the lattice leaves the ping to each vendor


def test_nessus_renders_no_tcp_ping_for_it(no_syn):
    settings = PLUGINS.vendor("nessus").render(no_syn)["settings"]
    assert settings["tcp_ping"] == "no" and settings["syn_scanner"] == "no"


def test_insightvm_sends_no_tcp_discovery_packets_to_it(no_syn):
    doc = PLUGINS.vendor("insightvm").render(no_syn)
    assert doc["discovery"]["asset"]["tcpPorts"] == [] and doc["discovery"]["service"]["tcp"]["method"] == "Full"


def test_nmap_sends_no_syn_ping_to_it(no_syn):
    argv = PLUGINS.vendor("nmap").render(no_syn)["argv"]
    assert not any(a.startswith(("-PS", "-PA")) for a in argv) and "-sS" not in argv and "-sT" in argv


@pytest.mark.parametrize("vendor", ["nessus", "insightvm", "nmap", "gvm"])
def test_every_vendors_rendering_reads_back_without_syn(no_syn, vendor):
    v = PLUGINS.vendor(vendor)
    back = v.parse(v.render(no_syn))
    assert "syn_scan" not in back.discovery_methods()
    assert not violations(back, no_syn.constraints, vendor=vendor)


def test_a_nessus_policy_with_a_tcp_ping_is_a_syn_probe_even_when_the_port_scan_connects(no_syn):
    v = PLUGINS.vendor("nessus")
    doc = v.render(no_syn)
    doc["settings"].update({"tcp_ping": "yes", "tcp_ping_dest_ports": "80"})
    kinds = {(x.kind, x.message) for x in violations(v.parse(doc), no_syn.constraints, vendor="nessus")}
    assert any(k == "discovery" and "syn_scan" in m for k, m in kinds)


def test_a_nessus_policy_that_only_pings_by_tcp_still_probes_the_ping_port_with_syn(no_syn):
    v = PLUGINS.vendor("nessus")
    doc = v.render(no_syn)
    doc["settings"].update({"portscan_range": "", "unscanned_closed": "yes", "tcp_scanner": "no",
                            "udp_scanner": "no", "snmp_scanner": "no", "tcp_ping": "yes", "tcp_ping_dest_ports": "80"})
    back = v.parse(doc)
    assert back.ports.contains(80) and "syn_scan" in back.discovery_methods()


def test_an_insightvm_template_with_tcp_discovery_packets_is_a_syn_probe_even_with_a_full_connect_scan(no_syn):
    v = PLUGINS.vendor("insightvm")
    doc = v.render(no_syn)
    doc["discovery"]["asset"]["tcpPorts"] = [80]
    back = v.parse(doc)
    assert "syn_scan" in back.discovery_methods()
    assert any(x.kind == "discovery" for x in violations(back, no_syn.constraints, vendor="insightvm"))


def _gvm_with(no_syn, alive: str | None = None, **ping_host: str):
    """The GVM rendering of the template, edited as an admin might: another alive test, or Ping
    Host's preferences (by name) set."""
    v = PLUGINS.vendor("gvm")
    doc = v.render(no_syn)
    if alive is not None:
        doc["target"]["alive_test"] = alive
    for pref in doc["scan_config"]["nvt_preferences"]:
        if pref["name"] in ping_host:
            pref["value"] = ping_host[pref["name"]]
    return v.parse(doc)


@pytest.mark.parametrize("alive", ["TCP-SYN Service Ping", "TCP-SYN Service & ARP Ping"])
def test_a_gvm_target_whose_alive_test_sends_syn_or_is_unknown_is_a_syn_probe(no_syn, alive):
    back = _gvm_with(no_syn, alive=alive)
    assert "syn_scan" in back.discovery_methods()
    assert any(x.kind == "discovery" for x in violations(back, no_syn.constraints, vendor="gvm"))


@pytest.mark.parametrize("option", ["TCP ping tries also TCP-SYN ping", "TCP ping tries only TCP-SYN ping"])
def test_gvm_ping_host_told_to_try_syn_is_a_syn_probe(no_syn, option):
    back = _gvm_with(no_syn, **{"Do a TCP ping": "yes", option: "yes"})
    assert "syn_scan" in back.discovery_methods()
    assert any(x.kind == "discovery" for x in violations(back, no_syn.constraints, vendor="gvm"))


def test_gvm_ack_pings_stay_what_they_are(no_syn):
    back = _gvm_with(no_syn, alive="TCP-ACK Service Ping", **{"Do a TCP ping": "yes"})
    assert "syn_scan" not in back.discovery_methods()
