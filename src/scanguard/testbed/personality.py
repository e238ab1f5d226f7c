"""Personalities of virtual fragile devices: which services they offer, what kills them, and how
they come back. Written in YAML (unknown keys are errors), validated by pydantic."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal, Union

from pydantic import Field, ValidationError, field_validator, model_validator

from ..errors import ScanguardError
from ..model.base import Model
from ..yamlsrc import YAMLSourceError, line_for, load_with_lines

SHIPPED_DIR = Path(__file__).with_name("personalities")
"""The personalities shipped with scanguard, one YAML file each, named after their id."""

Port = Annotated[int, Field(ge=1, le=65535)]
Transport = Literal["tcp", "udp"]


class PersonalityError(ScanguardError):
    """A personality file is missing or invalid; the message names the file and the line."""

    exit_code = 2


class Service(Model):
    """A service the device offers on one port.

    `banner` is sent as soon as a TCP connection is accepted; `response` is sent in reply to the
    first data received on a TCP connection, and to every UDP datagram. `closes` says when the
    device hangs up a TCP connection: ``never`` (it waits for the client, as a service that keeps
    the connection open; an idle one is closed after 30 s), ``at-once`` (right after the banner,
    or at once without one), or ``after-response``."""

    port: Port
    protocol: Transport = "tcp"
    name: str = ""
    banner: str = ""
    response: str = ""
    closes: Literal["never", "at-once", "after-response"] = "never"


class ConnectRule(Model):
    """Dies on any connection to `port` (for udp: on any datagram)."""

    kind: Literal["connect"]
    port: Port
    protocol: Transport = "tcp"
    reason: str = ""


class PayloadRule(Model):
    """Dies when the bytes received on `port` match `pattern`, a regular expression over the
    bytes (decoded as latin-1, so that every byte is one character). TCP data is matched as the
    connection's accumulated stream; UDP one datagram at a time."""

    kind: Literal["payload"]
    port: Port
    protocol: Transport = "tcp"
    pattern: str
    reason: str = ""

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, v: str) -> str:
        try:
            re.compile(v)
        except re.error as e:
            raise ValueError(f"not a regular expression: {e}") from None
        return v

    def matches(self, data: bytes) -> bool:
        """Whether `data` triggers the rule."""
        return re.search(self.pattern, data.decode("latin-1"), re.DOTALL) is not None


class RateRule(Model):
    """Dies when `connections` probes (TCP connections or UDP datagrams, on any port) arrive
    within any `window_s` seconds."""

    kind: Literal["rate"]
    connections: int = Field(ge=1)
    window_s: float = Field(gt=0)
    reason: str = ""


class ProbesRule(Model):
    """Dies on the `count`-th probe (TCP connection or UDP datagram, on any port) since it
    last came up."""

    kind: Literal["probes"]
    count: int = Field(ge=1)
    reason: str = ""


FragilityRule = Annotated[Union[ConnectRule, PayloadRule, RateRule, ProbesRule], Field(discriminator="kind")]


class Recovery(Model):
    """How a dead device comes back.

    - `reboot`: by itself after `delay_s` seconds; after `max_reboots` automatic reboots (when
      set) it stays down until reset, like a device that falls back to a default configuration;
    - `reset`: only when reset through the control interface (the hard-reset button).
    A reset through the control interface always works, whatever the mode."""

    mode: Literal["reboot", "reset"]
    delay_s: float = Field(default=0.0, ge=0)
    max_reboots: int | None = Field(default=None, ge=0)


class Personality(Model):
    """One kind of virtual fragile device, drawn from an advisory or an incident.

    `heartbeat` is the TCP port a health monitor connects to. The monitor's connections to it
    (from the observer's address) are the observer, not the scan: the rate and probe rules do not
    count them; a scan's connections to it count like any other. When it is not one of the
    services, the device opens a listener on it that accepts and hangs up at once (and dies
    with the device)."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str = Field(min_length=1)
    vendor: str = ""
    model: str = ""
    category: str = ""
    description: str = ""
    evidence: tuple[str, ...] = Field(min_length=1, description="advisory or incident ids")
    services: tuple[Service, ...] = Field(min_length=1)
    heartbeat: Port | None = None
    fragility: tuple[FragilityRule, ...] = ()
    recovery: Recovery

    @model_validator(mode="after")
    def _consistent(self) -> "Personality":
        seen: set[tuple[int, str]] = set()
        for s in self.services:
            key = (s.port, s.protocol)
            if key in seen:
                raise ValueError(f"service {s.port}/{s.protocol} is listed twice")
            seen.add(key)
        for rule in self.fragility:
            # a rule on a port nothing listens on can never fire: a mistake, not a safe device
            if isinstance(rule, (ConnectRule, PayloadRule)) and (rule.port, rule.protocol) not in seen:
                raise ValueError(
                    f"{rule.kind} rule on {rule.port}/{rule.protocol}, but no service listens there"
                )
            if isinstance(rule, ConnectRule) and rule.protocol == "tcp" and rule.port == self.heartbeat:
                raise ValueError(f"the heartbeat port {self.heartbeat} has a connect rule: the monitor would kill it")
        return self

    @property
    def tcp_ports(self) -> tuple[int, ...]:
        """Every TCP port the device listens on while up (services and heartbeat)."""
        ports = {s.port for s in self.services if s.protocol == "tcp"}
        if self.heartbeat is not None:
            ports.add(self.heartbeat)
        return tuple(sorted(ports))

    @property
    def udp_ports(self) -> tuple[int, ...]:
        """Every UDP port the device listens on while up."""
        return tuple(sorted(s.port for s in self.services if s.protocol == "udp"))

    def remap_ports(self, mapping: dict[int, int]) -> "Personality":
        """The same device with ports moved (for hosts where ports below 1024 need privileges)."""
        if not mapping:
            return self

        def move(item: Model) -> Model:
            port = getattr(item, "port", None)
            return item.model_copy(update={"port": mapping[port]}) if port in mapping else item

        hb = self.heartbeat
        return self.model_copy(update={
            "services": tuple(move(s) for s in self.services),
            "fragility": tuple(move(r) for r in self.fragility),
            "heartbeat": mapping.get(hb, hb) if hb is not None else None,
        })

    def with_recovery(self, **changes: object) -> "Personality":
        """The same device with recovery settings changed (tests use short reboot delays)."""
        recovery = Recovery.model_validate({**self.recovery.model_dump(), **changes})
        return self.model_copy(update={"recovery": recovery})


def _loc_text(loc: tuple[object, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out


def load_personality_file(path: str | Path) -> Personality:
    """Read one personality YAML file; PersonalityError naming the file and line when invalid."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise PersonalityError(f"{path}: cannot read: {e}") from None
    try:
        data, lines = load_with_lines(text)
    except YAMLSourceError as e:
        raise PersonalityError(f"{path}:{e.line or 1}: {e}") from None
    if not isinstance(data, dict):
        raise PersonalityError(f"{path}:1: expected a mapping of keys to values")
    try:
        return Personality.model_validate(data)
    except ValidationError as e:
        problems = []
        for err in e.errors(include_url=False):
            # drop the discriminated-union tag pydantic inserts; it is not a key in the file
            loc = tuple(p for p in err["loc"] if p not in ("connect", "payload", "rate", "probes"))
            msg = f"unknown key {loc[-1]!r}" if err["type"] == "extra_forbidden" and loc \
                else err["msg"].removeprefix("Value error, ")
            line = line_for(lines, loc) or 1
            field = _loc_text(loc)
            problems.append(f"{path}:{line}: {field + ': ' if field else ''}{msg}")
        raise PersonalityError("\n".join(problems)) from None


def shipped_personalities() -> dict[str, Personality]:
    """Every personality shipped with scanguard, by id."""
    out = {}
    for f in sorted(SHIPPED_DIR.glob("*.yaml")):
        p = load_personality_file(f)
        out[p.id] = p
    return out


def load_personality(name_or_path: str | Path) -> Personality:
    """A shipped personality by id, or a personality file by path."""
    text = str(name_or_path)
    shipped = SHIPPED_DIR / f"{text}.yaml"
    if "/" not in text and shipped.is_file():
        return load_personality_file(shipped)
    path = Path(text)
    if path.is_file():
        return load_personality_file(path)
    known = ", ".join(sorted(f.stem for f in SHIPPED_DIR.glob("*.yaml")))
    raise PersonalityError(f"no personality {text!r}: not a shipped one ({known}) nor a file")
