"""screenlock collector: recorded dconf, gsettings and kscreenlockerrc outputs become facts; one local run."""

from __future__ import annotations

import os
from pathlib import Path

from auditor.collectors.screenlock import (
    DCONF_SYSTEM,
    DEFAULT_TARGET,
    DESKTOP_PROBE,
    DESKTOPS,
    DISPLAY_MANAGERS,
    GNOME_DEFAULTS,
    GSETTINGS,
    KDE_SYSTEM,
    USER_CONFIGS,
    _dconf_dump,
    collect,
    parse_dconf_system,
    parse_kscreenlockerrc,
    parse_user_configs,
)
from auditor.models import Platform, SystemFacts
from auditor.transports.base import CommandResult
from auditor.transports.local import LocalTransport
from tests.auditor.fake_host import FakeHost

OUTPUTS = Path(__file__).parents[2] / "fixtures" / "outputs" / "maintenance"
LINUX = SystemFacts(Platform.LINUX)


def _text(name: str) -> str:
    return (OUTPUTS / name).read_text()


def _res(command, stdout: str, status: int = 0, stderr: str = "") -> tuple[str, CommandResult]:
    return str(command), CommandResult(str(command), status, stdout, stderr)


def _gsettings() -> list[tuple[str, CommandResult]]:
    names = ("idle-delay", "lock-enabled", "lock-delay")
    return [_res(c, _text(f"debian12-gsettings-{n}.txt")) for c, n in zip(GSETTINGS, names, strict=True)]


def test_headless_host_has_no_desktop():
    # Given stat finding none of the desktop or display-manager paths (exit 1), as on this container
    host = FakeHost(dict([_res(DESKTOP_PROBE, "", 1, "stat: cannot statx '/usr/bin/gnome-shell': No such file"),
                          _res(DEFAULT_TARGET, _text("debian12-container-systemctl-get-default.txt"))]))
    facts = collect(host, LINUX)
    # Then it is headless and nothing else was asked
    assert facts.headless and facts.default_target == "graphical.target" and facts.locks == ()
    assert str(DCONF_SYSTEM) not in host.calls


def test_gnome_with_system_lock_and_two_users():
    # Given GNOME with the locked system database and per-user databases for alice (idle 0) and bob (600 s)
    host = FakeHost(dict([
        _res(DESKTOP_PROBE, "/usr/bin/gnome-shell\n/usr/sbin/gdm3\n"),
        _res(DEFAULT_TARGET, "graphical.target\n"),
        _res(USER_CONFIGS, "/home/alice/.config/dconf/user\n/home/bob/.config/dconf/user\n/root/.cache/x\n"),
        _res(DCONF_SYSTEM, _text("gnome-grep-etc-dconf-locked.txt")),
        _res(_dconf_dump("/home/alice"), _text("debian12-dconf-dump-idle0.txt")),
        _res(_dconf_dump("/home/bob"), _text("debian12-dconf-dump-idle600.txt")),
        *_gsettings(),
    ]))
    facts = collect(host, LINUX)
    # Then the system layer carries the values and all three locks, and each user's own values are kept
    assert facts.desktops == ("gnome",) and facts.display_managers == ("gdm",)
    gnome = facts.locks[0]
    system, alice, bob, scanner = gnome.layers
    assert (system.idle_seconds, system.lock_enabled, system.grace_seconds) == (300, True, 0)
    assert system.locked == ("enabled", "grace", "idle") and system.source == "/etc/dconf/db/local.d"
    assert (alice.scope, alice.idle_seconds, alice.lock_enabled) == ("user:alice", 0, None)
    assert (bob.idle_seconds, bob.lock_enabled, bob.grace_seconds) == (600, True, 30)
    assert (scanner.scope, scanner.idle_seconds, scanner.lock_enabled, scanner.grace_seconds) == \
        ("scanner", 300, True, 0)
    assert gnome.defaults == GNOME_DEFAULTS


def test_unlocked_idle_zero_in_system_database():
    setting = parse_dconf_system(_text("gnome-grep-etc-dconf-idle0.txt"))
    assert (setting.idle_seconds, setting.locked, setting.lock_enabled) == (0, (), None)


def test_system_database_without_profile_is_not_used():
    text = "\n".join(line for line in _text("gnome-grep-etc-dconf-locked.txt").splitlines()
                     if not line.startswith("/etc/dconf/profile/"))
    setting = parse_dconf_system(text)
    assert setting.idle_seconds is None and "no /etc/dconf/profile/user" in setting.problem


def test_missing_dconf_cli_is_reported_per_user():
    host = FakeHost(dict([
        _res(DESKTOP_PROBE, "/usr/bin/gnome-shell\n"),
        _res(USER_CONFIGS, "/home/alice/.config/dconf/user\n"),
        _res(DCONF_SYSTEM, _text("gnome-grep-etc-dconf-idle0.txt")),
        _res(_dconf_dump("/home/alice"), "", 127, "env: 'dconf': No such file or directory"),
        *_gsettings(),
    ]))
    alice = collect(host, LINUX).locks[0].layers[1]
    assert alice.scope == "user:alice" and "dconf-cli" in alice.problem


def test_kde_system_immutable_and_user_file():
    # Given plasmashell, an immutable [Daemon][$i] group system-wide and a user's 30-minute timeout
    host = FakeHost(
        dict([_res(DESKTOP_PROBE, "/usr/bin/plasmashell\n/usr/bin/sddm\n"),
              _res(USER_CONFIGS, "/home/carol/.config/kscreenlockerrc\n")]),
        {KDE_SYSTEM: _text("kde-etc-xdg-kscreenlockerrc-immutable.txt").encode(),
         "/home/carol/.config/kscreenlockerrc": _text("kde-user-kscreenlockerrc-30min.txt").encode()},
    )
    kde = collect(host, LINUX).locks[0]
    system, carol = kde.layers
    # Then Timeout is converted from minutes, and only the immutable group counts as locked
    assert (system.idle_seconds, system.lock_enabled, system.grace_seconds) == (300, True, 5)
    assert system.locked == ("enabled", "grace", "idle")
    assert (carol.scope, carol.idle_seconds, carol.locked) == ("user:carol", 1800, ())


def test_kde_key_level_immutable_marker():
    setting = parse_kscreenlockerrc("[Daemon]\nTimeout[$i]=10\nAutolock=false\n")
    assert (setting.idle_seconds, setting.lock_enabled, setting.locked) == (600, False, ("idle",))


def test_user_config_paths_are_read_only_at_the_home_root():
    dconf, kde = parse_user_configs("/home/alice/.config/dconf/user\n/home/alice/src/.config/dconf/user\n"
                                    "/root/.config/dconf/user\n/home/bob/.config/kscreenlockerrc\n")
    assert dconf == {"alice": "/home/alice", "root": "/root"} and kde == {"bob": "/home/bob"}


def test_local_machine_agrees_with_the_filesystem():
    # Given this machine, When the collector runs for real
    facts = collect(LocalTransport(), LINUX)
    # Then the desktops it reports are exactly the session binaries present on disk
    present = {name for path, name in DESKTOPS.items() if os.path.exists(path)}
    managers = {name for path, name in DISPLAY_MANAGERS.items() if os.path.exists(path)}
    assert set(facts.desktops) == present and set(facts.display_managers) == managers
    assert facts.headless == (not present and not managers)
