"""A device profile's fingerprint: what a scan export must show for a host to be recognised as
the profiled device, wherever it turns up.

A fingerprint is a list of evidence rules, each with a weight; a host matches when every
required rule matched, the weights of the matched rules reach `min_score`, and at least one
rule that identifies a device (anything but an open port: ports alone identify nothing) matched.

The first form of a fingerprint (`os`, `mac_ouis`, `open_ports`, `banners`, `cpes`) stays valid
and is read as rules: each open port weighs 1, each banner, CPE prefix or OS 2, the MAC OUIs
(any of them) 2. `evidence` adds rules with patterns, anchors, ports, weights and `required`.
Without `min_score`, a fingerprint needs every open port it lists plus one identifying rule.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, field_validator, model_validator

from .base import Input, Model
from .ports import PortSet

PATTERN_KINDS = ("service", "product", "banner", "http_title", "tls_subject", "os", "device_type", "cpe")
"""Rule kinds whose value is a regular expression over the text a scanner reported."""
DEFAULT_WEIGHT = {"port": 1, "mac_oui": 2, **{k: 2 for k in PATTERN_KINDS}}
MAX_PATTERN = 300
"""Longest pattern accepted (patterns run against every host of exports that can be huge)."""


def normalise_oui(text: str) -> str:
    """"00-03-81" / "000381" / "00:03:81" -> "00:03:81"; ValueError when it is not three bytes."""
    norm = re.sub(r"[^0-9A-Fa-f]", "", str(text)).upper()
    if len(norm) != 6:
        raise ValueError(f"{text!r} is not a MAC OUI (three bytes, like 00:0B:4F)")
    return ":".join(norm[i : i + 2] for i in range(0, 6, 2))


def _compile(pattern: str) -> re.Pattern[str]:
    if not pattern.strip():
        raise ValueError("is an empty pattern")
    if len(pattern) > MAX_PATTERN:
        raise ValueError(f"pattern is longer than {MAX_PATTERN} characters")
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as e:
        raise ValueError(f"{pattern!r} is not a regular expression: {e}") from None


class EvidenceRule(Input):
    """One rule of a fingerprint, as written in a profile: exactly one of the pattern kinds
    (a regular expression, case-insensitive, found anywhere in the text unless anchored with ^
    and $), `mac_oui` (one OUI or a list, any of them), or only `port` (that port is open).
    `port` with a pattern kind: the evidence must be on that port."""

    service: str | None = None
    product: str | None = None
    banner: str | None = None
    http_title: str | None = None
    tls_subject: str | None = None
    os: str | None = None
    device_type: str | None = None
    cpe: str | None = None
    mac_oui: list[str] | None = None
    port: PortSet | None = None
    required: bool = False
    weight: int | None = Field(default=None, ge=1, le=100)

    @field_validator("mac_oui", mode="before")
    @classmethod
    def _ouis(cls, v: Any) -> Any:
        if v is None:
            return v
        items = [v] if isinstance(v, str) else v
        if not isinstance(items, list) or not items:
            raise ValueError("names no MAC OUI")
        return [normalise_oui(x) for x in items]

    @field_validator(*PATTERN_KINDS)
    @classmethod
    def _pattern(cls, v: str | None) -> str | None:
        if v is not None:
            _compile(v)
        return v

    @field_validator("port")
    @classmethod
    def _port(cls, v: PortSet | None) -> PortSet | None:
        if v is not None and not v:
            raise ValueError("names no port")
        return v

    @model_validator(mode="after")
    def _one_kind(self) -> "EvidenceRule":
        given = [k for k in (*PATTERN_KINDS, "mac_oui") if getattr(self, k) is not None]
        if len(given) > 1:
            raise ValueError(f"gives {' and '.join(given)}: one kind of evidence per rule")
        if not given and self.port is None:
            raise ValueError(f"names no evidence (one of {', '.join(PATTERN_KINDS)}, mac_oui, or port)")
        if given == ["mac_oui"] and self.port is not None:
            raise ValueError("a MAC OUI belongs to the host, not to a port")
        return self

    def rule(self) -> "Rule":
        """The rule in matcher form."""
        kind = next((k for k in (*PATTERN_KINDS, "mac_oui") if getattr(self, k) is not None), "port")
        value: str | tuple[str, ...]
        if kind == "mac_oui":
            value = tuple(self.mac_oui or ())
        elif kind == "port":
            value = self.port.text() if self.port is not None else ""
        else:
            value = getattr(self, kind)
        return Rule(kind=kind, value=value, port=self.port if kind != "port" else None,
                    ports=self.port if kind == "port" else None, required=self.required,
                    weight=self.weight or DEFAULT_WEIGHT[kind])


class Rule(Model):
    """A fingerprint rule in matcher form: `kind` (port, mac_oui or a pattern kind), the
    pattern or OUIs in `value`, the ports it is about (`ports` for a port rule, `port` for evidence
    that must be on a port), whether it is `required`, its `weight`."""

    kind: str
    value: str | tuple[str, ...]
    port: PortSet | None = None
    ports: PortSet | None = None
    required: bool = False
    weight: int = 1
    label: str | None = None
    """How the rule reads in reports when its pattern was written for the user (first form)."""

    @property
    def identifying(self) -> bool:
        """True for every kind but an open port (ports alone identify no device)."""
        return self.kind != "port"

    def regex(self) -> re.Pattern[str]:
        """The compiled pattern of a pattern rule."""
        assert isinstance(self.value, str)
        return _compile(self.value)

    def text(self) -> str:
        """How the rule reads in a report: `banner ~ /Ingenico TMS/ on 7100/tcp`."""
        if self.label:
            return self.label
        if self.kind == "port":
            return f"port {self.value} open"
        if self.kind == "mac_oui":
            return "MAC OUI " + " or ".join(self.value)
        where = f" on {self.port.text()}" if self.port is not None else ""
        return f"{self.kind.replace('_', ' ')} ~ /{self.value}/{where}"


class Fingerprint(Input):
    """How to recognise the device elsewhere (see the module docstring): the first form's
    fields, evidence rules, and the score a host needs."""

    os: str | None = None
    mac_ouis: list[str] = Field(default_factory=list)
    open_ports: PortSet = Field(default_factory=PortSet)
    banners: list[str] = Field(default_factory=list)
    cpes: list[str] = Field(default_factory=list)
    evidence: list[EvidenceRule] = Field(default_factory=list)
    min_score: int | None = Field(default=None, ge=1)

    @field_validator("mac_ouis")
    @classmethod
    def _ouis(cls, v: list[str]) -> list[str]:
        return [normalise_oui(oui) for oui in v]

    @model_validator(mode="after")
    def _reachable(self) -> "Fingerprint":
        if self.min_score is None:  # nothing to check (and every profile without one comes here)
            return self
        rules = self.rules()
        if self.min_score is not None and rules:
            total = sum(r.weight for r in rules)
            if self.min_score > total:
                raise ValueError(f"min_score {self.min_score} is more than all its evidence weighs ({total}): "
                                 "no host could ever match")
        if self.min_score is not None and not rules:
            raise ValueError("min_score without any evidence to score")
        return self

    def rules(self) -> tuple[Rule, ...]:
        """Every rule: the first form's fields read as rules, then `evidence`."""
        out: list[Rule] = []
        for proto in ("tcp", "udp"):
            for lo, hi in self.open_ports.get(proto).intervals:  # type: ignore[arg-type]
                ports = PortSet.parse(f"{lo}/{proto}" if lo == hi else f"{lo}-{hi}/{proto}")
                out.append(Rule(kind="port", value=ports.text(), ports=ports, weight=DEFAULT_WEIGHT["port"]))
        for b in self.banners:
            out.append(Rule(kind="banner", value=re.escape(b), weight=DEFAULT_WEIGHT["banner"],
                            label=f"banner contains {b!r}"))
        for c in self.cpes:
            out.append(Rule(kind="cpe", value="^" + re.escape(c), weight=DEFAULT_WEIGHT["cpe"],
                            label=f"CPE starts with {c!r}"))
        if self.os:
            out.append(Rule(kind="os", value=re.escape(self.os), weight=DEFAULT_WEIGHT["os"],
                            label=f"OS contains {self.os!r}"))
        if self.mac_ouis:
            out.append(Rule(kind="mac_oui", value=tuple(self.mac_ouis), weight=DEFAULT_WEIGHT["mac_oui"]))
        out.extend(e.rule() for e in self.evidence)
        return tuple(out)

    def threshold(self) -> int:
        """The score a host needs: `min_score`, else every open-port rule plus the lightest
        identifying rule."""
        if self.min_score is not None:
            return self.min_score
        rules = self.rules()
        ports = sum(r.weight for r in rules if not r.identifying)
        ident = [r.weight for r in rules if r.identifying]
        return ports + (min(ident) if ident else 0)

    def is_empty(self) -> bool:
        """True when the fingerprint says nothing at all."""
        return not self.rules()
