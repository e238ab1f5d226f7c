"""InsightVM sites' excluded targets: scanguard's scanner-side exclusions on a console.

A console scans sites, each with its included and excluded targets, and a scan of a site never
probes its excluded targets, whatever scan template it uses. scanguard adds the addresses of
every never-scan device to the excluded targets of every static site (the API keeps excluded
targets for static sites only) and keeps what people added there. The console has no global
exclusion list in API v3 and excluded targets carry no description, so there is no marker:
sync judges a site by whether its excluded targets cover the addresses (and tells a site
someone edited from a planned change by the state database).

InsightVM excludes whole addresses: a device's forbidden ports and its scan windows are kept by
the templates and `scanguard check`, not here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from scanguard import AddressSet, ExclusionSupport, RemoteObject, ScannerError, ScannerExclusion

if TYPE_CHECKING:
    from .client import InsightVMClient

DOCUMENT = "excluded-targets"
SITES = "/api/3/sites"
PAGE_SIZE = 100
MAX_PAGES = 10_000


def render_excluded(exclusions: tuple[ScannerExclusion, ...]) -> dict[str, Any]:
    """{"excluded-targets": {"addresses": [...]}}: every address to exclude from every static
    site ({} when there is none)."""
    whole = AddressSet.union_all(e.addresses for e in exclusions if e.ports is None and not e.schedule)
    return {DOCUMENT: {"addresses": whole.items()}} if whole else {}


def parse_excluded(document: Any) -> tuple[ScannerExclusion, ...]:
    """What an excluded-targets document blocks: its addresses, ranges and CIDRs. A host name
    blocks a name, not an address, so it counts for nothing here."""
    if not isinstance(document, dict) or not isinstance(document.get("addresses", []), list):
        raise ValueError("expected an object with a list of addresses")
    blocked, _names = AddressSet.parse_known(document.get("addresses", []))
    return (ScannerExclusion(name=DOCUMENT, kind="never", addresses=blocked),) if blocked else ()


SUPPORT = ExclusionSupport(render=render_excluded, parse=parse_excluded, ports=False, schedule=False,
                           artifact=False, creates=False)
"""InsightVM's scanner-side exclusions: every static site's excluded targets."""


def _sites(client: "InsightVMClient") -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    page = 0
    for _ in range(MAX_PAGES):
        answer = client._request("GET", SITES, params={"page": page, "size": PAGE_SIZE}) or {}
        resources = answer.get("resources") if isinstance(answer, dict) else None
        if not isinstance(resources, list):
            raise ScannerError(client.scanner, "the console's list of sites has no resources")
        out.extend(r for r in resources if isinstance(r, dict))
        info = answer.get("page")
        if not isinstance(info, dict) or not resources:
            break
        try:
            number, total = int(info.get("number", page)), int(info.get("totalPages", 0))
        except (TypeError, ValueError):
            raise ScannerError(client.scanner, "the console's page of sites has no readable page numbers") from None
        if number + 1 >= total:
            break
        page = number + 1
    return out


def _path(site_id: str, tail: str = "") -> str:
    return f"{SITES}/{quote(str(site_id), safe='')}{tail}"


def _excluded(client: "InsightVMClient", site_id: str) -> list[str]:
    answer = client._request("GET", _path(site_id, "/excluded_targets"))
    addresses = answer.get("addresses", []) if isinstance(answer, dict) else None
    if not isinstance(addresses, list):
        raise ScannerError(client.scanner, f"site {site_id}: the console's excluded targets are not a list")
    return [str(a) for a in addresses]


def _object(site_id: str, site_name: str, addresses: list[str]) -> RemoteObject:
    return RemoteObject(remote_id=site_id, name=DOCUMENT, managed=True,
                        payload={"site": site_name, "addresses": addresses})


def list_exclusions(client: "InsightVMClient") -> list[RemoteObject]:
    """The excluded targets of every static site (the sites scans run on)."""
    out = []
    for site in _sites(client):
        if site.get("type", "static") != "static" or site.get("id") in (None, ""):
            continue  # dynamic and agent sites have no excluded targets in the API
        site_id = str(site["id"])
        out.append(_object(site_id, str(site.get("name", "")), _excluded(client, site_id)))
    return out


def read_exclusion(client: "InsightVMClient", site_id: str) -> RemoteObject:
    """One site's excluded targets as they are now."""
    site = client._request("GET", _path(site_id))
    name = str(site.get("name", "")) if isinstance(site, dict) else ""
    return _object(site_id, name, _excluded(client, site_id))


def update_exclusion(client: "InsightVMClient", site_id: str, payload: Any) -> str:
    """Add the document's addresses to the site's excluded targets, keeping what is there
    (PUT replaces the list: GET, add, PUT)."""
    current = _excluded(client, site_id)
    have = set(current)
    if not isinstance(payload, dict) or not isinstance(payload.get("addresses"), list):
        raise ScannerError(client.scanner, f"site {site_id}: not an excluded-targets document")
    wanted = [str(a) for a in payload["addresses"] if str(a) not in have]
    if wanted:
        client._request("PUT", _path(site_id, "/excluded_targets"), body=current + wanted)
    return site_id
