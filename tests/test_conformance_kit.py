"""The conformance kit scanguard ships: the round trip, and a vendor must render a share of the
reference workspace's templates (refusing everything is not conformant)."""

from __future__ import annotations

import pytest

from scanguard import CannotEnforce, ScanTemplate, Vendor
from scanguard.testing.conformance import (
    MIN_SHARE,
    ConformanceError,
    check_renders_enough,
    reference_templates,
    reference_workspace,
    vendor_conformance_test,
)


def _refuse(ct):
    raise CannotEnforce("this vendor keeps nothing")


REFUSES_ALL = Vendor(name="refuser", render=_refuse, parse=lambda payload: ScanTemplate(name="x"))
IDENTITY = Vendor(name="identity", render=lambda ct: ct.template, parse=lambda t: t)


def test_the_reference_is_the_example_hospital_workspace():
    assert (reference_workspace() / "scanguard.toml").is_file()
    assert len(reference_templates()) >= 10


def test_a_vendor_that_refuses_every_template_fails_the_kit():
    with pytest.raises(ConformanceError, match=r"renders 0 of \d+ reference templates"):
        check_renders_enough(REFUSES_ALL)


def test_the_ready_made_test_fails_a_vendor_that_refuses_everything():
    test = vendor_conformance_test(REFUSES_ALL, max_examples=5)
    with pytest.raises(ConformanceError, match="refuses"):
        test()


def test_a_vendor_refusing_most_templates_fails_below_the_share():
    keeps = {ct.name for ct in reference_templates()[:1]}

    def render(ct):
        if ct.name not in keeps:
            raise CannotEnforce("no")
        return ct.template

    partial = Vendor(name="partial", render=render, parse=lambda t: t)
    with pytest.raises(ConformanceError):
        check_renders_enough(partial)
    assert check_renders_enough(partial, min_share=0.0) < MIN_SHARE


def test_a_vendor_that_keeps_everything_passes():
    assert check_renders_enough(IDENTITY) == 1.0
    vendor_conformance_test(IDENTITY, max_examples=20)()
