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


def trusted(cls: type[M], **values: Any) -> M:
    """Build a model from values that are already valid and complete (every field given), skipping
    validation. For hot paths inside the core only (compile builds tens of thousands of these);
    anything read from outside goes through validation."""
    obj = cls.__new__(cls)
    object.__setattr__(obj, "__dict__", values)
    object.__setattr__(obj, "__pydantic_fields_set__", set(values))
    object.__setattr__(obj, "__pydantic_extra__", None)
    object.__setattr__(obj, "__pydantic_private__", None)
    return obj
