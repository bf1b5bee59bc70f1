"""Recording and replay: each fact recorded once at the run's clock, hashed and indexed by the evidence store;
replay serves exactly what was recorded and refuses tampering."""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import threading
from datetime import UTC, datetime

import pytest

from auditor.bundle.evidence import EvidenceStore
from auditor.clock import FixedClock
from auditor.errors import FactMissing, InputError
from auditor.files import dump_json
from auditor.models import Target, TargetKind
from auditor.transports.base import DIGEST, CommandResult, FileContent, cmd
from auditor.transports.recording import RecordingTransport
from auditor.transports.records import command_record, file_record
from auditor.transports.replay import RecordedRun, ReplayTransport
from tests.auditor.fake_host import FakeHost
from tests.auditor.transports.test_redaction import EXPECTED, SECRETS
from tests.conftest import HOSTS

UPTIME = cmd("uptime")
CLOCK = FixedClock(datetime(2026, 11, 26, 12, 0, tzinfo=UTC))
RECORDED_AT = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)


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


class _OlderRun(FakeHost):
    """Answers like a replay of a run recorded before redaction existed: each fact with its original record."""

    def original_record(self, kind, source):
        if kind == "command":
            return command_record(self.target, cmd(*source.split()), self.run(cmd(*source.split())), RECORDED_AT)
        return file_record(self.target, self.read_file(source), RECORDED_AT)


def test_secrets_are_cut_before_a_collector_sees_them_or_they_are_stored(tmp_path):
    # Given a host whose WireGuard config and cron lines hold secrets
    wg0 = (SECRETS / "wireguard-wg0.conf").read_bytes()
    cron = (SECRETS / "cron-grep-restic-borg.txt").read_text()
    host = FakeHost({"crontab -l": CommandResult("crontab -l", 0, cron)}, {"/etc/wireguard/wg0.conf": wg0})
    store = EvidenceStore(tmp_path)
    view = RecordingTransport(host, store, CLOCK).view("vpn")
    # When a collector reads them through the recorder
    config = view.read_file("/etc/wireguard/wg0.conf").text
    crontab = view.run(cmd("crontab", "-l")).stdout
    store.write_manifest()
    # Then it sees the redacted text, with everything else of the config intact
    assert "PrivateKey = [REDACTED:wireguard-private-key]" in config and "Endpoint = vpn.example.net:51820" in config
    assert "RESTIC_PASSWORD=[REDACTED:password-assignment] restic" in crontab
    # And the evidence holds no secret, while each record names what was cut and how often
    written = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    secrets = [*EXPECTED["wireguard-wg0.conf"]["secrets"], *EXPECTED["cron-grep-restic-borg.txt"]["secrets"]]
    assert [s for s in secrets if s.encode() in written] == []
    records = {r["source"]: r for r in (json.loads((tmp_path / ref.path).read_text()) for ref in view.used)}
    assert records["/etc/wireguard/wg0.conf"]["redactions"] == {"wireguard-preshared-key": 1,
                                                                "wireguard-private-key": 1}
    assert records["crontab -l"]["redactions"] == {"password-assignment": 2, "url-password": 1}


def test_a_fact_without_secrets_is_recorded_without_a_redactions_field(tmp_path):
    store = EvidenceStore(tmp_path)
    view = RecordingTransport(FakeHost({"uptime": CommandResult("uptime", 0, "up 3 days\n")}), store, CLOCK).view("a")
    view.run(UPTIME)
    # A record stays in the format older runs have, byte for byte, when nothing was cut
    assert "redactions" not in json.loads((tmp_path / view.used[0].path).read_text())


def test_a_replayed_record_keeps_its_hash_unless_it_held_a_secret(tmp_path):
    # Given an older run: one clean fact, and one file recorded with its secrets (before redaction existed)
    ini = (SECRETS / "app-config.ini").read_bytes()
    older = _OlderRun({"uptime": CommandResult("uptime", 0, "up 3 days\n")}, {"/etc/app.ini": ini})
    store = EvidenceStore(tmp_path)
    view = RecordingTransport(older, store, FixedClock(datetime(2027, 1, 5, tzinfo=UTC))).view("replay")
    # When it is replayed through the recorder
    view.run(UPTIME)
    served = view.read_file("/etc/app.ini").data
    # Then the clean record is stored exactly as the older run stored it (same hash)
    clean_ref, ini_ref = view.used
    original = dump_json(older.original_record("command", "uptime"))
    assert clean_ref.sha256 == hashlib.sha256(original).hexdigest()
    # And the file's secrets are gone from what is served and stored; its original time stays, the cut is noted
    record = json.loads((tmp_path / ini_ref.path).read_text())
    assert record["collected_at"] == "2026-11-26T14:00:00.000Z" and record["redactions"] == {"password-assignment": 4}
    assert [s for s in EXPECTED["app-config.ini"]["secrets"] if s in record["content"] or s.encode() in served] == []


def test_a_replay_answers_a_changed_command_from_the_line_an_older_version_recorded(tmp_path):
    # Given a run recorded by an auditor that asked `uptime` where today's asks `uptime -p`
    older_store = EvidenceStore(tmp_path / "older")
    RecordingTransport(FakeHost({"uptime": CommandResult("uptime", 0, "up 3 days\n")}, {}), older_store,
                       CLOCK).run(UPTIME)
    older_store.write_manifest()
    today = cmd("uptime", "-p", replaces=("uptime -s", "uptime"))
    # When today's collector asks its command of a replay of that run, through the recorder
    store = EvidenceStore(tmp_path / "replayed")
    view = RecordingTransport(ReplayTransport(tmp_path / "older", "fake"), store, CLOCK).view("replay")
    # Then the older record answers, and stays the evidence, under the command line that was really run
    assert view.run(today).stdout == "up 3 days\n"
    (ref,) = view.used
    assert ref.source == "uptime"
    assert json.loads((tmp_path / "replayed" / ref.path).read_bytes())["argv"] == ["uptime"]
    # And a command no older line of which was recorded is still missing, named as today asks it
    with pytest.raises(FactMissing, match="uptime -s -p"):
        view.run(cmd("uptime", "-s", "-p", replaces=("uptime --since",)))


def test_a_replay_finds_an_older_script_s_command_line_by_its_digest(tmp_path):
    # Given a run recorded by an auditor whose command held a script that today's version rewrote
    older_line = ("python3", "-c", "print('v1')")
    older_store = EvidenceStore(tmp_path / "older")
    RecordingTransport(FakeHost({shlex.join(older_line): CommandResult(shlex.join(older_line), 0, "v1\n")}, {}),
                       older_store, CLOCK).run(cmd(*older_line))
    older_store.write_manifest()
    digest = hashlib.sha256(shlex.join(older_line).encode()).hexdigest()
    today = cmd("python3", "-S", "-c", "print('v2')", replaces=(DIGEST + digest,))
    # When today's command is asked of a replay of that run
    view = RecordingTransport(ReplayTransport(tmp_path / "older", "fake"), EvidenceStore(tmp_path / "replayed"),
                              CLOCK).view("replay")
    # Then the record whose command line has that digest answers, under the line that was really run
    assert view.run(today).stdout == "v1\n"
    assert [ref.source for ref in view.used] == [shlex.join(older_line)]
    # And a digest that no recorded line has leaves the fact missing
    with pytest.raises(FactMissing):
        view.run(cmd("python3", "-c", "v3", replaces=(DIGEST + "0" * 64,)))


def test_two_collectors_asking_one_fact_at_once_fetch_and_record_it_once(tmp_path):
    # Given a host whose answer to `uptime` waits until the test lets it go
    answering, release, second_waits = threading.Event(), threading.Event(), threading.Event()

    class SlowHost(FakeHost):
        def run(self, command):
            answering.set()
            assert release.wait(5), "the test never let the answer go"
            return super().run(command)

    class Noting(RecordingTransport):
        def _wait(self, key):
            second_waits.set()
            super()._wait(key)

    host = SlowHost({"uptime": CommandResult("uptime", 0, "up 3 days\n")})
    store = EvidenceStore(tmp_path)
    recorder = Noting(host, store, CLOCK)
    # When one collector asks while another's identical question is still being answered
    first = threading.Thread(target=recorder.view("a").run, args=(UPTIME,))
    first.start()
    assert answering.wait(5)
    second = recorder.view("b")
    asking = threading.Thread(target=second.run, args=(UPTIME,))
    asking.start()
    assert second_waits.wait(5), "the second collector did not wait for the answer under way"
    release.set()
    first.join(5)
    asking.join(5)
    # Then the host was asked once, one record was written, and both collectors cite it
    assert host.calls == ["uptime"]
    manifest = json.loads(store.write_manifest().read_text())
    assert [fact["source"] for fact in manifest["facts"]] == ["uptime"]
    assert second.used and second.used[0].source == "uptime"


def test_on_this_machine_facts_start_in_the_background_and_closing_ends_them(tmp_path):
    # Given a transport that runs commands side by side, whose `sleep` runs until the transport is closed
    stopped = threading.Event()

    class Machine(FakeHost):
        commands_at_once = 8

        def run(self, command):
            if str(command) == "sleep":
                stopped.wait(5)
                return CommandResult("sleep", -9, "", "not run: the scan was stopped")
            return super().run(command)

        def close(self):
            stopped.set()

    host = Machine({"uptime": CommandResult("uptime", 0, "up 3 days\n")})
    store = EvidenceStore(tmp_path)
    recorder = RecordingTransport(host, store, CLOCK)
    # When both are started, and a collector asks for each
    recorder.start([cmd("sleep"), UPTIME], [])
    view = recorder.view("a")
    assert view.run(UPTIME).stdout == "up 3 days\n"  # answered while `sleep` still runs
    waiting = threading.Thread(target=view.run, args=(cmd("sleep"),))
    waiting.start()
    # Then closing (an interrupt) stops the running one, the collector gets its answer, and nothing is left running
    recorder.close()
    waiting.join(5)
    assert not waiting.is_alive() and stopped.is_set()
    assert sorted(fact["source"] for fact in json.loads(store.write_manifest().read_text())["facts"]) == \
        ["sleep", "uptime"]


def test_a_replayed_record_saved_unchanged_is_a_link_to_the_source_s_file(tmp_path):
    # Given a run recorded before redaction existed: one clean fact, and one file stored with its secrets
    ini = (SECRETS / "app-config.ini").read_bytes()
    older = EvidenceStore(tmp_path / "older")
    for record in (command_record("web-01", UPTIME, CommandResult("uptime", 0, "up 3 days\n"), RECORDED_AT),
                   file_record("web-01", FileContent("/etc/app.ini", True, ini), RECORDED_AT)):
        older.save("web-01", record)
    older.write_manifest()
    # When it is replayed through the recorder into a new run
    store = EvidenceStore(tmp_path / "new")
    replay = RecordedRun(tmp_path / "older").open(Target("web-01", TargetKind.SSH), login=False)
    view = RecordingTransport(replay, store, CLOCK).view("replay")
    view.run(UPTIME)
    view.read_file("/etc/app.ini")
    clean, secret = ((tmp_path / "new" / ref.path, tmp_path / "older" / ref.path) for ref in view.used)
    # Then the clean record is the source's own file under a second name (no new file), with the hash it was indexed by
    assert os.path.samefile(*clean) and hashlib.sha256(clean[0].read_bytes()).hexdigest() == view.used[0].sha256
    # And the record that held a secret, saved changed, is a file of its own without it; the source's is untouched
    assert not os.path.samefile(*secret) and secret[1].read_bytes() != secret[0].read_bytes()
    assert b"[REDACTED:" in secret[0].read_bytes() and b"[REDACTED:" not in secret[1].read_bytes()


def test_a_record_that_cannot_be_linked_is_written(tmp_path):
    # Given a record whose earlier file holds other bytes than it, and one whose earlier file is gone
    store = EvidenceStore(tmp_path / "new")
    record = command_record("web-01", UPTIME, CommandResult("uptime", 0, "up 3 days\n"), RECORDED_AT)
    other = tmp_path / "other.json"
    other.write_bytes(b"{}")
    data = dump_json(record)
    refs = [store.save("web-01", record, (str(other), hashlib.sha256(b"{}").hexdigest())),
            store.save("web-02", record, (str(tmp_path / "gone.json"), hashlib.sha256(data).hexdigest()))]
    # When each is saved, Then it is written whole, as its hash says, and the other file is left as it was
    for ref in refs:
        saved = tmp_path / "new" / ref.path
        assert saved.read_bytes() == data and not os.path.samefile(saved, other)
    assert other.read_bytes() == b"{}"
