"""updates collector: recorded apt and dnf outputs become facts; one run against this machine."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from auditor.collectors.updates import (
    APT_LIST,
    APT_SECURITY,
    APT_STAMPS,
    DNF_SECURITY,
    DNF_STAMPS,
    HOST_TIME,
    collect,
    newest_stamp,
    parse_apt_upgradable,
    parse_dnf_updateinfo,
    parse_security_lists,
)
from auditor.models import Platform, SystemFacts
from auditor.transports.base import CommandResult
from auditor.transports.local import LocalTransport
from tests import apt_tree
from tests.auditor.fake_host import FakeHost
from tests.conftest import real_epoch

OUTPUTS = Path(__file__).parents[2] / "fixtures" / "outputs" / "maintenance"
LINUX = SystemFacts(Platform.LINUX, os_id="debian", os_version="12")
APT_WARNING = "\nWARNING: apt does not have a stable CLI interface. Use with caution in scripts.\n\n"


def _text(name: str) -> str:
    return (OUTPUTS / name).read_text()


def _ok(command, stdout: str, stderr: str = "", status: int = 0) -> tuple[str, CommandResult]:
    return str(command), CommandResult(str(command), status, stdout, stderr)


def test_debian12_recorded_listing_marks_security_suites():
    # Given the real `apt list --upgradable` of this Debian 12 container (oldstable and oldstable-security)
    text = _text("debian12-apt-list-upgradable.txt")
    # When it is parsed
    updates = parse_apt_upgradable(text)
    # Then every package line is one update, and exactly the "-security" suite lines are security updates
    lines = [line for line in text.splitlines() if "[upgradable from:" in line]
    assert len(updates) == len(lines)
    assert sum(u.security for u in updates) == sum("-security " in line for line in lines) > 0
    apt = next(u for u in updates if u.name == "apt")
    assert (apt.version, apt.origin, apt.security) == ("2.6.2", "oldstable-security", True)


def test_ubuntu_mixed_suites_count_as_security_when_any_suite_is():
    updates = parse_apt_upgradable(_text("ubuntu2204-apt-list-upgradable-mixed.txt"))
    assert [u.name for u in updates if u.security] == ["libssl3", "openssh-server"]
    assert [u.name for u in updates if not u.security] == ["linux-image-generic", "snapd", "vim"]
    assert updates[0].origin == "jammy-updates,jammy-security"


def test_nothing_upgradable_is_an_empty_listing():
    assert parse_apt_upgradable(_text("debian12-apt-list-upgradable-none.txt")) == ()


def test_dnf4_updateinfo_lines_are_security_advisories():
    updates = parse_dnf_updateinfo(_text("rhel7-updateinfo-list-security.txt"))
    assert len(updates) == 7 and all(u.security for u in updates)
    dbus = next(u for u in updates if u.name == "dbus")
    assert (dbus.version, dbus.origin) == ("1:1.10.24-14.el7_8", "RHSA-2020:2894")


def test_dnf5_table_keeps_only_security_type_as_security():
    updates = parse_dnf_updateinfo(_text("fedora40-dnf5-advisory-list.txt"))
    assert [u.name for u in updates if u.security] == ["glib2-debuginfo", "glib2-debugsource"]
    assert len(updates) == 5


def test_collect_apt_with_age_of_lists_and_host_time():
    # Given apt answering, the lists' mtime recorded with stat and the host clock
    host = FakeHost(dict([
        _ok(APT_LIST, _text("ubuntu2204-apt-list-upgradable-mixed.txt"), APT_WARNING),
        _ok(APT_STAMPS, "1795000000 /var/lib/apt/lists\n", "stat: cannot statx ...: No such file", 1),
        _ok(HOST_TIME, "1795864000\n"),
    ]))
    # When collected
    facts = collect(host, LINUX)
    # Then the lists are 10 days old on the host's clock, and dnf was never asked
    assert facts.manager == "apt" and facts.listed and len(facts.security) == 2
    assert facts.index_source == "/var/lib/apt/lists" and facts.index_age_days == pytest.approx(10.0)
    assert str(DNF_SECURITY) not in host.calls


def test_apt_failure_keeps_the_reason_without_the_cli_warning():
    host = FakeHost(dict([
        _ok(APT_LIST, "", APT_WARNING + "E: Could not open lock file /var/lib/apt/lists/lock\n", 100),
        _ok(HOST_TIME, "1795864000\n"),
    ]))
    facts = collect(host, LINUX)
    assert not facts.listed and "Could not open lock file" in facts.problem and "stable CLI" not in facts.problem


def test_collect_falls_back_to_dnf():
    host = FakeHost(dict([
        _ok(DNF_SECURITY, _text("rhel7-updateinfo-list-security.txt")),
        _ok(DNF_STAMPS, "1795800000 /var/cache/dnf/last_makecache\n1795860000 /var/cache/dnf\n"),
        _ok(HOST_TIME, "1795864000\n"),
    ]))
    facts = collect(host, SystemFacts(Platform.LINUX, os_id="rhel", os_version="9.4"))
    assert facts.manager == "dnf" and len(facts.security) == 7
    assert facts.index_source == "/var/cache/dnf/last_makecache"


def test_no_package_manager_says_so():
    facts = collect(FakeHost({}), LINUX)
    assert (facts.manager, facts.listed, facts.problem) == ("", False, "neither apt nor dnf is installed")


def test_newest_stamp_prefers_the_success_stamp():
    text = "1700000000 /var/lib/apt/periodic/update-success-stamp\n1800000000 /var/lib/apt/lists\n"
    assert newest_stamp(text, "update-success-stamp") == (1700000000, "/var/lib/apt/periodic/update-success-stamp")


def test_local_machine_agrees_with_apt_itself():
    # Given this machine, When the collector runs through the local transport
    facts = collect(LocalTransport(), LINUX)
    # Then its count agrees with apt's own listing, and the host time with this clock
    direct = subprocess.run(["apt", "list", "--upgradable"], capture_output=True, text=True, check=True,
                            env={"LC_ALL": "C", "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"})
    assert facts.manager == "apt" and facts.listed
    # (the security suites' entries: that is what the collector reads, from the same lists apt reads)
    assert {(u.name, u.version) for u in facts.pending} == \
        {(u.name, u.version) for u in parse_apt_upgradable(direct.stdout) if u.security}
    assert facts.host_time is not None and abs(facts.host_time - real_epoch()) < 60
    assert facts.index_updated_at == int(Path("/var/lib/apt/lists").stat().st_mtime) or \
        Path("/var/lib/apt/periodic/update-success-stamp").exists()


# (installed, offered by the security suite): Debian's ordering decides, as apt does.
SECURITY_CASES = {
    "newer": (("amd64", "3.0.11-1~deb12u1"), ("amd64", "3.0.15-1~deb12u1")),
    "same": (("all", "2024a-0+deb12u1"), ("all", "2024a-0+deb12u1")),
    "older": (("amd64", "7.88.1-10+deb12u12"), ("amd64", "7.88.1-10+deb12u5")),
    "epoch": (("amd64", "1:1.2.13.dfsg-1"), ("amd64", "1:1.2.13.dfsg-1+deb12u1")),
    "epoch-beats-version": (("amd64", "9.9-1"), ("amd64", "1:1.0-1")),
    "tilde": (("amd64", "2.0-1"), ("amd64", "2.0~rc1-1")),
    "arch-all": (("all", "1.0-1"), ("all", "1.0-1+deb12u1")),
}


def test_security_lists_agree_with_apt_itself(tmp_path):
    # Given a package state apt can read: installed versions and a security suite that offers others
    installed = {name: have for name, (have, _) in SECURITY_CASES.items()}
    offered = {name: offer for name, (_, offer) in SECURITY_CASES.items()} | {"not-installed": ("amd64", "1.0-1")}
    root = apt_tree.write_tree(tmp_path, installed, offered)
    # When the real apt and the collector's script each say what is pending from the security suite
    apt = {u.name: u.version for u in parse_apt_upgradable(apt_tree.apt_upgradable(root)) if u.security}
    script = apt_tree.security_script(root)
    pending = parse_security_lists(json.loads(script.stdout))
    # Then they name the same packages and versions (and the script read its list without an error)
    assert script.returncode == 0, script.stderr
    assert pending is not None
    assert {u.name: u.version for u in pending} == apt == {
        "newer": "3.0.15-1~deb12u1", "epoch": "1:1.2.13.dfsg-1+deb12u1", "epoch-beats-version": "1:1.0-1",
        "arch-all": "1.0-1+deb12u1"}
    assert all(u.security and u.origin == "bookworm-security" for u in pending)


def test_a_host_without_python3_or_lists_falls_back_to_apt_list():
    # Given a host where the script cannot run, When collected, Then `apt list --upgradable` answers as before
    listing = (OUTPUTS / "debian12-apt-list-upgradable.txt").read_text()
    host = FakeHost({str(APT_SECURITY): CommandResult(str(APT_SECURITY), 127, "", "python3: not found"),
                     str(APT_LIST): CommandResult(str(APT_LIST), 0, listing)})
    facts = collect(host, SystemFacts(Platform.LINUX))
    assert facts.manager == "apt" and facts.listed and facts.pending == parse_apt_upgradable(listing)
    assert str(APT_LIST) in host.calls


def test_the_security_lists_are_used_without_running_apt(tmp_path):
    # Given the script's real answer on a tree, When collected, Then apt itself is never run
    root = apt_tree.write_tree(tmp_path, {"openssl": SECURITY_CASES["newer"][0]},
                               {"openssl": SECURITY_CASES["newer"][1]})
    answer = apt_tree.security_script(root).stdout
    host = FakeHost({str(APT_SECURITY): CommandResult(str(APT_SECURITY), 0, answer)})
    facts = collect(host, SystemFacts(Platform.LINUX))
    assert [(u.name, u.version) for u in facts.security] == [("openssl", "3.0.15-1~deb12u1")]
    assert str(APT_LIST) not in host.calls
