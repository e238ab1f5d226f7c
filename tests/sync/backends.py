"""The vendor fakes (scanguard_testbed_scanners), behind one small
interface for the sync acceptance tests: start a fake, the scanguard.toml entry (and
environment) that reaches it, a console edit that makes a managed object less safe, fault
injection, and what the fake holds read straight from its stored state (`stored`), never through
the client under test: a client that misreads the scanner would otherwise agree with itself.

`available()` lists the vendors whose fake can be imported; nothing else is guessed."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from scanguard import RemoteObject, parse_marker
from scanguard.plugin.manager import PluginManager, load_plugins

FAULTS = ("500", "503", "429", "reset", "timeout")
CLIENT_TIMEOUT_S = 0.4
"""Short client timeout so that "timeout" faults cost little in the matrix."""
TIMED_CLIENT_TIMEOUT_S = 60
"""The client timeout where the fake keeps the client's clock (`Backend.timed`): a timeout fault
is met at once, so the timeout can be long enough that no slowness of a loaded machine reaches it."""


@dataclass(frozen=True)
class Backend:
    """One vendor's fake, as the sync tests use it."""

    vendor: str
    module: str
    distribution: str
    start: Callable[[bool], contextlib.AbstractContextManager[Any]]
    """Start a fake (argument: TLS or plain HTTP)."""
    entry: Callable[[Any, str], tuple[str, dict[str, str]]]
    """(the body of [scanners.NAME], environment variables to set) for a running fake."""
    drift: Callable[[Any, str], None]
    """A console edit of the managed object with that remote id, making it less safe."""
    stored: Callable[[Any], dict[str, list[RemoteObject]]] | None = None
    """Every object the fake holds, read from its stored state: {name: [object...]} with payloads
    the vendor's parse reads."""
    faults: tuple[str, ...] = FAULTS
    timed: Callable[[Any], contextlib.AbstractContextManager[Any]] | None = None
    """While a fake runs: clients reaching it meet its "timeout" faults at once and wait for
    nothing else but its answers (their own timeout generous), so timeouts happen exactly where
    they are injected, never because the machine is slow."""
    exclusions: Callable[[Any], dict[str, RemoteObject]] | None = None
    """For vendors whose client makes exclusion objects: every exclusion document the fake holds,
    read from its stored objects (the vendor's reading of one stored object, grouped by the
    library), never through the client's HTTP reading: {document name: object}."""
    drop_piece: Callable[[Any, str], None] | None = None
    """A console user deletes one of the objects holding an exclusion document."""

    def inject(self, fake: Any, n: int, kind: str) -> None:
        """Fail the n-th request from now (1: the next one) with `kind`. Fakes count either from
        now or from their start; their fail_at docstring says which."""
        relative = "from now" in (type(fake).fail_at.__doc__ or "")
        fake.fail_at(n if relative else len(fake.requests) + n, kind)

    def plugins(self) -> PluginManager:
        """A plugin manager with only this vendor's plugin (others may be mid-development)."""
        old = os.environ.get("SCANGUARD_LOAD_PLUGINS")
        os.environ["SCANGUARD_LOAD_PLUGINS"] = self.distribution
        try:
            return load_plugins()
        finally:
            if old is None:
                os.environ.pop("SCANGUARD_LOAD_PLUGINS", None)
            else:
                os.environ["SCANGUARD_LOAD_PLUGINS"] = old

    def missing_client(self, pm: PluginManager) -> str | None:
        """Why this vendor cannot be synced yet (its plugin has no client), or None."""
        if pm.failures:
            return "; ".join(f.text() for f in pm.failures)
        v = pm.vendors().get(self.vendor)
        if v is None:
            return f"plugin {self.distribution} is not installed"
        if v.client is None:
            return f"vendor {self.vendor} has no scanner client yet"
        return None


def _env_name(scanner: str, field: str) -> str:
    return "SGTEST_" + "".join(c if c.isalnum() else "_" for c in scanner).upper() + "_" + field.upper()


def _tls(ca: str | None) -> str:
    return f'tls = {{ ca_bundle = "{ca}" }}' if ca else ""


# -- Nessus ------------------------------------------------------------------------------------------
def _nessus_start(tls: bool = True):
    from scanguard_testbed_scanners.nessus import FakeNessus

    fake = FakeNessus(tls=tls)
    fake.hang_s = 2.0
    return fake


def _nessus_entry(fake: Any, name: str) -> tuple[str, dict[str, str]]:
    env = {_env_name(name, "access_key"): fake.access_key, _env_name(name, "secret_key"): fake.secret_key}
    body = (f'type = "nessus"\nurl = "{fake.url}"\n'
            f'credentials = {{ access_key = "{_env_name(name, "access_key")}", '
            f'secret_key = "{_env_name(name, "secret_key")}" }}\n{_tls(fake.ca_bundle)}\ntimeout_s = {CLIENT_TIMEOUT_S}')
    return body, env


def _nessus_drift(fake: Any, remote_id: str) -> None:
    # someone re-opens every port (7100 included) and turns safe checks off in the console
    fake.edit_policy(remote_id, settings={"portscan_range": "1-65535", "safe_checks": "no"})


def _nessus_stored(fake: Any) -> dict[str, list[RemoteObject]]:
    # the fake's raw state (settings, family states, plugin states, running port scanners) through
    # the shared policy model's reading, with nothing of the client's HTTP reading in between
    from scanguard_tenable_policy import hinted_plugins, live_document

    out: dict[str, list[RemoteObject]] = {}
    from scanguard_testbed_scanners.nessus import _recorded

    names = {t["uuid"]: t["name"] for t in _recorded()["templates"]}
    with fake._lock:
        for pid, p in sorted(fake.policies.items()):
            s = dict(p["settings"])
            families = {f: fake.family_status(pid, f) for f in fake.families}
            mixed: dict[str, list[str]] = {}
            for plugin, state in p["plugins"].items():
                family = fake.plugins[plugin][1]
                if state == "disabled" and families.get(family) == "mixed":
                    mixed.setdefault(family, []).append(plugin)
            running = [k for k, v in fake.port_scanners_running(pid).items() if v == "enabled"]
            doc = live_document(template=names.get(p["uuid"], p["uuid"]), settings=s, families=families,
                                mixed_disabled=mixed, hinted=hinted_plugins(s.get("description")),
                                plugin_family=lambda x: fake.plugins.get(x, (None, None))[1], port_scanners=running)
            marker = parse_marker(s.get("description"))
            out.setdefault(s.get("name", ""), []).append(RemoteObject(
                remote_id=str(pid), name=s.get("name", ""), payload=doc.payload(),
                marker_hash=marker[1] if marker else None, managed=marker is not None))
    return out


# -- Tenable Vulnerability Management: Nessus's policies, and exclusions ---------------------------------
def _tenableio_start(tls: bool = True):
    from scanguard_testbed_scanners.tenableio import FakeTenableIO

    fake = FakeTenableIO(tls=tls)
    fake.hang_s = 2.0
    return fake


def _api_keys_entry(vendor: str) -> Callable[[Any, str], tuple[str, dict[str, str]]]:
    """The scanguard.toml entry of a Tenable product with API keys (as Nessus's, another type)."""
    def entry(fake: Any, name: str) -> tuple[str, dict[str, str]]:
        body, env = _nessus_entry(fake, name)
        return body.replace('type = "nessus"', f'type = "{vendor}"', 1), env

    return entry


def _grouped(objects: list[tuple[str, Any]]) -> dict[str, RemoteObject]:
    from scanguard_tenable_policy.exclusion import group, remote_object

    return {name: remote_object(name, held) for name, held in group(objects).items()}


def _tenableio_exclusions(fake: Any) -> dict[str, RemoteObject]:
    from scanguard_tenableio.exclusions import piece_of

    with fake._lock:
        return _grouped([(str(i), piece_of(e)) for i, e in sorted(fake.exclusions.items())])


def _tenableio_drop(fake: Any, name: str) -> None:
    with fake._lock:
        victim = max(i for i, e in fake.exclusions.items() if e["name"] == f"scanguard {name}")
        del fake.exclusions[victim]


# -- Tenable Security Center ---------------------------------------------------------------------------
def _tenablesc_start(tls: bool = True):
    from scanguard_testbed_scanners.tenablesc import FakeTenableSC

    fake = FakeTenableSC(tls=tls)
    fake.hang_s = 2.0
    return fake


def _tenablesc_drift(fake: Any, remote_id: str) -> None:
    # someone re-opens every port (7100 included) and turns safe checks off in the console
    fake.edit_policy(remote_id, preferences={"portscan_range": "1-65535", "safe_checks": "no"})


def _tenablesc_stored(fake: Any) -> dict[str, list[RemoteObject]]:
    # the fake's raw state (preferences, families by id, the plugins kept on in a mixed family, the
    # port scanners that run) through the shared policy model's reading, no client in between
    from scanguard_tenable_policy import hinted_plugins, live_document
    from scanguard_tenable_policy.securitycenter import template_of
    from scanguard_testbed_scanners.tenablesc import TEMPLATES

    out: dict[str, list[RemoteObject]] = {}
    with fake._lock:
        for pid, p in sorted(fake.policies.items()):
            families = {name: "disabled" for name in fake.families.values()}
            mixed: dict[str, list[str]] = {}
            for fid, entry in p["families"].items():
                name = fake.families[fid]
                families[name] = entry["state"]
                if entry["state"] == "mixed":
                    mixed[name] = [x for x, (_, fam) in fake.plugins.items() if fam == name and x not in entry["plugins"]]
            settings = {**p["preferences"], "name": p["name"], "description": p["description"]}
            running = [k for k, v in fake.port_scanners_running(pid).items() if v == "enabled"]
            template = next(t["name"] for t in TEMPLATES if t["id"] == p["template"])
            doc = live_document(template=template_of(template), settings=settings, families=families,
                                mixed_disabled=mixed, hinted=hinted_plugins(p["description"]),
                                plugin_family=lambda x: fake.plugins.get(x, (None, None))[1], port_scanners=running)
            marker = parse_marker(p["description"])
            out.setdefault(p["name"], []).append(RemoteObject(
                remote_id=pid, name=p["name"], payload=doc.payload(),
                marker_hash=marker[1] if marker else None, managed=marker is not None))
    return out


def _tenablesc_exclusions(fake: Any) -> dict[str, RemoteObject]:
    from scanguard_tenablesc.freeze import piece_of

    with fake._lock:
        return _grouped([(i, piece_of(w)) for i, w in sorted(fake.freezes.items(), key=lambda kv: int(kv[0]))])


def _tenablesc_drop(fake: Any, name: str) -> None:
    with fake._lock:
        victim = max((i for i, w in fake.freezes.items() if w["name"] == f"scanguard {name}"), key=int)
        del fake.freezes[victim]


# -- InsightVM ---------------------------------------------------------------------------------------
def _insightvm_start(tls: bool = True):
    from scanguard_testbed_scanners.insightvm import FakeInsightVM

    fake = FakeInsightVM(tls=tls)
    fake.hang_s = 2.0
    fake.retry_after = 0
    return fake


def _insightvm_entry(fake: Any, name: str) -> tuple[str, dict[str, str]]:
    env = {_env_name(name, "username"): fake.username, _env_name(name, "password"): fake.password}
    body = (f'type = "insightvm"\nurl = "{fake.url}"\n'
            f'credentials = {{ username = "{_env_name(name, "username")}", password = "{_env_name(name, "password")}" }}\n'
            f'{_tls(fake.ca_bundle)}\ntimeout_s = {CLIENT_TIMEOUT_S}')
    return body, env


def _insightvm_drift(fake: Any, remote_id: str) -> None:
    def edit(doc: dict) -> None:
        doc.setdefault("checks", {})["unsafe"] = True
        tcp = doc.setdefault("discovery", {}).setdefault("service", {}).setdefault("tcp", {})
        tcp["excludedPorts"] = [] if isinstance(tcp.get("excludedPorts"), list) else ""

    fake.edit_template(remote_id, edit)


def _insightvm_stored(fake: Any) -> dict[str, list[RemoteObject]]:
    # a console's stored template is what the vendor's parse reads, as it is
    out: dict[str, list[RemoteObject]] = {}
    for rid, doc in sorted(fake.managed_templates().items()):
        marker = parse_marker(doc.get("description"))
        out.setdefault(str(doc.get("name", "")), []).append(RemoteObject(
            remote_id=rid, name=str(doc.get("name", "")), payload=doc,
            marker_hash=marker[1] if marker else None, managed=marker is not None))
    return out


# -- GVM ---------------------------------------------------------------------------------------------
def _gvm_timed(fake):
    import scanguard_gvm.client

    return fake.timed_clients(scanguard_gvm.client)


def _gvm_start(tls: bool = True):  # gvmd is always TLS
    from scanguard_testbed_scanners.gvm import FakeGvmd

    # a timeout fault holds the connection until the client leaves, which a timed client does at once
    return FakeGvmd(timeout_sleep=TIMED_CLIENT_TIMEOUT_S)


def _gvm_entry(fake: Any, name: str) -> tuple[str, dict[str, str]]:
    env = {_env_name(name, "username"): fake.username, _env_name(name, "password"): fake.password}
    body = (f'type = "gvm"\nurl = "https://{fake.host}:{fake.port}"\n'
            f'credentials = {{ username = "{_env_name(name, "username")}", password = "{_env_name(name, "password")}" }}\n'
            f'{_tls(fake.ca_bundle)}\ntimeout_s = {TIMED_CLIENT_TIMEOUT_S}')
    return body, env


def _gvm_drift(fake: Any, remote_id: str) -> None:
    # the managed scan config: safe checks off, denial-of-service family back on
    cid = remote_id if remote_id in fake.state.configs else next(
        (c for c in fake.state.configs if c in remote_id), remote_id)
    fake.edit("config", cid, scanner_preferences={"safe_checks": "no"}, families_on=["Denial of Service"])


def _gvm_stored(fake: Any) -> dict[str, list[RemoteObject]]:
    # every scan config the fake holds with the tasks, targets and port lists that use it, in the
    # document form the vendor's parse reads: what gvmd would show (a preference never set shows
    # the scanner's or the NVT's default; the NVTs of "Port scanners" one by one), and where the
    # parts of a template differ, the least safe of them
    from scanguard_gvm.vocabulary import FORMAT
    from scanguard_testbed_scanners.gvm import FULL_AND_FAST
    from scanguard_testbed_scanners.osp_scanner import SCANNER_PARAMS

    out: dict[str, list[RemoteObject]] = {}
    with fake._lock:
        st = fake.state
        families = st.families()
        nvt_defaults = {f"{n.oid}:{p.id}:{p.type}:{p.name}": p.default for n in st.feed for p in n.prefs}
        for cid, cfg in sorted(st.configs.items()):
            if cfg.feed:
                continue
            marker = parse_marker(cfg.comment)
            name = (marker[0] if marker and marker[0] else None) or cfg.name
            tasks = [t for t in st.tasks.values() if t.config_id == cid]
            targets = [st.targets[t.target_id] for t in tasks if t.target_id in st.targets]
            lists = [st.port_lists[t.port_list_id] for t in targets if t.port_list_id in st.port_lists] or [
                pl for pl in st.port_lists.values() if pl.name == cfg.name]  # no targets: its port list by name
            intent = next((json.loads(line[len("scanguard:intent "):]) for line in cfg.comment.splitlines()
                           if line.startswith("scanguard:intent ")), {})
            counts = {fam: len({n.oid for n in nvts} & cfg.selected) for fam, nvts in families.items()}
            others = {f: n for f, n in counts.items() if f != "Port scanners"}
            if cfg.family_growing:
                selection = {"mode": "all-except", "families": sorted(f for f, n in others.items() if n == 0)}
            else:
                selection = {"mode": "only", "families": sorted(f for f, n in others.items() if n > 0)}
            excluded = sorted(n.oid for fam, nvts in families.items() if fam != "Port scanners"
                              and 0 < counts[fam] < len(nvts) for n in nvts if n.oid not in cfg.selected)
            nvt_values = {**nvt_defaults, **cfg.nvt_prefs}
            nvt_prefs = []
            for full, value in sorted(nvt_values.items()):
                oid, pid, kind, pname = full.split(":", 3)
                nvt_prefs.append({"oid": oid, "id": int(pid), "type": kind, "name": pname,
                                  "value": value.split(";", 1)[0] if kind == "radio" else value})
            prefs: dict[str, str] = {}
            for key in ("max_checks", "max_hosts"):
                values = [t.preferences[key] for t in tasks if key in t.preferences]
                if values:
                    prefs[key] = max(values, key=lambda v: int(v) if v.isdigit() else 1 << 30)
            alive = sorted({t.alive_tests for t in targets})
            payload = {
                "format": FORMAT, "name": name,
                "port_list": {"name": name, "ranges": sorted(
                    ({"type": r["type"].upper(), "start": r["start"], "end": r["end"]} for pl in lists for r in pl.ranges),
                    key=lambda r: (r["type"], r["start"]))},
                "scan_config": {
                    "name": name, "base_config": FULL_AND_FAST,
                    "scanner_preferences": {**{p.id: p.default for p in SCANNER_PARAMS}, **cfg.scanner_prefs},
                    "nvt_preferences": nvt_prefs, "family_selection": selection,
                    "port_scanners": sorted(n.oid for n in families.get("Port scanners", []) if n.oid in cfg.selected),
                    "nvt_selection": {"excluded": excluded}},
                "target": {"name": name, "hosts": [h for t in targets for h in t.hosts.split(", ") if h],
                           "exclude_hosts": [h for t in targets for h in t.exclude_hosts.split(", ") if h],
                           "alive_test": " | ".join(alive) if targets else intent.get("target", {}).get("alive_test")},
                "task": {"name": name, "preferences": prefs if tasks else dict(intent.get("task", {}))},
            }
            out.setdefault(name, []).append(RemoteObject(remote_id=cid, name=name, payload=payload,
                                                         marker_hash=marker[1] if marker else None,
                                                         managed=marker is not None))
    return out


BACKENDS: dict[str, Backend] = {
    "nessus": Backend("nessus", "scanguard_testbed_scanners.nessus", "scanguard-nessus", _nessus_start, _nessus_entry, _nessus_drift,
                      stored=_nessus_stored),
    "tenableio": Backend("tenableio", "scanguard_testbed_scanners.tenableio", "scanguard-tenableio", _tenableio_start,
                         _api_keys_entry("tenableio"), _nessus_drift, stored=_nessus_stored, exclusions=_tenableio_exclusions,
                         drop_piece=_tenableio_drop),
    "tenablesc": Backend("tenablesc", "scanguard_testbed_scanners.tenablesc", "scanguard-tenablesc", _tenablesc_start,
                         _api_keys_entry("tenablesc"), _tenablesc_drift, stored=_tenablesc_stored, exclusions=_tenablesc_exclusions,
                         drop_piece=_tenablesc_drop),
    "insightvm": Backend("insightvm", "scanguard_testbed_scanners.insightvm", "scanguard-insightvm", _insightvm_start,
                         _insightvm_entry, _insightvm_drift, stored=_insightvm_stored),
    "gvm": Backend("gvm", "scanguard_testbed_scanners.gvm", "scanguard-gvm", _gvm_start, _gvm_entry, _gvm_drift,
                   stored=_gvm_stored, faults=("500", "503", "reset", "timeout"),  # GMP has no 429
                   timed=_gvm_timed),
}


def ready(vendor: str) -> tuple[Backend, PluginManager]:
    """(backend, plugin manager) for one vendor; the test is skipped, saying why, when its plugin
    has no client yet."""
    import pytest

    b = BACKENDS[vendor]
    pm = b.plugins()
    why = b.missing_client(pm)
    if why:
        pytest.skip(f"{b.vendor}: {why}")
    return b, pm


def available() -> list[str]:
    """Vendors whose fake can be imported (in a fixed order)."""
    return [v for v, b in BACKENDS.items() if importlib.util.find_spec(b.module) is not None]


@contextlib.contextmanager
def running(backend: Backend, names: tuple[str, ...] = ("scn",), *,
            tls: bool = True) -> Iterator[tuple[list[Any], dict[str, str], dict[str, str]]]:
    """Start one fake per scanner name: (fakes, {name: toml body}, environment)."""
    with contextlib.ExitStack() as stack:
        fakes, bodies, env = [], {}, {}
        for n in names:
            fake = backend.start(tls)
            stack.enter_context(fake)
            if backend.timed is not None:
                stack.enter_context(backend.timed(fake))
            body, e = backend.entry(fake, n)
            fakes.append(fake)
            bodies[n] = body
            env.update(e)
        old = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            yield fakes, bodies, env
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
