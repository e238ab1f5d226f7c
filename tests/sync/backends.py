"""The vendor fakes in tests/fakes/, behind one small interface for the sync acceptance tests:
start a fake, the scanguard.toml entry (and environment) that reaches it, a console edit that
makes a managed object less safe, and fault injection.

`available()` lists the vendors whose fake exists in tests/fakes/; nothing else is guessed."""

from __future__ import annotations

import contextlib
import importlib.util
import os
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from scanguard.plugin.manager import PluginManager, load_plugins

FAULTS = ("500", "503", "429", "reset", "timeout")
CLIENT_TIMEOUT_S = 0.4
"""Short client timeout so that "timeout" faults cost little in the matrix."""


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
    faults: tuple[str, ...] = FAULTS

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
    from tests.fakes.nessus import FakeNessus

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


# -- InsightVM ---------------------------------------------------------------------------------------
def _insightvm_start(tls: bool = True):
    from tests.fakes.insightvm import FakeInsightVM

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


# -- GVM ---------------------------------------------------------------------------------------------
def _gvm_start(tls: bool = True):  # gvmd is always TLS
    from tests.fakes.gvm import FakeGvmd

    return FakeGvmd(timeout_sleep=2.0)


def _gvm_entry(fake: Any, name: str) -> tuple[str, dict[str, str]]:
    env = {_env_name(name, "username"): fake.username, _env_name(name, "password"): fake.password}
    body = (f'type = "gvm"\nurl = "https://{fake.host}:{fake.port}"\n'
            f'credentials = {{ username = "{_env_name(name, "username")}", password = "{_env_name(name, "password")}" }}\n'
            f'{_tls(fake.ca_bundle)}\ntimeout_s = {CLIENT_TIMEOUT_S}')
    return body, env


def _gvm_drift(fake: Any, remote_id: str) -> None:
    # the managed scan config: safe checks off, denial-of-service family back on
    cid = remote_id if remote_id in fake.state.configs else next(
        (c for c in fake.state.configs if c in remote_id), remote_id)
    fake.edit("config", cid, scanner_preferences={"safe_checks": "no"}, families_on=["Denial of Service"])


BACKENDS: dict[str, Backend] = {
    "nessus": Backend("nessus", "tests.fakes.nessus", "scanguard-nessus", _nessus_start, _nessus_entry, _nessus_drift),
    "insightvm": Backend("insightvm", "tests.fakes.insightvm", "scanguard-insightvm", _insightvm_start,
                         _insightvm_entry, _insightvm_drift),
    "gvm": Backend("gvm", "tests.fakes.gvm", "scanguard-gvm", _gvm_start, _gvm_entry, _gvm_drift,
                   faults=("500", "503", "reset", "timeout")),  # GMP has no 429
}


def available() -> list[str]:
    """Vendors whose fake exists in tests/fakes/ (in a fixed order)."""
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
