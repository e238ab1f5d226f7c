"""The invariant every vendor adapter must hold, for plugin authors' test suites:

    violations(parse(render(T)), C, vendor=V) == []   for every compiled T with constraints C

Use `vendor_conformance_test(vendor)` to get a ready hypothesis test, or call
`check_round_trip` on templates of your own.
"""

from __future__ import annotations

from typing import Callable

from ..errors import CannotEnforce
from ..lattice import violations
from ..model.plan import CompiledTemplate
from ..plugin.records import Vendor


class ConformanceError(AssertionError):
    """A vendor's rendering, read back, breaks the constraints it was rendered for."""


def check_round_trip(vendor: Vendor, ct: CompiledTemplate) -> bool:
    """Render `ct` with `vendor`, parse it back, and raise ConformanceError listing every
    violation of `ct.constraints` (vendor-specific ids of other vendors and windows excepted).

    A vendor may refuse a template it cannot make safe by raising scanguard.CannotEnforce: that
    is conformant (fail closed) and returns False; a rendering that was checked returns True."""
    try:
        payload = vendor.render(ct)
    except CannotEnforce:
        return False
    back = vendor.parse(payload)
    bad = violations(back, ct.constraints, vendor=vendor.name)
    if bad:
        raise ConformanceError(
            f"vendor {vendor.name}: template {ct.name} read back breaks its constraints:\n"
            + "\n".join(f"- {v.text()}" for v in bad)
        )
    return True


def vendor_conformance_test(vendor: Vendor | Callable[[], Vendor], max_examples: int = 500):
    """A pytest test function checking the round trip on `max_examples` generated templates.

    In a plugin's tests: ``test_conformance = vendor_conformance_test(MY_VENDOR)``.
    """
    from hypothesis import HealthCheck, given, settings

    from .strategies import compiled_templates

    @settings(max_examples=max_examples, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(ct=compiled_templates())
    def test_vendor_round_trip_never_less_safe(ct: CompiledTemplate) -> None:
        v = vendor() if callable(vendor) and not isinstance(vendor, Vendor) else vendor
        check_round_trip(v, ct)

    return test_vendor_round_trip_never_less_safe
