"""The one HTTP transport of the REST scanner clients (scanguard.http), against a real loopback
server over TLS: CA bundle and client certificate, error mapping, Retry-After in both forms, and
secrets that never reach a message or a repr."""

from __future__ import annotations

import json
import logging
import ssl
import threading
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from scanguard import ScannerConfig, ScannerError, Secret
from scanguard.http import HttpTransport, SecretHeaderAuth, basic_auth, retry_after_seconds
from scanguard_testbed_scanners.common import serve_in_background, stop_serving

ACCESS = "access-0123456789abcdef"
SECRET = "secret-fedcba9876543210"


class Scripted(ThreadingHTTPServer):
    """Answers each request with the next scripted (status, headers, body); records what came."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, context: ssl.SSLContext | None) -> None:
        self.context = context
        self.script: list[tuple[int, dict[str, str], bytes]] = []
        self.seen: list[tuple[str, str, dict[str, str], bytes]] = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def get_request(self):
        sock, addr = super().get_request()
        if self.context is not None:
            sock = self.context.wrap_socket(sock, server_side=True)
        return sock, addr

    def handle_error(self, request, client_address) -> None:
        pass  # refused handshakes are part of the tests


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Scripted

    def log_message(self, *args) -> None:
        pass

    def _any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with self.server.lock:
            self.server.seen.append((self.command, self.path, dict(self.headers), body))
            status, headers, payload = self.server.script.pop(0) if self.server.script else (200, {}, b"{}")
        self.send_response(status)
        for k, v in {"Content-Length": str(len(payload)), **headers}.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = _any


@pytest.fixture(scope="module")
def pki():
    import trustme

    ca = trustme.CA()
    return ca, ca.issue_cert("127.0.0.1"), ca.issue_cert("scanguard-client@example")


def _server(pki, tmp_path, *, require_client_cert: bool):
    ca, server_cert, _ = pki
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_cert.configure_cert(ctx)
    if require_client_cert:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ca.configure_trust(ctx)
    srv = Scripted(ctx)
    thread = serve_in_background(srv, "scripted-https")
    return srv, thread


@pytest.fixture
def served(pki, tmp_path, monkeypatch):
    """(server, ScannerConfig) over TLS that demands a client certificate."""
    ca, _, client_cert = pki
    ca_file, cert_file = tmp_path / "ca.pem", tmp_path / "client.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    client_cert.private_key_and_cert_chain_pem.write_to_path(str(cert_file))
    srv, thread = _server(pki, tmp_path, require_client_cert=True)
    monkeypatch.setenv("T_ACCESS", ACCESS)
    monkeypatch.setenv("T_SECRET", SECRET)
    cfg = ScannerConfig(name="scn", type="x", url=f"https://127.0.0.1:{srv.server_address[1]}", timeout_s=2,
                        credentials={"access_key": "T_ACCESS", "secret_key": "T_SECRET"},
                        tls={"ca_bundle": ca_file, "client_cert": cert_file})
    yield srv, cfg
    stop_serving(srv, thread)


def _transport(cfg: ScannerConfig) -> HttpTransport:
    a, s = Secret(ACCESS), Secret(SECRET)
    auth = SecretHeaderAuth("X-ApiKeys", lambda: f"accessKey={a.reveal()}; secretKey={s.reveal()}")
    return HttpTransport(cfg, auth=auth, secrets=[a, s], user_agent="scanguard-test")


def _json(status: int, doc, **headers: str) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json", **headers}, json.dumps(doc).encode()


def test_json_over_tls_with_ca_bundle_and_client_certificate(served):
    srv, cfg = served
    srv.script.append(_json(200, {"policies": None}))
    assert _transport(cfg).json("GET", "/policies") == {"policies": None}
    method, path, headers, _ = srv.seen[0]
    assert (method, path) == ("GET", "/policies")
    assert headers["X-ApiKeys"] == f"accessKey={ACCESS}; secretKey={SECRET}"
    assert headers["User-Agent"] == "scanguard-test"


def test_without_the_client_certificate_the_handshake_fails_and_says_what_to_set(served):
    srv, cfg = served
    no_cert = cfg.model_copy(update={"tls": cfg.tls.model_copy(update={"client_cert": None})})
    with pytest.raises(ScannerError) as e:
        _transport(no_cert).json("GET", "/policies")
    assert not e.value.transient and "scn" in str(e.value)


def test_an_unknown_ca_is_refused_not_retried(served, monkeypatch):
    srv, cfg = served
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    no_ca = cfg.model_copy(update={"tls": cfg.tls.model_copy(update={"ca_bundle": None})})
    with pytest.raises(ScannerError) as e:
        _transport(no_ca).json("GET", "/policies")
    assert "tls.ca_bundle" in str(e.value) and not e.value.transient
    assert srv.seen == []  # nothing was sent to a server we could not verify


def test_the_workspace_ca_wins_over_requests_ca_bundle(served, monkeypatch, tmp_path):
    srv, cfg = served
    import trustme

    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(other))
    srv.script.append(_json(200, {}))
    assert _transport(cfg).json("GET", "/") == {}


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_overload_statuses_are_transient(served, status):
    srv, cfg = served
    srv.script.append(_json(status, {"error": "busy"}))
    with pytest.raises(ScannerError) as e:
        _transport(cfg).json("GET", "/policies")
    assert e.value.transient and e.value.status == status and "busy" in str(e.value)


@pytest.mark.parametrize("status", [400, 404, 409, 500])
def test_other_errors_are_not_transient(served, status):
    srv, cfg = served
    srv.script.append(_json(status, {"message": "no"}))
    with pytest.raises(ScannerError) as e:
        _transport(cfg).json("GET", "/policies")
    assert not e.value.transient and e.value.status == status


def test_retry_after_in_seconds(served):
    srv, cfg = served
    srv.script.append(_json(429, {}, **{"Retry-After": "7"}))
    with pytest.raises(ScannerError) as e:
        _transport(cfg).json("GET", "/x")
    assert e.value.retry_after == 7.0


def test_retry_after_as_an_http_date(served):
    srv, cfg = served
    when = datetime.now(timezone.utc) + timedelta(seconds=120)
    srv.script.append(_json(503, {}, **{"Retry-After": format_datetime(when, usegmt=True)}))
    with pytest.raises(ScannerError) as e:
        _transport(cfg).json("GET", "/x")
    assert 100 < e.value.retry_after <= 120


def test_retry_after_forms():
    now = datetime(2015, 10, 21, 7, 27, 0, tzinfo=timezone.utc)
    assert retry_after_seconds("120") == 120.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=now) == 60.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:00:00 GMT", now=now) == 0.0  # in the past: now
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_a_refused_connection_is_transient(pki, tmp_path):
    srv, thread = _server(pki, tmp_path, require_client_cert=False)
    port = srv.server_address[1]
    stop_serving(srv, thread)
    cfg = ScannerConfig(name="gone", type="x", url=f"https://127.0.0.1:{port}", timeout_s=1)
    with pytest.raises(ScannerError) as e:
        HttpTransport(cfg, auth=basic_auth(Secret("u"), Secret("p"))).json("GET", "/")
    assert e.value.transient and "gone" in str(e.value)


def test_redirects_are_not_followed(served):
    srv, cfg = served
    srv.script.append((302, {"Location": "https://elsewhere.example/policies"}, b""))
    with pytest.raises(ScannerError) as e:
        _transport(cfg).json("GET", "/policies")
    assert e.value.status == 302 and "elsewhere.example" in str(e.value)
    assert len(srv.seen) == 1


def test_a_body_that_is_not_json_is_a_clear_error(served):
    srv, cfg = served
    srv.script.append((200, {"Content-Type": "text/html"}, b"<html>proxy login</html>"))
    with pytest.raises(ScannerError, match="not JSON"):
        _transport(cfg).json("GET", "/policies")


def test_an_empty_body_is_none(served):
    srv, cfg = served
    srv.script.append((200, {}, b""))
    assert _transport(cfg).json("PUT", "/policies/1", body={"settings": {}}) is None
    assert json.loads(srv.seen[0][3]) == {"settings": {}}


def test_a_refused_credential_names_the_variables_and_masks_an_echoed_secret(served, caplog):
    srv, cfg = served
    caplog.set_level(logging.DEBUG)
    srv.script.append(_json(401, {"error": f"bad key {ACCESS} / {SECRET}"}))
    t = _transport(cfg)
    with pytest.raises(ScannerError) as e:
        t.json("GET", "/policies")
    text = str(e.value)
    assert e.value.status == 401 and "T_ACCESS" in text and "T_SECRET" in text
    for shown in (text, caplog.text, repr(t), repr(t.session.auth)):
        assert ACCESS not in shown and SECRET not in shown


def test_a_403_the_scanner_means_as_a_refused_request_is_not_called_a_refused_credential(served):
    srv, cfg = served
    srv.script.append(_json(403, {"error_code": 146, "error_msg": "Invalid parameters"}))
    srv.script.append(_json(403, {"error_code": 74, "error_msg": "Invalid login"}))
    t = HttpTransport(cfg, auth=basic_auth(Secret("u"), Secret("p")),
                      refused=lambda r: r.json().get("error_code") != 146)
    with pytest.raises(ScannerError) as e:
        t.json("POST", "/rest/policy", body={})
    assert e.value.status == 403 and "Invalid parameters" in str(e.value) and "credential" not in str(e.value)
    with pytest.raises(ScannerError) as e:
        t.json("GET", "/rest/policy")
    assert "the credential was refused" in str(e.value)


def test_hints_add_advice_for_a_status(served):
    srv, cfg = served
    srv.script.append(_json(412, {"error": "API is not available"}))
    t = HttpTransport(cfg, auth=basic_auth(Secret("u"), Secret("p")), hints={412: "Import the policy file instead."})
    with pytest.raises(ScannerError) as e:
        t.json("GET", "/policies")
    assert "API is not available" in str(e.value) and "Import the policy file" in str(e.value)


def test_basic_auth_is_masked_and_correct(served):
    srv, cfg = served
    auth = basic_auth(Secret("nxadmin"), Secret("pa55word"))
    srv.script.append(_json(200, {}))
    HttpTransport(cfg, auth=auth).json("GET", "/api/3/scan_templates")
    assert srv.seen[0][2]["Authorization"] == "Basic bnhhZG1pbjpwYTU1d29yZA=="
    assert "pa55word" not in repr(auth)
