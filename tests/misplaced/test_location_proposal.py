"""A location proposal adds an address to a profile's location with its evidence as a comment,
whatever way the location is written, and leaves the rest of the file as it was."""

from __future__ import annotations

import pytest
import yaml

from scanguard import ProfileChange
from scanguard.proposal import ProposalError, edit_profile_text

CHANGE = ProfileChange(profile="pos", kind="location", hosts=("10.99.1.5",),
                       reason="10.99.1.5 was recognised as pos by its fingerprint",
                       evidence=('product "Ingenico TMS" on 7100/tcp', "443/tcp open"))


def edited(text: str) -> tuple[str, dict]:
    new, _ = edit_profile_text(text, CHANGE, source="pos.yaml")
    return new, yaml.safe_load(new)


def test_an_address_joins_a_block_list_below_its_evidence():
    text = "id: pos\nname: P\nlocation:\n  hosts:\n    - 10.30.8.21   # lane 4\n  cidrs: [10.20.50.0/26]\nnotes: x\n"

    new, data = edited(text)

    assert data["location"]["hosts"] == ["10.30.8.21", "10.99.1.5"] and data["notes"] == "x"
    assert "    - 10.30.8.21   # lane 4\n    # 10.99.1.5 was recognised" in new
    assert '443/tcp\n    # open\n    - 10.99.1.5\n  cidrs:' in new  # wrapped comment lines, then the address


def test_an_address_joins_a_flow_list_with_its_evidence_above_the_key():
    new, data = edited("id: pos\nname: P\nlocation:\n  cidrs: [10.20.50.0/26]\n  hosts: [10.30.8.21]\n")

    assert data["location"] == {"cidrs": ["10.20.50.0/26"], "hosts": ["10.30.8.21", "10.99.1.5"]}
    assert new.index("# 10.99.1.5 was recognised") < new.index("  hosts:")


def test_a_location_without_hosts_gets_them():
    new, data = edited("id: pos\nname: P\nlocation:\n  cidrs: [10.20.50.0/26]\npolicy: restricted\n")

    assert data["location"]["hosts"] == ["10.99.1.5"] and data["policy"] == "restricted"


def test_a_profile_without_a_location_gets_one():
    _, data = edited("id: pos\nname: P\n")

    assert data["location"] == {"hosts": ["10.99.1.5"]}


def test_an_address_the_location_already_covers_changes_nothing():
    text = "id: pos\nname: P\nlocation:\n  cidrs: [10.99.1.0/24]\n"

    new, summary = edit_profile_text(text, CHANGE)

    assert new == text and "already in its location" in summary


def test_a_host_that_is_not_an_address_is_refused():
    bad = CHANGE.model_copy(update={"hosts": ("lane4.example",)})

    with pytest.raises(ProposalError, match="not an IP address"):
        edit_profile_text("id: pos\nname: P\n", bad)
