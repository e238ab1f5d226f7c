"""The GVM vendor holds the conformance invariant and registers like any third-party plugin."""

from scanguard.plugin.manager import load_plugins
from scanguard.testing.conformance import vendor_conformance_test
from scanguard_gvm.plugin import VENDOR

test_round_trip_never_less_safe = vendor_conformance_test(VENDOR, max_examples=500)


def test_registered_through_the_entry_point_with_every_capability():
    vendor = load_plugins().vendor("gvm")
    assert vendor.capabilities == {"render", "parse", "client", "activity", "results", "targets"}
    assert vendor.check_kinds == {"oid", "family"}
