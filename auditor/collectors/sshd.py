"""The OpenSSH daemon's effective configuration, from `sshd -T` (Match blocks resolved), as Lynis SSH-7408 does.

`sshd -T` needs root (it loads the host keys), so it runs with sudo. The connection it is evaluated for
(`-C`) is an unknown user from an outside documentation address (RFC 5737), so that Match blocks for
trusted networks or users do not hide what an arbitrary client on the network gets.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from auditor.collectors.base import Requests
from auditor.errors import CollectorError, PermissionMissing
from auditor.models import SystemFacts
from auditor.transports.base import Transport, cmd

CONNECTION = "user=auditor-probe,host=probe.invalid,addr=192.0.2.1"
SSHD_T = cmd("sshd", "-T", "-C", CONNECTION, sudo=True)
_LISTS = ("ciphers", "macs", "kexalgorithms", "hostkeyalgorithms", "pubkeyacceptedalgorithms",
          "casignaturealgorithms")


@dataclass(frozen=True)
class SshdFacts:
    """Attributes:
    installed: False when there is no sshd binary (the SSH checks are then not applicable).
    options: lower-case keyword -> value as `sshd -T` prints it; a repeated keyword (hostkey, listenaddress)
        keeps its first value, as sshd itself does for single-valued keywords.
    lists: the comma-separated algorithm keywords (ciphers, macs, kexalgorithms, hostkeyalgorithms,
        pubkeyacceptedalgorithms, casignaturealgorithms) split into tuples, in sshd's order.
    connection: the `-C` connection the configuration was evaluated for.
    """

    installed: bool
    options: Mapping[str, str] = field(default_factory=dict)
    lists: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    connection: str = CONNECTION


def requests(_: SystemFacts) -> Requests:
    return (SSHD_T,), ()


def collect(host: Transport, _: SystemFacts) -> SshdFacts:
    result = host.run(SSHD_T)
    if result.not_found or "sshd: command not found" in result.stderr:
        return SshdFacts(installed=False)
    if not result.ok:
        reason = explain_failure(result.exit_status, result.stderr)
        raise PermissionMissing(reason) if "needs root" in reason else CollectorError(reason)
    facts = parse_sshd_t(result.stdout)
    if not facts.options:
        raise CollectorError("`sshd -T` printed no configuration")
    return facts


def explain_failure(status: int, stderr: str) -> str:
    """A sentence for why `sshd -T` gave no configuration (no root, sudo refused, a broken config)."""
    text = stderr.strip()
    last = text.splitlines()[-1] if text else ""
    if "sudo:" in text:
        return (f"`sshd -T` needs root and sudo -n was refused on this target ({last}); give the scanning "
                "account a NOPASSWD sudo rule for sshd -T, or scan as root")
    if "no hostkeys available" in text or "Permission denied" in text:
        return ("`sshd -T` needs root to load the host keys; scan as root or set sudo: true for this target "
                f"({last})")
    return f"`sshd -T` exited {status}: {last[:200]}".rstrip(": ")


def parse_sshd_t(text: str) -> SshdFacts:
    """`sshd -T` output (one `keyword value` per line) -> facts."""
    options: dict[str, str] = {}
    for line in text.splitlines():
        keyword, _, value = line.strip().partition(" ")
        if keyword and not keyword.startswith("#"):
            options.setdefault(keyword.lower(), value.strip())
    # OpenSSH before 8.5 calls PubkeyAcceptedAlgorithms PubkeyAcceptedKeyTypes.
    if "pubkeyacceptedalgorithms" not in options and "pubkeyacceptedkeytypes" in options:
        options["pubkeyacceptedalgorithms"] = options["pubkeyacceptedkeytypes"]
    lists = {key: tuple(v for v in options.get(key, "").split(",") if v) for key in _LISTS}
    return SshdFacts(installed=True, options=options, lists=lists)
