"""updates collector: recorded apt and dnf outputs become facts; one run against this machine."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from auditor.collectors.updates import (
    APT_LIST,
    APT_SECURITY,
    APT_STAMPS,
    DNF_CACHE,
    DNF_REPOS,
    DNF_SECURITY,
    DNF_STAMPS,
    HOST_TIME,
    collect,
    newest_stamp,
    parse_apt_upgradable,
    parse_dnf_cache,
    parse_dnf_updateinfo,
    parse_security_lists,
    requests,
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
        _ok(DNF_CACHE, _text("centos-stream9-find-dnf-cache.txt"), CENTOS_CACHE_STDERR, 1),
        _ok(DNF_REPOS, _text("centos-stream9-dnf-repolist.txt")),
        _ok(HOST_TIME, "1795864000\n"),
    ]))
    facts = collect(host, SystemFacts(Platform.LINUX, os_id="rhel", os_version="9.4"))
    assert facts.manager == "dnf" and len(facts.security) == 7 and facts.doubt == ""
    assert facts.index_source.startswith("/var/cache/dnf/baseos-")


def test_a_run_recorded_before_the_cache_fact_takes_its_age_from_the_stamps_as_then():
    # Given a recorded run that holds dnf's stamps but no `find` of its cache (nor `repolist`)
    host = _RecordedBefore(dict([
        _ok(DNF_SECURITY, _text("rhel7-updateinfo-list-security.txt")),
        _ok(DNF_STAMPS, "1795800000 /var/cache/dnf/last_makecache\n1795860000 /var/cache/dnf\n"),
        _ok(HOST_TIME, "1795864000\n"),
    ]), str(DNF_CACHE), str(DNF_REPOS))
    # When collected, Then it is judged as it was when recorded
    facts = collect(host, SystemFacts(Platform.LINUX, os_id="rhel", os_version="9.4"))
    assert len(facts.security) == 7 and facts.doubt == ""
    assert (facts.index_updated_at, facts.index_source) == (1795800000, "/var/cache/dnf/last_makecache")


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
# find's complaint about the dnf 5 cache folder a dnf 4 host does not have (it then exits 1)
CENTOS_CACHE_STDERR = _text("centos-stream9-find-dnf-cache.stderr.txt")
DNF_CLOCK = [_ok(DNF_CACHE, _text("centos-stream9-find-dnf-cache.txt"), CENTOS_CACHE_STDERR, 1),
             _ok(HOST_TIME, "1795864000\n")]


class _RecordedBefore(FakeHost):
    """A replay of a run recorded before a fact existed: asking for it raises FactMissing."""

    def __init__(self, commands, *missing: str) -> None:
        super().__init__(commands)
        self._missing = missing

    def run(self, command):
        if str(command) in self._missing:
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


def test_a_listing_with_updates_is_still_checked_against_the_cache(tmp_path):
    # Given dnf listing security updates from the repositories it had cached, while extras-common is enabled but
    # was never downloaded (skip_if_unavailable=True: dnf skipped it without a word)
    tree = CENTOS_TREE | {"extras-common-0d3b4e5f6a7b8c9d": None}
    host = FakeHost(dict([_ok(DNF_SECURITY, _text("rhel7-updateinfo-list-security.txt")),
                          _cache_found(tmp_path, tree), _ok(DNF_REPOS, _text("centos-stream9-dnf-repolist.txt")),
                          _ok(HOST_TIME, "1795864000\n")]))
    # When collected, Then the updates are kept, and the facts say which repository was never looked at
    facts = collect(host, RHEL9)
    assert len(facts.security) == 7 and "extras-common" in facts.doubt and "baseos" not in facts.doubt


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


# --- dnf's metadata cache: what `dnf -C` reads, and when dnf last fetched or confirmed it ---------------------------
# Host trees written here and read by the collector's own `find`, run for real (GNU findutils) with its starting
# points moved under the tree: its output is what the host would print. Cache folder names are dnf's:
# <repo id>-<first 8 bytes of sha256(metalink or mirrorlist or first baseurl), hex> (libdnf Repo.cpp getHash,
# libdnf5 ConfigRepo::get_unique_id); the Fedora ones are computed from Fedora 41's metalink URLs.
HOST_NOW = int(_text("debian12-date.txt"))  # this machine's recorded clock, as the recorded hosts use
DAY = 86400
_STARTS = ("/usr/bin/dnf", "/var/cache/dnf", "/var/cache/libdnf5")


def _hexname(seed: str) -> str:
    import hashlib

    return hashlib.sha256(seed.encode()).hexdigest()


def _dnf_tree(root: Path, dnf: str, caches: dict[str, dict[str, tuple[int, int] | None]]) -> Path:
    """A host with /usr/bin/dnf linking to `dnf` ("dnf-3", "dnf5") and, per cache directory, repository cache
    folders: (primary's age, repomd.xml's age) in seconds before HOST_NOW, or None for a folder whose metadata
    `dnf clean all` removed (its repodata left empty); a repository with no folder was never downloaded."""
    (root / "usr/bin").mkdir(parents=True)
    (root / "usr/bin" / dnf).write_text("#!/usr/bin/python3\n")
    (root / "usr/bin/dnf").symlink_to(dnf)
    os.utime(root / "usr/bin/dnf", (HOST_NOW - 200 * DAY,) * 2, follow_symlinks=False)  # installed long ago
    for cache, folders in caches.items():
        base = root / cache.lstrip("/")
        base.mkdir(parents=True)
        for folder, ages in folders.items():
            repodata = base / folder / "repodata"
            repodata.mkdir(parents=True)
            (base / folder / "packages").mkdir()
            repo = folder.rsplit("-", 1)[0]
            if cache == "/var/cache/dnf":
                (base / f"{repo}.solv").write_text("")  # dnf 4's solv cache, next to the folders
            if ages is None:
                continue
            primary_age, repomd_age = ages
            files = {"repomd.xml": repomd_age, f"{_hexname(folder + 'p')}-primary.xml.gz": primary_age,
                     f"{_hexname(folder + 'u')}-updateinfo.xml.gz": repomd_age,
                     f"{_hexname(folder + 'f')}-filelists.xml.gz": repomd_age}
            for name, age in files.items():
                (repodata / name).write_text("")
                when = (HOST_NOW - age) * 10**9 + 123456789  # downloads have sub-second times
                os.utime(repodata / name, ns=(when, when))
        os.utime(base, (HOST_NOW - 600, HOST_NOW - 600))  # the cache directory itself: touched minutes ago
    return root


def _run_find(root: Path) -> CommandResult:
    """The collector's DNF_CACHE `find`, run over the tree at `root`, its paths printed as on the host."""
    argv = [f"{root}{arg}" if arg in _STARTS else arg for arg in DNF_CACHE.argv]
    done = subprocess.run(argv, capture_output=True, text=True, check=False,
                          env={"LC_ALL": "C", "LANG": "C", "PATH": "/usr/bin:/bin"})  # as every transport runs it
    return CommandResult(str(DNF_CACHE), done.returncode, done.stdout.replace(str(root), ""),
                         done.stderr.replace(str(root), ""))


def _cache_found(root: Path, folders: dict[str, tuple[int, int] | None], dnf: str = "dnf-3",
                 cache: str = "/var/cache/dnf", more: dict[str, dict] | None = None) -> tuple[str, CommandResult]:
    """(command, result) of the real `find` over a tree at `root`: `folders` in the cache of `dnf`, `more` in
    other cache directories."""
    return str(DNF_CACHE), _run_find(_dnf_tree(root, dnf, {cache: folders} | (more or {})))


# CentOS Stream 9 (dnf 4): the four enabled repositories of centos-stream9-dnf-repolist.txt cached, and crb
# (disabled, once enabled for a day) with the newest metadata of all. Ages: (primary, repomd.xml) in seconds.
CENTOS_TREE: dict[str, tuple[int, int] | None] = {
    "appstream-9a8d6e2f1c3b4a57": (2 * DAY, 9 * DAY),
    "baseos-a1b2c3d4e5f6a7b8": (1 * DAY, 12 * DAY),
    "epel-5c6d7e8f9a0b1c2d": (3 * DAY, 3 * DAY),
    "extras-common-0d3b4e5f6a7b8c9d": (1 * DAY + 3600, 40 * DAY),
    "crb-3e4f5a6b7c8d9e0f": (3600, 3600),
}


def test_the_recorded_cache_fixture_is_what_find_prints_for_its_tree(tmp_path):
    # Given the CentOS Stream 9 tree the fixture describes, When the collector's find runs over it
    result = _run_find(_dnf_tree(tmp_path, "dnf-3", {"/var/cache/dnf": CENTOS_TREE}))
    # Then it prints the fixture (order aside: find lists a directory in the file system's order), and exits 1
    # for the dnf 5 cache folder a dnf 4 host does not have
    assert sorted(result.stdout.splitlines()) == sorted(_text("centos-stream9-find-dnf-cache.txt").splitlines())
    assert (result.exit_status, result.stderr) == (1, CENTOS_CACHE_STDERR)


def test_the_cache_read_is_root_s_the_one_dnf_reads_under_sudo():
    # dnf 4 with -C reads system_cachedir (/var/cache/dnf) whoever runs it; dnf 5 reads /var/cache/libdnf5 as root
    # but ~/.cache/libdnf5 as anyone else. The listing runs as root, so the cache looked at is root's, as root.
    assert DNF_SECURITY.sudo and DNF_CACHE.sudo and not DNF_REPOS.sudo
    assert [a for a in DNF_CACHE.argv if a.startswith("/")] == list(_STARTS)
    assert not any("~" in a or ".cache" in a or "$" in a for a in DNF_CACHE.argv)
    # and only of hosts where dnf answered: no host without dnf is asked to run `sudo find` (nor the old stamps)
    commands, _ = requests(RHEL9)
    assert DNF_CACHE not in commands and DNF_STAMPS not in commands


def test_an_apt_host_is_never_asked_about_dnfs_cache():
    host = FakeHost(dict([_ok(APT_LIST, _text("ubuntu2204-apt-list-upgradable-mixed.txt"), APT_WARNING),
                          _ok(HOST_TIME, f"{HOST_NOW}\n")]))
    collect(host, LINUX)
    assert str(DNF_CACHE) not in host.calls and str(DNF_REPOS) not in host.calls


def test_an_enabled_repository_never_downloaded_is_a_doubt_naming_it(tmp_path):
    # Given skip_if_unavailable=True and extras-common enabled but never downloaded: dnf -C -q skips it without a
    # word, lists nothing and exits 0, and repolist still shows it enabled
    tree = {k: v for k, v in CENTOS_TREE.items() if not k.startswith("extras-common")}
    host = FakeHost(dict([_ok(DNF_SECURITY, ""), _cache_found(tmp_path, tree),
                          _ok(DNF_REPOS, _text("centos-stream9-dnf-repolist.txt")), _ok(HOST_TIME, f"{HOST_NOW}\n")]))
    # When collected
    facts = collect(host, RHEL9)
    # Then the empty listing is kept but the facts name the repository it never looked at, and how to fill the cache
    assert facts.listed and facts.pending == ()
    assert "the enabled repository(ies) extras-common have no metadata in dnf's cache" in facts.doubt
    assert "run `dnf makecache` as root" in facts.doubt
    assert "baseos" not in facts.doubt and "appstream" not in facts.doubt


def test_a_cache_emptied_by_dnf_clean_all_names_every_enabled_repository(tmp_path):
    # Given `dnf clean all`: the folders remain, their metadata is gone
    tree = {k: None for k in CENTOS_TREE}
    host = FakeHost(dict([_ok(DNF_SECURITY, ""), _cache_found(tmp_path, tree),
                          _ok(DNF_REPOS, _text("centos-stream9-dnf-repolist.txt")), _ok(HOST_TIME, f"{HOST_NOW}\n")]))
    # When collected
    facts = collect(host, RHEL9)
    # Then all four are named, and no age is made up from the folders' own times
    assert "repository(ies) appstream, baseos, epel, extras-common have no metadata" in facts.doubt
    assert (facts.index_updated_at, facts.index_source) == (None, "")


def test_the_age_is_that_of_the_newest_primary_metadata_of_an_enabled_repository(tmp_path):
    # Given the CentOS tree: /var/cache/dnf touched 10 minutes ago, no last_makecache, baseos's primary metadata
    # touched a day ago (dnf touches it when it finds the cached copy current) though its repomd.xml is 12 days
    # old, and crb, disabled, refreshed an hour ago
    host = FakeHost(dict([_ok(DNF_SECURITY, ""), _cache_found(tmp_path, CENTOS_TREE),
                          _ok(DNF_REPOS, _text("centos-stream9-dnf-repolist.txt")), _ok(HOST_TIME, f"{HOST_NOW}\n")]))
    # When collected
    facts = collect(host, RHEL9)
    # Then the age is baseos's primary file's, as dnf's own "Last metadata expiration check" counts it, and its
    # path is the source
    assert facts.doubt == ""
    assert facts.index_updated_at == HOST_NOW - DAY
    assert facts.index_source.startswith("/var/cache/dnf/baseos-a1b2c3d4e5f6a7b8/repodata/")
    assert facts.index_source.endswith("-primary.xml.gz")


# Fedora 41 (dnf 5), upgraded from 40: dnf 4's old cache is still in /var/cache/dnf, updates (Fedora 41) is not
# in dnf 5's; the cache in use is /usr/bin/dnf's (-> dnf5).
FEDORA41_REPOLIST = _text("fedora41-dnf5-repolist.txt")
FEDORA41 = SystemFacts(Platform.LINUX, os_id="fedora", os_version="41")


def test_dnf5_is_judged_on_its_own_cache_not_dnf4s_leftovers(tmp_path):
    # Given dnf 5 as /usr/bin/dnf, its cache holding fedora and openh264, dnf 4's old cache holding updates
    found = _cache_found(tmp_path, {"fedora-7efbab3c1dbcd0d4": (5 * DAY, 5 * DAY),
                          "fedora-cisco-openh264-1e5e9f1be3093a1f": (2 * DAY, 30 * DAY)},
                         dnf="dnf5", cache="/var/cache/libdnf5",
                         more={"/var/cache/dnf": {"updates-02a32a5ce99e20ab": (3600, 3600)}})
    host = FakeHost(dict([_ok(DNF_SECURITY, ""), found, _ok(DNF_REPOS, FEDORA41_REPOLIST),
                          _ok(HOST_TIME, f"{HOST_NOW}\n")]))
    # When collected
    facts = collect(host, FEDORA41)
    # Then updates is named as missing, and the age is dnf 5's newest, not dnf 4's hour-old leftover
    assert "the enabled repository(ies) updates have no metadata" in facts.doubt
    assert facts.index_updated_at == HOST_NOW - 2 * DAY
    assert facts.index_source.startswith("/var/cache/libdnf5/fedora-cisco-openh264-1e5e9f1be3093a1f/repodata/")


def test_parse_dnf_cache_keeps_the_cache_of_the_dnf_that_runs():
    text = ("1714000000.0000000000 /usr/bin/dnf dnf5\n"
            "1795000000.1234567890 /var/cache/libdnf5/fedora-7efbab3c1dbcd0d4/repodata/repomd.xml \n"
            "1795100000.1234567890 /var/cache/libdnf5/fedora-7efbab3c1dbcd0d4/repodata/ab12-primary.xml.zck \n"
            "1795800000.1234567890 /var/cache/dnf/updates-02a32a5ce99e20ab/repodata/repomd.xml \n")
    assert parse_dnf_cache(text) == {
        "fedora": (1795100000, "/var/cache/libdnf5/fedora-7efbab3c1dbcd0d4/repodata/ab12-primary.xml.zck")}


def test_an_unreadable_cache_is_a_doubt_and_no_age():
    # Given sudo refusing the cache's find (the listing itself ran)
    host = FakeHost(dict([_ok(DNF_SECURITY, ""), _ok(DNF_CACHE, "", "sudo: a password is required\n", 1),
                          _ok(DNF_REPOS, _text("centos-stream9-dnf-repolist.txt")), _ok(HOST_TIME, f"{HOST_NOW}\n")]))
    # When collected
    facts = collect(host, RHEL9)
    # Then the facts say the cache could not be checked, and the age is unknown rather than guessed
    assert facts.listed and "whether dnf's cache holds the metadata of every enabled repository could not be " \
        "read (`find /usr/bin/dnf" in facts.doubt and "needs root" in facts.doubt
    assert (facts.index_updated_at, facts.index_source) == (None, "")
