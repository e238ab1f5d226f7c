"""Small builders for tests that make their own workspaces."""

from __future__ import annotations

import textwrap
from pathlib import Path

MINIMAL_TOML = """
[workspace]
name = "test"
state = "state.db"

[scanners.nmap-local]
type = "nmap"
"""

TEMPLATE = """
name: full-audit
ports: {tcp: "1-65535", udp: "53,161"}
discovery: {icmp: true, arp: true, tcp_ping: true, ping_ports: "22,80,443", port_scan: syn}
checks: {enabled: true, safe_only: false}
performance: {parallel_hosts: 30, parallel_checks_per_host: 5, timeout_s: 5}
"""


def make_workspace(root: Path, profiles: dict[str, str] | None = None, toml: str = MINIMAL_TOML,
                   templates: dict[str, str] | None = None) -> Path:
    """Write scanguard.toml, profiles/*.yaml and templates/*.yaml under root; returns root."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "scanguard.toml").write_text(textwrap.dedent(toml))
    (root / "profiles").mkdir(exist_ok=True)
    (root / "templates").mkdir(exist_ok=True)
    for name, text in (profiles or {}).items():
        (root / "profiles" / name).write_text(textwrap.dedent(text).lstrip())
    for name, text in (templates if templates is not None else {"full-audit.yaml": TEMPLATE}).items():
        (root / "templates" / name).write_text(textwrap.dedent(text).lstrip())
    return root
