"""The GVM client against the fake gvmd, through python-gvm over TLS."""

from __future__ import annotations

import ipaddress
import logging
from contextlib import contextmanager

import pytest
import trustme
from scanguard import (
    AddressSet,
    PortSet,
    ScannerConfig,
    ScannerError,
    Targets,
    compile_plan,
    load_workspace,
    managed_marker,
    parse_marker,
    payload_hash,
    VendorCheck,
    violations,
)
from gvm.connections import TLSConnection
from gvm.errors import GvmError, GvmResponseError
from gvm.protocols.gmp import Gmp
from gvm.transforms import EtreeCheckCommandTransform
import scanguard_gvm.client
from scanguard_gvm.connection import open_connection
from scanguard_gvm.document import parse, render
from scanguard_gvm.plugin import VENDOR
from scanguard_testbed_scanners.gvm import FakeGvmd, expand

DOS_OID = "1.3.6.1.4.1.25623.1.0.11062"  # BadBlue invalid GET DoS
DEFAULT_ACCOUNT_OIDS = ("1.3.6.1.4.1.25623.1.0.10753", "1.3.6.1.4.1.25623.1.0.10995")
TIMEOUT_S = 60


@pytest.fixture
def fake():
    # clients meet a timeout fault at once and wait for nothing else (their timeout is generous)
    with FakeGvmd(timeout_sleep=TIMEOUT_S) as f, f.timed_clients(scanguard_gvm.client):
        yield f


def _config(fake, monkeypatch, **extra) -> ScannerConfig:
    monkeypatch.setenv("GVM_TEST_USER", fake.username)
    monkeypatch.setenv("GVM_TEST_PASSWORD", fake.password)
    return ScannerConfig(name="openvas-lab", type="gvm", url=f"https://{fake.host}:{fake.port}",
                         credentials={"username": "GVM_TEST_USER", "password": "GVM_TEST_PASSWORD"},
                         tls={"ca_bundle": fake.ca_bundle}, timeout_s=TIMEOUT_S, **extra)


@pytest.fixture
def client(fake, monkeypatch):
    return VENDOR.client(_config(fake, monkeypatch))


@pytest.fixture(scope="module")
def plan(example_workspace):
    return compile_plan(load_workspace(example_workspace))


def push(client, ct) -> tuple[str, dict]:
    doc = render(ct)
    return client.create(ct.name, doc, managed_marker(ct.name, payload_hash(doc))), doc


def ours(objects: dict) -> list:
    """The objects scanguard made (not the feed's Full and fast, Empty, All IANA assigned TCP)."""
    return [o for o in objects.values() if not getattr(o, "feed", False)]


def test_pushed_template_reads_back_with_its_rendered_hash(client, plan):
    rid, doc = push(client, plan.get("full-audit@payment-terminals"))
    obj = client.read(rid)
    assert payload_hash(obj.payload) == payload_hash(doc) == obj.marker_hash


def test_pushed_port_list_leaves_out_7100(fake, client, plan):
    push(client, plan.get("full-audit@payment-terminals"))
    (pl,) = ours(fake.state.port_lists)
    assert not any(r["type"] == "tcp" and r["start"] <= 7100 <= r["end"] for r in pl.ranges)


def test_pushed_target_uses_the_port_list_and_excludes_hosts(fake, client, plan):
    ct = plan.get("full-audit").model_copy(update={"targets": Targets(
        include=AddressSet.parse("10.30.8.0/24"), exclude=AddressSet.parse("10.30.8.21"))})
    push(client, ct)
    (tgt,) = fake.state.targets.values()
    assert tgt.port_list_id in fake.state.port_lists
    assert (tgt.hosts, tgt.exclude_hosts, tgt.max_hosts) == ("10.30.8.0-10.30.8.255", "10.30.8.21", 255)


def test_list_managed_reads_every_pushed_template(client, plan):
    names = ["full-audit@payment-terminals", "discovery@hvac"]
    for n in names:
        push(client, plan.get(n))
    listed = {o.name: o for o in client.list_managed()}
    assert sorted(listed) == sorted(names)
    assert all(o.managed and payload_hash(o.payload) == o.marker_hash for o in listed.values())


def test_reading_again_writes_nothing_and_gives_the_same_hash(fake, client, plan):
    rid, doc = push(client, plan.get("full-audit@energy-plcs"))
    writes = len(fake.writes())
    hashes = {payload_hash(o.payload) for o in (client.read(rid), client.list_managed()[0])}
    assert hashes == {payload_hash(doc)} and len(fake.writes()) == writes


def test_console_edit_adding_7100_back_is_visible(fake, client, plan):
    ct = plan.get("full-audit@payment-terminals")
    rid, doc = push(client, ct)
    (pl,) = ours(fake.state.port_lists)
    fake.edit("port_list", pl.id, add_range=("tcp", 7100, 7100))
    obj = client.read(rid)
    assert payload_hash(obj.payload) != obj.marker_hash
    assert [v.kind for v in violations(parse(obj.payload), ct.constraints, vendor="gvm")] == ["excluded_ports"]


def test_console_edit_turning_safe_checks_off_is_visible(fake, client, plan):
    ct = plan.get("fragile-safe@energy-plcs")
    rid, _ = push(client, ct)
    fake.edit("config", rid, scanner_preferences={"safe_checks": "no"})
    obj = client.read(rid)
    assert payload_hash(obj.payload) != obj.marker_hash
    assert parse(obj.payload).checks.safe_only is False


def test_a_config_in_use_cannot_be_edited_in_place(fake, client, plan):
    rid, _ = push(client, plan.get("full-audit@payment-terminals"))
    with client._session() as gmp, pytest.raises(Exception, match="Config is in use"):
        gmp.modify_scan_config_set_scanner_preference(rid, "safe_checks", value="no")


def test_update_creates_a_new_version_and_repoints_the_task(fake, client, plan):
    ct = plan.get("full-audit@payment-terminals")
    rid, doc = push(client, ct)
    fake.edit("config", rid, scanner_preferences={"safe_checks": "no"})
    new_id = client.update(rid, ct.name, doc, managed_marker(ct.name, payload_hash(doc)))
    (task,) = fake.state.tasks.values()
    assert new_id != rid and task.config_id == new_id and rid not in fake.state.configs
    assert payload_hash(client.read(new_id).payload) == payload_hash(doc)


def test_update_leaves_one_version_of_each_object(fake, client, plan):
    ct = plan.get("discovery@hvac")
    rid, doc = push(client, ct)
    client.update(rid, ct.name, doc, managed_marker(ct.name, payload_hash(doc)))
    assert (len(ours(fake.state.configs)), len(fake.state.targets), len(ours(fake.state.port_lists))) == (1, 1, 1)


def test_delete_removes_every_object_of_the_template(fake, client, plan):
    rid, _ = push(client, plan.get("discovery@hvac"))
    client.delete(rid)
    assert (ours(fake.state.configs), fake.state.tasks, fake.state.targets, ours(fake.state.port_lists)) == (
        [], {}, {}, [])


def test_excluded_nvt_selects_every_other_nvt_of_its_family(fake, client, plan):
    ct = plan.get("full-audit@hvac")
    t = ct.template.model_copy(update={"checks": ct.template.checks.model_copy(
        update={"excluded_vendor_checks": frozenset(ct.template.checks.excluded_vendor_checks) | {
            VendorCheck(vendor="gvm", kind="oid", id=DEFAULT_ACCOUNT_OIDS[0])}})})
    rid, doc = push(client, ct.model_copy(update={"template": t}))
    cfg = fake.state.configs[rid]
    assert DEFAULT_ACCOUNT_OIDS[0] not in cfg.selected and DEFAULT_ACCOUNT_OIDS[1] in cfg.selected
    assert client.read(rid).payload["scan_config"]["nvt_selection"] == {"excluded": [DEFAULT_ACCOUNT_OIDS[0]]}


def test_excluded_category_switches_its_family_off(fake, client, plan):
    rid, _ = push(client, plan.get("full-audit@hvac"))
    assert DOS_OID not in fake.state.configs[rid].selected


def test_template_without_targets_pushes_config_and_port_list_only(fake, client, plan):
    ct = plan.get("full-audit").model_copy(update={"targets": Targets()})
    rid, doc = push(client, ct)
    assert (fake.state.targets, fake.state.tasks, len(ours(fake.state.port_lists))) == ({}, {}, 1)
    assert payload_hash(client.read(rid).payload) == payload_hash(doc)


def test_template_without_targets_uses_the_scanners_targets(fake, monkeypatch, plan):
    client = VENDOR.client(_config(fake, monkeypatch, targets=["10.99.0.0/24"]))
    ct = plan.get("full-audit").model_copy(update={"targets": Targets()})
    rid, doc = push(client, ct)
    (tgt,) = fake.state.targets.values()
    assert tgt.hosts == "10.99.0.0-10.99.0.255" and payload_hash(client.read(rid).payload) == payload_hash(doc)


def test_template_without_ports_pushes_an_empty_port_list(fake, client, plan):
    ct = plan.get("discovery@hvac")
    ct = ct.model_copy(update={"template": ct.template.model_copy(update={"ports": PortSet()})})
    rid, doc = push(client, ct)
    (pl,) = ours(fake.state.port_lists)
    assert pl.ranges == [] and payload_hash(client.read(rid).payload) == payload_hash(doc)


def test_refused_credentials_name_the_scanner_and_never_the_password(fake, monkeypatch, caplog):
    config = _config(fake, monkeypatch)
    monkeypatch.setenv("GVM_TEST_PASSWORD", "wrong-secret-value")
    with caplog.at_level(logging.DEBUG), pytest.raises(ScannerError) as err:
        VENDOR.client(config).list_managed()
    assert "scanner openvas-lab: authentication failed" in str(err.value) and err.value.status == 400
    assert not err.value.transient
    assert "wrong-secret-value" not in str(err.value) + caplog.text + repr(err.value.__cause__)


def test_missing_credential_names_the_environment_variable(fake, monkeypatch):
    config = _config(fake, monkeypatch)
    monkeypatch.delenv("GVM_TEST_PASSWORD")
    with pytest.raises(ScannerError, match="GVM_TEST_PASSWORD"):
        VENDOR.client(config).list_managed()


@pytest.mark.parametrize("kind,says", [
    ("503", "503 Service temporarily down"),
    ("reset", "Remote closed the connection|cannot reach gvmd"),  # an RST read before or after the close
    ("timeout", f"gvmd did not answer within {TIMEOUT_S}s"),
])
def test_transient_faults_are_marked_transient(fake, client, kind, says):
    fake.fail_next(kind, command="get_configs")
    with pytest.raises(ScannerError, match=says) as err:
        client.list_managed()
    assert err.value.transient and "openvas-lab" in str(err.value)


def test_a_gvmd_that_never_answers_meets_the_socket_timeout(monkeypatch):
    # the real clock, no timed connection: the client's own socket timeout ends the wait
    with FakeGvmd(timeout_sleep=TIMEOUT_S) as f:
        f.fail_next("timeout", command="get_version")  # the first command of a session
        with pytest.raises(ScannerError) as err:
            VENDOR.client(_config(f, monkeypatch).model_copy(update={"timeout_s": 0.5})).list_managed()
    assert err.value.transient and "gvmd did not answer within 0.5s" in str(err.value)


def test_a_500_is_not_transient(fake, client):
    fake.fail_next("500", command="get_configs")
    with pytest.raises(ScannerError) as err:
        client.list_managed()
    assert not err.value.transient and err.value.status == 500


def test_unreachable_scanner_is_transient(monkeypatch):
    with FakeGvmd() as f:
        config = ScannerConfig.model_validate({**_config(f, monkeypatch).model_dump(), "tls": {"verify": False}})
    with pytest.raises(ScannerError) as err:
        VENDOR.client(config).list_managed()
    assert err.value.transient


def test_a_failed_create_leaves_nothing_behind(fake, client, plan):
    fake.fail_next("500", command="create_target")
    with pytest.raises(ScannerError):
        push(client, plan.get("discovery@hvac"))
    assert (ours(fake.state.configs), ours(fake.state.port_lists)) == ([], [])


def test_leftovers_of_an_interrupted_update_read_as_part_of_the_template_and_are_collected(fake, client, plan):
    ct = plan.get("discovery@hvac")
    rid, doc = push(client, ct)
    fake.fail_next("reset", command="modify_task")  # the new version is made, the task not repointed
    with pytest.raises(ScannerError):
        client.update(rid, ct.name, doc, managed_marker(ct.name, payload_hash(doc)))
    (half,) = [c.id for c in ours(fake.state.configs) if c.id != rid]
    (listed,) = client.list_managed()
    assert listed.remote_id == rid and f"scan config {half}" in " ".join(listed.payload["leftovers"])
    assert payload_hash(listed.payload) != listed.marker_hash  # not what was pushed: the sync restores it
    new_id = client.update(rid, ct.name, doc, managed_marker(ct.name, payload_hash(doc)))
    assert [c.id for c in ours(fake.state.configs)] == [new_id] and len(fake.state.targets) == 1
    assert payload_hash(client.read(new_id).payload) == payload_hash(doc)


def _update_losing_the_connection_while_naming_the_task(fake, client, ct, kind):
    """Push `ct`, edit its scan config in the console (safe checks off, as drift), then update it
    with the connection lost (`kind`: "reset" or "timeout") at the command that names the
    repointed task, the one after the repoint was read back. Returns (old id, marker, error)."""
    rid, doc = push(client, ct)
    marker = managed_marker(ct.name, payload_hash(doc))
    start = len(fake.requests)
    rid = client.update(rid, ct.name, doc, marker)  # a rehearsal: where the naming falls in an update
    naming = [i for i, (command, _) in enumerate(fake.requests[start:], 1) if command == "modify_task"][1]
    fake.edit("config", rid, scanner_preferences={"safe_checks": "no"}, families_on=["Denial of Service"])
    start = len(fake.requests)
    fake.fail_at(start + naming, kind)
    with pytest.raises(ScannerError) as err:
        client.update(rid, ct.name, doc, marker)
    assert fake.requests[start + naming - 1] == ("modify_task", 0)  # the fault met the naming
    return rid, marker, doc, err.value


def test_like_gvmd_the_fake_refuses_every_command_of_a_connection_python_gvm_opened_again(fake):
    conn = TLSConnection(hostname=fake.host, port=fake.port, timeout=TIMEOUT_S, cafile=fake.ca_bundle)
    with Gmp(fake.timed(conn), transform=EtreeCheckCommandTransform()) as gmp:
        gmp.authenticate(fake.username, fake.password)
        fake.fail_next("reset", command="get_tasks")
        with pytest.raises(GvmError):
            gmp.get_tasks()
        with pytest.raises(GvmResponseError, match="allowed before AUTHENTICATE") as err:
            gmp.get_tasks()  # python-gvm connected again, and did not authenticate
    assert str(err.value.status) == "400" and fake.requests[-1] == ("get_tasks", 400)


@pytest.mark.parametrize("kind", ["reset", "timeout"])
def test_a_connection_lost_once_the_task_is_repointed_is_transient_and_the_retry_retires_the_edited_version(
        fake, client, plan, kind):
    # python-gvm reopens a lost connection by itself, unauthenticated: gvmd would refuse every later
    # command, which must not read as a refusal no retry can fix
    ct = plan.get("full-audit@payment-terminals")
    old, marker, doc, err = _update_losing_the_connection_while_naming_the_task(fake, client, ct, kind)
    assert err.transient and "refused" not in str(err)
    assert fake.requests[-1] == ("modify_task", 0)  # nothing sent after: the session was over
    new_id = client.update(old, ct.name, doc, marker)  # the sync's retry
    assert [c.id for c in ours(fake.state.configs)] == [new_id]
    assert {p.id for p in ours(fake.state.port_lists)} == {t.port_list_id for t in fake.state.targets.values()}
    (task,) = fake.state.tasks.values()
    assert (task.config_id, task.name, task.comment) == (new_id, ct.name, marker)
    assert payload_hash(client.read(new_id).payload) == payload_hash(doc)


def test_an_edited_version_left_behind_reads_with_the_template_so_the_next_sync_restores_it(fake, client, plan):
    # the update was not retried: the edited old version (safe checks off) stays, no task uses it
    ct = plan.get("full-audit@payment-terminals")
    old, marker, doc, _ = _update_losing_the_connection_while_naming_the_task(fake, client, ct, "reset")
    (listed,) = client.list_managed()
    assert listed.remote_id != old and listed.marker_hash == payload_hash(doc)
    assert any(left.startswith(f"scan config {old} ") for left in listed.payload["leftovers"])
    assert payload_hash(client.read(listed.remote_id).payload) == payload_hash(listed.payload)
    assert payload_hash(listed.payload) != listed.marker_hash  # drift: the sync restores it
    new_id = client.update(listed.remote_id, ct.name, doc, marker)  # the restore
    assert [c.id for c in ours(fake.state.configs)] == [new_id] and len(fake.state.targets) == 1
    assert payload_hash(client.read(new_id).payload) == payload_hash(doc)


def test_tls_is_verified_against_the_ca_bundle(fake, monkeypatch, tmp_path):
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    config = _config(fake, monkeypatch)
    config = ScannerConfig.model_validate({**config.model_dump(), "tls": {"ca_bundle": str(other)}})
    with pytest.raises(ScannerError, match="certificate verification failed") as err:
        VENDOR.client(config).list_managed()
    assert not err.value.transient


def test_unverified_tls_only_when_written_down(fake, monkeypatch):
    config = _config(fake, monkeypatch)
    config = ScannerConfig.model_validate({**config.model_dump(), "tls": {"verify": False}})
    assert VENDOR.client(config).list_managed() == []


def test_a_unix_socket_is_used_when_configured(tmp_path):
    conn = open_connection(ScannerConfig(name="local", type="gvm", socket=tmp_path / "gvmd.sock"))
    assert type(conn).__name__ == "UnixSocketConnection" and conn.path == str(tmp_path / "gvmd.sock")


# -- what the real gvmd showed (issue 16) and what the plugin never does (issue 9) ----------------
OPENVAS_DEFAULT = "08b69003-5fc2-4037-a479-93b440211c73"
PORT_SCANNER_FAMILY = {"1.3.6.1.4.1.25623.1.0.100315", "1.3.6.1.4.1.25623.1.0.14259", "1.3.6.1.4.1.25623.1.0.10335"}


@contextmanager
def admin(fake):
    """A GMP session of an admin working on the scanner by hand (python-gvm, like GSA would)."""
    conn = TLSConnection(hostname=fake.host, port=fake.port, timeout=5, cafile=fake.ca_bundle)
    with Gmp(conn, transform=EtreeCheckCommandTransform()) as gmp:
        gmp.authenticate(fake.username, fake.password)
        yield gmp


def gvmd_addresses(text: str) -> set[int]:
    """The addresses a host list names, read with gvm-libs' rules (the fake's own reader)."""
    out: set[int] = set()
    for item in (i for i in text.split(", ") if i):
        fam, lo, hi = expand(item)
        out |= set(range(lo, hi + 1))
    return out


def update(client, rid, ct):
    doc = render(ct)
    return client.update(rid, ct.name, doc, managed_marker(ct.name, payload_hash(doc))), doc


def wide(plan, cidr="10.40.0.0/18", exclude="10.40.0.0/28,10.40.10.0/24,10.40.20.11-12,10.40.30.0/28"):
    return plan.get("fragile-safe").model_copy(update={"targets": Targets(
        include=AddressSet.parse(cidr), exclude=AddressSet.parse(exclude))})


def test_a_template_larger_than_gvmds_limit_is_split_into_targets_covering_it_exactly(fake, client, plan):
    ct = wide(plan)
    rid, doc = push(client, ct)
    targets = list(fake.state.targets.values())
    assert len(targets) == 4 and all(t.max_hosts <= 4095 for t in targets)  # 16384 addresses, 290 excluded
    scanned = set().union(*(gvmd_addresses(t.hosts) - gvmd_addresses(t.exclude_hosts) for t in targets))
    wanted = ct.targets.include - ct.targets.exclude
    assert scanned == set(range(wanted.v4.intervals[0][0], wanted.v4.intervals[-1][1] + 1)) - {
        a for lo, hi in (ct.targets.exclude & ct.targets.include).v4.intervals for a in range(lo, hi + 1)}
    tasks = list(fake.state.tasks.values())
    assert sorted(t.target_id for t in tasks) == sorted(t.id for t in targets) and {t.config_id for t in tasks} == {rid}


def test_a_split_template_reads_back_as_one_and_a_second_read_writes_nothing(fake, client, plan):
    rid, doc = push(client, wide(plan))
    writes = len(fake.writes())
    (listed,) = client.list_managed()
    assert listed.remote_id == rid and payload_hash(listed.payload) == payload_hash(doc) == listed.marker_hash
    assert len(fake.writes()) == writes


def test_a_split_template_with_one_part_edited_is_drift(fake, client, plan):
    ct = wide(plan)
    rid, doc = push(client, ct)
    part = next(iter(fake.state.tasks.values()))
    with admin(fake) as gmp:
        gmp.modify_task(part.id, preferences={"max_checks": "50"})
    obj = client.read(rid)
    assert payload_hash(obj.payload) != obj.marker_hash
    assert parse(obj.payload).performance.parallel_checks_per_host == 50  # the least safe part counts


def test_the_limit_per_target_is_set_per_scanner(fake, monkeypatch, plan):
    fake.max_ips_per_target = 70000
    client = VENDOR.client(_config(fake, monkeypatch, options={"max_ips_per_target": 70000}))
    push(client, wide(plan))
    assert len(fake.state.targets) == 1


@pytest.mark.parametrize("limit", [0, 70001, "4095", True])
def test_a_limit_gvmd_cannot_have_is_refused_naming_the_option(fake, monkeypatch, limit):
    with pytest.raises(ScannerError, match="options.max_ips_per_target"):
        VENDOR.client(_config(fake, monkeypatch, options={"max_ips_per_target": limit}))


def test_an_exclusion_is_exact_on_gvmd_not_a_cidr_that_leaves_two_addresses(fake, client, plan):
    # gvmd reads 10.40.30.0/28 as .1 to .14: the profile's .0 and .15 would stay scannable
    ct = plan.get("fragile-safe").model_copy(update={"targets": Targets(
        include=AddressSet.parse("10.40.30.0/24"), exclude=AddressSet.parse("10.40.30.0/28"))})
    push(client, ct)
    (tgt,) = fake.state.targets.values()
    first = int(ipaddress.IPv4Address("10.40.30.0"))
    assert {first, first + 15} <= gvmd_addresses(tgt.exclude_hosts)


def test_retiring_a_port_list_an_admins_target_holds_keeps_its_name(fake, client, plan):
    ct = plan.get("discovery@hvac")
    rid, doc = push(client, ct)
    (pl,) = ours(fake.state.port_lists)
    with admin(fake) as gmp:
        gmp.create_target("admin's own", hosts=["192.0.2.1"], port_list_id=pl.id)
    update(client, rid, ct)
    assert pl.id in fake.state.port_lists and fake.state.port_lists[pl.id].name.startswith("discovery@hvac [")
    assert parse_marker(fake.state.port_lists[pl.id].comment) is None


def test_a_failure_once_the_new_version_is_in_force_still_retires_the_old_one(fake, client, plan):
    ct = plan.get("full-audit@payment-terminals")
    rid, doc = push(client, ct)
    marker = managed_marker(ct.name, payload_hash(doc))
    before = len(fake.requests)
    first = client.update(rid, ct.name, doc, marker)
    sent = [cmd for cmd, _ in fake.requests[before:]]
    naming = [i for i, cmd in enumerate(sent, 1) if cmd == "modify_task"][1]  # the first one repoints the task
    fake.edit("config", first, scanner_preferences={"safe_checks": "no"})  # the version in force, edited
    fake.fail_at(len(fake.requests) + naming, "500")
    with pytest.raises(ScannerError, match="500"):
        client.update(first, ct.name, doc, marker)
    (task,) = fake.state.tasks.values()
    (config,) = ours(fake.state.configs)  # the edited version did not stay behind, its task gone
    assert task.config_id == config.id != first and payload_hash(client.read(config.id).payload) == payload_hash(doc)


def test_a_port_list_edited_in_use_is_restored_by_a_new_version_never_in_place(fake, client, plan):
    ct = plan.get("full-audit@payment-terminals")
    rid, doc = push(client, ct)
    (pl,) = ours(fake.state.port_lists)
    with admin(fake) as gmp:  # gvmd lets a range of a port list in use go
        gmp.delete_port_range(pl.ranges[0]["id"])
    assert payload_hash(client.read(rid).payload) != payload_hash(doc)
    before = len(fake.requests)
    new_id, _ = update(client, rid, ct)
    sent = [cmd for cmd, _ in fake.requests[before:]]
    assert "delete_port_range" not in sent and "create_port_range" not in sent
    assert pl.id not in fake.state.port_lists and payload_hash(client.read(new_id).payload) == payload_hash(doc)


def test_a_task_that_has_run_and_is_not_alterable_is_reported_before_anything_is_written(fake, client, plan):
    ct = plan.get("discovery@hvac")
    rid, doc = push(client, ct)
    (task,) = fake.state.tasks.values()
    with admin(fake) as gmp:
        gmp.modify_task(task.id, alterable=False)
        gmp.start_task(task.id)
    writes, comment = len(fake.writes()), task.comment
    with pytest.raises(ScannerError, match="not alterable.*nothing was changed"):
        update(client, rid, ct)
    assert len(fake.writes()) == writes and (task.config_id, task.comment) == (rid, comment)


def test_a_repoint_gvmd_ignores_is_caught_by_reading_the_task_back_and_undone(fake, client, plan):
    ct = plan.get("discovery@hvac")
    rid, doc = push(client, ct)
    fake.ignore_task_repoints = True
    with pytest.raises(ScannerError, match="still uses scan config"):
        update(client, rid, ct)
    (task,) = fake.state.tasks.values()
    assert task.config_id == rid and [c.id for c in ours(fake.state.configs)] == [rid]


def test_an_admins_task_using_a_managed_config_is_reported_and_never_repointed(fake, client, plan):
    ct = plan.get("discovery@hvac")
    rid, doc = push(client, ct)
    with admin(fake) as gmp:
        pl = gmp.create_port_list("admin's", "T:22").get("id")
        tgt = gmp.create_target("admin's", hosts=["192.0.2.1"], port_list_id=pl).get("id")
        theirs = gmp.create_task("admin's scan", rid, tgt, OPENVAS_DEFAULT).get("id")
    with pytest.raises(ScannerError, match="admin's scan"):
        update(client, rid, ct)
    assert fake.state.tasks[theirs].config_id == rid
    assert parse_marker(fake.state.configs[rid].comment) is not None  # kept, still managed, never unmarked
    ours_task = next(t for t in fake.state.tasks.values() if t.id != theirs)
    assert ours_task.config_id != rid


def test_the_old_version_an_admins_task_holds_is_listed_and_its_deletion_refused(fake, client, plan):
    ct = plan.get("discovery@hvac")
    rid, doc = push(client, ct)
    with admin(fake) as gmp:
        tgt = gmp.create_target("admin's", hosts=["192.0.2.1"], port_range="T:22").get("id")
        gmp.create_task("admin's scan", rid, tgt, OPENVAS_DEFAULT)
    with pytest.raises(ScannerError):
        update(client, rid, ct)
    assert rid in [o.remote_id for o in client.list_managed()]
    with pytest.raises(ScannerError, match="admin's scan.*not deleted"):
        client.delete(rid)
    assert rid in fake.state.configs


def test_only_ping_host_and_the_nmap_wrapper_are_selected_of_the_port_scanners(fake, client, plan):
    rid, _ = push(client, plan.get("fragile-safe@energy-plcs"))
    assert fake.state.configs[rid].selected & PORT_SCANNER_FAMILY == {
        "1.3.6.1.4.1.25623.1.0.100315", "1.3.6.1.4.1.25623.1.0.14259"}


def test_the_openvas_tcp_scanner_switched_on_by_hand_reads_as_unthrottled(fake, client, plan):
    ct = plan.get("fragile-safe@energy-plcs")
    rid, _ = push(client, ct)
    fake.edit("config", rid, select=["1.3.6.1.4.1.25623.1.0.10335"])
    bad = violations(parse(client.read(rid).payload), ct.constraints, vendor="gvm")
    assert "rate" in [v.kind for v in bad]


def test_the_scanners_own_alive_test_probes_only_the_allowed_ping_ports(fake, client, plan):
    # the OT switches exclude 443; the scanner's alive test probes 443 unless told otherwise
    ct = plan.get("discovery@ot-network")
    rid, doc = push(client, ct)
    back = client.read(rid).payload
    assert back["scan_config"]["scanner_preferences"]["alive_test_ports"] == "22,80"
    assert violations(parse(back), ct.constraints, vendor="gvm") == []


def test_without_a_feed_nothing_is_pushed_and_the_error_says_why(monkeypatch, plan):
    with FakeGvmd(feed=False) as fake:
        client = VENDOR.client(_config(fake, monkeypatch))
        with pytest.raises(ScannerError, match="no NVT feed.*503") as err:
            push(client, plan.get("discovery@hvac"))
        assert not err.value.transient and fake.writes() == []
