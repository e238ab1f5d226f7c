"""A labelled set for find-misplaced: devices that truly are profiled devices of the example
hospital, found outside their locations, and look-alikes that must not be taken for them, each
written in every vendor's export shape and planted into copies of the real exports (whose own
hosts are negatives too). Precision and recall are measured over (host, profile) pairs.

    .venv/bin/python benchmarks/bench_fingerprint_accuracy.py     # prints the figures

The set holds hard cases on purpose, so that the figures measure something: a terminal seen
only on 443 without its certificate (nothing identifies it), and a documentation web server
whose page title names the infusion rack's product.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from scanguard import load_workspace
from scanguard.misplaced import find_misplaced
from scanguard.plugin.manager import load_plugins

from .devices import VENDORS, Device, Service, write_planted

POS, CR, MONITOR, RACK, PLC = ("pos-terminal", "imaging-cr-reader", "patient-monitor-intellivue",
                               "infusion-rack-agilia", "plc-energy-center")


def _d(n: int, label: str, services: tuple[Service, ...], *, truth: str | None = None, mac: str | None = None,
       os: str | None = None) -> Device:
    return Device(address=f"10.99.{n // 250}.{n % 250 + 1}", services=services, mac=mac, os=os, label=label,
                  profiles=frozenset({truth}) if truth else frozenset())


HTTPS = Service(443, name="https")
TMS = Service(7100, name="tms", product="Ingenico TMS")

DEVICES: tuple[Device, ...] = (
    # -- payment terminals (pos-terminal) --------------------------------------------------------
    _d(1, "routed terminal: 443, 7100 and its product, no MAC", (HTTPS, TMS), truth=POS),
    _d(2, "terminal on its own segment: with the Ingenico OUI", (HTTPS, TMS), truth=POS, mac="00:03:81:4A:10:01"),
    _d(3, "terminal whose service detection reads a version", (HTTPS, Service(7100, name="tms", product="Ingenico TMS",
                                                                              version="3.2.1")), truth=POS),
    _d(4, "terminal seen by a scan that keeps off 7100: its certificate",
       (Service(443, name="https", subject_cn="lane07.pos.hospital.example", subject_o="Ingenico"),), truth=POS),
    _d(5, "terminal with 7100 unidentified, on its segment", (HTTPS, Service(7100, name="unknown")), truth=POS,
       mac="00:03:81:4A:10:02"),
    _d(6, "terminal whose product is written in capitals", (HTTPS, Service(7100, name="tms", product="INGENICO TMS")),
       truth=POS),
    _d(7, "terminal seen on 443 only, no certificate read (nothing identifies it)", (HTTPS,), truth=POS),
    # -- radiology CR readers (imaging-cr-reader) -------------------------------------------------
    _d(20, "CR reader: DICOM with its product, web page", (Service(104, name="dicom", product="FUJIFILM DICOM Server"),
                                                          Service(80, name="http")), truth=CR),
    _d(21, "CR reader without its web page", (Service(104, name="dicom", product="FUJIFILM DICOM Server"),), truth=CR),
    # -- bedside monitors (patient-monitor-intellivue) --------------------------------------------
    _d(30, "monitor on its segment: OUI, OS and both UDP ports",
       (Service(24005, "udp", name="unknown"), Service(24105, "udp", name="unknown")), truth=MONITOR,
       mac="00:09:FB:22:33:44", os="VxWorks 6.9"),
    _d(31, "routed monitor: OS and both UDP ports",
       (Service(24005, "udp", name="unknown"), Service(24105, "udp", name="unknown")), truth=MONITOR, os="VxWorks"),
    # -- infusion racks (infusion-rack-agilia) ----------------------------------------------------
    _d(40, "infusion rack: its management page on 443 and 80",
       (Service(443, name="https", http_title="Agilia Link+ - Rack 3"), Service(80, name="http")), truth=RACK),
    # -- energy-centre PLCs (plc-energy-center) ---------------------------------------------------
    _d(50, "S7 PLC: ISO-TSAP with its product, Modbus",
       (Service(102, name="iso-tsap", product="Siemens S7 PLC"), Service(502, name="modbus")), truth=PLC),
    # -- look-alikes: none of these is a profiled device ------------------------------------------
    _d(100, "another vendor's terminal on 443 and 7100",
       (Service(443, name="https", subject_o="Verifone"), Service(7100, name="tms", product="Verifone TMS"))),
    _d(101, "a generic web server on 443 and an unrelated 7100 service",
       (Service(443, name="https", product="nginx", http_title="Welcome to nginx!"),
        Service(7100, name="font-service", product="X11 font server"))),
    _d(102, "an Ingenico-made device that is no terminal: the OUI, port 80", (Service(80, name="http", product="lighttpd"),),
       mac="00:03:81:77:00:01"),
    _d(103, "a web server whose page talks about Ingenico TMS",
       (Service(443, name="https", product="Apache httpd", http_title="Ingenico TMS admin portal"),)),
    _d(104, "a gateway on 443 whose product names Ingenico TMS, without 7100",
       (Service(443, name="https", product="Ingenico TMS Gateway"),)),
    _d(105, "another maker's DICOM server on 104 and 80",
       (Service(104, name="dicom", product="Orthanc DICOM server"), Service(80, name="http"))),
    _d(106, "a VxWorks controller from another maker", (Service(502, name="modbus"),), mac="00:1D:9C:01:02:03",
       os="VxWorks 6.9"),
    _d(107, "a host with the monitors' UDP ports open and nothing else said",
       (Service(24005, "udp", name="unknown"), Service(24105, "udp", name="unknown"))),
    _d(108, "a documentation server whose page title names the rack's product",
       (Service(443, name="https", http_title="Agilia Link+ user manual"), Service(80, name="http"))),
    _d(109, "a Modbus gateway of another maker", (Service(502, name="modbus", product="Moxa MGate"),
                                                  Service(102, name="iso-tsap"))),
)


@dataclass(frozen=True)
class Counts:
    """True and false positives and negatives over (host, profile) pairs."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    negatives: int = 0

    def __add__(self, other: "Counts") -> "Counts":
        return Counts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn, self.negatives + other.negatives)

    @property
    def precision(self) -> float:
        """TP / (TP + FP): of what was reported, how much was right."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """TP / (TP + FN): of the devices out there, how many were reported."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


@dataclass(frozen=True)
class VendorResult:
    """One vendor's export with the labelled devices planted, as find-misplaced judged it."""

    vendor: str
    counts: Counts
    missed: tuple[str, ...]
    wrong: tuple[str, ...]


def measure(fixtures_dir: Path, workspace: Path, out_dir: Path) -> list[VendorResult]:
    """Plant the labelled set into a copy of each vendor's real export and compare what
    find-misplaced reports with the labels."""
    ws = load_workspace(workspace)
    vendors = load_plugins().vendors()
    labels = {d.address: d for d in DEVICES}
    results = []
    for vendor in VENDORS:
        export = write_planted(fixtures_dir, out_dir, vendor, list(DEVICES), name="labelled")
        report = find_misplaced([export], ws.profiles, vendors)
        hosts = report.exports[0].hosts
        predicted = {(s.address, s.profile) for s in report.misplaced}
        truth = {(d.address, p) for d in DEVICES for p in d.profiles}
        tp, fp, fn = predicted & truth, predicted - truth, truth - predicted
        positives_hosts = {a for a, _ in truth}
        counts = Counts(tp=len(tp), fp=len(fp), fn=len(fn), negatives=hosts - len(positives_hosts))
        results.append(VendorResult(
            vendor=vendor, counts=counts,
            missed=tuple(sorted(f"{a} {p}: {labels[a].label}" for a, p in fn)),
            wrong=tuple(sorted(f"{a} {p}: {labels[a].label if a in labels else 'a host of the real export'}"
                               for a, p in fp)),
        ))
    return results
