"""The SSH server as a client on the network sees it, before any login: the algorithms and host keys it offers
(SSH-0100, auditor/collectors/ssh_wire.py) and the authentication methods it offers (SSH-0110,
auditor/collectors/ssh_auth.py).
The daemon's configuration is judged by checks/sshd.py."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from auditor.plugin import ControlRef, Severity, Target, Verdict, check
from checks.ssh_algorithms import (
    AES256,
    bad_ciphers,
    encrypt_and_mac,
    named,
    weak_kex,
    weak_mac,
    weak_signature,
)

if TYPE_CHECKING:
    # Collector modules are imported when a check runs, so loading the pack imports none of them.
    from auditor.collectors.ssh_auth import SshAuthFacts
    from auditor.collectors.ssh_wire import HostKey, SshWireFacts

PASSWORD_METHODS = ("password", "keyboard-interactive")


@check(
    id="SSH-0100",
    title="Seen from the network, the SSH server offers only strong algorithms and host keys",
    severity=Severity.MEDIUM,
    requirements=("R1", "R8"),
    controls=(ControlRef("iso27001-2022", "8.24"), ControlRef("iso27001-2022", "8.20"), ControlRef("cis-v8", "3.10")),
    remediation="Restrict Ciphers, MACs (the -etm ones), KexAlgorithms and HostKeyAlgorithms in /etc/ssh/sshd_config "
    "as SSH-0010 and SSH-0020 describe, replace RSA host keys under the profile's size and DSA keys "
    "(ssh-keygen -t ed25519, or -t rsa -b 4096), and reload sshd; a proxy or appliance in front of the server "
    "must be configured the same way.",
)
def ssh_wire_algorithms(ssh_wire: SshWireFacts, min_aes_bits: int, chacha20_counts_as_aes256: bool,
                        ssh_min_rsa_bits: int) -> Verdict:
    if not ssh_wire.probed:
        return Verdict.not_applicable(f"No network view: {ssh_wire.problem}.")
    where = _address(ssh_wire.host, ssh_wire.port)
    observed = _observed(ssh_wire)
    expected = {"ciphers": f"AES-{min_aes_bits} ({AES256})", "weak": "no SHA-1, MD5, DSA or 64/96-bit MAC tags",
                "host keys": f"RSA of at least {ssh_min_rsa_bits} bits, ECDSA or Ed25519", "macs": "encrypt-then-MAC"}
    found = {
        "ciphers": bad_ciphers(ssh_wire.ciphers, min_aes_bits, chacha20_counts_as_aes256),
        "macs": named(ssh_wire.macs, weak_mac),
        "kex": named(ssh_wire.kex, weak_kex),
        "host key algorithms": named(ssh_wire.host_key_algorithms, weak_signature),
        "host keys": [problem for key in ssh_wire.host_keys if (problem := _key_problem(key, ssh_min_rsa_bits))],
    }
    found = {key: names for key, names in found.items() if names}
    login = _weak_login(ssh_wire)
    also = f" The audit login itself used weak algorithms (legacy_ssh): {', '.join(login)}." if login else ""
    if found:
        listed = "; ".join(f"{key}: {', '.join(names)}" for key, names in found.items())
        return Verdict.failed(f"The SSH server at {where} offers weak algorithms or keys before login: {listed}.{also}",
                              observed=observed | {"weak": found}, expected=expected)
    concerns = named(ssh_wire.macs, encrypt_and_mac)
    if concerns:
        return Verdict.warning(f"The SSH server at {where} offers MACs in encrypt-and-MAC mode: {', '.join(concerns)}; "
                               f"offer only the -etm MACs.{also}", observed=observed, expected=expected)
    return Verdict.passed(f"The SSH server at {where} offers only {', '.join(ssh_wire.ciphers)} with strong MACs, "
                          f"key exchanges and host keys ({_keys(ssh_wire.host_keys)}).", observed=observed,
                          expected=expected)


def _address(host: str, port: int) -> str:
    """host:port, an IPv6 address in brackets ([::1]:22), so that the port is not read as part of it."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _observed(ssh_wire: SshWireFacts) -> dict[str, object]:
    observed: dict[str, object] = {
        "banner": ssh_wire.banner, "address": _address(ssh_wire.host, ssh_wire.port),
        "ciphers": list(ssh_wire.ciphers), "macs": list(ssh_wire.macs), "kex": list(ssh_wire.kex),
        "host_key_algorithms": list(ssh_wire.host_key_algorithms),
        "host_keys": [_describe(key) for key in ssh_wire.host_keys] or ssh_wire.host_keys_problem}
    if ssh_wire.host_key_sha256:
        observed["host_key"] = f"{ssh_wire.host_key_type} {ssh_wire.host_key_sha256} ({ssh_wire.host_key_status})"
    if ssh_wire.login_algorithms:
        observed["login"] = dict(ssh_wire.login_algorithms) | {"legacy_ssh": ssh_wire.legacy_ssh}
    return observed


def _describe(key: HostKey) -> str:
    offered = ", ".join(key.offered_as)
    if key.problem:
        return f"{offered}: {key.problem}"
    return f"{key.key_type} {key.bits} bits {key.sha256} (offered as {offered})"


def _keys(keys: Sequence[HostKey]) -> str:
    return ", ".join(f"{k.key_type} {k.bits} bits" for k in keys if not k.problem) or "host keys not read"


def _key_problem(key: HostKey, min_rsa_bits: int) -> str:
    """Why a host key is too weak ("" when it is not)."""
    offered = ", ".join(key.offered_as)
    if key.key_type == "ssh-dss":
        return f"DSA key of {key.bits} bits (offered as {offered})"
    if key.key_type == "ssh-rsa" and key.bits < min_rsa_bits:
        return f"RSA key of {key.bits} bits, under {min_rsa_bits} (offered as {offered})"
    return ""


def _weak_login(ssh_wire: SshWireFacts) -> list[str]:
    """The weak algorithms the audit's own login agreed, as "kind name (why)"."""
    agreed = dict(ssh_wire.login_algorithms)
    aead = all(c.endswith(("-gcm@openssh.com", "-poly1305@openssh.com"))
               for c in (agreed.get("cipher_out", ""), agreed.get("cipher_in", "")))
    mac = (lambda _: "") if aead else weak_mac  # an AEAD cipher carries its own tag: the MAC agreed is unused
    judged: list[tuple[str, str, Callable[[str], str]]] = [
        ("kex", agreed.get("kex", ""), weak_kex), ("host key", agreed.get("host_key", ""), weak_signature),
        ("cipher", agreed.get("cipher_out", ""), _cbc), ("cipher", agreed.get("cipher_in", ""), _cbc),
        ("mac", agreed.get("mac_out", ""), mac), ("mac", agreed.get("mac_in", ""), mac)]
    found = [f"{kind} {name} ({why})" for kind, name, judge in judged if name and (why := judge(name))]
    return list(dict.fromkeys(found))


def _cbc(name: str) -> str:
    return "CBC mode" if "cbc" in name else ""


@check(
    id="SSH-0110",
    title="Seen from the network, the SSH server offers no password logins",
    severity=Severity.HIGH,
    requirements=("R8",),
    controls=(ControlRef("iso27001-2022", "8.5"), ControlRef("iso27001-2022", "5.17"), ControlRef("cis-v8", "6.4")),
    remediation="Set PasswordAuthentication no and KbdInteractiveAuthentication no in /etc/ssh/sshd_config (and in "
    "every Match block), keep publickey, and reload sshd. Where a role may use passwords, list it in the profile's "
    "ssh_password_allowed_for.",
)
def ssh_wire_auth_methods(ssh_auth: SshAuthFacts, target: Target, ssh_password_allowed_for: Sequence[str]) -> Verdict:
    if not ssh_auth.probed:
        return Verdict.not_applicable(f"No network view: {ssh_auth.problem}.")
    where, user = _address(ssh_auth.host, ssh_auth.port), ssh_auth.auth_user
    if ssh_auth.auth_methods is None:
        return Verdict.warning(f"The authentication methods the SSH server at {where} offers could not be read: "
                               f"{ssh_auth.auth_problem}.")
    observed = {"user": user, "methods": list(ssh_auth.auth_methods), "none_accepted": ssh_auth.none_accepted,
                "role": target.role.value}
    expected = {"methods": "publickey (no password or keyboard-interactive)",
                "allowed_for": list(ssh_password_allowed_for)}
    if ssh_auth.none_accepted:
        return Verdict.failed(f"The SSH server at {where} let {user!r} in without any authentication (an SSH "
                              "\"none\" request succeeded).", observed=observed, expected=expected)
    offered = [m for m in ssh_auth.auth_methods if m in PASSWORD_METHODS]
    if offered and target.role.value not in ssh_password_allowed_for:
        return Verdict.failed(f"The SSH server at {where} offers {' and '.join(offered)} logins to {user!r} "
                              f"(a {target.role.value}); it offers: {', '.join(ssh_auth.auth_methods)}.",
                              observed=observed, expected=expected)
    if offered:
        return Verdict.passed(f"The SSH server at {where} offers {' and '.join(offered)} logins, which the profile "
                              f"allows for role {target.role.value} (ssh_password_allowed_for).", observed=observed,
                              expected=expected)
    return Verdict.passed(f"The SSH server at {where} offers {user!r} only {', '.join(ssh_auth.auth_methods) or 'no'} "
                          "logins, no passwords.", observed=observed, expected=expected)
