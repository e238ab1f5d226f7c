"""Port sets per protocol, and their text form ("7100/tcp", "1-1024", "53/udp")."""

from __future__ import annotations

from typing import Any, Iterable, Literal

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

from .intervals import IntervalSet

Protocol = Literal["tcp", "udp"]
PROTOCOLS: tuple[Protocol, ...] = ("tcp", "udp")
MIN_PORT, MAX_PORT = 1, 65535
_EMPTY = IntervalSet()


def _range_items(text: str) -> list[tuple[int, int]]:
    """Parse "1-1024,8080" into (lo, hi) pairs; raises ValueError naming the bad part."""
    parts: list[tuple[int, int]] = []
    for raw in str(text).split(","):
        item = raw.strip()
        if not item:
            continue
        lo_s, sep, hi_s = item.partition("-")
        try:
            lo = int(lo_s)
            hi = int(hi_s) if sep else lo
        except ValueError:
            raise ValueError(f"{item!r} is not a port or a port range (like 80 or 1-1024)") from None
        if not (MIN_PORT <= lo <= MAX_PORT and MIN_PORT <= hi <= MAX_PORT):
            bad = lo if not MIN_PORT <= lo <= MAX_PORT else hi
            raise ValueError(f"port {bad} in {item!r} is outside {MIN_PORT}-{MAX_PORT}")
        if lo > hi:
            raise ValueError(f"range {item!r} runs backwards")
        parts.append((lo, hi))
    return parts


def parse_range_text(text: str) -> IntervalSet:
    """Parse "1-1024,8080" into an interval set; raises ValueError naming the bad part."""
    return IntervalSet(_range_items(text))


def format_range_text(iv: IntervalSet) -> str:
    """"1-7099,7101-65535" for a set of ports."""
    return ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in iv.intervals)


class PortSet:
    """Ports per protocol as interval sets. Immutable and hashable.

    Text form: items separated by commas, each "PORT", "LO-HI", optionally with "/tcp" or
    "/udp" (tcp when absent), e.g. "7100/tcp, 53/udp, 1-1024".
    """

    __slots__ = ("tcp", "udp")
    tcp: IntervalSet
    udp: IntervalSet

    def __init__(self, tcp: IntervalSet | None = None, udp: IntervalSet | None = None) -> None:
        object.__setattr__(self, "tcp", tcp if tcp is not None else _EMPTY)
        object.__setattr__(self, "udp", udp if udp is not None else _EMPTY)

    def __setattr__(self, name: str, value: Any) -> None:  # immutable
        raise AttributeError("PortSet is immutable")

    @classmethod
    def all(cls, tcp: bool = True, udp: bool = True) -> "PortSet":
        """Every port of the chosen protocols."""
        full = IntervalSet([(MIN_PORT, MAX_PORT)])
        return cls(full if tcp else None, full if udp else None)

    @classmethod
    def parse(cls, text: "str | int | Iterable[str | int]", default: Protocol = "tcp") -> "PortSet":
        """Parse the text form (or a list of items); raises ValueError on bad input."""
        if isinstance(text, int) and not isinstance(text, bool):
            items: list[str] = [str(text)]
        elif isinstance(text, str):
            items = [p for p in text.split(",")]
        else:
            items = []
            for t in text:
                items.extend(str(t).split(","))
        by: dict[str, list[tuple[int, int]]] = {"tcp": [], "udp": []}
        for raw in items:
            item = raw.strip()
            if not item:
                continue
            proto = default
            if "/" in item:
                item, _, proto_s = item.partition("/")
                proto_s = proto_s.strip().lower()
                if proto_s not in PROTOCOLS:
                    raise ValueError(f"unknown protocol {proto_s!r} in {raw.strip()!r} (use tcp or udp)")
                proto = proto_s  # type: ignore[assignment]
            elif item[:2].upper() in ("T:", "U:"):
                proto = "tcp" if item[0].upper() == "T" else "udp"
                item = item[2:]
            by[proto].extend(_range_items(item))
        return cls(IntervalSet(by["tcp"]), IntervalSet(by["udp"]))

    def get(self, proto: Protocol) -> IntervalSet:
        """The interval set of one protocol."""
        return self.tcp if proto == "tcp" else self.udp

    def __bool__(self) -> bool:
        return bool(self.tcp) or bool(self.udp)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PortSet) and self.tcp == other.tcp and self.udp == other.udp

    def __hash__(self) -> int:
        return hash((self.tcp, self.udp))

    def __or__(self, other: "PortSet") -> "PortSet":
        return PortSet(self.tcp | other.tcp, self.udp | other.udp)

    def __and__(self, other: "PortSet") -> "PortSet":
        return PortSet(self.tcp & other.tcp, self.udp & other.udp)

    def __sub__(self, other: "PortSet") -> "PortSet":
        return PortSet(self.tcp - other.tcp, self.udp - other.udp)

    def issubset(self, other: "PortSet") -> bool:
        """True when every port here (per protocol) is in the other set."""
        return self.tcp.issubset(other.tcp) and self.udp.issubset(other.udp)

    def contains(self, port: int, proto: Protocol = "tcp") -> bool:
        """True when the port is in the set for that protocol."""
        return port in self.get(proto)

    def text(self) -> str:
        """The text form, tcp first: "7100/tcp, 53/udp"."""
        parts = []
        for proto in PROTOCOLS:
            for lo, hi in self.get(proto).intervals:
                parts.append(f"{lo}/{proto}" if lo == hi else f"{lo}-{hi}/{proto}")
        return ", ".join(parts)

    def __str__(self) -> str:
        return self.text() or "(none)"

    def __repr__(self) -> str:
        return f"PortSet({self.text()!r})"

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        def validate(value: Any) -> "PortSet":
            if isinstance(value, PortSet):
                return value
            if isinstance(value, bool) or value is None:
                raise ValueError("expected ports such as 7100/tcp, 1-1024 or 53/udp")
            if isinstance(value, dict):
                return cls(
                    cls.parse(value.get("tcp", ""), "tcp").tcp,
                    cls.parse(value.get("udp", ""), "udp").udp,
                )
            return cls.parse(value)

        return core_schema.no_info_plain_validator_function(
            validate,
            serialization=core_schema.plain_serializer_function_ser_schema(lambda v: v.text()),
            json_schema_input_schema=core_schema.str_schema(),
        )
