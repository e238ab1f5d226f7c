"""Secrets come from the environment or the keyring, never from files, and never print."""

from __future__ import annotations

import os

from .errors import ScannerConfigError
from .model.config import ScannerConfig


class Secret:
    """A secret value whose repr and str are masked, so it cannot leak through logs,
    tracebacks with locals, or f-strings. Call `reveal()` at the one place it is sent."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself; use only to build the request that needs it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("secret", len(self._value)))

    def __reduce__(self):  # pragma: no cover - refuse pickling the secret into caches or state
        raise TypeError("secrets are not serialisable")


def resolve(scanner: ScannerConfig, field: str, *, required: bool = True) -> Secret | None:
    """The credential `field` of a scanner: from the environment variable the workspace names,
    else from the keyring (service `keyring_service`, user `<scanner>:<field>`). A credential
    found nowhere is a ScannerConfigError (exit 2: the configuration cannot work as it is)."""
    env = scanner.credentials.get(field)
    if env and os.environ.get(env):
        return Secret(os.environ[env])
    if scanner.keyring_service:
        try:
            import keyring  # optional

            value = keyring.get_password(scanner.keyring_service, f"{scanner.name}:{field}")
        except Exception:  # keyring missing or no backend: fall through to the clear error
            value = None
        if value:
            return Secret(value)
    if not required:
        return None
    where = f"environment variable {env}" if env else f"credentials.{field} in scanguard.toml"
    raise ScannerConfigError(scanner.name, f"credential {field!r} is not set: set the {where}"
                             + (f" or store it in the keyring service {scanner.keyring_service!r}"
                                if scanner.keyring_service else ""), setting=f"credentials.{field}")
