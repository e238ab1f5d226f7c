"""Fake scanners for the newcomer's tour (`scanguard testbed scanner`): the fakes plugins register
(`scanguard_fake_scanners`), served where the workspace's scanguard.toml says each scanner is,
on loopback only, with the variables a shell needs to reach them (credentials under the names
scanguard.toml gives, the CA that signed their certificates) and a control interface on
127.0.0.1 through which a "console edit" makes drift:

    GET  /status                         {"scanners": [{"scanner", "vendor", "url"}], "env": [names]}
    POST /edit?scanner=S&template=T      change T on S as someone in the console would
    POST /stop                           stop every fake
"""

from __future__ import annotations

import ipaddress
import json
import tempfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Mapping
from urllib.parse import parse_qs, urlsplit

from ..errors import ScanguardError, UsageError
from ..plugin.records import FakeScanner, RunningFake
from ..suggest import unknown
from ..workspace import Workspace

CONTROL_ENV = "SCANGUARD_TESTBED_SCANNERS"
"""The variable that holds the control interface's URL (what `edit` and `stop` talk to)."""
CA_ENV = ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")
"""Where Python's HTTP clients (requests) and OpenSSL (GVM's TLS) look for a CA bundle when the
workspace names none: the fakes' CAs, for this shell only."""


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Binding:
    """One fake to start: for which scanner (of the workspace, or the vendor's name), where."""

    scanner: str
    vendor: str
    host: str
    port: int
    env_names: Mapping[str, str] = field(default_factory=dict)
    """Credential field -> the environment variable scanguard.toml names for it."""


def bindings(vendors: list[str], fakes: Mapping[str, FakeScanner], ws: Workspace | None) -> list[Binding]:
    """Where each asked-for fake listens: at the url of every scanner of that vendor the
    workspace has (which must be a loopback address), else on 127.0.0.1 at the product's usual
    port. UsageError for a vendor without a fake or a url that is not loopback."""
    out: list[Binding] = []
    for vendor in vendors:
        if vendor not in fakes:
            raise UsageError(unknown("fake scanner", vendor, fakes, listed="available"))
        fake = fakes[vendor]
        configured = sorted((n, s) for n, s in (ws.config.scanners.items() if ws else ()) if s.type == vendor)
        for name, sc in configured:
            parts = urlsplit(sc.url or "")
            host = parts.hostname or "127.0.0.1"
            if not is_loopback(host):
                raise UsageError(f"scanner {name}: url {sc.url} is not a loopback address; fake scanners listen on "
                                 "loopback only (127.0.0.0/8, ::1): point url at 127.0.0.1 to try sync against one")
            # a url without a port is where its client goes: the scheme's port, not the product's
            port = parts.port or {"https": 443, "http": 80}.get(parts.scheme, fake.default_port)
            out.append(Binding(name, vendor, host, port, dict(sc.credentials)))
        if not configured:
            default = {f: f"{vendor}_{f}".upper().replace("-", "_") for f in fake.credentials}
            out.append(Binding(vendor, vendor, "127.0.0.1", fake.default_port, default))
    return out


class Session:
    """Running fakes and their control interface."""

    def __init__(self, started: list[tuple[Binding, RunningFake]], folder: Path):
        self.started = started
        self.folder = folder
        self.stopped = threading.Event()
        self._control: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def control_url(self) -> str:
        """The control interface, http://127.0.0.1:PORT/."""
        assert self._control is not None
        return f"http://127.0.0.1:{self._control.server_address[1]}/"

    def env(self) -> dict[str, str]:
        """The variables to set: each scanner's credentials under scanguard.toml's names, the
        fakes' CAs, and where the control interface is."""
        out: dict[str, str] = {}
        cas = []
        for b, running in self.started:
            for fld, value in running.credentials.items():
                if fld in b.env_names:
                    out[b.env_names[fld]] = value
            if running.ca_bundle:
                cas.append(Path(running.ca_bundle).read_text())
        if cas:
            bundle = self.folder / "fake-scanners-ca.pem"
            bundle.write_text("".join(cas))
            out.update({name: str(bundle) for name in CA_ENV})
        out[CONTROL_ENV] = self.control_url
        return out

    def edit(self, scanner: str, template: str) -> str:
        """A console edit of `template` on the fake serving `scanner`."""
        by = {b.scanner: r for b, r in self.started}
        if scanner not in by:
            raise UsageError(unknown("scanner", scanner, by, listed="served here"))
        try:
            return by[scanner].console_edit(template)
        except KeyError:
            raise UsageError(f"scanner {scanner} holds no managed template {template!r} (run `scanguard sync` "
                             "first)") from None

    def status(self) -> dict:
        """What is served, and the variables `env` sets."""
        return {"scanners": [{"scanner": b.scanner, "vendor": b.vendor, "url": r.url} for b, r in self.started],
                "env": sorted(self.env())}

    def serve_control(self) -> None:
        """Start the control interface on 127.0.0.1 (a free port)."""
        session = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # quiet: the tour's terminal is for scanguard
                pass

            def _answer(self, code: int, doc: dict) -> None:
                body = json.dumps(doc).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if urlsplit(self.path).path == "/status":
                    self._answer(200, session.status())
                else:
                    self._answer(404, {"error": "not found"})

            def do_POST(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                if parts.path == "/stop":
                    self._answer(200, {"stopped": [b.scanner for b, _ in session.started]})
                    session.stopped.set()
                elif parts.path == "/edit":
                    try:
                        changed = session.edit(query.get("scanner", ""), query.get("template", ""))
                        self._answer(200, {"changed": changed})
                    except ScanguardError as e:
                        self._answer(404, {"error": str(e)})
                else:
                    self._answer(404, {"error": "not found"})

        self._control = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._control.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="fake-scanners-control", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop every fake and the control interface."""
        for _, running in self.started:
            running.stop()
        if self._control is not None:
            self._control.shutdown()
            self._control.server_close()


def start(plan: list[Binding], fakes: Mapping[str, FakeScanner]) -> Session:
    """Start every fake of the plan (stopping those already started when one cannot start)."""
    started: list[tuple[Binding, RunningFake]] = []
    folder = Path(tempfile.mkdtemp(prefix="scanguard-fake-scanners-"))
    try:
        for b in plan:
            if not is_loopback(b.host):  # bindings() refuses these; a plan made by hand too
                raise UsageError(f"{b.host} is not a loopback address: fake scanners listen on loopback only")
            try:
                started.append((b, fakes[b.vendor].start(b.host, b.port)))
            except OSError as e:
                raise ScanguardError(f"cannot serve a fake {b.vendor} for {b.scanner} on {b.host}:{b.port}: "
                                     f"{e.strerror or e}") from None
        session = Session(started, folder)
        session.serve_control()
        return session
    except BaseException:
        for _, running in started:
            running.stop()
        raise
