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
    DNF_REPOS,
    DNF_SECURITY,
    DNF_STAMPS,
    HOST_TIME,
    collect,
    newest_stamp,
    parse_apt_upgradable,
    parse_dnf_updateinfo,
    parse_security_lists,
)
from auditor.errors import FactMissing
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


def _lists_tree(root: Path, listing: str, installed: dict[str, tuple[str, str]],
                offers: dict[str, dict[str, tuple[str, str]]]) -> Path:
    """A host's /var/lib/apt/lists as `listing` names it (one file name a line); `offers` fills the named
    Packages files (file name -> package -> (arch, version)), the others stay empty."""
    (root / "var/lib/dpkg").mkdir(parents=True)
    lists = root / "var/lib/apt/lists"
    lists.mkdir(parents=True)
    (root / "var/lib/dpkg/status").write_text("".join(
        f"Package: {name}\nStatus: install ok installed\nArchitecture: {arch}\nVersion: {version}\n\n"
        for name, (arch, version) in installed.items()))
    for name in listing.split():
        (lists / name).write_text("".join(f"Package: {package}\nArchitecture: {arch}\nVersion: {version}\n\n"
                                          for package, (arch, version) in offers.get(name, {}).items()))
    return root


def test_ubuntu2404_security_and_esm_pockets_are_read_from_their_lists(tmp_path):
    # Given Ubuntu 24.04 lists with Ubuntu Pro attached: noble-security from security.ubuntu.com, and ESM's
    # noble-apps-security and noble-infra-security from esm.ubuntu.com (names as apt writes them)
    listing = _text("ubuntu2404-pro-apt-lists.txt")
    root = _lists_tree(tmp_path, listing, {
        "libssl3t64": ("amd64", "3.0.13-0ubuntu3.1"), "imagemagick": ("amd64", "8:6.9.12.98+dfsg1-5.2build2"),
        "curl": ("amd64", "8.5.0-2ubuntu10.4"), "vim": ("amd64", "2:9.1.0016-1ubuntu7")}, {
        "security.ubuntu.com_ubuntu_dists_noble-security_main_binary-amd64_Packages": {
            "libssl3t64": ("amd64", "3.0.13-0ubuntu3.4"), "curl": ("amd64", "8.5.0-2ubuntu10.1")},
        "esm.ubuntu.com_apps_ubuntu_dists_noble-apps-security_main_binary-amd64_Packages": {
            "imagemagick": ("amd64", "8:6.9.12.98+dfsg1-5.2ubuntu0.1~esm1")},
        "archive.ubuntu.com_ubuntu_dists_noble-updates_main_binary-amd64_Packages": {
            "vim": ("amd64", "2:9.1.0016-1ubuntu7.5")}})
    # When the collector's script reads them and the answer is parsed
    script = apt_tree.security_script(root)
    found = json.loads(script.stdout)
    pending = parse_security_lists(found)
    # Then every security pocket's list was read (ESM's included) and only newer security versions are pending:
    # curl's security version is older than the installed one, vim's update is not from a security pocket
    assert script.returncode == 0 and found["errors"] == []
    assert len(found["lists"]) == 4
    assert pending is not None
    assert {(u.name, u.origin) for u in pending} == {("libssl3t64", "noble-security"),
                                                     ("imagemagick", "noble-apps-security")}


def test_no_security_list_at_all_is_a_doubt_not_a_clean_answer(tmp_path):
    # Given a Debian 13 host whose sources have no security suite (trixie and trixie-updates only), so no
    # *-security list exists, and apt lists one pending update from trixie-updates
    root = _lists_tree(tmp_path, _text("debian13-no-security-apt-lists.txt"), {"tzdata": ("all", "2025b-1")}, {
        "deb.debian.org_debian_dists_trixie-updates_main_binary-amd64_Packages": {"tzdata": ("all", "2025b-4")}})
    answer = apt_tree.security_script(root).stdout
    host = FakeHost(dict([
        _ok(APT_SECURITY, answer),
        _ok(APT_LIST, "Listing...\ntzdata/stable-updates 2025b-4 all [upgradable from: 2025b-1]\n", APT_WARNING),
        _ok(APT_STAMPS, "1795000000 /var/lib/apt/lists\n"),
        _ok(HOST_TIME, "1795064000\n"),
    ]))
    # When collected
    facts = collect(host, SystemFacts(Platform.LINUX, os_id="debian", os_version="13"))
    # Then apt still answers what is pending, but the facts say that no security suite is configured
    assert json.loads(answer)["lists"] == []
    assert facts.listed and facts.security == () and [u.name for u in facts.pending] == ["tzdata"]
    assert "no package list of a security suite" in facts.doubt


def test_rocky9_and_alma9_advisories_with_dnf4_metadata_line():
    # Given dnf 4.14's `updateinfo list --security` on Rocky 9 (RLSA-) with its "Last metadata expiration check"
    # line, and on AlmaLinux 9 (ALSA-) including an advisory without a severity ("Unknown/Sec.")
    rocky = parse_dnf_updateinfo(_text("rocky9-dnf-updateinfo-list-security.txt"))
    alma = parse_dnf_updateinfo(_text("alma9-dnf-updateinfo-list-security.txt"))
    # Then every package line is a security update named by its advisory; the metadata line is no package
    assert len(rocky) == 10 and all(u.security for u in rocky)
    assert len({u.origin for u in rocky}) == 6
    openssl = next(u for u in rocky if u.name == "openssl-libs")
    assert (openssl.version, openssl.origin) == ("1:3.0.7-28.el9_4", "RLSA-2024:6186")
    assert [u.name for u in alma] == ["kernel", "kernel-modules", "openssl", "example-tool"]
    assert all(u.security and u.origin.startswith("ALSA-2024:") for u in alma)


RHEL9 = SystemFacts(Platform.LINUX, os_id="rhel", os_version="9.4")
DNF_CLOCK = [_ok(DNF_STAMPS, "1795800000 /var/cache/dnf/last_makecache\n"), _ok(HOST_TIME, "1795864000\n")]


class _RecordedBefore(FakeHost):
    """A replay of a run recorded before a fact existed: asking for it raises FactMissing."""

    def __init__(self, commands, missing: str) -> None:
        super().__init__(commands)
        self._missing = missing

    def run(self, command):
        if str(command) == self._missing:
            raise FactMissing(self.target, f"command {command}", "reports/run", [])
        return super().run(command)


def test_unregistered_rhel_with_no_enabled_repository_is_a_doubt_not_a_clean_answer():
    # Given an unregistered RHEL host: dnf has no enabled repository, so `updateinfo list` prints nothing and exits
    # 0 (dnf 4's updateinfo never checks for an enabled repository; -q hides subscription-manager's "not
    # registered" notice), and `repolist --enabled` prints nothing either
    host = FakeHost(dict([_ok(DNF_SECURITY, ""), _ok(DNF_REPOS, ""), *DNF_CLOCK]))
    # When collected
    facts = collect(host, RHEL9)
    # Then the listing is kept, but the facts say that dnf could not have offered any update
    assert facts.manager == "dnf" and facts.listed and facts.security == ()
    assert "no dnf repository is enabled" in facts.doubt and "subscription-manager register" in facts.doubt
    assert "dnf makecache" in facts.doubt


def test_nothing_pending_with_enabled_repositories_is_a_clean_answer():
    # Given dnf listing nothing while `repolist --enabled` names four repositories (dnf 4's table)
    host = FakeHost(dict([_ok(DNF_SECURITY, ""), _ok(DNF_REPOS, _text("centos-stream9-dnf-repolist.txt")),
                          *DNF_CLOCK]))
    # When collected, Then nothing is pending and nothing is in doubt
    facts = collect(host, RHEL9)
    assert facts.listed and facts.pending == () and facts.doubt == ""


def test_repositories_are_only_asked_about_when_dnf_lists_nothing():
    host = FakeHost(dict([_ok(DNF_SECURITY, _text("rhel7-updateinfo-list-security.txt")), *DNF_CLOCK]))
    facts = collect(host, RHEL9)
    assert len(facts.security) == 7 and facts.doubt == "" and str(DNF_REPOS) not in host.calls


def test_a_run_recorded_before_the_repository_fact_still_replays():
    # Given a recorded run whose dnf listed nothing and which holds no `repolist` record
    host = _RecordedBefore(dict([_ok(DNF_SECURITY, ""), *DNF_CLOCK]), str(DNF_REPOS))
    # When collected, Then it is judged as it was when recorded
    facts = collect(host, RHEL9)
    assert facts.listed and facts.pending == () and facts.doubt == ""


def test_an_unreadable_repository_list_is_a_doubt():
    host = FakeHost(dict([_ok(DNF_SECURITY, ""), _ok(DNF_REPOS, "", "Error: Cannot read /etc/dnf/dnf.conf", 1),
                          *DNF_CLOCK]))
    facts = collect(host, RHEL9)
    assert facts.listed and "whether dnf has an enabled repository could not be read" in facts.doubt
    assert "Cannot read /etc/dnf/dnf.conf" in facts.doubt


@pytest.mark.parametrize("stderr", ["rhel9-dnf-cacheonly-no-cache.stderr.txt",
                                    "fedora40-dnf5-cacheonly-no-cache.stderr.txt"])
def test_an_empty_metadata_cache_says_to_run_makecache(stderr):
    # Given dnf 4 / dnf 5 run with -C on a host whose metadata cache was never filled: with the default
    # skip_if_unavailable=False both stop with "Cache-only enabled but no cache" and exit 1
    host = FakeHost(dict([_ok(DNF_SECURITY, "", _text(stderr), 1), *DNF_CLOCK]))
    # When collected
    facts = collect(host, RHEL9)
    # Then nothing was listed, and the reason says what dnf said and how to fill the cache
    assert not facts.listed and "Cache-only enabled but no cache" in facts.problem
    assert "`dnf makecache`" in facts.problem
