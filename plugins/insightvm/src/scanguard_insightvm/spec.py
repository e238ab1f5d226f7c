"""Validation of request bodies against Rapid7's official Swagger 2.0 spec of the console API.

The spec (console-swagger.json, from rapid7/vm-console-client-python) is not shipped with the
plugin: `find_spec()` looks for it in $SCANGUARD_INSIGHTVM_SPEC, then in
`<ancestor>/shared/fixtures/insightvm/console-swagger.json` above this file and the working
directory (the project's checkout keeps the shared fixtures beside the repository).

Swagger 2.0 schemas are a subset of JSON Schema draft 4, so `SpecValidator` validates with
jsonschema's Draft4Validator over a root schema that carries the spec's `definitions`, which is
how every `#/definitions/...` reference resolves.

One erratum is applied, and only one: the four port-list fields of
ScanTemplateServiceDiscoveryTcp/Udp (`additionalPorts`, `excludedPorts`) are published as arrays
of `{"type": "object"}` (the generator's rendering of Java's `List<Object>`), while the same spec
says "individual ports can be specified as numbers or a string, but port ranges must be strings"
and gives CSV strings ("3078,8000-8080") as the examples. Taken literally no port list at all
would validate. `PORT_LIST_SCHEMA` states what the description and examples say: an array of
ports (integers) and ranges (strings), or one CSV string; it is stricter than the literal spec
about what a port looks like.
"""

from __future__ import annotations

import copy
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

SPEC_ENV = "SCANGUARD_INSIGHTVM_SPEC"
SPEC_RELATIVE = Path("shared") / "fixtures" / "insightvm" / "console-swagger.json"

_PORT_ITEM = {
    "anyOf": [
        {"type": "integer", "minimum": 1, "maximum": 65535},
        {"type": "string", "pattern": r"^\s*[0-9]{1,5}\s*(-\s*[0-9]{1,5}\s*)?$"},
    ]
}
PORT_LIST_ARRAY: dict[str, Any] = {"type": "array", "items": _PORT_ITEM}
"""A port list as the 3.0 spec takes it: an array of ports (integers) and ranges (strings)."""
PORT_LIST_CSV: dict[str, Any] = {"type": "string", "pattern": r"^[0-9,\s-]*$"}
"""A port list as the 3.1 spec takes it: one CSV string ("3078,8000-8080")."""
PORT_LIST_SCHEMA: dict[str, Any] = {"anyOf": [PORT_LIST_ARRAY, PORT_LIST_CSV]}
"""What a port list is, per the spec's own description and examples (see the module docstring)."""
PORT_LIST_FORMS: dict[str, dict[str, Any]] = {"array": PORT_LIST_ARRAY, "csv": PORT_LIST_CSV, "either": PORT_LIST_SCHEMA}
PORT_LIST_FIELDS: tuple[tuple[str, str], ...] = (
    ("ScanTemplateServiceDiscoveryTcp", "additionalPorts"),
    ("ScanTemplateServiceDiscoveryTcp", "excludedPorts"),
    ("ScanTemplateServiceDiscoveryUdp", "additionalPorts"),
    ("ScanTemplateServiceDiscoveryUdp", "excludedPorts"),
)


def find_spec() -> Path | None:
    """The path of console-swagger.json, or None when it is not found (see the module docstring)."""
    env = os.environ.get(SPEC_ENV)
    if env:
        return Path(env) if Path(env).is_file() else None
    for base in (Path(__file__).resolve(), Path.cwd().resolve()):
        for parent in base.parents:
            candidate = parent / SPEC_RELATIVE
            if candidate.is_file():
                return candidate
    return None


def apply_errata(spec: dict[str, Any], port_form: str = "either") -> dict[str, Any]:
    """A copy of the spec with the port-list erratum applied (see the module docstring): port
    lists as `port_form` says, "array" (the 3.0 form), "csv" (the 3.1 form) or "either"."""
    fixed = copy.deepcopy(spec)
    for definition, field in PORT_LIST_FIELDS:
        props = fixed["definitions"][definition]["properties"]
        kept = {k: props[field][k] for k in ("description", "example") if k in props[field]}
        props[field] = dict(PORT_LIST_FORMS[port_form], **kept)
    return fixed


def api_version(spec: Any) -> tuple[int, ...]:
    """The API version a console's spec declares (info.version: "3" -> (3,), "3.1" -> (3, 1))."""
    text = str(((spec or {}).get("info") or {}).get("version") or "") if isinstance(spec, dict) else ""
    parts = []
    for piece in text.strip().split("."):
        if not piece.isdigit():
            break
        parts.append(int(piece))
    return tuple(parts)


def spec_port_form(spec: Any) -> str:
    """The port-list form a console's own spec (GET /api/3/json) takes: the type it gives
    ScanTemplateServiceDiscoveryTcp.excludedPorts ("string": "csv", "array": "array"), else by
    its declared version (3.1 and later: "csv"; 3.0: "array")."""
    try:
        field = spec["definitions"]["ScanTemplateServiceDiscoveryTcp"]["properties"]["excludedPorts"]
    except (KeyError, TypeError):
        field = {}
    kind = field.get("type") if isinstance(field, dict) else None
    if kind in ("string", "array"):
        return "csv" if kind == "string" else "array"
    return "csv" if api_version(spec) >= (3, 1) else "array"


class SpecValidator:
    """Validates documents against definitions of the console spec (errata applied)."""

    def __init__(self, spec: dict[str, Any], *, errata: bool = True, port_form: str = "either") -> None:
        from jsonschema import Draft4Validator  # optional dependency: only tests and the fake need it

        self.spec = apply_errata(spec, port_form) if errata else spec
        self._draft = Draft4Validator
        self._validators: dict[str, Any] = {}

    def _validator(self, definition: str) -> Any:
        if definition not in self._validators:
            if definition not in self.spec["definitions"]:
                raise KeyError(f"the spec has no definition {definition!r}")
            # the $ref is resolved against this root schema, which carries every definition
            root = {"$ref": f"#/definitions/{definition}", "definitions": self.spec["definitions"]}
            self._validators[definition] = self._draft(root)
        return self._validators[definition]

    def errors(self, definition: str, document: Any) -> list[str]:
        """Every way `document` breaks the definition, as "path: message" lines (empty: valid)."""
        out = []
        for err in sorted(self._validator(definition).iter_errors(document), key=lambda e: list(e.absolute_path)):
            where = "/".join(str(p) for p in err.absolute_path) or "(body)"
            out.append(f"{where}: {err.message[:300]}")
        return out

    def validate(self, definition: str, document: Any) -> None:
        """Raise ValueError listing every error when `document` does not validate."""
        errs = self.errors(definition, document)
        if errs:
            raise ValueError(f"body does not validate against {definition}:\n" + "\n".join(errs))

    def example(self, definition: str) -> Any:
        """A document built from the `example` values the spec gives each property of a
        definition (nested definitions followed, cycles cut): what the spec shows a console sends."""
        return _example(self.spec["definitions"], definition, ())

    def body_schema(self, method: str, path_template: str) -> str | None:
        """The definition name of the body parameter of an operation, e.g. ("POST",
        "/api/3/scan_templates") -> "ScanTemplate"; None when the operation takes no body."""
        op = self.spec["paths"].get(path_template, {}).get(method.lower(), {})
        for param in op.get("parameters", []):
            if param.get("in") == "body":
                ref = param.get("schema", {}).get("$ref", "")
                return ref.rsplit("/", 1)[-1] or None
        return None


def _example(definitions: dict[str, Any], name: str, seen: tuple[str, ...]) -> Any:
    d = definitions[name]
    if "properties" not in d:
        return d.get("example")
    out: dict[str, Any] = {}
    for key, prop in d["properties"].items():
        ref = prop.get("$ref", "").rsplit("/", 1)[-1]
        items = prop.get("items") or {}
        item_ref = items.get("$ref", "").rsplit("/", 1)[-1] if isinstance(items, dict) else ""
        if ref:
            if ref not in seen:
                out[key] = _example(definitions, ref, (*seen, ref))
        elif prop.get("type") == "array":
            if item_ref:
                out[key] = [] if item_ref in seen else [_example(definitions, item_ref, (*seen, item_ref))]
            elif "example" in items:
                out[key] = [items["example"]]
            elif "example" in prop:
                out[key] = prop["example"] if isinstance(prop["example"], list) else [prop["example"]]
            else:
                out[key] = []
        elif "example" in prop:
            out[key] = prop["example"]
    return out


@lru_cache(maxsize=8)
def load_validator(path: str | None = None, errata: bool = True, port_form: str = "either") -> SpecValidator | None:
    """A validator over the spec at `path` (default: `find_spec()`), or None when there is none."""
    where = Path(path) if path else find_spec()
    if where is None or not where.is_file():
        return None
    return SpecValidator(json.loads(where.read_text(encoding="utf-8")), errata=errata, port_form=port_form)
