"""Sites and their excluded targets for the fake InsightVM console (insightvm.py).

    fake.add_site("Clinical floors", included=["10.20.0.0/16"], excluded=["10.20.9.9"])  # its id
    fake.add_site("Cloud", site_type="dynamic")      # a dynamic site (no excluded targets)
    fake.excluded_targets(site_id)                    # a copy of the list
    fake.edit_excluded_targets(site_id, [...])        # a console user's hand edit

Endpoints (Rapid7's console API v3 shapes, from console-swagger.json): GET /api/3/sites (paged
like the scan templates: resources, page, links), GET /api/3/sites/{id} (a Site),
GET/PUT/POST/DELETE /api/3/sites/{id}/excluded_targets (GET answers a ScanTargetsResource;
PUT replaces the list, POST adds to it, DELETE removes from it; the bodies are arrays of
strings, validated against the operation's body schema in the spec, and each string must be an
address, a range, a CIDR or a host name, as the console requires). Excluded targets exist for
static sites only: a dynamic or agent site answers 400.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import re
from typing import Any

SITES = "/api/3/sites"
_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")


def _address_ok(text: str) -> bool:
    item = text.strip()
    try:
        if "/" in item:
            ipaddress.ip_network(item, strict=False)
        elif "-" in item and not _HOSTNAME.match(item):
            lo, _, hi = item.partition("-")
            ipaddress.ip_address(lo.strip())
            ipaddress.ip_address(hi.strip())
        else:
            ipaddress.ip_address(item)
        return True
    except ValueError:
        return bool(_HOSTNAME.match(item))


class SitesMixin:
    """The sites part of FakeInsightVM (which provides lock, url, _error_body, validator,
    bodies, page_size and _BadRequest handling)."""

    def _init_sites(self) -> None:
        self.sites: dict[int, dict[str, Any]] = {}
        self.site_excluded: dict[int, list[str]] = {}
        self.site_included: dict[int, list[str]] = {}
        self._site_ids = iter(range(1, 1_000_000))

    # test-side API -----------------------------------------------------------------------------
    def add_site(self, name: str, *, site_type: str = "static", included: list[str] | None = None,
                 excluded: list[str] | None = None, scan_template: str = "full-audit-without-web-spider") -> int:
        """A site someone made in the console; its id."""
        with self.lock:  # type: ignore[attr-defined]
            site_id = next(self._site_ids)
            self.sites[site_id] = {
                "assets": 0, "description": "", "id": site_id, "importance": "normal", "name": name,
                "riskScore": 0.0, "scanEngine": 3, "scanTemplate": scan_template, "type": site_type,
                "vulnerabilities": {"critical": 0, "moderate": 0, "severe": 0, "total": 0},
            }
            self.site_included[site_id] = list(included or [])
            if site_type == "static":
                self.site_excluded[site_id] = list(excluded or [])
            return site_id

    def excluded_targets(self, site_id: int) -> list[str]:
        """A copy of a site's excluded targets."""
        with self.lock:  # type: ignore[attr-defined]
            return list(self.site_excluded[site_id])

    def edit_excluded_targets(self, site_id: int, addresses: list[str]) -> None:
        """A console user's hand edit of a site's excluded targets."""
        with self.lock:  # type: ignore[attr-defined]
            self.site_excluded[site_id] = list(addresses)

    # serving -----------------------------------------------------------------------------------
    def _site_links(self, site_id: int, tail: str = "") -> list[dict[str, str]]:
        return [{"href": f"{self.url}{SITES}/{site_id}{tail}", "rel": "self"}]  # type: ignore[attr-defined]

    def _address_body(self, method: str, path: str, raw: bytes) -> list[str]:
        from .insightvm import _BadRequest

        try:
            body = json.loads(raw or b"null")
        except ValueError:
            raise _BadRequest("The request body is not valid JSON.") from None
        with self.lock:  # type: ignore[attr-defined]
            self.bodies.append((method, path, copy.deepcopy(body)))  # type: ignore[attr-defined]
        validator = self.validator  # type: ignore[attr-defined]
        if validator is not None:
            schema = self._operation_schema(validator, method)
            from jsonschema import Draft4Validator

            errs = [e.message for e in Draft4Validator(schema).iter_errors(body)]
            if errs:
                raise _BadRequest("The request body is invalid: " + "; ".join(errs[:5]))
        if not isinstance(body, list) or not all(isinstance(a, str) for a in body):
            raise _BadRequest("The request body must be a list of addresses.")
        bad = [a for a in body if not _address_ok(a)]
        if bad:
            raise _BadRequest(f"Invalid address: {bad[0]}")
        return body

    @staticmethod
    def _operation_schema(validator: Any, method: str) -> dict[str, Any]:
        op = validator.spec["paths"][f"{SITES}/{{id}}/excluded_targets"][method.lower()]
        (param,) = [p for p in op["parameters"] if p.get("in") == "body"]
        return {**param["schema"], "definitions": validator.spec["definitions"]}

    def _sites_route(self, method: str, path: str, query: dict[str, list[str]], raw: bytes) -> tuple[int, Any]:
        if path.rstrip("/") == SITES:
            if method != "GET":
                return 405, self._error_body(405, f"Method {method} is not supported here.")  # type: ignore[attr-defined]
            return 200, self._site_page(query)
        m = re.fullmatch(re.escape(SITES) + r"/(\d+)(/excluded_targets)?", path)
        if not m:
            return 404, self._error_body(404, f"No resource at {path}.")  # type: ignore[attr-defined]
        site_id = int(m.group(1))
        with self.lock:  # type: ignore[attr-defined]
            site = copy.deepcopy(self.sites.get(site_id))
        if site is None:
            return 404, self._error_body(404, f"Site {site_id} does not exist.")  # type: ignore[attr-defined]
        if not m.group(2):
            if method != "GET":
                return 405, self._error_body(405, f"Method {method} is not supported here.")  # type: ignore[attr-defined]
            site["links"] = self._site_links(site_id)
            return 200, site
        if site["type"] != "static":
            return 400, self._error_body(400, "Excluded targets can only be managed in a static site.")  # type: ignore[attr-defined]
        links = self._site_links(site_id, "/excluded_targets")
        if method == "GET":
            with self.lock:  # type: ignore[attr-defined]
                return 200, {"addresses": list(self.site_excluded[site_id]), "links": links}
        body = self._address_body(method, path, raw)
        with self.lock:  # type: ignore[attr-defined]
            current = self.site_excluded[site_id]
            if method == "PUT":
                self.site_excluded[site_id] = list(body)
            elif method == "POST":
                self.site_excluded[site_id] = current + [a for a in body if a not in current]
                return 201, {"id": site_id, "links": links}
            elif method == "DELETE":
                self.site_excluded[site_id] = [a for a in current if a not in body]
            else:
                return 405, self._error_body(405, f"Method {method} is not supported here.")  # type: ignore[attr-defined]
        return 200, {"links": links}

    def _site_page(self, query: dict[str, list[str]]) -> dict[str, Any]:
        from .insightvm import _BadRequest

        try:
            number = int(query.get("page", ["0"])[0])
            size = max(1, int(query.get("size", [str(self.page_size)])[0]))  # type: ignore[attr-defined]
        except ValueError:
            raise _BadRequest("page and size must be integers") from None
        with self.lock:  # type: ignore[attr-defined]
            ids = sorted(self.sites)
            chosen = [copy.deepcopy(self.sites[i]) for i in ids[number * size:(number + 1) * size]]
        for site in chosen:
            site["links"] = self._site_links(site["id"])
        pages = max(1, -(-len(ids) // size))
        links = [{"href": f"{self.url}{SITES}?page={number}&size={size}", "rel": "self"}]  # type: ignore[attr-defined]
        if number + 1 < pages:
            links.append({"href": f"{self.url}{SITES}?page={number + 1}&size={size}", "rel": "next"})  # type: ignore[attr-defined]
        return {"resources": chosen, "page": {"number": number, "size": size, "totalPages": pages,
                                              "totalResources": len(ids)}, "links": links}
