"""Workspace loading: every problem at once, each with file, line and field."""

from __future__ import annotations

import subprocess
import sys
from datetime import date

import pytest

from scanguard.errors import WorkspaceError
from scanguard.workspace import check_workspace, load_workspace
from tests.helpers import make_workspace

THREE_ERRORS = """
id: pos-terminal
name: Payment terminal
colour: blue
location:
  cidrs: [10.20.50.0/33]
constraints:
  excluded_ports:
    - ports: 70000/tcp
      reason: crashes
"""


def _problems(tmp_path, profiles, **kw):
    make_workspace(tmp_path, profiles, **kw)
    ws, problems = check_workspace(tmp_path, today=date(2026, 11, 26))
    return ws, problems.items


def test_a_profile_with_three_errors_reports_three_errors_with_lines(tmp_path):
    ws, problems = _problems(tmp_path, {"pos.yaml": THREE_ERRORS})
    assert ws is None
    errors = sorted((p.line, p.field) for p in problems if p.severity == "error")
    assert errors == [(3, "colour"), (5, "location.cidrs"), (8, "constraints.excluded_ports[0].ports")]
    assert all(p.file == "profiles/pos.yaml" for p in problems)


def test_cli_prints_three_errors_exit_2_and_no_traceback(tmp_path):
    make_workspace(tmp_path, {"pos.yaml": THREE_ERRORS})
    proc = subprocess.run([sys.executable, "-m", "scanguard", "validate", "--workspace", str(tmp_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("error profiles/pos.yaml:")]
    assert len(lines) == 3, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_unknown_time_zone_is_named(tmp_path):
    _, problems = _problems(tmp_path, {"p.yaml": """
        id: p
        name: P
        constraints:
          windows:
            reason: night only
            allowed:
              - {days: [mon], start: "01:00", end: "02:00", tz: Mars/Olympus}
        """})
    (p,) = problems
    assert "Mars/Olympus" in p.message and p.line == 7


def test_never_without_risk_acceptance_is_an_error(tmp_path):
    _, problems = _problems(tmp_path, {"m.yaml": "id: m\nname: Monitor\nlocation: {hosts: [10.0.0.9]}\npolicy: never\n"})
    assert any("risk_acceptance" in p.message for p in problems)


def test_expired_risk_acceptance_is_a_warning_not_an_error(tmp_path):
    ws, problems = _problems(tmp_path, {"m.yaml": """
        id: m
        name: Monitor
        location: {hosts: [10.0.0.9]}
        policy: never
        risk_acceptance:
          accepted_by: CMIO
          accepted_on: 2024-01-01
          expires: 2025-01-01
          reason: restart risk
          compensating_controls: [isolated VLAN]
        """})
    assert ws is not None
    (p,) = problems
    assert p.severity == "warning" and "expired on 2025-01-01" in p.message


def test_duplicate_profile_ids_name_both_files(tmp_path):
    _, problems = _problems(tmp_path, {"a.yaml": "id: same\nname: A\n", "b.yaml": "id: same\nname: B\n"})
    (p,) = problems
    assert p.file == "profiles/b.yaml" and "profiles/a.yaml" in p.message


def test_bad_range_and_bad_host_are_named(tmp_path):
    _, problems = _problems(tmp_path, {"a.yaml": """
        id: a
        name: A
        location:
          hosts: [10.0.0.300]
          ranges: [10.0.0.9-10.0.0.1]
        """})
    assert sorted(p.field for p in problems) == ["location.hosts", "location.ranges"]


def test_invalid_yaml_names_the_line(tmp_path):
    _, problems = _problems(tmp_path, {"a.yaml": "id: a\nname: [unclosed\n"})
    (p,) = problems
    assert p.file == "profiles/a.yaml" and p.line is not None and "invalid YAML" in p.message


def test_duplicate_yaml_key_is_an_error(tmp_path):
    _, problems = _problems(tmp_path, {"a.yaml": "id: a\nname: A\nname: B\n"})
    (p,) = problems
    assert p.line == 3 and "duplicate key" in p.message


def test_unknown_check_category_lists_the_known_ones(tmp_path):
    _, problems = _problems(tmp_path, {"a.yaml": """
        id: a
        name: A
        constraints:
          excluded_checks:
            - categories: [dosss]
              reason: typo
        """})
    (p,) = problems
    assert "dosss" in p.message and "brute-force" in p.message


def test_credentials_must_name_an_environment_variable_never_hold_a_secret(tmp_path):
    toml = """
    [scanners.n]
    type = "nessus"
    url = "https://127.0.0.1:8834"
    credentials = { access_key = "abc123-not an env name!" }
    """
    _, problems = _problems(tmp_path, {}, toml=toml)
    (p,) = problems
    assert p.file == "scanguard.toml" and p.line == 5 and "environment variable" in p.message
    assert "abc123" not in p.message


def test_every_problem_in_every_file_is_reported_at_once(tmp_path):
    with pytest.raises(WorkspaceError) as e:
        make_workspace(tmp_path, {"a.yaml": "id: A-bad\nname: x\n", "b.yaml": "id: b\n"})
        load_workspace(tmp_path)
    files = {p.file for p in e.value.problems}
    assert files == {"profiles/a.yaml", "profiles/b.yaml"}


def test_example_workspace_is_valid(example_workspace):
    ws = load_workspace(example_workspace)
    assert len(ws.profiles) >= 8


def test_a_relative_ca_bundle_is_read_from_the_workspace_and_a_missing_one_is_a_warning(tmp_path):
    toml = """
    [scanners.n]
    type = "nessus"
    url = "https://127.0.0.1:8834"
    tls = { ca_bundle = "certs/ca.pem" }
    """
    ws, problems = _problems(tmp_path, {}, toml=toml)
    (p,) = problems
    assert p.severity == "warning" and p.line == 5 and str(tmp_path / "certs" / "ca.pem") in p.message
    assert ws.config.scanners["n"].tls.ca_bundle == tmp_path.resolve() / "certs" / "ca.pem"


@pytest.mark.parametrize("policy", ["never", "restricted"])
def test_a_never_or_restricted_profile_without_an_address_is_refused_with_its_line(tmp_path, policy):
    _, problems = _problems(tmp_path, {"m.yaml": f"""
        id: m
        name: Monitor
        location:
          asset_tags: [icu-monitors]
        policy: {policy}
        risk_acceptance: {{accepted_by: CMIO, accepted_on: 2026-01-01, expires: 2030-01-01, reason: r,
                           compensating_controls: [ACL-1]}}
        """})
    (p,) = [p for p in problems if p.severity == "error"]
    assert (p.file, p.line, p.field) == ("profiles/m.yaml", 5, "policy")
    assert "needs the device's addresses" in p.message and "asset tags" in p.message


def test_a_scan_profile_without_an_address_is_accepted(tmp_path):
    ws, problems = _problems(tmp_path, {"m.yaml": "id: m\nname: Monitor\nlocation: {asset_tags: [icu]}\n"})
    assert ws is not None and not problems


def test_validate_refuses_an_addressless_never_profile_with_exit_2_and_no_traceback(tmp_path):
    make_workspace(tmp_path, {"m.yaml": "id: m\nname: M\npolicy: restricted\n"})
    proc = subprocess.run([sys.executable, "-m", "scanguard", "validate", "--workspace", str(tmp_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "profiles/m.yaml:3: policy:" in proc.stderr
