"""The sync engine: each scanner brought to the plan, concurrently, one worker thread each.

Per scanner: render the plan for its vendor, read the live managed objects, diff, apply the
fewest writes, read each write back and verify it with the safety lattice, record it. The rules
that keep a hospital safe while scanners misbehave:

- a transient failure is retried (see retry.py); a scanner that still fails is reported, and the
  other scanners carry on;
- a create is preceded by a lookup on every retry, so a create whose reply was lost never
  yields a duplicate;
- nothing is deleted before its replacement is verified, and a write whose read-back breaks the
  profiles' constraints is undone (a new object deleted, an updated one put back): nothing less
  safe than before is left live;
- every push is recorded as soon as it is verified, so a run killed at any point is on record
  and the next run, diffing live state again, converges.
"""

from __future__ import annotations

import getpass
import inspect
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Protocol

from pydantic import Field

from ..compile import compile_plan
from ..errors import PluginError, SafetyError, ScanguardError, ScannerError, UsageError
from ..lattice import safety_regressions, violations
from ..model.base import Model
from ..model.config import ScannerConfig
from ..model.plan import Plan
from ..plugin.manager import PluginManager
from ..plugin.records import Vendor
from ..render import render_one, targets_beyond
from ..scanners import ExclusionClient, RemoteObject, ScannerClient, managed_marker, payload_hash
from ..suggest import unknown
from ..workspace import Workspace, setting_location
from .diff import plan_actions
from .exclusions import DesiredExclusion, as_exclusion_client, desired_exclusions, exclusion_actions, gaps_of
from .models import Action, Desired, Issue, ObjectResult, RetryNote, RunSummary, ScannerDiff, ScannerResult
from .retry import Deadline, RetryPolicy, call
from .state import StateDB

log = logging.getLogger("scanguard.sync")


class SyncOptions(Model):
    """How a sync runs."""

    scanners: tuple[str, ...] = ()
    """Only these scanners (empty: every configured scanner)."""
    dry_run: bool = False
    adopt: bool = False
    """Overwrite an unmanaged object that carries a managed name (else: a conflict, never touched)."""
    max_workers: int | None = Field(default=None, ge=1)
    """Scanners synced at once (None: all of them, up to 32)."""
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    command: str = "sync"


class Observer(Protocol):
    """Progress callbacks (called from worker threads)."""

    def started(self, scanner: str, total: int) -> None:
        """A scanner's objects are known: `total` steps to go."""

    def step(self, scanner: str, text: str) -> None:
        """One object done."""

    def finished(self, result: ScannerResult) -> None:
        """A scanner is done."""


class _Quiet:
    def started(self, scanner: str, total: int) -> None:
        pass

    def step(self, scanner: str, text: str) -> None:
        pass

    def finished(self, result: ScannerResult) -> None:
        pass


def select_scanners(ws: Workspace, names: Iterable[str]) -> dict[str, ScannerConfig]:
    """The configured scanners to work on; UsageError (exit 2) naming any unknown one."""
    names = list(names)
    configured = ws.config.scanners
    missing = [n for n in names if n not in configured]
    if missing:
        raise UsageError("; ".join(unknown("scanner", n, configured, listed="configured") for n in sorted(missing)))
    chosen = names or list(configured)
    return {n: configured[n] for n in sorted(set(chosen))}


def tls_warnings(scanners: Iterable[ScannerConfig]) -> list[str]:
    """One warning per scanner whose TLS verification is turned off (repeated every run, on purpose)."""
    return [f"scanner {s.name}: TLS certificate verification is OFF (tls.verify = false in scanguard.toml); "
            "anyone on the path can read its credentials and alter what is pushed"
            for s in scanners if not s.tls.verify]


@dataclass
class _Scanner:
    """One scanner's worker state."""

    config: ScannerConfig
    vendor: Vendor
    deadline: Deadline
    retries: list[RetryNote] = field(default_factory=list)
    writes: int = 0


class SyncEngine:
    """Diff and sync the scanners of a workspace. Build one per run."""

    def __init__(self, ws: Workspace, plugins: PluginManager, *, options: SyncOptions | None = None,
                 state: StateDB | None = None, observer: Observer | None = None,
                 user: str | None = None):
        self.ws = ws
        self.plugins = plugins
        self.options = options or SyncOptions()
        self.state = state
        self.observer = observer or _Quiet()
        self.user = user or _user()
        self.scanners = select_scanners(ws, self.options.scanners)
        self._plan: Plan | None = None
        self._run_id: int | None = None

    # -- setup ----------------------------------------------------------------------------------
    def vendors(self, *, strict: bool) -> dict[str, Vendor]:
        """The vendor of every selected scanner. A scanner type no plugin provides is a
        configuration error (exit 2); with `strict`, any plugin that failed to load refuses the
        run (exit 1): sync never pushes with a plugin missing."""
        types = {s.type for s in self.scanners.values()}
        if strict and self.plugins.failures:
            self.plugins.require_vendors(types, strict=True)
        known = self.plugins.vendors()
        missing = sorted(t for t in types if t not in known)
        if missing:
            who = ", ".join(f"{n} ({s.type})" for n, s in self.scanners.items() if s.type in missing)
            try:
                self.plugins.require_vendors(missing)
            except ScanguardError as e:
                raise UsageError(f"no loaded plugin provides the vendor of scanner(s) {who}: {e}") from e
        return {t: known[t] for t in types}

    def plan(self) -> Plan:
        """The compiled plan (once per engine)."""
        if self._plan is None:
            self._plan = compile_plan(self.ws, self.plugins)
        return self._plan

    def desired(self, scanner: str, vendor: Vendor) -> tuple[list[Desired], list[Issue]]:
        """What the scanner should hold, rendered and verified; a template that cannot be
        rendered safely is an issue (and is not pushed)."""
        out, issues = [], []
        for ct in self.plan().for_scanner(scanner):
            try:
                r = render_one(ct, vendor)
            except ScanguardError as e:
                issues.append(Issue(object=ct.name, message=str(e), safety=isinstance(e, SafetyError)))
                continue
            out.append(Desired(name=ct.name, compiled=ct, payload=r.payload, digest=payload_hash(r.payload)))
        return out, issues

    # -- diff -----------------------------------------------------------------------------------
    def diff(self) -> list[ScannerDiff]:
        """What a sync would change on each selected scanner (reads only)."""
        vendors = self.vendors(strict=False)
        self.plan()

        def one(name: str) -> ScannerDiff:
            cfg = self.scanners[name]
            vendor = vendors[cfg.type]
            if vendor.client is None:
                return ScannerDiff(scanner=name, vendor=vendor.name,
                                   skipped=f"vendor {vendor.name} has no scanner client; nothing to compare "
                                         "(use `scanguard render`)")
            sc = self._new_scanner(cfg, vendor)
            try:
                desired, issues = self.desired(name, vendor)
                client = vendor.client(cfg)
                live = self._read_live(sc, client, frozenset(d.name for d in desired))
                actions = plan_actions(desired, live, parse=vendor.parse, adopt=self.options.adopt, vendor=vendor.name,
                                       judge=self._judge(name, vendor))
                actions += self._exclusion_plan(sc, client)[1]
            except ScanguardError as e:
                return ScannerDiff(scanner=name, vendor=vendor.name, error=self._text(e), invalid=e.exit_code == 2)
            except Exception as e:  # one scanner's failure must never stop the others, nor be a traceback
                log.debug("scanner %s: diff failed: %s: %s", name, type(e).__name__, e)
                return ScannerDiff(scanner=name, vendor=vendor.name,
                                   error=f"scanner {name}: {type(e).__name__}: {e}")
            err = "; ".join(i.message for i in issues if not i.safety) or None
            return ScannerDiff(scanner=name, vendor=vendor.name, actions=tuple(actions), error=err,
                               refused=tuple(i for i in issues if i.safety))

        with ThreadPoolExecutor(max_workers=self._workers()) as pool:
            return list(pool.map(one, self.scanners))

    # -- sync -----------------------------------------------------------------------------------
    def run(self) -> RunSummary:
        """Sync every selected scanner concurrently; record the run; return its summary."""
        started = datetime.now(timezone.utc)
        vendors = self.vendors(strict=True)
        self.plan()
        warnings = tls_warnings(self.scanners.values())
        for w in warnings:
            log.warning("%s", w)
        if self.state is not None:
            stale = self.state.interrupt_stale_runs()
            if stale:
                log.warning("%d earlier run(s) never finished (killed?); this run converges on their work", stale)
            self._run_id = self.state.start_run(self.options.command, self.user, list(self.scanners),
                                                dry_run=self.options.dry_run)
        with ThreadPoolExecutor(max_workers=self._workers(), thread_name_prefix="sync") as pool:
            futures = [pool.submit(self._guarded, name, vendors[cfg.type]) for name, cfg in self.scanners.items()]
            results = tuple(f.result() for f in futures)
        summary = _summarise(self._run_id, self.options.dry_run, started, self.user, results, warnings)
        if self.state is not None and self._run_id is not None:
            self.state.finish_run(self._run_id, summary)
        return summary

    def _workers(self) -> int:
        return max(1, min(self.options.max_workers or 32, len(self.scanners) or 1))

    def _new_scanner(self, cfg: ScannerConfig, vendor: Vendor) -> _Scanner:
        return _Scanner(config=cfg, vendor=vendor, deadline=Deadline(self.options.retry.deadline_s, cfg.name))

    def _guarded(self, name: str, vendor: Vendor) -> ScannerResult:
        # one scanner's bug must never stop the others: anything unexpected fails this scanner only
        t0 = time.monotonic()
        cfg = self.scanners[name]
        try:
            result = self._sync_scanner(cfg, vendor)
        except Exception as e:
            log.error("scanner %s: sync failed: %s: %s", name, type(e).__name__, e)
            msg = self._text(e) if isinstance(e, ScanguardError) else f"internal error: {type(e).__name__}: {e}"
            result = ScannerResult(scanner=name, vendor=vendor.name, status="failed", errors=(Issue(
                message=msg, invalid=isinstance(e, ScanguardError) and e.exit_code == 2),))
        result = result.model_copy(update={"seconds": round(time.monotonic() - t0, 3)})
        self.observer.finished(result)
        return result

    def _sync_scanner(self, cfg: ScannerConfig, vendor: Vendor) -> ScannerResult:
        warnings = tuple(tls_warnings([cfg]))
        if vendor.client is None:
            msg = f"vendor {vendor.name} has no scanner client: nothing to push (use `scanguard render`)"
            log.info("scanner %s: %s", cfg.name, msg)
            return ScannerResult(scanner=cfg.name, vendor=vendor.name, status="skipped", warnings=(msg, *warnings))
        sc = self._new_scanner(cfg, vendor)
        desired, issues = self.desired(cfg.name, vendor)
        errors: list[Issue] = list(issues)
        objects: list[ObjectResult] = []
        try:
            client = vendor.client(cfg)
            live = self._read_live(sc, client, frozenset(d.name for d in desired))
        except ScanguardError as e:
            errors.append(Issue(message=self._text(e), transient=getattr(e, "transient", False),
                                invalid=e.exit_code == 2))
            return self._result(sc, objects, errors, warnings)
        actions = plan_actions(desired, live, parse=vendor.parse, adopt=self.options.adopt, vendor=vendor.name,
                               judge=self._judge(cfg.name, vendor))
        try:
            x_desired, x_actions, x_live = self._exclusion_plan(sc, client)
        except ScanguardError as e:
            errors.append(Issue(object="exclusions", message=self._text(e), transient=getattr(e, "transient", False)))
            x_desired, x_actions, x_live = [], [], []
        by_name = {d.name: d for d in desired}
        live_by_id = {o.remote_id: o for o in live}
        self.observer.started(cfg.name, len(actions) + len(x_actions))
        verified: set[str] = set()
        # writes first, deletions of duplicates last: nothing goes before its replacement is verified
        for a in sorted(actions, key=lambda a: a.kind == "duplicate"):
            self._step(sc, a, objects, errors, lambda a: self._apply(
                sc, client, a, by_name.get(a.name), live_by_id.get(a.remote_id or ""), verified))
        x_by_name = {d.object_name: d for d in x_desired}
        x_live_by_id = {o.remote_id: o for o in x_live}
        for a in x_actions:
            self._step(sc, a, objects, errors, lambda a: self._apply_exclusion(
                sc, client, a, x_by_name.get(a.name), x_live_by_id.get(a.remote_id or "")))
        return self._result(sc, objects, errors, warnings)

    def _step(self, sc: _Scanner, a: Action, objects: list[ObjectResult], errors: list[Issue],
              apply: Callable[[Action], ObjectResult]) -> None:
        """Apply one action; a failure is that object's error, and the scanner carries on."""
        try:
            res = apply(a)
        except ScanguardError as e:
            log.error("scanner %s: %s: %s", sc.config.name, a.name, e)
            res = ObjectResult(name=a.name, action=a.kind, remote_id=a.remote_id, digest=a.desired_hash,
                               error=self._text(e), weaker=a.weaker, changes=a.changes)
        objects.append(res)
        if res.error:
            errors.append(Issue(object=a.name, message=res.error))
        self.observer.step(sc.config.name, f"{a.kind} {a.name}")

    # -- safety of what is live -------------------------------------------------------------------
    def _judge(self, scanner: str, vendor: Vendor) -> Callable[[RemoteObject], tuple[str, ...]]:
        """Why a managed template nothing desires on this scanner must be retired (empty: it
        still keeps its profiles and is left in place). Called only after a complete read."""
        planned = {ct.name: ct for ct in self.plan().for_scanner(scanner)}

        def judge(o: RemoteObject) -> tuple[str, ...]:
            ct = planned.get(o.name)
            if ct is None:
                return ("the plan no longer has this template for this scanner: no profile vouches for it",)
            # planned, yet it could not be rendered safely this run: the live copy stays only
            # while it still keeps every constraint of its profiles
            try:
                parsed = vendor.parse(o.payload)
                aimed = vendor.parse_targets(o.payload) if vendor.parse_targets is not None else None
            except Exception as e:
                return (f"it can no longer be rendered safely, and the live copy cannot be read ({type(e).__name__})",)
            bad = [v.text() for v in violations(parsed, ct.constraints, vendor=vendor.name)]
            beyond = targets_beyond(ct, aimed) if aimed is not None else ""
            if beyond:
                bad.append(f"it is aimed at {beyond}")
            if bad:
                return ("it can no longer be rendered safely, and the live copy breaks its profiles: " + "; ".join(bad),)
            return ()

        return judge

    def _exclusion_plan(self, sc: _Scanner, client: Any) -> tuple[list[DesiredExclusion], list[Action],
                                                                  list[RemoteObject]]:
        """(desired documents, actions, live objects) of the scanner's scanner-side exclusions."""
        vendor = sc.vendor
        support = vendor.exclusions
        if support is None or support.artifact:
            return [], [], []
        wanted = desired_exclusions(self.plan().exclusions_for(sc.config.name), vendor)
        try:
            xc = as_exclusion_client(client, vendor)
        except ValueError as e:
            raise PluginError(str(e)) from None
        live = self._call(sc, "list exclusions", xc.list_exclusions)
        scanner = sc.config.name

        def last_verified(name: str, remote_id: str) -> str | None:
            return self.state.last_verified_hash(scanner, name, remote_id) if self.state is not None else None

        return wanted, exclusion_actions(wanted, live, support, last_verified), live

    def _apply_exclusion(self, sc: _Scanner, client: ExclusionClient, a: Action, d: DesiredExclusion | None,
                         before: RemoteObject | None) -> ObjectResult:
        base = dict(name=a.name, action=a.kind, remote_id=a.remote_id, digest=a.desired_hash,
                    weaker=a.weaker, changes=a.changes)
        drift_id = None
        if a.kind == "drift":
            log.warning("scanner %s: DRIFT on %s (it no longer blocks what scanguard pushed): %s", sc.config.name,
                        a.name, "; ".join(a.weaker))
            if self.state is not None and self._run_id is not None:
                drift_id = self.state.record_drift(self._run_id, sc.config.name, a, user=self.user)
        if a.kind in ("unchanged", "orphan") or self.options.dry_run:
            return ObjectResult(**base)
        assert d is not None and sc.vendor.exclusions is not None
        marker = managed_marker(d.object_name, d.digest)
        if a.kind == "create":
            rid = self._call(sc, f"create {a.name}", lambda: client.create_exclusion(d.name, d.payload, marker))
        else:
            assert a.remote_id is not None
            rid = self._call(sc, f"update {a.name} ({a.remote_id})",
                             lambda: client.update_exclusion(a.remote_id, d.name, d.payload, marker)) or a.remote_id
        sc.writes += 1
        back = self._call(sc, f"read back {a.name} ({rid})", lambda: client.read_exclusion(rid))
        problems = gaps_of(sc.vendor.exclusions, back.payload, d.required)
        push_kind = {"create": "create", "update": "update", "drift": "restore"}[a.kind]
        self._record(sc, a.name, push_kind, rid, d.digest, before, back, verified=not problems)
        if problems:
            return ObjectResult(**{**base, "remote_id": rid, "applied": True,
                                   "error": f"verification after {push_kind} failed: it still does not block "
                                            + "; ".join(problems[:10])})
        if drift_id is not None and self.state is not None:
            self.state.mark_restored(drift_id)
        return ObjectResult(**{**base, "remote_id": rid, "applied": True, "verified": True})

    def _retire(self, sc: _Scanner, client: ScannerClient, a: Action, before: RemoteObject | None) -> ObjectResult:
        """Make a template the plan can no longer vouch for unusable: the client's `retire`
        (disable, strip its targets) where it has one, else delete it; then check it is gone."""
        base = dict(name=a.name, action=a.kind, remote_id=a.remote_id, weaker=a.weaker)
        log.critical("scanner %s: %s is live but %s; retiring it", sc.config.name, a.name, "; ".join(a.weaker))
        if self.options.dry_run:
            return ObjectResult(**base)
        assert a.remote_id is not None
        retire = getattr(client, "retire", None)
        self._call(sc, f"retire {a.name}", lambda: (retire or client.delete)(a.remote_id))
        sc.writes += 1
        if retire is None:
            left = [o for o in self._call(sc, f"list after retiring {a.name}", lambda: _list(client, frozenset({a.name})))
                    if o.remote_id == a.remote_id]
            if left:
                self._record(sc, a.name, "retire", a.remote_id, None, before, None, verified=False)
                return ObjectResult(**{**base, "applied": True, "error": "the scanner still lists it after deletion"})
        self._record(sc, a.name, "retire", a.remote_id, None, before, None, verified=True)
        return ObjectResult(**{**base, "applied": True, "verified": True})

    def _result(self, sc: _Scanner, objects: list[ObjectResult], errors: list[Issue],
                warnings: tuple[str, ...]) -> ScannerResult:
        def n(kind: str, *, applied: bool | None = True) -> int:
            return sum(1 for o in objects if o.action == kind and not o.error and (applied is None or o.applied == applied))

        drift_found = sum(1 for o in objects if o.action == "drift")
        restored = n("drift")
        retired = n("retire", applied=None if self.options.dry_run else True)
        if any(not e.safety for e in errors):
            status = "failed"
        elif restored or (self.options.dry_run and drift_found):
            status = "drift_restored"
        else:
            status = "retired" if retired else "refused" if errors else "ok"
        return ScannerResult(
            scanner=sc.config.name, vendor=sc.vendor.name, status=status,
            created=n("create"), updated=n("update") + sum(1 for o in objects if o.action == "conflict" and o.applied),
            unchanged=n("unchanged", applied=None), drift_restored=restored, drift_found=drift_found,
            conflicts=sum(1 for o in objects if o.action == "conflict" and not o.applied),
            duplicates_removed=n("duplicate"), orphans=n("orphan", applied=None), retired=retired, writes=sc.writes,
            objects=tuple(objects), errors=tuple(errors), retries=tuple(sc.retries), warnings=warnings,
        )

    def _text(self, e: ScanguardError) -> str:
        """An error's message, pointing at the scanguard.toml line of the setting it is about."""
        setting = getattr(e, "setting", None)
        scanner = getattr(e, "scanner", None)
        if setting and scanner in self.ws.config.scanners:
            return f"{e} ({setting_location(self.ws, scanner, setting)})"
        return str(e)

    # -- scanner calls --------------------------------------------------------------------------
    def _call(self, sc: _Scanner, operation: str, fn: Callable[[], Any]) -> Any:
        def noted(op: str, e: ScannerError) -> None:
            log.warning("scanner %s: %s failed (%s); retrying", sc.config.name, op, e)
            sc.retries.append(RetryNote(operation=op, message=str(e), status=e.status))

        return call(operation, fn, policy=self.options.retry, deadline=sc.deadline, on_retry=noted)

    def _read_live(self, sc: _Scanner, client: ScannerClient, names: frozenset[str] = frozenset()) -> list[RemoteObject]:
        listed = self._call(sc, "list", lambda: _list(client, names))
        out = []
        for o in listed:
            if o.payload is None:
                o = self._call(sc, f"read {o.name}", lambda rid=o.remote_id: client.read(rid))
            out.append(o)
        return out

    def _lookup(self, sc: _Scanner, client: ScannerClient, d: Desired) -> str | None:
        """The id of an object a lost-reply create already made, if any."""
        for o in _list(client, frozenset({d.name})):
            if o.name == d.name and o.managed and o.marker_hash == d.digest:
                return o.remote_id
        return None

    def _apply(self, sc: _Scanner, client: ScannerClient, a: Action, d: Desired | None,
               before: RemoteObject | None, verified: set[str]) -> ObjectResult:
        base = dict(name=a.name, action=a.kind, remote_id=a.remote_id, digest=a.desired_hash,
                    weaker=a.weaker, changes=a.changes)
        drift_id = None
        if a.kind == "drift":
            log.warning("scanner %s: DRIFT on %s (edited on the scanner since scanguard pushed it)%s",
                        sc.config.name, a.name, (": " + "; ".join(a.weaker)) if a.weaker else "")
            if self.state is not None and self._run_id is not None:
                drift_id = self.state.record_drift(self._run_id, sc.config.name, a, user=self.user)
        if a.kind == "unchanged":
            verified.add(a.name)  # already the desired document, which render verified
            return ObjectResult(**base)
        if a.kind == "orphan":
            return ObjectResult(**base)
        if a.kind == "retire":
            return self._retire(sc, client, a, before)
        if a.kind == "conflict" and not a.adopt:
            return ObjectResult(**{**base, "error": (
                f"an object named {a.name} (id {a.remote_id}) exists on the scanner but scanguard does not manage it; "
                "left untouched. Rename or delete it on the scanner, or run sync with --adopt to take it over")})
        if self.options.dry_run:
            return ObjectResult(**base)
        if a.kind == "duplicate":
            return self._delete_duplicate(sc, client, a, before, verified)
        assert d is not None
        marker = managed_marker(d.name, d.digest)
        if a.kind == "create":
            rid = self._create(sc, client, d, marker)
        else:
            assert a.remote_id is not None
            rid = self._call(sc, f"update {a.name}",
                             lambda: client.update(a.remote_id, d.name, d.payload, marker)) or a.remote_id
            sc.writes += 1
        back, problems, unsafe = self._verify(sc, client, rid, d)
        if unsafe:
            self._undo(sc, client, a, rid, d, before)
        push_kind = {"create": "create", "update": "update", "drift": "restore", "conflict": "adopt"}[a.kind]
        self._record(sc, a.name, push_kind, rid, d.digest, before, back, verified=not problems)
        if problems:
            return ObjectResult(**{**base, "remote_id": rid, "applied": not unsafe,
                                   "error": f"verification after {push_kind} failed: " + "; ".join(problems)})
        verified.add(a.name)
        if drift_id is not None and self.state is not None:
            self.state.mark_restored(drift_id)
        if a.kind == "drift":
            log.warning("scanner %s: drift on %s restored", sc.config.name, a.name)
        return ObjectResult(**{**base, "remote_id": rid, "applied": True, "verified": True})

    def _create(self, sc: _Scanner, client: ScannerClient, d: Desired, marker: str) -> str:
        attempts = 0

        def op() -> str:
            nonlocal attempts
            attempts += 1
            if attempts > 1:
                # the previous try may have created it before its reply was lost: look before creating
                found = self._lookup(sc, client, d)
                if found is not None:
                    log.info("scanner %s: %s was created by an earlier try (id %s)", sc.config.name, d.name, found)
                    return found
            sc.writes += 1
            return client.create(d.name, d.payload, marker)

        return self._call(sc, f"create {d.name}", op)

    def _verify(self, sc: _Scanner, client: ScannerClient, rid: str, d: Desired) -> tuple[RemoteObject | None, list[str], bool]:
        """Read back and check: (read-back, problems, whether what is live breaks the constraints)."""
        back = self._call(sc, f"read back {d.name}", lambda: client.read(rid))
        try:
            parsed = sc.vendor.parse(back.payload)
        except Exception as e:
            return back, [f"the read-back document cannot be parsed ({type(e).__name__}: {e})"], True
        bad = violations(parsed, d.compiled.constraints, vendor=sc.vendor.name)
        problems = [v.text() for v in bad]
        if back.marker_hash != d.digest:
            problems.append("the scanguard marker was not stored")
        if payload_hash(back.payload) != d.digest:
            problems.append("the scanner holds something other than what was pushed")
        return back, problems, bool(bad)

    def _undo(self, sc: _Scanner, client: ScannerClient, a: Action, rid: str, d: Desired,
              before: RemoteObject | None) -> None:
        """A write whose read-back breaks the constraints: put back what was there."""
        log.error("scanner %s: %s is live but breaks its constraints after %s; undoing", sc.config.name, d.name, a.kind)
        if a.kind == "create" or before is None:
            self._call(sc, f"delete unsafe {d.name}", lambda: client.delete(rid))
            sc.writes += 1
            self._record(sc, d.name, "undo-delete", rid, d.digest, None, None, verified=False)
            return
        old_marker = managed_marker(before.name, before.marker_hash) if before.marker_hash else ""
        self._call(sc, f"restore previous {d.name}",
                   lambda: client.update(rid, before.name, before.payload, old_marker))
        sc.writes += 1
        back = self._call(sc, f"read back restored {d.name}", lambda: client.read(rid))
        self._record(sc, d.name, "undo-update", rid, d.digest, None, back, verified=False)
        try:
            worse = safety_regressions(sc.vendor.parse(back.payload), sc.vendor.parse(before.payload),
                                       vendor=sc.vendor.name)
        except Exception as e:  # unreadable is unsafe
            worse = [f"unreadable ({type(e).__name__})"]
        if worse:
            # the scanner keeps storing something less safe than what was there: an unsafe template must
            # not stay usable, so it goes (scans that use it will fail loudly rather than hurt a device)
            log.critical("scanner %s: %s cannot be put back (%s); deleting it", sc.config.name, d.name, "; ".join(worse))
            self._call(sc, f"delete unsafe {d.name}", lambda: client.delete(rid))
            sc.writes += 1
            self._record(sc, d.name, "undo-delete", rid, d.digest, back, None, verified=False)

    def _delete_duplicate(self, sc: _Scanner, client: ScannerClient, a: Action, before: RemoteObject | None,
                          verified: set[str]) -> ObjectResult:
        base = dict(name=a.name, action=a.kind, remote_id=a.remote_id, weaker=a.weaker)
        if a.name not in verified:
            return ObjectResult(**{**base, "error": "duplicate left in place: the copy kept was not verified this run"})
        assert a.remote_id is not None
        self._call(sc, f"delete duplicate {a.name}", lambda: client.delete(a.remote_id))
        sc.writes += 1
        self._record(sc, a.name, "delete-duplicate", a.remote_id, None, before, None, verified=True)
        return ObjectResult(**{**base, "applied": True, "verified": True})

    def _record(self, sc: _Scanner, name: str, kind: str, rid: str | None, digest: str | None,
                before: RemoteObject | None, after: RemoteObject | None, *, verified: bool) -> None:
        if self.state is None or self._run_id is None:
            return
        self.state.record_push(
            self._run_id, sc.config.name, name, kind, remote_id=rid, rendered_hash=digest,
            before_hash=payload_hash(before.payload) if before is not None else None,
            after_hash=payload_hash(after.payload) if after is not None else None,
            before=before.payload if before is not None else None,
            after=after.payload if after is not None else None, verified=verified, user=self.user)


def _list(client: ScannerClient, names: frozenset[str]) -> list[RemoteObject]:
    """The client's managed objects; a client whose list_managed takes `names` also returns the
    unmanaged objects that carry one of them (so a hand-made namesake is seen, reported, left alone,
    even before scanguard ever pushed that name)."""
    try:
        takes_names = "names" in inspect.signature(client.list_managed).parameters
    except (TypeError, ValueError):
        takes_names = False
    return client.list_managed(names=names) if takes_names else client.list_managed()


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers: still record something honest
        return "unknown"


def exit_code_for(results: Iterable[ScannerResult]) -> int:
    """2 when a scanner's configuration cannot work (a credential not set), else 1 when any
    scanner failed, else 3 when drift was restored, a template retired (or found, in a dry run)
    or refused as unsafe, else 0."""
    results = list(results)
    if any(e.invalid for r in results for e in r.errors):
        return 2
    if any(r.status == "failed" for r in results):
        return 1
    if any(r.status in ("drift_restored", "retired", "refused") for r in results):
        return 3
    return 0


def _summarise(run_id: int | None, dry_run: bool, started: datetime, user: str,
               results: tuple[ScannerResult, ...], warnings: list[str]) -> RunSummary:
    code = exit_code_for(results)
    status = {0: "ok", 1: "failed", 2: "invalid", 3: "drift_restored"}[code]
    if code == 3:  # the most telling safety finding names the run
        status = next(s for s in ("drift_restored", "retired", "refused") if any(r.status == s for r in results))
    return RunSummary(run_id=run_id, dry_run=dry_run, started_at=started, finished_at=datetime.now(timezone.utc),
                      user=user, exit_code=code, status=status, scanners=results, warnings=tuple(warnings))
