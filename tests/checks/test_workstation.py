"""LOCK-0010 on facts built in code: table-driven, Given/When/Then."""

from __future__ import annotations

import pytest

from auditor.collectors.screenlock import GNOME_DEFAULTS, KDE_DEFAULTS, DesktopLock, LockSetting, ScreenlockFacts
from auditor.models import Role, Status, Target, TargetKind
from auditor.pipeline import load_checks
from auditor.plan import Selection, collectors_for, plan_target
from auditor.profile import load_profile
from checks.workstation import screen_locks

WORKSTATION = Target("laptop", TargetKind.LOCAL, Role.WORKSTATION)
ALL_LOCKED = ("enabled", "grace", "idle")


def _gnome(*layers: LockSetting) -> ScreenlockFacts:
    return ScreenlockFacts(("gnome",), ("gdm",), "graphical.target", (DesktopLock("gnome", GNOME_DEFAULTS, layers),))


def _system(idle=None, enabled=None, grace=None, locked=(), problem="") -> LockSetting:
    return LockSetting("system", "/etc/dconf/db/local.d", idle, enabled, grace, locked, problem)


def _user(name: str, idle=None, enabled=None, grace=None, problem="") -> LockSetting:
    return LockSetting(f"user:{name}", f"/home/{name}/.config/dconf/user", idle, enabled, grace, (), problem)


@pytest.mark.parametrize(
    ("facts", "status", "words"),
    [
        # system-wide lock enforces 300 s: pass, even though a user tried 0 (the lock overrides it)
        (_gnome(_system(300, True, 0, ALL_LOCKED), _user("alice", 0)), Status.PASS, "enforced system-wide"),
        # locked, but 1200 s is longer than allowed
        (_gnome(_system(1200, True, 0, ALL_LOCKED)), Status.FAIL, "locks only after 1200 s"),
        # locked idle-delay 0 = never
        (_gnome(_system(0, True, 0, ALL_LOCKED)), Status.FAIL, "never locks"),
        # unlocked system default 0 (GNOME idle 0), no users read: fail
        (_gnome(_system(0)), Status.FAIL, "never locks"),
        # unlocked compliant defaults, one user read and compliant: warn, not enforced
        (_gnome(_system(300, True, 0), _user("bob", 600, True, 30)), Status.WARN, "no system-wide lock"),
        # a user who raised the idle delay beyond the limit: fail naming the user
        (_gnome(_system(300, True, 0), _user("bob", 1800)), Status.FAIL, "user bob: locks only after 1800 s"),
        # a user who disabled locking
        (_gnome(_system(), _user("carol", None, False)), Status.FAIL, "user carol: never locks"),
        # nothing readable per user: warn and say so
        (_gnome(_system(problem="no /etc/dconf/profile/user"), _user("dave", problem="dconf CLI missing")),
         Status.WARN, "not readable: dave (dconf CLI missing)"),
    ],
)
def test_gnome_screen_lock(facts, status, words):
    # Given GNOME facts, When LOCK-0010 evaluates them on a workstation with the 900 s default
    (verdict,) = screen_locks(facts, 900)
    # Then the status and the sentence say what was observed
    assert verdict.status is status, verdict.message
    assert words in verdict.message
    assert verdict.expected["max_seconds"] == 900


def test_kde_autolock_enforced():
    layers = (LockSetting("system", "/etc/xdg/kscreenlockerrc", 300, True, 5, ALL_LOCKED),)
    facts = ScreenlockFacts(("kde",), ("sddm",), "graphical.target", (DesktopLock("kde", KDE_DEFAULTS, layers),))
    (verdict,) = screen_locks(facts, 900)
    assert verdict.status is Status.PASS and "305 s" in verdict.message and verdict.resource == "kde"


def test_kde_user_timeout_too_long():
    layers = (LockSetting("system", "/etc/xdg/kscreenlockerrc", problem="file absent"),
              LockSetting("user:carol", "/home/carol/.config/kscreenlockerrc", 1800, True))
    facts = ScreenlockFacts(("kde",), (), "", (DesktopLock("kde", KDE_DEFAULTS, layers),))
    (verdict,) = screen_locks(facts, 900)
    assert verdict.status is Status.FAIL and "user carol: locks only after 1805 s" in verdict.message


def test_a_workstation_without_a_desktop_is_not_applicable():
    (verdict,) = screen_locks(ScreenlockFacts((), (), "multi-user.target"), 900)
    assert verdict.status is Status.NOT_APPLICABLE and "No desktop session or graphical login" in verdict.message


def test_on_a_server_lock_0010_is_not_applicable_before_anything_is_collected():
    # Given the default profile's checks and a server and a workstation reached over SSH
    profile = load_profile()
    checks = profile.effective_checks(load_checks(profile))
    server, workstation = (Target(name, TargetKind.SSH, role, options={"host": "10.0.0.5"})
                           for name, role in (("db", Role.SERVER), ("pc", Role.WORKSTATION)))
    # When each is planned (before it is touched)
    planned = {t.name: plan_target(t, checks, profile, Selection()) for t in (server, workstation)}
    # Then on the server LOCK-0010 is not applicable, with the reason a reader needs, and its desktop settings
    # (the screenlock collector) are not collected there; on the workstation it runs
    (skip,) = [s for s in planned["db"].skipped if s.check.id == "LOCK-0010"]
    assert skip.status is Status.NOT_APPLICABLE
    assert skip.reason == "Only targets with the role workstation are checked; this target's role is server."
    assert "screenlock" not in collectors_for(planned["db"].checks)
    assert "LOCK-0010" in {s.id for s in planned["pc"].checks} and "screenlock" in collectors_for(planned["pc"].checks)


def test_unreadable_desktop_is_a_warning():
    facts = ScreenlockFacts(("xfce",), ("lightdm",), "graphical.target")
    (verdict,) = screen_locks(facts, 900)
    assert verdict.status is Status.WARN and "xfce" in verdict.message


def test_no_desktop_with_graphical_default_target_is_not_called_headless_because_of_it():
    # Given a workstation with no desktop session and no login manager, whose systemd default is graphical.target
    # (Debian's systemd makes it the default whether or not a desktop is installed)
    facts = ScreenlockFacts((), (), "graphical.target")
    # When LOCK-0010 evaluates it
    (verdict,) = screen_locks(facts, 900)
    # Then it is not applicable because nothing graphical is installed, and the graphical default is not given
    # as the evidence of a headless host
    assert verdict.status is Status.NOT_APPLICABLE
    assert verdict.message == (
        "No desktop session or graphical login manager is installed, so there is no screen to lock; systemd's "
        "default target is graphical.target, but with no login manager installed it starts no graphical session.")
    assert "Headless" not in verdict.message


def test_no_desktop_names_a_text_default_target_as_agreeing():
    (verdict,) = screen_locks(ScreenlockFacts((), (), "multi-user.target"), 900)
    assert verdict.message == ("No desktop session or graphical login manager is installed, so there is no screen "
                               "to lock (systemd starts multi-user.target, a text console).")


def test_no_desktop_and_no_systemd_answer():
    (verdict,) = screen_locks(ScreenlockFacts((), (), ""), 900)
    assert verdict.message == "No desktop session or graphical login manager is installed, so there is no screen to " \
        "lock."
