"""The profile edits an accepted draft makes, beyond excluded ports and rates: discovery methods,
safe checks only, fingerprint ports, several check categories, and the advisory added to the
profile's list; each keeps the rest of the file as written and is idempotent."""

from __future__ import annotations

import textwrap

import pytest
import yaml

from scanguard import PortSet, ProfileChange
from scanguard.model.profile import DeviceProfile
from scanguard.proposal import edit_profile_text

PROFILE = textwrap.dedent("""\
    # the OT team's switch profile
    id: switch
    name: OT switches   # keep this comment
    vendor: Siemens
    advisories: [ICSA-18-254-05]
    constraints:
      excluded_ports:
        - ports: 443/tcp
          reason: web server reboots
""")


def edit(text: str, **change) -> str:
    new, _ = edit_profile_text(text, ProfileChange(reason="ICSA-99: because", evidence=("ICSA-99",), **change))
    DeviceProfile.model_validate(yaml.safe_load(new))
    return new


def test_forbidding_a_discovery_method_adds_a_discovery_block():
    new = edit(PROFILE, kind="discovery", forbid_discovery=("udp", "udp_ping"))
    d = yaml.safe_load(new)["constraints"]["discovery"]
    assert d["udp"] is False and d["udp_ping"] is False and d["reason"] == "ICSA-99: because"
    assert new.startswith(PROFILE.rstrip("\n"))


def test_forbidding_another_method_merges_into_the_existing_block():
    once = edit(PROFILE, kind="discovery", forbid_discovery=("icmp",))
    twice, summary = edit_profile_text(once, ProfileChange(kind="discovery", forbid_discovery=("arp",),
                                                           reason="ICSA-98: arp storm", evidence=("ICSA-98",)))
    d = yaml.safe_load(twice)["constraints"]["discovery"]
    assert d["icmp"] is False and d["arp"] is False
    assert d["reason"] == "ICSA-99: because ICSA-98: arp storm" and d["evidence"] == ["ICSA-99", "ICSA-98"]
    again, summary = edit_profile_text(twice, ProfileChange(kind="discovery", forbid_discovery=("arp",), reason="x"))
    assert again == twice and "nothing to change" in summary


def test_safe_checks_only_is_added_once():
    new = edit(PROFILE, kind="safe_checks")
    assert yaml.safe_load(new)["constraints"]["safe_checks_only"]["reason"] == "ICSA-99: because"
    again, summary = edit_profile_text(new, ProfileChange(kind="safe_checks", reason="again"))
    assert again == new and "already" in summary


def test_fingerprint_ports_are_added_to_a_profile_without_constraints():
    bare = "id: pump\nname: Pumps\nvendor: Acme\n"
    new = edit(bare, kind="fingerprint", ports=PortSet.parse("443/tcp, 7001/tcp"))
    data = yaml.safe_load(new)
    assert data["fingerprint"] == {"open_ports": ["443/tcp", "7001/tcp"]} and "constraints" not in data


def test_fingerprint_ports_extend_the_listed_ones():
    text = "id: pump\nname: Pumps\nfingerprint:\n  open_ports: [443/tcp]\n"
    new = edit(text, kind="fingerprint", ports=PortSet.parse("443/tcp, 7001/tcp"))
    assert yaml.safe_load(new)["fingerprint"]["open_ports"] == ["443/tcp", "7001/tcp"]


def test_several_check_categories_in_one_exclusion():
    new = edit(PROFILE, kind="excluded_check", categories=("dos", "fuzzing"))
    assert yaml.safe_load(new)["constraints"]["excluded_checks"][0]["categories"] == ["dos", "fuzzing"]


@pytest.mark.parametrize("text", [PROFILE, PROFILE.replace("advisories: [ICSA-18-254-05]\n", ""),
                                  PROFILE.replace("advisories: [ICSA-18-254-05]", "advisories:\n  - ICSA-18-254-05")])
def test_the_advisory_joins_the_profiles_list_whatever_its_form(text):
    new = edit(text, kind="excluded_port", ports=PortSet.parse("22/tcp"), advisory="ICSA-19-227-03")
    data = yaml.safe_load(new)
    assert data["advisories"][-1] == "ICSA-19-227-03"
    assert data["constraints"]["excluded_ports"][-1]["ports"] == "22/tcp"
    assert "# keep this comment" in new
