"""Proposals: profile changes from ``scanguard correlate --propose FILE``, applied to the right
profile with one command (``scanguard apply-proposal FILE``).

Applying edits the profile's YAML *text*, not a re-dump of it: comments, key order, quoting and
folded reasons stay as the team wrote them. Each edit is placed with PyYAML's node positions
and then verified: the edited file must load to exactly the old data plus the change, or
nothing is written. After writing, the workspace is validated again; any problem rolls every
written file back.

The proposal file::

    # scanguard proposal: apply with `scanguard apply-proposal THIS-FILE --workspace DIR`
    schema_version: 1
    proposals:
    - host: 127.0.0.23
      title: Port 7100/tcp takes down 127.0.0.23
      confidence: 0.75
      change: {kind: excluded_port, ports: 7100/tcp, reason: ..., evidence: [...]}
    - host: 10.99.1.5                   # from `scanguard find-misplaced --propose FILE`
      title: 10.99.1.5 looks like pos-terminal outside its location
      change: {profile: pos-terminal, kind: location, hosts: [10.99.1.5], reason: ..., evidence: [...]}

A location change adds the addresses to the profile's `location.hosts` with its reason and
evidence as comment lines just above them (only ever adding: a location is never narrowed by a
proposal).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import yaml
from pydantic import ValidationError

from .errors import ScanguardError, WorkspaceError
from .model.base import Model
from .model.events import Finding, ProfileChange
from .workspace import Workspace, check_workspace
from .yamlsrc import YAMLSourceError
from .yamlsrc import parse as parse_yaml

SCHEMA_VERSION = 1
HEADER = "# scanguard proposal: apply with `scanguard apply-proposal THIS-FILE --workspace DIR`\n"


class Proposal(Model):
    """One proposed change, for the device that owns `host`."""

    host: str | None = None
    title: str = ""
    confidence: float = 0.5
    change: ProfileChange


class AppliedChange(Model):
    """What applying one proposal did."""

    profile: str
    file: str
    kind: str
    summary: str
    changed: bool = True


class ProposalError(ScanguardError):
    """A proposal could not be applied; nothing was changed."""

    exit_code = 2


# -- the proposal file ----------------------------------------------------------------------------
def proposals_from(findings: Iterable[Finding], *, best_per_host: bool = True) -> list[Proposal]:
    """The proposals of findings (already ordered best first): by default only the best one for
    each host, which is what a single `apply-proposal` should do."""
    out: list[Proposal] = []
    seen: set[str | None] = set()
    for f in findings:
        if f.proposal is None or (best_per_host and f.host in seen):
            continue
        seen.add(f.host)
        out.append(Proposal(host=f.host, title=f.title, confidence=f.confidence, change=f.proposal))
    return out


def dump_proposals(proposals: Sequence[Proposal]) -> str:
    """The YAML text of a proposal file."""
    doc = {"schema_version": SCHEMA_VERSION,
           "proposals": [p.model_dump(mode="json", exclude_none=True) for p in proposals]}
    return HEADER + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)


def write_proposals(proposals: Sequence[Proposal], path: str | Path) -> Path:
    """Write a proposal file."""
    path = Path(path)
    path.write_text(dump_proposals(proposals), encoding="utf-8")
    return path


def read_proposals(path: str | Path) -> list[Proposal]:
    """Read a proposal file; ProposalError naming the file when it is not one."""
    try:
        data = parse_yaml(Path(path).read_text(encoding="utf-8")).data
    except (OSError, UnicodeDecodeError) as e:
        raise ProposalError(f"{path}: cannot read the proposal: {e}") from None
    except YAMLSourceError as e:  # read like a workspace file: YAML 1.2, no aliases
        raise ProposalError(f"{path}:{e.line or 1}: cannot read the proposal: {e}") from None
    if not isinstance(data, dict) or "proposals" not in data:
        raise ProposalError(f"{path}: not a scanguard proposal file (no 'proposals' list)")
    if data.get("schema_version", SCHEMA_VERSION) > SCHEMA_VERSION:
        raise ProposalError(f"{path}: schema_version {data['schema_version']} is newer than this scanguard reads")
    try:
        return [Proposal.model_validate(p) for p in data["proposals"] or []]
    except ValidationError as e:
        raise ProposalError(f"{path}: invalid proposal: {e.errors(include_url=False)[0]['msg']}") from None


# -- applying -------------------------------------------------------------------------------------
def apply_proposals(proposals: Sequence[Proposal], workspace_root: str | Path, *,
                    validate: Callable[[Workspace], None] | None = None) -> list[AppliedChange]:
    """Apply proposals to the profiles of the workspace at `workspace_root`.

    Each proposal goes to the profile it names, else to the profile whose location holds its
    host. After writing, the workspace is validated (and `validate(workspace)` called, e.g. to
    compile it); on any problem every file written is restored and the error raised."""
    root = Path(workspace_root)
    ws, problems = check_workspace(root)
    if ws is None:
        raise WorkspaceError(problems.items)
    originals: dict[Path, str] = {}
    applied: list[AppliedChange] = []
    try:
        for p in proposals:
            pid = _target_profile(ws, p)
            file = root / ws.source_of(f"profile:{pid}")
            text = file.read_text(encoding="utf-8")  # again: an earlier proposal may have changed it
            new_text, summary = edit_profile_text(text, p.change, source=str(file))
            if new_text == text:
                applied.append(AppliedChange(profile=pid, file=str(file), kind=p.change.kind, summary=summary,
                                             changed=False))
                continue
            originals.setdefault(file, text)
            file.write_text(new_text, encoding="utf-8")
            applied.append(AppliedChange(profile=pid, file=str(file), kind=p.change.kind, summary=summary))
        if originals:
            verify_workspace(root, validate)
    except BaseException:
        for file, text in originals.items():
            file.write_text(text, encoding="utf-8")
        raise
    return applied


def verify_workspace(root: Path, validate: Callable[[Workspace], None] | None = None) -> Workspace:
    """After profiles were written: the workspace must still load (ProposalError listing every
    problem otherwise), and pass `validate` (e.g. compile and render) when given."""
    after, problems = check_workspace(root)
    if after is None:
        raise ProposalError("the workspace would no longer validate; nothing was changed:\n"
                            + "\n".join(x.text() for x in problems.errors))
    if validate is not None:
        validate(after)
    return after


def _target_profile(ws: Workspace, p: Proposal) -> str:
    if p.change.profile:
        if ws.profile(p.change.profile) is None:
            raise ProposalError(f"the proposal names profile {p.change.profile!r}, which the workspace does not have")
        return p.change.profile
    if not p.host:
        raise ProposalError("the proposal names neither a profile nor a host")
    owners = [prof.id for prof in ws.profiles if _holds(prof, p.host)]
    if not owners:
        raise ProposalError(f"no profile in the workspace covers host {p.host}: add the host to a profile's "
                            "location (or write a profile for the device) and apply again")
    if len(owners) > 1:
        raise ProposalError(f"host {p.host} is in several profiles ({', '.join(owners)}): set change.profile "
                            "in the proposal to the one to change")
    return owners[0]


def _holds(profile, host: str) -> bool:
    try:
        return host in profile.addresses()
    except ValueError:
        return False


# -- editing the YAML text --------------------------------------------------------------------------
def edit_profile_text(text: str, change: ProfileChange, *, source: str = "<profile>") -> tuple[str, str]:
    """The profile text with the change added, and a one-line summary. The result is verified
    to load to the old data plus the change (ProposalError otherwise)."""
    try:
        data = parse_yaml(text).data  # as the loader reads it (YAML 1.2): `0100` is 100 here too
    except YAMLSourceError as e:
        raise ProposalError(f"{source}:{e.line or 1}: {e}") from None
    if not isinstance(data, dict):
        raise ProposalError(f"{source}: not a profile (expected a mapping)")
    expected = copy.deepcopy(data)
    if expected.get("constraints") is None:
        expected["constraints"] = {}
    constraints = expected["constraints"]
    if not isinstance(constraints, dict):
        raise ProposalError(f"{source}: constraints is not a mapping")
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    assert isinstance(root, yaml.MappingNode)
    cnode = _value(root, "constraints")
    edits: list[tuple[int, int, str]] = []

    if change.kind in ("excluded_port", "excluded_check"):
        key = "excluded_ports" if change.kind == "excluded_port" else "excluded_checks"
        item = _item(change)
        constraints.setdefault(key, [])
        if not isinstance(constraints[key], list):
            raise ProposalError(f"{source}: constraints.{key} is not a list")
        constraints[key].append(item)
        summary = f"added {key[:-1].replace('_', ' ')} {_item_text(change)}"
        edits += _append_to_list(text, root, cnode, key, item, source)
    elif change.kind == "rate":
        rate = constraints.get("rate")
        new_fields = {k: v for k, v in (("packets_per_second", change.packets_per_second),
                                        ("parallel_checks_per_host", change.parallel_checks_per_host),
                                        ("probe_delay_ms", change.probe_delay_ms)) if v is not None}
        if not new_fields:
            raise ProposalError(f"{source}: the rate proposal sets no limit")
        if rate is None:
            constraints["rate"] = {**new_fields, "reason": change.reason, "evidence": list(change.evidence)}
            edits += _add_key(text, root, cnode, "rate", constraints["rate"], source)
            summary = "added rate limit " + ", ".join(f"{k}={v}" for k, v in new_fields.items())
        else:
            tighter = {k: v for k, v in new_fields.items()
                       if rate.get(k) is None or (v > rate[k] if k == "probe_delay_ms" else v < rate[k])}
            if not tighter:
                return text, "the profile's rate limits are already at least as strict; nothing to change"
            rnode = _value(cnode, "rate")
            for k, v in tighter.items():
                rate[k] = v
                edits += _set_scalar(text, rnode, k, v)
            edits += _merge_reason(text, root, rnode, rate, data["constraints"]["rate"], change, source)
            summary = "lowered rate limit " + ", ".join(f"{k}={v}" for k, v in tighter.items())
    elif change.kind == "discovery":
        if not change.forbid_discovery:
            raise ProposalError(f"{source}: the discovery proposal forbids no method")
        disc = constraints.get("discovery")
        flags = {m: False for m in change.forbid_discovery}
        if disc is None:
            constraints["discovery"] = {**flags, "reason": change.reason, "evidence": list(change.evidence)}
            edits += _add_key(text, root, cnode, "discovery", constraints["discovery"], source)
            summary = "forbade discovery by " + ", ".join(flags)
        else:
            if not isinstance(disc, dict):
                raise ProposalError(f"{source}: constraints.discovery is not a mapping")
            newly = [m for m in flags if disc.get(m) is not False]
            if not newly:
                return text, "the profile already forbids these discovery methods; nothing to change"
            dnode = _value(cnode, "discovery")
            for m in newly:
                disc[m] = False
                edits += _set_scalar(text, dnode, m, False)
            edits += _merge_reason(text, root, dnode, disc, data["constraints"]["discovery"], change, source)
            summary = "forbade discovery by " + ", ".join(newly)
    elif change.kind == "safe_checks":
        if constraints.get("safe_checks_only") is not None:
            return text, "the profile already requires safe checks only; nothing to change"
        constraints["safe_checks_only"] = {"reason": change.reason, "evidence": list(change.evidence)}
        edits += _add_key(text, root, cnode, "safe_checks_only", constraints["safe_checks_only"], source)
        summary = "required safe checks only"
    elif change.kind == "fingerprint":
        if not change.ports:
            raise ProposalError(f"{source}: the fingerprint proposal names no port")
        from .model.ports import PortSet

        fp = expected.get("fingerprint")
        if fp is None:
            expected["fingerprint"] = {"open_ports": change.ports.text().split(", ")}
            edits += _add_key(text, root, root, "fingerprint", expected["fingerprint"], source)
        else:
            if not isinstance(fp, dict):
                raise ProposalError(f"{source}: fingerprint is not a mapping")
            old = fp.get("open_ports")
            try:
                have = PortSet.parse(old) if old else PortSet()
            except (TypeError, ValueError) as e:
                raise ProposalError(f"{source}: fingerprint.open_ports: {e}") from None
            missing = change.ports - have
            if not missing:
                return text, "the fingerprint already lists these ports; nothing to change"
            fnode = _value(root, "fingerprint")
            added = missing.text().split(", ")
            if isinstance(old, str):
                fp["open_ports"] = (have | missing).text()
                edits += _set_scalar(text, fnode, "open_ports", fp["open_ports"])
            else:
                fp["open_ports"] = list(old or []) + added
                edits += _append_to_list(text, root, fnode, "open_ports", added, source, extend=True)
        summary = f"added open ports {change.ports.text()} to the fingerprint"
    elif change.kind == "location":
        # a location change touches no constraint: leave that part of the expectation as read
        if "constraints" in data:
            expected["constraints"] = copy.deepcopy(data["constraints"])
        else:
            del expected["constraints"]
        present = _location_of(data, source)
        hosts = [h for h in dict.fromkeys(change.hosts) if not _covers(present, h)]
        if not change.hosts:
            raise ProposalError(f"{source}: the location proposal names no host")
        if not hosts:
            return text, f"{', '.join(change.hosts)} already in its location; nothing to change"
        if expected.get("location") is None:
            expected["location"] = {}
        if not isinstance(expected["location"], dict):
            raise ProposalError(f"{source}: location is not a mapping")
        expected["location"].setdefault("hosts", [])
        if not isinstance(expected["location"]["hosts"], list):
            raise ProposalError(f"{source}: location.hosts is not a list")
        expected["location"]["hosts"].extend(hosts)
        edits += _add_hosts(text, root, hosts, _comment(change), source)
        summary = f"added host{'s' if len(hosts) > 1 else ''} {', '.join(hosts)} to its location"
    else:  # pragma: no cover - the model allows no other kind
        raise ProposalError(f"unknown change kind {change.kind!r}")
    if change.advisory and change.advisory not in (expected.get("advisories") or []):
        if expected.get("advisories") is not None and not isinstance(expected["advisories"], list):
            raise ProposalError(f"{source}: advisories is not a list")
        expected["advisories"] = list(expected.get("advisories") or []) + [change.advisory]
        # first in the list: where both land at the end of the file, the constraint (indented
        # under constraints) must come before a new top-level advisories key
        edits = _append_to_list(text, root, root, "advisories", [change.advisory], source, extend=True) + edits

    if data.get("constraints") is None and expected.get("constraints") == {}:
        # a change outside constraints (the fingerprint) leaves a missing constraints key missing
        if "constraints" in data:
            expected["constraints"] = data["constraints"]
        else:
            del expected["constraints"]

    new_text = text
    for start, end, repl in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        new_text = new_text[:start] + repl + new_text[end:]
    try:
        got = parse_yaml(new_text).data
    except YAMLSourceError as e:
        got = e
    if got != expected:
        raise ProposalError(f"{source}: could not add the change without disturbing the rest of the file; "
                            f"add it by hand:\n{yaml.safe_dump(_by_hand(expected, change.kind), sort_keys=False)}")
    return new_text, summary


def _by_hand(expected: dict[str, Any], kind: str) -> dict[str, Any]:
    """What to add by hand when the text could not be edited in place."""
    if kind == "location":
        return {"location": expected["location"]}
    keys = ("excluded_ports", "excluded_checks", "rate", "discovery", "safe_checks_only")
    out: dict[str, Any] = {"constraints": {k: v for k, v in (expected.get("constraints") or {}).items() if k in keys}}
    if expected.get("fingerprint"):
        out["fingerprint"] = expected["fingerprint"]
    return out


def _location_of(data: dict, source: str):
    from .model.profile import Location

    try:
        return Location.model_validate(data.get("location") or {}).addresses()
    except ValidationError as e:
        raise ProposalError(f"{source}: its location does not validate: {e.errors(include_url=False)[0]['msg']}") from None


def _covers(addresses, host: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ProposalError(f"{host!r} is not an IP address") from None
    return host in addresses


def _comment(change: ProfileChange, width: int = 96) -> list[str]:
    """The reason and evidence of a change as comment lines (kept in the profile beside the
    address they justify)."""
    import textwrap

    text = change.reason + (": " + "; ".join(change.evidence) if change.evidence else "")
    return ["# " + line for line in textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)]


def _line_start(text: str, index: int) -> int:
    return text.rfind("\n", 0, index) + 1


def _commented(lines: list[str], indent: int) -> str:
    return "".join(" " * indent + line + "\n" for line in lines)


def _add_hosts(text: str, root: yaml.MappingNode, hosts: list[str], comment: list[str],
               source: str) -> list[tuple[int, int, str]]:
    """Edits that add `hosts` to location.hosts, with the comment lines just above them (or above
    the key that holds them, for a list written in flow style)."""
    lnode = _value(root, "location")
    if lnode is None:
        at = len(text)
        block = "location:\n" + _commented(comment, 2) + _indent_block(_dump({"hosts": hosts}), 2)
        return [(at, at, _newline_prefix(text, at) + block)]
    if not isinstance(lnode, yaml.MappingNode):
        raise ProposalError(f"{source}: location is not a mapping")
    lkey = next(k for k, v in root.value if v is lnode)
    hnode = _value(lnode, "hosts")
    if hnode is None:
        if lnode.flow_style or not lnode.value:
            close = lnode.end_mark.index - 1  # the "}"
            if not lnode.flow_style or text[close] != "}":
                raise ProposalError(f"{source}: cannot add hosts to an empty location; add them by hand")
            body = f"hosts: [{', '.join(json.dumps(h) for h in hosts)}]"
            at = _line_start(text, lkey.start_mark.index)
            return [(at, at, _commented(comment, lkey.start_mark.column)),
                    (close, close, (", " if lnode.value else "") + body)]
        indent = lnode.value[0][0].start_mark.column
        at = _line_end(text, _tail(lnode))
        return [(at, at, _newline_prefix(text, at) + _commented(comment, indent)
                 + _indent_block(_dump({"hosts": hosts}), indent))]
    if not isinstance(hnode, yaml.SequenceNode):
        raise ProposalError(f"{source}: location.hosts is not a list")
    if hnode.flow_style or not hnode.value:
        hkey = next(k for k, v in lnode.value if v is hnode)
        close = hnode.end_mark.index - 1  # the "]"
        if text[close] != "]":
            raise ProposalError(f"{source}: cannot add to location.hosts as written; add the hosts by hand")
        at = _line_start(text, hkey.start_mark.index)
        return [(at, at, _commented(comment, hkey.start_mark.column)),
                (close, close, (", " if hnode.value else "") + ", ".join(json.dumps(h) for h in hosts))]
    first = hnode.value[0]
    line = text[_line_start(text, first.start_mark.index):first.start_mark.index]
    dash = len(line) - len(line.lstrip())
    at = _line_end(text, _tail(hnode))
    return [(at, at, _newline_prefix(text, at) + _commented(comment, dash) + _indent_block(_dump(hosts), dash))]


def _item(change: ProfileChange) -> dict[str, Any]:
    if change.kind == "excluded_port":
        if not change.ports:
            raise ProposalError("an excluded_port proposal names no port")
        head: dict[str, Any] = {"ports": change.ports.text()}
    else:
        if change.check is None and not change.category and not change.categories:
            raise ProposalError("an excluded_check proposal names no check")
        head = {}
        categories = [*([change.category] if change.category else []), *change.categories]
        if categories:
            head["categories"] = categories
        if change.check is not None:
            c = change.check
            head["vendor"] = {c.vendor: {c.kind: [int(c.id) if c.id.isdigit() else c.id]}}
    return {**head, "reason": change.reason, "evidence": list(change.evidence)}


def _item_text(change: ProfileChange) -> str:
    if change.kind == "excluded_port" and change.ports:
        return change.ports.text()
    if change.check is not None:
        return change.check.text()
    cats = [*([change.category] if change.category else []), *change.categories]
    return f"categor{'y' if len(cats) == 1 else 'ies'} {', '.join(cats)}"


def _merge_reason(text: str, root: yaml.MappingNode, node: yaml.Node | None, item: dict[str, Any],
                  before: dict[str, Any], change: ProfileChange, source: str) -> list[tuple[int, int, str]]:
    """Edits that append the change's reason to an existing item's reason and its new evidence
    to the item's evidence (`item` is the expected data, updated here; `before` the item as read)."""
    edits: list[tuple[int, int, str]] = []
    reason = f"{item.get('reason', '')} {change.reason}".strip()
    item["reason"] = reason
    edits += _set_scalar(text, node, "reason", reason)
    added = [e for e in change.evidence if e not in (before.get("evidence") or [])]
    if added:
        item["evidence"] = list(item.get("evidence") or []) + added
        edits += _append_to_list(text, root, node, "evidence", added, source, extend=True)
    return edits


def _value(mapping: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(mapping, yaml.MappingNode):
        return None
    for k, v in mapping.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key:
            return v
    return None


def _line_end(text: str, index: int) -> int:
    """The index just after the line holding `index` (block scalars may end at a line start)."""
    if index > 0 and text[index - 1] == "\n":
        return index
    nl = text.find("\n", index)
    return len(text) if nl < 0 else nl + 1


def _tail(node: yaml.Node) -> int:
    """Where the text of a node really ends (block collections end at the next token)."""
    if isinstance(node, yaml.MappingNode) and node.value and not node.flow_style:
        return _tail(node.value[-1][1])
    if isinstance(node, yaml.SequenceNode) and node.value and not node.flow_style:
        return _tail(node.value[-1])
    return node.end_mark.index


def _indent_block(block: str, indent: int) -> str:
    pad = " " * indent
    return "".join(pad + line if line.strip() else line for line in block.splitlines(keepends=True))


def _dump(value: Any) -> str:
    return yaml.safe_dump(value, sort_keys=False, allow_unicode=True, width=100, default_flow_style=False)


def _newline_prefix(text: str, at: int) -> str:
    return "" if at == 0 or text[at - 1] == "\n" else "\n"


def _append_to_list(text: str, root: yaml.MappingNode, parent: yaml.Node | None, key: str, item: Any,
                    source: str, *, extend: bool = False) -> list[tuple[int, int, str]]:
    items = item if extend else [item]
    node = _value(parent, key) if parent is not None else None
    if node is None:
        return _add_key(text, root, parent, key, items, source)
    if not isinstance(node, yaml.SequenceNode):
        raise ProposalError(f"{source}: {key} is not a list")
    if node.flow_style:
        close = node.end_mark.index - 1  # the "]"
        body = ", ".join(json.dumps(i, ensure_ascii=False) for i in items)
        return [(close, close, (", " if node.value else "") + body)]
    first = node.value[0]
    line_start = text.rfind("\n", 0, first.start_mark.index) + 1
    line = text[line_start:first.start_mark.index]
    dash = len(line) - len(line.lstrip())
    at = _line_end(text, _tail(node))
    return [(at, at, _newline_prefix(text, at) + _indent_block(_dump(items), dash))]


def _add_key(text: str, root: yaml.MappingNode, parent: yaml.Node | None, key: str, value: Any,
             source: str) -> list[tuple[int, int, str]]:
    if parent is None:  # no constraints block yet: one at the end of the file
        at = len(text)
        block = "constraints:\n" + _indent_block(_dump({key: value}), 2)
        return [(at, at, _newline_prefix(text, at) + block)]
    if not isinstance(parent, yaml.MappingNode):
        raise ProposalError(f"{source}: cannot add {key} under a value that is not a mapping")
    if parent.flow_style:
        close = parent.end_mark.index - 1  # the "}"
        return [(close, close, (", " if parent.value else "") + f"{json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}")]
    indent = parent.value[0][0].start_mark.column if parent.value else 2
    at = _line_end(text, _tail(parent))
    return [(at, at, _newline_prefix(text, at) + _indent_block(_dump({key: value}), indent))]


def _set_scalar(text: str, mapping: yaml.Node | None, key: str, value: Any) -> list[tuple[int, int, str]]:
    node = _value(mapping, key)
    literal = json.dumps(value, ensure_ascii=False)  # JSON scalars are YAML flow scalars
    if node is None:
        assert isinstance(mapping, yaml.MappingNode)
        if mapping.flow_style:
            close = mapping.end_mark.index - 1
            return [(close, close, f", {key}: {literal}")]
        indent = mapping.value[0][0].start_mark.column
        at = _line_end(text, _tail(mapping))
        return [(at, at, _newline_prefix(text, at) + " " * indent + f"{key}: {literal}\n")]
    if not isinstance(node, yaml.ScalarNode):
        raise ProposalError(f"{key} is not a single value")
    start, end = node.start_mark.index, node.end_mark.index
    span = text[start:end]
    trailing = span[len(span.rstrip("\n")):] if node.style in ("|", ">") else ""
    return [(start, end, literal + trailing)]
