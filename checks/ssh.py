"""The SSH server as a client on the network sees it (SSH-0100): what it offers before login, from the
handshake (auditor/collectors/ssh_wire.py). The daemon's configuration is judged by checks/sshd.py."""

from __future__ import annotations

from auditor.collectors.ssh_wire import SshWireFacts
from auditor.plugin import ControlRef, Severity, Verdict, check
from checks.ssh_algorithms import AES256, bad_ciphers, named, weak_kex, weak_mac, weak_signature


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
    expected = {"ciphers": f"AES-{min_aes_bits} ({AES256})", "weak": "no SHA-1, MD5 or DSA"}
    found = {
        "ciphers": bad_ciphers(ssh_wire.ciphers, min_aes_bits, chacha20_counts_as_aes256),
        "macs": named(ssh_wire.macs, weak_mac),
        "kex": named(ssh_wire.kex, weak_kex),
        "host keys": named(ssh_wire.host_key_algorithms, weak_signature),
    }
    found = {key: names for key, names in found.items() if names}
    where = f"{ssh_wire.host}:{ssh_wire.port}"
    if found:
        listed = "; ".join(f"{key}: {', '.join(names)}" for key, names in found.items())
        return Verdict.failed(f"The SSH server at {where} offers weak algorithms before login: {listed}.",
                              observed=observed | {"weak": found}, expected=expected)
    return Verdict.passed(f"The SSH server at {where} offers only {', '.join(ssh_wire.ciphers)} with strong MACs, "
                          "key exchanges and host keys.", observed=observed, expected=expected)
