"""Reading an MDS2 form (Manufacturer Disclosure Statement for Medical Device Security, ANSI/NEMA
HN 1-2019) from its spreadsheet (.xlsx) or a CSV export, for the answers that matter to scanning.

The form is rows of: question id (DOC-1, CONN-2, SAHD-13, ...), question, answer (Yes / No /
N/A / See Notes, or free text for DOC-*), and notes. Manufacturers add a table of network ports
(port, protocol, service, direction, default status, notes), on the same sheet or another one.
The reader finds both by content, not by position: a cell holding a question id starts a
question row; a row with "port" and "protocol" headers starts a port table.

What scanguard drafts from it, like from an advisory:
- the fingerprint: the ports the device listens on (inbound, not disabled by default) from the
  port table and the notes of CONN-2 (the port list) and RMOT-1 (remote service);
- constraints: every note and port-table row goes through the advisory extractor, so "port
  2000/tcp crashes on malformed packets" or "aggressive scans reboot the device" become drafts.

.xlsx files are zip archives of XML: each part is parsed with scanguard.safexml (entity
declarations and external DTDs refused), and the archive's size is bounded before reading.
"""

from __future__ import annotations

import csv
import hashlib
import io
import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ScanguardError
from ..model.ports import PortSet
from ..safexml import iterparse
from .drafts import ProposedChange
from .extract import VulnerabilityText, analyse, ports_in
from .model import Advisory, Product

MAX_ARCHIVE_BYTES = 64 << 20
MAX_PARTS = 5000
QUESTION_ID = re.compile(r"^(?:DOC|MPII|ALOF|AUDT|AUTH|CSUP|DIDT|DTBK|EMRG|IGAU|MLDP|NAUT|CONN|PAUT|PLOK|RDMP|SBOM|"
                         r"SAHD|SHAD|SGUD|STCF|TXCF|TXIG|RMOT)-\d+(?:\.\d+)*$", re.IGNORECASE)
ANSWER = re.compile(r"^\s*(yes|no|n/?a|see notes?)\b", re.IGNORECASE)
FINGERPRINT_QUESTIONS = ("CONN-2", "RMOT-1")
"""Questions whose notes list the ports the device uses (CONN-2) or opens for remote service (RMOT-1)."""
SCAN_NOTES = {
    "SAHD-13": "operational network security scanning guidance in the documentation",
    "SAHD-8": "unused communication ports and protocols disabled",
    "SAHD-9": "unused services (telnet, FTP, IIS) disabled",
    "NAUT-2": "network access control (internal firewall or allow-list)",
    "CONN-2": "a list of network ports and protocols from the manufacturer",
    "CONN-1.1.1": "Wi-Fi", "CONN-1.2.1": "RJ45 Ethernet ports",
    "RMOT-1": "remote service connections",
}


class Mds2Error(ScanguardError):
    """The form cannot be read; the message names the file."""

    exit_code = 2

    def __init__(self, path: str | Path, message: str):
        self.path = str(path)
        super().__init__(f"{path}: {message}")


@dataclass(frozen=True)
class Answer:
    """One question of the form: its id, question text, answer and notes."""

    qid: str
    question: str
    answer: str
    note: str


@dataclass(frozen=True)
class PortRow:
    """One row of the manufacturer's port table."""

    ports: PortSet
    service: str = ""
    direction: str = ""
    status: str = ""
    notes: str = ""

    def inbound(self) -> bool:
        """The device listens on it: not outbound-only (no direction given counts as inbound)."""
        d = self.direction.lower()
        return not d or bool(re.search(r"\bin|listen|server|both|bi-?directional", d))

    def enabled(self) -> bool:
        """Not marked disabled (by default)."""
        return not re.search(r"disabled|off by default|not (?:enabled|used)", self.status.lower())


@dataclass
class Mds2Form:
    """What the reader found: the answers by question id and the port table."""

    answers: dict[str, Answer] = field(default_factory=dict)
    ports: list[PortRow] = field(default_factory=list)


@dataclass(frozen=True)
class Mds2Document:
    """An MDS2 form as the knowledge base stores it, with the fingerprint change it proposes."""

    advisory: Advisory
    proposals: tuple[ProposedChange, ...] = ()


# -- cells -------------------------------------------------------------------------------------------
def _xlsx_rows(path: Path) -> list[list[str]]:
    """Every row of every sheet of an .xlsx file, as text cells (sheets one after another)."""
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as e:
        raise Mds2Error(path, f"not an .xlsx workbook (not a zip archive): {e}") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_PARTS or sum(i.file_size for i in infos) > MAX_ARCHIVE_BYTES:
            raise Mds2Error(path, "refused: the workbook unpacks to more than a form can hold")
        names = {i.filename for i in infos}
        if "xl/workbook.xml" not in names:
            raise Mds2Error(path, "not an .xlsx workbook (no xl/workbook.xml)")

        def parse(name: str):
            with zf.open(name) as f:
                for _, el in iterparse(f, f"{path}:{name}"):
                    yield el

        def local(el) -> str:
            return el.tag.rsplit("}", 1)[-1] if isinstance(el.tag, str) else ""

        shared: list[str] = []
        if "xl/sharedStrings.xml" in names:
            for el in parse("xl/sharedStrings.xml"):
                if local(el) == "si":
                    shared.append("".join(t.text or "" for t in el.iter() if local(t) == "t"
                                          and local(t.getparent()) != "rPh"))
                    el.clear()
        rels: dict[str, str] = {}
        if "xl/_rels/workbook.xml.rels" in names:
            for el in parse("xl/_rels/workbook.xml.rels"):
                if local(el) == "Relationship":
                    target = el.get("Target", "")
                    rels[el.get("Id", "")] = target.lstrip("/") if target.startswith("/") else \
                        posixpath.normpath(posixpath.join("xl", target))
        sheets = []
        for el in parse("xl/workbook.xml"):
            if local(el) == "sheet":
                rid = next((v for k, v in el.attrib.items() if k.endswith("}id")), "")
                sheets.append(rels.get(rid, ""))
        rows: list[list[str]] = []
        for sheet in sheets:
            if sheet not in names:
                continue
            for el in parse(sheet):
                if local(el) != "row":
                    continue
                cells: dict[int, str] = {}
                for c in el:
                    if local(c) != "c":
                        continue
                    col = _column(c.get("r", ""), len(cells))
                    kind = c.get("t", "n")
                    v = next((x.text or "" for x in c if local(x) == "v"), "")
                    if kind == "s":
                        text = shared[int(v)] if v.isdigit() and int(v) < len(shared) else ""
                    elif kind == "inlineStr":
                        text = "".join(t.text or "" for t in c.iter() if local(t) == "t")
                    elif kind == "b":
                        text = "TRUE" if v == "1" else "FALSE"
                    else:
                        text = v[:-2] if re.fullmatch(r"\d+\.0", v) else v
                    cells[col] = text
                el.clear()
                if cells:
                    rows.append([cells.get(i, "") for i in range(max(cells) + 1)])
            rows.append([])  # a sheet ends a table
        return rows


def _column(ref: str, fallback: int) -> int:
    letters = re.match(r"[A-Z]+", ref.upper())
    if not letters:
        return fallback
    n = 0
    for ch in letters.group(0):
        n = n * 26 + ord(ch) - 64
    return n - 1


def _csv_rows(path: Path) -> list[list[str]]:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise Mds2Error(path, f"cannot read: {e.strerror or e}") from None
    if len(raw) > MAX_ARCHIVE_BYTES:
        raise Mds2Error(path, "refused: larger than a form can be")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        return [[c.strip() for c in row] for row in csv.reader(io.StringIO(text), dialect)]
    except csv.Error as e:
        raise Mds2Error(path, f"not a CSV export of the form: {e}") from None


# -- the form -----------------------------------------------------------------------------------------
def parse_rows(rows: list[list[str]]) -> Mds2Form:
    """Answers and port tables found in a form's rows."""
    form = Mds2Form()
    header: dict[str, int] | None = None
    for row in rows:
        cells = [c.strip() for c in row]
        if not any(cells):
            header = None
            continue
        qi = next((i for i, c in enumerate(cells) if QUESTION_ID.match(c)), None)
        if qi is not None:
            header = None
            rest = [c for c in cells[qi + 1:] if c]
            qid = cells[qi].upper()
            question = rest[0] if rest else ""
            after = rest[1:]
            if qid.startswith("DOC-"):
                answer, note = (after[0] if after else ""), " ".join(after[1:])
            else:
                ai = next((i for i, c in enumerate(after) if ANSWER.match(c)), None)
                answer = after[ai] if ai is not None else ""
                note = " ".join(after[ai + 1:] if ai is not None else after)
            form.answers.setdefault(qid, Answer(qid, question, answer, note))
            continue
        lowered = [c.lower() for c in cells]
        port_col = next((i for i, c in enumerate(lowered) if re.match(r"^(?:port|ports|port\s*(?:number|no\.?|#|\(s\)))$", c)), None)
        proto_col = next((i for i, c in enumerate(lowered) if re.search(r"protocol|transport", c)), None)
        if port_col is not None and proto_col is not None and port_col != proto_col:
            def col(rx: str) -> int | None:
                return next((i for i, c in enumerate(lowered) if i not in (port_col, proto_col) and re.search(rx, c)), None)
            header = {"port": port_col, "proto": proto_col, "service": col(r"service|name|application|purpose"),
                      "direction": col(r"direction|inbound|listen"), "status": col(r"status|default|enabled|state"),
                      "notes": col(r"note|comment|description|remark")}
            continue
        if header is not None:
            def get(key: str) -> str:
                i = header.get(key)
                return cells[i] if i is not None and i < len(cells) else ""
            ports = _table_ports(get("port"), get("proto"))
            if ports:
                form.ports.append(PortRow(ports, get("service"), get("direction"), get("status"), get("notes")))
    return form


def _table_ports(port: str, proto: str) -> PortSet:
    p = proto.lower()
    protos = [x for x in ("tcp", "udp") if x in p] or (["tcp", "udp"] if "both" in p else ["tcp"])
    items = re.findall(r"\d{1,5}(?:\s*-\s*\d{1,5})?", port)
    try:
        return PortSet.parse([f"{i.replace(' ', '')}/{x}" for i in items for x in protos])
    except ValueError:
        return PortSet()


def read_form(path: str | Path) -> Mds2Form:
    """The answers and port table of an MDS2 form (.xlsx or .csv)."""
    path = Path(path)
    if not path.is_file():
        raise Mds2Error(path, "no such file")
    rows = _xlsx_rows(path) if path.suffix.lower() == ".xlsx" else _csv_rows(path)
    form = parse_rows(rows)
    if not form.answers:
        raise Mds2Error(path, "no MDS2 question ids (like DOC-1 or CONN-2) found: not an MDS2 form")
    return form


def read_mds2(path: str | Path) -> Mds2Document:
    """An MDS2 form as an Advisory-like record (kind mds2) with its findings, and the fingerprint
    change it proposes."""
    path = Path(path)
    form = read_form(path)
    a = form.answers

    def value(qid: str) -> str:
        x = a.get(qid)
        return (x.answer or x.note).strip() if x else ""

    maker, model, doc_id = value("DOC-1"), value("DOC-3"), value("DOC-4")
    ident = doc_id or f"{maker} {model}".strip() or path.stem
    aid = "MDS2-" + (re.sub(r"[^A-Za-z0-9]+", "-", ident).strip("-").upper() or "FORM")
    open_ports = PortSet()
    rows_text: list[tuple[str, PortSet]] = []
    for r in form.ports:
        if r.inbound() and r.enabled():
            open_ports = open_ports | r.ports
        label = f"{r.service + ' on ' if r.service else ''}port {r.ports.text()}"
        rows_text.append((f"{label}: {r.notes}".strip(": "), r.ports))
    for qid in FINGERPRINT_QUESTIONS:
        if qid in a and a[qid].note:
            open_ports = open_ports | ports_in(a[qid].note)
    findings = []
    texts = [f"{x.note}" for x in a.values() if x.note] + [t for t, _ in rows_text]
    for t in texts:
        f = analyse(VulnerabilityText(notes=(t,)), single=True)
        if f is not None:
            findings.append(f)
    notes = tuple(f"{qid} ({what}): {a[qid].answer or '-'}{' - ' + a[qid].note if a[qid].note else ''}"
                  for qid, what in SCAN_NOTES.items() if qid in a)
    disabled = PortSet()
    for r in form.ports:
        if r.inbound() and not r.enabled():
            disabled = disabled | r.ports
    if disabled:
        notes += (f"ports the device can open but are disabled by default: {disabled.text()}",)
    advisory = Advisory(
        id=aid, kind="mds2", title=f"MDS2 {maker} {model}".strip(), url="", version=value("DOC-7"),
        released=value("DOC-7"), source=path.name, sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        vendors=(maker,) if maker else (), products=(Product(vendor=maker, name=model or maker),) if (model or maker) else (),
        findings=tuple(findings), open_ports=open_ports, notes=notes,
    )
    proposals: tuple[ProposedChange, ...] = ()
    if open_ports:
        listed = "; ".join(f"{r.ports.text()} {r.service}".strip() for r in form.ports if r.inbound() and r.enabled())
        proposals = (ProposedChange({"kind": "fingerprint", "ports": open_ports.text()},
                                    f"MDS2 {doc_id or path.name}: the device listens on {listed or open_ports.text()}",
                                    "the manufacturer's MDS2 form lists these inbound ports", ()),)
    return Mds2Document(advisory=advisory, proposals=proposals)
