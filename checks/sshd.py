"""The SSH daemon's effective configuration (SSH-0010..0070), per daemon (`port 22`, `port 2222`) and per Match
block: strong algorithms, no root or password logins, no forwarding, no host-based trust, sessions that end,
logins logged. Judged from `sshd -T`, or from the config files where it cannot run (auditor/collectors/sshd.py);
each finding says which. What the same server offers on the network is judged separately, by checks/ssh.py."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from auditor.plugin import ControlRef, Platform, Severity, Verdict, check
from checks.ssh_algorithms import bad_ciphers, named, weak_kex, weak_mac, weak_signature

if TYPE_CHECKING:
    # Collector modules are imported when a check runs, so loading the pack imports none of them.
    from auditor.collectors.ssh_auth import SshAuthFacts
    from auditor.collectors.ssh_wire import SshWireFacts
    from auditor.collectors.sshd import MatchBlock, SshdDaemon, SshdFacts, View

NOT_INSTALLED = "The OpenSSH server (sshd) is not installed."
NOT_RUNNING = "No sshd is running; this is the configuration it starts with."
# A judgement of one view: (problems, what was observed).
Judge = Callable[["View"], tuple[list[str], dict[str, Any]]]


def per_daemon(sshd: SshdFacts, judge: Judge, passed: Callable[[View], str], expected: Mapping[str, Any],
               keywords: frozenset[str] = frozenset()) -> list[Verdict]:
    """One verdict per daemon: its outside view and, for `keywords` a Match block may set, every Match block.

    A block adds only the problems its connection has beyond the outside view's, named with its condition. A pass
    becomes a warn when the daemon behind the scanned port is uncertain, or when a block that sets one of
    `keywords` could not be evaluated.
    """
    if not sshd.installed:
        return [Verdict.not_applicable(NOT_INSTALLED)]
    verdicts = []
    if sshd.unserved:
        verdicts.append(Verdict.warning(f"{sshd.unserved}.", resource=f"port {sshd.scanned_port}",
                                        expected=expected))
    for daemon in sshd.daemons:
        verdicts.append(_one(daemon, judge, passed, expected, keywords))
    return verdicts


def _one(daemon: SshdDaemon, judge: Judge, passed: Callable[[View], str], expected: Mapping[str, Any],
         keywords: frozenset[str]) -> Verdict:
    from auditor.collectors.sshd import FROM_FILES

    where = daemon.resource
    context = {"config": daemon.config, "source": daemon.source, **({"arguments": list(daemon.arguments)}
                                                                  if daemon.arguments else {}),
               **({"running": False} if daemon.stopped else {})}
    if daemon.notes:
        context["notes"] = list(daemon.notes)
    if daemon.view is None:
        also = f" Note: {daemon.warning}." if daemon.warning else ""
        return Verdict.warning(f"{where}: sshd's configuration could not be judged: {daemon.problem}.{also}",
                               resource=where, observed=context, expected=expected)
    problems, observed = judge(daemon.view)
    in_blocks: list[str] = []
    block_observed: dict[str, Any] = {}
    unevaluated: list[str] = []
    own = {b.where: [p for p in judge(b.view)[0] if p not in problems] for b in daemon.matches
           if keywords and b.view is not None and not b.never_applies}
    for block in daemon.matches if keywords else ():
        if block.never_applies:
            continue
        if block.view is None:
            if keywords & set(block.sets):
                unevaluated.append(f"`{block.condition}` ({block.where}: {block.not_evaluated})")
            continue
        extra = [p for p in own[block.where] if not _given_by_another(daemon, block, p, own, keywords)]
        if extra:
            in_blocks.append(f"for a connection matching `{block.condition}` ({block.where}; evaluated for "
                             f"{block.connection}): {'; '.join(extra)}")
            block_observed[block.condition] = judge(block.view)[1]
    observed = {**observed, **context, **({"match_blocks": block_observed} if block_observed else {}),
                **({"not_evaluated": unevaluated} if unevaluated else {})}
    source = (" Derived from the config files, not from sshd itself." if daemon.source == FROM_FILES else "")
    if daemon.stopped:
        source += f" {NOT_RUNNING}"
    if problems or in_blocks:
        # A block every connection matches (the daemon's own port, `Match all`) is where such a value may come from.
        shared = [f"`{b.condition}` ({b.where})" for b in daemon.matches if b.everyone and keywords & set(b.sets)]
        within = [f"{'; '.join(problems)} (every connection to it matches {', '.join(shared)}, whose settings "
                  "these include)"] if problems and shared else problems
        # From the files, an unread one may add problems (or settle these): said beside the fail.
        doubts = [d for d in (daemon.warning, *(_unread(daemon, keywords) if daemon.source == FROM_FILES else ()))
                  if d]
        note = f" Note: {'; '.join(doubts)}." if doubts else ""
        return Verdict.failed(f"{where}: {'; '.join([*within, *in_blocks])}.{source}{note}", resource=where,
                              observed=observed, expected=expected)
    doubts = [d for d in (daemon.warning, *(f"Match block not evaluated: {u}" for u in unevaluated),
                          *_unread(daemon, keywords)) if d]
    evaluated = sum(1 for b in daemon.matches if b.view is not None) if keywords else 0
    blocks = f" ({evaluated} Match block{'s' if evaluated != 1 else ''} evaluated too)" if evaluated else ""
    message = f"{where}: {passed(daemon.view)}{blocks}.{source}"
    if doubts:
        return Verdict.warning(f"{message} But: {'; '.join(doubts)}.", resource=where, observed=observed,
                               expected=expected)
    return Verdict.passed(message, resource=where, observed=observed, expected=expected)


def _unread(daemon: SshdDaemon, keywords: frozenset[str]) -> list[str]:
    """What the config files that could not be read leave unknown: from the files, what they set; where sshd -T
    read them itself, only their Match blocks (which concern a check only through `keywords`)."""
    from auditor.collectors.sshd import FROM_FILES

    if daemon.source == FROM_FILES:
        return [f"{path} could not be read, so what it sets was not judged" for path in daemon.unread]
    return [f"{path} could not be read, so Match blocks in it were not evaluated" for path in daemon.unread] \
        if keywords else []


def _given_by_another(daemon: SshdDaemon, block: MatchBlock, problem: str, own: Mapping[str, list[str]],
                      keywords: frozenset[str]) -> bool:
    """Whether a problem in a block's view is another block's finding: a block its connection also matches shows
    it too, and either this block sets none of the keywords the problem names, or both do and the other stands
    first (sshd takes a keyword's first value, Match blocks in the order they stand). A user's block that sets
    PasswordAuthentication does not own the PermitEmptyPasswords that the user's group's block sets."""
    blocks = {b.where: b for b in daemon.matches}
    order = list(blocks)
    named = frozenset(k for k in keywords if k in problem.lower()) or keywords
    for where in block.also:
        if problem not in own.get(where, ()):
            continue
        if not named & set(block.sets):
            return True
        if named & set(blocks[where].sets) and order.index(where) < order.index(block.where):
            return True
    return False


@check(
    id="SSH-0010",
    title="The SSH daemon allows only AES-256-class ciphers",
    severity=Severity.HIGH,
    requirements=("R1", "R8"),
    controls=(ControlRef("iso27001-2022", "8.24"), ControlRef("cis-v8", "3.10"), ControlRef("d-maerket", "3.1.2")),
    platforms=(Platform.LINUX,),
    remediation="Set `Ciphers aes256-gcm@openssh.com,aes256-ctr` in /etc/ssh/sshd_config (add "
    "chacha20-poly1305@openssh.com only if the profile counts it as AES-256), check with `sshd -T | grep "
    "ciphers`, and reload sshd.",
)
def sshd_ciphers(sshd: SshdFacts, min_aes_bits: int, chacha20_counts_as_aes256: bool) -> list[Verdict]:
    def judge(view: View) -> tuple[list[str], dict[str, Any]]:
        ciphers = view.lists.get("ciphers", ())
        if not ciphers:
            return ["no Ciphers line, so the allowed ciphers are unknown"], {"ciphers": []}
        bad = bad_ciphers(ciphers, min_aes_bits, chacha20_counts_as_aes256)
        return ([f"allows ciphers below AES-{min_aes_bits}: {', '.join(bad)} (full list: {', '.join(ciphers)})"]
                if bad else []), {"ciphers": list(ciphers)}

    # Ciphers cannot be set inside a Match block, so only the daemon-wide list counts.
    return per_daemon(sshd, judge, lambda v: f"sshd allows only {', '.join(v.lists.get('ciphers', ()))}",
                      {"min_aes_bits": min_aes_bits, "chacha20_counts_as_aes256": chacha20_counts_as_aes256})


_SIGNATURE_LISTS = ("hostkeyalgorithms", "pubkeyacceptedalgorithms", "hostbasedacceptedalgorithms",
                    "casignaturealgorithms")


@check(
    id="SSH-0020",
    title="The SSH daemon offers no SHA-1, MD5 or DSA algorithms",
    severity=Severity.HIGH,
    requirements=("R8",),
    controls=(ControlRef("iso27001-2022", "8.24"), ControlRef("cis-v8", "3.10"), ControlRef("d-maerket", "3.1.2")),
    platforms=(Platform.LINUX,),
    remediation="In /etc/ssh/sshd_config set `MACs hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com`, "
    "`KexAlgorithms sntrup761x25519-sha512@openssh.com,curve25519-sha256,diffie-hellman-group16-sha512` and "
    "remove ssh-rsa and ssh-dss from HostKeyAlgorithms, PubkeyAcceptedAlgorithms and CASignatureAlgorithms, "
    "in Match blocks too; reload sshd.",
)
def sshd_weak_algorithms(sshd: SshdFacts) -> list[Verdict]:
    def judge(view: View) -> tuple[list[str], dict[str, Any]]:
        lists = view.lists
        # Host-based algorithms matter only where host-based logins are on (SSH-0050 fails them anyway).
        signatures = [key for key in _SIGNATURE_LISTS if key != "hostbasedacceptedalgorithms"
                      or view.options.get("hostbasedauthentication") == "yes"]
        weak = {"macs": named(lists.get("macs", ()), weak_mac),
                "kexalgorithms": named(lists.get("kexalgorithms", ()), weak_kex),
                **{key: named(lists.get(key, ()), weak_signature) for key in signatures}}
        observed: dict[str, Any] = {key: list(lists.get(key, ())) for key in weak}
        found = {key: names for key, names in weak.items() if names}
        if found:
            observed["weak"] = found
        return [f"allows weak {key}: {', '.join(names)}" for key, names in found.items()], observed

    return per_daemon(sshd, judge, lambda _: "sshd allows no SHA-1, MD5 or DSA MACs, key exchanges or signature "
                      "algorithms",
                      {"weak": "none of SHA-1, MD5, 1024-bit groups, ssh-rsa (SHA-1) signatures or DSA"},
                      frozenset({"pubkeyacceptedalgorithms", "hostbasedacceptedalgorithms", "casignaturealgorithms",
                                 "hostbasedauthentication"}))


_LOGINS = {"permitrootlogin": "PermitRootLogin", "passwordauthentication": "PasswordAuthentication",
           "kbdinteractiveauthentication": "KbdInteractiveAuthentication", "usepam": "UsePAM",
           "permitemptypasswords": "PermitEmptyPasswords", "maxauthtries": "MaxAuthTries"}


@check(
    id="SSH-0030",
    title="The SSH daemon refuses root, password and empty-password logins and limits auth attempts",
    severity=Severity.HIGH,
    requirements=("R8",),
    controls=(ControlRef("iso27001-2022", "8.5"), ControlRef("cis-v8", "4.1"), ControlRef("d-maerket", "3.3")),
    platforms=(Platform.LINUX,),
    remediation="In /etc/ssh/sshd_config set `PermitRootLogin no`, `PasswordAuthentication no`, "
    "`KbdInteractiveAuthentication no`, `PermitEmptyPasswords no` and `MaxAuthTries` between 1 and the profile's "
    "sshd_max_auth_tries (4 by default), and remove any Match block that sets them otherwise; reload sshd.",
)
def sshd_logins(sshd: SshdFacts, sshd_max_auth_tries: int) -> list[Verdict]:
    def judge(view: View) -> tuple[list[str], dict[str, Any]]:
        o = view.options
        problems = []
        root = o.get("permitrootlogin", "")
        if root != "no":
            # sshd -T prints prohibit-password under its old name, without-password.
            shown = "prohibit-password" if root == "without-password" else root or "unset"
            problems.append(f"PermitRootLogin is {shown} (root can log in over SSH)")
        if o.get("passwordauthentication") != "no":
            problems.append(f"PasswordAuthentication is {o.get('passwordauthentication', 'unset')}")
        elif _keyboard_interactive(o) and o.get("usepam") == "yes":
            problems.append("KbdInteractiveAuthentication is yes with UsePAM yes (passwords are still asked for)")
        if o.get("permitemptypasswords") != "no":
            problems.append(f"PermitEmptyPasswords is {o.get('permitemptypasswords', 'unset')}")
        tries = o.get("maxauthtries", "")
        if not tries.isdigit() or not 1 <= int(tries) <= sshd_max_auth_tries:
            problems.append(f"MaxAuthTries is {tries or 'unset'} (1 to {sshd_max_auth_tries} expected)")
        return problems, {label: o.get(key, "unset") for key, label in _LOGINS.items()}

    return per_daemon(sshd, judge, lambda v: "sshd refuses root and password logins and allows "
                      f"{v.options.get('maxauthtries')} authentication attempts",
                      {"PermitRootLogin": "no", "PasswordAuthentication": "no", "PermitEmptyPasswords": "no",
                       "MaxAuthTries": f"1 to {sshd_max_auth_tries}"},
                      frozenset({*_LOGINS, "challengeresponseauthentication"}))


def _keyboard_interactive(options: Mapping[str, str]) -> bool:
    # Before OpenSSH 8.7 ChallengeResponseAuthentication was a keyword of its own that also enabled it.
    return "yes" in (options.get("kbdinteractiveauthentication"), options.get("challengeresponseauthentication"))


@check(
    id="SSH-0040",
    title="The SSH daemon forwards no X11 or TCP connections and takes no environment from users",
    severity=Severity.MEDIUM,
    requirements=("R8",),
    controls=(ControlRef("iso27001-2022", "8.20"), ControlRef("iso27001-2022", "8.9"), ControlRef("cis-v8", "4.8"),
              ControlRef("d-maerket", "3.2.1")),
    platforms=(Platform.LINUX,),
    remediation="In /etc/ssh/sshd_config set `X11Forwarding no`, `AllowTcpForwarding no` (or `DisableForwarding "
    "yes`) and `PermitUserEnvironment no`, and remove any Match block that sets them otherwise; reload sshd. A "
    "jump host that must forward TCP is allowed by the profile parameter sshd_tcp_forwarding_allowed.",
)
def sshd_forwarding(sshd: SshdFacts, sshd_tcp_forwarding_allowed: bool) -> list[Verdict]:
    def judge(view: View) -> tuple[list[str], dict[str, Any]]:
        o = view.options
        disabled = o.get("disableforwarding") == "yes"
        problems = []
        if not disabled and o.get("x11forwarding") != "no":
            problems.append(f"X11Forwarding is {o.get('x11forwarding', 'unset')} (a client can open windows of the "
                            "server's programs and expose its own display)")
        tcp = o.get("allowtcpforwarding", "unset")
        if not disabled and tcp != "no" and not sshd_tcp_forwarding_allowed:
            problems.append(f"AllowTcpForwarding is {tcp} (an SSH login can tunnel other connections past the "
                            "network's controls)")
        environment = o.get("permituserenvironment", "unset")
        if environment != "no":
            problems.append(f"PermitUserEnvironment is {environment} (users can set variables such as LD_PRELOAD "
                            "for their sessions)")
        return problems, {"X11Forwarding": o.get("x11forwarding", "unset"), "AllowTcpForwarding": tcp,
                          "DisableForwarding": o.get("disableforwarding", "unset"),
                          "PermitUserEnvironment": environment}

    return per_daemon(sshd, judge, lambda v: "sshd forwards no X11 " + (
        "connections" if sshd_tcp_forwarding_allowed and v.options.get("disableforwarding") != "yes"
        else "or TCP connections") + " and takes no environment from users",
                      {"X11Forwarding": "no", "AllowTcpForwarding": "any" if sshd_tcp_forwarding_allowed else "no",
                       "PermitUserEnvironment": "no"},
                      frozenset({"x11forwarding", "allowtcpforwarding", "disableforwarding"}))


@check(
    id="SSH-0050",
    title="The SSH daemon trusts no host-based or rhosts logins and checks users' file modes",
    severity=Severity.MEDIUM,
    requirements=("R8",),
    controls=(ControlRef("iso27001-2022", "8.5"), ControlRef("cis-v8", "4.1"), ControlRef("d-maerket", "3.3")),
    platforms=(Platform.LINUX,),
    remediation="In /etc/ssh/sshd_config set `HostbasedAuthentication no`, `IgnoreRhosts yes` and `StrictModes "
    "yes`, and remove any Match block that sets them otherwise; reload sshd.",
)
def sshd_host_trust(sshd: SshdFacts) -> list[Verdict]:
    wanted = {"hostbasedauthentication": ("HostbasedAuthentication", "no",
                                          "a login is accepted on the word of another host"),
              "ignorerhosts": ("IgnoreRhosts", "yes", ".rhosts and .shosts files are honoured"),
              "strictmodes": ("StrictModes", "yes", "world-writable home folders and key files are accepted")}

    def judge(view: View) -> tuple[list[str], dict[str, Any]]:
        o = view.options
        problems = [f"{label} is {o.get(key, 'unset')} ({why})" for key, (label, good, why) in wanted.items()
                    if o.get(key) != good]
        return problems, {label: o.get(key, "unset") for key, (label, _, _) in wanted.items()}

    return per_daemon(sshd, judge, lambda _: "sshd trusts no host-based or rhosts logins and checks file modes",
                      {label: good for label, good, _ in wanted.values()},
                      frozenset({"hostbasedauthentication", "ignorerhosts"}))


@check(
    id="SSH-0060",
    title="The SSH daemon ends unauthenticated and idle sessions",
    severity=Severity.MEDIUM,
    requirements=("R8",),
    controls=(ControlRef("iso27001-2022", "8.5"), ControlRef("cis-v8", "4.3"), ControlRef("d-maerket", "3.1.1")),
    platforms=(Platform.LINUX,),
    remediation="In /etc/ssh/sshd_config set `LoginGraceTime 60`, `ClientAliveInterval 300` and "
    "`ClientAliveCountMax 3` (at most the profile's sshd_login_grace_max_seconds, and an idle time "
    "ClientAliveInterval x ClientAliveCountMax of at most sshd_idle_timeout_max_seconds); reload sshd.",
)
def sshd_timeouts(sshd: SshdFacts, sshd_login_grace_max_seconds: int,
                  sshd_idle_timeout_max_seconds: int) -> list[Verdict]:
    def judge(view: View) -> tuple[list[str], dict[str, Any]]:
        o = view.options
        grace, interval, count = (o.get(k, "") for k in ("logingracetime", "clientaliveinterval",
                                                         "clientalivecountmax"))
        problems = []
        if not grace.isdigit() or not 1 <= int(grace) <= sshd_login_grace_max_seconds:
            shown = "0 (no limit)" if grace == "0" else f"{grace or 'unset'} s"
            problems.append(f"LoginGraceTime is {shown} (1 to {sshd_login_grace_max_seconds} s expected)")
        if not interval.isdigit() or not count.isdigit() or int(interval) == 0 or int(count) == 0:
            problems.append(f"idle sessions are never ended (ClientAliveInterval {interval or 'unset'}, "
                            f"ClientAliveCountMax {count or 'unset'})")
        elif int(interval) * int(count) > sshd_idle_timeout_max_seconds:
            problems.append(f"idle sessions end after {int(interval) * int(count)} s (ClientAliveInterval {interval} x "
                            f"ClientAliveCountMax {count}; at most {sshd_idle_timeout_max_seconds} s expected)")
        return problems, {"LoginGraceTime": grace, "ClientAliveInterval": interval, "ClientAliveCountMax": count}

    def passed(view: View) -> str:
        o = view.options
        idle = int(o["clientaliveinterval"]) * int(o["clientalivecountmax"])
        return (f"sshd drops an unauthenticated connection after {o['logingracetime']} s and an idle session after "
                f"{idle} s")

    return per_daemon(sshd, judge, passed,
                      {"LoginGraceTime": f"1 to {sshd_login_grace_max_seconds} s",
                       "idle timeout": f"ClientAliveInterval x ClientAliveCountMax, 1 to "
                                       f"{sshd_idle_timeout_max_seconds} s"},
                      frozenset({"clientaliveinterval", "clientalivecountmax"}))


_LOGGED = ("INFO", "VERBOSE")


@check(
    id="SSH-0070",
    title="The SSH daemon logs every login",
    severity=Severity.MEDIUM,
    requirements=("R12",),
    controls=(ControlRef("iso27001-2022", "8.15"), ControlRef("cis-v8", "8.2"), ControlRef("d-maerket", "3")),
    platforms=(Platform.LINUX,),
    remediation="In /etc/ssh/sshd_config set `LogLevel VERBOSE` (or INFO), not QUIET, FATAL or ERROR (which drop "
    "login records) nor DEBUG (which logs more than a login needs), in Match blocks too; reload sshd.",
)
def sshd_logging(sshd: SshdFacts) -> list[Verdict]:
    def judge(view: View) -> tuple[list[str], dict[str, Any]]:
        level = view.options.get("loglevel", "unset")
        if level in _LOGGED:
            return [], {"LogLevel": level}
        why = "debug output, more than a login record needs" if level.startswith("DEBUG") else \
            "successful logins are not recorded"
        return [f"LogLevel is {level} ({why})"], {"LogLevel": level}

    return per_daemon(sshd, judge, lambda v: f"sshd logs logins (LogLevel {v.options.get('loglevel')})",
                      {"LogLevel": " or ".join(_LOGGED)}, frozenset({"loglevel"}))


# What a KEXINIT adds to the configured key exchanges: extension and strict-kex markers, GSSAPI key exchange.
_NOT_CONFIGURED_KEX = ("ext-info-", "kex-strict-", "gss-")
# (method offered, the keyword that switches it, as sshd -T prints it and as a config file writes it)
_PASSWORD_SWITCHES = (("password", "passwordauthentication", "PasswordAuthentication"),
                      ("keyboard-interactive", "kbdinteractiveauthentication", "KbdInteractiveAuthentication"))


@check(
    id="SSH-0120",
    title="The SSH daemon on the scanned port runs the configuration that was judged",
    severity=Severity.HIGH,
    requirements=("R8",),
    controls=(ControlRef("iso27001-2022", "8.9"), ControlRef("cis-v8", "4.1")),
    platforms=(Platform.LINUX,),
    remediation="Check the configuration and reload sshd (`sshd -t && systemctl reload ssh`; `sshd` on RHEL) after "
    "every change to it, then scan again. If a proxy, a port forward or a container serves the port, scan the host "
    "behind it.",
)
def sshd_runs_its_config(sshd: SshdFacts, ssh_wire: SshWireFacts, ssh_auth: SshAuthFacts) -> Verdict:
    """What the daemon behind the scanned port offers on the network, against its judged configuration: a file
    changed after sshd started, and never reloaded, is judged by SSH-0010..0070 but not what runs."""
    from auditor.collectors.sshd import FROM_DAEMON

    if not ssh_wire.probed:
        return Verdict.not_applicable(f"No network view: {ssh_wire.problem}.")
    daemon = next((d for d in sshd.daemons if d.serves_target), None) if sshd.installed else None
    if daemon is None or daemon.view is None:
        return Verdict.not_applicable("The configuration of the daemon behind the scanned port was not judged "
                                      "(SSH-0010..0070 say why).")
    view, where = daemon.view, daemon.resource
    if daemon.warning:  # a file sshd refuses, a relative -f path: what was judged may be no daemon's configuration
        return Verdict.warning(f"{where}: what the daemon offers was not compared with its configuration: "
                               f"{daemon.warning}.", resource=where)
    differences, compared = [], []
    if daemon.source == FROM_DAEMON:  # the files' reading fills in compiled-in defaults, which may be a guess
        compared.append("algorithms")
        kex = tuple(k for k in ssh_wire.kex if not k.startswith(_NOT_CONFIGURED_KEX))
        for label, seen, configured in (("ciphers", ssh_wire.ciphers, view.lists.get("ciphers", ())),
                                        ("MACs", ssh_wire.macs, view.lists.get("macs", ())),
                                        ("key exchanges", kex, view.lists.get("kexalgorithms", ()))):
            if set(seen) != set(configured):
                differences.append(f"it offers {label} {', '.join(seen)}, its configuration sets "
                                   f"{', '.join(configured)}")
        # Only the host key algorithms it has a key for are offered: a subset.
        unset = [a for a in ssh_wire.host_key_algorithms if a not in view.lists.get("hostkeyalgorithms", ())]
        if unset:
            differences.append(f"it offers host key algorithms its configuration does not set: {', '.join(unset)}")
    # Blocks the scanner's connection may or may not match (not those every connection matches: the daemon's view
    # holds what they set).
    blocks = {k for b in daemon.matches if not b.never_applies and not b.everyone for k in b.sets}
    switches = {keyword for _, keyword, _ in _PASSWORD_SWITCHES} | {"authenticationmethods"}
    # A Match block may switch passwords on for the scanner's own address, which the target sees, not the scanner.
    # From the files, a file that could not be read may set them (cloud-init's 0600 drop-in turns passwords on).
    unread = daemon.source != FROM_DAEMON and bool(daemon.unread)
    # A server that let the "none" request in listed no methods: there are none to compare (SSH-0110 fails it).
    if ssh_auth.probed and ssh_auth.auth_methods is not None and not ssh_auth.none_accepted and \
            not blocks & switches and not unread and view.options.get("authenticationmethods", "any") == "any":
        compared.append("authentication methods")
        for method, keyword, written in _PASSWORD_SWITCHES:
            offered, setting = method in ssh_auth.auth_methods, view.options.get(keyword)
            if offered and setting == "no":
                differences.append(f"it offers {method} logins to {ssh_auth.auth_user!r}, which its configuration "
                                   f"turns off ({written} no)")
            # sshd lists every method its configuration turns on to every user (even to one that does not exist),
            # so a method turned on but not offered is a configuration the daemon has not read yet.
            elif not offered and setting == "yes":
                differences.append(f"it does not offer {method} logins to {ssh_auth.auth_user!r}, which its "
                                   f"configuration turns on ({written} yes)")
    observed = {"config": daemon.config, "source": daemon.source, "compared": compared,
                "offered": {"ciphers": list(ssh_wire.ciphers), "macs": list(ssh_wire.macs), "kex": list(ssh_wire.kex),
                            "host_key_algorithms": list(ssh_wire.host_key_algorithms),
                            "auth_methods": list(ssh_auth.auth_methods or ())}}
    expected = {"offered": "what the judged configuration sets"}
    if differences:
        return Verdict.failed(f"{where}: the daemon does not run the configuration that was judged: "
                              f"{'; '.join(differences)}. Its configuration changed after sshd started and was not "
                              "reloaded, or another daemon, a proxy or a container serves this port: SSH-0010..0070 "
                              "describe the configuration, not what runs.", resource=where, observed=observed,
                              expected=expected)
    if not compared:
        closed = f" ({', '.join(daemon.unread)} could not be read)" if unread else ""
        return Verdict.not_applicable(f"{where}: nothing could be compared (the configuration was read from the files, "
                                      "and Match blocks, AuthenticationMethods or files that could not be read "
                                      f"decide the authentication methods){closed}.", resource=where)
    return Verdict.passed(f"{where}: what the daemon offers on the network ({' and '.join(compared)}) is what its "
                          "configuration sets.", resource=where, observed=observed, expected=expected)
