"""Reading CSAF 2.0 advisories (OASIS CSAF 2.0; CISA publishes its ICS and ICS-medical advisories
in it): the document's tracking id and self URL, the product tree (vendor, product names,
affected versions), and each vulnerability's CVE, CWE, notes and remediations.

Documents are read one at a time from files or folders (`iter_documents`), so a folder of
thousands costs the memory of one. A file that is not a CSAF 2.0 document is reported with its
path and skipped, never a traceback.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Iterable, Iterator

from ..errors import ScanguardError
from .extract import VulnerabilityText, analyse_all
from .model import Advisory, Product

MAX_DOCUMENT_BYTES = 20 << 20
"""A CSAF document larger than this is refused (the largest of CISA's are a few hundred KiB)."""
_VERSION_BRANCHES = ("product_version", "product_version_range", "patch_level", "service_pack")


class CsafError(ScanguardError):
    """A document could not be read as CSAF 2.0; the message names the file."""

    exit_code = 2

    def __init__(self, path: str | Path, message: str):
        self.path = str(path)
        super().__init__(f"{path}: {message}")


def iter_paths(paths: Iterable[str | Path], suffixes: tuple[str, ...] = (".json",)) -> Iterator[Path]:
    """Files named, and the files with these suffixes under folders named (sorted, recursive).
    A path that does not exist is yielded as it is: reading it reports the problem."""
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            yield from sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in suffixes)
        else:
            yield p


def read_document(path: Path) -> tuple[dict[str, Any], str]:
    """The parsed JSON of one file and its sha256; CsafError naming the file otherwise."""
    try:
        size = path.stat().st_size
        if size > MAX_DOCUMENT_BYTES:
            raise CsafError(path, f"{size} bytes is larger than a CSAF advisory can be ({MAX_DOCUMENT_BYTES} bytes)")
        data = path.read_bytes()
    except OSError as e:
        raise CsafError(path, f"cannot read: {e.strerror or e}") from None
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        where = f" (line {e.lineno}, column {e.colno})" if isinstance(e, json.JSONDecodeError) else ""
        raise CsafError(path, f"not valid JSON{where}: {getattr(e, 'msg', e)}") from None
    return doc, hashlib.sha256(data).hexdigest()


def _obj(value: Any, where: str, path: Path) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise CsafError(path, f"{where} is not an object")
    return value


def _list(value: Any, where: str, path: Path) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise CsafError(path, f"{where} is not a list")
    return value


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def parse_advisory(doc: Any, path: Path, sha256: str = "") -> Advisory:
    """An Advisory (with its findings) from a parsed CSAF 2.0 document; CsafError when the
    document is not one."""
    root = _obj(doc, "the document", path)
    document = _obj(root.get("document"), "'document'", path)
    version = _text(document.get("csaf_version"))
    if not version.startswith("2."):
        raise CsafError(path, f"not a CSAF 2.x document (csaf_version {document.get('csaf_version')!r})")
    tracking = _obj(document.get("tracking"), "'document.tracking'", path)
    tid = _text(tracking.get("id")).strip()
    if not tid:
        raise CsafError(path, "document.tracking.id is missing")
    products = _products(root.get("product_tree") or {}, path)
    vulns: list[VulnerabilityText] = []
    cves: list[str] = []
    cwes: list[str] = []
    for i, raw in enumerate(_list(root.get("vulnerabilities"), "'vulnerabilities'", path)):
        v = _obj(raw, f"vulnerabilities[{i}]", path)
        cve = _text(v.get("cve")).strip()
        cwe = _text((v.get("cwe") or {}).get("id") if isinstance(v.get("cwe"), dict) else "").strip()
        status = v.get("product_status") if isinstance(v.get("product_status"), dict) else {}
        affected = tuple(str(x) for k in ("known_affected", "first_affected", "last_affected", "under_investigation")
                         for x in _list(status.get(k), f"vulnerabilities[{i}].product_status.{k}", path))
        notes = tuple(_text(n.get("text")) for n in _list(v.get("notes"), f"vulnerabilities[{i}].notes", path)
                      if isinstance(n, dict) and n.get("category") in ("summary", "description", "details", "general",
                                                                            "other", None))
        rems = tuple(_text(r.get("details")) for r in _list(v.get("remediations"), f"vulnerabilities[{i}].remediations",
                                                             path) if isinstance(r, dict))
        vulns.append(VulnerabilityText(cves=(cve,) if cve else (), cwes=(cwe,) if cwe else (), product_ids=affected,
                                       notes=tuple(n for n in notes if n), remediations=tuple(r for r in rems if r)))
        if cve and cve not in cves:
            cves.append(cve)
        if cwe and cwe not in cwes:
            cwes.append(cwe)
    vendors: list[str] = []
    for p in products:
        if p.vendor and p.vendor not in vendors:
            vendors.append(p.vendor)
    return Advisory(
        id=tid.upper(), kind="csaf", title=_text(document.get("title")), url=_self_url(document),
        version=str(tracking.get("version") or ""), released=_text(tracking.get("current_release_date")),
        source=path.name, sha256=sha256, vendors=tuple(vendors), products=tuple(products), cves=tuple(cves),
        cwes=tuple(cwes), findings=analyse_all(vulns),
    )


def _self_url(document: dict[str, Any]) -> str:
    refs = [r for r in document.get("references") or [] if isinstance(r, dict) and r.get("category") == "self"]
    web = [r for r in refs if not _text(r.get("url")).endswith(".json")]
    best = (web or refs or [{}])[0]
    return _text(best.get("url"))


def _products(tree: Any, path: Path) -> list[Product]:
    """Walk the product tree: vendor -> product family/name -> version branches."""
    tree = _obj(tree, "'product_tree'", path)
    found: dict[tuple[str, str], tuple[list[str], list[str]]] = {}

    def walk(branches: Any, vendor: str, family: str, name: str, where: str) -> None:
        for i, b in enumerate(_list(branches, where, path)):
            if not isinstance(b, dict):
                raise CsafError(path, f"{where}[{i}] is not an object")
            cat, bname = _text(b.get("category")), _text(b.get("name")).strip()
            v, f, n = vendor, family, name
            if cat == "vendor":
                v = bname
            elif cat == "product_family":
                f, n = bname, ""
            elif cat == "product_name":
                n = bname if not family or family.lower() in bname.lower() else f"{family} {bname}"
            product = b.get("product") if isinstance(b.get("product"), dict) else None
            if product is not None:
                key = (v, n or f or _text(product.get("name")))
                versions, ids = found.setdefault(key, ([], []))
                if cat in _VERSION_BRANCHES and bname and bname not in versions:
                    versions.append(bname)
                pid = _text(product.get("product_id"))
                if pid and pid not in ids:
                    ids.append(pid)
            walk(b.get("branches"), v, f, n, f"{where}[{i}].branches")

    walk(tree.get("branches"), "", "", "", "product_tree.branches")
    for fp in _list(tree.get("full_product_names"), "product_tree.full_product_names", path):
        if isinstance(fp, dict) and fp.get("name"):
            versions, ids = found.setdefault(("", _text(fp.get("name"))), ([], []))
            if fp.get("product_id"):
                ids.append(_text(fp.get("product_id")))
    return [Product(vendor=v, name=n, versions=tuple(vs), product_ids=tuple(ids)) for (v, n), (vs, ids) in found.items()]


def load_advisory(path: Path) -> Advisory:
    """The Advisory of one CSAF file; CsafError naming the file when it is not one."""
    try:
        doc, digest = read_document(path)
        return parse_advisory(doc, path, digest)
    except CsafError:
        raise
    except (ValueError, TypeError, AttributeError, KeyError) as e:  # a shape the reader did not expect
        raise CsafError(path, f"not a readable CSAF 2.0 document: {type(e).__name__}: {e}") from None


def iter_advisories(paths: Iterable[str | Path]) -> Iterator[tuple[Path, Advisory | CsafError]]:
    """Each CSAF file under `paths` with its Advisory, or the CsafError that names what is wrong
    with it; one document in memory at a time."""
    for path in iter_paths(paths):
        try:
            yield path, load_advisory(path)
        except CsafError as e:
            yield path, e
