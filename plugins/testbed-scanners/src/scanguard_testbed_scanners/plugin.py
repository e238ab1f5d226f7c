"""The fake scanners `scanguard testbed scanner start` serves (the `scanguard_fake_scanners`
hook): Nessus, Tenable VM, Security Center, InsightVM and GVM, all from this package. Each console
edit is what the sync tests call drift: less safe than the plan."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from scanguard import FakeScanner, hookimpl, parse_marker

from .common import netloc


@dataclass
class Running:
    """One served fake (a `scanguard.RunningFake`). Its console edit finds the managed objects of
    a template (`managed`: remote id -> (description, name)) and makes each less safe (`change`),
    as `said`."""

    url: str
    ca_bundle: str | None
    credentials: Mapping[str, str]
    managed: Callable[[], Mapping[Any, tuple[str | None, str]]] = field(repr=False)
    change: Callable[[Any], None] = field(repr=False)
    said: str
    halt: Callable[[], None] = field(repr=False)

    def console_edit(self, template: str) -> str:
        """Change the managed template `template` as in the console; KeyError when none."""
        ids = [i for i, (description, name) in self.managed().items() if _managed_name(description, name) == template]
        if not ids:
            raise KeyError(template)
        for i in ids:
            self.change(i)
        return self.said

    def stop(self) -> None:
        """Stop serving."""
        self.halt()


def _managed_name(description: str | None, name: str) -> str:
    marker = parse_marker(description)
    return (marker[0] if marker and marker[0] else None) or name


def _keys(fake: Any) -> dict[str, str]:
    return {"access_key": fake.access_key, "secret_key": fake.secret_key}


# what someone "just trying something" in a console does: every port, safe checks off
EVERY_PORT_UNSAFE = {"portscan_range": "1-65535", "safe_checks": "no"}


# -- Nessus and Tenable VM (Nessus's policies) -------------------------------------------------
def start_nessus(host: str, port: int) -> Running:
    """A fake Nessus on host:port over TLS."""
    from .nessus import FakeNessus

    return _nessus_policies(FakeNessus(tls=True, host=host, port=port).start())


def start_tenableio(host: str, port: int) -> Running:
    """A fake Tenable Vulnerability Management on host:port over TLS."""
    from .tenableio import FakeTenableIO

    return _nessus_policies(FakeTenableIO(tls=True, host=host, port=port).start())


def _nessus_policies(fake: Any) -> Running:
    def managed() -> dict[Any, tuple[str | None, str]]:
        with fake._lock:
            return {pid: (p["settings"].get("description"), p["settings"].get("name", ""))
                    for pid, p in fake.policies.items()}

    return Running(fake.url, fake.ca_bundle, _keys(fake), managed,
                   lambda pid: fake.edit_policy(pid, settings=EVERY_PORT_UNSAFE),
                   "policy settings: port range 1-65535, safe checks off", fake.stop)


# -- Security Center ---------------------------------------------------------------------------
def start_tenablesc(host: str, port: int) -> Running:
    """A fake Tenable Security Center on host:port over TLS."""
    from .tenablesc import FakeTenableSC

    fake = FakeTenableSC(tls=True, host=host, port=port).start()

    def managed() -> dict[Any, tuple[str | None, str]]:
        with fake._lock:
            return {pid: (p["description"], p["name"]) for pid, p in fake.policies.items()}

    return Running(fake.url, fake.ca_bundle, _keys(fake), managed,
                   lambda pid: fake.edit_policy(pid, preferences=EVERY_PORT_UNSAFE),
                   "policy preferences: port range 1-65535, safe checks off", fake.stop)


# -- InsightVM ---------------------------------------------------------------------------------
def start_insightvm(host: str, port: int) -> Running:
    """A fake InsightVM console on host:port over TLS."""
    from .insightvm import FakeInsightVM

    fake = FakeInsightVM(tls=True, host=host, port=port).start()

    def less_safe(doc: dict[str, Any]) -> None:
        doc.setdefault("checks", {})["unsafe"] = True
        tcp = doc.setdefault("discovery", {}).setdefault("service", {}).setdefault("tcp", {})
        tcp["excludedPorts"] = [] if isinstance(tcp.get("excludedPorts"), list) else ""

    return Running(fake.url, fake.ca_bundle, {"username": fake.username, "password": fake.password},
                   lambda: {rid: (doc.get("description"), str(doc.get("name", "")))
                            for rid, doc in fake.managed_templates().items()},
                   lambda rid: fake.edit_template(rid, less_safe),
                   "scan template: unsafe checks on, no excluded TCP ports", fake.stop)


# -- GVM ---------------------------------------------------------------------------------------
def start_gvm(host: str, port: int) -> Running:
    """A fake gvmd (GMP over TLS) on host:port."""
    from .gvm import FakeGvmd

    fake = FakeGvmd(host=host, port=port).start()

    def managed() -> dict[Any, tuple[str | None, str]]:
        with fake._lock:  # only configs scanguard marked: the feed's own are never "edited" here
            return {cid: (cfg.comment, cfg.name) for cid, cfg in fake.state.configs.items()
                    if parse_marker(cfg.comment)}

    return Running(f"https://{netloc(fake.host)}:{fake.port}", fake.ca_bundle,
                   {"username": fake.username, "password": fake.password}, managed,
                   lambda cid: fake.edit("config", cid, scanner_preferences={"safe_checks": "no"},
                                         families_on=["Denial of Service"]),
                   "scan config: safe checks off, Denial of Service family on", fake.stop)


@hookimpl
def scanguard_fake_scanners() -> Iterable[FakeScanner]:
    """Nessus, Tenable VM, Security Center, InsightVM and GVM."""
    keys = ("access_key", "secret_key")
    yield FakeScanner(vendor="nessus", title="Tenable Nessus (fake, REST over TLS)", start=start_nessus,
                      default_port=8834, credentials=keys)
    yield FakeScanner(vendor="tenableio", title="Tenable Vulnerability Management (fake, REST over TLS)",
                      start=start_tenableio, default_port=443, credentials=keys)
    yield FakeScanner(vendor="tenablesc", title="Tenable Security Center (fake, REST over TLS)",
                      start=start_tenablesc, default_port=443, credentials=keys)
    yield FakeScanner(vendor="insightvm", title="Rapid7 InsightVM console (fake, REST over TLS)",
                      start=start_insightvm, default_port=3780, credentials=("username", "password"))
    yield FakeScanner(vendor="gvm", title="Greenbone gvmd (fake, GMP over TLS)", start=start_gvm,
                      default_port=9390, credentials=("username", "password"))
