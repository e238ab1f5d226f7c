"""What render writes into an InsightVM ScanTemplate, field by field."""

import pytest

from scanguard import CannotEnforce, CompiledTemplate, ScanTemplate, VendorCheck
from scanguard_insightvm.template import normalise_document, render_template


def _ct(**template) -> CompiledTemplate:
    t = ScanTemplate(name="t", **template)
    return CompiledTemplate(name="t@pos", base="t", group="pos", template=t)


def test_profile_exclusion_lands_in_excluded_ports(plan):
    doc = render_template(plan.get("full-audit"))  # the terminals' 7100/tcp is off everywhere
    tcp = doc["discovery"]["service"]["tcp"]
    assert tcp["ports"] == "all" and 7100 in tcp["excludedPorts"]


def test_few_ports_are_listed_as_custom_and_still_exclude_the_profile_ports(plan):
    doc = render_template(plan.get("discovery@payment-terminals"))
    tcp = doc["discovery"]["service"]["tcp"]
    assert tcp["ports"] == "custom" and 7100 not in tcp["additionalPorts"] and tcp["excludedPorts"] == [7100]


def test_ranges_are_strings_and_single_ports_numbers():
    doc = render_template(_ct(ports="22,80-81,443"))
    tcp = doc["discovery"]["service"]["tcp"]
    assert tcp["ports"] == "custom" and tcp["additionalPorts"] == [22, "80-81", 443]


def test_no_udp_ports_means_no_udp_service_discovery():
    doc = render_template(_ct(ports="1-100"))
    assert doc["discovery"]["service"]["udp"]["ports"] == "none"


def test_connect_scan_is_full_method():
    doc = render_template(_ct(discovery={"port_scan": "connect"}))
    assert doc["discovery"]["service"]["tcp"]["method"] == "Full"


def test_syn_scan_is_syn_method():
    assert render_template(_ct())["discovery"]["service"]["tcp"]["method"] == "SYN"


def test_liveness_ping_ports_are_tcp_ports():
    doc = render_template(_ct(discovery={"tcp_ping": True, "ping_ports": "22,443"}))
    assert doc["discovery"]["asset"]["tcpPorts"] == [22, 443]


def test_tcp_ping_off_sends_no_tcp_ports():
    doc = render_template(_ct(discovery={"tcp_ping": False}))
    assert doc["discovery"]["asset"]["tcpPorts"] == []


def test_icmp_and_arp_switches():
    asset = render_template(_ct(discovery={"icmp": False, "arp": False}))["discovery"]["asset"]
    assert asset["sendIcmpPings"] is False and asset["sendArpPings"] is False


def test_safe_only_turns_unsafe_checks_off():
    assert render_template(_ct(checks={"safe_only": True}))["checks"]["unsafe"] is False


def test_dos_disables_the_denial_of_service_category():
    checks = render_template(_ct(checks={"safe_only": False, "excluded_categories": ["dos"]}))["checks"]
    assert checks["categories"]["disabled"] == ["Denial of Service"] and checks["unsafe"] is False


def test_default_credentials_disable_the_default_account_type():
    checks = render_template(_ct(checks={"excluded_categories": ["default-credentials"]}))["checks"]
    assert checks["types"]["disabled"] == ["Default Account"]


def test_web_crawl_turns_the_web_spider_off():
    assert render_template(_ct(checks={"excluded_categories": ["web-crawl"]}))["webEnabled"] is False


def test_vendor_checks_go_to_their_kind():
    vc = [VendorCheck(vendor="insightvm", kind=k, id=i) for k, i in
          (("check", "http-iis-0001"), ("category", "Malware"), ("type", "Policy"))]
    vc.append(VendorCheck(vendor="nessus", kind="plugin", id="10180"))
    checks = render_template(_ct(checks={"excluded_vendor_checks": vc}))["checks"]
    assert checks["individual"]["disabled"] == ["http-iis-0001"]
    assert checks["categories"]["disabled"] == ["Malware"] and checks["types"]["disabled"] == ["Policy"]


def test_no_check_is_left_individually_enabled():
    assert render_template(_ct())["checks"]["individual"]["enabled"] == []


def test_an_exclusion_of_an_unknown_kind_fails_closed():
    vc = VendorCheck(vendor="insightvm", kind="plugin", id="1")
    with pytest.raises(ValueError, match="check kinds"):
        render_template(_ct(checks={"excluded_vendor_checks": [vc]}))


def test_rate_and_parallelism_fields_of_a_discovery_scan():
    doc = render_template(_ct(checks={"enabled": False},
                              performance={"packets_per_second": 20, "parallel_hosts": 3,
                                           "parallel_checks_per_host": 2, "probe_delay_ms": 250, "timeout_s": 4}))
    perf = doc["discovery"]["performance"]
    assert perf["packetRate"] == {"defeatRateLimit": False, "minimum": 0, "maximum": 20}
    assert doc["maxParallelAssets"] == 3 and doc["maxScanProcesses"] == 2 and perf["parallelism"]["maximum"] == 2
    assert perf["scanDelay"] == {"minimum": "PT0.25S", "maximum": "PT0.25S"}
    assert perf["timeout"]["maximum"] == "PT4S"


def test_rate_above_the_console_maximum_is_capped():
    perf = render_template(_ct(checks={"enabled": False},
                               performance={"packets_per_second": 50000}))["discovery"]["performance"]
    assert perf["packetRate"]["maximum"] == 15000


def test_a_delay_the_console_cannot_hold_is_refused():
    with pytest.raises(ValueError, match="30 s"):
        render_template(_ct(checks={"enabled": False}, performance={"probe_delay_ms": 31000}))


def test_checks_off_is_discovery_only():
    doc = render_template(_ct(checks={"enabled": False}))
    assert doc["discoveryOnly"] is True and doc["vulnerabilityEnabled"] is False and doc["webEnabled"] is False


def test_render_is_already_canonical(kept):
    for ct in kept:
        doc = render_template(ct)
        assert normalise_document(doc) == doc, ct.name


def test_description_carries_no_marker_of_its_own(plan):
    assert "scanguard:managed" not in render_template(plan.get("full-audit"))["description"]


def test_udp_ports_listed(plan):
    udp = render_template(plan.get("full-audit"))["discovery"]["service"]["udp"]
    assert udp["ports"] == "custom" and 53 in udp["additionalPorts"]


@pytest.mark.parametrize("performance,why", [({"packets_per_second": 20}, "20 packets/s"),
                                             ({"probe_delay_ms": 250}, "250 ms between probes")])
def test_a_rate_or_delay_the_checks_would_break_is_refused(performance, why):
    with pytest.raises(CannotEnforce, match=f"throttles discovery only, and cannot keep {why}"):
        render_template(_ct(performance=performance))


def test_the_refusal_names_the_profiles_that_need_the_rate(plan):
    with pytest.raises(CannotEnforce, match="100 packets/s \\(required by pos-terminal\\)"):
        render_template(plan.get("full-audit@payment-terminals"))


def test_with_checks_off_the_rate_and_delay_are_kept(plan):
    perf = render_template(plan.get("discovery@energy-plcs"))["discovery"]["performance"]
    assert perf["packetRate"]["maximum"] == 20 and perf["scanDelay"]["maximum"] == "PT0.25S"
