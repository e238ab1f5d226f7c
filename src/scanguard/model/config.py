"""The workspace configuration file, scanguard.toml."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import Field, HttpUrl, field_validator, model_validator

from .addresses import AddressSet
from .base import Input, describe

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _path(value: object) -> Path | None:
    # scanguard.toml is validated strictly (no "yes" for true, no 30.5 for 30); a path is the one
    # value TOML can only write as text
    if value is None or isinstance(value, Path):
        return value
    if isinstance(value, str) and value.strip():
        return Path(value)
    raise ValueError(f"expected a file path as text (like \"certs/ca.pem\"), found {describe(value)}")


class TLSSettings(Input):
    """TLS for one scanner: verification is on unless `verify = false` is written down."""

    verify: bool = True
    ca_bundle: Path | None = None
    client_cert: Path | None = None

    @field_validator("ca_bundle", "client_cert", mode="before")
    @classmethod
    def _paths(cls, v: object) -> Path | None:
        return _path(v)


class ScannerConfig(Input):
    """One scanner: its vendor type, where it is, where its credentials come from."""

    name: str = ""
    type: str = Field(min_length=1)
    url: str | None = None
    socket: Path | None = None
    credentials: dict[str, str] = {}
    keyring_service: str | None = None
    tls: TLSSettings = Field(default_factory=TLSSettings)
    templates: list[str] | None = None
    targets: list[str] = []
    timeout_s: float = Field(default=30.0, gt=0, allow_inf_nan=False)
    options: dict[str, str | int | float | bool] = {}

    @field_validator("socket", mode="before")
    @classmethod
    def _paths(cls, v: object) -> Path | None:
        return _path(v)

    @field_validator("credentials")
    @classmethod
    def _env_names(cls, v: dict[str, str]) -> dict[str, str]:
        for field, env in v.items():
            if not ENV_NAME.match(env):
                raise ValueError(
                    f"credential {field!r} must name an environment variable (like NESSUS_ACCESS_KEY), "
                    "never hold the secret itself"
                )
        return v

    @field_validator("url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None:
            HttpUrl(v)
        return v

    @field_validator("targets")
    @classmethod
    def _targets(cls, v: list[str]) -> list[str]:
        AddressSet.parse(v)
        return v

    def target_set(self) -> AddressSet:
        """The addresses general templates on this scanner aim at (empty: decided on the scanner)."""
        return AddressSet.parse(self.targets)


class WorkspaceSettings(Input):
    """General settings of the workspace."""

    name: str = "scanguard workspace"
    state: Path | None = None
    templates: list[str] | None = None

    @field_validator("state", mode="before")
    @classmethod
    def _paths(cls, v: object) -> Path | None:
        return _path(v)


class WorkspaceConfig(Input):
    """scanguard.toml."""

    workspace: WorkspaceSettings = Field(default_factory=WorkspaceSettings)
    scanners: dict[str, ScannerConfig] = {}

    @model_validator(mode="after")
    def _names(self) -> "WorkspaceConfig":
        for name, sc in self.scanners.items():
            if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", name):
                raise ValueError(f"scanner name {name!r} may hold only letters, digits, '.', '_' and '-'")
            sc.name = name
        return self
