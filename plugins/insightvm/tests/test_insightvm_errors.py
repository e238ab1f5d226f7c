"""How console errors and transport faults reach the sync engine."""

import socket

import pytest

from scanguard import ScannerError
from scanguard_insightvm.client import InsightVMClient


@pytest.mark.parametrize("status_type", [int, str])
def test_console_errors_carry_status_and_message_in_either_form(client, fake, status_type):
    fake.status_type = status_type
    with pytest.raises(ScannerError, match="does not exist") as e:
        client.read("missing")
    assert e.value.status == 404


@pytest.mark.parametrize("status_type", [int, str])
def test_a_refused_body_reports_the_console_message(client, fake, status_type):
    fake.status_type = status_type
    with pytest.raises(ScannerError, match="HTTP 400.*maxParallelAssets") as e:
        client.create("bad", {"name": "bad", "maxParallelAssets": "many"}, "scanguard:managed")
    assert e.value.status == 400 and not e.value.transient


def test_wrong_password_says_the_credential_was_refused(fake, monkeypatch, scanner_config):
    monkeypatch.setenv("SG_TEST_IVM_USER", fake.username)
    monkeypatch.setenv("SG_TEST_IVM_PASSWORD", "not-the-password")
    c = InsightVMClient(scanner_config(fake.url, fake.ca_bundle))
    with pytest.raises(ScannerError, match="scanner ivm-test: the credential was refused.*SG_TEST_IVM_PASSWORD") as e:
        c.list_managed()
    assert e.value.status == 401 and not e.value.transient


def test_the_password_never_appears_in_errors_or_reprs(fake, monkeypatch, scanner_config):
    monkeypatch.setenv("SG_TEST_IVM_USER", fake.username)
    monkeypatch.setenv("SG_TEST_IVM_PASSWORD", "hunter2-secret")
    c = InsightVMClient(scanner_config(fake.url, fake.ca_bundle))
    with pytest.raises(ScannerError) as e:
        c.list_managed()
    shown = " ".join([str(e.value), repr(e.value), repr(c), repr(c.session.auth), repr(vars(c))])
    assert "hunter2-secret" not in shown


@pytest.mark.parametrize("kind", ["429", "502", "503", "504", "reset"])
def test_transient_faults_are_transient(client, fake, kind):
    fake.fail_next(kind)
    with pytest.raises(ScannerError) as e:
        client.list_managed()
    assert e.value.transient


def test_a_held_response_is_a_transient_timeout(fake, credentials, scanner_config):
    c = InsightVMClient(scanner_config(fake.url, fake.ca_bundle, timeout_s=0.3))
    fake.fail_next("timeout")
    with pytest.raises(ScannerError, match="timed out") as e:
        c.list_managed()
    assert e.value.transient


def test_429_carries_retry_after(client, fake):
    fake.retry_after = 7
    fake.fail_next("429")
    with pytest.raises(ScannerError) as e:
        client.list_managed()
    assert e.value.retry_after == 7


def test_500_is_not_transient(client, fake):
    fake.fail_next("500")
    with pytest.raises(ScannerError) as e:
        client.list_managed()
    assert e.value.status == 500 and not e.value.transient


def test_an_unreachable_console_is_transient(fake, credentials, scanner_config):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    c = InsightVMClient(scanner_config(f"https://127.0.0.1:{port}", fake.ca_bundle))
    with pytest.raises(ScannerError, match="cannot reach") as e:
        c.list_managed()
    assert e.value.transient


def test_the_client_does_not_retry(client, fake):
    fake.fail_next("503")
    with pytest.raises(ScannerError):
        client.list_managed()
    assert len(fake.requests) == 1
