"""Why a scanner could not be reached, in words a scanner admin acts on: the connection was
refused, it timed out, the host name is not known, the network is unreachable, or TLS failed
(the certificate did not verify, or it names another host), with the scanguard.toml setting to
look at. Used by every scanner client (through scanguard's public API)."""

from __future__ import annotations

import errno
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

NAME_MISMATCH = frozenset({62, 64})
"""OpenSSL's X509_V_ERR_HOSTNAME_MISMATCH and X509_V_ERR_IP_ADDRESS_MISMATCH."""


@dataclass(frozen=True)
class Unreachable:
    """What went wrong (`kind`: refused, timeout, name-resolution, unreachable, reset,
    tls-verify, tls-hostname, tls), said in words (`text`), and the scanner setting that
    decides it (`setting`: "url" or "tls.ca_bundle"). Transient kinds are worth a retry."""

    kind: str
    text: str
    setting: str

    @property
    def transient(self) -> bool:
        """Whether a retry may fix it (a certificate that does not verify will not verify later)."""
        return self.kind in ("refused", "timeout", "reset", "unreachable", "name-resolution")


def _chain(e: BaseException) -> list[BaseException]:
    """The exception and every exception behind it: causes, contexts, and the errors that
    requests and urllib3 keep in `args` and `reason`."""
    seen: list[BaseException] = []
    todo = [e]
    while todo:
        x = todo.pop(0)
        if x is None or any(x is s for s in seen):
            continue
        seen.append(x)
        todo.extend(a for a in getattr(x, "args", ()) if isinstance(a, BaseException))
        for attr in ("reason", "__cause__", "__context__"):
            nxt = getattr(x, attr, None)
            if isinstance(nxt, BaseException):
                todo.append(nxt)
    return seen


def describe(e: BaseException, url: str | None = None, timeout_s: float | None = None) -> Unreachable:
    """Classify a failure to reach `url` (any exception a client library raised: requests,
    urllib3, ssl, socket, python-gvm's connection)."""
    parts = urlsplit(url or "")
    host = parts.hostname or "the scanner"
    where = f"{host}:{parts.port}" if parts.port else host
    chain = _chain(e)
    for x in chain:
        if isinstance(x, ssl.SSLCertVerificationError):
            if getattr(x, "verify_code", None) in NAME_MISMATCH:
                return Unreachable("tls-hostname", f"TLS: the certificate of {where} is not valid for {host} (hostname "
                                   "mismatch): write the name it was issued for in url", "url")
            said = getattr(x, "verify_message", "") or str(x)
            return Unreachable("tls-verify", f"TLS: the certificate of {where} did not verify ({said}): set "
                               "tls.ca_bundle to the CA that signed it", "tls.ca_bundle")
    for x in chain:  # a handshake that failed will fail again: before resets, which a retry may fix
        if isinstance(x, ssl.SSLError):
            return Unreachable("tls", f"TLS handshake with {where} failed ({x.reason or x}): check tls.ca_bundle, and "
                               "tls.client_cert if the scanner asks for one", "tls")
    for x in chain:
        if isinstance(x, socket.gaierror):
            return Unreachable("name-resolution", f"name resolution failed ({host} is not a known host name)", "url")
    for x in chain:
        if isinstance(x, ConnectionRefusedError) or getattr(x, "errno", None) == errno.ECONNREFUSED:
            return Unreachable("refused", f"connection refused (nothing listens on {where})", "url")
        if isinstance(x, (TimeoutError, socket.timeout)) or type(x).__name__ in (
                "ConnectTimeout", "ReadTimeout", "Timeout", "ConnectTimeoutError", "ReadTimeoutError"):
            after = f" after {timeout_s:g}s" if timeout_s else ""
            return Unreachable("timeout", f"timed out{after} ({where} did not answer)", "url")
        if getattr(x, "errno", None) in (errno.ENETUNREACH, errno.EHOSTUNREACH):
            return Unreachable("unreachable", f"no route to {where} (network unreachable)", "url")
        if isinstance(x, ConnectionResetError) or getattr(x, "errno", None) == errno.ECONNRESET:
            return Unreachable("reset", f"the connection to {where} was reset", "url")
    return Unreachable("other", f"{type(e).__name__}", "url")
