"""One HTTP transport for every REST scanner client (Nessus, InsightVM, Tenable SC and VM...).

What every client needs and none should write again:

- TLS verified by default, with the workspace's `tls.ca_bundle` (a private CA) and
  `tls.client_cert` (a PEM holding the client certificate and its key) passed with every request,
  so that REQUESTS_CA_BUNDLE cannot quietly replace the CA the workspace names;
- redirects are never followed (credentials must not travel to another address);
- every failure becomes a ScannerError naming the scanner: connection errors, timeouts and
  HTTP 429, 502, 503, 504 are transient (the sync engine retries them), anything else is not;
  a 429 or 503 carries Retry-After, in seconds or as an HTTP date;
- secrets never leave: authentication objects have masked reprs, and any secret value a scanner
  echoes back in an error is masked before it reaches a message or a log.

    transport = HttpTransport(config, auth=SecretHeaderAuth("X-ApiKeys", keys), secrets=[a, s],
                              user_agent="scanguard-nessus")
    doc = transport.json("GET", "/policies")
"""

from __future__ import annotations

import base64
import logging
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import urlsplit

import requests

from .errors import ScannerError
from .model.config import ScannerConfig
from .netfaults import describe as describe_unreachable
from .secrets import Secret

log = logging.getLogger(__name__)

TRANSIENT_STATUS = frozenset({429, 502, 503, 504})
"""HTTP statuses a retry may fix."""
REDIRECTS = frozenset({301, 302, 303, 307, 308})
MASK = "***"
_MIN_SECRET_LEN = 4
"""Shorter values are not masked in text (they would mask ordinary words); they are still secrets."""


class SecretHeaderAuth(requests.auth.AuthBase):
    """Sets one header from secrets at the moment a request is sent; its repr is masked.

    `value` builds the header text (it calls `Secret.reveal()`), so that the clear text exists only
    inside the request being prepared."""

    def __init__(self, header: str, value: Callable[[], str]) -> None:
        self._header = header
        self._value = value

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers[self._header] = self._value()
        return request

    def __repr__(self) -> str:
        return f"SecretHeaderAuth({self._header!r}, {MASK})"


def basic_auth(username: Secret, password: Secret) -> SecretHeaderAuth:
    """HTTP Basic from two secrets."""

    def value() -> str:
        token = f"{username.reveal()}:{password.reveal()}".encode()
        return "Basic " + base64.b64encode(token).decode("ascii")

    return SecretHeaderAuth("Authorization", value)


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds a Retry-After header asks for: delta-seconds ("120") or an HTTP date
    ("Wed, 21 Oct 2015 07:28:00 GMT"); None when absent or unreadable; never negative."""
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP date is always GMT
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


def error_text(response: requests.Response) -> str:
    """What a scanner said about an error, from the usual JSON fields ("error", "message",
    "error_msg"), else the reason phrase; at most 300 characters."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, Mapping):
        for key in ("error", "message", "error_msg"):
            said = body.get(key)
            if said:
                return str(said)[:300]
    return str(response.reason or "")[:300]


class HttpTransport:
    """Requests to one scanner's REST API, with the error mapping, TLS and masking above.

    `describe(response)` says what the scanner said about an error (default `error_text`);
    `hints` adds advice per HTTP status (for example 412 on Nessus Professional); 401 and 403 name
    the credential variables of the workspace, unless `refused(response)` says the scanner meant
    something else by it (Tenable Security Center answers a request it finds invalid with 403).

    .. versionadded:: 0.1 `refused`"""

    def __init__(self, config: ScannerConfig, *, auth: requests.auth.AuthBase, secrets: Iterable[Secret | None] = (),
                 user_agent: str = "scanguard", describe: Callable[[requests.Response], str] = error_text,
                 hints: Mapping[int, str] | None = None, session: requests.Session | None = None,
                 refused: Callable[[requests.Response], bool] | None = None) -> None:
        self.scanner = config.name or config.type
        if not config.url:
            raise ScannerError(self.scanner, "no url is configured (set url in scanguard.toml)")
        self.base_url = config.url.rstrip("/")
        self.timeout = config.timeout_s
        self._secrets = [s for s in secrets if s is not None]
        self._credentials = [env for env in config.credentials.values() if env]
        self._describe = describe
        self._hints = dict(hints or {})
        self._refused = refused
        tls = config.tls
        # passed with every request: a session-level verify would lose to REQUESTS_CA_BUNDLE
        self.verify: bool | str = (str(tls.ca_bundle) if tls.ca_bundle else True) if tls.verify else False
        self.cert: str | None = str(tls.client_cert) if tls.client_cert else None
        if not tls.verify:
            log.warning("scanner %s: TLS verification is off (tls.verify = false)", self.scanner)
        self.session = session or requests.Session()
        self.session.auth = auth
        self.session.headers.update({"Accept": "application/json", "User-Agent": user_agent})

    def __repr__(self) -> str:
        return f"HttpTransport(scanner={self.scanner!r}, url={self.base_url!r})"

    # -- masking -----------------------------------------------------------------------------
    def mask(self, text: str) -> str:
        """`text` with every secret value of this scanner replaced by ***."""
        for s in self._secrets:
            value = s.reveal()
            if len(value) >= _MIN_SECRET_LEN and value in text:
                text = text.replace(value, MASK)
        return text

    def error(self, message: str, **kw: Any) -> ScannerError:
        """A ScannerError for this scanner, its message masked."""
        return ScannerError(self.scanner, self.mask(message), **kw)

    # -- requests ----------------------------------------------------------------------------
    def request(self, method: str, path: str, *, json: Any = None, params: Mapping[str, Any] | None = None,
                headers: Mapping[str, str] | None = None) -> requests.Response:
        """Send one request; the response when its status is below 300, else a ScannerError."""
        url = path if "://" in path else self.base_url + path
        what = f"{method} {urlsplit(url).path}"
        try:
            r = self.session.request(method, url, json=json, params=params, headers=headers, timeout=self.timeout,
                                     verify=self.verify, cert=self.cert, allow_redirects=False)
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as e:
            # refused, timed out, unknown name or TLS, and the setting that decides it (a certificate that
            # does not verify will not verify on a retry either)
            d = describe_unreachable(e, self.base_url, self.timeout)
            raise self.error(f"{what}: cannot reach {self.base_url}: {d.text}", transient=d.transient,
                             setting=d.setting) from None
        except requests.exceptions.RequestException as e:
            raise self.error(f"{what} failed ({type(e).__name__})") from None
        except OSError as e:  # an unreadable CA bundle or client certificate
            raise self.error(f"TLS files cannot be read ({e.strerror or type(e).__name__}); check tls.ca_bundle and "
                             "tls.client_cert") from None
        if r.status_code >= 400 or r.status_code in REDIRECTS:
            raise self._status_error(what, r)
        return r

    def json(self, method: str, path: str, *, body: Any = None, params: Mapping[str, Any] | None = None) -> Any:
        """The JSON answer of one request (None for an empty body); a body that is not JSON is a
        ScannerError."""
        r = self.request(method, path, json=body, params=params)
        if not r.content or not r.content.strip():
            return None
        try:
            return r.json()
        except ValueError:
            raise self.error(f"{method} {urlsplit(r.url or path).path} answered {r.status_code} with a body that is "
                             "not JSON", status=r.status_code) from None

    def content(self, method: str, path: str, *, params: Mapping[str, Any] | None = None) -> bytes:
        """The raw body of one request (exports, files)."""
        return self.request(method, path, params=params, headers={"Accept": "*/*"}).content

    def _status_error(self, what: str, r: requests.Response) -> ScannerError:
        code = r.status_code
        if code in REDIRECTS:
            where = urlsplit(r.headers.get("Location", "")).netloc or "another address"
            return self.error(f"{what} was redirected to {where} (HTTP {code}); set url to the scanner's own API "
                              "address (redirects are not followed, so credentials stay here)", status=code)
        said = self._describe(r)
        said_text = f": {said}" if said else ""
        if code in (401, 403) and (self._refused is None or self._refused(r)):
            where = " and ".join(self._credentials) or "the credentials in scanguard.toml"
            return self.error(f"the credential was refused for {what} (HTTP {code}{said_text}); check {where}",
                              status=code)
        hint = self._hints.get(code)
        if hint:
            return self.error(f"{what}: HTTP {code}{said_text}. {hint}", status=code)
        transient = code in TRANSIENT_STATUS
        retry_after = retry_after_seconds(r.headers.get("Retry-After")) if code in (429, 503) else None
        if code == 404:
            return self.error(f"{what}: not found (HTTP 404{said_text})", status=404)
        return self.error(f"{what}: HTTP {code}{said_text}", status=code, transient=transient, retry_after=retry_after)


__all__ = ["HttpTransport", "SecretHeaderAuth", "TRANSIENT_STATUS", "basic_auth", "error_text", "retry_after_seconds"]
