"""Shared pydantic configuration: unknown keys are errors, values are immutable."""

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    """Base of every domain record: strict about unknown keys, frozen, hashable."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class Input(BaseModel):
    """Base of records read from a user's files: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)
