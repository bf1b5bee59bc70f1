"""BACKUP-0010 and BACKUP-0020 on facts built in code: table-driven, Given/When/Then."""

from __future__ import annotations

import pytest

from auditor.collectors.backup import BackupFacts, BackupJob, BorgRepo, MarkerFile
from auditor.models import Status
from checks.backup import backup_encrypted, backup_recent

NOW = 1_795_704_000
HOUR = 3600
RESTIC_OK = BackupJob("restic-backup.service", "restic", "systemd", "/usr/bin/restic backup /home",
                      "restic-backup.timer", "success", 0, NOW - 3 * HOUR)
BORG_FAILED = BackupJob("borgmatic.service", "borgmatic", "systemd", "/usr/bin/borgmatic", "borgmatic.timer",
                        "exit-code", 2, NOW - 9 * HOUR)
CRON_RESTIC = BackupJob("/etc/cron.d/restic", "restic", "cron", "30 2 * * * root restic backup /srv")
MARKER_OLD = MarkerFile("/var/backups/done", NOW - 30 * HOUR)
BLAKE2 = BorgRepo("/root/.config/borg/security/0cbe", "ssh://backup@host/./repo", 4, "keyfile-blake2",
                  NOW - 2 * HOUR)


@pytest.mark.parametrize(
    ("facts", "markers", "status", "words"),
    [
        (BackupFacts(NOW, jobs=(RESTIC_OK,)), [], Status.PASS, "3.0 h old (restic-backup.service (restic)"),
        (BackupFacts(NOW, jobs=(RESTIC_OK, BORG_FAILED)), [], Status.FAIL, "borgmatic.service (exit-code"),
        (BackupFacts(NOW, markers=(MARKER_OLD,), marker_paths_requested=("/var/backups/done",)),
         ["/var/backups/done"], Status.FAIL, "30.0 h old (marker file /var/backups/done"),
        (BackupFacts(NOW, borg_repos=(BLAKE2,)), [], Status.PASS, "manifest-timestamp"),
        (BackupFacts(NOW, jobs=(CRON_RESTIC,)), [], Status.WARN, "no record of a successful run"),
        (BackupFacts(NOW), [], Status.FAIL, "No backup job or marker found"),
        (BackupFacts(NOW), ["/var/backups/done"], Status.FAIL, "marker files were not read: /var/backups/done"),
        (BackupFacts(None, jobs=(RESTIC_OK,)), [], Status.WARN, "clock could not be read"),
    ],
)
def test_backup_recent(facts, markers, status, words):
    # Given backup facts, When BACKUP-0010 evaluates them with the default 26 h
    verdict = backup_recent(facts, 26, markers)
    # Then the status and the sentence name the source that proved it (or what is missing)
    assert verdict.status is status, verdict.message
    assert words in verdict.message


def _repo(mode: str) -> BorgRepo:
    return BorgRepo("/root/.config/borg/security/ab", "/srv/borg", None, mode)


@pytest.mark.parametrize(
    ("facts", "chacha_ok", "statuses", "words"),
    [
        (BackupFacts(NOW, jobs=(RESTIC_OK,)), False, [Status.PASS], "AES-256-CTR"),
        (BackupFacts(NOW, borg_repos=(BLAKE2,)), False, [Status.PASS], "keyfile-blake2 (AES-256-CTR)"),
        (BackupFacts(NOW, borg_repos=(_repo("repokey"),)), False, [Status.PASS], "AES-256-CTR"),
        (BackupFacts(NOW, borg_repos=(_repo("repokey-aes-ocb"),)), False, [Status.PASS], "AES-256-OCB"),
        (BackupFacts(NOW, borg_repos=(_repo("none"),)), False, [Status.FAIL], "not encrypted"),
        (BackupFacts(NOW, borg_repos=(_repo("authenticated-blake2"),)), False, [Status.FAIL], "not encrypted"),
        (BackupFacts(NOW, borg_repos=(_repo("repokey-chacha20-poly1305"),)), False, [Status.FAIL], "not AES-256"),
        (BackupFacts(NOW, borg_repos=(_repo("repokey-chacha20-poly1305"),)), True, [Status.PASS], "equivalent"),
        (BackupFacts(NOW, borg_repos=(_repo(""),)), False, [Status.WARN], "key-type is missing"),
        (BackupFacts(NOW, jobs=(BORG_FAILED,)), False, [Status.WARN], "only with the repository passphrase"),
        (BackupFacts(NOW, jobs=(BackupJob("backup.service", "", "systemd", "/usr/local/bin/backup.sh"),)), False,
         [Status.FAIL], "runs /usr/local/bin/backup.sh"),
        (BackupFacts(NOW), False, [Status.NOT_APPLICABLE], "No backup tool was detected"),
    ],
)
def test_backup_encrypted(facts, chacha_ok, statuses, words):
    # Given backup facts, When BACKUP-0020 evaluates them with min_aes_bits 256
    verdicts = backup_encrypted(facts, 256, chacha_ok)
    # Then one verdict per tool or repository, with the cipher named
    assert [v.status for v in verdicts] == statuses, [v.message for v in verdicts]
    assert words in verdicts[0].message


def test_marker_with_borg_json_mode_counts_for_encryption():
    marker = MarkerFile("/var/backups/borg-info.json", NOW - HOUR, "borg", NOW - HOUR, "repokey-blake2")
    (verdict,) = backup_encrypted(BackupFacts(NOW, markers=(marker,)), 256, False)
    assert verdict.status is Status.PASS and verdict.resource == "/var/backups/borg-info.json"
