"""How scanguard reaches gvmd: TLS (verified unless the workspace says `tls.verify = false`) or
gvmd's Unix socket, as python-gvm connections."""

from __future__ import annotations

import socket
import ssl
from urllib.parse import urlsplit

from gvm.connections import GvmConnection, TLSConnection, UnixSocketConnection
from scanguard import ScannerConfig, ScannerError

DEFAULT_PORT = 9390


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
