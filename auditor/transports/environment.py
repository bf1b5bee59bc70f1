"""The environment a child process of the scanner starts with: what it needs to run, none of the scanner's secrets.

The scanner's own environment holds secrets by design: AUDITOR_KEY_PASSPHRASE unlocks the signing key, an
inventory's `password_env` / `passphrase_env` name variables holding SSH and database passwords, the broker's
password sits in one too. A local command (any program on PATH: a wrapper, a vendor tool, something a hostile
local user planted) would otherwise inherit them all and could read them from its own environment or
/proc/self/environ.

An allow-list, not a deny-list: a deny-list must know every variable that holds a secret, including the ones an
inventory names later and the ones a user exported for something else (AWS_SECRET_ACCESS_KEY, GITHUB_TOKEN...).
What a command legitimately needs from us is short: where programs are (PATH), who and where the user is (HOME,
USER, LOGNAME, TMPDIR), the time zone, the desktop session's folders and bus, and on Windows the variables
without which Windows programs do not start.
The locale is set to C by the transport itself, so tool output stays parseable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

_NEEDED = frozenset({
    "PATH", "HOME", "USER", "LOGNAME", "TZ", "TMPDIR", "TEMP", "TMP",
    # An employee's desktop session: `gsettings` answers for the scanning account through these.
    "XDG_CONFIG_HOME", "XDG_CONFIG_DIRS", "XDG_DATA_HOME", "XDG_DATA_DIRS", "XDG_RUNTIME_DIR",
    "DBUS_SESSION_BUS_ADDRESS",
    # Windows: without SYSTEMROOT many programs (PowerShell, .NET) fail to start; the rest name system folders.
    "SYSTEMROOT", "SYSTEMDRIVE", "WINDIR", "COMSPEC", "PATHEXT", "PROGRAMDATA", "PROGRAMFILES",
    "PROGRAMFILES(X86)", "PROGRAMW6432", "COMMONPROGRAMFILES", "ALLUSERSPROFILE", "USERPROFILE", "USERNAME",
    "APPDATA", "LOCALAPPDATA", "PSMODULEPATH", "NUMBER_OF_PROCESSORS", "PROCESSOR_ARCHITECTURE",
})
# The scanner's own Python helpers (the TLS scan server) also get the interpreter's settings and the trust
# store's location; and the test suite's clock shift (tests/later/sitecustomize.py), which is not a secret.
_PYTHON_NEEDED = frozenset({"SSL_CERT_FILE", "SSL_CERT_DIR", "AUDITOR_TEST_DAYS_AHEAD"})


def command_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The variables of `environ` a command run on this machine may see (compared case-blind, as Windows does)."""
    return {name: value for name, value in environ.items()
            if name.upper() in _NEEDED or name.upper().startswith("LC_") or name.upper() == "LANG"}


def helper_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The variables one of the scanner's own Python helper processes may see."""
    return {**command_environment(environ),
            **{name: value for name, value in environ.items()
               if name in _PYTHON_NEEDED or name.startswith("PYTHON")}}


# Every variable a target of this process names as holding a secret (any target's password_env or passphrase_env,
# a database account's password_env): a ProxyCommand is started with one target's settings, and another target's
# password sits in the same environment.
_HELD_IN_TRUST: set[str] = set()


def withhold_from_proxies(names: Iterable[str]) -> None:
    """Record variables that hold a secret of some target: the runner records every target's before it connects
    to any; a zone's worker, each target's as its task arrives."""
    _HELD_IN_TRUST.update(name for name in names if name)


def proxy_environment(environ: Mapping[str, str], secret_names: Iterable[str]) -> dict[str, str]:
    """The variables an SSH ProxyCommand may see: everything but auditor's own (AUDITOR_KEY_PASSPHRASE, the broker's
    password...), the variables this target's `password_env` / `passphrase_env` name, and those the other targets
    of this process name (withhold_from_proxies).

    A deny-list here, unlike the commands above: a ProxyCommand is the operator's own program from their ssh
    config, run as OpenSSH would run it, and it legitimately needs what ssh would give it (SSH_AUTH_SOCK for a
    bastion, AWS_* for `aws ssm start-session`); what it must not get is what auditor holds in trust.
    """
    withheld = {name for name in secret_names if name} | _HELD_IN_TRUST
    return {name: value for name, value in environ.items()
            if not name.upper().startswith("AUDITOR_") and name not in withheld}
