"""Workstation hardening (LOCK-xxxx): an unattended workstation locks its screen, at home as in the office."""

from __future__ import annotations

from typing import TYPE_CHECKING

from auditor.plugin import ControlRef, Platform, Role, Severity, Verdict, check

if TYPE_CHECKING:
    # Collector modules are imported when a check runs, so loading the pack imports none of them.
    from auditor.collectors.screenlock import DesktopLock, LockSetting, ScreenlockFacts

_NATIVE = ("windows", "macos")
_NAMES = {"gnome": "GNOME", "kde": "KDE Plasma", "windows": "Windows", "macos": "macOS"}


@check(
    id="LOCK-0010",
    title="The workstation screen locks automatically after the allowed idle time",
    severity=Severity.MEDIUM,
    requirements=("R11",),
    controls=(ControlRef("iso27001-2022", "8.1"), ControlRef("iso27001-2022", "7.7"), ControlRef("cis-v8", "4.3")),
    platforms=(Platform.LINUX, Platform.WINDOWS, Platform.MACOS),
    roles=(Role.WORKSTATION,),  # a server or endpoint: not applicable, and its desktop settings are not read
    remediation="Windows: set the policy 'Interactive logon: Machine inactivity limit' (InactivityTimeoutSecs) to "
    "at most the allowed seconds. macOS: a configuration profile (com.apple.screensaver idleTime and "
    "askForPassword) or System Settings > Lock Screen 'Require password immediately'. Linux: enforce the lock "
    "system-wide: GNOME: a key file in /etc/dconf/db/local.d/ with "
    "[org/gnome/desktop/session] idle-delay=uint32 300 and [org/gnome/desktop/screensaver] lock-enabled=true, "
    "lock-delay=uint32 0, the three keys listed in /etc/dconf/db/local.d/locks/, `system-db:local` in "
    "/etc/dconf/profile/user, then `dconf update`; KDE: /etc/xdg/kscreenlockerrc with [Daemon][$i] "
    "Autolock=true and Timeout=5.",
)
def screen_locks(screenlock: ScreenlockFacts, screen_lock_max_seconds: int) -> list[Verdict]:
    if screenlock.headless:
        return [Verdict.not_applicable(_no_screen(screenlock.default_target))]
    verdicts = [_desktop(lock, screen_lock_max_seconds, screenlock.notes) for lock in screenlock.locks]
    unread = [d for d in screenlock.desktops if d not in _NAMES]
    if unread or not verdicts:
        found = ", ".join(screenlock.desktops or screenlock.display_managers)
        verdicts.append(Verdict.warning(
            f"A desktop is installed ({found}) whose screen-lock settings this check cannot read; the "
            "lock must be verified by hand.", resource=",".join(unread) or "desktop",
            observed={"desktops": list(screenlock.desktops), "display_managers": list(screenlock.display_managers)},
            expected={"max_seconds": screen_lock_max_seconds}))
    return verdicts


def _no_screen(default_target: str) -> str:
    """Why a workstation with no desktop has no screen lock to judge. What is installed decides: systemd's default
    target does not, since Debian's systemd makes graphical.target the default on every install, desktop or not
    (it only starts a display manager when one is installed)."""
    if default_target == "graphical.target":
        return ("No desktop session or graphical login manager is installed, so there is no screen to lock; "
                "systemd's default target is graphical.target, but with no login manager installed it starts no "
                "graphical session.")
    if default_target:
        return (f"No desktop session or graphical login manager is installed, so there is no screen to lock "
                f"(systemd starts {default_target}, a text console).")
    return "No desktop session or graphical login manager is installed, so there is no screen to lock."


def _desktop(lock: DesktopLock, limit: int, notes: tuple[str, ...]) -> Verdict:
    from auditor.collectors.screenlock import LockSetting

    name = _NAMES.get(lock.desktop, lock.desktop)
    # Linux findings are per desktop ("gnome", "kde"); Windows and macOS have one screen lock, so no resource.
    resource = "" if lock.desktop in _NATIVE else lock.desktop
    system = next((layer for layer in lock.layers if layer.scope == "system"), LockSetting("system", ""))
    users = [layer for layer in lock.layers if layer.scope.startswith("user:")]
    expected = {"lock_enabled": True, "max_seconds": limit, "enforced_system_wide": True}
    observed: dict[str, object] = {"system": _describe(system, lock), "system_source": system.source,
                                   "locked_keys": list(system.locked)}
    observed.update({layer.scope: _describe(layer, lock) for layer in lock.layers if layer.scope != "system"})
    seconds = _effective(lock, system)
    if {"idle", "enabled"} <= set(system.locked):
        if seconds is not None and seconds <= limit:
            return Verdict.passed(f"{name} locks the screen after {seconds} s of inactivity, enforced system-wide "
                                  f"by a lock users cannot change ({system.source}).", resource=resource,
                                  observed=observed, expected=expected)
        return Verdict.failed(f"{name}'s system-wide locked setting {_words(seconds)}; at most {limit} s is "
                              "required.", resource=resource, observed=observed, expected=expected)
    bad = [(u.scope[5:], s) for u in users if not u.problem and ((s := _effective(lock, system, u)) is None
                                                                 or s > limit)]
    if bad:
        who = "; ".join(f"user {user}: {_words(s)}" for user, s in bad)
        return Verdict.failed(f"{name} does not lock in time for every user ({who}); at most {limit} s is "
                              "required and no system-wide lock enforces it.", resource=resource,
                              observed=observed, expected=expected)
    default = "the system-wide default" if system.source and not system.problem else "the desktop's default"
    read = [u.scope[5:] for u in users if not u.problem]
    if lock.desktop in _NATIVE and read:
        # One account per home laptop: the signed-in user's own setting is what locks it, but nothing enforces it.
        worst = max(s for u in users if not u.problem and (s := _effective(lock, system, u)) is not None)
        return Verdict.warning(f"{name} locks after {worst} s by the user's own setting ({', '.join(read)}), but no "
                               "policy or configuration profile enforces it, so the user can change or disable it.",
                               resource=resource, observed=observed, expected=expected)
    unread = [f"{u.scope[5:]} ({u.problem})" for u in users if u.problem]
    if seconds is None or seconds > limit:
        return Verdict.failed(f"{name}'s {default} {_words(seconds)}; at most {limit} s is required.",
                              resource=resource, observed=observed, expected=expected)
    detail = f"users read: {', '.join(read)}" if read else "no per-user settings could be read"
    if unread:
        detail += f"; not readable: {', '.join(unread)}"
    extra = f" ({'; '.join(notes)})" if notes and not users else ""
    return Verdict.warning(f"{name} locks after {seconds} s by {default} ({detail}){extra}, but no system-wide "
                           f"lock enforces it, so each user can change or disable it.", resource=resource,
                           observed=observed, expected=expected)


def _effective(lock: DesktopLock, system: LockSetting, user: LockSetting | None = None) -> int | None:
    """Idle seconds until the screen is locked for one user (None = never): locked system values win, then the
    user's own, then the system-wide default, then the desktop's built-in default."""
    layers = [layer for layer in (user, system) if layer is not None and not layer.problem]

    def pick(attr: str, key: str, default: int | bool) -> int | bool:
        value = getattr(system, attr)
        if key in system.locked and value is not None:
            return bool(value) if isinstance(default, bool) else int(value)
        for layer in layers:
            value = getattr(layer, attr)
            if value is not None:
                return bool(value) if isinstance(default, bool) else int(value)
        return default

    idle_default, enabled_default, grace_default = lock.defaults
    idle = int(pick("idle_seconds", "idle", idle_default))
    if not pick("lock_enabled", "enabled", enabled_default) or idle <= 0:
        return None
    return idle + int(pick("grace_seconds", "grace", grace_default))


def _describe(layer: LockSetting, lock: DesktopLock) -> str:
    if layer.problem:
        return f"unreadable: {layer.problem}"
    parts = [f"{label}={value}" for label, value in (("idle_s", layer.idle_seconds), ("enabled", layer.lock_enabled),
                                                      ("grace_s", layer.grace_seconds)) if value is not None]
    return ", ".join(parts) or f"nothing set (defaults {lock.defaults})"


def _words(seconds: int | None) -> str:
    return "never locks the screen (idle delay 0 or locking disabled)" if seconds is None else \
        f"locks only after {seconds} s"
