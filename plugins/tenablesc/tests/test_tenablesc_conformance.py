"""Security Center renderings, read back, never break the constraints they were rendered for (the
conformance kit scanguard ships for every vendor)."""

from scanguard.testing.conformance import vendor_conformance_test
from scanguard_tenablesc.plugin import TENABLESC

# the policy document is the Tenable library's; Security Center's wire form of it has its own
# property test (plugins/tenable-policy/tests/test_securitycenter.py)
test_policy_round_trip_never_less_safe = vendor_conformance_test(TENABLESC, max_examples=200)
