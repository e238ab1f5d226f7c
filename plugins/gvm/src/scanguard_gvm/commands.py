"""The GMP commands that create a document's objects on gvmd: what `render --out` writes.

The commands follow the shapes python-gvm sends (the client pushes through python-gvm itself).
Ids that gvmd assigns at creation (the new port list, config and target) appear as stable
placeholder UUIDs derived from the template name; what cannot be known offline is said in an
XML comment: NVT selection is resolved against the scanner's feed at push time, because GVM
selects NVTs per family all-or-nothing (leaving one out means selecting all the others).
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

from lxml import etree

from .hosts import DEFAULT_MAX_IPS_PER_TARGET, read_gvm_hosts
from .vocabulary import KNOWN_FAMILIES, OPENVAS_DEFAULT_SCANNER, PORT_SCANNERS


def placeholder_id(name: str, kind: str) -> str:
    """A stable stand-in for the id gvmd will assign to a template's object of one kind."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"scanguard:gvm:{name}:{kind}"))


def _el(parent: etree._Element | None, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    el = etree.Element(tag, **attrs) if parent is None else etree.SubElement(parent, tag, **attrs)
    if text is not None:
        el.text = text
    return el


def port_range_text(ranges: list[dict[str, Any]]) -> str:
    """gvmd's port range text with the protocol on every range: "T:1-7099,T:7101-65535,U:53"."""
    return ",".join(
        f"{r['type'][0].upper()}:{r['start']}" + ("" if r["start"] == r["end"] else f"-{r['end']}") for r in ranges
    )


def b64(value: str) -> str:
    """GMP carries preference values base64-encoded."""
    return base64.b64encode(value.encode()).decode()


def gmp_commands(doc: dict[str, Any], *, comment: str | None = None) -> list[etree._Element]:
    """The GMP command elements creating the document's objects, in order."""
    name = doc["name"]
    comment = comment if comment is not None else f"scanguard template {name}"
    pl_id, cfg_id, tgt_id = (placeholder_id(name, k) for k in ("port_list", "config", "target"))
    out: list[etree._Element] = []

    cmd = _el(None, "create_port_list")
    _el(cmd, "name", doc["port_list"]["name"])
    _el(cmd, "port_range", port_range_text(doc["port_list"]["ranges"]))
    _el(cmd, "comment", comment)
    out.append(cmd)

    sc = doc["scan_config"]
    cmd = _el(None, "create_config")
    _el(cmd, "comment", comment)
    _el(cmd, "copy", sc["base_config"])
    _el(cmd, "name", sc["name"])
    _el(cmd, "usage_type", "scan")
    out.append(cmd)
    for key, value in sc["scanner_preferences"].items():
        cmd = _el(None, "modify_config", config_id=cfg_id)
        pref = _el(cmd, "preference")
        _el(pref, "name", key)
        _el(pref, "value", b64(value))
        out.append(cmd)
    for p in sc["nvt_preferences"]:
        cmd = _el(None, "modify_config", config_id=cfg_id)
        pref = _el(cmd, "preference")
        _el(pref, "nvt", oid=p["oid"])
        _el(pref, "name", f"{p['oid']}:{p['id']}:{p['type']}:{p['name']}")
        _el(pref, "value", b64(p["value"]))
        out.append(cmd)
    cmd = _el(None, "modify_config", config_id=cfg_id)
    fs = _el(cmd, "family_selection")
    sel = sc["family_selection"]
    _el(fs, "growing", "1" if sel["mode"] == "all-except" else "0")
    keep = [f for f in KNOWN_FAMILIES if f not in sel["families"]] if sel["mode"] == "all-except" else sel["families"]
    for family in keep:
        if family == PORT_SCANNERS:  # selected NVT by NVT, below
            continue
        fam = _el(fs, "family")
        _el(fam, "name", family)
        _el(fam, "all", "1")
        _el(fam, "growing", "1")
    out.append(cmd)
    if sc.get("port_scanners"):
        cmd = _el(None, "modify_config", config_id=cfg_id)
        ns = _el(cmd, "nvt_selection")
        _el(ns, "family", PORT_SCANNERS)
        for oid in sc["port_scanners"]:
            _el(ns, "nvt", oid=oid)
        out.append(cmd)

    tgt = doc["target"]
    cmd = _el(None, "create_target")
    _el(cmd, "name", tgt["name"])
    _el(cmd, "hosts", ",".join(tgt["hosts"]))
    _el(cmd, "comment", comment)
    if tgt["exclude_hosts"]:
        _el(cmd, "exclude_hosts", ",".join(tgt["exclude_hosts"]))
    _el(cmd, "alive_tests", tgt["alive_test"])
    _el(cmd, "port_list", id=pl_id)
    out.append(cmd)

    task = doc["task"]
    cmd = _el(None, "create_task")
    _el(cmd, "name", task["name"])
    _el(cmd, "usage_type", "scan")
    _el(cmd, "config", id=cfg_id)
    _el(cmd, "target", id=tgt_id)
    _el(cmd, "scanner", id=OPENVAS_DEFAULT_SCANNER)
    _el(cmd, "comment", comment)
    _el(cmd, "alterable", "1")
    prefs = _el(cmd, "preferences")
    for key, value in task["preferences"].items():
        pref = _el(prefs, "preference")
        _el(pref, "scanner_name", key)
        _el(pref, "value", value)
    out.append(cmd)
    return out


def serialize(doc: dict[str, Any]) -> str:
    """The GMP command stream for `render --out` (one command a line, as gvmd reads them after
    authenticate), with comments naming the placeholder ids and the NVT selection to resolve."""
    name = doc["name"].replace("--", "- -")  # "--" may not appear inside an XML comment
    lines = [
        f"<!-- scanguard: GMP commands creating the GVM objects of template {name}. -->",
        "<!-- Ids gvmd assigns are placeholders: port list "
        f"{placeholder_id(name, 'port_list')}, config {placeholder_id(name, 'config')}, target "
        f"{placeholder_id(name, 'target')}. -->",
    ]
    if not doc["target"]["hosts"]:
        lines.append("<!-- The template has no targets of its own: the push uses the scanner's targets. -->")
    size = read_gvm_hosts(",".join(doc["target"]["hosts"]))[0].size()
    if size > DEFAULT_MAX_IPS_PER_TARGET:
        lines.append(f"<!-- The target names {size} addresses; gvmd takes at most {DEFAULT_MAX_IPS_PER_TARGET} per "
                     "target by default (--max-ips-per-target): a push cuts it into parts, each a target and a task "
                     "of its own. -->")
    for cmd in gmp_commands(doc):
        lines.append(etree.tostring(cmd, encoding="unicode"))
        if cmd.tag == "modify_config" and cmd.find("family_selection") is not None:
            for oid in doc["scan_config"]["nvt_selection"]["excluded"]:
                lines.append(f"<!-- nvt_selection: leave out NVT {oid}: select every other NVT of its family "
                             "(GVM selects NVTs per family all-or-nothing; resolved against the feed at push) -->")
    return "\n".join(lines) + "\n"
