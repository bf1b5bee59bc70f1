"""The SSH daemon's effective configuration (SSH-0010..0030): strong ciphers, no SHA-1/MD5/DSA, no root or
password logins, judged from `sshd -T` (auditor/collectors/sshd.py). What the same server offers on the
network is judged separately, by checks/ssh.py."""

from __future__ import annotations

from auditor.collectors.sshd import SshdFacts
from auditor.plugin import ControlRef, Platform, Severity, Verdict, check
from checks.ssh_algorithms import bad_ciphers, named, weak_kex, weak_mac, weak_signature


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
    bad = bad_ciphers(ciphers, min_aes_bits, chacha20_counts_as_aes256)
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
        "macs": named(lists.get("macs", ()), weak_mac),
        "kexalgorithms": named(lists.get("kexalgorithms", ()), weak_kex),
        **{key: named(lists.get(key, ()), weak_signature)
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
