"""'Did you mean': the closest known word to one a user misspelt (a key in a file, a value of a
fixed set, a scanner, template, profile or vendor named on the command line), and the common
aliases people bring from the products themselves (openvas is gvm, nexpose is insightvm)."""

from __future__ import annotations

import difflib
from typing import Any, Iterable, get_args, get_origin

from pydantic import BaseModel

ALIASES = {
    "openvas": "gvm", "greenbone": "gvm", "gmp": "gvm", "nexpose": "insightvm", "rapid7": "insightvm",
    "tenable": "nessus", "nessus-manager": "nessus",
}
"""Names of products (or their old names) and the scanguard name that means them."""


def closest(word: object, known: Iterable[object]) -> str | None:
    """The known word `word` was most likely meant to be, or None when none is close."""
    choices = [str(k) for k in known]
    text = str(word).strip()
    if not text or text in choices:
        return None
    alias = ALIASES.get(text.lower())
    if alias in choices:
        return alias
    lowered = {c.lower(): c for c in choices}
    if text.lower() in lowered:
        return lowered[text.lower()]
    found = difflib.get_close_matches(text.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[found[0]] if found else None


def hint(word: object, known: Iterable[object]) -> str:
    """" (did you mean 'gvm'?)", or "" when nothing known is close."""
    best = closest(word, known)
    return f" (did you mean {best!r}?)" if best is not None else ""


def unknown(kind: str, word: object, known: Iterable[object], *, listed: str = "known") -> str:
    """"unknown scanner 'nesus' (did you mean 'nessus'?); configured: a, b"."""
    names = sorted(str(k) for k in known)
    return f"unknown {kind} {str(word)!r}{hint(word, names)}; {listed}: {', '.join(names) or 'none'}"


def keys_at(model: type[BaseModel], loc: tuple[Any, ...]) -> tuple[str, ...]:
    """The keys a pydantic model accepts at a location inside it (("constraints", "rate") of a
    profile: packets_per_second, ...); () where the location is not a model."""
    current: Any = model
    for part in loc:
        target = _model_in(current)
        if target is not None and isinstance(part, str):
            fld = target.model_fields.get(part) or next(
                (f for f in target.model_fields.values() if f.alias == part), None)
            if fld is None:
                return ()
            current = fld.annotation
            continue
        current = _item_type(current)
        if current is None:
            return ()
    target = _model_in(current)
    if target is None:
        return ()
    return tuple(f.alias or name for name, f in target.model_fields.items())


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model an annotation holds (itself, or inside Optional)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        if get_origin(annotation) in (list, tuple, set, frozenset, dict):
            continue
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _item_type(annotation: Any) -> Any:
    """The type of the items of a list, tuple or the values of a dict (inside Optional too)."""
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin in (list, tuple, set, frozenset) and args:
        return args[0]
    if origin is dict and len(args) == 2:
        return args[1]
    for arg in args:
        found = _item_type(arg)
        if found is not None:
            return found
    return None
