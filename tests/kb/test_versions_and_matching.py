"""Affected versions as CSAF product trees write them, and matching advisories to profiles by
vendor, model and firmware (CSAF documents carry no CPEs for these devices)."""

from __future__ import annotations

import pytest

from scanguard.kb.match import THRESHOLD, new_profile, product_score, score_profile, vendor_score
from scanguard.kb.model import Advisory, Product
from scanguard.kb.versions import affected, parse_range
from scanguard.model.profile import DeviceProfile


@pytest.mark.parametrize("spec, inside, outside", [
    ("vers:all/<V4.3.8", "V4.3.7", "V4.3.8"),
    ("vers:all/>=V7.80<V9.40", "V8.0", "V9.40"),
    (">= 5.4.1 | <= 5.7.1", "5.7.1", "5.8"),
    ("<= 10", "9.9", "10.1"),
    ("All versions < V4.33", "V4.9", "V4.33"),
    ("2.3.6 and  below", "2.3.6", "2.4"),
    ("< V16 Update 4", "V16 Update 2", "V16 Update 4"),
    ("Versions 5.4.1 to 5.7.1", "5.5", "5.8"),
    ("V4.1", "V4.1", "V4.2"),
])
def test_version_ranges(spec, inside, outside):
    r = parse_range(spec)
    assert r is not None and r.contains(inside) and not r.contains(outside)


@pytest.mark.parametrize("spec", ["vers:all/*", "All versions", "*"])
def test_all_versions(spec):
    assert parse_range(spec).everything


@pytest.mark.parametrize("spec", ["HD 16 | HD23", "distributed  < april 1, 2018", "All versions with Ethernet interface"])
def test_free_text_is_unknown_not_a_guess(spec):
    assert parse_range(spec) is None
    assert affected("1.0", (spec,)) is None


def test_a_profiles_firmware_range_against_affected_ranges():
    assert affected("< 3.3", ("<= 3.2.19",)) is True
    assert affected("5.9", (">= 5.4.1 | <= 5.7.1",)) is False
    assert affected(None, ("<= 1",)) is None


@pytest.mark.parametrize("profile_vendor, vendors, good", [
    ("Johnson Controls (American Dynamics)", ["Sensormatic Electronics, LLC, Johnson Controls Inc."], True),
    ("WAGO / Siemens", ["Siemens"], True),
    ("Rockwell Automation", ["Rockwell Automation"], True),
    ("Schneider Electric", ["General Electric"], False),
    ("Philips", ["Fresenius Kabi"], False),
])
def test_vendor_names(profile_vendor, vendors, good):
    assert (vendor_score(vendors, profile_vendor) >= 0.5) is good


@pytest.mark.parametrize("model, names, good", [
    ("VideoEdge NVR", ["VideoEdge"], True),
    ("SCALANCE X-200", ["SCALANCE X-200 switch family (incl. SIPLUS NET variants)"], True),
    ("IntelliVue MP/MX", ["IntelliVue patient monitor MX100"], True),
    ("SCALANCE X-200", ["SCALANCE W1750D"], False),
    ("MicroLogix 1100", ["MicroLogix 1400"], False),
])
def test_model_names(model, names, good):
    assert (product_score(names, model) >= 0.6) is good


def advisory(**kw) -> Advisory:
    base = dict(id="ICSA-99-001-01", title="Acme Widget PLC",
                products=(Product(vendor="Acme", name="Widget PLC", versions=("vers:all/<2.4",)),))
    return Advisory(**{**base, **kw})


def profile(**kw) -> DeviceProfile:
    return DeviceProfile.model_validate({"id": "widget", "name": "Widgets", "vendor": "Acme Inc.",
                                         "model": "Widget PLC", **kw})


def test_an_affected_firmware_scores_higher_than_an_unknown_one_and_a_fixed_one_does_not_match():
    a = advisory()
    hit, unknown, fixed = (score_profile(a, a.products, profile(**kw)) for kw in
                           ({"firmware": "2.3"}, {}, {"firmware": "2.5"}))
    assert hit.score > unknown.score >= THRESHOLD > fixed.score
    assert "outside the affected versions" in fixed.why


def test_a_profile_that_lists_the_advisory_matches_fully():
    a = advisory()
    t = score_profile(a, a.products, profile(vendor="Other", model="Other", advisories=["ICSA-99-001-01"]))
    assert t.score == 1.0


def test_a_new_profile_is_named_for_the_advisory_and_never_clashes():
    a = advisory(title="Acme Widget PLC (Update B)")
    t = new_profile(a, (), taken={"acme-widget-plc"})
    assert t.new_profile.id == "acme-widget-plc-2" and t.new_profile.vendor == "Acme"
    assert t.new_profile.model == "Widget PLC" and t.new_profile.firmware == "< 2.4"
    DeviceProfile.model_validate({"id": t.new_profile.id, "name": t.new_profile.name})
