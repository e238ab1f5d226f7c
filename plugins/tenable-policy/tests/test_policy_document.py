"""The Tenable policy document: what render writes, what a scanner's state reads back as, and how
conservatively it is parsed."""

import pytest

from scanguard import CannotEnforce, CompiledTemplate, Constraints, PortSet, ScanTemplate, compile_plan, load_workspace
from scanguard import violations
from scanguard_tenable_policy import (
    CATEGORY_MAP,
    DISCOVERY_FAMILIES,
    MANAGED_SETTINGS,
    PORT_SCANNER_FAMILY,
    PolicyDocument,
    describe,
    hinted_plugins,
    live_document,
    parse_document,
    parse_range,
    render_document,
    select_families,
)

CATALOG = ["Backdoors", "Brute force attacks", "CGI abuses", "CGI abuses : XSS", "Default Unix Accounts",
           "Denial of Service", "Gain a shell remotely", "General", "SCADA", "Service detection", "Settings",
           "Web Servers", "Windows"]
"""A scanner's families (a subset of the recorded editor's), for selection tests."""


@pytest.fixture(scope="module")
def plan(example_workspace):
    return compile_plan(load_workspace(example_workspace))


def _ct(constraints: Constraints | None = None, **template) -> CompiledTemplate:
    t = ScanTemplate(name="t", **template)
    return CompiledTemplate(name="t", base="t", template=t, constraints=constraints or Constraints())


def _family_of(table: dict[str, str]):
    return lambda pid: table.get(pid)


# --- render --------------------------------------------------------------------------------------

def test_the_port_range_is_the_complement_of_the_excluded_ports(plan):
    s = render_document(plan.get("full-audit@infusion")).settings
    assert s["unscanned_closed"] == "yes"
    assert parse_range(s["portscan_range"]) == plan.get("full-audit@infusion").template.ports


def test_tcp_only_range_has_no_prefixes():
    s = render_document(_ct(ports=PortSet.parse("1-7099,7101-65535"))).settings
    assert s["portscan_range"] == "1-7099,7101-65535" and s["udp_scanner"] == "no"


def test_every_managed_setting_is_written_as_a_string(plan):
    doc = render_document(plan.get("discovery"))
    assert tuple(doc.settings) == MANAGED_SETTINGS
    assert all(isinstance(v, str) for v in doc.settings.values())
    assert doc.template == "advanced"  # a name: the scanner gives the uuid


def test_a_packet_rate_is_refused_not_written_as_a_session_cap(plan):
    ct = plan.get("full-audit@payment-terminals")
    assert ct.constraints.max_packets_per_second == 100
    with pytest.raises(CannotEnforce, match=r"no packet rate: 100 packets/s \(required by pos-terminal\)"):
        render_document(ct)


def test_a_base_template_packet_rate_is_refused_too():
    with pytest.raises(CannotEnforce, match="base template t"):
        render_document(_ct(performance={"packets_per_second": 50}))


def test_a_delay_between_probes_is_refused(plan):
    with pytest.raises(CannotEnforce, match="250 ms between probes"):
        render_document(plan.get("full-audit@energy-plcs"))


def test_nothing_is_ever_read_back_as_a_packet_rate(plan):
    doc = render_document(plan.get("full-audit@infusion"))
    assert parse_document(doc).performance.packets_per_second is None
    assert "max_simult_tcp_sessions_per_host" not in doc.settings


def test_categories_disable_their_families_and_need_safe_checks():
    doc = render_document(_ct(checks={"excluded_categories": ["dos", "brute-force", "exploit", "fuzzing"]}))
    for cat in ("dos", "brute-force", "exploit", "fuzzing"):
        assert set(CATEGORY_MAP[cat].families) <= set(doc.disabled_families)
    assert doc.settings["safe_checks"] == "yes" and not doc.all_check_families_off


def test_no_checks_turns_every_vulnerability_family_off_whatever_the_feed_holds(plan):
    doc = render_document(plan.get("discovery"))
    assert doc.all_check_families_off and doc.disabled_families == ()


def test_port_scanner_plugins_are_switched_by_their_settings_keys():
    doc = render_document(_ct(checks={"excluded_vendor_checks": ["nessus:plugin:11219", "nessus:plugin:10180"]}))
    assert doc.settings["syn_scanner"] == "no" and doc.settings["ping_the_remote_host"] == "no"
    assert doc.disabled_plugins == ()  # not plugins to file under a family: the editor has no Port scanners
    back = parse_document(doc)
    assert {v.text() for v in back.checks.excluded_vendor_checks} >= {"nessus:plugin:11219", "nessus:plugin:10180"}


def test_excluding_the_port_scanners_family_switches_every_scanner_off():
    doc = render_document(_ct(checks={"excluded_vendor_checks": [f"nessus:family:{PORT_SCANNER_FAMILY}"]}))
    back = parse_document(doc)
    assert back.ports == PortSet() and not back.discovery_methods()
    assert f"nessus:family:{PORT_SCANNER_FAMILY}" in {v.text() for v in back.checks.excluded_vendor_checks}


def test_other_plugins_are_listed_by_id_for_the_scanner_to_file():
    doc = render_document(_ct(checks={"excluded_vendor_checks": ["nessus:plugin:12345", "nessus:plugin:900"]}))
    assert doc.disabled_plugins == ("900", "12345")


def test_a_family_qualified_plugin_id_is_refused_with_the_form_to_use():
    with pytest.raises(ValueError, match="nessus:plugin:12345"):
        render_document(_ct(checks={"excluded_vendor_checks": ["nessus:plugin:Web Servers/12345"]}))


def test_an_unknown_check_kind_is_refused():
    with pytest.raises(ValueError, match="check kinds"):
        render_document(_ct(checks={"excluded_vendor_checks": ["nessus:oid:1.2.3"]}))


def test_udp_ping_stays_off_when_udp_ports_are_constrained():
    free = _ct(discovery={"udp_ping": True, "ping_ports": "53/udp"})
    tight = _ct(Constraints(excluded_ports=PortSet.parse("161/udp")), discovery={"udp_ping": True, "ping_ports": "53/udp"})
    assert render_document(free).settings["udp_ping"] == "yes"
    assert render_document(tight).settings["udp_ping"] == "no"


# --- families on a scanner -----------------------------------------------------------------------

def test_every_family_the_scanner_lists_gets_an_explicit_state():
    doc = render_document(_ct(checks={"excluded_categories": ["dos"]}))
    sel = select_families(doc, CATALOG, _family_of({}))
    assert set(sel) == set(CATALOG)
    assert sel["Denial of Service"].status == "disabled" and sel["Windows"].status == "enabled"


def test_checks_off_includes_a_family_the_feed_gained_later(plan):
    doc = render_document(plan.get("discovery"))
    sel = select_families(doc, [*CATALOG, "Tenable.ot"], _family_of({}))
    assert sel["Tenable.ot"].status == "disabled"
    assert {f for f, s in sel.items() if s.status == "enabled"} == DISCOVERY_FAMILIES


def test_a_plugin_goes_under_the_family_the_scanner_says():
    doc = render_document(_ct(checks={"excluded_vendor_checks": ["nessus:plugin:12345"]}))
    sel = select_families(doc, CATALOG, _family_of({"12345": "Web Servers"}))
    assert sel["Web Servers"].status == "mixed" and sel["Web Servers"].disabled_plugins == ("12345",)


def test_a_plugin_whose_family_is_off_anyway_is_not_listed():
    doc = render_document(_ct(checks={"excluded_categories": ["dos"], "excluded_vendor_checks": ["nessus:plugin:7"]}))
    sel = select_families(doc, CATALOG, _family_of({"7": "Denial of Service"}))
    assert sel["Denial of Service"] == sel["Backdoors"].model_copy(update={"status": "disabled"})


@pytest.mark.parametrize("table,match", [({}, "knows no plugin 12345"), ({"12345": "Nowhere"}, "does not list")])
def test_a_plugin_that_cannot_be_placed_is_refused(table, match):
    doc = render_document(_ct(checks={"excluded_vendor_checks": ["nessus:plugin:12345"]}))
    with pytest.raises(CannotEnforce, match=match):
        select_families(doc, CATALOG, _family_of(table))


def test_a_family_the_scanner_does_not_list_is_refused():
    doc = render_document(_ct(checks={"excluded_vendor_checks": ["nessus:family:Tenable.ot"]}))
    with pytest.raises(CannotEnforce, match="Tenable.ot"):
        select_families(doc, CATALOG, _family_of({}))


# --- reading a scanner's state back ----------------------------------------------------------------

def _settings(doc: PolicyDocument) -> dict[str, str]:
    return dict(doc.settings)


def test_what_was_written_reads_back_as_the_same_document(plan):
    for name in ("discovery", "full-audit", "full-audit@infusion"):
        doc = render_document(plan.get(name))
        sel = select_families(doc, CATALOG, _family_of({}))
        back = live_document(template="advanced", settings=_settings(doc), families={f: s.status for f, s in sel.items()},
                             port_scanners=[])
        assert back == doc


def test_family_state_that_cannot_be_read_counts_as_enabled(plan):
    ct = plan.get("full-audit@infusion")
    doc = render_document(ct)
    back = live_document(template="advanced", settings=_settings(doc), families=None, port_scanners=[])
    assert back.disabled_families == () and not back.all_check_families_off
    kinds = {v.kind for v in violations(parse_document(back), ct.constraints, vendor="nessus")}
    assert "excluded_checks" in kinds


def test_disabling_only_known_families_does_not_turn_checks_off():
    families = {f: ("enabled" if f in DISCOVERY_FAMILIES else "disabled") for f in CATALOG}
    families["Tenable.ot"] = "enabled"  # the feed gained it; nobody turned it off
    back = live_document(template="advanced", settings={}, families=families)
    assert not back.all_check_families_off and parse_document(back).checks.enabled


def test_every_vulnerability_family_off_reads_as_checks_off():
    families = {f: ("enabled" if f in DISCOVERY_FAMILIES else "disabled") for f in CATALOG}
    assert not parse_document(live_document(template="advanced", settings={}, families=families)).checks.enabled


def test_a_running_port_scanner_overrides_its_settings_key():
    back = live_document(template="advanced", settings={"udp_scanner": "no", "tcp_scanner": "no"}, families={},
                         port_scanners=["34277"])
    assert back.settings["udp_scanner"] == "yes" and back.settings["tcp_scanner"] == "no"


def test_an_unreadable_export_counts_every_port_scanner_as_running():
    back = live_document(template="advanced", settings={"udp_scanner": "no"}, families={}, port_scanners=None)
    assert back.settings["udp_scanner"] == "yes" and back.settings["tcp_scanner"] == "yes"


def test_a_hinted_plugin_counts_as_off_only_where_the_scanner_has_it_off():
    families = {"Denial of Service": "disabled", "Web Servers": "mixed", "Windows": "enabled"}
    table = {"1": "Denial of Service", "2": "Web Servers", "3": "Windows", "4": "Web Servers"}
    back = live_document(template="advanced", settings={}, families=families, mixed_disabled={"Web Servers": ["2"]},
                         hinted=["1", "3", "4"], plugin_family=_family_of(table))
    assert back.disabled_plugins == ("1", "2")


def test_the_description_carries_the_hint_and_the_marker_on_the_last_line():
    marker = "scanguard:managed name=t sha256=" + "0" * 64
    text = describe(f"why\n{marker}", marker, ["12345", "7"])
    assert text.splitlines() == ["why", "scanguard:plugins-off 7,12345", marker]
    assert hinted_plugins(text) == ("7", "12345")
    assert live_document(template="advanced", settings={"description": text}, families=None).settings["description"] == "why"


# --- parse ---------------------------------------------------------------------------------------

def test_missing_keys_take_the_products_defaults():
    t = parse_document(PolicyDocument(settings={}))
    assert t.ports == PortSet.all()  # default range, unscanned ports open
    assert t.performance.parallel_hosts == 80 and t.checks.enabled


def test_built_in_ping_ports_may_be_any_port():
    t = parse_document(PolicyDocument(settings={"tcp_ping_dest_ports": "built-in"}))
    assert t.discovery.ping_ports.tcp == PortSet.all().tcp


def test_names_become_template_names():
    assert parse_document(PolicyDocument(settings={"name": "Basic Network Scan"})).name == "Basic-Network-Scan"


@pytest.mark.parametrize("empty", ["", "unlimited", "Unlimited"])
def test_a_limit_left_empty_or_unlimited_is_no_limit(empty):
    """An empty max_hosts_per_scan is not the editor's default of 80: it is read as unbounded, so a
    profile's limit is never reported as kept by a policy that has none."""
    settings = {"max_hosts_per_scan": empty, "max_checks_per_host": empty, "network_receive_timeout": empty}
    perf = parse_document(live_document(template="advanced", settings=settings, families={})).performance
    assert perf.parallel_hosts == perf.parallel_checks_per_host == perf.timeout_s == 65535
    limits = Constraints(max_parallel_hosts=10, max_parallel_checks_per_host=2, max_timeout_s=30)
    found = " ".join(v.message for v in violations(
        parse_document(live_document(template="advanced", settings=settings, families={})), limits, vendor="nessus"))
    assert all(name in found for name in ("parallel_hosts", "parallel_checks_per_host", "timeout_s")), found


def test_a_limit_left_out_is_the_recorded_default():
    perf = parse_document(live_document(template="advanced", settings={}, families={})).performance
    assert (perf.parallel_hosts, perf.parallel_checks_per_host, perf.timeout_s) == (80, 5, 5)
