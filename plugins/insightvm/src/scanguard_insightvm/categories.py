"""The one table from scanguard's neutral check categories to what InsightVM can switch off.

InsightVM selects checks by category (`checks.categories`), by check type (`checks.types`) and
one by one (`checks.individual`); it also has a switch for unsafe checks (`checks.unsafe`) and one
for the web spider (`webEnabled`). A neutral category counts as excluded in a console document
only when every switch its row names is off, so parsing never reads more safety than is there.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Switches:
    """What excluding one neutral category turns off in a scan template."""

    categories: tuple[str, ...] = ()
    """check categories to disable (checks.categories.disabled)"""
    types: tuple[str, ...] = ()
    """check types to disable (checks.types.disabled)"""
    unsafe_off: bool = False
    """checks.unsafe must be false"""
    web_spider_off: bool = False
    """webEnabled must be false"""


CATEGORY_SWITCHES: dict[str, Switches] = {
    # InsightVM's denial-of-service checks have their own category, and the docs file the checks
    # that confirm DoS flaws under "unsafe": both go
    "dos": Switches(categories=("Denial of Service",), unsafe_off=True),
    # InsightVM guesses credentials only in its "Default Account" checks
    "brute-force": Switches(types=("Default Account",)),
    "default-credentials": Switches(types=("Default Account",)),
    # InsightVM does not exploit; its exploit-like, intrusive and fuzzing probes (buffer overflows,
    # malformed protocol messages) are the checks it classes as unsafe
    "exploit": Switches(unsafe_off=True),
    "intrusive": Switches(unsafe_off=True),
    "fuzzing": Switches(unsafe_off=True),
    "unsafe": Switches(unsafe_off=True),
    "web-crawl": Switches(web_spider_off=True),
}
"""Neutral category -> InsightVM switches (the only place this mapping lives)."""

CHECK_KINDS = frozenset({"check", "category", "type"})
"""The kinds of InsightVM-specific check ids a profile can exclude: individual check ids
(checks.individual), check categories and check types."""
