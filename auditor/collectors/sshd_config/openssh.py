"""OpenSSH's compiled-in sshd defaults, per release, for the configuration read from files.

What sshd uses where the files set nothing differs between releases only in its algorithm lists (the other
evaluated keywords have had the same defaults since 8.0). Each entry is what the real build prints: `sshd -T -f
/dev/null` of upstream releases built from their tags (tests/fixtures/outputs/ssh/openssh/, where a test compares
this table with those recordings), and of Debian 12's own package, which adds sntrup761x25519-sha512. A
release not in the table takes the closest older one (or the oldest), and says so.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping

from auditor.collectors.sshd_config.conditions import pattern_list
from auditor.records import record

# The evaluated keywords whose compiled-in default is the same in every release of the table.
SCALAR_DEFAULTS: Mapping[str, str] = {
    "allowtcpforwarding": "yes", "clientalivecountmax": "3", "clientaliveinterval": "0", "disableforwarding": "no",
    "hostbasedauthentication": "no", "ignorerhosts": "yes", "kbdinteractiveauthentication": "yes",
    "logingracetime": "120", "loglevel": "INFO", "maxauthtries": "6", "maxsessions": "10",
    "passwordauthentication": "yes", "permitemptypasswords": "no", "permitrootlogin": "without-password",
    "permituserenvironment": "no", "pubkeyauthentication": "yes", "strictmodes": "yes", "usepam": "no",
    "x11forwarding": "no",
}
_VERSION = re.compile(r"OpenSSH_(\d+)\.(\d+)")


@record
class Build:
    """One sshd build's compiled-in defaults: its algorithm lists, in sshd's order."""

    key: str
    name: str
    version: tuple[int, int]
    ciphers: tuple[str, ...]
    macs: tuple[str, ...]
    kex: tuple[str, ...]
    keys: tuple[str, ...]
    signatures: tuple[str, ...]
    # The host's own OpenSSH release where its distribution adds no keyword of a later release (see build_for):
    # a keyword that release lacks stops sshd. None: unknown, or a distribution that backports keywords.
    release: tuple[int, int] | None = None

    @property
    def defaults(self) -> dict[str, str]:
        """Evaluated keyword -> default value (the algorithm lists are assembled apart, see `assemble`)."""
        values = dict(SCALAR_DEFAULTS)
        if self.version < (8, 7):  # still a keyword of its own, on by default
            values["challengeresponseauthentication"] = "yes"
        return values

    def default_list(self, keyword: str) -> tuple[str, ...]:
        """The compiled-in list of an algorithm keyword."""
        return {"ciphers": self.ciphers, "macs": self.macs, "kexalgorithms": self.kex,
                "casignaturealgorithms": self.signatures}.get(keyword, self.keys)

    def assemble(self, keyword: str, written: str) -> tuple[str, ...]:
        """kex.c `kex_assemble_names`: the list sshd uses for what the files wrote ("" for nothing).

        Every entry is a pattern matched against all the algorithms of its kind (servconf.c
        `assemble_algorithms`), so `+ssh-rsa*` adds ssh-rsa and its certificate type, in that list's order, and a
        name sshd does not know adds nothing. A list that ends up empty (`-*`) is the default again."""
        default = self.default_list(keyword)
        if not written:
            return default
        if written.startswith("-"):
            patterns = [name for name in default if pattern_list(name, written[1:]) != 1]
        else:
            patterns = [n for n in written.lstrip("+^").split(",") if n]
            if written.startswith("+"):
                patterns = [*default, *patterns]
            elif written.startswith("^"):
                patterns = [*patterns, *default]
        every = self.every(keyword)
        names = [name for entry in patterns for name in every if pattern_list(name, entry) == 1]
        return tuple(dict.fromkeys(names)) or default

    def every(self, keyword: str) -> tuple[str, ...]:
        """All the algorithms of a list keyword's kind that this build knows."""
        every = _ALL.get(keyword, _ALL_KEYS)
        return every if self.version >= (9, 9) else tuple(n for n in every if not n.startswith("mlkem"))

    def refusal(self, keyword: str, written: str) -> str:
        """Why sshd refuses a list keyword's value ("" when it takes it): servconf.c checks names as it reads the
        line. Ciphers, MACs and KexAlgorithms take patterns only in a `-` list; the key lists take patterns that
        match some key type, never a negation; CASignatureAlgorithms takes no certificate type; names are
        case-sensitive. An empty entry (a trailing comma) is skipped, and so are GSSAPI key exchanges (`gss-…-`,
        which builds with GSSAPI key exchange take and `sshd -T` lists apart)."""
        entries = [e for e in (written[1:] if written[:1] in "+-^" else written).split(",") if e]
        every = _ALL_KEYS if keyword == "casignaturealgorithms" else self.every(keyword)
        if keyword in ("ciphers", "macs", "kexalgorithms"):
            bad = [] if written.startswith("-") else [e for e in entries if e not in every and not e.startswith("gss-")]
        else:
            bad = [e for e in entries if e.startswith("!") or not any(pattern_list(n, e) == 1 for n in every)]
        return f"Bad {keyword} {written!r}: {', '.join(repr(b) for b in bad)}" if bad else ""


def version_text(version: tuple[int, int]) -> str:
    """(9, 2) -> "9.2"."""
    return f"{version[0]}.{version[1]}"


def version_of(text: str) -> tuple[int, int] | None:
    """(major, minor) from `sshd -V` or `ssh -V` output ("OpenSSH_9.2p1 Debian-2+deb12u10, OpenSSL ...")."""
    found = _VERSION.search(text)
    return (int(found.group(1)), int(found.group(2))) if found else None


# Distributions whose sshd takes only the keywords of its upstream release. Red Hat's does not: RHEL 9's 8.7
# takes RequiredRSASize (upstream 9.1), which its crypto-policies write.
_UPSTREAM_KEYWORDS_ONLY = ("debian", "ubuntu")


def build_for(version: tuple[int, int] | None, os_id: str = "", os_version: str = "") -> tuple[Build, str]:
    """The table's build for a target, and a note when it is not an exact match ("" when it is)."""
    build, note = _table_build(version, os_id, os_version)
    if version is not None and os_id in _UPSTREAM_KEYWORDS_ONLY:
        build = dataclasses.replace(build, release=version)
    return build, note


def _table_build(version: tuple[int, int] | None, os_id: str, os_version: str) -> tuple[Build, str]:
    if version is None:
        build = next(b for b in BUILDS if b.key == "debian12")
        return build, f"the OpenSSH version is unknown; the defaults of {build.name} were used"
    if os_id == "debian" and os_version.split(".")[0] == "12" and version == (9, 2):
        return next(b for b in BUILDS if b.key == "debian12"), ""
    exact = [b for b in BUILDS if b.version == version and b.key.startswith("openssh-")]
    if exact:
        return exact[0], ""
    older = [b for b in BUILDS if b.version < version and b.key.startswith("openssh-")]
    build = older[-1] if older else BUILDS[0]
    shown = version_text(version)
    return build, f"OpenSSH {shown} is not in the scanner's table of defaults; those of {build.name} were used"


# Every algorithm of each kind, in the order `ssh -Q cipher|mac|kex|key-sig` prints them for Debian 12's OpenSSH 9.2
# (what sshd expands a pattern against), with OpenSSH 10.0's mlkem768x25519-sha256. One list for every release:
# a pattern may name an algorithm an older build lacks, which only a config written for a newer one does.
_ALL_CIPHERS = (
    "3des-cbc", "aes128-cbc", "aes192-cbc", "aes256-cbc", "aes128-ctr", "aes192-ctr", "aes256-ctr",
    "aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "chacha20-poly1305@openssh.com"
)
_ALL_MACS = (
    "hmac-sha1", "hmac-sha1-96", "hmac-sha2-256", "hmac-sha2-512", "hmac-md5", "hmac-md5-96", "umac-64@openssh.com",
    "umac-128@openssh.com", "hmac-sha1-etm@openssh.com", "hmac-sha1-96-etm@openssh.com",
    "hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com", "hmac-md5-etm@openssh.com",
    "hmac-md5-96-etm@openssh.com", "umac-64-etm@openssh.com", "umac-128-etm@openssh.com"
)
_ALL_KEX = (
    "diffie-hellman-group1-sha1", "diffie-hellman-group14-sha1", "diffie-hellman-group14-sha256",
    "diffie-hellman-group16-sha512", "diffie-hellman-group18-sha512", "diffie-hellman-group-exchange-sha1",
    "diffie-hellman-group-exchange-sha256", "ecdh-sha2-nistp256", "ecdh-sha2-nistp384", "ecdh-sha2-nistp521",
    "curve25519-sha256", "curve25519-sha256@libssh.org", "sntrup761x25519-sha512",
    "sntrup761x25519-sha512@openssh.com", "mlkem768x25519-sha256"
)
# Host keys and accepted public keys: every key and signature type, certificates too; CASignatureAlgorithms:
# the same without certificates.
_ALL_KEYS = (
    "ssh-ed25519", "ssh-ed25519-cert-v01@openssh.com", "sk-ssh-ed25519@openssh.com",
    "sk-ssh-ed25519-cert-v01@openssh.com", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384-cert-v01@openssh.com", "ecdsa-sha2-nistp521",
    "ecdsa-sha2-nistp521-cert-v01@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com",
    "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com", "webauthn-sk-ecdsa-sha2-nistp256@openssh.com", "ssh-dss",
    "ssh-dss-cert-v01@openssh.com", "ssh-rsa", "ssh-rsa-cert-v01@openssh.com", "rsa-sha2-256",
    "rsa-sha2-256-cert-v01@openssh.com", "rsa-sha2-512", "rsa-sha2-512-cert-v01@openssh.com"
)
_ALL = {"ciphers": _ALL_CIPHERS, "macs": _ALL_MACS, "kexalgorithms": _ALL_KEX,
        "casignaturealgorithms": tuple(k for k in _ALL_KEYS if "-cert-" not in k)}

# Every release from 8.0 to 9.6; 10.0 puts AES-GCM before AES-CTR.
_CIPHERS = (
    "chacha20-poly1305@openssh.com", "aes128-ctr", "aes192-ctr", "aes256-ctr", "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com"
)

# Every release of the table.
_MACS = (
    "umac-64-etm@openssh.com", "umac-128-etm@openssh.com", "hmac-sha2-256-etm@openssh.com",
    "hmac-sha2-512-etm@openssh.com", "hmac-sha1-etm@openssh.com", "umac-64@openssh.com", "umac-128@openssh.com",
    "hmac-sha2-256", "hmac-sha2-512", "hmac-sha1"
)

# 8.4 and 8.7: diffie-hellman-group14-sha1 gone.
_KEX_8_4 = (
    "curve25519-sha256", "curve25519-sha256@libssh.org", "ecdh-sha2-nistp256", "ecdh-sha2-nistp384",
    "ecdh-sha2-nistp521", "diffie-hellman-group-exchange-sha256", "diffie-hellman-group16-sha512",
    "diffie-hellman-group18-sha512", "diffie-hellman-group14-sha256"
)

# 9.2 and 9.6: sntrup761x25519 first.
_KEX_9_2 = (
    "sntrup761x25519-sha512@openssh.com", "curve25519-sha256", "curve25519-sha256@libssh.org", "ecdh-sha2-nistp256",
    "ecdh-sha2-nistp384", "ecdh-sha2-nistp521", "diffie-hellman-group-exchange-sha256", "diffie-hellman-group16-sha512",
    "diffie-hellman-group18-sha512", "diffie-hellman-group14-sha256"
)

# From 8.8 on: ssh-rsa (SHA-1) no longer offered.
_KEYS_8_8 = (
    "ssh-ed25519-cert-v01@openssh.com", "ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "ecdsa-sha2-nistp384-cert-v01@openssh.com", "ecdsa-sha2-nistp521-cert-v01@openssh.com",
    "sk-ssh-ed25519-cert-v01@openssh.com", "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "rsa-sha2-512-cert-v01@openssh.com", "rsa-sha2-256-cert-v01@openssh.com", "ssh-ed25519", "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com",
    "rsa-sha2-512", "rsa-sha2-256"
)

# From 8.7 on.
_SIGNATURES_8_7 = (
    "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com", "rsa-sha2-512", "rsa-sha2-256"
)

BUILDS: tuple[Build, ...] = (
    Build("openssh-8.0", "upstream OpenSSH 8.0p1, the release RHEL 8 ships", (8, 0),
        ciphers=_CIPHERS,
        macs=_MACS,
        kex=(
            "curve25519-sha256", "curve25519-sha256@libssh.org", "ecdh-sha2-nistp256", "ecdh-sha2-nistp384",
            "ecdh-sha2-nistp521", "diffie-hellman-group-exchange-sha256", "diffie-hellman-group16-sha512",
            "diffie-hellman-group18-sha512", "diffie-hellman-group14-sha256", "diffie-hellman-group14-sha1"
        ),
        keys=(
            "ecdsa-sha2-nistp256-cert-v01@openssh.com", "ecdsa-sha2-nistp384-cert-v01@openssh.com",
            "ecdsa-sha2-nistp521-cert-v01@openssh.com", "ssh-ed25519-cert-v01@openssh.com",
            "rsa-sha2-512-cert-v01@openssh.com", "rsa-sha2-256-cert-v01@openssh.com", "ssh-rsa-cert-v01@openssh.com",
            "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-ed25519", "rsa-sha2-512",
            "rsa-sha2-256", "ssh-rsa"
        ),
        signatures=(
            "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-ed25519", "rsa-sha2-512",
            "rsa-sha2-256", "ssh-rsa"
        ),
    ),
    Build("openssh-8.4", "upstream OpenSSH 8.4p1, the release Debian 11 ships", (8, 4),
        ciphers=_CIPHERS,
        macs=_MACS,
        kex=_KEX_8_4,
        keys=(
            "ecdsa-sha2-nistp256-cert-v01@openssh.com", "ecdsa-sha2-nistp384-cert-v01@openssh.com",
            "ecdsa-sha2-nistp521-cert-v01@openssh.com", "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
            "ssh-ed25519-cert-v01@openssh.com", "sk-ssh-ed25519-cert-v01@openssh.com",
            "rsa-sha2-512-cert-v01@openssh.com", "rsa-sha2-256-cert-v01@openssh.com", "ssh-rsa-cert-v01@openssh.com",
            "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "sk-ecdsa-sha2-nistp256@openssh.com",
            "ssh-ed25519", "sk-ssh-ed25519@openssh.com", "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"
        ),
        signatures=(
            "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "sk-ecdsa-sha2-nistp256@openssh.com",
            "ssh-ed25519", "sk-ssh-ed25519@openssh.com", "rsa-sha2-512", "rsa-sha2-256"
        ),
    ),
    Build("openssh-8.7", "upstream OpenSSH 8.7p1, the release RHEL 9 ships", (8, 7),
        ciphers=_CIPHERS,
        macs=_MACS,
        kex=_KEX_8_4,
        keys=(
            "ssh-ed25519-cert-v01@openssh.com", "ecdsa-sha2-nistp256-cert-v01@openssh.com",
            "ecdsa-sha2-nistp384-cert-v01@openssh.com", "ecdsa-sha2-nistp521-cert-v01@openssh.com",
            "sk-ssh-ed25519-cert-v01@openssh.com", "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
            "rsa-sha2-512-cert-v01@openssh.com", "rsa-sha2-256-cert-v01@openssh.com", "ssh-rsa-cert-v01@openssh.com",
            "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
            "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com", "rsa-sha2-512", "rsa-sha2-256",
            "ssh-rsa"
        ),
        signatures=_SIGNATURES_8_7,
    ),
    Build("openssh-8.9", "upstream OpenSSH 8.9p1, the release Ubuntu 22.04 ships", (8, 9),
        ciphers=_CIPHERS,
        macs=_MACS,
        kex=(
            "curve25519-sha256", "curve25519-sha256@libssh.org", "ecdh-sha2-nistp256", "ecdh-sha2-nistp384",
            "ecdh-sha2-nistp521", "sntrup761x25519-sha512@openssh.com", "diffie-hellman-group-exchange-sha256",
            "diffie-hellman-group16-sha512", "diffie-hellman-group18-sha512", "diffie-hellman-group14-sha256"
        ),
        keys=_KEYS_8_8,
        signatures=_SIGNATURES_8_7,
    ),
    Build("openssh-9.2", "upstream OpenSSH 9.2p1", (9, 2),
        ciphers=_CIPHERS,
        macs=_MACS,
        kex=_KEX_9_2,
        keys=_KEYS_8_8,
        signatures=_SIGNATURES_8_7,
    ),
    Build("debian12", "Debian 12's openssh-server 1:9.2p1-2+deb12u10", (9, 2),
        ciphers=_CIPHERS,
        macs=_MACS,
        kex=(
            "sntrup761x25519-sha512", "sntrup761x25519-sha512@openssh.com", "curve25519-sha256",
            "curve25519-sha256@libssh.org", "ecdh-sha2-nistp256", "ecdh-sha2-nistp384", "ecdh-sha2-nistp521",
            "diffie-hellman-group-exchange-sha256", "diffie-hellman-group16-sha512", "diffie-hellman-group18-sha512",
            "diffie-hellman-group14-sha256"
        ),
        keys=_KEYS_8_8,
        signatures=_SIGNATURES_8_7,
    ),
    Build("openssh-9.6", "upstream OpenSSH 9.6p1, the release Ubuntu 24.04 ships", (9, 6),
        ciphers=_CIPHERS,
        macs=_MACS,
        kex=_KEX_9_2,
        keys=_KEYS_8_8,
        signatures=_SIGNATURES_8_7,
    ),
    Build("openssh-10.0", "upstream OpenSSH 10.0, the release Debian 13 ships", (10, 0),
        ciphers=(
            "chacha20-poly1305@openssh.com", "aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "aes128-ctr",
            "aes192-ctr", "aes256-ctr"
        ),
        macs=_MACS,
        kex=(
            "mlkem768x25519-sha256", "sntrup761x25519-sha512", "sntrup761x25519-sha512@openssh.com",
            "curve25519-sha256", "curve25519-sha256@libssh.org", "ecdh-sha2-nistp256", "ecdh-sha2-nistp384",
            "ecdh-sha2-nistp521"
        ),
        keys=_KEYS_8_8,
        signatures=_SIGNATURES_8_7,
    ),
)
