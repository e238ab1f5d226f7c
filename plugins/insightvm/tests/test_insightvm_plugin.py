"""The plugin registers its vendor record through the same entry point a third party uses."""

from importlib.metadata import entry_points


def _vendor():
    (ep,) = [ep for ep in entry_points(group="scanguard") if ep.name == "insightvm"]
    (vendor,) = ep.load().scanguard_vendors()
    return vendor


def test_the_entry_point_registers_insightvm():
    vendor = _vendor()
    assert vendor.name == "insightvm"
    assert vendor.capabilities == {"render", "parse", "client", "activity", "results", "exclusions"}


def test_check_kinds_are_check_category_and_type():
    assert _vendor().check_kinds == {"check", "category", "type"}


def test_the_readme_says_what_the_performance_settings_throttle():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    for said in ("discovery.performance", "discovery phase", "vulnerability-check phase", "maxScanProcesses",
                 "maxParallelAssets", "webEnabled", "vulnerability_categories", "/api/3/json"):
        assert said in text, said
