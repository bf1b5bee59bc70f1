"""Facts about automatic screen locking on Linux desktops (GNOME and KDE Plasma).

A scan runs as root, and `gsettings` answers for the *calling* account only, so the authority for every user is
the system-wide configuration: GNOME's dconf system databases (key files in /etc/dconf/db/<db>.d/, locks in
/etc/dconf/db/<db>.d/locks/, active only when /etc/dconf/profile/user names `system-db:<db>`) and KDE's
/etc/xdg/kscreenlockerrc (`[$i]` makes a group or key immutable). Each user's own settings are read too where
possible: GNOME's per-user dconf database with `dconf dump` pointed at that user's ~/.config (needs the dconf
CLI; it reads the database file, no session needed), KDE's ~/.config/kscreenlockerrc. The scanning account's
own `gsettings` answers are kept as what a user without personal settings gets.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import field

from auditor.collectors.base import Requests
from auditor.collectors.native import NATIVE, native_collect, native_requests
from auditor.models import SystemFacts
from auditor.records import record
from auditor.transports.base import Command, CommandResult, Transport, cmd

DESKTOPS = {
    "/usr/bin/gnome-shell": "gnome", "/usr/bin/plasmashell": "kde", "/usr/bin/xfce4-session": "xfce",
    "/usr/bin/cinnamon-session": "cinnamon", "/usr/bin/mate-session": "mate", "/usr/bin/lxqt-session": "lxqt",
    "/usr/bin/budgie-desktop": "budgie",
}
DISPLAY_MANAGERS = {
    "/usr/sbin/gdm3": "gdm", "/usr/sbin/gdm": "gdm", "/usr/sbin/lightdm": "lightdm", "/usr/bin/sddm": "sddm",
    "/etc/systemd/system/display-manager.service": "display-manager.service",
}
DESKTOP_PROBE = cmd("stat", "-c", "%n", *DESKTOPS, *DISPLAY_MANAGERS)
DEFAULT_TARGET = cmd("systemctl", "get-default")
DCONF_SYSTEM = cmd("grep", "-rIs", "", "/etc/dconf")
USER_CONFIGS = cmd("find", "/home", "/root", "-mindepth", "1", "-maxdepth", "4", "(", "-path", "*/.config/dconf/user",
                   "-o", "-path", "*/.config/kscreenlockerrc", ")", "-print", sudo=True)
GSETTINGS = (
    cmd("gsettings", "get", "org.gnome.desktop.session", "idle-delay"),
    cmd("gsettings", "get", "org.gnome.desktop.screensaver", "lock-enabled"),
    cmd("gsettings", "get", "org.gnome.desktop.screensaver", "lock-delay"),
)
KDE_SYSTEM = "/etc/xdg/kscreenlockerrc"

# Upstream defaults: gsettings-desktop-schemas (idle-delay 300, lock-enabled true, lock-delay 0) and
# kscreenlocker's kscreenlockersettings.kcfg (Autolock true, Timeout 5 minutes, LockGrace 5 seconds).
GNOME_DEFAULTS = (300, True, 0)
KDE_DEFAULTS = (300, True, 5)
_GNOME_KEYS = {"/org/gnome/desktop/session/idle-delay": "idle", "/org/gnome/desktop/screensaver/lock-enabled":
               "enabled", "/org/gnome/desktop/screensaver/lock-delay": "grace"}


@record
class LockSetting:
    """One layer of screen-lock configuration.

    Attributes:
        scope: "system" (applies to every user), "user:<name>", or "scanner" (the scanning account's gsettings).
        source: the file or command the values come from.
        idle_seconds: idle time before the screen blanks/locks (GNOME idle-delay, KDE Timeout*60); 0 = never.
        lock_enabled: the screen locks when idle (GNOME lock-enabled, KDE Autolock).
        grace_seconds: extra delay before the lock needs a password (GNOME lock-delay, KDE LockGrace).
        locked: which of "idle", "enabled", "grace" users cannot change (dconf locks, KDE `[$i]`).
        problem: why this layer could not be read, or "".
    A value is None when this layer does not set it (a lower layer or the default applies).
    """

    scope: str
    source: str
    idle_seconds: int | None = None
    lock_enabled: bool | None = None
    grace_seconds: int | None = None
    locked: tuple[str, ...] = ()
    problem: str = ""


@record
class DesktopLock:
    """Attributes:
    desktop: "gnome" or "kde".
    defaults: the values the desktop uses when nothing sets them (idle seconds, enabled, grace seconds).
    layers: the system layer first, then one per user whose settings were found, then the scanner's view.
    """

    desktop: str
    defaults: tuple[int, bool, int]
    layers: tuple[LockSetting, ...] = ()


@record
class ScreenlockFacts:
    """Attributes:
    desktops: desktop environments whose session binary is installed ("gnome", "kde", "xfce", ...).
    display_managers: graphical login managers found (gdm, lightdm, sddm, display-manager.service).
    default_target: `systemctl get-default` ("graphical.target", "multi-user.target") or "" when unknown. It is
        context, not evidence of a desktop: Debian's systemd makes graphical.target the default on every install.
    locks: screen-lock configuration for each desktop whose settings this collector reads (GNOME, KDE).
    notes: what could not be read and why, in words.
    """

    desktops: tuple[str, ...]
    display_managers: tuple[str, ...] = ()
    default_target: str = ""
    locks: tuple[DesktopLock, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def headless(self) -> bool:
        """No desktop session and no graphical login is installed (whatever the default target says)."""
        return not self.desktops and not self.display_managers


def requests(system: SystemFacts) -> Requests:
    if system.platform in NATIVE:
        return native_requests("screenlock", system)
    return (DESKTOP_PROBE, DEFAULT_TARGET, DCONF_SYSTEM, USER_CONFIGS, *GSETTINGS), (KDE_SYSTEM,)


def collect(host: Transport, system: SystemFacts) -> ScreenlockFacts:
    if system.platform in NATIVE:
        return native_collect("screenlock", host, system)  # type: ignore[no-any-return]
    found = {line.strip() for line in host.run(DESKTOP_PROBE).stdout.splitlines()}
    desktops = tuple(dict.fromkeys(name for path, name in DESKTOPS.items() if path in found))
    managers = tuple(dict.fromkeys(name for path, name in DISPLAY_MANAGERS.items() if path in found))
    target = host.run(DEFAULT_TARGET)
    default_target = target.stdout.strip() if target.ok else ""
    if not desktops and not managers:
        return ScreenlockFacts((), (), default_target)
    notes: list[str] = []
    configs = host.run(USER_CONFIGS)
    dconf_users, kde_users = parse_user_configs(configs.stdout)
    if not configs.ok and not configs.stdout:
        notes.append(f"home directories could not be searched: {configs.failure()}")
    locks = []
    if "gnome" in desktops:
        locks.append(_gnome(host, dconf_users, notes))
    if "kde" in desktops:
        locks.append(_kde(host, kde_users))
    return ScreenlockFacts(desktops, managers, default_target, tuple(locks), tuple(notes))


def _gnome(host: Transport, users: Mapping[str, str], notes: list[str]) -> DesktopLock:
    dconf = host.run(DCONF_SYSTEM)
    system = parse_dconf_system(dconf.stdout)
    dumps = host.run_many([_dconf_dump(home) for home in users.values()])
    layers = [system]
    for (user, home), result in zip(users.items(), dumps, strict=True):
        source = f"{home}/.config/dconf/user"
        if result.ok:
            layers.append(_replace_scope(parse_dconf_dump(result.stdout), f"user:{user}", source))
        else:
            layers.append(LockSetting(f"user:{user}", source, problem=_dconf_failure(result)))
    if not users:
        notes.append("no per-user GNOME settings (~/.config/dconf/user) were found under /home or /root")
    layers.append(parse_gsettings([host.run(c) for c in GSETTINGS]))
    return DesktopLock("gnome", GNOME_DEFAULTS, tuple(layers))


def _kde(host: Transport, users: Mapping[str, str]) -> DesktopLock:
    paths = [KDE_SYSTEM, *(f"{home}/.config/kscreenlockerrc" for home in users.values())]
    files = host.read_many(paths)
    layers = []
    for scope, content in zip(["system", *(f"user:{u}" for u in users)], files, strict=True):
        if content.error:
            layers.append(LockSetting(scope, content.path, problem=content.error))
        elif content.exists:
            layers.append(_replace_scope(parse_kscreenlockerrc(content.text), scope, content.path))
        else:
            layers.append(LockSetting(scope, content.path, problem="file absent"))
    return DesktopLock("kde", KDE_DEFAULTS, tuple(layers))


def _dconf_dump(home: str) -> Command:
    # dconf reads <XDG_CONFIG_HOME>/dconf/user (stacked with the system databases) straight from the file.
    return cmd("env", f"XDG_CONFIG_HOME={home}/.config", "dconf", "dump", "/org/gnome/desktop/", sudo=True)


def _replace_scope(setting: LockSetting, scope: str, source: str) -> LockSetting:
    return LockSetting(scope, source, setting.idle_seconds, setting.lock_enabled, setting.grace_seconds,
                       setting.locked, setting.problem)


def parse_user_configs(text: str) -> tuple[dict[str, str], dict[str, str]]:
    """`find` paths -> ({user: home} with a dconf database, {user: home} with a kscreenlockerrc)."""
    dconf: dict[str, str] = {}
    kde: dict[str, str] = {}
    for line in text.splitlines():
        home, marker, rest = line.strip().partition("/.config/")
        parts = home.split("/")
        if not marker or parts not in (["", "root"], ["", "home", parts[-1]]) or not parts[-1]:
            continue
        user = parts[-1]
        if rest == "dconf/user":
            dconf[user] = home
        elif rest == "kscreenlockerrc":
            kde[user] = home
    return dict(sorted(dconf.items())), dict(sorted(kde.items()))


def parse_dconf_system(text: str) -> LockSetting:
    """`grep -rIs '' /etc/dconf` (path:line) -> the system layer of the databases the user profile names."""
    files: dict[str, list[str]] = {}
    for line in text.splitlines():
        path, found, content = line.partition(":")
        if found:
            files.setdefault(path, []).append(content)
    profile = files.get("/etc/dconf/profile/user")
    if profile is None:
        return LockSetting("system", "/etc/dconf/profile/user",
                           problem="no /etc/dconf/profile/user: dconf uses no system database for users")
    dbs = [line.split(":", 1)[1].strip() for line in profile if line.strip().startswith("system-db:")]
    values: dict[str, str] = {}
    locked: set[str] = set()
    # The first system database in the profile wins, so read them in reverse and let earlier ones overwrite.
    for db in reversed(dbs):
        prefix = f"/etc/dconf/db/{db}.d/"
        for path in sorted(p for p in files if p.startswith(prefix)):
            if path.startswith(prefix + "locks/"):
                locked.update(_GNOME_KEYS[key.strip()] for key in files[path] if key.strip() in _GNOME_KEYS)
            else:
                values.update(_gnome_values(_keyfile(files[path]), "org/gnome/desktop/"))
    source = ", ".join(f"/etc/dconf/db/{db}.d" for db in dbs) or "/etc/dconf/profile/user (no system-db)"
    return _gnome_setting("system", source, values, tuple(sorted(locked)))


def parse_dconf_dump(text: str) -> LockSetting:
    """`dconf dump /org/gnome/desktop/`: key-file sections relative to the dumped path ([session], [screensaver])."""
    return _gnome_setting("user", "dconf dump", _gnome_values(_keyfile(text.splitlines()), ""), ())


def parse_gsettings(results: list[CommandResult]) -> LockSetting:
    """Three `gsettings get` answers (idle-delay, lock-enabled, lock-delay), e.g. "uint32 300" and "true"."""
    failed = [r for r in results if not r.ok]
    if failed:
        return LockSetting("scanner", "gsettings", problem=failed[0].failure())
    values = {"idle": results[0].stdout, "enabled": results[1].stdout, "grace": results[2].stdout}
    return _gnome_setting("scanner", "gsettings get", values, ())


def parse_kscreenlockerrc(text: str) -> LockSetting:
    """KConfig [Daemon] group: Autolock, Timeout (minutes), LockGrace (seconds); `[$i]` marks immutable."""
    group = ""
    group_immutable = file_immutable = False
    values: dict[str, str] = {}
    locked: set[str] = set()
    names = {"Timeout": "idle", "Autolock": "enabled", "LockGrace": "grace"}
    for raw in text.splitlines():
        line = raw.strip()
        if line == "[$i]":
            file_immutable = True
        elif line.startswith("["):
            group = line.split("]", 1)[0].lstrip("[")
            group_immutable = "[$i]" in line
        elif group == "Daemon" and "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            immutable = key.endswith("[$i]")
            key = key.replace("[$i]", "").strip()
            if key in names:
                values[key] = value.strip()
                if immutable or group_immutable or file_immutable:
                    locked.add(names[key])
    timeout = _number(values.get("Timeout"))
    grace = _number(values.get("LockGrace"))
    return LockSetting("system", "kscreenlockerrc", None if timeout is None else round(timeout * 60),
                       _bool(values.get("Autolock")), None if grace is None else round(grace),
                       tuple(sorted(locked)))


def _keyfile(lines: list[str]) -> dict[str, str]:
    """GKeyFile lines -> {"section/key": value}."""
    values: dict[str, str] = {}
    section = ""
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip("/")
        elif "=" in line:
            key, _, value = line.partition("=")
            values[f"{section}/{key.strip()}"] = value.strip()
    return values


def _gnome_values(keyfile: Mapping[str, str], prefix: str) -> dict[str, str]:
    wanted = {f"{prefix}session/idle-delay": "idle", f"{prefix}screensaver/lock-enabled": "enabled",
              f"{prefix}screensaver/lock-delay": "grace"}
    return {wanted[k]: v for k, v in keyfile.items() if k in wanted}


def _gnome_setting(scope: str, source: str, values: Mapping[str, str], locked: tuple[str, ...]) -> LockSetting:
    idle = _number(_gvariant(values.get("idle")))
    grace = _number(_gvariant(values.get("grace")))
    return LockSetting(scope, source, None if idle is None else int(idle), _bool(_gvariant(values.get("enabled"))),
                       None if grace is None else int(grace), locked)


def _gvariant(text: str | None) -> str | None:
    """GVariant text ("uint32 300", "true", "300") -> the bare value."""
    if text is None:
        return None
    return re.sub(r"^(?:u?int(?:16|32|64)|byte)\s+", "", text.strip())


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def _bool(text: str | None) -> bool | None:
    return {"true": True, "false": False}.get((text or "").strip().lower())


def _dconf_failure(result: CommandResult) -> str:
    # dconf's command-line tool is a package of its own that GNOME desktops often lack.
    return result.failure() + (" (package dconf-cli)" if result.not_found else "")
