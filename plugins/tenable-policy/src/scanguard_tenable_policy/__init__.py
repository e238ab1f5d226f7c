"""The Tenable policy model, shared by scanguard's Tenable plugins (Nessus, Tenable Security Center,
Tenable Vulnerability Management): one library they depend on, never a copy.

- `PolicyDocument` (document): the canonical policy a plugin renders, hashes, reads back and parses:
  settings keys, families off, all vulnerability families off, plugin ids off;
  `select_families` gives every family a scanner lists its explicit state, `live_document` reads a
  scanner's state back, `describe` writes a description with scanguard's marker;
- `render_document` (render) and `parse_document` / `api_document` (parse);
- `parse_range` / `render_range` / `default_ports` (portrange): `portscan_range` text both ways,
  exclusions written as the complement of the ports kept;
- `read_policy` / `render_policy_file` (policy_file): the .nessus Policy section both ways;
  `read_document` (parse): any form a Tenable vendor's parse accepts, as a document;
- `parse_nessus` (results, with evidence): .nessus v2 scan exports, host by host (Nessus, Security
  Center and Tenable VM all export them);
- `PolicyClient` (client): the policies REST API Nessus Manager and Tenable VM share;
- `exclusion`: scheduled exclusions (Tenable VM exclusions, Security Center freeze windows) as one
  document: never-scan devices always, devices with scan windows outside them (`EXCLUSIONS`);
- vocabulary: settings keys and defaults, port-scanner plugins and their settings keys, the
  category -> family table.

It imports only scanguard's public API, like the plugins that use it.
"""

from .document import (
    FORMAT,
    FamilySelection,
    PolicyDocument,
    describe,
    hinted_plugins,
    live_document,
    running_port_scanners,
    select_families,
)
from .exclusion import EXCLUSIONS, ExclusionDocument
from .parse import api_document, parse_document, read_document, template_name
from .policy_file import (
    PluginSelection,
    PolicyFileUnavailable,
    read_policy,
    read_policy_file,
    read_selection,
    render_policy_file,
)
from .portrange import default_ports, parse_range, render_range
from .render import CHECK_KINDS, VENDOR, refuse_what_tenable_cannot_enforce, render_document, render_payload
from .results import parse_nessus, parse_results
from .vendor import tenable_vendor
from .vocabulary import (
    CATEGORY_MAP,
    DEFAULTS,
    DISCOVERY_FAMILIES,
    MANAGED_SETTINGS,
    PORT_SCANNER_FAMILY,
    PORT_SCANNERS,
    CategoryMapping,
    recorded_families,
)

__version__ = "0.1.0"


def __getattr__(name: str):
    # the REST client pulls in requests (a tenth of a second): loaded when a client is made,
    # not for a `check` or a `render` that talks to no scanner
    if name == "PolicyClient":
        from .client import PolicyClient

        return PolicyClient
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "CATEGORY_MAP", "CHECK_KINDS", "CategoryMapping", "DEFAULTS", "DISCOVERY_FAMILIES", "EXCLUSIONS", "ExclusionDocument",
    "FORMAT", "FamilySelection", "MANAGED_SETTINGS", "PORT_SCANNERS", "PORT_SCANNER_FAMILY", "PluginSelection",
    "PolicyClient", "PolicyDocument", "PolicyFileUnavailable", "VENDOR", "api_document", "default_ports", "describe",
    "hinted_plugins", "live_document", "parse_document", "parse_nessus", "parse_range", "parse_results",
    "read_document", "read_policy", "read_policy_file", "read_selection", "recorded_families",
    "refuse_what_tenable_cannot_enforce", "render_document", "render_payload", "render_policy_file", "render_range",
    "running_port_scanners", "select_families", "template_name", "tenable_vendor",
]
