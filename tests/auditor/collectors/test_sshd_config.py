"""The scanner's own sshd_config reading: trap trees evaluated by the parser and by the real `sshd -T` agree on
every evaluated keyword, for an outside client and for each Match block; plus the pieces on their own (lines,
Match conditions, list modifiers, the defaults table against the real builds' output, daemon command lines)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import replace
from pathlib import Path

import pytest

from auditor.collectors.sshd import parse_view
from auditor.collectors.sshd_config.conditions import (
    Connection,
    Criterion,
    address_list,
    applies,
    parse_condition,
    pattern_list,
    trigger,
)
from auditor.collectors.sshd_config.daemons import (
    expand,
    identify,
    parse_cmdline,
    parse_environment,
    parse_options,
    parse_unit,
)
from auditor.collectors.sshd_config.evaluate import evaluate, match_lines
from auditor.collectors.sshd_config.openssh import BUILDS, SCALAR_DEFAULTS, build_for, version_of
from auditor.collectors.sshd_config.reading import read_trees
from auditor.collectors.sshd_config.tree import ConfigFile, Directive, split_line
from auditor.collectors.sshd_config.values import ALIASES, EVALUATED, LISTS, seconds
from auditor.transports.base import FileContent
from auditor.transports.local import LocalTransport
from tests import sshd_server

OUTPUTS = Path(__file__).resolve().parents[2] / "fixtures" / "outputs" / "ssh"
SSHD = "/usr/sbin/sshd"
DEBIAN12 = next(b for b in BUILDS if b.key == "debian12")
# A fresh tmpfs over /run holding /run/sshd, in a private mount namespace: `sshd -T` runs whether or not sshd
# ever ran on this machine, and nothing is left behind.
NAMESPACE = ('mount -t tmpfs -o size=1m,mode=0755 auditor-test /run && mkdir -m 0755 /run/sshd && exec "$@"')

# Each trap tree: files relative to a fresh folder ({root} is that folder), the main file first.
TRAPS = {
    "a drop-in included before the main settings wins; a disabled drop-in is ignored": {
        "sshd_config": "Include {root}/sshd_config.d/*.conf\nPermitRootLogin no\nPasswordAuthentication no\n"
                       "MaxAuthTries 3\n",
        "sshd_config.d/10-root.conf": "PermitRootLogin yes\n",
        "sshd_config.d/20-passwords.conf.disabled": "PasswordAuthentication yes\nMaxAuthTries 9\n",
    },
    "keywords in any case, `=` and times with units": {
        "sshd_config": "permitrootlogin NO\nciphers aes256-ctr\nMaxAuthTries=3\n  X11FORWARDING Yes\nloglevel verbose\n"
                       "LOGINGRACETIME 1m30S\nclientaliveinterval 5m\nPermitRootLogin yes\n",
    },
    "list modifiers add, remove and put first": {
        "sshd_config": "Ciphers +aes128-cbc\nMACs -hmac-sha1*,umac-64*\nKexAlgorithms ^curve25519-sha256\n"
                       "HostKeyAlgorithms -*nistp*\nPubkeyAcceptedAlgorithms +ssh-rsa\n",
    },
    "a Match block re-enables root and password logins": {
        "sshd_config": "PermitRootLogin no\nPasswordAuthentication no\nMatch Address 10.40.0.0/16\n"
                       "  PermitRootLogin yes\n  PasswordAuthentication yes\nMatch User deploy Host *.example.org\n"
                       "  PermitEmptyPasswords yes\n  MaxAuthTries 0\n  PubkeyAcceptedAlgorithms +ssh-rsa\n"
                       "Match all\n  X11Forwarding yes\n",
    },
    "a Match block for every address outside one network": {
        "sshd_config": "PermitRootLogin no\nMatch Address *,!10.0.0.0/8\n  PermitRootLogin yes\n",
    },
    "a Match block in a drop-in ends with the drop-in": {
        "sshd_config": "Include {root}/sshd_config.d/*.conf\nPermitRootLogin no\nAllowTcpForwarding no\n",
        "sshd_config.d/50-admins.conf": "Match User admin,!guest\n  PermitRootLogin yes\n",
    },
    "patterns in algorithm lists, log levels as sshd prints them, an old alias and a signed number": {
        "sshd_config": "PubkeyAcceptedAlgorithms +ssh-rsa*\nHostKeyAlgorithms ssh-ed25519*,rsa-sha2-*\n"
                       "CASignatureAlgorithms ^ssh-*\nKexAlgorithms +diffie-hellman-group14-sha1\nCiphers -*\n"
                       "LogLevel quiet\n"
                       "DSAAuthentication no\nMaxAuthTries +3\nMatch User debugger\n  LogLevel debug1\n"
                       "Match User silent\n  LogLevel silent\n",
    },
    "a quoted keyword, a trailing comma, a GSSAPI key exchange and a signed time, as sshd takes them": {
        "sshd_config": '"PermitRootLogin" no\nMACs hmac-sha2-256-etm@openssh.com,\n'
                       "KexAlgorithms curve25519-sha256,gss-curve25519-sha256-\nLoginGraceTime +30\n",
    },
    "a CIS-style drop-in: removal lists naming algorithms this OpenSSH no longer has, forwarding off, limits": {
        "sshd_config": "Include {root}/sshd_config.d/*.conf\nPermitRootLogin prohibit-password\nUsePAM yes\n",
        "sshd_config.d/50-cis.conf":
            "Ciphers -3des-cbc,aes128-cbc,aes192-cbc,aes256-cbc,chacha20-poly1305@openssh.com\n"
            "KexAlgorithms -diffie-hellman-group1-sha1,diffie-hellman-group14-sha1,"
            "diffie-hellman-group-exchange-sha1\n"
            "MACs -hmac-md5,hmac-md5-96,hmac-ripemd160,hmac-sha1-96,umac-64@openssh.com,hmac-md5-etm@openssh.com,"
            "hmac-md5-96-etm@openssh.com,hmac-ripemd160-etm@openssh.com,hmac-sha1-96-etm@openssh.com,"
            "umac-64-etm@openssh.com,umac-128-etm@openssh.com\n"
            "DisableForwarding yes\nMaxAuthTries 4\nMaxStartups 10:30:60\nMaxSessions 10\nLoginGraceTime 60\n"
            "ClientAliveInterval 15\nClientAliveCountMax 3\nBanner /etc/issue.net\nLogLevel VERBOSE\n"
            "PermitUserEnvironment no\nIgnoreRhosts yes\nHostbasedAuthentication no\nPermitEmptyPasswords no\n"
            "AllowGroups root sudo\nDenyUsers nobody\n",
    },
    "ssh-audit's Debian 12 hardening guide, as written": {
        "sshd_config": "Include {root}/sshd_config.d/*.conf\n",
        "sshd_config.d/ssh-audit_hardening.conf":
            "# Restrict key exchange, cipher, and MAC algorithms, as per sshaudit.com\n# hardening guide.\n"
            "KexAlgorithms sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,"
            "gss-curve25519-sha256-,diffie-hellman-group16-sha512,gss-group16-sha512-,"
            "diffie-hellman-group18-sha512,diffie-hellman-group-exchange-sha256\n"
            "Ciphers aes256-gcm@openssh.com,aes256-ctr,aes192-ctr,aes128-gcm@openssh.com,aes128-ctr\n"
            "MACs hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,umac-128-etm@openssh.com\n"
            "HostKeyAlgorithms sk-ssh-ed25519-cert-v01@openssh.com,ssh-ed25519-cert-v01@openssh.com,"
            "rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,sk-ssh-ed25519@openssh.com,"
            "ssh-ed25519,rsa-sha2-512,rsa-sha2-256\n"
            "RequiredRSASize 3072\n"
            "CASignatureAlgorithms sk-ssh-ed25519@openssh.com,ssh-ed25519,rsa-sha2-512,rsa-sha2-256\n"
            "GSSAPIKexAlgorithms gss-curve25519-sha256-,gss-group16-sha512-\n"
            "HostbasedAcceptedAlgorithms sk-ssh-ed25519-cert-v01@openssh.com,ssh-ed25519-cert-v01@openssh.com,"
            "sk-ssh-ed25519@openssh.com,ssh-ed25519,rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-512,"
            "rsa-sha2-256-cert-v01@openssh.com,rsa-sha2-256\n"
            "PubkeyAcceptedAlgorithms sk-ssh-ed25519-cert-v01@openssh.com,ssh-ed25519-cert-v01@openssh.com,"
            "sk-ssh-ed25519@openssh.com,ssh-ed25519,rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-512,"
            "rsa-sha2-256-cert-v01@openssh.com,rsa-sha2-256\n",
    },
    "an Include naming a folder, or a pattern matching one, reads nothing from that folder": {
        "sshd_config": "Include {root}/sshd_config.d\nInclude {root}/conf/*\nPermitRootLogin no\n"
                       "PasswordAuthentication no\n",
        "sshd_config.d/10-root.conf": "PermitRootLogin yes\n",
        "conf/sub/50-passwords.conf": "PasswordAuthentication yes\n",
        "conf/a.conf": "MaxAuthTries 3\n",
    },
    "an Include inside a Match block is read only for its connections": {
        "sshd_config": "PermitRootLogin no\nMatch LocalPort 2222\n  Include {root}/port2222/*.conf\n"
                       "Match User backup\n  ForceCommand /bin/true\n",
        "port2222/a.conf": "PermitRootLogin yes\nAllowTcpForwarding local\nClientAliveCountMax 0\n",
    },
}


def _materialise(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.replace("{root}", str(folder)))
    return folder / next(iter(files))


def _sshd_t(config: Path, host_key: Path, connection: Connection, *options: str) -> dict[str, str]:
    """The real `sshd -T` for the config, as root, in a namespace where its privilege separation folder exists."""
    argv = [SSHD, "-T", "-f", str(config), "-h", str(host_key), *options, "-C", connection.spec()]
    run = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", NAMESPACE, "sh", *argv],
                         capture_output=True, text=True, check=False, timeout=30)
    assert run.returncode == 0, run.stderr
    return dict(parse_view(run.stdout).options)


def _require_real_sshd() -> None:
    sshd_server.require_root("`sshd -T` (it loads a host key)")
    if not Path(SSHD).is_file() or shutil.which("unshare") is None:
        pytest.fail("the OpenSSH server and util-linux must be installed (Makefile TEST_DEBS)")


def _connections(root) -> list[Connection]:
    """The outside client, and a connection triggering each Match block, all on local port 22."""
    made = [trigger(parse_condition(line.args), base=Connection(lport=22)) for line, _ in match_lines(root)]
    return [Connection(lport=22), *(c for c in made if isinstance(c, Connection))]


@pytest.mark.parametrize("trap", list(TRAPS))
def test_the_parser_agrees_with_sshd_on_each_trap_tree(trap, tmp_path):
    # Given a trap tree on disk, and this machine's real sshd
    _require_real_sshd()
    main = _materialise(tmp_path / "tree", TRAPS[trap])
    host_key = sshd_server.keygen(tmp_path / "host_key")
    # When the scanner reads the tree through the local transport (its glob runs in the shell, as on a target)
    trees, problems = read_trees(LocalTransport(), [str(main)], {}, {}, set())
    root = trees[str(main)].root
    assert root is not None and not problems and not trees[str(main)].problems
    # Then for the outside client and for each Match block's connection, every evaluated keyword is what sshd says
    connections = _connections(root)
    assert len(connections) == 1 + len(match_lines(root))
    for connection in connections:
        # (as this host's build: Debian 12's 9.2, whose keywords the reading knows)
        evaluated = evaluate(root, replace(DEBIAN12, release=DEBIAN12.version), connection)
        theirs = _sshd_t(main, host_key, connection)
        assert not evaluated.problems, evaluated.problems  # the real sshd took every line of the tree
        mine = evaluated.options
        assert {k: mine.get(k) for k in EVALUATED} == {k: theirs.get(k) for k in EVALUATED}, connection.spec()


def test_the_traps_spring_as_sshd_springs_them(tmp_path):
    # The same trees, with what each trap should do spelled out (so agreement is not agreement on nothing)
    def outside(trap: str, **connection: object) -> dict[str, str]:
        main = _materialise(tmp_path / str(len(list(tmp_path.iterdir()))), TRAPS[trap])
        trees, _ = read_trees(LocalTransport(), [str(main)], {}, {}, set())
        root = trees[str(main)].root
        assert root is not None
        return dict(evaluate(root, DEBIAN12, Connection(lport=22, **connection)).options)  # type: ignore[arg-type]

    first = outside("a drop-in included before the main settings wins; a disabled drop-in is ignored")
    assert (first["permitrootlogin"], first["passwordauthentication"], first["maxauthtries"]) == ("yes", "no", "3")
    case = outside("keywords in any case, `=` and times with units")
    assert (case["permitrootlogin"], case["x11forwarding"], case["logingracetime"], case["loglevel"]) == \
        ("no", "yes", "90", "VERBOSE")
    lists = outside("list modifiers add, remove and put first")
    assert lists["ciphers"].endswith(",aes128-cbc") and lists["kexalgorithms"].startswith("curve25519-sha256,")
    assert "hmac-sha1" not in lists["macs"] and "umac-64" not in lists["macs"] and "nistp" not in lists[
        "hostkeyalgorithms"]
    assert outside("a Match block re-enables root and password logins", addr="10.40.0.7")["permitrootlogin"] == "yes"
    everywhere = "a Match block for every address outside one network"
    assert outside(everywhere, addr="192.0.2.1")["permitrootlogin"] == "yes"
    assert outside(everywhere, addr="10.1.2.3")["permitrootlogin"] == "no"
    assert outside("a Match block in a drop-in ends with the drop-in", user="admin")["permitrootlogin"] == "yes"
    assert outside("a Match block in a drop-in ends with the drop-in", user="guest")["permitrootlogin"] == "no"
    assert outside("an Include inside a Match block is read only for its connections")["permitrootlogin"] == "no"


@pytest.mark.parametrize("line", [
    "Ciphers aes256-ctr aes128-ctr",  # a blank where a comma belongs: an extra argument
    "MACs +hmac-sha1*",  # patterns only in a `-` list of ciphers, MACs and key exchanges
    "Ciphers AES256-CTR",  # names are case-sensitive
    "KexAlgorithms mlkem768x25519-sha256",  # OpenSSH 9.9's, unknown to 9.2
    "HostKeyAlgorithms ssh-ed25519,!ssh-rsa",  # no negation in a plain list
    "PermitRootLogin no yes",
    "PermitRootLogon no",  # a typo: sshd stops ("Bad configuration option"), the daemon keeps its old settings
    "Port 0", "Port 70000", "Port -22",  # a2port: 1 to 65535 (or a service name, which sshd looks up)
    'Ciphers ""',  # an empty argument: "Ciphers missing argument"
    "Match LocalPort 22,2222", "Match LocalPort 70000", "Match LocalPort 2200-2299",  # one port, not a list
])
def test_a_line_sshd_refuses_is_refused_by_the_reading_too(line, tmp_path):
    # Given a file with a line sshd refuses (checked against the real sshd where it runs)
    _require_real_sshd()
    main = _materialise(tmp_path / "tree", {"sshd_config": f"{line}\n"})
    argv = [SSHD, "-T", "-f", str(main), "-h", str(sshd_server.keygen(tmp_path / "host_key"))]
    run = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", NAMESPACE, "sh", *argv],
                         capture_output=True, text=True, check=False, timeout=30)
    assert run.returncode != 0 and ("line 1" in run.stderr or "assemble_algorithms" in run.stderr), run.stderr
    trees, _ = read_trees(LocalTransport(), [str(main)], {}, {}, set())
    root = trees[str(main)].root
    assert root is not None
    # Then the scanner's reading names the line as one sshd refuses
    problems = evaluate(root, DEBIAN12, Connection(lport=22)).problems
    assert len(problems) == 1 and "line 1:" in problems[0] and "(sshd refuses this file)" in problems[0], problems


def test_ports_are_read_as_sshd_reads_them(tmp_path):
    # Given a signed port number and the ssh service's name (checked against the real sshd where it runs)
    _require_real_sshd()
    main = _materialise(tmp_path / "tree", {"sshd_config": "Port +2222\nPort ssh\n"})
    theirs = _sshd_t(main, sshd_server.keygen(tmp_path / "host_key"), Connection(lport=22))
    trees, _ = read_trees(LocalTransport(), [str(main)], {}, {}, set())
    root = trees[str(main)].root
    assert root is not None
    # Then the daemon's ports are the real sshd's (it prints `port 2222` then `port 22`)
    assert evaluate(root, DEBIAN12).ports == (2222, 22) and theirs["port"] == "2222"


def test_a_port_given_as_a_service_name_is_left_to_sshd_not_refused():
    # sshd looks a name up in the services database (`Port ssh` is 22), which is the target's, not the scanner's
    root = ConfigFile("/etc/ssh/sshd_config", (Directive("port", ("ssh",), "/etc/ssh/sshd_config line 1"),))
    assert evaluate(root, DEBIAN12).problems == ()
    # and a name other than ssh leaves the port unknown, never the default 22
    other = ConfigFile("/etc/ssh/sshd_config", (Directive("port", ("https",), "/etc/ssh/sshd_config line 1"),))
    assert evaluate(other, DEBIAN12).ports == ()


def test_a_match_localport_sshd_takes_is_taken():
    # sshd (checked above for what it refuses) takes one number from 0 to 65535, signed, or a service name
    for value in ("0", "+22", "65535", "ssh"):
        assert parse_condition(["LocalPort", value]) == (Criterion("localport", value),)


@pytest.mark.parametrize("line, refused", [
    ("Port 2222", True), ("ListenAddress 127.0.0.1", True), ("UseDNS no", True), ("MaxStartups 10:30:60", True),
    ("PrintMotd no", True), ("PasswordAuthentication yes", False), ("AuthorizedKeysFile2 .ssh/keys2", False),
])
def test_a_global_keyword_under_a_match_is_refused_as_sshd_refuses_it(line, refused, tmp_path):
    # Given a keyword under a Match block that does not hold at start-up (checked against the real sshd)
    _require_real_sshd()
    main = _materialise(tmp_path / "tree", {"sshd_config": f"Match Address 10.40.0.0/16\n    {line}\n"})
    argv = [SSHD, "-T", "-f", str(main), "-h", str(sshd_server.keygen(tmp_path / "host_key"))]
    run = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", NAMESPACE, "sh", *argv],
                         capture_output=True, text=True, check=False, timeout=30)
    assert (run.returncode != 0 and "line 2" in run.stderr) is refused, run.stderr
    trees, _ = read_trees(LocalTransport(), [str(main)], {}, {}, set())
    root = trees[str(main)].root
    assert root is not None
    # Then the scanner's reading refuses the line exactly when sshd does; under `Match all` it is a global value
    problems = evaluate(root, DEBIAN12, Connection(lport=22)).problems
    keyword = line.split()[0].lower()
    expected = f"{main} line 2: {keyword} is not allowed within a Match block (sshd refuses this file)"
    assert list(problems) == ([expected] if refused else []), problems
    everyone = _materialise(tmp_path / "all", {"sshd_config": f"Match all\n    {line}\n"})
    trees, _ = read_trees(LocalTransport(), [str(everyone)], {}, {}, set())
    assert evaluate(trees[str(everyone)].root, DEBIAN12, Connection(lport=22)).problems == ()


def test_a_keyword_newer_than_the_hosts_release_is_refused_where_the_distribution_backports_none(tmp_path):
    # Given a file with OpenSSH 9.1's RequiredRSASize and 9.8's PerSourcePenalties, which this machine's real
    # sshd (Debian 12's 9.2) stops on at line 2
    _require_real_sshd()
    main = _materialise(tmp_path / "tree", {"sshd_config": "RequiredRSASize 3072\nPerSourcePenalties no\n"})
    argv = [SSHD, "-T", "-f", str(main), "-h", str(sshd_server.keygen(tmp_path / "host_key"))]
    run = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", NAMESPACE, "sh", *argv],
                         capture_output=True, text=True, check=False, timeout=30)
    assert run.returncode != 0 and "line 2" in run.stderr and "line 1" not in run.stderr, run.stderr
    trees, _ = read_trees(LocalTransport(), [str(main)], {}, {}, set())
    root = trees[str(main)].root
    assert root is not None

    def refused(version, os_id, os_version):
        return [p.split(": ", 1)[1] for p in evaluate(root, build_for(version, os_id, os_version)[0]).problems]

    # Then Debian 12's release refuses line 2 as its sshd does, Ubuntu 22.04's (8.9) both lines
    assert refused((9, 2), "debian", "12") == [
        "Bad configuration option: persourcepenalties (OpenSSH 9.8 added it; this host's is 9.2: sshd refuses "
        "this file)"]
    assert [p.split(" (")[0] for p in refused((8, 9), "ubuntu", "22.04")] == [
        "Bad configuration option: requiredrsasize", "Bad configuration option: persourcepenalties"]
    # And where a distribution backports keywords (RHEL 9's 8.7 takes RequiredRSASize), or the release is not
    # known, nothing is refused for its release
    assert refused((8, 7), "rhel", "9.4") == [] and refused(None, "debian", "12") == []


def _rebased(tree: str, folder: Path) -> Path:
    """A recorded RHEL tree copied under `folder`, its absolute paths pointing into the copy."""
    shutil.copytree(OUTPUTS / tree, folder)
    for path in folder.rglob("*"):
        if path.is_file():
            path.write_text(path.read_text().replace("/etc/", f"{folder}/etc/"))
    return folder / "etc" / "ssh" / "sshd_config"


def test_a_rhel9_crypto_policies_tree_reads_as_sshd_reads_it(tmp_path):
    # Given RHEL 9's layout: the crypto policy included by 50-redhat.conf, after Anaconda's 01-permitrootlogin.conf
    _require_real_sshd()
    main = _rebased("rhel9-tree", tmp_path / "rhel9")
    trees, _ = read_trees(LocalTransport(), [str(main)], {}, {}, set())
    root = trees[str(main)].root
    assert root is not None
    # When evaluated, Then it agrees with sshd (the policy's lists, root login from the earlier drop-in)
    mine = evaluate(root, DEBIAN12, Connection()).options
    theirs = _sshd_t(main, sshd_server.keygen(tmp_path / "key"), Connection())
    assert {k: mine.get(k) for k in EVALUATED} == {k: theirs.get(k) for k in EVALUATED}
    assert mine["ciphers"].endswith("aes128-gcm@openssh.com,aes128-ctr") and mine["permitrootlogin"] == "yes"
    assert mine["x11forwarding"] == "yes" and mine["usepam"] == "yes"


def test_a_rhel8_crypto_policy_on_the_command_line_wins_over_the_files(tmp_path):
    # Given RHEL 8's layout: the policy is CRYPTO_POLICY in an environment file, expanded into sshd's -o options
    _require_real_sshd()
    main = _rebased("rhel8-tree", tmp_path / "rhel8")
    environment = parse_environment((OUTPUTS / "rhel8-tree/etc/crypto-policies/back-ends/opensshserver.config")
                                    .read_text())
    options = parse_options(expand(("/usr/sbin/sshd", "-D", "$OPTIONS", "$CRYPTO_POLICY"), environment))
    assert options.arguments[:2] == (
        "-o", "Ciphers=aes256-gcm@openssh.com,chacha20-poly1305@openssh.com,aes256-ctr,aes256-cbc,"
              "aes128-gcm@openssh.com,aes128-ctr,aes128-cbc")
    trees, _ = read_trees(LocalTransport(), [str(main)], {}, {}, set())
    root = trees[str(main)].root
    assert root is not None
    # When evaluated with those options, Then it agrees with sshd run with the same options
    mine = evaluate(root, DEBIAN12, Connection(), options.lines).options
    theirs = _sshd_t(main, sshd_server.keygen(tmp_path / "key"), Connection(), *options.arguments)
    assert {k: mine.get(k) for k in EVALUATED} == {k: theirs.get(k) for k in EVALUATED}
    assert "aes256-cbc" in mine["ciphers"] and mine["permitrootlogin"] == "yes"


# ---- the defaults table ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("build", BUILDS, ids=lambda b: b.key)
def test_the_defaults_table_is_what_each_real_build_prints(build):
    # Given `sshd -T -f /dev/null` recorded from the real build (tests/fixtures/outputs/ssh/openssh/)
    recorded = {ALIASES.get(k, k): v for k, v in parse_view(
        (OUTPUTS / "openssh" / f"{build.key}-sshd-T-defaults.txt").read_text()).options.items()}
    # Then the table's lists and single values are that build's
    for keyword in LISTS:
        assert ",".join(build.default_list(keyword)) == recorded[keyword], keyword
    for keyword, value in build.defaults.items():
        assert recorded.get(keyword, "no" if keyword == "usepam" else None) == value, keyword
    assert set(SCALAR_DEFAULTS) <= set(build.defaults)


@pytest.mark.parametrize(
    ("text", "os_id", "os_version", "key", "note"),
    [
        ((OUTPUTS / "debian12-sshd-V.txt").read_text(), "debian", "12", "debian12", ""),
        ((OUTPUTS / "debian12-sshd-V.txt").read_text(), "ubuntu", "23.04", "openssh-9.2", ""),
        ((OUTPUTS / "openssh80-sshd-V.txt").read_text(), "rhel", "8.9", "openssh-8.0", ""),
        ("OpenSSH_9.9p1, OpenSSL 3.4", "", "", "openssh-9.6", "OpenSSH 9.9 is not in the scanner's table"),
        ("OpenSSH_7.4p1", "centos", "7", "openssh-8.0", "OpenSSH 7.4 is not in the scanner's table"),
        ("sshd: command not found", "", "", "debian12", "the OpenSSH version is unknown"),
    ],
)
def test_the_build_follows_the_version_sshd_reports(text, os_id, os_version, key, note):
    build, said = build_for(version_of(text), os_id, os_version)
    assert build.key == key and (note in said if note else said == "")


# ---- lines, values, conditions, lists ------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("line", "split"),
    [
        ("PermitRootLogin no", ("permitrootlogin", ("no",))),
        ("  Ciphers=aes256-ctr", ("ciphers", ("aes256-ctr",))),
        ("Banner = /etc/issue.net", ("banner", ("/etc/issue.net",))),
        ('AuthorizedKeysFile ".ssh/my keys" .ssh/other # two files', ("authorizedkeysfile",
                                                                     (".ssh/my keys", ".ssh/other"))),
        ("# PermitRootLogin yes", None),
        ("   ", None),
        ("Match User a#b", ("match", ("User", "a#b"))),
    ],
)
def test_lines_split_as_sshd_splits_them(line, split):
    assert split_line(line) == split


@pytest.mark.parametrize("line", ["PermitRootLogin", 'Banner "/etc/issue'])
def test_lines_sshd_refuses_raise(line):
    with pytest.raises(ValueError):
        split_line(line)


@pytest.mark.parametrize(("text", "value"), [("90", 90), ("1m30s", 90), ("2H", 7200), ("1w", 604800), ("0", 0)])
def test_times(text, value):
    assert seconds(text) == value


@pytest.mark.parametrize("text", ["", "m", "1x", "-5"])
def test_bad_times(text):
    with pytest.raises(ValueError):
        seconds(text)


def test_patterns_and_addresses_follow_openssh():
    assert pattern_list("alice", "bob,al*") == 1 and pattern_list("guest", "*,!guest") == -1
    assert pattern_list("root", "!root") == -1 and pattern_list("alice", "!root") == 0  # negation alone never matches
    assert pattern_list("web1.example.org", "*.EXAMPLE.org".lower(), lower=True) == 1
    assert address_list("10.40.3.4", "10.40.0.0/16") == 1 and address_list("10.41.0.1", "10.40.0.0/16") == 0
    assert address_list("192.168.1.7", "192.168.1.*") == 1 and address_list("10.0.0.1", "10.0.0.0/8,!10.0.0.1") == -1
    assert address_list("10.40.0.1", "10.40.0.1/16") == 0  # host bits set: not a network, a literal pattern
    assert address_list("2001:db8::5", "2001:db8::/32") == 1


@pytest.mark.parametrize(
    ("condition", "spec"),
    [
        ("User deploy", "user=deploy,host=probe.invalid,addr=192.0.2.1"),
        ("Address 10.40.0.0/16", "user=auditor-probe,host=probe.invalid,addr=10.40.0.0"),
        ("Address 192.168.*", "user=auditor-probe,host=probe.invalid,addr=192.168.1.1"),
        ("Host *.example.org User adm*", "user=adm,host=.example.org,addr=192.0.2.1"),
        ("LocalPort 2222 LocalAddress 127.0.0.1", "user=auditor-probe,host=probe.invalid,addr=192.0.2.1,"
                                                  "laddr=127.0.0.1,lport=2222"),
        ("User *,!root", "user=x,host=probe.invalid,addr=192.0.2.1"),
        ("Address 10.0.0.0/8,!10.0.0.0/24", "user=auditor-probe,host=probe.invalid,addr=10.255.255.254"),
        ("Address *,!10.0.0.0/8", "user=auditor-probe,host=probe.invalid,addr=1.1.1.1"),
        ("Address *,!1.0.0.0/8", "user=auditor-probe,host=probe.invalid,addr=2001:db8::1"),
        ("all", "user=auditor-probe,host=probe.invalid,addr=192.0.2.1"),
    ],
)
def test_each_condition_gets_a_connection_it_applies_to(condition, spec):
    criteria = parse_condition(condition.split())
    made = trigger(criteria)
    assert isinstance(made, Connection) and made.spec() == spec and applies(criteria, made)


def test_conditions_no_connection_can_meet_say_so():
    assert "no user name matches" in str(trigger(parse_condition(["User", "!root"])))
    assert "member of group 'wheel'" in str(trigger(parse_condition(["Group", "wheel"]), members={}))
    made = trigger(parse_condition(["Group", "wheel"]), members={"wheel": ("alice",)})
    assert isinstance(made, Connection) and made.user == "alice"
    with pytest.raises(ValueError, match=r"Unsupported Match attribute Exec \(Match Exec is ssh_config's"):
        parse_condition(["Exec", "/bin/true"])
    with pytest.raises(ValueError, match="Unsupported Match attribute Colour"):
        parse_condition(["Colour", "blue"])
    with pytest.raises(ValueError, match="cannot be combined"):
        parse_condition(["all", "User", "x"])


# ---- daemons: command lines, units ---------------------------------------------------------------------------

def test_a_retitled_command_line_is_split_at_blanks():
    # Given the /proc/<pid>/cmdline of a listening OpenSSH 9.2 (it retitles itself)
    words, retitled = parse_cmdline((OUTPUTS / "debian12-proc-cmdline-retitled.bin").read_bytes())
    # Then its options are read from the title, the listener note dropped
    assert retitled and words == ("/usr/sbin/sshd", "-D", "-e", "-f", "/etc/ssh/test/sshd_config")
    assert parse_options(words, title=True).config == "/etc/ssh/test/sshd_config"


def test_a_relative_config_path_is_kept_as_written_and_judged_from_the_root():
    # Given sshd started from some folder with `-f sshd_config` (it read the file from that folder)
    options = parse_options(("/usr/sbin/sshd", "-D", "-f", "sshd_config", "-p", "2222"))
    # Then the path as written is kept, and / (a daemonized sshd's folder) is where it is looked for
    assert options.relative == "sshd_config" and options.config == "/sshd_config"
    assert options.arguments == ("-f", "/sshd_config", "-p", "2222")
    assert parse_options(("/usr/sbin/sshd", "-f", "/etc/ssh/alt")).relative == ""


def test_an_openssh_80_command_line_keeps_its_words():
    # Given the cmdline of a listening OpenSSH 8.0 (RHEL 8's release): NUL-separated, attached and separate -o
    words, retitled = parse_cmdline((OUTPUTS / "openssh80-proc-cmdline.bin").read_bytes())
    options = parse_options(words)
    assert not retitled and options.config == "/etc/ssh/test/sshd_config"
    assert options.lines == ("Ciphers=aes256-gcm@openssh.com,aes256-ctr", "MACs hmac-sha2-256-etm@openssh.com")


def test_an_o_option_split_by_a_title_is_put_together():
    options = parse_options(("sshd", "-o", "Ciphers", "aes256-ctr", "-p2222", "-4"), title=True)
    assert options.lines == ("Ciphers aes256-ctr", "AddressFamily inet") and options.ports == (2222,)
    assert options.arguments == ("-o", "Ciphers aes256-ctr", "-p", "2222", "-4")


def _files(folder: Path) -> dict[str, FileContent]:
    return {f"/{p.relative_to(folder)}": FileContent(f"/{p.relative_to(folder)}", True, p.read_bytes())
            for p in folder.rglob("*") if p.is_file()}


def test_the_debian_unit_starts_sshd_with_its_sshd_opts():
    files = {"/lib/systemd/system/ssh.service": FileContent("x", True, (OUTPUTS / "debian12-ssh.service").read_bytes())}
    unit = parse_unit(files, {})
    assert unit is not None and unit.name == "ssh.service"
    assert unit.exec_start == ("/usr/sbin/sshd", "-D", "$SSHD_OPTS") and unit.environment_files == ("/etc/default/ssh",)
    environment = parse_environment((OUTPUTS / "debian12-default-ssh").read_text())
    assert expand(unit.exec_start, environment) == ("/usr/sbin/sshd", "-D")
    assert expand(unit.exec_start, {"SSHD_OPTS": "-p 2222 -o 'LogLevel=VERBOSE'"})[-2:] == ("-o", "'LogLevel=VERBOSE'")


def test_a_stopped_rhel8_daemon_is_judged_as_its_unit_starts_it():
    # Given no running sshd, and RHEL 8's unit with the crypto policy in an environment file
    files = _files(OUTPUTS / "rhel8-tree")
    unit = parse_unit(files, {})
    assert unit is not None and unit.name == "sshd.service"
    environment: dict[str, str] = {}
    for path in unit.environment_files:
        environment.update(parse_environment(files[path].text))
    # When the daemons are identified
    [daemon] = identify({}, {}, {}, unit, environment)
    # Then it is the unit's, with the policy's -o options
    assert daemon.pid is None and daemon.found == "sshd.service"
    assert any(line.startswith("Ciphers=aes256-gcm@openssh.com") for line in daemon.options.lines)


def test_listeners_from_recorded_ss_and_ps():
    # Given ss and ps recorded with two sshd listening (2222 and 22) and a session child of the first
    from auditor.collectors.sshd_config.daemons import listeners, sshd_processes

    ss = (OUTPUTS / "debian12-ss-two-sshd.txt").read_text()
    ps = (OUTPUTS / "debian12-ps-two-sshd.txt").read_text()
    # Then the two listeners are found with their ports, and the session child is not a daemon
    assert listeners(ss, ps) == {4711: [2222], 812: [22]}
    assert listeners("", ps) == {4711: [], 812: []}  # ss without process names (not root): ps alone
    session = sshd_processes(ps)[4790]
    assert (session.parent, session.uid, session.title) == (4711, 0, ("root@notty",))
    assert sshd_processes(ps)[812].title == ("/usr/sbin/sshd", "-D", "-e", "-f", "/etc/ssh/test2/sshd_config")


def test_a_configuration_test_run_seen_by_ps_is_not_a_daemon():
    # Given ps alone (no root: ss names no process) showing a listener and an `sshd -T` run by sudo at that moment
    from auditor.collectors.sshd_config.daemons import listeners, sshd_processes

    ps = ("  812     1     0 sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups\n"
          "  990   980     0 sshd -T -C user=auditor-probe,host=probe.invalid,addr=192.0.2.1\n")
    pids, processes = listeners("", ps), sshd_processes(ps)
    cmdline = FileContent("/proc/990/cmdline", True, b"sshd\x00-T\x00-C\x00user=auditor-probe\x00")
    # When the daemons are identified, Then only the listener is one (its words from its title in ps)
    [daemon] = identify(pids, processes, {990: cmdline}, None, {})
    assert daemon.pid == 812 and daemon.argv == ("/usr/sbin/sshd", "-D")
    # And one that ended before its command line was read is not one either
    assert [d.pid for d in identify(pids, processes, {}, None, {})] == [812]


def test_the_glob_runs_in_the_targets_shell_and_says_when_a_folder_is_closed():
    # Given a drop-in folder only root may list, with drop-ins that sort by bytes, and an odd file name
    from auditor.collectors.sshd_config.reading import glob_command, parse_glob

    _require_real_sshd()
    tmp_path = Path(tempfile.mkdtemp(prefix="auditor-glob-"))  # not under pytest's folder: nobody must reach it
    try:
        folder = tmp_path / "sshd_config.d"
        folder.mkdir()
        for name in ("b.conf", "A.conf", "10 spaced.conf", ".hidden.conf", "x.conf.disabled"):
            (folder / name).write_text("")
        folder.chmod(0o700)
        tmp_path.chmod(0o755)
        pattern, absent = f"{folder}/*.conf", f"{tmp_path}/nowhere/*.conf"
        command = glob_command([pattern, absent])
        # When expanded by the shell as root, Then glob(3)'s matches come in byte order, dot files and other
        # suffixes left out, and a missing folder is just no match
        as_root = subprocess.run(list(command.argv), capture_output=True, text=True, check=True)
        matched, closed = parse_glob(command, as_root.stdout)
        assert matched[pattern] == tuple(f"{folder}/{n}" for n in ("10 spaced.conf", "A.conf", "b.conf"))
        assert matched[absent] == () and closed == set()
        # And as an account that may not list the folder, the pattern is marked as unknown rather than empty
        as_nobody = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                                    *command.argv], capture_output=True, text=True, check=True)
        matched, closed = parse_glob(command, as_nobody.stdout)
        assert matched[pattern] == () and closed == {pattern}
    finally:
        shutil.rmtree(tmp_path)
