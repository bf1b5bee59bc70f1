"""Backups (BACKUP-xxxx): a recent successful backup exists and it is encrypted with AES-256.

Everything is read without the repository password: systemd's record of the last run, cron entries, borg's
client-side security directory, and marker files the profile names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from auditor.plugin import ControlRef, Platform, Severity, Verdict, check

if TYPE_CHECKING:
    # Collector modules are imported when a check runs, so loading the pack imports none of them.
    from auditor.collectors.backup import BackupFacts, BackupJob, BorgRepo, MacosTimeMachine, MarkerFile, WindowsBackup

_HOUR = 3600
_NOTHING_FOUND_LINUX = "no restic or borg job in systemd or cron, no borg repository known to this host, no marker file"


@check(
    id="BACKUP-0010",
    title="The newest successful backup is recent enough",
    severity=Severity.HIGH,
    requirements=("R5",),
    controls=(ControlRef("iso27001-2022", "8.13"), ControlRef("cis-v8", "11.2")),
    platforms=(Platform.LINUX, Platform.WINDOWS, Platform.MACOS),
    remediation="Windows: set up a backup (Windows Server Backup, or the organisation's backup client, with a "
    "marker file). macOS: turn on Time Machine to an encrypted disk. Linux: "
    "schedule the backup (a systemd timer running restic or borg is readable without secrets), fix "
    "failing runs, and if the job cannot be seen from systemd, let it touch a marker file on success and list "
    "that file in the profile's backup_marker_paths.",
)
def backup_recent(backup: BackupFacts | WindowsBackup | MacosTimeMachine, backup_max_age_hours: int,
                  backup_marker_paths: list[str]) -> Verdict:
    expected = {"max_age_hours": backup_max_age_hours, "last_run": "success"}
    markers, borg_repos, requested = _linux_only(backup)
    proofs: list[tuple[int, str]] = []
    for job in backup.jobs:
        if job.result == "success" and job.finished_at is not None:
            proofs.append((job.finished_at, f"{_job_label(job)} last succeeded"))
    for marker in markers:
        if marker.newest_backup_at is not None:
            proofs.append((marker.newest_backup_at, f"the newest {marker.tool} backup listed in {marker.path}"))
        elif marker.modified_at is not None:
            proofs.append((marker.modified_at, f"marker file {marker.path} was last touched"))
    for repo in borg_repos:
        if repo.manifest_written_at is not None:
            proofs.append((repo.manifest_written_at, f"borg repository {repo.location or repo.security_dir} was "
                           "last written (manifest-timestamp)"))
    failed = [j for j in backup.jobs if j.result not in ("", "success")]
    missing = [p for p in backup_marker_paths if p not in requested]
    observed: dict[str, object] = {
        "jobs": [f"{j.name}: {j.result or 'no run recorded'}" for j in backup.jobs],
        "markers": {m.path: m.problem or m.modified_at for m in markers},
        "borg_repositories": [r.location or r.security_dir for r in borg_repos],
    }
    if missing:
        observed["markers_not_collected"] = missing
    if backup.host_time is None:
        return Verdict.warning("The host's clock could not be read, so the age of the backups cannot be computed.",
                               observed=observed, expected=expected)
    if failed:
        names = ", ".join(f"{j.name} ({j.result}, exit status {j.exit_status})" for j in failed)
        return Verdict.failed(f"The last run of {names} failed.", observed=observed, expected=expected)
    if proofs:
        when, source = max(proofs)
        hours = (backup.host_time - when) / _HOUR
        observed.update(newest_backup_age_hours=round(hours, 1), proved_by=source)
        if hours <= backup_max_age_hours:
            return Verdict.passed(f"The newest successful backup is {hours:.1f} h old ({source}).",
                                  observed=observed, expected=expected)
        return Verdict.failed(f"The newest successful backup is {hours:.1f} h old ({source}); at most "
                              f"{backup_max_age_hours} h is allowed.", observed=observed, expected=expected)
    if backup.jobs:
        names = ", ".join(f"{j.name} ({j.source})" for j in backup.jobs)
        return Verdict.warning(f"Backup jobs exist ({names}) but no record of a successful run could be read (cron "
                               "keeps none; systemd forgets runs at reboot); list a marker file the job touches "
                               "in backup_marker_paths.", observed=observed, expected=expected)
    why = f"; the profile's marker files were not read: {', '.join(missing)}" if missing else ""
    why += "".join(f"; {note.rstrip('.')}" for note in backup.notes)
    where = _nothing_found(backup)
    return Verdict.failed(f"No backup job or marker found ({where}){why}.", observed=observed, expected=expected)


@check(
    id="BACKUP-0020",
    title="Backups are encrypted with AES-256",
    severity=Severity.HIGH,
    requirements=("R1", "R5"),
    controls=(ControlRef("iso27001-2022", "8.13"), ControlRef("iso27001-2022", "8.24"), ControlRef("cis-v8", "11.3")),
    platforms=(Platform.LINUX, Platform.WINDOWS, Platform.MACOS),
    remediation="Windows: Windows Server Backup does not encrypt its backups itself: write them to a drive that "
    "BitLocker encrypts with XtsAes256 (`manage-bde -on E: -em XtsAes256`) or to storage that encrypts with "
    "AES-256, and record that in a waiver, since the scan cannot see where the backups are kept. macOS: choose "
    "'Encrypt backups' for the Time Machine disk. Linux: use restic (always AES-256) or a borg repository created "
    "with an encrypting mode (repokey, repokey-blake2, repokey-aes-ocb); `none` and `authenticated` modes do not "
    "encrypt and need a new repository (`borg init -e repokey-blake2`).",
)
def backup_encrypted(backup: BackupFacts | WindowsBackup | MacosTimeMachine, min_aes_bits: int,
                     chacha20_counts_as_aes256: bool) -> list[Verdict]:
    from auditor.collectors.backup import MacosTimeMachine, borg_cipher

    verdicts: list[Verdict] = []
    expected = {"cipher": f"AES with at least {min_aes_bits}-bit keys"}
    aes_ok = min_aes_bits <= 256
    markers, borg_repos, _ = _linux_only(backup)
    restic = [j.name for j in backup.jobs if j.tool == "restic"] + [m.path for m in markers if m.tool == "restic"]
    if restic:
        verdict = Verdict.passed if aes_ok else Verdict.failed
        verdicts.append(verdict(f"restic encrypts every repository with AES-256-CTR and authenticates it with "
                                f"Poly1305-AES; this cannot be turned off ({', '.join(restic)}).", resource="restic",
                                observed={"tool": "restic", "cipher": "aes-256-ctr", "found_in": restic},
                                expected=expected))
    modes = {r.location or r.security_dir: r.mode for r in borg_repos}
    modes.update({m.path: m.encryption_mode for m in markers if m.tool == "borg" and m.encryption_mode})
    for where, mode in modes.items():
        cipher = borg_cipher(mode)
        observed = {"tool": "borg", "mode": mode or "unknown", "cipher": cipher or "unknown"}
        if cipher == "none":
            verdicts.append(Verdict.failed(f"The borg repository {where} is not encrypted (mode {mode}).",
                                           resource=where, observed=observed, expected=expected))
        elif cipher.startswith("aes-256"):
            verdict = Verdict.passed if aes_ok else Verdict.failed
            verdicts.append(verdict(f"The borg repository {where} uses mode {mode} ({cipher.upper()}).",
                                    resource=where, observed=observed, expected=expected))
        elif cipher == "chacha20-poly1305":
            verdict = Verdict.passed if chacha20_counts_as_aes256 else Verdict.failed
            verdicts.append(verdict(f"The borg repository {where} uses ChaCha20-Poly1305 (mode {mode}), which is "
                                    f"{'accepted as equivalent to' if chacha20_counts_as_aes256 else 'not'} AES-256.",
                                    resource=where, observed=observed, expected=expected))
        else:
            verdicts.append(Verdict.warning(f"Could not verify the encryption of borg repository {where}: its "
                                            "key-type is missing or unknown.", resource=where, observed=observed,
                                            expected=expected))
    borg_jobs = [j.name for j in backup.jobs if j.tool in ("borg", "borgmatic")]
    if borg_jobs and not modes:
        verdicts.append(Verdict.warning(
            f"Could not verify the encryption of the borg backups ({', '.join(borg_jobs)}): borg reports its mode "
            "only with the repository passphrase (`borg info`), and no borg security directory "
            "(~/.config/borg/security/<id>/key-type) or marker with `borg info --json` output was readable.",
            resource="borg", observed={"jobs": borg_jobs}, expected=expected))
    for job in backup.jobs:
        if job.tool == "timemachine" and isinstance(backup, MacosTimeMachine):
            verdicts.append(_time_machine(job.name, backup.encryption.get(job.name, "unknown"), expected))
        elif job.tool == "wbadmin":
            verdicts.append(Verdict.failed(
                "wbadmin has no encryption setting of its own: its backups are only as protected as the drive or "
                "share they are written to (a BitLocker drive, say), which this check cannot see, so AES-256 is not "
                "evidenced.", resource=job.name, observed={"tool": "wbadmin", "command": job.command},
                expected=expected))
        elif job.tool not in ("restic", "borg", "borgmatic"):
            verdicts.append(Verdict.failed(
                f"Backup job {job.name} runs {job.tool or job.command or 'an unidentified program'}; its encryption "
                "cannot be established, so AES-256 is not evidenced.", resource=job.name,
                observed={"tool": job.tool or "unknown", "command": job.command}, expected=expected))
    if not verdicts:
        return [Verdict.not_applicable("No backup tool was detected (BACKUP-0010 reports the missing backup).")]
    return verdicts


def _job_label(job: BackupJob) -> str:
    """A job as a sentence names it: a systemd unit or cron file with the tool it runs ("restic-backup.service
    (restic)"); a Windows or macOS job is already named for its product ("Time Machine (Backup)")."""
    if job.source in ("systemd", "cron"):
        return f"{job.name} ({job.tool or 'unknown tool'})"
    return job.name


def _linux_only(backup: BackupFacts | WindowsBackup | MacosTimeMachine) -> tuple[
        tuple[MarkerFile, ...], tuple[BorgRepo, ...], tuple[str, ...]]:
    """(marker files, borg repositories, marker paths asked for): read on Linux only, none elsewhere."""
    from auditor.collectors.backup import BackupFacts

    if isinstance(backup, BackupFacts):
        return backup.markers, backup.borg_repos, backup.marker_paths_requested
    return (), (), ()


def _nothing_found(backup: BackupFacts | WindowsBackup | MacosTimeMachine) -> str:
    """Where BACKUP-0010 looked for a backup on this platform, and found none."""
    from auditor.collectors.backup import MacosTimeMachine, WindowsBackup

    nothing_found = {WindowsBackup: "no Windows Server Backup version (wbadmin)",
                     MacosTimeMachine: "no Time Machine destination or backup"}
    return nothing_found.get(type(backup), _NOTHING_FOUND_LINUX)


def _time_machine(name: str, state: str, expected: dict[str, str]) -> Verdict:
    observed = {"tool": "Time Machine", "encryption": state}
    if state == "encrypted":
        return Verdict.warning(f"{name} backs up to an encrypted disk (APFS encryption, AES-XTS); macOS does not "
                               "report its key size, so AES-256 must be confirmed by hand.", resource=name,
                               observed=observed, expected=expected)
    if state == "not encrypted":
        return Verdict.failed(f"{name} backs up to a disk that is not encrypted: anyone holding the backup disk can "
                              "read the data.", resource=name, observed=observed, expected=expected)
    return Verdict.warning(f"The encryption of {name} could not be read (Time Machine's settings need Full Disk "
                           "Access).", resource=name, observed=observed, expected=expected)
