"""The invariant every vendor adapter must hold, for plugin authors' test suites:

    violations(parse(render(T)), C, vendor=V) == []   for every compiled T with constraints C

and a vendor must be useful: refusing a template it cannot make safe (CannotEnforce) is
conformant, refusing nearly every template is not. The reference is the example hospital
workspace scanguard ships: at least `MIN_SHARE` of its compiled templates must render (and each
must read back within its constraints).

Use `vendor_conformance_test(vendor)` to get a ready test (the reference share, then a hypothesis
property over generated templates), or call `check_round_trip` and `check_renders_enough` yourself.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Callable, Sequence

from ..errors import CannotEnforce
from ..lattice import violations
from ..model.plan import CompiledTemplate
from ..plugin.records import Vendor

MIN_SHARE = 0.25
"""The least share of the reference workspace's templates a vendor must render."""


class ConformanceError(AssertionError):
    """A vendor's rendering, read back, breaks the constraints it was rendered for; or the vendor
    refuses too much to be of use."""


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


def reference_workspace() -> Path:
    """The example hospital workspace: packaged with scanguard (`scanguard/_example`), or the
    checkout's `examples/hospital`."""
    packaged = resources.files("scanguard") / "_example"
    if packaged.is_dir():
        return Path(str(packaged))
    checkout = Path(__file__).resolve().parents[3] / "examples" / "hospital"
    if checkout.is_dir():
        return checkout
    raise ConformanceError("the reference workspace (scanguard's example hospital) is not installed")


@lru_cache(maxsize=1)
def reference_templates() -> tuple[CompiledTemplate, ...]:
    """Every compiled template of the reference workspace (all groups, whatever scanner)."""
    from ..compile import compile_plan
    from ..workspace import load_workspace

    return compile_plan(load_workspace(reference_workspace())).templates


def check_renders_enough(vendor: Vendor, templates: Sequence[CompiledTemplate] | None = None,
                         min_share: float = MIN_SHARE) -> float:
    """Round-trip every template (default: the reference workspace's) and raise ConformanceError
    when fewer than `min_share` of them render; returns the share rendered."""
    chosen = list(reference_templates() if templates is None else templates)
    if not chosen:
        raise ConformanceError("no templates to check the vendor against")
    rendered = [ct.name for ct in chosen if check_round_trip(vendor, ct)]
    share = len(rendered) / len(chosen)
    if share < min_share:
        raise ConformanceError(
            f"vendor {vendor.name} renders {len(rendered)} of {len(chosen)} reference templates "
            f"({share:.0%}, at least {min_share:.0%} required): a vendor that refuses (nearly) every template "
            "is not conformant, whatever it says about safety")
    return share


def vendor_conformance_test(vendor: Vendor | Callable[[], Vendor], max_examples: int = 500, *,
                            min_share: float = MIN_SHARE):
    """A pytest test function: the reference workspace's share (`check_renders_enough`), then the
    round trip on `max_examples` generated templates.

    In a plugin's tests: ``test_conformance = vendor_conformance_test(MY_VENDOR)``.
    """
    from hypothesis import HealthCheck, given, settings

    from .strategies import compiled_templates

    def resolve() -> Vendor:
        return vendor() if callable(vendor) and not isinstance(vendor, Vendor) else vendor

    @settings(max_examples=max_examples, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(ct=compiled_templates())
    def round_trip(ct: CompiledTemplate) -> None:
        check_round_trip(resolve(), ct)

    def test_vendor_round_trip_never_less_safe() -> None:
        check_renders_enough(resolve(), min_share=min_share)
        round_trip()

    return test_vendor_round_trip_never_less_safe
