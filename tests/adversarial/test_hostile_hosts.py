"""Hostile SSH targets against the scanner's resources: a real sshd whose ForceCommand is a fake batch runner
(hostile_runner.py) that floods every answer, lists hundreds of 8 MiB files, or lists thousands of random ones,
and commands that ignore SIGTERM. The scanner's memory stays bounded, the evidence stays within the target's
budget, what was cut says so (never a false pass), and nothing it started stays alive on the target."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from auditor.models import Target, TargetKind
from auditor.transports.base import TIMED_OUT, cmd
from auditor.transports.ssh import SshTransport
from tests import sshd_server
from tests.conftest import ROOT, child_env
from tests.processes import alive, gone_within
from tests.sshd_server import HARDENED, SshdServer

client_key, hardened_sshd, ssh_root = sshd_server.client_key, sshd_server.hardened_sshd, sshd_server.ssh_root

pytestmark = [pytest.mark.ssh, pytest.mark.slow, pytest.mark.attack("hostile host resources")]

HOSTILE = Path(__file__).with_name("hostile_runner.py")
MIB = 1024 * 1024
PEAK_RSS_MB = 300
DEFAULT_BUDGET = 64 * MIB
SLACK = 2 * MIB  # what is not a target's fact: the evidence index, the host key record


class Scan:
    """One `auditor scan` of a hostile target in a subprocess: its peak RSS, run folder and results."""

    def __init__(self, run: Path, peak_rss_mb: float, seconds: float, exit_status: int, stderr: str) -> None:
        self.run, self.peak_rss_mb, self.seconds, self.exit_status, self.stderr = (run, peak_rss_mb, seconds,
                                                                                    exit_status, stderr)

    def evidence_bytes(self) -> int:
        return sum(p.stat().st_size for p in (self.run / "evidence").rglob("*.json") if p.is_file())

    def records(self) -> list[dict[str, object]]:
        return [json.loads(p.read_bytes()) for p in (self.run / "evidence" / "evil").glob("*.json")]

    def findings(self) -> list[dict[str, object]]:
        return list(json.loads((self.run / "results.json").read_text())["findings"])


# Runs argv, prints its peak RSS in KiB (and of what it waited for) on stdout, exits with its status.
_MEASURE = ("import os, subprocess, sys\n"
            "child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
            "_, status, usage = os.wait4(child.pid, 0)\n"
            "print(usage.ru_maxrss)\n"
            "sys.exit(os.waitstatus_to_exitcode(status))\n")


def _scan(root: Path, key: Path, mode: str, **options: object) -> Scan:
    """Start a real sshd whose ForceCommand is the hostile runner in `mode`, scan it once, stop it."""
    server = SshdServer(root / f"{mode}-{uuid.uuid4().hex[:6]}", HARDENED, key,
                        extra=f"ForceCommand /usr/bin/python3 {HOSTILE} {mode}\n").start()
    try:
        inventory = root / f"inventory-{uuid.uuid4().hex[:6]}.yaml"
        inventory.write_text("targets:\n" + server.inventory_entry("evil", key, total_timeout=60, **options))
        run = root / f"run-{uuid.uuid4().hex[:6]}"
        started = time.monotonic()
        scanner = [sys.executable, "-m", "auditor", "scan", "--inventory", str(inventory), "--out", str(run),
                   "--format", "none", "--quiet", "--no-history"]
        with open(root / "stderr.txt", "w+b") as stderr:
            # The scanner is started by a small Python that reports its peak: a process forked from this one
            # would count this test process's memory as its own (ru_maxrss includes the time before exec).
            measured = subprocess.run([sys.executable, "-c", _MEASURE, *scanner], cwd=ROOT, env=child_env(),
                                      stdout=subprocess.PIPE, stderr=stderr, check=False)
            stderr.seek(0)
            said = stderr.read().decode(errors="replace")
        peak_kib = int(measured.stdout.split()[-1])
        return Scan(run, peak_kib / 1024, time.monotonic() - started, measured.returncode, said)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def flooded(ssh_root, client_key) -> Scan:
    return _scan(ssh_root, client_key, "flood")


@pytest.fixture(scope="module")
def many_files(ssh_root, client_key) -> Scan:
    return _scan(ssh_root, client_key, "many-files")


@pytest.fixture(scope="module")
def random_find(ssh_root, client_key) -> Scan:
    return _scan(ssh_root, client_key, "random-find")


def _cut(scan: Scan) -> list[dict[str, object]]:
    return [r for r in scan.records() if r.get("truncated_reason")]


def test_a_target_that_answers_every_command_with_8_mib_costs_less_than_300_mb(flooded):
    # Given a target whose every answer is 8 MiB of bytes that are not UTF-8 (the costliest text to keep)
    # When it is scanned at the default limits
    # Then the scanner's peak memory stays under the bound, and the run finished
    assert flooded.peak_rss_mb < PEAK_RSS_MB, f"peak RSS {flooded.peak_rss_mb:.0f} MB"
    assert (flooded.run / "results.json").is_file(), flooded.stderr


def test_a_flooding_target_gets_no_more_evidence_than_its_budget(flooded):
    # Given the flooded scan: Then its evidence on disk is within the default budget (64 MiB)
    assert flooded.evidence_bytes() <= DEFAULT_BUDGET + SLACK, f"{flooded.evidence_bytes() / MIB:.0f} MiB"


def test_what_the_budget_cut_is_recorded_as_truncated_with_the_reason_and_no_check_passes_on_it(flooded):
    # Given the flooded scan: Then the facts that did not fit say so in their records
    cut = _cut(flooded)
    assert cut and all(r["truncated"] is True and "evidence_budget_mb" in str(r["truncated_reason"]) for r in cut)
    # And every check that rests on a cut fact is an error that names the limit, never a pass
    cut_refs = {str(r["source"]) for r in cut}
    on_cut = [f for f in flooded.findings() if any(e["source"] in cut_refs for e in f.get("evidence", []))]
    assert on_cut and all(f["status"] in ("error", "skipped") for f in on_cut), [f["status"] for f in on_cut]
    assert any("evidence_budget_mb" in str(f["message"]) for f in on_cut)


def test_a_target_listing_300_files_of_8_mib_costs_less_than_300_mb(many_files):
    # Given a target whose `find` lists 300 files of 8 MiB each (2.4 GB if all were read)
    # When it is scanned at the default limits
    # Then memory and evidence stay bounded
    assert many_files.peak_rss_mb < PEAK_RSS_MB, f"peak RSS {many_files.peak_rss_mb:.0f} MB"
    assert many_files.evidence_bytes() <= DEFAULT_BUDGET + SLACK, f"{many_files.evidence_bytes() / MIB:.0f} MiB"
    assert many_files.seconds < 60


def test_checks_on_the_files_a_hostile_listing_named_are_not_judged(many_files):
    # Given the many-files scan: Then the syslog checks (which read what `find` listed) are errors naming a limit
    syslog = [f for f in many_files.findings() if str(f["check_id"]).startswith("LOG-")
              and any("rsyslog" in e["source"] or "logrotate" in e["source"] for e in f.get("evidence", []))]
    assert syslog and not [f for f in syslog if f["status"] == "pass"]
    assert any("not assessed within the target's limits" in str(f["message"]) for f in syslog)


def test_a_random_find_listing_drives_at_most_max_listed_files_reads_per_collector(random_find):
    # Given a target whose `find` prints 8000 random "paths"
    # When it is scanned: Then no collector read more than 200 of them, and the cap is named in a finding
    reads = [r for r in random_find.records() if r["kind"] == "file" and "hostile-" in str(r["source"])]
    assert reads, "the hostile listing drove no reads: the attack did not take place"
    listings = sum(1 for r in random_find.records() if r["kind"] == "command" and r["argv"][0] == "find")
    assert len(reads) <= 200 * listings
    assert any("max_listed_files" in str(f["message"]) for f in random_find.findings())


def test_a_hostile_vpn_listing_is_one_error_not_a_finding_per_made_up_file(random_find):
    # Given the random-find scan, whose VPN `find` listed thousands of made-up configuration files
    vpn = [f for f in random_find.findings() if str(f["check_id"]).startswith("VPN-")]
    # Then the VPN checks are errors that name the limit, not one finding per made-up file
    assert vpn and len(vpn) < 10, len(vpn)
    assert all(f["status"] == "error" and "max_listed_files" in str(f["message"]) for f in vpn
               if f["status"] != "skipped")


def test_the_limits_are_set_per_target_in_the_inventory(ssh_root, client_key):
    # Given a flooding target whose inventory entry allows 4 MiB of evidence and 10 files per listing
    scan = _scan(ssh_root, client_key, "many-files", evidence_budget_mb=4, max_listed_files=10)
    # When it is scanned: Then its evidence stays within 4 MiB, and the cut names that budget
    assert scan.evidence_bytes() <= 4 * MIB + SLACK, f"{scan.evidence_bytes() / MIB:.1f} MiB"
    assert any("(4 MiB, evidence_budget_mb)" in str(r["truncated_reason"]) for r in _cut(scan))


def test_a_bad_limit_in_the_inventory_is_one_line_and_exit_2(tmp_path):
    # Given an inventory whose budget is not a number of MiB
    inventory = tmp_path / "inv.yaml"
    inventory.write_text("targets:\n  - {name: a, kind: ssh, host: 127.0.0.1, evidence_budget_mb: lots}\n")
    # When it is scanned: Then it is refused before any work, in one line that names the field
    done = subprocess.run([sys.executable, "-m", "auditor", "scan", "--inventory", str(inventory), "--out",
                           str(tmp_path / "run"), "--format", "none", "--quiet"], cwd=ROOT, env=child_env(),
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2 and "evidence_budget_mb" in done.stderr and len(done.stderr.splitlines()) == 1


# -- orphans: nothing the runner started outlives the batch or the channel ------------------------------------


def _target(server: SshdServer, key: Path, **options: object) -> Target:
    return Target("t", TargetKind.SSH, options={"host": "127.0.0.1", "port": server.port, "identity_file": str(key),
                                                 "known_hosts": str(server.known_hosts), "ssh_config": "none",
                                                 **options})


def test_a_command_ignoring_sigterm_is_gone_after_the_targets_time_budget_ends(hardened_sshd, client_key, marker):
    # Given a command that ignores SIGTERM and would run for minutes, on a target with a 3 s time budget
    transport = SshTransport(_target(hardened_sshd, client_key, total_timeout=3))
    stubborn = cmd("sh", "-c", f"trap '' TERM; sleep {marker}; true", timeout=600)
    try:
        # When the budget ends the batch
        result = transport.run(stubborn)
        assert result.exit_status == TIMED_OUT
        assert alive(marker), "the command never started: the attack did not take place"
    finally:
        transport.close()
    # Then within seconds nothing of it is left on the target (TERM, then KILL after 2 s)
    assert not gone_within(marker, 8)


def test_what_a_command_leaves_running_in_its_group_does_not_outlive_the_batch(hardened_sshd, client_key, marker):
    # Given a command that starts a SIGTERM-ignoring child in the background and exits at once
    transport = SshTransport(_target(hardened_sshd, client_key))
    try:
        result = transport.run(cmd("sh", "-c", f"(trap '' TERM; exec sleep {marker}) >/dev/null 2>&1 & echo ok"))
        # When the batch ends (the connection stays open)
        assert result.stdout == "ok\n"
        # Then the child was killed with its group
        assert not gone_within(marker, 5)
    finally:
        transport.close()


def test_a_connection_cut_mid_batch_leaves_nothing_running(hardened_sshd, client_key, marker):
    # Given a batch whose command ignores SIGTERM and runs long, and a scanner that goes away mid-batch
    transport = SshTransport(_target(hardened_sshd, client_key, total_timeout=60))
    stubborn = cmd("sh", "-c", f"trap '' TERM; sleep {marker}; true", timeout=600)
    future = transport._pool.submit(transport.run, stubborn)
    deadline = time.monotonic() + 10
    while not alive(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert alive(marker), "the command never started: the attack did not take place"
    # When the connection is closed under the batch (no write to the target ever fails: nothing is written)
    transport.close()
    future.cancel()
    # Then the runner notices and kills the command's group
    assert not gone_within(marker, 8)
