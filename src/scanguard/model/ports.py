"""Port sets per protocol, and their text form ("7100/tcp", "1-1024", "53/udp")."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Iterable, Literal

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

from .base import describe
from .intervals import IntervalSet

Protocol = Literal["tcp", "udp"]
PROTOCOLS: tuple[Protocol, ...] = ("tcp", "udp")
MIN_PORT, MAX_PORT = 1, 65535
_EMPTY = IntervalSet()


_NUMBER = re.compile(r"[0-9]+")
_ONE_ITEM = re.compile(r"([0-9]+)(?:-([0-9]+))?(?:/(tcp|udp))?", re.IGNORECASE)


def _port_number(text: str, item: str) -> int:
    text = text.strip()
    if not _NUMBER.fullmatch(text):  # int() would also take "1_000", "+80" and other scripts' digits
        raise ValueError(f"{item!r} is not a port or a port range (like 80 or 1-1024)")
    return int(text)


def _range_items(text: str) -> list[tuple[int, int]]:
    """Parse "1-1024,8080" into (lo, hi) pairs; raises ValueError naming the bad part."""
    parts: list[tuple[int, int]] = []
    for raw in str(text).split(","):
        item = raw.strip()
        if not item:
            continue
        lo_s, sep, hi_s = item.partition("-")
        lo = _port_number(lo_s, item)
        hi = _port_number(hi_s, item) if sep else lo
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


_FORM = 'write them as text such as "7100/tcp, 53/udp, 1-1024", a whole number, or a list of those'


def _item_text(value: Any) -> str:
    """One item of a port list as text; a float (7100.0) or a boolean is refused, never rounded."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise ValueError(f"{describe(value)} is not a port: {_FORM}")


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
        if isinstance(text, str):  # the common case, one item ("7100/tcp"), without the general path
            m = _ONE_ITEM.fullmatch(text.strip())
            if m is not None:
                lo = int(m.group(1))
                hi = int(m.group(2)) if m.group(2) else lo
                if MIN_PORT <= lo <= hi <= MAX_PORT:
                    ivs = IntervalSet._raw(((lo, hi),))
                    return cls(ivs, None) if (m.group(3) or default).lower() == "tcp" else cls(None, ivs)
        items: list[str] = []
        many = not isinstance(text, (str, int)) and isinstance(text, Iterable) and not isinstance(text, dict)
        for t in text if many else (text,):
            items.extend(_item_text(t).split(","))
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

    @classmethod
    def _from_map(cls, value: dict) -> "PortSet":
        """{tcp: "1-1024", udp: "53"}: exactly these keys (a port under any other key would be
        dropped without a word), each protocol's ports under its own key."""
        for key in value:
            if key not in PROTOCOLS:
                raise ValueError(f"unknown key {key!r} in a port map: the keys are tcp and udp "
                                 '(like {tcp: "1-1024", udp: "53"})')
        by: dict[str, IntervalSet] = {}
        for proto in PROTOCOLS:
            ports = value.get(proto)
            got = cls() if ports is None else cls.parse(ports, proto)
            other = got.get("udp" if proto == "tcp" else "tcp")
            if other:
                raise ValueError(f"{proto}: {describe(ports)} names {'udp' if proto == 'tcp' else 'tcp'} ports; "
                                 "put them under their own key")
            by[proto] = got.get(proto)
        return cls(by["tcp"], by["udp"])

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
            if isinstance(value, dict):
                return cls._from_map(value)
            if isinstance(value, str):
                return _parsed_text(value)
            if not isinstance(value, (int, list, tuple)):
                raise ValueError(f"{describe(value)} is not ports: {_FORM}")
            return cls.parse(value)

        return core_schema.no_info_plain_validator_function(
            validate,
            serialization=core_schema.plain_serializer_function_ser_schema(lambda v: v.text()),
            json_schema_input_schema=core_schema.str_schema(),
        )


@lru_cache(maxsize=1 << 14)
def _parsed_text(text: str) -> PortSet:
    # a workspace repeats the same port text in thousands of profiles ("7100/tcp"); a PortSet is
    # immutable, so one parse serves them all (a text that is refused raises, and is not kept)
    return PortSet.parse(text)
