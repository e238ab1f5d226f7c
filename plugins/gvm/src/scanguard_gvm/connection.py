"""How scanguard reaches gvmd: TLS (verified unless the workspace says `tls.verify = false`) or
gvmd's Unix socket, as python-gvm connections; a session's connection is never reopened once it
has authenticated (`SessionConnection`)."""

from __future__ import annotations

import socket
import ssl
from urllib.parse import urlsplit

from gvm.connections import GvmConnection, TLSConnection, UnixSocketConnection
from scanguard import ScannerConfig, ScannerError

DEFAULT_PORT = 9390
SESSION_LOST = ("the connection to gvmd was lost mid-session (a reset, or an answer that never came); "
                "whether its last command was carried out is unknown, and the session's later commands were not sent")


class SessionConnection:
    """A python-gvm connection that is not reopened once its session has authenticated.

    python-gvm reopens a connection it lost (a reset, a timeout) at the next command, without
    authenticating again; gvmd refuses every command of such a connection ("Only command
    GET_VERSION is allowed before AUTHENTICATE", gmp.c, then it closes the connection), which
    would read as gvmd refusing the command itself, a failure no retry could fix. Once
    `authenticated()` was called, reopening raises ConnectionAbortedError instead: the session is
    over, a transient failure that a new, authenticated session may retry. (python-gvm opens the
    connection twice before that: once to ask the GMP version, once for the session.)"""

    def __init__(self, inner: GvmConnection) -> None:
        self._inner = inner
        self._sealed = False

    def authenticated(self) -> None:
        """The session has authenticated: a lost connection ends it."""
        self._sealed = True

    def connect(self) -> None:
        """Open the connection, unless the authenticated session already lost it."""
        if self._sealed:
            raise ConnectionAbortedError(SESSION_LOST)
        self._inner.connect()

    def disconnect(self) -> None:
        """Close the connection."""
        self._inner.disconnect()

    def send(self, data: bytes) -> None:
        """Send a command."""
        self._inner.send(data)

    def read(self) -> bytes:
        """Read (part of) an answer."""
        return self._inner.read()

    def finish_send(self) -> None:
        """Tell gvmd nothing more will be sent."""
        self._inner.finish_send()


class VerifiedTLSConnection(TLSConnection):
    """python-gvm's TLSConnection with a context of our making: python-gvm verifies the server
    only when a client certificate is given too, and never checks the host name."""

    def __init__(self, *, context: ssl.SSLContext, hostname: str, port: int, timeout: float) -> None:
        super().__init__(hostname=hostname, port=port, timeout=timeout)
        self._context = context

    def connect(self) -> None:
        """Open the TCP connection (IPv4 or IPv6) and the TLS session, verifying as configured."""
        raw = socket.create_connection((self.hostname, int(self.port)), timeout=self._timeout)
        try:
            server_hostname = self.hostname if self._context.check_hostname else None
            self._socket = self._context.wrap_socket(raw, server_hostname=server_hostname)
        except BaseException:
            raw.close()
            raise
        self._socket.settimeout(self._timeout)


def tls_context(config: ScannerConfig) -> ssl.SSLContext:
    """The TLS client context for a scanner: the system CAs or `tls.ca_bundle`, host name
    checked, TLS 1.2 or newer; an optional client certificate (`tls.client_cert`, PEM with key)."""
    tls = config.tls
    try:
        if tls.verify:
            ctx = ssl.create_default_context(cafile=str(tls.ca_bundle) if tls.ca_bundle else None)
        else:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        if tls.client_cert:
            ctx.load_cert_chain(certfile=str(tls.client_cert))
    except (OSError, ssl.SSLError) as e:
        files = ", ".join(str(p) for p in (tls.ca_bundle, tls.client_cert) if p)
        raise ScannerError(config.name, f"cannot load the TLS files {files}: {e.strerror or e}") from None
    return ctx


def open_connection(config: ScannerConfig) -> GvmConnection:
    """A python-gvm connection for a scanner: its Unix `socket`, else TLS to its `url`
    (https://host:9390)."""
    if config.socket:
        return UnixSocketConnection(path=str(config.socket), timeout=config.timeout_s)
    if not config.url:
        raise ScannerError(config.name, "a GVM scanner needs url (like https://gvm.example:9390) or socket "
                                        "(like /run/gvmd/gvmd.sock) in scanguard.toml")
    parts = urlsplit(config.url)
    if not parts.hostname:
        raise ScannerError(config.name, f"url {config.url!r} names no host")
    return VerifiedTLSConnection(context=tls_context(config), hostname=parts.hostname,
                                 port=parts.port or DEFAULT_PORT, timeout=config.timeout_s)
