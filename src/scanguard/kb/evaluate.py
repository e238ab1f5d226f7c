"""Measuring the extractor against hand-written labels: precision and recall of the crash
decision, the ports, the triggers and the discovery protocols, per advisory, summed over a sample.

A unit is one (advisory, port/protocol) pair, one (advisory, trigger) pair, one (advisory,
discovery protocol) pair; the crash decision counts one unit per advisory. An extracted unit the
label lacks is a false positive (a constraint that costs a scan coverage), a labelled unit the
extractor missed a false negative (a device left exposed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Literal

import yaml
from pydantic import Field, field_validator

from ..model.base import Model
from ..model.ports import PortSet
from .model import Advisory

Split = Literal["tune", "heldout"]
PORT_SOURCES_ALL = frozenset({"text", "remediation", "protocol"})
PORT_SOURCES_STATED = frozenset({"text", "remediation"})


class Label(Model):
    """What a person reading the advisory says it contains (see tests/kb/data/advisory_labels.yaml)."""

    id: str
    split: Split
    crash: bool
    ports: PortSet = Field(default_factory=PortSet)
    triggers: frozenset[str] = frozenset()
    discovery: frozenset[str] = frozenset()
    note: str = ""

    @field_validator("ports", mode="before")
    @classmethod
    def _ports(cls, v: object) -> object:
        return PortSet.parse(v) if isinstance(v, list) else v


class Count(Model):
    """True positives, false positives and false negatives of one measure."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        """tp / (tp + fp); 1.0 when nothing was extracted."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """tp / (tp + fn); 1.0 when nothing was expected."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    def add(self, got: set, want: set) -> "Count":
        """This count plus one advisory's extracted and expected units."""
        return Count(tp=self.tp + len(got & want), fp=self.fp + len(got - want), fn=self.fn + len(want - got))

    def text(self) -> str:
        """"P 0.95 R 0.90 (tp 19, fp 1, fn 2)"."""
        return f"P {self.precision:.2f} R {self.recall:.2f} (tp {self.tp}, fp {self.fp}, fn {self.fn})"


class Miss(Model):
    """One advisory where extraction and label disagree."""

    id: str
    measure: str
    extra: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()


class Scores(Model):
    """Every measure over one sample, and where it went wrong."""

    advisories: int = 0
    crash: Count = Field(default_factory=Count)
    ports: Count = Field(default_factory=Count)
    ports_stated: Count = Field(default_factory=Count)
    triggers: Count = Field(default_factory=Count)
    discovery: Count = Field(default_factory=Count)
    misses: tuple[Miss, ...] = ()


def load_labels(path: str | Path) -> list[Label]:
    """The labels of a YAML file (a list of mappings)."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []
    return [Label.model_validate(item) for item in data]


def port_units(ports: PortSet) -> set[str]:
    """"102/tcp"-style units of a port set."""
    return {f"{p}/{proto}" for proto in ("tcp", "udp") for lo, hi in ports.get(proto).intervals  # type: ignore[arg-type]
            for p in range(lo, hi + 1)}


def extracted_ports(a: Advisory, sources: frozenset[str] = PORT_SOURCES_ALL) -> PortSet:
    """Every port the advisory's findings name from these sources."""
    out = PortSet()
    for f in a.findings:
        out = out | f.port_set(sources)
    return out


def score(advisories: Iterable[Advisory], labels: Iterable[Label]) -> Scores:
    """Compare extracted advisories with their labels (advisories without a label are ignored)."""
    by_id = {lab.id.upper(): lab for lab in labels}
    s = Scores()
    misses: list[Miss] = []
    for a in advisories:
        lab = by_id.get(a.id.upper())
        if lab is None:
            continue
        s = s.model_copy(update={"advisories": s.advisories + 1})
        units = {
            "crash": ({"crash"} if a.crash() else set(), {"crash"} if lab.crash else set()),
            "ports": (port_units(extracted_ports(a)), port_units(lab.ports)),
            "ports_stated": (port_units(extracted_ports(a, PORT_SOURCES_STATED)), port_units(lab.ports)),
            "triggers": ({t for f in a.findings for t in f.trigger_set()}, set(lab.triggers)),
            "discovery": ({d.kind for f in a.findings for d in f.discovery}, set(lab.discovery)),
        }
        update = {}
        for measure, (got, want) in units.items():
            update[measure] = getattr(s, measure).add(got, want)
            if got != want and measure != "ports_stated":
                misses.append(Miss(id=a.id, measure=measure, extra=tuple(sorted(got - want)),
                                   missing=tuple(sorted(want - got))))
        s = s.model_copy(update=update)
    return s.model_copy(update={"misses": tuple(misses)})
