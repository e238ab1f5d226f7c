"""The GVM document says what we mean, and reading it back recovers the template."""

import json

import pytest
from scanguard import CompiledTemplate, PortSet, ScanTemplate, Targets, compile_plan, load_workspace
from scanguard_gvm.commands import serialize
from scanguard_gvm.document import parse, render
from scanguard_gvm.vocabulary import FULL_AND_FAST, NMAP_WRAPPER, PING_HOST


def _ct(name: str = "t", targets: Targets | None = None, **template) -> CompiledTemplate:
    t = ScanTemplate(name=name, **template)
    return CompiledTemplate(name=name, base=name, template=t, targets=targets or Targets())


def _nvt(doc, oid, pref_id):
    return next(p["value"] for p in doc["scan_config"]["nvt_preferences"] if p["oid"] == oid and p["id"] == pref_id)


@pytest.fixture(scope="module")
def plan(example_workspace):
    return compile_plan(load_workspace(example_workspace))


def test_port_list_is_the_complement_of_the_excluded_port(plan):
    doc = render(plan.get("full-audit@payment-terminals"))
    tcp = [(r["start"], r["end"]) for r in doc["port_list"]["ranges"] if r["type"] == "TCP"]
    assert tcp == [(1, 7099), (7101, 65535)]


def test_udp_ports_are_udp_ranges():
    doc = render(_ct(ports="80, 53/udp, 161-162/udp"))
    assert [r for r in doc["port_list"]["ranges"] if r["type"] == "UDP"] == [
        {"type": "UDP", "start": 53, "end": 53}, {"type": "UDP", "start": 161, "end": 162}]


def test_scan_config_is_copied_from_full_and_fast_by_default():
    assert render(_ct())["scan_config"]["base_config"] == FULL_AND_FAST


def test_scanner_preferences_carry_safe_checks_delay_and_timeout():
    doc = render(_ct(checks={"safe_only": True}, performance={"probe_delay_ms": 250, "timeout_s": 7}))
    assert doc["scan_config"]["scanner_preferences"] == {
        "safe_checks": "yes", "time_between_request": "250", "checks_read_timeout": "7",
        "unscanned_closed": "yes", "unscanned_closed_udp": "yes"}


def test_packet_rate_becomes_a_minimum_wait_between_probes():
    doc = render(_ct(performance={"packets_per_second": 20}))
    assert doc["scan_config"]["scanner_preferences"]["time_between_request"] == "50"
    assert _nvt(doc, NMAP_WRAPPER, 15) == "50"


def test_unsafe_category_turns_safe_checks_on():
    doc = render(_ct(checks={"safe_only": False, "excluded_categories": ["unsafe"]}))
    assert doc["scan_config"]["scanner_preferences"]["safe_checks"] == "yes"


def test_categories_switch_off_their_gvm_families():
    doc = render(_ct(checks={"excluded_categories": ["dos", "brute-force", "default-credentials"]}))
    assert doc["scan_config"]["family_selection"] == {
        "mode": "all-except", "families": ["Brute force attacks", "Default Accounts", "Denial of Service"]}


def test_excluded_nvt_is_listed_explicitly():
    doc = render(_ct(checks={"excluded_vendor_checks": ["gvm:oid:1.3.6.1.4.1.25623.1.0.900041",
                                                       "nessus:plugin:10180"]}))
    assert doc["scan_config"]["nvt_selection"] == {"excluded": ["1.3.6.1.4.1.25623.1.0.900041"]}


def test_gvm_check_of_an_unknown_kind_fails_closed():
    with pytest.raises(ValueError, match="GVM cannot exclude gvm:plugin:1"):
        render(_ct(checks={"excluded_vendor_checks": ["gvm:plugin:1"]}))


def test_checks_switched_off_keep_only_port_scanners():
    doc = render(_ct(checks={"enabled": False}))
    assert doc["scan_config"]["family_selection"] == {"mode": "only", "families": ["Port scanners"]}


def test_discovery_sets_ping_host_and_the_alive_test():
    doc = render(_ct(discovery={"icmp": False, "arp": True, "tcp_ping": True, "ping_ports": "80,443"}))
    assert (_nvt(doc, PING_HOST, 3), _nvt(doc, PING_HOST, 4), _nvt(doc, PING_HOST, 1)) == ("no", "yes", "yes")
    assert _nvt(doc, PING_HOST, 10) == "80,443"
    assert doc["target"]["alive_test"] == "TCP-ACK Service & ARP Ping"


def test_tcp_ping_without_port_80_is_left_off():
    # nmap's -PA always probes port 80: pinging only 22 is not something GVM can do
    doc = render(_ct(discovery={"icmp": True, "arp": False, "tcp_ping": True, "ping_ports": "22"}))
    assert doc["target"]["alive_test"] == "ICMP Ping"
    assert _nvt(doc, PING_HOST, 1) == "no"


def test_no_ping_method_considers_hosts_alive():
    doc = render(_ct(discovery={"icmp": False, "arp": False, "tcp_ping": False}))
    assert doc["target"]["alive_test"] == "Consider Alive"


def test_connect_scan_is_the_nmap_connect_technique():
    doc = render(_ct(discovery={"port_scan": "connect"}))
    assert _nvt(doc, NMAP_WRAPPER, 1) == "connect()"


def test_target_excludes_hosts(plan):
    doc = render(plan.get("full-audit"))
    assert "10.30.8.21" in doc["target"]["exclude_hosts"]
    # the scanners' targets, less what InsightVM leaves to nmap-local (payment terminals, CR readers)
    assert doc["target"]["hosts"] == ["10.20.0.0-10.20.49.255", "10.20.50.64-10.20.70.9", "10.20.70.30-10.20.255.255",
                                      "10.30.0.0-10.30.8.20", "10.30.8.22-10.30.255.255"]


def test_task_preferences_carry_parallelism():
    doc = render(_ct(performance={"parallel_hosts": 3, "parallel_checks_per_host": 2}))
    assert doc["task"]["preferences"] == {"max_checks": "2", "max_hosts": "3"}


def test_document_is_json(plan):
    for ct in plan.templates:
        assert json.loads(json.dumps(render(ct))) == render(ct)


def test_parse_recovers_the_template():
    t = ScanTemplate(
        name="exact", ports=PortSet.parse("1-1024, 53/udp"),
        discovery={"icmp": True, "arp": False, "tcp_ping": True, "ping_ports": "80,443", "port_scan": "connect"},
        checks={"safe_only": True, "excluded_categories": ["dos", "unsafe", "intrusive"],
                "excluded_vendor_checks": ["gvm:family:Denial of Service", "gvm:oid:1.3.6.1.4.1.25623.1.0.10330"]},
        performance={"packets_per_second": 4, "probe_delay_ms": 250, "parallel_hosts": 2,
                     "parallel_checks_per_host": 1, "timeout_s": 9},
    )
    assert parse(render(CompiledTemplate(name="exact", base="exact", template=t))) == t


def test_parse_reads_safe_checks_turned_off():
    doc = render(_ct(checks={"safe_only": True}))
    doc["scan_config"]["scanner_preferences"]["safe_checks"] = "no"
    assert parse(doc).checks.safe_only is False


def test_parse_counts_every_port_without_unscanned_closed():
    doc = render(_ct(ports="80"))
    doc["scan_config"]["scanner_preferences"]["unscanned_closed"] = "no"
    assert parse(doc).ports.contains(7100, "tcp")


def test_parse_counts_port_80_as_pinged_with_a_tcp_ping():
    doc = render(_ct(discovery={"tcp_ping": True, "ping_ports": "80,443"}))
    doc["scan_config"]["nvt_preferences"] = [p for p in doc["scan_config"]["nvt_preferences"] if p["id"] != 10]
    assert parse(doc).discovery.ping_ports.contains(80)


def test_parse_refuses_other_documents():
    with pytest.raises(ValueError, match="not a GVM document"):
        parse({"argv": ["nmap"]})


def test_serialize_writes_the_port_list_command():
    text = serialize(render(_ct(name="pos", ports="1-7099, 7101-65535, 53/udp")))
    assert ("<create_port_list><name>pos</name><port_range>T:1-7099,T:7101-65535,U:53</port_range>"
            "<comment>scanguard template pos</comment></create_port_list>\n") in text


def test_serialize_writes_base64_preference_values():
    text = serialize(render(_ct(name="pos", checks={"safe_only": True})))
    assert "<preference><name>safe_checks</name><value>eWVz</value></preference>" in text


def test_serialize_says_how_an_excluded_nvt_is_resolved():
    text = serialize(render(_ct(checks={"excluded_vendor_checks": ["gvm:oid:1.3.6.1.4.1.25623.1.0.10330"]})))
    assert "leave out NVT 1.3.6.1.4.1.25623.1.0.10330: select every other NVT of its family" in text
