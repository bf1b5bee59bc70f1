"""backup collector: recorded systemd, cron, borg and marker outputs become facts; one local run."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from auditor.collectors.backup import (
    BORG_SECURITY,
    CRON,
    HOST_TIME,
    TIMERS,
    TOOL_PROBE,
    UNIT_FILES,
    _marker_stat,
    borg_cipher,
    collect,
    parse_backup_json,
    parse_borg_security,
    parse_systemd_time,
    show_command,
)
from auditor.models import Platform, SystemFacts
from auditor.transports.base import CommandResult
from auditor.transports.local import LocalTransport
from tests.auditor.fake_host import FakeHost
from tests.conftest import real_epoch

OUTPUTS = Path(__file__).parents[2] / "fixtures" / "outputs" / "maintenance"
LINUX = SystemFacts(Platform.LINUX)
NO_SYSTEMD = "System has not been booted with systemd as init system (PID 1). Can't operate.\n" \
             "Failed to connect to bus: Host is down\n"


def _text(name: str) -> str:
    return (OUTPUTS / name).read_text()


def _res(command, stdout: str, status: int = 0, stderr: str = "") -> tuple[str, CommandResult]:
    return str(command), CommandResult(str(command), status, stdout, stderr)


def _epoch(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def test_restic_timer_last_run_from_systemctl_show():
    # Given a restic service started by a timer, next to two timers that are not backups
    units = ["restic-backup.service", "restic-backup.timer", "logrotate.service", "apt-daily-upgrade.service",
             "logrotate.timer", "apt-daily-upgrade.timer"]
    host = FakeHost(dict([
        _res(HOST_TIME, f"{_epoch('2026-11-26T12:04:41')} +0100\n"),
        _res(TIMERS, _text("restic-systemctl-list-timers.txt")),
        _res(UNIT_FILES, _text("restic-systemctl-list-unit-files.txt")),
        _res(show_command(units), _text("restic-systemctl-show.txt")),
        _res(TOOL_PROBE, "/usr/bin/restic\n", 1),
    ]))
    # When collected
    facts = collect(host, LINUX)
    # Then only the restic service is a job, with its UTC exit time and its timer's last trigger
    assert facts.installed == ("restic",)
    (job,) = facts.jobs
    assert (job.name, job.tool, job.source, job.timer) == ("restic-backup.service", "restic", "systemd",
                                                          "restic-backup.timer")
    assert (job.result, job.exit_status) == ("success", 0)
    assert job.finished_at == _epoch("2026-11-26T09:04:41")
    assert job.triggered_at == _epoch("2026-11-26T09:00:03")
    assert job.command.startswith("/usr/bin/restic backup")
    assert facts.host_time == _epoch("2026-11-26T12:04:41")


def test_failed_borgmatic_service_behind_systemd_inhibit():
    host = FakeHost(dict([
        _res(TIMERS, _text("borgmatic-systemctl-list-timers.txt")),
        _res(UNIT_FILES, "borgmatic.service static -\nborgmatic.timer enabled enabled\n"),
        _res(show_command(["borgmatic.service", "borgmatic.timer"]), _text("borgmatic-systemctl-show-failed.txt")),
    ]))
    (job,) = collect(host, LINUX).jobs
    assert (job.tool, job.result, job.exit_status) == ("borgmatic", "exit-code", 2)
    assert job.finished_at == _epoch("2026-11-26T03:10:09")


def test_borg_security_dir_gives_mode_without_passphrase():
    (repo,) = parse_borg_security(_text("borg-find-security-keyfile-blake2.txt"))
    assert (repo.key_type, repo.mode, borg_cipher(repo.mode)) == (4, "keyfile-blake2", "aes-256-ctr")
    assert repo.location == "ssh://backup@backup.example/./host1"
    assert repo.manifest_written_at == _epoch("2026-11-26T02:10:44")


def test_cron_line_and_marker_with_restic_json():
    # Given a cron entry running restic and a marker holding `restic snapshots --json --latest 1`
    marker = "/var/backups/restic-latest.json"
    host = FakeHost(
        dict([
            _res(HOST_TIME, "1795704000 +0000\n"),
            _res(TIMERS, "", 1, NO_SYSTEMD),
            _res(CRON, "/etc/cron.d/restic:30 2 * * * root /usr/local/bin/restic backup /srv\n"
                       "/etc/cron.d/restic:# borg was here\n", 0),
            _res(_marker_stat([marker]), f"1795690000 {marker}\n"),
        ]),
        {marker: _text("restic-snapshots-latest.json").encode()},
    )
    facts = collect(host, LINUX, [marker])
    (job,) = facts.jobs
    assert (job.name, job.tool, job.source, job.finished_at) == ("/etc/cron.d/restic", "restic", "cron", None)
    (found,) = facts.markers
    assert (found.tool, found.modified_at) == ("restic", 1795690000)
    assert found.newest_backup_at == _epoch("2026-11-26T09:04:12")  # 10:04:12+01:00
    assert facts.marker_paths_requested == (marker,)
    assert any("systemd timers could not be listed" in n and "PID 1" in n for n in facts.notes)


def test_missing_marker_says_why():
    host = FakeHost({str(_marker_stat(["/var/backups/done"])): CommandResult("stat", 1, "", "No such file")})
    (marker,) = collect(host, LINUX, ["/var/backups/done"]).markers
    assert marker.modified_at is None and marker.problem == "does not exist"


def test_borg_list_json_naive_time_is_read_in_the_host_zone():
    tool, newest, mode = parse_backup_json(_text("borg-list-last-json.json"), utc_offset=7200)
    assert (tool, mode) == ("borg", "repokey")
    assert newest == _epoch("2017-08-07T10:27:20")


def test_systemd_time_formats():
    assert parse_systemd_time("Thu 2026-11-26 09:04:41 UTC") == _epoch("2026-11-26T09:04:41")
    assert parse_systemd_time("@1795704000") == 1795704000
    assert parse_systemd_time("") is None and parse_systemd_time("n/a") is None
    assert parse_systemd_time("Fri 2026-10-09 18:10:53 CST") is None  # only UTC is trusted


def test_container_without_any_backup():
    # Given the real outputs of this Debian 12 container: no systemd as PID 1, stock unit files, no cron match
    host = FakeHost(dict([
        _res(HOST_TIME, _text("debian12-date.txt").strip() + " +0000\n"),
        _res(TIMERS, "", 1, NO_SYSTEMD),
        _res(UNIT_FILES, _text("debian12-container-systemctl-list-unit-files.txt")),
        _res(CRON, "", 2),
        _res(BORG_SECURITY, ""),
    ]))
    facts = collect(host, LINUX)
    assert facts.jobs == () and facts.borg_repos == () and facts.markers == ()


def test_local_machine_agrees_with_path_and_clock():
    # Given this machine, When the collector runs for real
    facts = collect(LocalTransport(), LINUX)
    # Then the installed tools match what is on disk and the host time matches this clock
    on_disk = {name for name in ("restic", "borg", "borgmatic") if shutil.which(name) in
               (f"/usr/bin/{name}", f"/usr/local/bin/{name}")}
    assert set(facts.installed) == on_disk
    assert facts.host_time is not None and abs(facts.host_time - real_epoch()) < 60


def test_borg_security_find_walks_only_borgs_own_folders(tmp_path):
    """The real find, with /root and /home moved under tmp_path: it reports borg 1's and borg 2's security folders
    of root and of each user, and does not descend elsewhere in a home (a project's copy is not read)."""
    found = {"root/.config/borg/security/aa", "home/ann/.config/borg/security/bb",
             "home/ann/.local/share/borg/security/cc"}
    for folder in (*found, "home/ann/src/tool/.config/borg/security/dd"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "key-type").write_text("4\n")
        (tmp_path / folder / "notes.txt").write_text("not a borg file\n")
    moved = {"/root": f"{tmp_path}/root", "/home": f"{tmp_path}/home", "/root/*": f"{tmp_path}/root/*",
             "/home/*/*": f"{tmp_path}/home/*/*"}
    argv = tuple(moved.get(word, word) for word in BORG_SECURITY.argv)
    result = LocalTransport().run(replace(BORG_SECURITY, argv=argv))
    repos = parse_borg_security(result.stdout)
    assert result.exit_status == 0, result.stderr
    assert {str(Path(repo.security_dir).relative_to(tmp_path)) for repo in repos} == found
    assert {repo.key_type for repo in repos} == {4}
