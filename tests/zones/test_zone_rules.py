"""The rules of zones that need no broker: the inventory's zone and broker keys, the task document (no
command strings), the worker's allow-list, and the shipped records' hashes and size cap."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime

import pytest

from auditor.clock import FixedClock
from auditor.collectors.system import UNAME, USER_ID
from auditor.errors import InputError
from auditor.files import dump_json
from auditor.inventory import load_broker, load_inventory, target_from_mapping, target_mapping
from auditor.models import Target, TargetKind
from auditor.pipeline import load_checks
from auditor.plan import Selection, plan_target
from auditor.profile import load_profile
from auditor.transports.base import CommandResult
from auditor.zones.allow import AllowList
from auditor.zones.app import BrokerSettings
from auditor.zones.collect import collect_view
from auditor.zones.task import read_task, task_document
from auditor.zones.wire import PayloadError, pack, unpack
from tests.auditor.fake_host import FakeHost
from tests.conftest import run_cli

RECORD = dump_json({"kind": "command", "target": "web-01", "source": "uname -a", "stdout": "Linux\n",
                    "collected_at": "2026-11-26T09:00:00Z"})


def test_a_zone_is_read_from_the_inventory_and_a_bad_one_is_one_line(tmp_path):
    # Given an inventory with a zoned target and a broker
    good = tmp_path / "fleet.yaml"
    good.write_text("broker: rediss://scanner.example:6380/0\ntargets:\n"
                    "  - {name: web-01, kind: ssh, host: 10.40.0.5, zone: dmz}\n  - {name: laptop, kind: local}\n")
    # Then the zone is the target's, the broker the inventory's
    web, laptop = load_inventory(good)
    assert web.options["zone"] == "dmz" and "zone" not in laptop.options
    assert load_broker(good) == "rediss://scanner.example:6380/0"
    # And a zone that cannot be a queue name is refused with where and how to fix it
    bad = tmp_path / "bad.yaml"
    bad.write_text("targets:\n  - {name: web-01, kind: ssh, host: 10.40.0.5, zone: 'DMZ zone'}\n")
    with pytest.raises(InputError) as caught:
        load_inventory(bad)
    assert str(caught.value).startswith(f"{bad}:2:") and "zone" in str(caught.value) and "\n" not in str(caught.value)
    # And a broker that is no Redis URL too
    bad.write_text("broker: http://x\ntargets:\n  - {name: laptop, kind: local}\n")
    with pytest.raises(InputError, match="redis:// or rediss://"):
        load_broker(bad)


def test_a_zoned_target_without_a_broker_is_a_usage_error(tmp_path):
    inventory = tmp_path / "fleet.yaml"
    inventory.write_text("targets:\n  - {name: web-01, kind: ssh, host: 10.40.0.5, zone: dmz}\n")
    done = run_cli("scan", "--inventory", str(inventory), "--no-history", "--no-sign", "--out", str(tmp_path / "r"))
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "zone 'dmz' but no broker" in done.stderr


def test_a_task_names_collectors_never_commands_and_the_worker_rechecks_the_target():
    # Given the plan of an SSH target
    profile = load_profile(None)
    target = Target("web-01", TargetKind.SSH, options={"host": "10.40.0.5", "identity_file": "/keys/id",
                                                        "passphrase_env": "KEY_PASS", "zone": "dmz"})
    plan = plan_target(target, profile.effective_checks(load_checks(profile)), profile, Selection())
    doc = json.loads(json.dumps(task_document("run-1", plan, profile)))
    # Then the task holds the target as the inventory names it (the key's path and variable, not the secrets)
    assert target_from_mapping(doc["target"], "task") == target
    assert doc["target"]["passphrase_env"] == "KEY_PASS"
    # And which collectors run under which rule, but no command line at all
    assert "argv" not in json.dumps(doc) and "sshd -T" not in json.dumps(doc)
    worker_plan, _ = read_task(doc, "task")
    assert [s.facts for s in worker_plan.checks] == [s.facts for s in plan.checks] and worker_plan.login
    # And a task whose target breaks the inventory's rules, or names an unknown collector, is refused
    with pytest.raises(InputError, match="password"):
        read_task({**doc, "target": {**doc["target"], "password": "x"}}, "task")
    with pytest.raises(InputError, match="unknown collector 'rootkit'"):
        read_task({**doc, "needs": [{"check": "X", "facts": ["rootkit"], "platforms": [], "requires_root": False}]},
                  "task")
    assert target_mapping(target)["zone"] == "dmz"


def test_the_allow_list_admits_its_networks_and_names_only():
    allow = AllowList.parse(["10.40.0.0/16", "db-*"])
    assert allow.refusal(Target("web", TargetKind.SSH, options={"host": "10.40.3.4"})) == ""
    assert allow.refusal(Target("db-07", TargetKind.SSH, options={"host": "192.0.2.1"})) == ""
    refused = allow.refusal(Target("web", TargetKind.SSH, options={"host": "10.41.0.1"}))
    assert "'web' (10.41.0.1) is not in this worker's allow-list" in refused
    assert allow.refusal(Target("laptop", TargetKind.LOCAL)) != ""
    with pytest.raises(InputError, match="needs an allow-list"):
        AllowList.parse([])
    with pytest.raises(InputError, match="not a network"):
        AllowList.parse(["10.40.0.0/33"])


def test_shipped_records_are_verified_and_capped():
    # Given a packed record
    text = pack([RECORD], cap=10_000)
    assert unpack(text, cap=10_000) == [(RECORD, json.loads(RECORD))]
    # Then a record changed on the way does not match its hash and is refused
    import base64
    import zlib
    listed = json.loads(zlib.decompress(base64.b64decode(text)))
    listed[0]["record"] = listed[0]["record"].replace("Linux", "Hacked")
    forged = base64.b64encode(zlib.compress(json.dumps(listed).encode())).decode()
    with pytest.raises(PayloadError, match="SHA-256"):
        unpack(forged, cap=10_000)
    # And evidence over the cap is refused on both sides with what to do
    with pytest.raises(PayloadError, match="over the broker cap of 10 bytes; raise --max-payload"):
        pack([RECORD], cap=10)
    with pytest.raises(PayloadError, match="at most 10 bytes"):
        unpack(text, cap=10)


def test_the_broker_password_is_put_in_the_url_only_when_given_apart():
    assert BrokerSettings("redis://h:6379/0", "s3cret").full_url() == "redis://:s3cret@h:6379/0"
    assert BrokerSettings("rediss://:inline@h:6380/0", "other").full_url() == "rediss://:inline@h:6380/0"
    with pytest.raises(InputError, match="redis:// or rediss://"):
        BrokerSettings("amqp://h").full_url()


def test_the_worker_starts_from_its_own_small_module_without_the_cli():
    # The worker process imports the collectors once and never the CLI (nor the report renderer)
    probe = ("import sys, auditor.zones.worker; "
             "print(sorted(m for m in sys.modules if m in ('auditor.cli', 'auditor.report.render')))")
    done = subprocess.run([__import__("sys").executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_progress_counts_targets_per_zone():
    # Given two targets in zone dmz and one the coordinator scans
    from rich.console import Console

    from auditor.models import TargetResult
    from auditor.zones.progress import with_zones

    targets = [Target("a", TargetKind.SSH, options={"host": "10.0.0.1", "zone": "dmz"}),
               Target("b", TargetKind.SSH, options={"host": "10.0.0.2", "zone": "dmz"}), Target("c", TargetKind.LOCAL)]
    seen: list[str] = []

    class Inner:
        def target_started(self, target: Target) -> None:
            seen.append(f"start {target.name}")

        def target_finished(self, result: TargetResult) -> None:
            seen.append(f"done {result.target.name}")

    console = Console(record=True, width=200)
    observer = with_zones(Inner(), console, targets)
    # When they finish, one of dmz's not assessed
    for target in targets:
        observer.target_started(target)
    observer.target_finished(TargetResult(targets[0], None, ()))
    observer.target_finished(TargetResult(targets[1], None, (), "b: not assessed: no worker in zone dmz answered"))
    observer.target_finished(TargetResult(targets[2], None, ()))
    # Then each zone's count is shown as it moves, and the per-target display still sees every event
    assert console.export_text().splitlines() == ["zone dmz: 1 of 2 targets done",
                                                  "zone dmz: 2 of 2 targets done (1 not assessed)",
                                                  "zone coordinator: 1 of 1 targets done"]
    assert seen == ["start a", "start b", "start c", "done a", "done b", "done c"]
    # And a run without zones keeps the plain display
    plain = Inner()
    assert with_zones(plain, console, [targets[2]]) is plain


class _Flooding(FakeHost):
    """A Debian host that answers every command but the system probe with 3 MiB."""

    def run(self, command):
        if str(command) in self._commands or command.argv[0].startswith("auditor:"):
            return super().run(command)
        self.calls.append(str(command))
        return CommandResult(str(command), 0, "x" * (3 << 20))


class _Answering:
    """Stands where a worker's recorded run would (collect_view's answer_from), handing out one host."""

    def __init__(self, host: FakeHost) -> None:
        self.host = host

    def open(self, target, login):
        return self.host


def test_a_workers_records_of_a_flooding_target_stay_within_the_targets_evidence_budget():
    # Given a task for a target whose inventory allows it 1 MB of evidence, and a host that floods every answer
    target = target_from_mapping({"name": "web-01", "kind": "ssh", "host": "10.40.0.5", "evidence_budget_mb": 1},
                                 "test")
    profile = load_profile()
    task = json.loads(json.dumps(task_document("run-1", plan_target(target, load_checks(profile), profile,
                                                                    Selection()), profile)))
    plan, parameters = read_task(task, "test")
    host = _Flooding({str(UNAME): CommandResult(str(UNAME), 0, "Linux web-01 6.1 x86_64\n"),
                      str(USER_ID): CommandResult(str(USER_ID), 0, "0\n")},
                     {"/etc/os-release": b'ID=debian\nVERSION_ID="12"\n'})
    # When a zone's worker collects it (as the runner would, with the target's own limits)
    records, opened, _failures = collect_view(plan, parameters, FixedClock(datetime(2026, 11, 26, 9, 0, tzinfo=UTC)),
                                              False, _Answering(host))
    # Then the host was asked, yet what the worker ships holds at most the budget, and what was cut says why
    kept = [json.loads(record) for record in records]
    assert opened is None and len(host.calls) > 10 and len(kept) > 10
    assert sum(len(r.get("stdout", "")) + len(r.get("content", "")) for r in kept) <= 1 << 20
    assert any(r.get("truncated") for r in kept)
    assert "evidence_budget_mb" in " ".join(json.dumps(r) for r in kept)


def test_a_worker_does_not_probe_the_network_again_when_the_login_made_no_tcp_connection(tmp_path):
    # Given a worker allowed to scan 127.0.0.1, and a target on a port where nothing listens (refused: no TCP)
    import socket

    from auditor.zones.tasks import WorkerPolicy, scan_target

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again below: nothing listens there
    key = tmp_path / "id"
    key.write_text("not used: no connection is made\n")
    target = target_from_mapping({"name": "dead", "kind": "ssh", "host": "127.0.0.1", "port": port,
                                  "identity_file": str(key), "connect_timeout": 2}, "test")
    profile = load_profile()
    doc = json.loads(json.dumps(task_document("run-1", plan_target(target, load_checks(profile), profile,
                                                                   Selection()), profile)))
    policy = WorkerPolicy("dmz", AllowList.parse(["127.0.0.1/32"]), 1 << 20)
    # When the worker takes the task
    result = scan_target(policy, doc)
    # Then the login's failure is shipped as a connection without TCP, and no network view was tried after it
    assert result["open_error"]["type"] == "NoTcpConnection", result
    assert "connection refused" in result["open_error"]["message"]
    assert "network_error" not in result and result["network_failures"] == []
