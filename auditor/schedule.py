"""Scheduled runs: a systemd service and timer (user or system), or a crontab line.

The service runs a non-interactive scan that keeps the last N runs, seals each run to the configured
recipients and exits with the documented codes, so a failing or incomplete run shows in the journal
(`systemctl status auditor-scan`, `journalctl -u auditor-scan`). The signing passphrase comes from
an EnvironmentFile (AUDITOR_KEY_PASSPHRASE=..., mode 0600), never from the unit itself.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from auditor.records import record

EVERY = {"hourly": "hourly", "daily": "daily", "weekly": "weekly", "monthly": "monthly"}
CRON = {"hourly": "@hourly", "daily": "@daily", "weekly": "@weekly", "monthly": "@monthly"}
UNIT = "auditor-scan"


@record
class Schedule:
    every: str
    scan_args: tuple[str, ...]  # arguments after `auditor scan`, paths already absolute
    workdir: Path
    environment_file: Path
    python: str = sys.executable

    @property
    def argv(self) -> list[str]:
        return [self.python, "-m", "auditor", "scan", *self.scan_args]


def _systemd_quote(arg: str) -> str:
    """Quote one argument for ExecStart: systemd's own rules, with % and $ escaped (no specifiers, no vars)."""
    escaped = arg.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%").replace("$", "$$")
    return f'"{escaped}"'


def service_unit(schedule: Schedule) -> str:
    command = " ".join(_systemd_quote(a) for a in schedule.argv)
    return (
        "[Unit]\n"
        "Description=auditor compliance scan (evidence for the data-processing agreement)\n"
        "Wants=network-online.target\nAfter=network-online.target\n\n"
        "[Service]\nType=oneshot\n"
        # Paths in these two settings are taken verbatim (no quotes), with % escaped against specifiers.
        f"WorkingDirectory={str(schedule.workdir).replace('%', '%%')}\n"
        f"EnvironmentFile=-{str(schedule.environment_file).replace('%', '%%')}\n"
        f"ExecStart={command}\n"
        "Nice=10\nIOSchedulingClass=idle\nNoNewPrivileges=yes\nPrivateTmp=yes\n"
    )


def timer_unit(schedule: Schedule) -> str:
    return (
        "[Unit]\nDescription=Run the auditor compliance scan " + schedule.every + "\n\n"
        f"[Timer]\nOnCalendar={EVERY[schedule.every]}\nPersistent=true\nRandomizedDelaySec=15min\n\n"
        "[Install]\nWantedBy=timers.target\n"
    )


def cron_line(schedule: Schedule) -> str:
    command = " ".join(shlex.quote(a) for a in schedule.argv)
    # `set -a`: the file's plain NAME=value lines are exported, so that they reach the scan (sourced alone, they
    # would stay shell variables, and AUDITOR_KEY_PASSPHRASE would not: the run would not be signed).
    env = f"set -a; . {shlex.quote(str(schedule.environment_file))} 2>/dev/null; set +a; " \
        if schedule.environment_file else ""
    line = f"{CRON[schedule.every]} cd {shlex.quote(str(schedule.workdir))} && {env}{command}"
    return line.replace("%", "\\%")  # cron turns a bare % into a newline


def write_units(schedule: Schedule, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    service, timer = folder / f"{UNIT}.service", folder / f"{UNIT}.timer"
    service.write_text(service_unit(schedule), encoding="utf-8")
    timer.write_text(timer_unit(schedule), encoding="utf-8")
    return [service, timer]


def enable_advice(written: Sequence[Path], folder: Path, default_folder: Path, system: bool) -> str:
    """How to start the timer: enable it where systemd reads units; from another folder (--unit-dir), bring the
    units to systemd first (copy, or `systemctl link`), since `enable` alone would find no such unit."""
    scope = "" if system else " --user"
    enable = f"systemctl{scope} daemon-reload && systemctl{scope} enable --now {UNIT}.timer"
    if folder.resolve() == default_folder.resolve():
        return f"enable it with: {enable}"
    shown = "/etc/systemd/system" if system else "~/.config/systemd/user"
    units = " ".join(shlex.quote(str(p.absolute())) for p in written)
    return (f"systemd does not read units from {folder.absolute()}: copy them into {shown}, or link them there "
            f"with: systemctl{scope} link {units}; then: {enable}")


def scan_arguments(inventory: str | None, profile: str | None, reports_dir: Path, keep: int,
                   seal_to: Sequence[str]) -> tuple[str, ...]:
    args: list[str] = ["--quiet", "--reports-dir", str(reports_dir.resolve()), "--keep", str(keep)]
    if inventory:
        args += ["--inventory", str(Path(inventory).resolve())]
    if profile:
        args += ["--profile", str(Path(profile).resolve())]
    for recipient in seal_to:
        args += ["--seal-to", str(Path(recipient).resolve())]
    return tuple(args)
