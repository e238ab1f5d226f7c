"""scanguard's managed objects on a live gvmd, through python-gvm.

One managed template is a bundle of GVM objects: a port list, a scan config, and for every part
of its targets a target (using the port list) and an alterable task (using the config and the
target). A template whose targets fit in one gvmd target (--max-ips-per-target, 4095 addresses
by default, counted before exclusions; `options.max_ips_per_target` of the scanner) has one part;
a larger one is cut into several (see hosts.py), read back and drift-checked as one template. Its
remote id is the scan config's id. Every object's comment carries the managed marker; the
config's comment also carries scanguard's intent (the base config, and the exclusions a scanner
cannot show once a whole family is off), so that reading back gives the very document render
produced.

gvmd freezes objects in use ("Config is in use"; and although it lets a port range of a port
list in use be deleted, scanguard never does that either), so an update never edits in place: it
creates a new version of the port list, config and targets, repoints its own tasks (reading every
task back: gvmd may refuse or ignore a repoint), and deletes the old version. What it never does:

- repoint or delete a task it did not make. A task an admin made with a managed scan config (or
  with a managed target or port list) keeps the version it uses; that version stays, marked, and
  the sync reports it until the admin repoints or deletes the task;
- half-update: a task of its own that has run and is not alterable cannot take a new config or
  target ("Status must be New to edit config"); that is found before anything is written and
  reported, and a failure halfway puts every repointed task back and removes what was made.

A run cut short (a lost connection, a kill) may still leave objects of a template that no
version in force uses: they read as part of the template (`leftovers`), so that it differs from
what was pushed and the next sync's restore deletes them; a session whose connection was lost
is over (connection.SessionConnection), a transient failure the sync retries.

Without a feed gvmd has no NVTs and stores no scanner or NVT preferences (and answers 503 to NVT
look-ups): nothing is pushed, and the error says why.

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
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from gvm.connections import GvmConnection
from gvm.errors import GvmError, GvmResponseError, GvmServerError
from gvm.protocols.gmp import Gmp
from gvm.transforms import EtreeCheckCommandTransform
from scanguard import AddressSet, RemoteObject, ScannerConfig, ScannerError, parse_marker, payload_hash, resolve_secret

from .commands import port_range_text
from .connection import SessionConnection, open_connection
from .hosts import (
    ABSOLUTE_MAX_IPS_PER_TARGET,
    DEFAULT_MAX_IPS_PER_TARGET,
    gvm_items,
    read_gvm_hosts,
    split,
)
from .vocabulary import (
    FORMAT,
    FULL_AND_FAST,
    MANAGED_NVT_PREFERENCES,
    OPENVAS_DEFAULT_SCANNER,
    PORT_SCANNERS,
    SCANNER_PREFERENCES,
)

log = logging.getLogger(__name__)

INTENT_PREFIX = "scanguard:intent "
TRANSIENT_STATUSES = frozenset({502, 503, 504})
_TRANSIENT_GVM_TEXT = ("closed the connection", "Timeout", "Cannot parse XML", "not connected")
SUPERSEDED = "scanguard: superseded version, no longer managed"
LEFTOVERS = "leftovers"
"""The key under which a template reads what interrupted runs left of it (see `_read`)."""
KIND_NAMES = {"config": "scan config", "target": "target", "port_list": "port list"}
NO_FEED = ("gvmd has no NVT feed: it lists no NVT families, stores no scanner or NVT preferences and answers "
           "503 to NVT look-ups, so safe_checks, the alive test, the port scanner and the family selection of a "
           "scan config can be neither set nor verified. Nothing was pushed. Let gvmd load the feed from its "
           "scanner (greenbone-feed-sync, then wait until `gvmd --get-scanners`' scanner has synced) and run again")


@dataclass(frozen=True)
class TaskInfo:
    """One task of the scanner, as the task listing shows it."""

    id: str
    name: str
    config_id: str | None
    target_id: str | None
    managed: bool
    status: str
    alterable: bool
    preferences: dict[str, str]
    comment: str = ""


@dataclass(frozen=True)
class TargetInfo:
    """One target of the scanner, as the target listing shows it."""

    id: str
    name: str
    hosts: str
    exclude_hosts: str
    port_list_id: str | None
    alive_test: str | None
    comment: str


@dataclass
class Inventory:
    """Every task and target, read once per session step."""

    tasks: list[TaskInfo]
    targets: dict[str, TargetInfo]

    def tasks_of_config(self, config_id: str) -> list[TaskInfo]:
        """Tasks using a scan config."""
        return [t for t in self.tasks if t.config_id == config_id]

    def tasks_of_target(self, target_id: str) -> list[TaskInfo]:
        """Tasks using a target."""
        return [t for t in self.tasks if t.target_id == target_id]

    def targets_of_port_list(self, port_list_id: str) -> list[TargetInfo]:
        """Targets using a port list."""
        return [t for t in self.targets.values() if t.port_list_id == port_list_id]


@dataclass
class Bundle:
    """The GVM objects of one managed template version."""

    config_id: str
    config_name: str | None
    parts: list[tuple[TaskInfo, TargetInfo | None]] = field(default_factory=list)
    """(managed task, its target) per part, in address order."""
    port_list_id: str | None = None
    extra_port_lists: list[str] = field(default_factory=list)
    """Other port lists its targets use (only ever by a hand edit)."""
    foreign_tasks: list[TaskInfo] = field(default_factory=list)
    """Tasks made outside scanguard that use the config: never repointed, never deleted."""


def _intent(comment: str) -> dict[str, Any]:
    for line in comment.splitlines():
        if line.startswith(INTENT_PREFIX):
            try:
                return json.loads(line[len(INTENT_PREFIX):])
            except ValueError:
                return {}
    return {}


def _task_name(payload: dict[str, Any], part: int, parts: int) -> str:
    """The name of the task of one part (0-based) of a template cut into `parts`."""
    name = payload["task"]["name"]
    return name if parts == 1 else f"{name} (part {part + 1} of {parts})"


def _task_names(tasks: list[TaskInfo]) -> str:
    return ", ".join(f"'{t.name}' ({t.id})" for t in tasks)


def _first_address(target: TargetInfo | None) -> tuple:
    if target is None:
        return (2, 0)
    addresses, _ = read_gvm_hosts(target.hosts)
    if addresses.v4:
        return (0, addresses.v4.intervals[0][0])
    if addresses.v6:
        return (1, addresses.v6.intervals[0][0])
    return (2, 0)


class GvmClient:
    """The ScannerClient of one gvmd (see the module docstring)."""

    def __init__(self, config: ScannerConfig, *, connect: Callable[[], GvmConnection] | None = None) -> None:
        self.scanner = config.name or "gvm"
        self._config = config
        self._connect = connect or (lambda: open_connection(config))
        self.base_config = str(config.options.get("base_config", FULL_AND_FAST))
        self.scanner_id = str(config.options.get("scanner_id", OPENVAS_DEFAULT_SCANNER))
        limit = config.options.get("max_ips_per_target", DEFAULT_MAX_IPS_PER_TARGET)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= ABSOLUTE_MAX_IPS_PER_TARGET:
            raise ScannerError(self.scanner, f"options.max_ips_per_target in scanguard.toml must be a whole number "
                                             f"from 1 to {ABSOLUTE_MAX_IPS_PER_TARGET} (gvmd's --max-ips-per-target, "
                                             f"default {DEFAULT_MAX_IPS_PER_TARGET}), not {limit!r}")
        self.max_ips_per_target = limit
        self._families: list[str] | None = None

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
            connection = SessionConnection(self._connect())
            with Gmp(connection, transform=EtreeCheckCommandTransform()) as gmp:
                gmp.authenticate(username.reveal(), password.reveal())
                connection.authenticated()
                self._families = None
                yield gmp

    def _live_families(self, gmp: Any) -> list[str]:
        """The NVT families of the scanner's feed (once per session)."""
        if self._families is None:
            self._families = [f.findtext("name") for f in gmp.get_nvt_families().findall("families/family")]
        return self._families

    def _require_feed(self, gmp: Any) -> None:
        if not self._live_families(gmp):
            raise ScannerError(self.scanner, NO_FEED)

    def _nvt_lookup(self, gmp: Any, call: Callable[[], Any]) -> Any:
        """An NVT look-up; gvmd's 503 means "no feed" when it has no families (not transient then)."""
        try:
            return call()
        except GvmServerError as e:
            if str(e.status) == "503" and not self._live_families(gmp):
                raise ScannerError(self.scanner, NO_FEED, status=503) from None
            raise

    # -- ScannerClient ---------------------------------------------------------------------------
    def list_managed(self) -> list[RemoteObject]:
        """Every managed template, each read as a whole bundle. Of the versions of one name, the
        one its own tasks use is the template (for a template without targets, which has no task,
        the newest); a version an admin's task still uses is listed too (a duplicate the sync will
        be refused to delete, so it is reported every run); other versions are leftovers of
        interrupted runs, possibly half-made: never a template of their own, they read as part
        of the template of their name (see `_read`), which then differs from what was pushed, and
        the next create or update of that name deletes them."""
        with self._session() as gmp:
            inv = self._inventory(gmp)
            versions: dict[str, list[Any]] = {}
            for c in gmp.get_scan_configs(filter_string="rows=-1").findall("config"):
                marker = parse_marker(c.findtext("comment"))
                if marker:
                    versions.setdefault(marker[0] or c.findtext("name") or c.get("id"), []).append(c)
            listed: list[str] = []
            for found in versions.values():
                ours = [c.get("id") for c in found if any(t.managed for t in inv.tasks_of_config(c.get("id")))]
                # a version with targets but no task of its own is what an interrupted run left
                # half-made, never a template in force; a template without targets has no task
                config_only = [c for c in found if "target" in _intent(c.findtext("comment") or "")]
                if not ours and config_only:
                    ours = [max(config_only, key=lambda c: (c.findtext("creation_time") or "", c.get("id"))).get("id")]
                others = [c.get("id") for c in found if c.get("id") not in ours and inv.tasks_of_config(c.get("id"))]
                listed += ours + others
            return [self._read(gmp, cid, inv) for cid in listed]

    def read(self, remote_id: str) -> RemoteObject:
        """The bundle whose scan config is `remote_id`, as a document comparable with render's."""
        with self._session() as gmp:
            return self._read(gmp, remote_id)

    def create(self, name: str, payload: Any, marker: str) -> str:
        """Create the bundle; returns the scan config's id."""
        with self._session() as gmp:
            self._require_feed(gmp)
            late: list[Exception] = []
            new = self._create_version(gmp, name, payload, marker, old=None, late=late)
            self._tidy(gmp, name, new)
            if late:
                raise late[0]
            return new[0]

    def update(self, remote_id: str, name: str, payload: Any, marker: str) -> str:
        """Create a new version, repoint this template's own tasks to it, delete the old version;
        returns the new scan config's id (gvmd freezes objects in use: nothing is edited in place).
        Raises ScannerError, after the update, when tasks scanguard did not make still use the
        old version (kept for them, never repointed)."""
        with self._session() as gmp:
            self._require_feed(gmp)
            inv = self._inventory(gmp)
            old = self._bundle(gmp, remote_id, inv)
            if not old.parts:
                # a retry after the repoint went through: the tasks are on the version now in force
                current = self._current_version(gmp, name, inv)
                if current not in (None, remote_id):
                    if current in self._versions_marked(gmp, name, marker):
                        # ... and it is this very push: only what follows the repoint is left
                        return self._finish(gmp, name, payload, marker, current, self._bundle(gmp, remote_id, inv), inv)
                    old = self._bundle(gmp, current, inv)
            stuck = [t for t, _ in old.parts if t.status != "New" and not t.alterable]
            if stuck:
                raise ScannerError(self.scanner, (
                    f"template {name}: task(s) {_task_names(stuck)} have run and are not alterable, so gvmd refuses "
                    "them a new scan config or target ('Status must be New to edit config'); nothing was changed. "
                    "Delete those tasks (their reports go with them) to let scanguard recreate them, or keep them "
                    "and remove the template from this scanner"))
            late: list[Exception] = []
            new = self._create_version(gmp, name, payload, marker, old=old, late=late)
            new_id = new[0]
            kept = self._tidy(gmp, name, new, old)
            if late:
                raise late[0]
            if kept:
                back = self._read(gmp, new_id)
                held = "holds what was pushed" if back.marker_hash == payload_hash(back.payload) else (
                    "does NOT hold what was pushed")
                raise ScannerError(self.scanner, (
                    f"template {name} was updated (new scan config {new_id}, which {held}), but the previous version "
                    f"stays in use by what scanguard did not make: {'; '.join(kept)}. scanguard never repoints or "
                    "deletes those: repoint them to the new version or delete them; until then each sync reports it"))
            return new_id

    def _finish(self, gmp: Any, name: str, payload: dict[str, Any], marker: str, current: str, old: Bundle,
                inv: Inventory) -> str:
        """Finish a push whose repoint went through before its session was lost: name the tasks
        (that command may have been lost with the connection, or never sent), retire the old
        version and collect leftovers; returns the version in force."""
        now = self._bundle(gmp, current, inv)
        keep = (current, now.port_list_id or "", *(t.id for _, t in now.parts if t is not None))
        late: list[Exception] = []
        try:
            for i, (task, _) in enumerate(now.parts):
                task_name = _task_name(payload, i, len(now.parts))
                if (task.name, task.comment) != (task_name, marker):
                    gmp.modify_task(task.id, name=task_name, comment=marker)
        except (GvmError, OSError) as e:
            late.append(e)
        self._tidy(gmp, name, keep, old)
        if late:
            raise late[0]
        return current

    def delete(self, remote_id: str) -> None:
        """Delete the bundle: its tasks, targets, port list and scan config. Refused, with nothing
        deleted, while a task scanguard did not make uses the config."""
        with self._session() as gmp:
            inv = self._inventory(gmp)
            b = self._bundle(gmp, remote_id, inv)
            if b.foreign_tasks:
                raise ScannerError(self.scanner, (
                    f"scan config {remote_id}{f' ({b.config_name})' if b.config_name else ''} is still used by task(s) "
                    f"{_task_names(b.foreign_tasks)} "
                    "that scanguard did not make: not deleted, not repointed; repoint those tasks to the current "
                    "version of the template or delete them"))
            for task, _ in b.parts:
                self._delete(gmp, "task", task.id, missing_ok=True)
            for _, target in b.parts:
                if target is not None:
                    self._delete(gmp, "target", target.id, missing_ok=True)
            if b.port_list_id:
                self._delete(gmp, "port_list", b.port_list_id, missing_ok=True)
            self._delete(gmp, "config", b.config_id, missing_ok=True)

    # -- inventory -------------------------------------------------------------------------------
    def _inventory(self, gmp: Any, name: str | None = None) -> Inventory:
        """Every task and target, or (with `name`) those marked as that template's: listing every
        task is slow on gvmd (it counts reports and trends), so reading one template does not."""
        flt = "rows=-1" if name is None else _marked(name)
        tasks = []
        for t in gmp.get_tasks(filter_string=flt).findall("task"):
            cfg, tgt = t.find("config"), t.find("target")
            prefs = {p.findtext("scanner_name") or "": p.findtext("value") or ""
                     for p in t.findall("preferences/preference")}
            tasks.append(TaskInfo(
                id=t.get("id"), name=t.findtext("name") or "", config_id=cfg.get("id") if cfg is not None else None,
                target_id=tgt.get("id") if tgt is not None else None,
                managed=parse_marker(t.findtext("comment")) is not None, status=t.findtext("status") or "",
                alterable=(t.findtext("alterable") or "0").strip() == "1", preferences=prefs,
                comment=t.findtext("comment") or ""))
        targets = {}
        for t in gmp.get_targets(filter_string=flt).findall("target"):
            pl = t.find("port_list")
            targets[t.get("id")] = TargetInfo(
                id=t.get("id"), name=t.findtext("name") or "", hosts=t.findtext("hosts") or "",
                exclude_hosts=t.findtext("exclude_hosts") or "", port_list_id=pl.get("id") if pl is not None else None,
                alive_test=_alive_text(t), comment=t.findtext("comment") or "")
        return Inventory(tasks=tasks, targets=targets)

    def _bundle(self, gmp: Any, config_id: str, inv: Inventory, config_name: str | None = None) -> Bundle:
        b = Bundle(config_id=config_id, config_name=config_name)
        for task in inv.tasks_of_config(config_id):
            if task.managed:
                b.parts.append((task, inv.targets.get(task.target_id or "")))
            else:
                b.foreign_tasks.append(task)
        b.parts.sort(key=lambda p: (_first_address(p[1]), p[0].id))
        port_lists = {t.port_list_id for _, t in b.parts if t is not None and t.port_list_id}
        if port_lists:
            b.port_list_id, *b.extra_port_lists = sorted(port_lists)
        else:  # no target: the port list of the same version is found by its name
            if b.config_name is None:
                try:
                    b.config_name = gmp.get_scan_config(config_id).findtext("config/name")
                except GvmResponseError:
                    return b
            lists = gmp.get_port_lists(filter_string="rows=-1").findall("port_list")
            b.port_list_id = next((pl.get("id") for pl in lists if pl.findtext("name") == b.config_name), None)
        return b

    # -- writing ---------------------------------------------------------------------------------
    def _delete(self, gmp: Any, kind: str, oid: str, *, missing_ok: bool = False) -> None:
        method = {"task": gmp.delete_task, "target": gmp.delete_target, "port_list": gmp.delete_port_list,
                  "config": gmp.delete_scan_config}[kind]
        try:
            method(oid, ultimate=True)
        except GvmResponseError as e:
            if not (missing_ok and str(e.status) == "404"):
                raise

    def _retire(self, gmp: Any, old: Bundle, inv: Inventory) -> list[str]:
        """Delete what is left of an old version once nothing uses it; a part some task still
        uses stays as it is, marker and all (returned, to be reported). A port list only an
        admin's unused target holds loses its marker (its name and all else kept)."""
        kept: list[str] = []
        gone: set[str] = set()
        for _, target in old.parts:
            if target is None:
                continue
            users = inv.tasks_of_target(target.id)
            if users:
                kept.append(f"target {target.name} ({target.id}) used by task(s) {_task_names(users)}")
            else:
                self._delete(gmp, "target", target.id, missing_ok=True)
                gone.add(target.id)
        pl_ids = [old.port_list_id, *old.extra_port_lists]
        for pl_id in (p for p in pl_ids if p):
            holders = [t for t in inv.targets_of_port_list(pl_id) if t.id not in gone]
            users = [task for t in holders for task in inv.tasks_of_target(t.id)]
            if users:
                kept.append(f"port list {pl_id} used by task(s) {_task_names(users)} through target(s) "
                            f"{', '.join(t.name for t in holders)}")
            elif holders:
                self._unmark_port_list(gmp, pl_id)
            else:
                self._delete(gmp, "port_list", pl_id, missing_ok=True)
        if old.foreign_tasks:
            kept.append(f"scan config {old.config_id} used by task(s) {_task_names(old.foreign_tasks)}")
        else:
            self._delete(gmp, "config", old.config_id, missing_ok=True)
        return kept

    def _tidy(self, gmp: Any, name: str, new: tuple[str, ...], old: Bundle | None = None) -> list[str]:
        """Once the new version is in force: retire the old one and collect leftovers; returns
        what stays because something scanguard did not make uses it. Every step is idempotent, so
        a failure is met with one more go in the same session (a version left behind would read,
        without its tasks, less safe than it was), then reported all the same; a session that is
        gone leaves it to the engine's retry, which finds the tasks on the new version (update)."""
        def once() -> list[str]:
            # leftovers first: an old version whose tasks a lost session had already repointed has
            # no parts to retire by, and its own targets would otherwise hold its port list as if
            # an admin's did
            self._collect_garbage(gmp, name, keep=new)
            return self._retire(gmp, old, self._inventory(gmp)) if old is not None else []

        try:
            return once()
        except (GvmError, OSError) as first:
            try:
                once()
            except (GvmError, OSError):
                pass
            log.warning("scanner %s: %s is in force as %s; removing what it replaced failed (%s)",
                        self.scanner, name, new[0], first)
            raise

    def _versions_marked(self, gmp: Any, name: str, marker: str) -> set[str]:
        """The scan configs of that template carrying exactly this marker (this push)."""
        return {c.get("id") for c in gmp.get_scan_configs(filter_string=_marked(name)).findall("config")
                if parse_marker(c.findtext("comment")) == parse_marker(marker)}

    def _current_version(self, gmp: Any, name: str, inv: Inventory) -> str | None:
        """The scan config of that template that its own tasks use, if any."""
        for c in gmp.get_scan_configs(filter_string=_marked(name)).findall("config"):
            marker = parse_marker(c.findtext("comment"))
            if marker and marker[0] == name and any(t.managed for t in inv.tasks_of_config(c.get("id"))):
                return c.get("id")
        return None

    def _unmark_port_list(self, gmp: Any, pl_id: str) -> None:
        # modify_port_list without a name blanks it (real gvmd): send every field meant to be kept
        name = gmp.get_port_list(pl_id).findtext("port_list/name")
        gmp.modify_port_list(pl_id, name=name, comment=SUPERSEDED)
        log.warning("scanner %s: old port list %s (%s) is held by a target scanguard did not make; unmarked",
                    self.scanner, pl_id, name)

    def _leftovers(self, gmp: Any, name: str, keep: tuple[str, ...]) -> Iterator[tuple[str, str, str]]:
        """What interrupted runs left of this template, as (kind, id, name): marked objects of its
        name that nothing uses and that are not the version in force (`keep`: its ids). Listed
        kind by kind as the iteration reaches it (targets first), so that a caller deleting each
        as it comes frees the port lists they held before port lists are listed."""
        listings = (("target", gmp.get_targets, "target"), ("port_list", gmp.get_port_lists, "port_list"),
                    ("config", gmp.get_scan_configs, "config"))
        for kind, lister, tag in listings:
            for el in lister(filter_string=_marked(name)).findall(tag):
                marker = parse_marker(el.findtext("comment"))
                if marker and marker[0] == name and el.get("id") not in keep and el.findtext("in_use") != "1":
                    yield kind, el.get("id"), el.findtext("name") or ""

    def _collect_garbage(self, gmp: Any, name: str, keep: tuple[str, ...]) -> None:
        """Delete what interrupted runs left of this template (see `_leftovers`)."""
        for kind, oid, _ in self._leftovers(gmp, name, keep):
            self._delete(gmp, kind, oid, missing_ok=True)

    def _targets_of(self, payload: dict[str, Any]) -> tuple[AddressSet, AddressSet, bool]:
        """(include, exclude, whether the scanner's targets stand in for the template's)."""
        tgt = payload["target"]
        include, other = read_gvm_hosts(",".join(tgt["hosts"]))
        exclude, other_ex = read_gvm_hosts(",".join(tgt["exclude_hosts"]))
        if other or other_ex:
            raise ScannerError(self.scanner, f"template {payload['name']}: targets {list(other + other_ex)} are not "
                                             "addresses")
        if tgt["hosts"]:
            return include, exclude, False
        try:
            scanner_targets = AddressSet.parse(self._config.targets)
        except ValueError as e:
            raise ScannerError(self.scanner, f"targets in scanguard.toml: {e}") from None
        return scanner_targets, exclude, bool(scanner_targets)

    def _create_version(self, gmp: Any, name: str, payload: dict[str, Any], marker: str, *,
                        old: Bundle | None, late: list[Exception]) -> tuple[str, ...]:
        """Make a version (port list, config, a target per part) and point a task per part at it,
        reusing the old version's tasks; returns the new ids, the config's first. A failure once
        the version is in force (naming its tasks) is appended to `late`, not raised."""
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            raise ScannerError(self.scanner, f"template {name}: not a GVM document of format {FORMAT}")
        include, exclude, scanner_hosts = self._targets_of(payload)
        try:
            parts, exact = split(include, exclude, self.max_ips_per_target)
        except ValueError as e:
            raise ScannerError(self.scanner, f"template {name} cannot be cut into gvmd targets of at most "
                                             f"{self.max_ips_per_target} addresses (options.max_ips_per_target): "
                                             f"{e}") from None
        # gvmd wants names unique per object type; versions of one template differ by a suffix
        version = f"{name} [{secrets.token_hex(4)}]"
        sc = payload["scan_config"]
        tgt = payload["target"]
        intent: dict[str, Any] = {"base": sc["base_config"], "families": sc["family_selection"]["families"],
                                  "oids": sc["nvt_selection"]["excluded"]}
        if parts and (scanner_hosts or not exact):
            # what the parts stand for: read back as such while they scan exactly that
            intent["rendered_target"] = {k: tgt[k] for k in ("hosts", "exclude_hosts")}
        # what its tasks are to hold: what a version reads as while it has none
        intent["task"] = payload["task"]["preferences"]
        if not parts:
            intent["target"] = {k: tgt[k] for k in ("hosts", "exclude_hosts", "alive_test")}
        created: list[tuple[str, str]] = []
        repointed: list[TaskInfo] = []
        try:
            pl_id = self._create_port_list(gmp, version, payload["port_list"]["ranges"], marker)
            created.append(("port_list", pl_id))
            comment = f"{marker}\n{INTENT_PREFIX}{json.dumps(intent, sort_keys=True)}"
            cfg_id = gmp.create_scan_config(sc["base_config"], version, comment=comment).get("id")
            created.append(("config", cfg_id))
            self._configure(gmp, cfg_id, sc)
            target_ids = []
            for i, part in enumerate(parts, 1):
                target_name = version if len(parts) == 1 else f"{version} part {i} of {len(parts)}"
                target_ids.append(gmp.create_target(
                    target_name, hosts=gvm_items(part.hosts), comment=marker,
                    exclude_hosts=gvm_items(part.exclude) or None, alive_test=tgt["alive_test"],
                    port_list_id=pl_id).get("id"))
                created.append(("target", target_ids[-1]))
            prefs = payload["task"]["preferences"]
            old_tasks = [t for t, _ in old.parts] if old else []
            for i, target_id in enumerate(target_ids):
                task_name = _task_name(payload, i, len(target_ids))
                if i < len(old_tasks):
                    task = old_tasks[i]
                    # config and target first, then read back; name and comment only once that held
                    # (gvmd applies a modify_task field by field: a refused repoint may leave the rest)
                    gmp.modify_task(task.id, config_id=cfg_id, target_id=target_id, preferences=prefs)
                    repointed.append(task)
                    self._verify_task(gmp, task.id, cfg_id, target_id, name)
                else:
                    created.append(("task", gmp.create_task(task_name, cfg_id, target_id, self.scanner_id,
                                                            alterable=True, comment=marker,
                                                            preferences=prefs).get("id")))
        except BaseException:
            self._roll_back(gmp, created, repointed)
            raise
        # the new version is in force: what follows is naming and tidying, never undone; a failure
        # here goes to `late`, for the caller to raise once the old version is retired (left
        # behind, the old version would read, without its tasks, as it was before the push)
        try:
            for i, task in enumerate(repointed):
                gmp.modify_task(task.id, name=_task_name(payload, i, len(target_ids)), comment=marker)
            for task in old_tasks[len(target_ids):]:  # parts the template no longer has: its own tasks
                self._delete(gmp, "task", task.id, missing_ok=True)
        except (GvmError, OSError) as e:
            late.append(e)
        return (cfg_id, pl_id, *target_ids)

    def _roll_back(self, gmp: Any, created: list[tuple[str, str]], repointed: list[TaskInfo]) -> None:
        """Put repointed tasks back on the version they used and delete what was made; the
        version in force is untouched."""
        for task in repointed:
            try:
                gmp.modify_task(task.id, config_id=task.config_id, target_id=task.target_id,
                                preferences=task.preferences or None)
            except Exception:  # the session may be gone: the next run finds and converges
                log.warning("scanner %s: could not put task %s back on config %s", self.scanner, task.id,
                            task.config_id)
        for kind, oid in reversed(created):
            try:
                self._delete(gmp, kind, oid, missing_ok=True)
            except Exception:
                log.warning("scanner %s: could not roll back %s %s", self.scanner, kind, oid)

    def _verify_task(self, gmp: Any, task_id: str, config_id: str, target_id: str, name: str) -> None:
        """Read a repointed task back: gvmd may refuse a repoint, or ignore it (gvmd issue 1305)."""
        t = gmp.get_task(task_id).find("task")
        has = (t.find("config").get("id") if t.find("config") is not None else None,
               t.find("target").get("id") if t.find("target") is not None else None)
        if has != (config_id, target_id):
            raise ScannerError(self.scanner, (
                f"template {name}: gvmd accepted the repoint of task {task_id} but the task still uses scan config "
                f"{has[0]} and target {has[1]} instead of {config_id} and {target_id}; the update was undone"))

    def _create_port_list(self, gmp: Any, name: str, ranges: list[dict[str, Any]], comment: str) -> str:
        if ranges:
            return gmp.create_port_list(name, port_range_text(ranges), comment=comment).get("id")
        # gvmd wants at least one range at creation: create with one, then remove it while the
        # list is new and nothing uses it (a live port list is never edited)
        pl_id = gmp.create_port_list(name, "T:1", comment=comment).get("id")
        pl = gmp.get_port_list(pl_id).find("port_list")
        if pl.findtext("in_use") != "0":
            raise ScannerError(self.scanner, f"port list {pl_id} is in use as soon as made; not edited")
        for r in pl.findall("port_ranges/port_range"):
            gmp.delete_port_range(r.get("id"))
        return pl_id

    def _configure(self, gmp: Any, cfg_id: str, sc: dict[str, Any]) -> None:
        for key, value in sc["scanner_preferences"].items():
            gmp.modify_scan_config_set_scanner_preference(cfg_id, key, value=value)
        for p in sc["nvt_preferences"]:
            gmp.modify_scan_config_set_nvt_preference(cfg_id, f"{p['oid']}:{p['id']}:{p['type']}:{p['name']}",
                                                      p["oid"], value=p["value"])
        live = self._live_families(gmp)
        sel = sc["family_selection"]
        if sel["mode"] == "all-except":
            keep, growing = [f for f in live if f not in sel["families"] and f != PORT_SCANNERS], True
        else:
            keep, growing = [f for f in live if f in sel["families"] and f != PORT_SCANNERS], False
        excluded = sc["nvt_selection"]["excluded"]
        partial = {fam for fam in (self._family_of(gmp, oid) for oid in excluded) if fam in keep}
        # a family keeping all but some NVTs is selected without "all", then narrowed per NVT
        gmp.modify_scan_config_set_family_selection(
            cfg_id, [(f, f not in partial, f not in partial) for f in keep], auto_add_new_families=growing)
        for fam in sorted(partial):
            members = self._family_members(gmp, fam)
            gmp.modify_scan_config_set_nvt_selection(cfg_id, fam, [o for o in members if o not in excluded])
        if PORT_SCANNERS in live and sc.get("port_scanners"):
            # exactly the NVTs meant, never the family (see vocabulary.PORT_SCANNER_NVTS)
            members = set(self._family_members(gmp, PORT_SCANNERS))
            gmp.modify_scan_config_set_nvt_selection(
                cfg_id, PORT_SCANNERS, [o for o in sc["port_scanners"] if o in members])

    def _family_members(self, gmp: Any, family: str, config_id: str | None = None) -> list[str]:
        resp = self._nvt_lookup(gmp, lambda: gmp.get_scan_config_nvts(config_id=config_id, family=family))
        return [n.get("oid") for n in resp.findall("nvt")]

    def _family_of(self, gmp: Any, oid: str) -> str | None:
        try:
            return self._nvt_lookup(gmp, lambda: gmp.get_scan_config_nvt(oid)).findtext("nvt/family")
        except GvmResponseError as e:
            if str(e.status) == "404":
                return None  # not in the feed: nothing can run it
            raise

    # -- reading ---------------------------------------------------------------------------------
    def _read(self, gmp: Any, config_id: str, inv: Inventory | None = None) -> RemoteObject:
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
        b = self._bundle(gmp, config_id, inv or self._inventory(gmp, name), config_name=cfg.findtext("name"))
        payload = {
            "format": FORMAT,
            "name": name,
            "port_list": self._read_port_lists(gmp, b, name),
            "scan_config": self._read_config(gmp, cfg, name, intent),
            "target": self._read_targets(b, name, intent),
            "task": self._read_tasks(b, name, intent),
        }
        # what an interrupted run left under the template's name is held on the scanner as much as
        # the version in force (an old version a console user edited, a half-made one): it reads
        # as part of the template, so the template differs from what was pushed (drift), and the
        # sync's restore, a new version, deletes it (render never writes this key)
        keep = (config_id, *(p for p in (b.port_list_id, *b.extra_port_lists) if p),
                *(t.id for _, t in b.parts if t is not None))
        left = sorted(f"{KIND_NAMES[kind]} {oid} ({label})" for kind, oid, label in self._leftovers(gmp, name, keep))
        if left:
            payload[LEFTOVERS] = left
        return RemoteObject(remote_id=config_id, name=name, payload=payload,
                            marker_hash=marker[1] if marker else None, managed=marker is not None)

    def _read_port_lists(self, gmp: Any, b: Bundle, name: str) -> dict[str, Any]:
        """The bundle's port list; where its targets use different ones (not scanguard's doing),
        every port of any of them."""
        ranges: set[tuple[str, int, int]] = set()
        for pl_id in [b.port_list_id, *b.extra_port_lists]:
            if pl_id:
                for r in gmp.get_port_list(pl_id).findall("port_list/port_ranges/port_range"):
                    ranges.add(((r.findtext("type") or "").upper(), int(r.findtext("start")), int(r.findtext("end"))))
        merged: list[dict[str, Any]] = []
        for kind in sorted({k for k, _, _ in ranges}):
            spans = sorted((lo, hi) for k, lo, hi in ranges if k == kind)
            for lo, hi in spans:
                if merged and merged[-1]["type"] == kind and lo <= merged[-1]["end"] + 1:
                    merged[-1]["end"] = max(merged[-1]["end"], hi)
                else:
                    merged.append({"type": kind, "start": lo, "end": hi})
        return {"name": name, "ranges": merged}

    def _read_config(self, gmp: Any, cfg: Any, name: str, intent: dict[str, Any]) -> dict[str, Any]:
        scanner_prefs: dict[str, str] = {}
        nvt_values: dict[tuple[str, int], str] = {}
        for p in cfg.findall("preferences/preference"):
            oid = p.find("nvt").get("oid") if p.find("nvt") is not None else ""
            if not oid:
                scanner_prefs[p.findtext("name") or ""] = p.findtext("value") or ""
            elif (p.findtext("id") or "").isdigit():
                nvt_values[(oid, int(p.findtext("id")))] = p.findtext("value") or ""
        live = self._live_families(gmp)
        if not live and not scanner_prefs:
            raise ScannerError(self.scanner, f"scan config {cfg.get('id')} ({name}) cannot be read: " + NO_FEED)
        nvt_prefs = [{"oid": o, "id": i, "type": t, "name": n, "value": nvt_values[(o, i)]}
                     for o, i, t, n in MANAGED_NVT_PREFERENCES if (o, i) in nvt_values]
        families = {f.findtext("name"): (int(f.findtext("nvt_count") or 0), int(f.findtext("max_nvt_count") or 0))
                    for f in cfg.findall("families/family")}
        chosen = {f for f, (n, _) in families.items() if n > 0}
        growing = (cfg.findtext("family_count/growing") or "0").strip() == "1"
        if growing:
            # off: every family of the feed the config does not select, and what the feed lacks
            gone = {f for f in intent.get("families", []) if f not in live}
            selection = {"mode": "all-except", "families": sorted((set(live) - chosen - {PORT_SCANNERS}) | gone)}
        else:
            selection = {"mode": "only", "families": sorted(chosen - {PORT_SCANNERS})}
        port_scanners: list[str] = []
        if PORT_SCANNERS in chosen:
            port_scanners = sorted(self._family_members(gmp, PORT_SCANNERS, cfg.get("id")))
        excluded: set[str] = set()
        for fam, (count, total) in families.items():
            if 0 < count < total and fam != PORT_SCANNERS:
                everything = set(self._family_members(gmp, fam))
                excluded |= everything - set(self._family_members(gmp, fam, cfg.get("id")))
        for oid in intent.get("oids", []):
            fam = self._family_of(gmp, oid)
            if fam == PORT_SCANNERS:
                if oid not in port_scanners:
                    excluded.add(oid)
            elif fam is None or families.get(fam, (0, 0))[0] == 0:
                excluded.add(oid)  # not in the feed, or its whole family is off
        return {
            "name": name,
            "base_config": intent.get("base", FULL_AND_FAST),
            "scanner_preferences": {k: scanner_prefs[k] for k in SCANNER_PREFERENCES if k in scanner_prefs},
            "nvt_preferences": sorted(nvt_prefs, key=lambda x: (x["oid"], x["id"])),
            "family_selection": selection,
            "port_scanners": port_scanners,
            "nvt_selection": {"excluded": sorted(excluded)},
        }

    def _read_targets(self, b: Bundle, name: str, intent: dict[str, Any]) -> dict[str, Any]:
        targets = [t for _, t in b.parts if t is not None]
        if not targets:
            kept = intent.get("target", {})
            return {"name": name, "hosts": kept.get("hosts", []), "exclude_hosts": kept.get("exclude_hosts", []),
                    "alive_test": kept.get("alive_test")}
        hosts, other = AddressSet(), set()
        excluded, other_ex = AddressSet(), set()
        for t in targets:
            h, names = read_gvm_hosts(t.hosts)
            e, names_ex = read_gvm_hosts(t.exclude_hosts)
            hosts, excluded = hosts | h, excluded | e
            other |= set(names)
            other_ex |= set(names_ex)
        host_items = gvm_items(hosts) + sorted(other)
        exclude_items = gvm_items(excluded) + sorted(other_ex)
        rendered = intent.get("rendered_target")
        if rendered is not None and not other:
            # parts of a cut template (or the scanner's targets standing in): the template as
            # rendered, as long as the parts scan exactly what it scans
            wanted = read_gvm_hosts(",".join(rendered["hosts"]))[0] if rendered["hosts"] else \
                AddressSet.parse(self._config.targets)
            if hosts - excluded == wanted - read_gvm_hosts(",".join(rendered["exclude_hosts"]))[0]:
                host_items, exclude_items = list(rendered["hosts"]), list(rendered["exclude_hosts"])
        alive = sorted({t.alive_test or "" for t in targets})
        return {"name": name, "hosts": host_items, "exclude_hosts": exclude_items,
                "alive_test": (alive[0] or None) if len(alive) == 1 else " | ".join(alive)}

    def _read_tasks(self, b: Bundle, name: str, intent: dict[str, Any]) -> dict[str, Any]:
        if not b.parts and "task" in intent:
            return {"name": name, "preferences": dict(intent["task"])}
        prefs: dict[str, str] = {}
        for key in ("max_checks", "max_hosts"):
            values = {t.preferences[key] for t, _ in b.parts if key in t.preferences}
            if len(values) == 1:
                prefs[key] = values.pop()
            elif values:  # parts differ: the least safe counts
                prefs[key] = max(values, key=lambda v: int(v) if v.isdigit() else 1 << 30)
        return {"name": name, "preferences": prefs}


def _marked(name: str) -> str:
    """A GMP filter for the objects whose comment carries the managed marker of `name`
    (template names are letters, digits and _.@-: nothing to quote)."""
    return f'rows=-1 comment~"name={name} sha256="'


def _alive_text(target: Any) -> str | None:
    alive = target.find("alive_tests")
    if alive is None:
        return None
    # text in GMP 22.4-22.6 (newer versions add sub-elements too)
    return (alive.text or "").strip() or ", ".join((a.text or "").strip() for a in alive) or None
