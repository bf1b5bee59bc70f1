"""The recorded hosts end to end: each is replayed through `python -m auditor replay` as a user would, every
check assesses it without an error, and its headline verdicts hold for the reason the host was recorded for.
How each host was recorded: tests/fixtures/README.md and tests/fixtures/make_hosts.py."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime

import pytest

from auditor.bundle.evidence import EvidenceStore
from auditor.bundle.results import read_results, to_document
from auditor.clock import FixedClock
from auditor.pipeline import load_checks
from auditor.profile import load_stored_profile
from auditor.runner import ScanOptions, run_scan
from tests.conftest import HOSTS, load_results, run_cli
from tests.test_cli import verdicts

pytestmark = pytest.mark.slow
CASES = sorted(p.name for p in HOSTS.iterdir() if p.is_dir())


@pytest.fixture(scope="module")
def replayed(tmp_path_factory) -> dict[str, tuple[subprocess.CompletedProcess[str], dict]]:
    """Every recorded host replayed once, with all checks and the profile stored in its run."""
    runs = {}
    for case in CASES:
        out = tmp_path_factory.mktemp("replay") / case
        result = run_cli("replay", str(HOSTS / case), "--out", str(out), "--quiet", "--format", "none")
        runs[case] = (result, load_results(out))
    return runs


@pytest.mark.parametrize("case", CASES)
def test_a_full_replay_assesses_every_check_without_an_error(replayed, case):
    # Given a recorded host, when every installed check is replayed against its evidence
    result, document = replayed[case]
    # Then no finding is an error (every fact its platform's checks need was recorded) and the run is complete
    errors = [f"{f['check_id']}: {f['message']}" for f in document["findings"] if f["status"] == "error"]
    assert errors == [], case
    assert result.returncode in (0, 1), result.stderr
    (target,) = document["targets"]
    assert target["assessed"] and target["system"]["platform"] in ("linux", "macos", "windows")


# (host, check, resource contains, status, message contains, why the host gives this verdict)
HEADLINES = [
    ("debian12-server", "DISK-0010", "/ (/dev/mapper/debian--vg-root)", "pass", "encrypted layer nvme0n1p3_crypt",
     "the root LV sits on LVM on LUKS2"),
    ("debian12-server", "DISK-0020", "/dev/nvme0n1p3", "pass", "512-bit key = AES-256",
     "aes-xts-plain64 with a 512-bit XTS key is AES-256"),
    ("debian12-server", "DISK-0030", "/dev/dm-2", "pass", "encrypted layer nvme0n1p3_crypt",
     "swap is an LV inside the encrypted volume group"),
    ("debian12-server", "FW-0010", "", "pass", "nftables inet filter input", "inet input chain with policy drop"),
    ("debian12-server", "LOG-0010", "", "pass", "auditd is running (pid 612", "CIS rules loaded"),
    ("debian12-server", "LOG-0020", "", "fail", "after 60 days", "MaxRetentionSec=60d is below the 90 days"),
    ("debian12-server", "LOG-0040", "", "pass", "synchronised (timedatectl)", "NTPSynchronized=yes"),
    ("debian12-server", "PATCH-0010", "", "pass", "No security updates are pending", "apt lists nothing"),
    ("debian12-server", "BACKUP-0010", "", "pass", "5.7 h old (restic-backup.service",
     "the restic timer's run ended 5.7 h before the host's recorded clock"),
    ("debian12-server", "BACKUP-0020", "restic", "pass", "AES-256-CTR", "restic always encrypts"),
    ("debian12-server", "LOCK-0010", "", "not_applicable", "role is server", "a server has no screen lock"),
    ("ubuntu2204-laptop-home", "DISK-0020", "/dev/sda1 (mounted at /srv/data)", "fail", "256-bit key = AES-128",
     "the data disk's 256-bit XTS key is AES-128"),
    ("ubuntu2204-laptop-home", "DISK-0020", "/dev/nvme0n1p3 (mounted at /)", "pass", "= AES-256",
     "the root disk is at 512-bit XTS"),
    ("ubuntu2204-laptop-home", "FW-0010", "", "fail", "ufw is inactive", "no rules loaded and ufw disabled"),
    ("ubuntu2204-laptop-home", "LOCK-0010", "gnome", "pass", "after 900 s", "idle-delay 900 locked in dconf"),
    ("ubuntu2204-laptop-home", "LOG-0010", "", "fail", "auditd not installed", "no kernel audit trail"),
    ("ubuntu2204-laptop-home", "LOG-0020", "", "pass", "by journald", "persistent journal; rsyslog keeps 28 days"),
    ("ubuntu2204-laptop-home", "PATCH-0010", "", "fail",
     "2 package(s) have security updates pending: libssl3, openssh-server", "two packages come from jammy-security"),
    ("ubuntu2204-laptop-home", "VPN-0010", "", "pass", "wg-home", "NetworkManager has a WireGuard profile"),
    ("ubuntu2204-laptop-home", "VPN-0020", "", "fail", "No VPN tunnel is up", "at home with no tunnel up"),
    ("ubuntu2204-laptop-home", "BACKUP-0010", "", "fail", "No backup job", "only logrotate and apt timers"),
    ("rhel9-server", "FW-0010", "", "pass", "firewalld is running", "public zone with target default"),
    ("rhel9-server", "LOG-0010", "", "fail", '"No rules"', "auditd runs but no rules are loaded"),
    ("rhel9-server", "DISK-0010", "/ (/dev/sda1)", "fail", "is not encrypted", "plain ext4 root"),
    ("rhel9-server", "DISK-0030", "/dev/sda5", "fail", "is not encrypted", "plain swap partition"),
    ("rhel9-server", "PATCH-0010", "", "fail", "6 package(s) have security updates pending from 6 advisories",
     "dnf lists security advisories"),
    ("rhel9-server", "LOG-0040", "", "pass", "synchronised", "chrony via timedatectl"),
    ("debian12-container", "LOG-0020", "", "fail", "The system journal is not running", "no systemd as PID 1"),
    ("debian12-container", "LOG-0040", "", "fail", "No time synchronisation could be found", "no timedatectl, chrony"),
    ("debian12-container", "DISK-0010", "", "fail", "is not encrypted", "a plain virtual disk"),
]


@pytest.mark.parametrize(("case", "check_id", "resource", "status", "words", "why"), HEADLINES,
                         ids=[f"{h[0]}-{h[1]}-{h[3]}" for h in HEADLINES])
def test_headline_verdicts(replayed, case, check_id, resource, status, words, why):
    _, document = replayed[case]
    found = [f for f in document["findings"] if f["check_id"] == check_id and resource in f["resource"]]
    assert found, f"{case} has no {check_id} finding for {resource!r}"
    assert [(f["status"], words in f["message"]) for f in found] == [(status, True)] * len(found), \
        (why, [f["message"] for f in found])


def test_verdicts_do_not_depend_on_the_day_of_the_replay(tmp_path):
    # Given the recorded hosts and a scanner clock five years after their recording
    later = datetime(2031, 11, 26, 12, 0, tzinfo=UTC)
    for case in CASES:
        source = HOSTS / case
        profile = load_stored_profile(source / "profile.json")
        targets = [t.target for t in read_results(source).targets]
        # When each is replayed in process on that day
        result = run_scan("later", targets, load_checks(profile), profile, EvidenceStore(tmp_path / case),
                          ScanOptions(replay_from=source), clock=FixedClock(later))
        # Then backup ages, package-list ages and support ends are judged on the host's recorded clock
        assert result.started_at == later
        assert verdicts(to_document(result)) == verdicts(load_results(source)), case


def test_recorded_hosts_are_exactly_what_the_generator_writes(tmp_path):
    # Given the committed generated hosts, when the generator writes them again into a scratch copy
    from tests.fixtures import make_hosts

    for case in make_hosts.BUILDERS:
        make_hosts.build(case, tmp_path / case)
        # Then every file is byte-identical: the fixtures are the generator's output, not hand edits
        written = {p.relative_to(tmp_path / case): p.read_bytes() for p in (tmp_path / case).rglob("*") if p.is_file()}
        committed = {p.relative_to(HOSTS / case): p.read_bytes() for p in (HOSTS / case).rglob("*") if p.is_file()}
        assert sorted(map(str, written)) == sorted(map(str, committed)), case
        assert [str(p) for p in sorted(written) if written[p] != committed[p]] == [], case
