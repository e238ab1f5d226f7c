"""Tenable VM renderings, read back, never break the constraints they were rendered for (the
conformance kit scanguard ships for every vendor)."""

from scanguard.testing.conformance import vendor_conformance_test
from scanguard_tenableio.plugin import TENABLEIO

# the policy model is the Tenable library's, held at 500 examples by the Nessus plugin's kit test
test_policy_round_trip_never_less_safe = vendor_conformance_test(TENABLEIO, max_examples=200)
