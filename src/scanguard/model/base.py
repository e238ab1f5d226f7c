"""Shared pydantic configuration: unknown keys are errors, values are immutable."""

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict

M = TypeVar("M", bound=BaseModel)


class Model(BaseModel):
    """Base of every domain record: strict about unknown keys, frozen, hashable."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class Input(BaseModel):
    """Base of records read from a user's files: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)


def describe(value: Any) -> str:
    """A value read from a user's file as the user would call it, for error messages:
    "the number 7100.0", "the text 'no'", "true (a boolean)"."""
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, int):
        return f"the number {value}"
    if isinstance(value, float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the text {value!r}"
    if value is None:
        return "nothing (null)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple, set, frozenset)):
        return "a list"
    return f"a {type(value).__name__}"


_EVERY_FIELD: dict[type, "set[str] | None"] = {}


def _every_field(cls: type[BaseModel]) -> "set[str] | None":
    """One set of every field name per frozen model class, shared by the records `trusted` builds
    (a set of its own per record was more than half of what compile allocates at 20,000 profiles:
    225 MB then, 100 MB now).
    Sharing is safe for a frozen model: nothing sets a field of one, and pydantic copies the set
    before changing it (model_copy)."""
    try:
        return _EVERY_FIELD[cls]
    except KeyError:
        shared = set(cls.model_fields) if cls.model_config.get("frozen") else None
        _EVERY_FIELD[cls] = shared
        return shared


def trusted(cls: type[M], **values: Any) -> M:
    """Build a model from values that are already valid and complete (every field given), skipping
    validation. For hot paths inside the core only (compile builds tens of thousands of these);
    anything read from outside goes through validation."""
    obj = cls.__new__(cls)
    object.__setattr__(obj, "__dict__", values)
    shared = _every_field(cls)
    object.__setattr__(obj, "__pydantic_fields_set__",
                       shared if shared is not None and values.keys() == shared else set(values))
    object.__setattr__(obj, "__pydantic_extra__", None)
    object.__setattr__(obj, "__pydantic_private__", None)
    return obj
