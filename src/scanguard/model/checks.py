"""Vendor-neutral check categories and vendor-specific check identifiers."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Iterable

from ..suggest import hint
from .base import Model

CATEGORIES: tuple[str, ...] = (
    "dos",
    "brute-force",
    "exploit",
    "intrusive",
    "unsafe",
    "web-crawl",
    "fuzzing",
    "default-credentials",
)
"""The vendor-neutral check categories every vendor adapter maps to its own families."""


class VendorCheck(Model):
    """One vendor-specific check selector: vendor (nessus, gvm, insightvm, nmap...), kind
    (plugin, family, oid, check, category, type, script...) and the vendor's id."""

    vendor: str
    kind: str
    id: str

    def text(self) -> str:
        """"nessus:plugin:12345"."""
        return f"{self.vendor}:{self.kind}:{self.id}"


def parse_vendor_checks(value: Any) -> frozenset[VendorCheck]:
    """Accept {"nessus": {"plugin": [1, 2], "family": ["Denial of Service"]}}, a list of
    "vendor:kind:id" strings, or VendorCheck records."""
    out: set[VendorCheck] = set()
    if value is None:
        return frozenset()
    if isinstance(value, dict):
        for vendor, kinds in value.items():
            if not isinstance(kinds, dict):
                raise ValueError(
                    f"vendor checks for {vendor!r} must map a kind to ids, like {{plugin: [12345]}}"
                )
            for kind, ids in kinds.items():
                if isinstance(ids, (str, int)):
                    ids = [ids]
                for i in ids:
                    out.add(VendorCheck(vendor=str(vendor), kind=str(kind), id=str(i)))
        return frozenset(out)
    items: Iterable[Any] = value
    for item in items:
        if isinstance(item, VendorCheck):
            out.add(item)
        elif isinstance(item, dict):
            out.add(VendorCheck(**item))
        else:
            parts = str(item).split(":", 2)
            if len(parts) != 3 or not all(parts):
                raise ValueError(f"{item!r} is not vendor:kind:id (like nessus:plugin:12345)")
            out.add(VendorCheck(vendor=parts[0], kind=parts[1], id=parts[2]))
    return frozenset(out)


def check_categories(value: Any) -> frozenset[str]:
    """Validate vendor-neutral category names; raises ValueError naming an unknown one."""
    if value is None:
        return frozenset()
    if isinstance(value, str):
        value = [value]
    if isinstance(value, (list, tuple)) and all(type(v) is str for v in value):
        return _categories(tuple(value))
    return _categories_of(value)


@lru_cache(maxsize=1 << 12)
def _categories(value: tuple[str, ...]) -> frozenset[str]:
    # thousands of profiles name the same few lists of categories
    return _categories_of(value)


def _categories_of(value: Any) -> frozenset[str]:
    out = set()
    for v in value:
        key = str(v).strip().lower()
        if key not in CATEGORIES:
            raise ValueError(f"unknown check category {v!r}{hint(key, CATEGORIES)}; known: {', '.join(CATEGORIES)}")
        out.add(key)
    return frozenset(out)
