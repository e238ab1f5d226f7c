"""Reading InsightVM ScanTemplate documents back: what render wrote, and what real consoles hold."""

from scanguard import PortSet, VendorCheck, violations
from scanguard_insightvm.template import UNKNOWN_LIMIT, parse_template, render_template
from scanguard_testbed_scanners.insightvm import builtin_templates


def test_round_trip_keeps_the_excluded_port_out(plan):
    ct = plan.get("full-audit@payment-terminals")
    back = parse_template(render_template(ct))
    assert not back.ports.contains(7100) and back.ports.contains(7099)


def test_round_trip_recovers_the_template(plan):
    ct = plan.get("full-audit@energy-plcs")
    back = parse_template(render_template(ct))
    t = ct.template
    assert back.ports == t.ports and back.performance == t.performance
    assert back.discovery.port_scan == t.discovery.port_scan
    assert t.checks.excluded_categories <= back.checks.excluded_categories


def test_round_trip_satisfies_every_example_constraint(plan):
    for ct in plan.templates:
        assert violations(parse_template(render_template(ct)), ct.constraints, vendor="insightvm") == [], ct.name


def test_excluded_ports_as_a_csv_string():
    doc = {"discovery": {"service": {"tcp": {"ports": "all", "excludedPorts": "7100,8000-8080"}}}}
    ports = parse_template(doc).ports
    assert not ports.contains(7100) and not ports.contains(8040) and ports.contains(8081)


def test_excluded_ports_as_strings_in_an_array():
    doc = {"discovery": {"service": {"tcp": {"ports": "all", "excludedPorts": ["7100", "8000-8080"]}}}}
    assert not parse_template(doc).ports.contains(7100)


def test_well_known_reads_as_every_port():
    doc = {"discovery": {"service": {"tcp": {"ports": "well-known"}}}}
    assert parse_template(doc).ports.tcp == PortSet.all().tcp


def test_custom_reads_the_additional_ports():
    doc = {"discovery": {"service": {"tcp": {"ports": "custom", "additionalPorts": [22, "80-81"]},
                                     "udp": {"ports": "none"}}}}
    assert parse_template(doc).ports == PortSet.parse("22,80-81")


def test_unsafe_checks_on_is_not_safe_only():
    assert parse_template({"checks": {"unsafe": True}}).checks.safe_only is False


def test_unset_unsafe_reads_as_unsafe():
    assert parse_template({}).checks.safe_only is False


def test_unset_limits_read_as_no_limit():
    perf = parse_template({}).performance
    assert perf.packets_per_second is None and perf.parallel_hosts == UNKNOWN_LIMIT


def test_an_individually_enabled_check_voids_category_exclusions():
    doc = {"checks": {"unsafe": False, "categories": {"disabled": ["Denial of Service"]},
                      "individual": {"enabled": ["some-check"]}}}
    t = parse_template(doc)
    assert "dos" not in t.checks.excluded_categories
    dos = VendorCheck(vendor="insightvm", kind="category", id="Denial of Service")
    assert dos not in t.checks.excluded_vendor_checks


def test_disabled_ids_read_as_insightvm_checks():
    doc = {"webEnabled": False, "checks": {"categories": {"disabled": ["Malware"]}, "types": {"disabled": ["Policy"]},
                                           "individual": {"disabled": ["ssh-weak-kex"]}}}
    got = parse_template(doc).checks.excluded_vendor_checks
    assert {v.text() for v in got} == {"insightvm:category:Malware", "insightvm:type:Policy",
                                       "insightvm:check:ssh-weak-kex"}


def test_the_web_spider_running_voids_category_and_type_exclusions():
    doc = {"webEnabled": True, "checks": {"unsafe": False, "categories": {"disabled": ["Denial of Service"]},
                                          "types": {"disabled": ["Default Account"]},
                                          "individual": {"disabled": ["ssh-weak-kex"]}}}
    checks = parse_template(doc).checks
    assert not checks.excluded_categories
    assert {v.text() for v in checks.excluded_vendor_checks} == {"insightvm:check:ssh-weak-kex"}


def test_full_method_is_connect_scan():
    assert parse_template({"discovery": {"service": {"tcp": {"method": "Full"}}}}).discovery.port_scan == "connect"


def test_console_names_become_valid_template_names():
    assert parse_template({"name": "Full audit without Web Spider"}).name == "Full-audit-without-Web-Spider"


def test_marker_is_not_part_of_the_description():
    doc = {"description": "Payments\nscanguard:managed name=x sha256=" + "a" * 64}
    assert parse_template(doc).description == "Payments"


def test_built_in_console_templates_parse():
    for doc in builtin_templates().values():
        t = parse_template(doc)
        assert t.ports.tcp == PortSet.all().tcp, doc["id"]


def test_denial_of_service_built_in_runs_unsafe_checks():
    assert parse_template(builtin_templates()["denial-of-service"]).checks.safe_only is False
