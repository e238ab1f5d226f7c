"""A stateful fake gvmd: a real TLS socket on 127.0.0.1 that speaks enough GMP for python-gvm.

    with FakeGvmd() as fake:
        conn = TLSConnection(hostname=fake.host, port=fake.port, ...)   # CA in fake.ca_bundle
        ...
        fake.state.configs            # what lives on the "scanner"
        fake.edit("port_list", pid, add_range=("tcp", 7100, 7100))        # a console edit
        fake.fail_next("503", command="get_configs")                      # fault injection
        fake.requests                  # [(command, status), ...]

It holds a small NVT feed (families and OIDs), the predefined "Full and fast" scan config and the
"OpenVAS Default" scanner, and behaves like gvmd where scanguard depends on it: status codes and
status texts, "... is in use" refusals for objects used by a task or target, a target needs a
port list, names are unique per type, predefined configs cannot be modified.

Faults (the API of the Nessus fake): kinds "500" and "503" (a GMP error response), "reset"
(close the connection without answering) and "timeout" (wait, interruptibly, `hang_s` seconds:
longer than a client's timeout, then close). `fail_next(kind, count, command)` injects into the
next matching requests; `fail_at(n, kind)` into the n-th request this server receives (1-based,
counted from its start: `fail_at(len(fake.requests) + 1, kind)` is the next one);
`clear_faults()` forgets them; `latency` delays every answer by that many seconds. `requests`
logs (command, status) per request, status 0 when the connection was dropped.
"""

from __future__ import annotations

import base64
import copy
import socket
import ssl
import struct
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import trustme
from lxml import etree

FULL_AND_FAST = "daba56c8-73ec-11df-a475-002264764cea"
OPENVAS_SCANNER = "08b69003-5fc2-4037-a479-93b440211c73"
PING_HOST = "1.3.6.1.4.1.25623.1.0.100315"
NMAP_WRAPPER = "1.3.6.1.4.1.25623.1.0.14259"

FAULT_KINDS = ("500", "503", "reset", "timeout")
FAULT_TEXT = {"500": "Internal error", "503": "Service temporarily down"}

# A small feed: every family scanguard's GVM table names, a few NVTs each.
FEED: dict[str, list[tuple[str, str]]] = {
    "Port scanners": [(PING_HOST, "Ping Host"), (NMAP_WRAPPER, "Nmap (NASL wrapper)")],
    "Service detection": [("1.3.6.1.4.1.25623.1.0.10330", "Services")],
    "Denial of Service": [("1.3.6.1.4.1.25623.1.0.900001", "Slowloris DoS"),
                          ("1.3.6.1.4.1.25623.1.0.900002", "TCP SYN flood")],
    "Brute force attacks": [("1.3.6.1.4.1.25623.1.0.900011", "SSH brute force"),
                            ("1.3.6.1.4.1.25623.1.0.900012", "FTP brute force")],
    "Default Accounts": [("1.3.6.1.4.1.25623.1.0.900021", "Default SSH login")],
    "Gain a shell remotely": [("1.3.6.1.4.1.25623.1.0.103549", "Possible Backdoor: Ingreslock")],
    "Web application abuses": [("1.3.6.1.4.1.25623.1.0.10662", "Web mirroring")],
    "Buffer overflow": [("1.3.6.1.4.1.25623.1.0.900031", "HTTP long URL overflow")],
    "Web Servers": [("1.3.6.1.4.1.25623.1.0.900041", "Apache banner"),
                    ("1.3.6.1.4.1.25623.1.0.900042", "IIS banner"),
                    ("1.3.6.1.4.1.25623.1.0.900043", "nginx banner")],
    "General": [("1.3.6.1.4.1.25623.1.0.900051", "OS detection")],
    "Useless services": [("1.3.6.1.4.1.25623.1.0.100111", "The rexec service is running")],
}

# (oid, id, type, name, default) of the NVT preferences the predefined config carries.
NVT_PREFS: list[tuple[str, int, str, str, str]] = [
    (PING_HOST, 1, "checkbox", "Do a TCP ping", "no"),
    (PING_HOST, 2, "checkbox", "TCP ping tries also TCP-SYN ping", "no"),
    (PING_HOST, 3, "checkbox", "Do an ICMP ping", "yes"),
    (PING_HOST, 4, "checkbox", "Use ARP", "no"),
    (PING_HOST, 5, "checkbox", "Mark unrechable Hosts as dead (not scanning)", "yes"),
    (PING_HOST, 7, "checkbox", "TCP ping tries only TCP-SYN ping", "no"),
    (PING_HOST, 8, "checkbox", "Use nmap", "yes"),
    (PING_HOST, 10, "entry", "nmap additional ports for -PA", "137,587,3128,8081"),
    (NMAP_WRAPPER, 1, "radio", "TCP scanning technique :", "connect()"),
    (NMAP_WRAPPER, 11, "entry", "Max RTT Timeout (ms) :", ""),
    (NMAP_WRAPPER, 13, "entry", "Ports scanned in parallel (max)", ""),
    (NMAP_WRAPPER, 15, "entry", "Minimum wait between probes (ms)", ""),
    (NMAP_WRAPPER, 25, "checkbox", "No ARP or ND Ping", "no"),
]
SCANNER_PREFS = {
    "safe_checks": "yes", "time_between_request": "0", "checks_read_timeout": "5",
    "unscanned_closed": "yes", "unscanned_closed_udp": "yes", "optimize_test": "yes",
}
ALIVE_TESTS = (
    "Scan Config Default", "ICMP Ping", "TCP-ACK Service Ping", "TCP-SYN Service Ping", "ARP Ping",
    "ICMP & TCP-ACK Service Ping", "ICMP & ARP Ping", "TCP-ACK Service & ARP Ping",
    "ICMP, TCP-ACK Service & ARP Ping", "Consider Alive",
)
TASK_PREF_TITLES = {"max_checks": "Maximum concurrently executed NVTs per host",
                    "max_hosts": "Maximum concurrently scanned hosts"}


class GmpError(Exception):
    """A command refused the way gvmd refuses it."""

    def __init__(self, status: int, text: str):
        super().__init__(text)
        self.status = status
        self.text = text


@dataclass
class PortList:
    id: str
    name: str
    comment: str = ""
    ranges: list[dict[str, Any]] = field(default_factory=list)  # {"id", "type": "tcp"|"udp", "start", "end"}


@dataclass
class Config:
    id: str
    name: str
    comment: str = ""
    predefined: bool = False
    family_growing: bool = True
    growing: dict[str, bool] = field(default_factory=dict)  # family -> new NVTs are added
    selected: set[str] = field(default_factory=set)  # selected NVT OIDs
    scanner_prefs: dict[str, str] = field(default_factory=dict)
    nvt_prefs: dict[tuple[str, int], str] = field(default_factory=dict)


@dataclass
class Target:
    id: str
    name: str
    hosts: str
    port_list_id: str
    comment: str = ""
    exclude_hosts: str = ""
    alive_tests: str = "Scan Config Default"


@dataclass
class Task:
    id: str
    name: str
    config_id: str
    target_id: str
    scanner_id: str
    comment: str = ""
    alterable: bool = False
    preferences: dict[str, str] = field(default_factory=dict)


@dataclass
class State:
    """Everything the fake scanner holds. Read it in tests; change it through `FakeGvmd.edit`."""

    port_lists: dict[str, PortList] = field(default_factory=dict)
    configs: dict[str, Config] = field(default_factory=dict)
    targets: dict[str, Target] = field(default_factory=dict)
    tasks: dict[str, Task] = field(default_factory=dict)

    def family_of(self, oid: str) -> str | None:
        """The feed family of an NVT."""
        return next((fam for fam, nvts in FEED.items() if any(o == oid for o, _ in nvts)), None)

    def config_in_use(self, cid: str) -> bool:
        return any(t.config_id == cid for t in self.tasks.values())

    def port_list_in_use(self, pid: str) -> bool:
        return any(t.port_list_id == pid for t in self.targets.values())

    def target_in_use(self, tid: str) -> bool:
        return any(t.target_id == tid for t in self.tasks.values())


def _full_and_fast() -> Config:
    return Config(
        id=FULL_AND_FAST, name="Full and fast",
        comment="Most NVT's; optimized by using previously collected information.",
        predefined=True, growing={fam: True for fam in FEED},
        selected={oid for nvts in FEED.values() for oid, _ in nvts},
        scanner_prefs=dict(SCANNER_PREFS), nvt_prefs={(o, i): d for o, i, _, _, d in NVT_PREFS},
    )


def parse_port_range(text: str) -> list[dict[str, Any]]:
    """gvmd's port range text: items separated by commas, each optionally prefixed T: or U:
    (the prefix carries to the items after it); raises GmpError 400 on bad input."""
    out: list[dict[str, Any]] = []
    proto = "tcp"
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        if item[:2].upper() in ("T:", "U:"):
            proto = "tcp" if item[0].upper() == "T" else "udp"
            item = item[2:].strip()
        lo, _, hi = item.partition("-")
        try:
            start, end = int(lo), int(hi or lo)
        except ValueError:
            raise GmpError(400, "Error in port range") from None
        if not (1 <= start <= end <= 65535):
            raise GmpError(400, "Error in port range")
        out.append({"id": str(uuid.uuid4()), "type": proto, "start": start, "end": end})
    return out


def _text(el: etree._Element, tag: str, default: str | None = None) -> str | None:
    child = el.find(tag)
    if child is None:
        return default
    return (child.text or "").strip()


def _filter_matches(filter_text: str | None, name: str, comment: str) -> bool:
    """The subset of gvmd's filter language scanguard uses: name=, name~, comment~ (others ignored)."""
    for term in (filter_text or "").split():
        key, op, value = None, None, None
        for sep in ("~", "="):
            if sep in term:
                key, _, value = term.partition(sep)
                op = sep
                break
        if key is None or key in ("rows", "first", "sort", "sort-reverse"):
            continue
        value = value.strip('"')
        field_value = {"name": name, "comment": comment}.get(key)
        if field_value is None:
            continue
        if op == "=" and field_value != value:
            return False
        if op == "~" and value.lower() not in field_value.lower():
            return False
    return True


class FakeGvmd:
    """A fake gvmd over TLS on 127.0.0.1 (see the module docstring)."""

    def __init__(self, *, username: str = "admin", password: str | None = None, version: str = "22.7",
                 timeout_sleep: float = 5.0) -> None:
        self.host = "127.0.0.1"
        self.port = 0
        self.username = username
        self.password = password or uuid.uuid4().hex
        self.version = version
        self.latency = 0.0
        self.timeout_sleep = timeout_sleep
        self.state = State()
        self.state.configs[FULL_AND_FAST] = _full_and_fast()
        self.requests: list[tuple[str, int | str]] = []
        self.ca_bundle = ""
        self._lock = threading.RLock()
        self._faults_next: list[tuple[str, str | None]] = []
        self._faults_at: dict[int, str] = {}
        self._count = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._conns: set[socket.socket] = set()
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._listener: socket.socket | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    def __enter__(self) -> "FakeGvmd":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def hang_s(self) -> float:
        """How long a "timeout" fault holds the connection (the Nessus fake's name)."""
        return self.timeout_sleep

    @hang_s.setter
    def hang_s(self, value: float) -> None:
        self.timeout_sleep = value

    def start(self) -> "FakeGvmd":
        """Listen on a free port of 127.0.0.1 with a fresh CA and server certificate; returns self."""
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        self._tmp = tempfile.TemporaryDirectory(prefix="fake-gvmd-")
        bundle = Path(self._tmp.name) / "ca.pem"
        ca.cert_pem.write_to_path(str(bundle))
        self.ca_bundle = str(bundle)
        self._ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert.configure_cert(self._ctx)
        self._listener = socket.create_server((self.host, 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        t = threading.Thread(target=self._accept_loop, name="fake-gvmd-accept", daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def stop(self) -> None:
        """Stop accepting, wake every sleeping fault, close every connection."""
        self._stop.set()
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.close()
            except OSError:
                pass
        for t in self._threads:
            t.join(timeout=5)
        if self._listener is not None:
            self._listener.close()
        if self._tmp is not None:
            self._tmp.cleanup()

    # -- fault injection and console edits -------------------------------------------------------
    def fail_next(self, kind: str, count: int = 1, command: str | None = None) -> None:
        """Make the next `count` requests (only `command` ones, if given) fail with `kind`."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; known: {', '.join(FAULT_KINDS)}")
        with self._lock:
            self._faults_next.extend([(kind, command)] * count)

    def fail_at(self, n: int, kind: str) -> None:
        """Make the n-th request (1-based, counted over the server's life) fail with `kind`."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; known: {', '.join(FAULT_KINDS)}")
        with self._lock:
            self._faults_at[n] = kind

    def clear_faults(self) -> None:
        """Forget every pending fault."""
        with self._lock:
            self._faults_next.clear()
            self._faults_at.clear()

    def writes(self) -> list[tuple[str, int | str]]:
        """The logged requests that change state (create_*, modify_*, delete_*)."""
        with self._lock:
            return [r for r in self.requests if r[0].startswith(("create_", "modify_", "delete_"))]

    def edit(self, kind: str, id: str, **changes: Any) -> None:
        """A console edit, bypassing gvmd's checks the way an admin in GSA would not be stopped.

        - port_list: add_range=("tcp", 7100, 7100), ranges=[("tcp", 1, 80), ...]
        - config: scanner_preferences={"safe_checks": "no"}, nvt_preferences={(oid, pref_id): value},
          families_off=["Denial of Service"], families_on=[...]
        - target: hosts=, exclude_hosts=, alive_tests=, port_list_id=
        - task: preferences={"max_checks": "10"}, config_id=, target_id=
        """
        with self._lock:
            s = self.state
            if kind == "port_list":
                pl = s.port_lists[id]
                if "ranges" in changes:
                    pl.ranges = []
                added = list(changes.get("ranges", [])) + ([changes["add_range"]] if "add_range" in changes else [])
                for t, a, b in added:
                    pl.ranges.append({"id": str(uuid.uuid4()), "type": t, "start": a, "end": b})
            elif kind == "config":
                cfg = s.configs[id]
                cfg.scanner_prefs.update(changes.get("scanner_preferences", {}))
                cfg.nvt_prefs.update(changes.get("nvt_preferences", {}))
                for fam in changes.get("families_off", []):
                    cfg.selected -= {o for o, _ in FEED.get(fam, [])}
                for fam in changes.get("families_on", []):
                    cfg.selected |= {o for o, _ in FEED.get(fam, [])}
            elif kind == "target":
                tgt = s.targets[id]
                for k, v in changes.items():
                    setattr(tgt, k, v)
            elif kind == "task":
                task = s.tasks[id]
                task.preferences.update(changes.pop("preferences", {}))
                for k, v in changes.items():
                    setattr(task, k, v)
            else:
                raise ValueError(f"unknown kind {kind!r}")

    def statuses(self, command: str | None = None) -> list[int | str]:
        """The statuses logged, optionally for one command only."""
        with self._lock:
            return [st for cmd, st in self.requests if command is None or cmd == command]

    # -- the socket server -----------------------------------------------------------------------
    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stop.is_set():
            try:
                raw, _ = self._listener.accept()
            except (socket.timeout, TimeoutError):
                continue
            except OSError:
                return
            t = threading.Thread(target=self._serve, args=(raw,), name="fake-gvmd-conn", daemon=True)
            t.start()
            with self._lock:
                self._threads.append(t)

    def _serve(self, raw: socket.socket) -> None:
        raw.settimeout(5)
        try:
            conn = self._ctx.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            raw.close()
            return
        with self._lock:
            self._conns.add(conn)
        session = {"user": None}
        try:
            conn.settimeout(0.2)
            while not self._stop.is_set():
                root = self._read_command(conn)
                if root is None:
                    break
                if not self._answer(conn, root, session):
                    break
        finally:
            with self._lock:
                self._conns.discard(conn)
            try:
                conn.close()
            except OSError:
                pass

    def _read_command(self, conn: ssl.SSLSocket) -> etree._Element | None:
        # Untrusted input: no entity expansion, no network, no DTD loading.
        parser = etree.XMLPullParser(events=("start", "end"), resolve_entities=False, no_network=True,
                                     load_dtd=False, huge_tree=False)
        depth = 0
        while not self._stop.is_set():
            try:
                data = conn.recv(65536)
            except (socket.timeout, TimeoutError):
                continue
            except (ssl.SSLError, OSError):
                return None
            if not data:
                return None
            try:
                parser.feed(data)
                for event, el in parser.read_events():
                    depth += 1 if event == "start" else -1
                    if event == "end" and depth == 0:
                        return el
            except etree.XMLSyntaxError:
                return etree.Element("bogus")
        return None

    def _fault_for(self, command: str) -> str | None:
        with self._lock:
            self._count += 1
            kind = self._faults_at.pop(self._count, None)
            if kind is None:
                for i, (k, cmd) in enumerate(self._faults_next):
                    if cmd is None or cmd == command:
                        kind = k
                        del self._faults_next[i]
                        break
            return kind

    def _answer(self, conn: ssl.SSLSocket, root: etree._Element, session: dict) -> bool:
        command = root.tag if isinstance(root.tag, str) else "bogus"
        fault = self._fault_for(command)
        if self.latency:
            self._stop.wait(self.latency)
        if fault in ("reset", "timeout"):
            with self._lock:
                self.requests.append((command, 0))
            if fault == "timeout":
                self._stop.wait(self.timeout_sleep)
            else:
                # RST rather than a clean close: what a crashed daemon or a middlebox does
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return False
        if fault:
            status, body, text = int(fault), "", FAULT_TEXT[fault]
        else:
            status, text, body = self._dispatch(command, root, session)
        with self._lock:
            self.requests.append((command, status))
        attrs = f' status="{status}" status_text={quoteattr(text)}'
        extra = ""
        if isinstance(body, tuple):  # (extra attributes, body)
            extra, body = body
        xml = f"<{command}_response{attrs}{extra}>{body}</{command}_response>"
        try:
            conn.sendall(xml.encode())
        except OSError:
            return False
        return True

    # -- GMP commands ----------------------------------------------------------------------------
    def _dispatch(self, command: str, root: etree._Element, session: dict) -> tuple[int, str, Any]:
        if command == "get_version":
            return 200, "OK", f"<version>{escape(self.version)}</version>"
        if command == "authenticate":
            creds = root.find("credentials")
            user = _text(creds, "username", "") if creds is not None else ""
            password = _text(creds, "password", "") if creds is not None else ""
            if user == self.username and password == self.password:
                session["user"] = user
                return 200, "OK", "<role>Admin</role><timezone>UTC</timezone>"
            return 400, "Authentication failed", ""
        if session["user"] is None:
            return 401, "Authenticate first", ""
        handler = getattr(self, "_cmd_" + command, None)
        if handler is None:
            return 400, "Bogus command name", ""
        try:
            with self._lock:
                result = handler(root)
        except GmpError as e:
            return e.status, e.text, ""
        if isinstance(result, tuple) and len(result) == 3:
            return result
        return 200, "OK", result

    def _created(self, new_id: str) -> tuple[int, str, Any]:
        return 201, "OK, resource created", (f' id="{new_id}"', "")

    def _unique(self, objects: dict[str, Any], name: str, what: str) -> None:
        if any(o.name == name for o in objects.values()):
            raise GmpError(400, f"{what} exists already")

    def _get(self, objects: dict[str, Any], oid: str | None, what: str) -> Any:
        if not oid or oid not in objects:
            raise GmpError(404, f"Failed to find {what} '{oid}'")
        return objects[oid]

    # port lists
    def _cmd_create_port_list(self, root: etree._Element):
        name = _text(root, "name")
        if not name:
            raise GmpError(400, "CREATE_PORT_LIST requires a NAME")
        self._unique(self.state.port_lists, name, "Port list")
        ranges = parse_port_range(_text(root, "port_range", "") or "")
        pl = PortList(id=str(uuid.uuid4()), name=name, comment=_text(root, "comment", "") or "", ranges=ranges)
        self.state.port_lists[pl.id] = pl
        return self._created(pl.id)

    def _cmd_create_port_range(self, root: etree._Element):
        pl_el = root.find("port_list")
        pl = self._get(self.state.port_lists, pl_el.get("id") if pl_el is not None else None, "port_list")
        if self.state.port_list_in_use(pl.id):
            raise GmpError(400, "Port list is in use")
        kind = (_text(root, "type", "") or "").lower()
        if kind not in ("tcp", "udp"):
            raise GmpError(400, "Port range type must be TCP or UDP")
        try:
            start, end = int(_text(root, "start", "") or ""), int(_text(root, "end", "") or "")
        except ValueError:
            raise GmpError(400, "Port range start and end must be integers") from None
        if not (1 <= start <= end <= 65535):
            raise GmpError(400, "Port range start and end must be between 1 and 65535, start before end")
        rid = str(uuid.uuid4())
        pl.ranges.append({"id": rid, "type": kind, "start": start, "end": end})
        return self._created(rid)

    def _cmd_delete_port_range(self, root: etree._Element):
        rid = root.get("port_range_id")
        for pl in self.state.port_lists.values():
            for r in pl.ranges:
                if r["id"] == rid:
                    if self.state.port_list_in_use(pl.id):
                        raise GmpError(400, "Port list is in use")
                    pl.ranges.remove(r)
                    return ""
        raise GmpError(404, f"Failed to find port_range '{rid}'")

    def _cmd_modify_port_list(self, root: etree._Element):
        pl = self._get(self.state.port_lists, root.get("port_list_id"), "port_list")
        if root.find("name") is not None:
            pl.name = _text(root, "name") or pl.name
        if root.find("comment") is not None:
            pl.comment = _text(root, "comment", "") or ""
        return ""

    def _cmd_delete_port_list(self, root: etree._Element):
        pl = self._get(self.state.port_lists, root.get("port_list_id"), "port_list")
        if self.state.port_list_in_use(pl.id):
            raise GmpError(400, "Port list is in use")
        del self.state.port_lists[pl.id]
        return ""

    def _port_list_xml(self, pl: PortList) -> str:
        tcp = sum(r["end"] - r["start"] + 1 for r in pl.ranges if r["type"] == "tcp")
        udp = sum(r["end"] - r["start"] + 1 for r in pl.ranges if r["type"] == "udp")
        ranges = "".join(
            f'<port_range id="{r["id"]}"><start>{r["start"]}</start><end>{r["end"]}</end>'
            f'<type>{r["type"]}</type><comment/></port_range>'
            for r in sorted(pl.ranges, key=lambda r: (r["type"], r["start"]))
        )
        in_use = int(self.state.port_list_in_use(pl.id))
        return (f'<port_list id="{pl.id}"><name>{escape(pl.name)}</name><comment>{escape(pl.comment)}</comment>'
                f'<in_use>{in_use}</in_use><port_count><all>{tcp + udp}</all><tcp>{tcp}</tcp><udp>{udp}</udp>'
                f'</port_count><port_ranges>{ranges}</port_ranges></port_list>')

    def _cmd_get_port_lists(self, root: etree._Element):
        pid = root.get("port_list_id")
        if pid:
            return self._port_list_xml(self._get(self.state.port_lists, pid, "port_list"))
        return "".join(self._port_list_xml(p) for p in self.state.port_lists.values()
                       if _filter_matches(root.get("filter"), p.name, p.comment))

    # scan configs
    def _cmd_create_config(self, root: etree._Element):
        name = _text(root, "name")
        base = self._get(self.state.configs, _text(root, "copy"), "config")
        if not name:
            raise GmpError(400, "CREATE_CONFIG requires a NAME")
        self._unique(self.state.configs, name, "Config")
        cfg = copy.deepcopy(base)
        cfg.id, cfg.name, cfg.predefined = str(uuid.uuid4()), name, False
        cfg.comment = _text(root, "comment", "") or ""
        self.state.configs[cfg.id] = cfg
        return self._created(cfg.id)

    def _cmd_modify_config(self, root: etree._Element):
        cfg = self._get(self.state.configs, root.get("config_id"), "config")
        content = [el for el in root if el.tag in ("preference", "family_selection", "nvt_selection")]
        if (content or root.find("name") is not None) and cfg.predefined:
            raise GmpError(403, "Permission denied")
        if content and self.state.config_in_use(cfg.id):
            raise GmpError(400, "Config is in use")
        for el in root:
            if el.tag == "name":
                cfg.name = (el.text or "").strip() or cfg.name
            elif el.tag == "comment":
                cfg.comment = (el.text or "").strip()
            elif el.tag == "preference":
                self._set_preference(cfg, el)
            elif el.tag == "family_selection":
                self._set_families(cfg, el)
            elif el.tag == "nvt_selection":
                family = _text(el, "family", "") or ""
                if family not in FEED:
                    raise GmpError(404, f"Failed to find family '{family}'")
                members = {o for o, _ in FEED[family]}
                wanted = {n.get("oid") for n in el.findall("nvt")}
                cfg.selected = (cfg.selected - members) | (wanted & members)
                cfg.growing[family] = False
        return ""

    def _set_preference(self, cfg: Config, el: etree._Element) -> None:
        name = _text(el, "name", "") or ""
        raw = _text(el, "value", None)
        try:
            value = base64.b64decode(raw, validate=True).decode() if raw else ""
        except (ValueError, UnicodeDecodeError):
            raise GmpError(400, "Value must be base64") from None
        nvt = el.find("nvt")
        if nvt is None:
            if name not in cfg.scanner_prefs:
                raise GmpError(404, f"Failed to find preference '{name}'")
            cfg.scanner_prefs[name] = value
            return
        oid = nvt.get("oid")
        parts = name.split(":", 3)
        if len(parts) != 4 or parts[0] != oid or not parts[1].isdigit():
            raise GmpError(400, "Preference name must be OID:ID:TYPE:NAME")
        key = (oid, int(parts[1]))
        if key not in cfg.nvt_prefs:
            raise GmpError(404, f"Failed to find preference '{name}'")
        cfg.nvt_prefs[key] = value

    def _set_families(self, cfg: Config, el: etree._Element) -> None:
        cfg.family_growing = (_text(el, "growing", "1") or "0") == "1"
        listed: dict[str, tuple[bool, bool]] = {}
        for fam in el.findall("family"):
            name = _text(fam, "name", "") or ""
            listed[name] = (_text(fam, "all", "0") == "1", _text(fam, "growing", "0") == "1")
        for family, nvts in FEED.items():
            members = {o for o, _ in nvts}
            if family not in listed:
                cfg.selected -= members
                cfg.growing[family] = False
                continue
            select_all, growing = listed[family]
            if select_all:
                cfg.selected |= members
            cfg.growing[family] = growing

    def _cmd_delete_config(self, root: etree._Element):
        cfg = self._get(self.state.configs, root.get("config_id"), "config")
        if cfg.predefined:
            raise GmpError(403, "Permission denied")
        if self.state.config_in_use(cfg.id):
            raise GmpError(400, "Config is in use")
        del self.state.configs[cfg.id]
        return ""

    def _config_xml(self, cfg: Config) -> str:
        fams = []
        for family, nvts in FEED.items():
            members = {o for o, _ in nvts}
            count = len(members & cfg.selected)
            fams.append(f"<family><name>{escape(family)}</name><nvt_count>{count}</nvt_count>"
                        f"<max_nvt_count>{len(members)}</max_nvt_count>"
                        f"<growing>{int(cfg.growing.get(family, False))}</growing></family>")
        prefs = [f'<preference><nvt oid=""><name/></nvt><id/><hr_name>{escape(k)}</hr_name><name>{escape(k)}</name>'
                 f'<type/><value>{escape(v)}</value><default>{escape(SCANNER_PREFS.get(k, ""))}</default></preference>'
                 for k, v in sorted(cfg.scanner_prefs.items())]
        meta = {(o, i): (t, n, d) for o, i, t, n, d in NVT_PREFS}
        for (oid, pid), value in sorted(cfg.nvt_prefs.items()):
            t, n, d = meta[(oid, pid)]
            nvt_name = next(nm for nvts in FEED.values() for o, nm in nvts if o == oid)
            prefs.append(f'<preference><nvt oid="{oid}"><name>{escape(nvt_name)}</name></nvt><id>{pid}</id>'
                         f'<hr_name>{escape(n)}</hr_name><name>{escape(n)}</name><type>{t}</type>'
                         f'<value>{escape(value)}</value><default>{escape(d)}</default></preference>')
        tasks = "".join(f'<task id="{t.id}"><name>{escape(t.name)}</name></task>'
                        for t in self.state.tasks.values() if t.config_id == cfg.id)
        selected_families = sum(1 for fam, nvts in FEED.items() if {o for o, _ in nvts} & cfg.selected)
        return (f'<config id="{cfg.id}"><name>{escape(cfg.name)}</name><comment>{escape(cfg.comment)}</comment>'
                f'<in_use>{int(self.state.config_in_use(cfg.id))}</in_use>'
                f'<predefined>{int(cfg.predefined)}</predefined>'
                f'<family_count>{selected_families}<growing>{int(cfg.family_growing)}</growing></family_count>'
                f'<nvt_count>{len(cfg.selected)}<growing>1</growing></nvt_count><usage_type>scan</usage_type>'
                f'<families>{"".join(fams)}</families><preferences>{"".join(prefs)}</preferences>'
                f'<tasks>{tasks}</tasks></config>')

    def _cmd_get_configs(self, root: etree._Element):
        cid = root.get("config_id")
        if cid:
            return self._config_xml(self._get(self.state.configs, cid, "config"))
        return "".join(self._config_xml(c) for c in self.state.configs.values()
                       if _filter_matches(root.get("filter"), c.name, c.comment))

    # NVTs
    def _cmd_get_nvt_families(self, root: etree._Element):
        fams = "".join(f"<family><name>{escape(f)}</name><max_nvt_count>{len(n)}</max_nvt_count></family>"
                       for f, n in sorted(FEED.items()))
        return f"<families>{fams}</families>"

    def _cmd_get_nvts(self, root: etree._Element):
        oid = root.get("nvt_oid")
        family = root.get("family")
        cfg = self._get(self.state.configs, root.get("config_id"), "config") if root.get("config_id") else None
        out = []
        for fam, nvts in FEED.items():
            if family and fam != family:
                continue
            for o, name in nvts:
                if oid and o != oid:
                    continue
                if cfg is not None and o not in cfg.selected:
                    continue
                out.append(f'<nvt oid="{o}"><name>{escape(name)}</name><family>{escape(fam)}</family></nvt>')
        if oid and not out:
            raise GmpError(404, f"Failed to find NVT '{oid}'")
        return "".join(out)

    # targets
    def _cmd_create_target(self, root: etree._Element):
        name = _text(root, "name")
        if not name:
            raise GmpError(400, "CREATE_TARGET requires a NAME")
        self._unique(self.state.targets, name, "Target")
        hosts = _text(root, "hosts", "") or ""
        if not hosts:
            raise GmpError(400, "CREATE_TARGET requires a host")
        pl_el = root.find("port_list")
        if pl_el is None:
            raise GmpError(400, "CREATE_TARGET requires a PORT_LIST")
        self._get(self.state.port_lists, pl_el.get("id"), "port_list")
        alive = self._alive(root)
        tgt = Target(id=str(uuid.uuid4()), name=name, hosts=hosts, port_list_id=pl_el.get("id"),
                     comment=_text(root, "comment", "") or "", exclude_hosts=_text(root, "exclude_hosts", "") or "",
                     alive_tests=alive or "Scan Config Default")
        self.state.targets[tgt.id] = tgt
        return self._created(tgt.id)

    def _alive(self, root: etree._Element) -> str | None:
        el = root.find("alive_tests")
        if el is None:
            return None
        value = (el.text or "").strip() or ", ".join((a.text or "").strip() for a in el)
        if value not in ALIVE_TESTS:
            raise GmpError(400, "Invalid alive test")
        return value

    def _cmd_modify_target(self, root: etree._Element):
        tgt = self._get(self.state.targets, root.get("target_id"), "target")
        content = [el for el in root if el.tag in ("hosts", "exclude_hosts", "port_list", "alive_tests")]
        if content and self.state.target_in_use(tgt.id):
            raise GmpError(400, "Target is in use")
        for el in root:
            if el.tag in ("name", "comment", "hosts", "exclude_hosts"):
                setattr(tgt, el.tag, (el.text or "").strip())
            elif el.tag == "port_list":
                tgt.port_list_id = self._get(self.state.port_lists, el.get("id"), "port_list").id
            elif el.tag == "alive_tests":
                tgt.alive_tests = self._alive(root) or tgt.alive_tests
        return ""

    def _cmd_delete_target(self, root: etree._Element):
        tgt = self._get(self.state.targets, root.get("target_id"), "target")
        if self.state.target_in_use(tgt.id):
            raise GmpError(400, "Target is in use")
        del self.state.targets[tgt.id]
        return ""

    def _target_xml(self, t: Target) -> str:
        pl = self.state.port_lists.get(t.port_list_id)
        return (f'<target id="{t.id}"><name>{escape(t.name)}</name><comment>{escape(t.comment)}</comment>'
                f'<in_use>{int(self.state.target_in_use(t.id))}</in_use><hosts>{escape(t.hosts)}</hosts>'
                f'<exclude_hosts>{escape(t.exclude_hosts)}</exclude_hosts>'
                f'<port_list id="{t.port_list_id}"><name>{escape(pl.name if pl else "")}</name></port_list>'
                f'<alive_tests>{escape(t.alive_tests)}</alive_tests></target>')

    def _cmd_get_targets(self, root: etree._Element):
        tid = root.get("target_id")
        if tid:
            return self._target_xml(self._get(self.state.targets, tid, "target"))
        return "".join(self._target_xml(t) for t in self.state.targets.values()
                       if _filter_matches(root.get("filter"), t.name, t.comment))

    # tasks
    def _task_prefs(self, root: etree._Element) -> dict[str, str]:
        out = {}
        prefs = root.find("preferences")
        for p in prefs.findall("preference") if prefs is not None else []:
            out[_text(p, "scanner_name", "") or ""] = _text(p, "value", "") or ""
        return out

    def _cmd_create_task(self, root: etree._Element):
        name = _text(root, "name")
        if not name:
            raise GmpError(400, "CREATE_TASK requires a NAME")
        ids = {}
        for tag, objects in (("config", self.state.configs), ("target", self.state.targets)):
            el = root.find(tag)
            ids[tag] = self._get(objects, el.get("id") if el is not None else None, tag).id
        scanner = root.find("scanner")
        if scanner is None or scanner.get("id") != OPENVAS_SCANNER:
            raise GmpError(404, f"Failed to find scanner '{scanner.get('id') if scanner is not None else ''}'")
        task = Task(id=str(uuid.uuid4()), name=name, config_id=ids["config"], target_id=ids["target"],
                    scanner_id=OPENVAS_SCANNER, comment=_text(root, "comment", "") or "",
                    alterable=_text(root, "alterable", "0") == "1", preferences=self._task_prefs(root))
        self.state.tasks[task.id] = task
        return self._created(task.id)

    def _cmd_modify_task(self, root: etree._Element):
        task = self._get(self.state.tasks, root.get("task_id"), "task")
        for el in root:
            if el.tag in ("name", "comment"):
                setattr(task, el.tag, (el.text or "").strip())
            elif el.tag == "config":
                task.config_id = self._get(self.state.configs, el.get("id"), "config").id
            elif el.tag == "target":
                task.target_id = self._get(self.state.targets, el.get("id"), "target").id
            elif el.tag == "preferences":
                task.preferences.update(self._task_prefs(root))
        return ""

    def _cmd_delete_task(self, root: etree._Element):
        task = self._get(self.state.tasks, root.get("task_id"), "task")
        del self.state.tasks[task.id]
        return ""

    def _task_xml(self, t: Task) -> str:
        cfg, tgt = self.state.configs.get(t.config_id), self.state.targets.get(t.target_id)
        prefs = "".join(f"<preference><name>{escape(TASK_PREF_TITLES.get(k, k))}</name><scanner_name>{escape(k)}"
                        f"</scanner_name><value>{escape(v)}</value></preference>"
                        for k, v in sorted(t.preferences.items()))
        return (f'<task id="{t.id}"><name>{escape(t.name)}</name><comment>{escape(t.comment)}</comment>'
                f'<alterable>{int(t.alterable)}</alterable>'
                f'<config id="{t.config_id}"><name>{escape(cfg.name if cfg else "")}</name></config>'
                f'<target id="{t.target_id}"><name>{escape(tgt.name if tgt else "")}</name></target>'
                f'<scanner id="{t.scanner_id}"><name>OpenVAS Default</name></scanner>'
                f'<status>New</status><preferences>{prefs}</preferences></task>')

    def _cmd_get_tasks(self, root: etree._Element):
        tid = root.get("task_id")
        if tid:
            return self._task_xml(self._get(self.state.tasks, tid, "task"))
        return "".join(self._task_xml(t) for t in self.state.tasks.values()
                       if _filter_matches(root.get("filter"), t.name, t.comment))
