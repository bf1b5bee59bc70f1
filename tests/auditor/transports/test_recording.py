"""Recording and replay: each fact recorded once at the run's clock, hashed and indexed by the evidence store;
replay serves exactly what was recorded and refuses tampering."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import UTC, datetime

import pytest

from auditor.bundle.evidence import EvidenceStore
from auditor.clock import FixedClock
from auditor.errors import FactMissing, InputError
from auditor.transports.base import CommandResult, cmd
from auditor.transports.recording import RecordingTransport
from auditor.transports.replay import ReplayTransport
from tests.auditor.fake_host import FakeHost
from tests.conftest import HOSTS

UPTIME = cmd("uptime")
CLOCK = FixedClock(datetime(2026, 11, 26, 12, 0, tzinfo=UTC))


def test_each_fact_is_recorded_once_and_the_manifest_hashes_the_files(tmp_path):
    host = FakeHost({"uptime": CommandResult("uptime", 0, "up 3 days\n")}, {"/etc/hostname": b"web-01\n"})
    store = EvidenceStore(tmp_path)
    recorder = RecordingTransport(host, store, CLOCK)
    recorder.prefetch([UPTIME, UPTIME], ["/etc/hostname"])
    first = recorder.view("a")
    second = recorder.view("b")
    assert first.run(UPTIME).stdout == second.run(UPTIME).stdout == "up 3 days\n"
    assert second.read_file("/etc/hostname").data == b"web-01\n"
    assert host.calls == ["uptime", "/etc/hostname"]  # the host was asked once per fact
    assert first.used[0] == second.used[0] and len(second.used) == 2
    manifest = json.loads(store.write_manifest().read_text())
    assert len(manifest["facts"]) == 2
    for fact in manifest["facts"]:
        assert hashlib.sha256((tmp_path / fact["path"]).read_bytes()).hexdigest() == fact["sha256"]
    record = json.loads((tmp_path / first.used[0].path).read_text())
    assert record["argv"] == ["uptime"] and record["exit_status"] == 0
    assert record["collected_at"] == "2026-11-26T12:00:00.000Z"  # the run's clock, not the machine's


def test_binary_file_content_survives_the_round_trip(tmp_path):
    blob = bytes(range(256))
    store = EvidenceStore(tmp_path)
    RecordingTransport(FakeHost({}, {"/bin/blob": blob}), store, CLOCK).read_file("/bin/blob")
    store.write_manifest()
    assert ReplayTransport(tmp_path, "fake").read_file("/bin/blob").data == blob


def test_replay_answers_from_the_fixture_and_names_the_closest_on_a_miss():
    replay = ReplayTransport(HOSTS / "debian12-server", "db-1")
    assert "NTPSynchronized=yes" in replay.run(cmd("timedatectl", "show")).stdout
    with pytest.raises(FactMissing) as error:
        replay.run(cmd("timedatectl", "status"))
    assert "timedatectl show" in str(error.value) and "evidence/db-1" in str(error.value)


def test_replay_refuses_an_evidence_file_changed_after_recording(tmp_path):
    run = tmp_path / "run"
    shutil.copytree(HOSTS / "debian12-server", run)
    victim = next((run / "evidence" / "db-1").glob("cmd-timedatectl*"))
    victim.write_text(victim.read_text().replace("NTPSynchronized=yes", "NTPSynchronized=no"))
    with pytest.raises(InputError, match="SHA-256 mismatch"):
        ReplayTransport(run, "db-1")
