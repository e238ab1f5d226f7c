"""The typed, frozen records that plugins register through the registration hooks."""

from __future__ import annotations

from typing import IO, Any, Callable, Iterable, Iterator, Mapping, Protocol, runtime_checkable

from pydantic import Field, field_validator

from ..model.base import Model
from ..model.events import ActivityEvent, HealthEvent, HostResult
from ..model.exclusion import ScannerExclusion
from ..model.plan import CompiledTemplate, Targets
from ..model.run import ScanRun
from ..model.template import ScanTemplate

from ..model.config import ScannerConfig
from ..scanners import ScannerClient

CAPABILITIES = frozenset(
    {"render", "parse", "client", "activity", "results", "artifacts", "run", "replay", "exclusions", "targets"}
)
"""What a vendor record can declare it does."""


def _json_text(payload: Any) -> str:
    import json

    return json.dumps(payload, indent=2, sort_keys=True) + "\n"


class ExclusionSupport(Model):
    """How a vendor enforces scanner-side exclusions (`scanguard.ScannerExclusion`) on the
    scanner itself, whatever template a scan uses.

    - `render(exclusions) -> {name: document}`: the vendor's native documents for the
      exclusions it can keep (`ports`: it can block single ports, else only whole addresses;
      `schedule`: it can keep an exclusion in force only outside scan windows). Exclusions it
      cannot keep are not given to it; templates and `scanguard check` still enforce them;
    - `parse(document) -> exclusions`: what a native document blocks (addresses, ports,
      schedule); what cannot be read raises (a document that cannot be judged never counts as
      covering anything);
    - `artifact`: the documents are files an admin installs (Nessus's nessusd.rules, which has
      no API): `render --out` writes them and nothing is pushed. Otherwise the vendor's client
      is an `ExclusionClient` and sync pushes, reads back and verifies them, and reports a live
      exclusion that no longer covers what is required as drift;
    - `creates`: the client can make a new exclusion object of a document's name (Tenable's
      exclusions). Without it, the exclusion lives in objects the scanner already has
      (InsightVM's sites), each of which must come to cover the document;
    - `keeps(exclusion) -> bool`: further limits of the vendor (Nessus cannot write a port
      rule for an IPv6 address); None: only `ports` and `schedule` decide;
    - `serialize(document) -> str` and `suffix`: how `render --out` writes a document.

    .. versionadded:: 0.1
    """

    render: Callable[[tuple[ScannerExclusion, ...]], dict[str, Any]]
    parse: Callable[[Any], tuple[ScannerExclusion, ...]]
    ports: bool = False
    schedule: bool = False
    artifact: bool = False
    creates: bool = False
    keeps: Callable[[ScannerExclusion], bool] | None = None
    serialize: Callable[[Any], str] = _json_text
    suffix: str = ".json"

    def enforceable(self, exclusions: Iterable[ScannerExclusion]) -> tuple[ScannerExclusion, ...]:
        """The exclusions this vendor can keep on the scanner."""
        return tuple(e for e in exclusions
                     if (self.ports or e.ports is None) and (self.schedule or not e.schedule)
                     and (self.keeps is None or self.keeps(e)))


class Vendor(Model):
    """A scanner vendor adapter.

    - `render(compiled) -> payload`: the vendor's native document for a compiled template
      (JSON-serialisable: dicts, lists, strings);
    - `parse(payload) -> ScanTemplate`: the neutral template a native document amounts to. The
      conformance kit checks `violations(parse(render(T)), C) == []` for every compiled T;
    - `serialize(payload) -> str` and `suffix`: how `render --out` writes the payload;
    - `artifacts(compiled) -> {filename: text}`: further files (policy exports, rule snippets);
    - `client(scanner_config) -> ScannerClient`: talks to a live scanner;
    - `parse_activity(text stream) -> ActivityEvent...` and `parse_results(binary stream) ->
      HostResult...`: streaming parsers of the scanner's activity log and result exports;
      `result_roots`: the root elements of those exports;
    - `run(compiled, targets, *, out_dir, name, stop_when, timeout_s) -> ScanRun`: run a scan
      now against live targets (capability "run"; what `scanguard trial` drives). `stop_when`
      is polled while the scan runs: True stops it (the device went down). With capability
      "replay", `run` also takes ``replay=Suspect``: send only what that suspect names (a
      check, a named probe, or a bare connect) to its port, to confirm a cause by itself;
    - `parse_targets(payload) -> Targets`: where a native document aims (capability
      "targets"), for vendors whose templates carry their targets (GVM targets, nmap argument
      vectors): render and sync then verify that a document never reaches an address its
      compiled template excludes (never-scan devices, restricted devices of another template);
    - `exclusions`: scanner-side exclusions (:class:`ExclusionSupport`, capability "exclusions").
    """

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    title: str = ""
    render: Callable[[CompiledTemplate], Any]
    parse: Callable[[Any], ScanTemplate]
    serialize: Callable[[Any], str] = _json_text
    suffix: str = ".json"
    artifacts: Callable[[CompiledTemplate], dict[str, str]] | None = None
    client: Callable[["ScannerConfig"], "ScannerClient"] | None = None
    parse_activity: Callable[[IO[str]], Iterator[ActivityEvent]] | None = None
    parse_results: Callable[[IO[bytes]], Iterator[HostResult]] | None = None
    run: Callable[..., ScanRun] | None = None
    parse_targets: Callable[[Any], Targets] | None = None
    exclusions: ExclusionSupport | None = None
    capabilities: frozenset[str] = frozenset({"render", "parse"})
    check_kinds: frozenset[str] = frozenset()
    """The kinds of vendor-specific check ids this vendor can exclude (e.g. plugin, family)."""
    result_roots: frozenset[str] = frozenset()
    """The root elements of the vendor's XML result exports (e.g. nmaprun): how an export's
    vendor is told from its content."""

    @field_validator("capabilities")
    @classmethod
    def _known(cls, v: frozenset[str]) -> frozenset[str]:
        unknown = v - CAPABILITIES
        if unknown:
            raise ValueError(f"unknown capabilities {sorted(unknown)}; known: {sorted(CAPABILITIES)}")
        return v


class TemplateRewrite(Model):
    """A plugin's rewrite of one compiled template. Rewrites are applied in ascending
    `priority` (then `name`), each to the result of the one before; the core re-verifies after
    each and rejects one that makes the template less safe."""

    name: str
    priority: int = 100
    apply: Callable[[ScanTemplate], ScanTemplate]
    reason: str = ""


class HealthSource(Model):
    """A source of device health: `read(spec) -> HealthEvent...` (spec is source-specific:
    a path, a URL, a host)."""

    name: str
    read: Callable[[str], Iterable[HealthEvent]]
    description: str = ""


class ReportFormat(Model):
    """A way to write findings: `write(findings, stream)`."""

    name: str
    write: Callable[..., None]
    suffix: str = ".json"
    description: str = ""


@runtime_checkable
class RunningFake(Protocol):
    """A fake scanner serving on loopback (what `FakeScanner.start` returns).

    .. versionadded:: 0.1
    """

    url: str
    """Where it answers, like https://127.0.0.1:8834."""
    ca_bundle: str | None
    """The PEM file of the CA that signed its TLS certificate (None: plain HTTP or a Unix socket)."""
    credentials: Mapping[str, str]
    """The credential values it accepts, by the field names of scanguard.toml's `credentials`."""

    def console_edit(self, template: str) -> str:
        """Change the managed template of that name as someone in the product's console would
        (less safe: it is what drift looks like); returns what was changed, in words. KeyError
        when no managed template has that name."""

    def stop(self) -> None:
        """Stop serving and remove its files."""


class FakeScanner(Model):
    """A stateful fake of one vendor's scanner: the vendor's real API, on loopback, answering in
    the recorded shapes of the real product (`scanguard testbed scanner start`, and the tests).

    - `vendor`: the vendor it fakes (a `Vendor` name), `title`;
    - `start(host, port) -> RunningFake`: serve on that loopback address (port 0: any free one);
      it never listens anywhere but loopback;
    - `default_port`: the product's usual port (where a workspace's url does not say);
    - `credentials`: the credential fields its clients read, as scanguard.toml names them.

    .. versionadded:: 0.1
    """

    vendor: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    title: str = ""
    start: Callable[[str, int], RunningFake]
    default_port: int = Field(ge=1, le=65535)
    credentials: tuple[str, ...] = ()
