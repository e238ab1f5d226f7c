"""Scan exports: which vendor wrote a file, told from its content (the root element of the XML)
against the `result_roots` each vendor plugin declares, and the file read host by host."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Mapping

from .errors import UnsafeInput, UsageError
from .model.events import HostResult
from .plugin.records import Vendor
from .safexml import iterparse
from .suggest import unknown


def root_element(path: Path) -> str:
    """The tag of the document element of an XML file (only its start is read). UnsafeInput
    for a file that is not XML or is hostile; UsageError when it cannot be read."""
    try:
        with path.open("rb") as f:
            for _, el in iterparse(f, str(path), events=("start",)):
                return str(el.tag)
    except OSError as e:
        raise UsageError(f"{path}: cannot read the export: {e.strerror or e}") from None
    raise UnsafeInput(path, "is empty: no XML document in it")


def vendor_of(path: Path, vendors: Mapping[str, Vendor], forced: str | None = None) -> Vendor:
    """The vendor whose results parser reads `path`: `forced` (a --vendor flag) or the one whose
    result exports have the file's root element. UsageError naming the file otherwise."""
    if forced is not None:
        if forced not in vendors:
            raise UsageError(unknown("vendor", forced, vendors, listed="loaded"))
        chosen = vendors[forced]
    else:
        root = root_element(path)
        found = [v for v in vendors.values() if root in v.result_roots]
        if not found:
            known = ", ".join(f"<{r}> ({v.name})" for v in vendors.values() for r in sorted(v.result_roots))
            raise UsageError(f"{path}: no loaded vendor writes exports with root element <{root}> "
                             f"(known: {known or 'none'}); pass --vendor")
        if len(found) > 1:
            raise UsageError(f"{path}: root element <{root}> is claimed by {', '.join(v.name for v in found)}; "
                             "pass --vendor")
        chosen = found[0]
    if chosen.parse_results is None:
        raise UsageError(f"vendor {chosen.name} cannot read result exports (its plugin has no parse_results)")
    return chosen


def read_hosts(vendor: Vendor, path: Path) -> Iterator[HostResult]:
    """The hosts of an export, one at a time, as the vendor's parser streams them."""
    assert vendor.parse_results is not None
    try:
        f = path.open("rb")
    except OSError as e:
        raise UsageError(f"{path}: cannot read the export: {e.strerror or e}") from None
    with f:
        yield from vendor.parse_results(f)
