"""scanguard's managed objects on a live gvmd, through python-gvm.

One managed template is a bundle of four GVM objects: a port list, a scan config, a target
(using the port list) and an alterable task (using the config and the target). Its remote id is
the scan config's id. Every object's comment carries the managed marker; the config's comment also
carries scanguard's intent (the base config, and the exclusions a scanner cannot show once a whole
family is off), so that reading back gives the very document render produced.

gvmd freezes objects in use ("Config is in use"), so an update never edits in place: it creates
a new version of the port list, config and target, repoints the task (and any other task an admin
made with the old config), and retires the old version. The remote id changes with every update.

A template without targets (and a scanner without `targets`) has nothing gvmd could make a target
of: only its port list and scan config are pushed, for an admin's own task; its target and task
settings are kept in the intent so that reading back still gives the rendered document.
"""

from __future__ import annotations

import json
import logging
import secrets
import socket
import ssl
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from gvm.connections import GvmConnection
from gvm.errors import GvmError, GvmResponseError, GvmServerError
from gvm.protocols.gmp import Gmp
from gvm.transforms import EtreeCheckCommandTransform
from scanguard import RemoteObject, ScannerConfig, ScannerError, parse_marker, resolve_secret

from .commands import port_range_text
from .connection import open_connection
from .vocabulary import FORMAT, FULL_AND_FAST, MANAGED_NVT_PREFERENCES, OPENVAS_DEFAULT_SCANNER, SCANNER_PREFERENCES

log = logging.getLogger(__name__)

INTENT_PREFIX = "scanguard:intent "
TRANSIENT_STATUSES = frozenset({502, 503, 504})
_TRANSIENT_GVM_TEXT = ("closed the connection", "Timeout", "Cannot parse XML", "not connected")


@dataclass
class Members:
    """The GVM objects of one managed bundle (None: missing on the scanner)."""

    config_id: str
    task_id: str | None = None
    target_id: str | None = None
    port_list_id: str | None = None
    other_tasks: tuple[str, ...] = ()
    """Tasks made by hand with this config (repointed on update)."""


def _hosts(text: str | None) -> list[str]:
    return [h.strip() for h in (text or "").split(",") if h.strip()]


def _intent(comment: str) -> dict[str, Any]:
    for line in comment.splitlines():
        if line.startswith(INTENT_PREFIX):
            try:
                return json.loads(line[len(INTENT_PREFIX):])
            except ValueError:
                return {}
    return {}


class GvmClient:
    """The ScannerClient of one gvmd (see the module docstring)."""

    def __init__(self, config: ScannerConfig, *, connect: Callable[[], GvmConnection] | None = None) -> None:
        self.scanner = config.name or "gvm"
        self._config = config
        self._connect = connect or (lambda: open_connection(config))
        self.base_config = str(config.options.get("base_config", FULL_AND_FAST))
        self.scanner_id = str(config.options.get("scanner_id", OPENVAS_DEFAULT_SCANNER))

    # -- sessions and errors ---------------------------------------------------------------------
    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Turn python-gvm and socket failures into ScannerError naming this scanner."""
        try:
            yield
        except ScannerError:
            raise
        except GvmResponseError as e:
            status = int(e.status) if str(e.status).isdigit() else None
            if status == 400 and "Authentication failed" in (e.message or ""):
                raise ScannerError(self.scanner, "authentication failed: gvmd refused the username and password "
                                                 "(check the credentials scanguard.toml names)", status=400) from None
            raise ScannerError(self.scanner, f"gvmd refused a command: {e.status} {e.message}", status=status) from None
        except GvmServerError as e:
            status = int(e.status) if str(e.status).isdigit() else None
            raise ScannerError(self.scanner, f"gvmd failed: {e.status} {e.message}", status=status,
                               transient=status in TRANSIENT_STATUSES) from None
        except (TimeoutError, socket.timeout):
            raise ScannerError(self.scanner, f"gvmd did not answer within {self._config.timeout_s:g}s",
                               transient=True) from None
        except ssl.SSLCertVerificationError as e:
            raise ScannerError(self.scanner, f"TLS certificate verification failed ({e.verify_message}): set "
                                             "tls.ca_bundle to the CA that signed gvmd's certificate") from None
        except OSError as e:
            raise ScannerError(self.scanner, f"cannot reach gvmd: {e.strerror or e}", transient=True) from None
        except GvmError as e:
            text = e.message or type(e).__name__
            raise ScannerError(self.scanner, f"GMP error: {text}",
                               transient=any(t in text for t in _TRANSIENT_GVM_TEXT)) from None

    @contextmanager
    def _session(self) -> Iterator[Any]:
        """An authenticated GMP session (python-gvm negotiates the protocol version)."""
        with self._errors():
            username = resolve_secret(self._config, "username")
            password = resolve_secret(self._config, "password")
            with Gmp(self._connect(), transform=EtreeCheckCommandTransform()) as gmp:
                gmp.authenticate(username.reveal(), password.reveal())
                yield gmp

    # -- ScannerClient ---------------------------------------------------------------------------
    def list_managed(self) -> list[RemoteObject]:
        """Every managed template, read as a whole bundle: one per name. Where an interrupted
        run left versions behind, the one a task uses is the template; the others are hidden here
        and removed by the next create or update of that name."""
        with self._session() as gmp:
            used = self._tasks_by_config(gmp)
            chosen: dict[str, str] = {}
            for c in gmp.get_scan_configs(filter_string="rows=-1").findall("config"):
                marker = parse_marker(c.findtext("comment"))
                if not marker:
                    continue
                name = marker[0] or c.findtext("name") or c.get("id")
                if name not in chosen or (c.get("id") in used and chosen[name] not in used):
                    chosen[name] = c.get("id")
            return [self._read(gmp, cid, used) for cid in chosen.values()]

    def read(self, remote_id: str) -> RemoteObject:
        """The bundle whose scan config is `remote_id`, as a document comparable with render's."""
        with self._session() as gmp:
            return self._read(gmp, remote_id)

    def create(self, name: str, payload: Any, marker: str) -> str:
        """Create the bundle; returns the scan config's id."""
        with self._session() as gmp:
            new_id = self._create_bundle(gmp, name, payload, marker, task_id=None)
            self._collect_garbage(gmp, name, keep=self._members(gmp, new_id))
            return new_id

    def update(self, remote_id: str, name: str, payload: Any, marker: str) -> str:
        """Create a new version, repoint the task to it, retire the old version; returns the new
        scan config's id (gvmd freezes objects in use: nothing is edited in place)."""
        with self._session() as gmp:
            old = self._members(gmp, remote_id)
            new_id = self._create_bundle(gmp, name, payload, marker, task_id=old.task_id)
            for task_id in old.other_tasks:
                gmp.modify_task(task_id, config_id=new_id)
            for kind, oid in (("target", old.target_id), ("port_list", old.port_list_id), ("config", old.config_id)):
                if oid:
                    self._retire(gmp, kind, oid)
            self._collect_garbage(gmp, name, keep=self._members(gmp, new_id))
            return new_id

    def delete(self, remote_id: str) -> None:
        """Delete the bundle: task, target, port list and scan config."""
        with self._session() as gmp:
            m = self._members(gmp, remote_id)
            for kind, oid in (("task", m.task_id), ("target", m.target_id), ("port_list", m.port_list_id),
                              ("config", m.config_id)):
                if oid:
                    self._delete(gmp, kind, oid, missing_ok=True)

    # -- writing ---------------------------------------------------------------------------------
    def _delete(self, gmp: Any, kind: str, oid: str, *, missing_ok: bool = False) -> None:
        method = {"task": gmp.delete_task, "target": gmp.delete_target, "port_list": gmp.delete_port_list,
                  "config": gmp.delete_scan_config}[kind]
        try:
            method(oid, ultimate=True)
        except GvmResponseError as e:
            if not (missing_ok and str(e.status) == "404"):
                raise

    def _retire(self, gmp: Any, kind: str, oid: str) -> None:
        """Delete an old version; if something else still uses it, drop its marker instead so
        it no longer counts as managed."""
        try:
            self._delete(gmp, kind, oid, missing_ok=True)
        except GvmResponseError as e:
            log.warning("scanner %s: old %s %s kept (%s); unmarking it", self.scanner, kind, oid, e.message)
            note = "scanguard: superseded version, no longer managed"
            if kind == "config":
                gmp.modify_scan_config_set_comment(oid, comment=note)
            elif kind == "port_list":
                gmp.modify_port_list(oid, comment=note)
            else:
                gmp.modify_target(oid, comment=note)

    def _collect_garbage(self, gmp: Any, name: str, keep: Members) -> None:
        """Delete what interrupted runs left of this template: marked objects of its name that
        nothing uses and that are not the version in force."""
        kept = {keep.config_id, keep.target_id, keep.port_list_id}
        listings = (("target", gmp.get_targets, "target"), ("port_list", gmp.get_port_lists, "port_list"),
                    ("config", gmp.get_scan_configs, "config"))
        for kind, lister, tag in listings:
            for el in lister(filter_string="rows=-1").findall(tag):
                marker = parse_marker(el.findtext("comment"))
                if marker and marker[0] == name and el.get("id") not in kept and el.findtext("in_use") != "1":
                    self._delete(gmp, kind, el.get("id"), missing_ok=True)

    def _create_bundle(self, gmp: Any, name: str, payload: dict[str, Any], marker: str, *, task_id: str | None) -> str:
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            raise ScannerError(self.scanner, f"template {name}: not a GVM document of format {FORMAT}")
        hosts = payload["target"]["hosts"] or list(self._config.targets)
        # gvmd wants names unique per object type; versions of one template differ by a suffix
        version = f"{name} [{secrets.token_hex(4)}]"
        sc = payload["scan_config"]
        intent = {"base": sc["base_config"], "families": sc["family_selection"]["families"],
                  "oids": sc["nvt_selection"]["excluded"], "scanner_hosts": not payload["target"]["hosts"]}
        if not hosts:
            intent["target"] = {k: payload["target"][k] for k in ("exclude_hosts", "alive_test")}
            intent["task"] = payload["task"]["preferences"]
        created: list[tuple[str, str]] = []
        try:
            pl_id = self._create_port_list(gmp, version, payload["port_list"]["ranges"], marker)
            created.append(("port_list", pl_id))
            comment = f"{marker}\n{INTENT_PREFIX}{json.dumps(intent, sort_keys=True)}"
            cfg_id = gmp.create_scan_config(sc["base_config"], version, comment=comment).get("id")
            created.append(("config", cfg_id))
            self._configure(gmp, cfg_id, sc)
            if not hosts:
                if task_id:  # the template lost its targets: its task goes, the config stays
                    self._delete(gmp, "task", task_id, missing_ok=True)
                return cfg_id
            tgt = payload["target"]
            tgt_id = gmp.create_target(version, hosts=hosts, comment=marker, exclude_hosts=tgt["exclude_hosts"] or None,
                                       alive_test=tgt["alive_test"], port_list_id=pl_id).get("id")
            created.append(("target", tgt_id))
            prefs = payload["task"]["preferences"]
            if task_id:
                gmp.modify_task(task_id, config_id=cfg_id, target_id=tgt_id, preferences=prefs, comment=marker)
            else:
                new_task = gmp.create_task(payload["task"]["name"], cfg_id, tgt_id, self.scanner_id, alterable=True,
                                           comment=marker, preferences=prefs).get("id")
                created.append(("task", new_task))
            return cfg_id
        except BaseException:
            # leave nothing half-made behind; the version in force (if any) is untouched
            for kind, oid in reversed(created):
                try:
                    self._delete(gmp, kind, oid, missing_ok=True)
                except Exception:  # the session may be gone: the next run finds and converges
                    log.warning("scanner %s: could not roll back %s %s", self.scanner, kind, oid)
            raise

    def _create_port_list(self, gmp: Any, name: str, ranges: list[dict[str, Any]], comment: str) -> str:
        if ranges:
            return gmp.create_port_list(name, port_range_text(ranges), comment=comment).get("id")
        # gvmd wants at least one range at creation: create with one, then remove it
        pl_id = gmp.create_port_list(name, "T:1", comment=comment).get("id")
        for r in gmp.get_port_list(pl_id).findall("port_list/port_ranges/port_range"):
            gmp.delete_port_range(r.get("id"))
        return pl_id

    def _configure(self, gmp: Any, cfg_id: str, sc: dict[str, Any]) -> None:
        for key, value in sc["scanner_preferences"].items():
            gmp.modify_scan_config_set_scanner_preference(cfg_id, key, value=value)
        for p in sc["nvt_preferences"]:
            gmp.modify_scan_config_set_nvt_preference(cfg_id, f"{p['oid']}:{p['id']}:{p['type']}:{p['name']}",
                                                      p["oid"], value=p["value"])
        live = [f.findtext("name") for f in gmp.get_nvt_families().findall("families/family")]
        sel = sc["family_selection"]
        if sel["mode"] == "all-except":
            keep, growing = [f for f in live if f not in sel["families"]], True
        else:
            keep, growing = [f for f in live if f in sel["families"]], False
        excluded = sc["nvt_selection"]["excluded"]
        partial = {fam for fam in (self._family_of(gmp, oid) for oid in excluded) if fam in keep}
        # a family keeping all but some NVTs is selected without "all", then narrowed per NVT
        gmp.modify_scan_config_set_family_selection(
            cfg_id, [(f, f not in partial, f not in partial) for f in keep], auto_add_new_families=growing)
        for fam in sorted(partial):
            members = [n.get("oid") for n in gmp.get_scan_config_nvts(family=fam).findall("nvt")]
            gmp.modify_scan_config_set_nvt_selection(cfg_id, fam, [o for o in members if o not in excluded])

    def _family_of(self, gmp: Any, oid: str) -> str | None:
        try:
            return gmp.get_scan_config_nvt(oid).findtext("nvt/family")
        except GvmResponseError as e:
            if str(e.status) == "404":
                return None  # not in the feed: nothing can run it
            raise

    # -- reading ---------------------------------------------------------------------------------
    def _tasks_by_config(self, gmp: Any) -> dict[str, list[tuple[str, str | None, bool]]]:
        """config id -> [(task id, target id, managed)] for every task, managed ones first."""
        out: dict[str, list[tuple[str, str | None, bool]]] = {}
        for task in gmp.get_tasks(filter_string="rows=-1").findall("task"):
            cfg, tgt = task.find("config"), task.find("target")
            if cfg is not None and cfg.get("id"):
                managed = parse_marker(task.findtext("comment")) is not None
                out.setdefault(cfg.get("id"), []).append(
                    (task.get("id"), tgt.get("id") if tgt is not None else None, managed))
        for tasks in out.values():
            tasks.sort(key=lambda t: not t[2])
        return out

    def _members(self, gmp: Any, config_id: str, used: dict[str, list] | None = None,
                 config_name: str | None = None) -> Members:
        m = Members(config_id=config_id)
        used = self._tasks_by_config(gmp) if used is None else used
        tasks = used.get(config_id, [])
        if tasks and tasks[0][2]:
            m.task_id, m.target_id = tasks[0][0], tasks[0][1]
        m.other_tasks = tuple(t[0] for t in tasks if t[0] != m.task_id)
        if m.target_id:
            pl = gmp.get_target(m.target_id).find("target/port_list")
            m.port_list_id = pl.get("id") if pl is not None else None
        else:  # no target: the port list of the same version is found by its name
            if config_name is None:
                try:
                    config_name = gmp.get_scan_config(config_id).findtext("config/name")
                except GvmResponseError:
                    return m
            lists = gmp.get_port_lists(filter_string="rows=-1").findall("port_list")
            m.port_list_id = next((pl.get("id") for pl in lists if pl.findtext("name") == config_name), None)
        return m

    def _read(self, gmp: Any, config_id: str, used: dict[str, list] | None = None) -> RemoteObject:
        with self._errors():
            try:
                cfg = gmp.get_scan_config(config_id).find("config")
            except GvmResponseError as e:
                if str(e.status) == "404":
                    raise ScannerError(self.scanner, f"scan config {config_id} does not exist", status=404) from None
                raise
        comment = cfg.findtext("comment") or ""
        marker = parse_marker(comment)
        intent = _intent(comment)
        name = (marker[0] if marker and marker[0] else None) or cfg.findtext("name") or config_id
        m = self._members(gmp, config_id, used, config_name=cfg.findtext("name"))
        payload = {
            "format": FORMAT,
            "name": name,
            "port_list": self._read_port_list(gmp, m.port_list_id, name),
            "scan_config": self._read_config(gmp, cfg, name, intent),
            "target": self._read_target(gmp, m.target_id, name, intent),
            "task": self._read_task(gmp, m.task_id, name, intent),
        }
        return RemoteObject(remote_id=config_id, name=name, payload=payload,
                            marker_hash=marker[1] if marker else None, managed=marker is not None)

    def _read_port_list(self, gmp: Any, pl_id: str | None, name: str) -> dict[str, Any]:
        ranges = []
        if pl_id:
            for r in gmp.get_port_list(pl_id).findall("port_list/port_ranges/port_range"):
                ranges.append({"type": (r.findtext("type") or "").upper(), "start": int(r.findtext("start")),
                               "end": int(r.findtext("end"))})
        return {"name": name, "ranges": sorted(ranges, key=lambda r: (r["type"], r["start"], r["end"]))}

    def _read_config(self, gmp: Any, cfg: Any, name: str, intent: dict[str, Any]) -> dict[str, Any]:
        scanner_prefs: dict[str, str] = {}
        nvt_values: dict[tuple[str, int], str] = {}
        for p in cfg.findall("preferences/preference"):
            oid = p.find("nvt").get("oid") if p.find("nvt") is not None else ""
            if not oid:
                scanner_prefs[p.findtext("name") or ""] = p.findtext("value") or ""
            elif (p.findtext("id") or "").isdigit():
                nvt_values[(oid, int(p.findtext("id")))] = p.findtext("value") or ""
        nvt_prefs = [{"oid": o, "id": i, "type": t, "name": n, "value": nvt_values[(o, i)]}
                     for o, i, t, n in MANAGED_NVT_PREFERENCES if (o, i) in nvt_values]
        families = {f.findtext("name"): (int(f.findtext("nvt_count") or 0), int(f.findtext("max_nvt_count") or 0))
                    for f in cfg.findall("families/family")}
        growing = (cfg.findtext("family_count/growing") or "0").strip() == "1"
        # exclusions the scanner cannot show: families or NVTs its feed does not have
        gone = [f for f in intent.get("families", []) if f not in families]
        if growing:
            selection = {"mode": "all-except",
                         "families": sorted({f for f, (n, _) in families.items() if n == 0} | set(gone))}
        else:
            selection = {"mode": "only", "families": sorted(f for f, (n, _) in families.items() if n > 0)}
        excluded: set[str] = set()
        for fam, (count, total) in families.items():
            if 0 < count < total:
                everything = {n.get("oid") for n in gmp.get_scan_config_nvts(family=fam).findall("nvt")}
                chosen = {n.get("oid") for n in
                          gmp.get_scan_config_nvts(config_id=cfg.get("id"), family=fam).findall("nvt")}
                excluded |= everything - chosen
        for oid in intent.get("oids", []):
            fam = self._family_of(gmp, oid)
            if fam is None or families.get(fam, (0, 0))[0] == 0:
                excluded.add(oid)  # not in the feed, or its whole family is off
        return {
            "name": name,
            "base_config": intent.get("base", FULL_AND_FAST),
            "scanner_preferences": {k: scanner_prefs[k] for k in SCANNER_PREFERENCES if k in scanner_prefs},
            "nvt_preferences": sorted(nvt_prefs, key=lambda x: (x["oid"], x["id"])),
            "family_selection": selection,
            "nvt_selection": {"excluded": sorted(excluded)},
        }

    def _read_target(self, gmp: Any, tgt_id: str | None, name: str, intent: dict[str, Any]) -> dict[str, Any]:
        if not tgt_id:
            kept = intent.get("target", {})
            return {"name": name, "hosts": [], "exclude_hosts": kept.get("exclude_hosts", []),
                    "alive_test": kept.get("alive_test")}
        tgt = gmp.get_target(tgt_id).find("target")
        alive = tgt.find("alive_tests")
        alive_text = ""
        if alive is not None:  # text in GMP 22.4-22.6, sub-elements in newer versions
            alive_text = (alive.text or "").strip() or ", ".join((a.text or "").strip() for a in alive)
        hosts = _hosts(tgt.findtext("hosts"))
        if intent.get("scanner_hosts") and hosts == list(self._config.targets):
            hosts = []  # the template had none: the scanner's targets were used
        return {"name": name, "hosts": hosts, "exclude_hosts": _hosts(tgt.findtext("exclude_hosts")),
                "alive_test": alive_text or None}

    def _read_task(self, gmp: Any, task_id: str | None, name: str, intent: dict[str, Any]) -> dict[str, Any]:
        if not task_id and "task" in intent:
            return {"name": name, "preferences": dict(intent["task"])}
        prefs: dict[str, str] = {}
        if task_id:
            for p in gmp.get_task(task_id).findall("task/preferences/preference"):
                key = p.findtext("scanner_name") or ""
                if key in ("max_checks", "max_hosts"):
                    prefs[key] = p.findtext("value") or ""
        return {"name": name, "preferences": prefs}
