"""SSH server hardening (SSH-xxxx): strong ciphers, no SHA-1/MD5/DSA, no root or password logins.

Two independent proofs: SSH-0010..0030 judge the daemon's effective configuration (`sshd -T`, from
auditor/collectors/sshd.py); SSH-0100 judges what the server offers on the wire before login
(auditor/collectors/ssh_wire.py), as a client on the network sees it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from auditor.collectors.ssh_wire import SshWireFacts
from auditor.collectors.sshd import SshdFacts
from auditor.plugin import ControlRef, Platform, Severity, Verdict, check

_AES = re.compile(r"^aes(128|192|256)-(ctr|gcm@openssh\.com|cbc)$")
# Pseudo-algorithms that announce protocol extensions, not algorithms (RFC 8308, OpenSSH strict KEX).
_MARKERS = ("ext-info-", "kex-strict-")
_WEAK_SIGNATURES = {
    "ssh-rsa": "RSA with SHA-1 signatures",
    "ssh-rsa-cert-v01@openssh.com": "RSA certificates with SHA-1 signatures",
    "ssh-dss": "DSA",
    "ssh-dss-cert-v01@openssh.com": "DSA certificates",
    "x509v3-sign-rsa": "RSA with SHA-1 signatures",
    "x509v3-sign-dss": "DSA",
}
_AES256 = "aes256-gcm@openssh.com, aes256-ctr"


def cipher_problem(name: str, min_aes_bits: int, chacha20_counts_as_aes256: bool) -> str:
    """Why a cipher falls short of the AES requirement ("" when it meets it)."""
    if name == "chacha20-poly1305@openssh.com":
        return "" if chacha20_counts_as_aes256 else "ChaCha20, not AES (the profile does not count it as AES-256)"
    match = _AES.match(name)
    if match is None:
        return "CBC mode" if name.endswith("-cbc") or "cbc@" in name else "not AES"
    if match.group(2) == "cbc":
        return "CBC mode"
    bits = int(match.group(1))
    return f"{bits}-bit AES" if bits < min_aes_bits else ""


def weak_mac(name: str) -> str:
    """Why a MAC is weak ("" when it is not): SHA-1, MD5, RIPEMD or a truncated tag."""
    if "md5" in name:
        return "MD5"
    if "sha1" in name:
        return "SHA-1"
    if "ripemd" in name:
        return "RIPEMD-160"
    return "96-bit tag" if name.endswith("-96") or "-96-" in name else ""


def weak_kex(name: str) -> str:
    """Why a key exchange is weak ("" when it is not): SHA-1 hashing or a 1024-bit group."""
    if name.startswith(_MARKERS):
        return ""
    if name.startswith("diffie-hellman-group1-"):
        return "1024-bit group with SHA-1"
    return "SHA-1" if "sha1" in name else ""


def weak_signature(name: str) -> str:
    """Why a host or user key algorithm is weak ("" when it is not): SHA-1 RSA signatures or DSA."""
    return _WEAK_SIGNATURES.get(name, "DSA" if "dss" in name else "")


def _found(names: Iterable[str], judge: Callable[[str], str]) -> list[str]:
    return [f"{n} ({why})" for n in names if (why := judge(n))]


def _bad_ciphers(names: Iterable[str], min_aes_bits: int, chacha: bool) -> list[str]:
    return [f"{n} ({why})" for n in names if (why := cipher_problem(n, min_aes_bits, chacha))]


@check(
    id="SSH-0010",
    title="The SSH daemon allows only AES-256-class ciphers",
    severity=Severity.HIGH,
    requirements=("R1", "R8"),
    controls=(ControlRef("iso27001-2022", "8.24"), ControlRef("cis-v8", "3.10"), ControlRef("d-maerket", "3.1.2")),
    platforms=(Platform.LINUX,),
    requires_root=True,
    remediation="Set `Ciphers aes256-gcm@openssh.com,aes256-ctr` in /etc/ssh/sshd_config (add "
    "chacha20-poly1305@openssh.com only if the profile counts it as AES-256), check with `sshd -T | grep "
    "ciphers`, and reload sshd.",
)
def sshd_ciphers(sshd: SshdFacts, min_aes_bits: int, chacha20_counts_as_aes256: bool) -> Verdict:
    if not sshd.installed:
        return Verdict.not_applicable("The OpenSSH server (sshd) is not installed.")
    ciphers = sshd.lists.get("ciphers", ())
    observed = {"ciphers": list(ciphers)}
    expected = {"min_aes_bits": min_aes_bits, "chacha20_counts_as_aes256": chacha20_counts_as_aes256}
    bad = _bad_ciphers(ciphers, min_aes_bits, chacha20_counts_as_aes256)
    if not ciphers:
        return Verdict.failed("sshd -T printed no Ciphers line, so the allowed ciphers are unknown.",
                              observed=observed, expected=expected)
    if bad:
        return Verdict.failed(f"sshd allows ciphers below AES-{min_aes_bits}: {', '.join(bad)} (full list: "
                              f"{', '.join(ciphers)}).", observed=observed, expected=expected)
    return Verdict.passed(f"sshd allows only {', '.join(ciphers)}.", observed=observed, expected=expected)


@check(
    id="SSH-0020",
    title="The SSH daemon offers no SHA-1, MD5 or DSA algorithms",
    severity=Severity.HIGH,
    requirements=("R8",),
    controls=(ControlRef("iso27001-2022", "8.24"), ControlRef("cis-v8", "3.10"), ControlRef("d-maerket", "3.1.2")),
    platforms=(Platform.LINUX,),
    requires_root=True,
    remediation="In /etc/ssh/sshd_config set `MACs hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com`, "
    "`KexAlgorithms sntrup761x25519-sha512@openssh.com,curve25519-sha256,diffie-hellman-group16-sha512` and "
    "remove ssh-rsa and ssh-dss from HostKeyAlgorithms, PubkeyAcceptedAlgorithms and CASignatureAlgorithms; "
    "reload sshd.",
)
def sshd_weak_algorithms(sshd: SshdFacts) -> Verdict:
    if not sshd.installed:
        return Verdict.not_applicable("The OpenSSH server (sshd) is not installed.")
    lists = sshd.lists
    weak = {
        "macs": _found(lists.get("macs", ()), weak_mac),
        "kexalgorithms": _found(lists.get("kexalgorithms", ()), weak_kex),
        **{key: _found(lists.get(key, ()), weak_signature)
           for key in ("hostkeyalgorithms", "pubkeyacceptedalgorithms", "casignaturealgorithms")},
    }
    observed = {key: list(lists.get(key, ())) for key in weak}
    expected = {"weak": "none of SHA-1, MD5, 1024-bit groups, ssh-rsa (SHA-1) signatures or DSA"}
    found = {key: names for key, names in weak.items() if names}
    if found:
        where = "; ".join(f"{key}: {', '.join(names)}" for key, names in found.items())
        return Verdict.failed(f"sshd allows weak algorithms: {where}.", observed=observed | {"weak": found},
                              expected=expected)
    return Verdict.passed("sshd allows no SHA-1, MD5 or DSA MACs, key exchanges or signature algorithms.",
                          observed=observed, expected=expected)


@check(
    id="SSH-0030",
    title="The SSH daemon refuses root, password and empty-password logins and limits auth attempts",
    severity=Severity.HIGH,
    requirements=("R8",),
    controls=(ControlRef("iso27001-2022", "8.5"), ControlRef("cis-v8", "4.1"), ControlRef("d-maerket", "3.3")),
    platforms=(Platform.LINUX,),
    requires_root=True,
    remediation="In /etc/ssh/sshd_config set `PermitRootLogin no`, `PasswordAuthentication no`, "
    "`KbdInteractiveAuthentication no`, `PermitEmptyPasswords no` and `MaxAuthTries 4`; reload sshd.",
)
def sshd_logins(sshd: SshdFacts) -> Verdict:
    if not sshd.installed:
        return Verdict.not_applicable("The OpenSSH server (sshd) is not installed.")
    o = sshd.options
    names = {"permitrootlogin": "PermitRootLogin", "passwordauthentication": "PasswordAuthentication",
             "permitemptypasswords": "PermitEmptyPasswords", "maxauthtries": "MaxAuthTries",
             "kbdinteractiveauthentication": "KbdInteractiveAuthentication", "usepam": "UsePAM"}
    observed = {label: o.get(key, "unset") for key, label in names.items()}
    expected = {"PermitRootLogin": "no", "PasswordAuthentication": "no", "PermitEmptyPasswords": "no",
                "MaxAuthTries": "<= 4"}
    problems = []
    root = o.get("permitrootlogin", "")
    if root != "no":
        # sshd -T prints prohibit-password under its old name, without-password.
        shown = "prohibit-password" if root == "without-password" else root or "unset"
        problems.append(f"PermitRootLogin is {shown} (root can log in over SSH)")
    if o.get("passwordauthentication") != "no":
        problems.append(f"PasswordAuthentication is {o.get('passwordauthentication', 'unset')}")
    elif o.get("kbdinteractiveauthentication") == "yes" and o.get("usepam") == "yes":
        problems.append("KbdInteractiveAuthentication is yes with UsePAM yes (passwords are still asked for)")
    if o.get("permitemptypasswords") != "no":
        problems.append(f"PermitEmptyPasswords is {o.get('permitemptypasswords', 'unset')}")
    tries = o.get("maxauthtries", "")
    if not tries.isdigit() or int(tries) > 4:
        problems.append(f"MaxAuthTries is {tries or 'unset'} (at most 4 expected)")
    if problems:
        return Verdict.failed(f"sshd: {'; '.join(problems)}.", observed=observed, expected=expected)
    return Verdict.passed(f"sshd refuses root and password logins and allows {tries} authentication attempts.",
                          observed=observed, expected=expected)


@check(
    id="SSH-0100",
    title="Seen from the network, the SSH server offers only strong algorithms",
    severity=Severity.MEDIUM,
    requirements=("R1", "R8"),
    controls=(ControlRef("iso27001-2022", "8.24"), ControlRef("iso27001-2022", "8.20"), ControlRef("cis-v8", "3.10")),
    remediation="Restrict Ciphers, MACs, KexAlgorithms and HostKeyAlgorithms in /etc/ssh/sshd_config as SSH-0010 "
    "and SSH-0020 describe and reload sshd; a proxy or appliance in front of the server must be configured "
    "the same way.",
)
def ssh_wire_algorithms(ssh_wire: SshWireFacts, min_aes_bits: int, chacha20_counts_as_aes256: bool) -> Verdict:
    if not ssh_wire.probed:
        return Verdict.not_applicable(f"No network view: {ssh_wire.problem}.")
    observed = {"banner": ssh_wire.banner, "address": f"{ssh_wire.host}:{ssh_wire.port}",
                "ciphers": list(ssh_wire.ciphers), "macs": list(ssh_wire.macs), "kex": list(ssh_wire.kex),
                "host_key_algorithms": list(ssh_wire.host_key_algorithms)}
    if ssh_wire.host_key_sha256:
        observed["host_key"] = f"{ssh_wire.host_key_type} {ssh_wire.host_key_sha256} ({ssh_wire.host_key_status})"
    expected = {"ciphers": f"AES-{min_aes_bits} ({_AES256})", "weak": "no SHA-1, MD5 or DSA"}
    found = {
        "ciphers": _bad_ciphers(ssh_wire.ciphers, min_aes_bits, chacha20_counts_as_aes256),
        "macs": _found(ssh_wire.macs, weak_mac),
        "kex": _found(ssh_wire.kex, weak_kex),
        "host keys": _found(ssh_wire.host_key_algorithms, weak_signature),
    }
    found = {key: names for key, names in found.items() if names}
    where = f"{ssh_wire.host}:{ssh_wire.port}"
    if found:
        listed = "; ".join(f"{key}: {', '.join(names)}" for key, names in found.items())
        return Verdict.failed(f"The SSH server at {where} offers weak algorithms before login: {listed}.",
                              observed=observed | {"weak": found}, expected=expected)
    return Verdict.passed(f"The SSH server at {where} offers only {', '.join(ssh_wire.ciphers)} with strong MACs, "
                          "key exchanges and host keys.", observed=observed, expected=expected)
