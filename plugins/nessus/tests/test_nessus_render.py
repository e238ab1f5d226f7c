"""What the Nessus policy document says for the example hospital's templates."""

import pytest

from scanguard import CompiledTemplate, ScanTemplate, compile_plan, load_workspace
from scanguard_nessus.families import ADVANCED_SCAN_UUID, CATEGORY_MAP, DISCOVERY_FAMILIES, FAMILIES
from scanguard_nessus.plugin import NESSUS
from scanguard_nessus.policy import MANAGED_SETTINGS, render_policy
from scanguard_nessus.portrange import parse_range


@pytest.fixture(scope="module")
def plan(example_workspace):
    return compile_plan(load_workspace(example_workspace))


def _without_delay(ct: CompiledTemplate) -> CompiledTemplate:
    """The PLC template as Nessus could take it: its profiles' other constraints, no probe delay
    (Nessus refuses a template that needs one; see test_a_delay_between_probes_is_refused...)."""
    return ct.model_copy(update={"constraints": ct.constraints.model_copy(update={"min_probe_delay_ms": None})})


def _ct(**template) -> CompiledTemplate:
    t = ScanTemplate(name="t", **template)
    return CompiledTemplate(name="t", base="t", template=t)


def test_payment_terminal_range_is_the_complement_of_7100(plan):
    s = render_policy(plan.get("full-audit@payment-terminals"))["settings"]
    tcp = parse_range(s["portscan_range"]).tcp
    assert 7100 not in tcp and 7099 in tcp and 7101 in tcp
    assert s["unscanned_closed"] == "yes"


def test_tcp_only_range_has_no_prefixes(plan):
    s = render_policy(_without_delay(plan.get("full-audit@energy-plcs")))["settings"]
    assert s["portscan_range"] == "1-7099,7101-65535"
    assert s["udp_scanner"] == "no"


def test_document_uses_the_advanced_scan_and_string_settings(plan):
    doc = render_policy(plan.get("discovery"))
    assert doc["uuid"] == ADVANCED_SCAN_UUID
    assert tuple(doc["settings"]) == MANAGED_SETTINGS
    assert all(isinstance(v, str) for v in doc["settings"].values())


def test_fragile_device_classes_are_not_scanned(plan):
    s = render_policy(plan.get("full-audit"))["settings"]
    assert (s["scan_network_printers"], s["scan_netware_hosts"], s["scan_ot_devices"]) == ("no", "no", "no")


def test_limits_are_written(plan):
    s = render_policy(plan.get("full-audit@payment-terminals"))["settings"]
    assert (s["max_checks_per_host"], s["network_receive_timeout"]) == ("1", "5")
    assert s["max_simult_tcp_sessions_per_scan"] == "100" and s["reduce_connections_on_congestion"] == "yes"


def test_a_delay_between_probes_is_refused_not_written_as_a_comment(plan):
    from scanguard import CannotEnforce

    with pytest.raises(CannotEnforce, match="250 ms between probes"):
        render_policy(plan.get("full-audit@energy-plcs"))


def test_connect_scan_when_syn_is_forbidden(plan):
    s = render_policy(_without_delay(plan.get("full-audit@energy-plcs")))["settings"]
    assert (s["syn_scanner"], s["tcp_scanner"]) == ("no", "yes")


def test_categories_disable_their_families_and_need_safe_checks(plan):
    doc = render_policy(_without_delay(plan.get("full-audit@energy-plcs")))
    for cat in ("dos", "brute-force", "exploit", "fuzzing"):
        for family in CATEGORY_MAP[cat].families:
            assert doc["plugins"][family] == {"status": "disabled"}
    assert doc["plugins"]["SCADA"] == {"status": "disabled"}  # nessus family named by the profile
    assert doc["settings"]["safe_checks"] == "yes"


def test_dos_maps_to_denial_of_service():
    assert CATEGORY_MAP["dos"].families == ("Denial of Service",)


def test_no_checks_disables_every_vulnerability_family(plan):
    plugins = render_policy(plan.get("discovery"))["plugins"]
    assert {f for f, e in plugins.items() if e["status"] == "disabled"} == set(FAMILIES) - DISCOVERY_FAMILIES


def test_ping_methods_and_tcp_ping_ports():
    s = render_policy(_ct(discovery={"icmp": False, "arp": False, "tcp_ping": True, "ping_ports": "80,443"}))["settings"]
    assert (s["icmp_ping"], s["arp_ping"], s["tcp_ping"], s["tcp_ping_dest_ports"]) == ("no", "no", "yes", "80,443")
    assert s["ping_the_remote_host"] == "yes"


def test_no_ping_at_all_turns_pinging_off():
    s = render_policy(_ct(discovery={"icmp": False, "arp": False, "tcp_ping": False, "udp_ping": False}))["settings"]
    assert s["ping_the_remote_host"] == "no"


def test_udp_ping_stays_off_when_udp_ports_are_constrained(plan):
    from scanguard import Constraints, PortSet

    t = ScanTemplate(name="t", discovery={"udp_ping": True, "ping_ports": "53/udp"})
    free = CompiledTemplate(name="t", base="t", template=t)
    tight = free.model_copy(update={"constraints": Constraints(excluded_ports=PortSet.parse("161/udp"))})
    assert render_policy(free)["settings"]["udp_ping"] == "yes"
    assert render_policy(tight)["settings"]["udp_ping"] == "no"


def test_individual_plugins_go_under_their_family():
    doc = render_policy(_ct(checks={"excluded_vendor_checks": ["nessus:plugin:11219", "nessus:plugin:Web Servers/12345"]}))
    assert doc["plugins"]["Port scanners"] == {"status": "mixed", "individual": {"11219": "disabled"}}
    assert doc["plugins"]["Web Servers"] == {"status": "mixed", "individual": {"12345": "disabled"}}


def test_a_plugin_of_unknown_family_is_refused_not_dropped():
    with pytest.raises(ValueError, match="Family name/99999"):
        render_policy(_ct(checks={"excluded_vendor_checks": ["nessus:plugin:99999"]}))


def test_an_unknown_nessus_check_kind_is_refused():
    with pytest.raises(ValueError, match="check kinds"):
        render_policy(_ct(checks={"excluded_vendor_checks": ["nessus:oid:1.2.3"]}))


def test_vendor_record():
    assert NESSUS.name == "nessus" and NESSUS.check_kinds == {"plugin", "family"}
    assert {"render", "parse", "client", "activity", "results", "artifacts"} <= NESSUS.capabilities


def test_artifacts_hold_a_policy_file_and_rules_for_exactly_its_devices(plan):
    ct = plan.get("full-audit@payment-terminals")
    files = NESSUS.artifacts(ct)
    assert files[f"{ct.name}.policy.nessus"].startswith("<?xml")
    rules = [r for r in files[f"{ct.name}.nessusd.rules"].splitlines() if not r.startswith("#")]
    assert rules == ["reject 10.20.50.0/26:7100", "reject 10.30.8.21:7100"]


def test_entry_point_registers_the_vendor():
    from scanguard.plugin.manager import load_plugins

    assert load_plugins().vendor("nessus").name == "nessus"
