"""The GVM document says what we mean, and reading it back recovers the template."""

import json

import pytest
from scanguard import AddressSet, CompiledTemplate, PortSet, ScanTemplate, Targets, compile_plan, load_workspace
from scanguard_gvm.commands import serialize
from scanguard_gvm.document import parse, parse_targets, render
from scanguard_gvm.vocabulary import FULL_AND_FAST, NMAP_WRAPPER, OPENVAS_TCP_SCANNER, PING_HOST


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
        "unscanned_closed": "yes", "unscanned_closed_udp": "yes", "alive_test_ports": "22,80,443"}


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


def test_checks_switched_off_keep_only_host_discovery_and_the_nmap_port_scan():
    doc = render(_ct(checks={"enabled": False}))
    assert doc["scan_config"]["family_selection"] == {"mode": "only", "families": []}
    assert doc["scan_config"]["port_scanners"] == sorted([PING_HOST, NMAP_WRAPPER])


def test_port_scanners_are_selected_one_by_one_never_the_whole_family():
    # the family also holds the OpenVAS TCP scanner, which ignores the nmap wrapper's wait and parallelism
    doc = render(_ct(checks={"excluded_categories": ["dos"]}))
    assert "Port scanners" not in doc["scan_config"]["family_selection"]["families"]
    assert doc["scan_config"]["port_scanners"] == sorted([PING_HOST, NMAP_WRAPPER])


def test_parse_reads_a_foreign_port_scanner_as_unthrottled():
    doc = render(_ct(performance={"probe_delay_ms": 250, "parallel_checks_per_host": 1}))
    doc["scan_config"]["port_scanners"].append(OPENVAS_TCP_SCANNER)
    p = parse(doc).performance
    assert (p.probe_delay_ms, p.packets_per_second) == (0, None) and p.parallel_checks_per_host > 1


def test_parse_reads_every_port_as_probed_without_the_nmap_port_scan():
    doc = render(_ct(ports="80"))
    doc["scan_config"]["port_scanners"] = [PING_HOST]
    assert parse(doc).ports.contains(7100, "tcp")


def test_excluding_dos_turns_safe_checks_on_as_nessus_and_insightvm_do():
    doc = render(_ct(checks={"safe_only": False, "excluded_categories": ["dos"]}))
    assert doc["scan_config"]["scanner_preferences"]["safe_checks"] == "yes"


def test_dos_reads_as_excluded_only_with_safe_checks_on():
    doc = render(_ct(checks={"safe_only": False, "excluded_categories": ["dos"]}))
    assert "dos" in parse(doc).checks.excluded_categories
    doc["scan_config"]["scanner_preferences"]["safe_checks"] = "no"
    assert "dos" not in parse(doc).checks.excluded_categories


@pytest.mark.parametrize("value", ["yes", "1"])
def test_safe_checks_read_as_on_in_both_forms_gvmd_shows(value):
    doc = render(_ct(checks={"safe_only": True}))
    doc["scan_config"]["scanner_preferences"]["safe_checks"] = value
    assert parse(doc).checks.safe_only is True


def test_alive_test_ports_are_the_allowed_ping_ports():
    # the scanner's own alive test (Boreas) would probe its default ports, 443 among them
    doc = render(_ct(discovery={"tcp_ping": True, "ping_ports": "80,502"}))
    assert doc["scan_config"]["scanner_preferences"]["alive_test_ports"] == "80,502"
    assert parse(doc).discovery.ping_ports == PortSet.parse("80,502")


def test_unset_alive_test_ports_read_as_the_scanners_default_ports():
    doc = render(_ct(discovery={"tcp_ping": True, "ping_ports": "80"}))
    del doc["scan_config"]["scanner_preferences"]["alive_test_ports"]
    assert parse(doc).discovery.ping_ports.contains(443)


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


def test_addresses_are_exact_ranges_never_cidr_blocks():
    # gvmd reads 10.40.0.0/28 as .1 to .14: excluding it that way would leave .0 and .15 scannable
    ct = _ct(targets=Targets(include=AddressSet.parse("10.40.0.0/16"), exclude=AddressSet.parse("10.40.0.0/28")))
    doc = render(ct)
    assert doc["target"]["exclude_hosts"] == ["10.40.0.0-10.40.0.15"]
    assert not any("/" in h for h in doc["target"]["hosts"] + doc["target"]["exclude_hosts"])


def test_every_exclusion_is_written_those_outside_the_targets_too():
    ct = _ct(targets=Targets(include=AddressSet.parse("10.40.10.0/24"), exclude=AddressSet.parse("10.20.60.0/24")))
    assert render(ct)["target"]["exclude_hosts"] == ["10.20.60.0-10.20.60.255"]


def test_parse_targets_reads_a_cidr_as_gvmd_does():
    doc = render(_ct(targets=Targets(include=AddressSet.parse("10.40.0.0/24"))))
    doc["target"]["exclude_hosts"] = ["10.40.0.0/28"]  # gvmd excludes .1 to .14 only
    assert "10.40.0.15" not in parse_targets(doc).exclude and "10.40.0.1" in parse_targets(doc).exclude


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


def test_serialize_says_a_large_target_is_cut_into_parts_at_push(plan):
    text = serialize(render(plan.get("fragile-safe")))
    assert "a push cuts it into parts" in text
