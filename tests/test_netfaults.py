"""Why a scanner could not be reached, told apart on real sockets on loopback: refused, timed
out, name resolution, TLS verification and host name mismatch, each pointing at the setting
that decides it."""

from __future__ import annotations

import socket
import ssl
import threading

import pytest
import requests
import trustme

from scanguard import describe_unreachable


def failure(url: str, **kw) -> BaseException:
    with pytest.raises(requests.RequestException) as info:
        requests.get(url, timeout=kw.pop("timeout", 5), **kw)
    return info.value


@pytest.fixture
def tls_server(tmp_path):
    """An HTTPS server on 127.0.0.1 whose certificate names only "localhost"; yields (port, CA file)."""
    ca = trustme.CA()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(ctx)
    srv = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            try:
                with ctx.wrap_socket(conn, server_side=True) as s:
                    s.recv(1024)
            except (OSError, ssl.SSLError):
                conn.close()

    threading.Thread(target=serve, daemon=True).start()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    yield srv.getsockname()[1], str(ca_file)
    stop.set()
    srv.close()


def test_nothing_listening_is_connection_refused_at_the_url():
    d = describe_unreachable(failure("https://127.0.0.1:1/"), "https://127.0.0.1:1/")
    assert (d.kind, d.setting, d.transient) == ("refused", "url", True)
    assert d.text == "connection refused (nothing listens on 127.0.0.1:1)"


def test_a_host_name_nobody_knows_is_name_resolution():
    url = "https://no-such-scanner.invalid:8834/"
    d = describe_unreachable(failure(url), url)
    assert (d.kind, d.setting) == ("name-resolution", "url") and "no-such-scanner.invalid" in d.text


def test_a_scanner_that_never_answers_is_a_timeout():
    silent = socket.create_server(("127.0.0.1", 0))
    url = f"https://127.0.0.1:{silent.getsockname()[1]}/"
    try:
        d = describe_unreachable(failure(url, timeout=0.3), url, 0.3)
    finally:
        silent.close()
    assert (d.kind, d.transient) == ("timeout", True) and d.text.startswith("timed out after 0.3s (")


def test_a_certificate_from_an_unknown_ca_points_at_the_ca_bundle(tls_server):
    port, _ = tls_server
    url = f"https://localhost:{port}/"
    d = describe_unreachable(failure(url), url)
    assert (d.kind, d.setting, d.transient) == ("tls-verify", "tls.ca_bundle", False)
    assert f"certificate of localhost:{port} did not verify (unable to get local issuer certificate)" in d.text


def test_a_certificate_for_another_name_is_a_hostname_mismatch_at_the_url(tls_server):
    port, ca = tls_server
    url = f"https://127.0.0.1:{port}/"
    d = describe_unreachable(failure(url, verify=ca), url)
    assert (d.kind, d.setting) == ("tls-hostname", "url")
    assert f"certificate of 127.0.0.1:{port} is not valid for 127.0.0.1 (hostname mismatch)" in d.text
