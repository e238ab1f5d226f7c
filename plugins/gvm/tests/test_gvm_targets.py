"""GVM targets carry exactly the addresses their templates exclude (issue 8, item 8):
`exclude_hosts` holds the never-scan devices and restricted devices of other templates, and render
refuses a document whose target would reach one of them."""

from __future__ import annotations

import pytest

from scanguard import AddressSet, SafetyError, compile_plan, load_workspace
from scanguard.render import render_one, targets_beyond
from scanguard_gvm.document import parse_targets, render
from scanguard_gvm.plugin import VENDOR


@pytest.fixture(scope="module")
def plan(example_workspace):
    return compile_plan(load_workspace(example_workspace))


def test_exclude_hosts_are_exactly_the_compiled_exclusions(plan):
    for ct in plan.for_scanner("gvm-ot"):
        doc = render(ct)
        assert AddressSet.parse(doc["target"]["exclude_hosts"]) == ct.targets.exclude, ct.name
        assert parse_targets(doc).exclude == ct.targets.exclude


def test_the_general_template_leaves_out_the_never_scan_monitors_and_every_restricted_group(plan):
    ct = plan.get("fragile-safe")
    excluded = parse_targets(render(ct)).exclude
    assert "10.20.60.77" in excluded  # never-scan patient monitors
    assert "10.40.0.5" in excluded and "10.40.10.9" in excluded  # restricted OT switch and energy PLCs


def test_a_target_that_lost_its_exclusions_is_refused(plan):
    ct = plan.get("fragile-safe")

    def careless(c):
        doc = render(c)
        doc["target"]["exclude_hosts"] = []
        return doc

    with pytest.raises(SafetyError, match="which its compiled targets exclude"):
        render_one(ct, VENDOR.model_copy(update={"render": careless}))


def test_a_host_name_among_the_hosts_counts_as_anywhere(plan):
    ct = plan.get("fragile-safe@hvac")
    doc = render(ct)
    doc["target"]["hosts"] = ["plc.hvac.lan"]
    assert parse_targets(doc).include == AddressSet.everything()
    assert targets_beyond(ct, parse_targets(doc))
