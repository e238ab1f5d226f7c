"""Security Center's form of the policy model: families by id with a state, families not listed
disabled, a family with plugins off listing the plugins it keeps; written and read back, never
less safe, and exactly the document that was written."""

from __future__ import annotations

import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanguard import CannotEnforce, CompiledTemplate, ScanTemplate, violations
from scanguard.testing.strategies import compiled_templates
from scanguard_tenable_policy import (
    DISCOVERY_FAMILIES,
    FamilySelection,
    PORT_SCANNERS,
    describe,
    hinted_plugins,
    live_document,
    parse_document,
    recorded_families,
    render_document,
    select_families,
)
from scanguard_tenable_policy.securitycenter import families_field, family_states, template_of

CATALOG = [f for f in recorded_families() if f != "Port scanners"]
IDS = {name: str(i) for i, name in enumerate(CATALOG, 1)}
CHECK_FAMILIES = [f for f in CATALOG if f not in DISCOVERY_FAMILIES]


def _family(pid: str) -> str:
    """Every plugin id belongs to one family (a stand-in for the scanner's knowledge)."""
    return CHECK_FAMILIES[zlib.crc32(pid.encode()) % len(CHECK_FAMILIES)]


def _plugins(name: str) -> list[str]:
    return [str(i) for i in range(100000, 100400) if _family(str(i)) == name]


def _every(name: str) -> list[str]:
    # the family's own list: some plugins, and whatever plugin ids a template names in it
    return _plugins(name) + [p for p in _named if _family(p) == name]


_named: set[str] = set()


def _round_trip(doc):
    """The document written in Security Center's form and read back from it."""
    _named.clear()
    _named.update(doc.disabled_plugins)
    selection = select_families(doc, CATALOG, _family)
    field = families_field(selection, IDS, _every)
    assert all(isinstance(f["id"], str) and f["state"] in ("enabled", "mixed") for f in field)
    states, mixed = family_states(field, {i: n for n, i in IDS.items()}, _every)
    description = describe(doc.settings["description"], "", doc.disabled_plugins)
    running = [pid for pid, key in PORT_SCANNERS.items() if doc.settings[key] == "yes"]
    return live_document(template=doc.template, settings={**doc.settings, "description": description},
                         families=states, mixed_disabled=mixed, hinted=hinted_plugins(description),
                         plugin_family=_family, port_scanners=running)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ct=compiled_templates())
def test_a_compiled_template_written_in_security_centers_form_is_never_less_safe(ct):
    try:
        doc = render_document(ct)
        back = _round_trip(doc)
    except (CannotEnforce, ValueError):
        return
    assert back == doc
    assert violations(parse_document(back), ct.constraints, vendor="nessus") == []


@settings(max_examples=150, deadline=None)
@given(plugins=st.sets(st.integers(100000, 100399).map(str), max_size=12),
       families=st.sets(st.sampled_from(CATALOG), max_size=6), checks=st.booleans())
def test_families_and_single_plugins_written_in_security_centers_form_read_back_as_written(plugins, families, checks):
    ct = CompiledTemplate(name="t", base="t", template=ScanTemplate(name="t", checks={
        "enabled": checks, "excluded_vendor_checks": frozenset(
            [f"nessus:plugin:{p}" for p in plugins] + [f"nessus:family:{f}" for f in families])}))
    doc = render_document(ct)
    assert _round_trip(doc) == doc


def test_a_family_with_some_plugins_off_lists_the_ones_it_keeps():
    selection = {"Web Servers": FamilySelection(status="mixed", disabled_plugins=("2",)),
                 "General": FamilySelection(status="enabled"), "Backdoors": FamilySelection(status="disabled")}
    field = families_field(selection, {"Web Servers": "7", "General": "3", "Backdoors": "9"},
                           lambda name: ["1", "2", "3"])
    assert field == [{"id": "7", "state": "mixed", "plugins": [{"id": "1"}, {"id": "3"}]},
                     {"id": "3", "state": "enabled"}]


def test_a_mixed_family_cannot_be_written_without_its_plugin_list():
    with pytest.raises(CannotEnforce, match="does not list the plugins of family 'Web Servers'"):
        families_field({"Web Servers": FamilySelection(status="mixed", disabled_plugins=("2",))},
                       {"Web Servers": "7"}, lambda name: None)


@pytest.mark.parametrize("entry,expected", [
    ({"id": "7"}, "enabled"),                                        # listed without plugins: enabled
    ({"id": "7", "state": "mixed"}, "enabled"),                      # mixed needs its plugins
    ({"id": "7", "state": "enabled", "plugins": [{"id": "1"}]}, "enabled"),  # ambiguous: the more enabled
    ({"id": "7", "state": "mixed", "plugins": [{"id": "1"}]}, "mixed"),
    ({"id": "7", "plugins": [{"id": "1"}]}, "mixed"),
    ({"id": "7", "state": "disabled"}, "disabled"),
])
def test_family_entries_are_read_conservatively(entry, expected):
    states, mixed = family_states([entry], {"7": "Web Servers", "8": "FTP"}, lambda name: ["1", "2"])
    assert states == {"Web Servers": expected, "FTP": "disabled"}
    assert mixed == ({"Web Servers": ["2"]} if expected == "mixed" else {})


def test_a_policy_without_a_families_field_leaves_family_state_unknown():
    assert family_states(None, {"7": "Web Servers"}, lambda name: []) == (None, {})


def test_an_unknown_plugin_list_turns_no_plugin_off():
    states, mixed = family_states([{"id": "7", "state": "mixed", "plugins": [{"id": "1"}]}], {"7": "Web Servers"},
                                  lambda name: None)
    assert states == {"Web Servers": "mixed"} and mixed == {"Web Servers": []}


def test_security_center_template_names():
    assert (template_of("Advanced Scan"), template_of("Basic Network Scan"), template_of("Host Discovery")) == (
        "advanced", "basic", "Host-Discovery")
