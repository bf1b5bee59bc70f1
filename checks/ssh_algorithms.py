"""How SSH algorithms are judged, shared by the daemon's configuration (checks/sshd.py) and the network view
(checks/ssh.py): which ciphers meet the AES requirement, and which MACs, key exchanges and signatures are weak.
Not a check module: it holds no @check."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

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
AES256 = "aes256-gcm@openssh.com, aes256-ctr"


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
    if name.startswith("umac-64"):
        return "64-bit tag"
    return "96-bit tag" if name.endswith("-96") or "-96-" in name else ""


def encrypt_and_mac(name: str) -> str:
    """Why a MAC that is not weak in itself is still a concern: it MACs the plaintext (encrypt-and-MAC, not
    encrypt-then-MAC), which has allowed plaintext-recovery attacks ("" for -etm MACs)."""
    return "" if "-etm@" in name or weak_mac(name) else "encrypt-and-MAC"


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


def named(names: Iterable[str], judge: Callable[[str], str]) -> list[str]:
    """Each name the judge finds fault with, as "name (why)"."""
    return [f"{n} ({why})" for n in names if (why := judge(n))]


def bad_ciphers(names: Iterable[str], min_aes_bits: int, chacha: bool) -> list[str]:
    """Each cipher that falls short of the AES requirement, as "name (why)"."""
    return [f"{n} ({why})" for n in names if (why := cipher_problem(n, min_aes_bits, chacha))]
