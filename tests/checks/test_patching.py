"""PATCH-0010 on facts built in code: table-driven, Given/When/Then."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from auditor.collectors.updates import PendingUpdate, UpdatesFacts
from auditor.models import Platform, Status, SystemFacts
from checks.patching import security_updates_installed

NOW = int(datetime(2026, 11, 26, 12, 0, tzinfo=UTC).timestamp())
DAY = 86400
DEBIAN12 = SystemFacts(Platform.LINUX, "Debian GNU/Linux 12 (bookworm)", "12", "debian")
SEC = PendingUpdate("openssl", "3.0.15-1~deb12u1", "bookworm-security", True)
OTHER = PendingUpdate("tzdata", "2025b-0+deb12u1", "bookworm-updates", False)


def _apt(*pending: PendingUpdate, lists_age_days: float = 1, listed: bool = True, problem: str = "",
         host_time: int | None = NOW) -> UpdatesFacts:
    return UpdatesFacts("apt", listed, pending, NOW - int(lists_age_days * DAY), "/var/lib/apt/lists", host_time,
                        problem)


@pytest.mark.parametrize(
    ("facts", "system", "status", "words"),
    [
        (_apt(OTHER), DEBIAN12, Status.PASS, "supported until 2028-06-30 (LTS)"),
        (_apt(SEC, OTHER), DEBIAN12, Status.FAIL, "1 package(s) have security updates pending: openssl"),
        (_apt(), SystemFacts(Platform.LINUX, "Debian GNU/Linux 10 (buster)", "10", "debian"), Status.FAIL,
         "past the end of its LTS (2024-06-30)"),
        (_apt(), SystemFacts(Platform.LINUX, "Fedora Linux 43", "43", "fedora"), Status.PASS, "2026-12-09"),
        (_apt(), SystemFacts(Platform.LINUX, "Fedora Linux 40", "40", "fedora"), Status.FAIL, "2025-05-13"),
        (_apt(), SystemFacts(Platform.LINUX, "RHEL 9.4", "9.4", "rhel"), Status.PASS, "2032-05-31"),
        (_apt(), SystemFacts(Platform.LINUX, "Arch Linux", "", "arch"), Status.WARN,
         "Support status unknown: Arch Linux (arch)"),
        (_apt(lists_age_days=30), DEBIAN12, Status.WARN, "last refreshed 30 days ago"),
        (_apt(listed=False, problem="`apt list --upgradable` exited 100: E: lock"), DEBIAN12, Status.WARN,
         "could not be listed"),
        (_apt(host_time=None), DEBIAN12, Status.WARN, "host's date could not be read"),
        # no security suite configured: nothing pending from it proves nothing
        (UpdatesFacts("apt", True, (OTHER,), NOW - DAY, "/var/lib/apt/lists", NOW,
                      doubt="no package list of a security suite (*-security) is on the host"), DEBIAN12,
         Status.WARN, "No package list of a security suite (*-security) is on the host"),
        # an EOL release with stale lists: the failure leads, the doubt follows
        (_apt(lists_age_days=30), SystemFacts(Platform.LINUX, "Ubuntu 20.04", "20.04", "ubuntu"), Status.FAIL,
         "standard support (2025-05-31)"),
    ],
)
def test_security_updates_installed(facts, system, status, words):
    # Given update facts and the release, When PATCH-0010 evaluates them on the host's date 2026-11-26
    verdict = security_updates_installed(facts, system)
    # Then the status and the sentence say what was observed
    assert verdict.status is status, verdict.message
    assert words in verdict.message
    assert verdict.observed["host_date"] in ("2026-11-26", "unknown")


def test_many_security_updates_are_summarised():
    many = tuple(PendingUpdate(f"pkg{i}", "1", "jammy-security", True) for i in range(12))
    verdict = security_updates_installed(_apt(*many), DEBIAN12)
    assert verdict.status is Status.FAIL
    assert "12 package(s) have" in verdict.message and " and 2 more" in verdict.message
    assert len(verdict.observed["security_updates"]) == 12


def _dnf(*pending: PendingUpdate) -> UpdatesFacts:
    return UpdatesFacts("dnf", True, pending, NOW - DAY, "/var/cache/dnf/last_makecache", NOW)


RHEL9 = SystemFacts(Platform.LINUX, "Red Hat Enterprise Linux 9.4 (Plow)", "9.4", "rhel")


def test_dnf_counts_the_packages_it_names_and_the_advisories_apart():
    # Given dnf advisories where one package (curl) is named by two advisories and one advisory names two packages
    facts = _dnf(PendingUpdate("bash", "5.1.8-9.el9", "RHSA-2024:1001", True),
                 PendingUpdate("curl", "7.76.1-26.el9", "RHSA-2024:1002", True),
                 PendingUpdate("curl", "7.76.1-29.el9", "RHSA-2024:2003", True),
                 PendingUpdate("dbus", "1:1.12.20-8.el9", "RHSA-2024:1004", True),
                 PendingUpdate("dbus-libs", "1:1.12.20-8.el9", "RHSA-2024:1004", True))
    # When PATCH-0010 evaluates them
    verdict = security_updates_installed(facts, RHEL9)
    # Then the count is of the packages it lists (curl once), and the advisories are counted as advisories
    assert verdict.status is Status.FAIL
    assert verdict.message.startswith("4 package(s) have security updates pending from 4 advisories: "
                                      "bash, curl, dbus, dbus-libs"), verdict.message


def test_apt_counts_packages():
    verdict = security_updates_installed(_apt(SEC, OTHER), DEBIAN12)
    assert "1 package(s) have security updates pending: openssl." in verdict.message


def test_a_long_list_ends_in_how_many_more_not_in_an_ellipsis_and_a_period():
    # Given 12 packages with security updates
    many = tuple(PendingUpdate(f"pkg{i:02}", "1", "jammy-security", True) for i in range(12))
    # When PATCH-0010 evaluates them
    verdict = security_updates_installed(_apt(*many), DEBIAN12)
    # Then the first ten are named and the sentence says how many more, ending in one period
    assert verdict.message.startswith("12 package(s) have security updates pending: pkg00, pkg01,")
    assert "pkg09 and 2 more." in verdict.message and ".." not in verdict.message


def test_native_updates_are_counted_as_updates():
    mac = SystemFacts(Platform.MACOS, "macOS", "15.7.2", "macos")
    facts = UpdatesFacts("softwareupdate", True, (PendingUpdate("Safari", "26.1", "Apple software update", True),),
                         NOW - DAY, "prefs", NOW)
    assert security_updates_installed(facts, mac).message.startswith("1 security update(s) are pending: Safari")


def test_one_advisory_is_singular():
    facts = _dnf(PendingUpdate("dbus", "1:1.12.20-8.el9", "RHSA-2024:1004", True),
                 PendingUpdate("dbus-libs", "1:1.12.20-8.el9", "RHSA-2024:1004", True))
    assert "2 package(s) have security updates pending from 1 advisory: dbus, dbus-libs." in \
        security_updates_installed(facts, RHEL9).message


@pytest.mark.parametrize(
    ("os_release", "status", "words"),
    [
        ("debian13-os-release.txt", Status.PASS, "Debian GNU/Linux 13 (trixie) (debian 13) is supported until "
                                                 "2030-06-30 (LTS)"),
        ("ubuntu2404-os-release.txt", Status.PASS, "supported until 2029-05-31 (standard support)"),
        ("rocky9-os-release.txt", Status.PASS, "Rocky Linux 9.4 (Blue Onyx) (rocky 9.4) is supported until 2032-05-31"),
        ("almalinux9-os-release.txt", Status.PASS, "(almalinux 9.4) is supported until 2032-05-31"),
        ("rocky10-os-release.txt", Status.PASS, "Rocky Linux 10.0 (Red Quartz) (rocky 10.0) is supported until "
                                                "2035-05-31 (end of life)"),
        # a release the table lacks never passes and never crashes
        ("centos-stream9-os-release.txt", Status.WARN, "Support status unknown: CentOS Stream 9 (centos 9)"),
    ],
)
def test_real_os_release_files_find_their_support_end(os_release, status, words):
    # Given a real os-release file read by the system collector's parser
    from auditor.collectors.system import parse_os_release
    from tests.conftest import FIXTURES

    release = parse_os_release((FIXTURES / "outputs" / "maintenance" / os_release).read_text())
    system = SystemFacts(Platform.LINUX, release["PRETTY_NAME"], release.get("VERSION_ID", ""), release["ID"])
    # When PATCH-0010 judges a host of that release with nothing pending on 2026-11-26
    verdict = security_updates_installed(_apt(OTHER), system)
    # Then the release is found in the table (or honestly unknown)
    assert verdict.status is status, verdict.message
    assert words in verdict.message


def test_dnf_without_an_enabled_repository_warns_instead_of_passing():
    # Given dnf's empty answer on a host where no dnf repository is enabled (an unregistered RHEL)
    from auditor.collectors.updates import NO_DNF_REPOS

    facts = UpdatesFacts("dnf", True, (), NOW - DAY, "/var/cache/dnf", NOW, doubt=NO_DNF_REPOS)
    # When PATCH-0010 evaluates it
    verdict = security_updates_installed(facts, RHEL9)
    # Then it warns, says why the empty answer proves nothing and how to fix it
    assert verdict.status is Status.WARN, verdict.message
    assert verdict.message.startswith("No dnf repository is enabled on the host")
    assert "`subscription-manager register`" in verdict.message and "`dnf makecache`" in verdict.message


PRIMARY = "/var/cache/dnf/baseos-a1b2c3d4e5f6a7b8/repodata/" \
          "5a1f0b6cd3e24c7a8e9b0f1d2c3b4a5968778695a4b3c2d1e0f9a8b7c6d5e4f3-primary.xml.gz"


def test_an_enabled_repository_missing_from_dnfs_cache_warns_naming_it():
    # Given dnf's empty answer while extras-common, enabled, has no metadata in dnf's cache (skipped by -C)
    from auditor.collectors.updates import missing_from_cache

    facts = UpdatesFacts("dnf", True, (), NOW - DAY, PRIMARY, NOW, doubt=missing_from_cache(("extras-common",)))
    # When PATCH-0010 evaluates it
    verdict = security_updates_installed(facts, RHEL9)
    # Then it warns instead of passing, names the repository, and says how to fill the cache
    assert verdict.status is Status.WARN, verdict.message
    assert verdict.message.startswith("The enabled repository(ies) extras-common have no metadata in dnf's cache, "
                                      "so their security updates were not looked at"), verdict.message
    assert "run `dnf makecache` as root" in verdict.message


def test_a_stale_dnf_cache_says_which_metadata_file_dates_it():
    # Given dnf metadata last fetched or confirmed 30 days ago (baseos's primary file, the newest)
    facts = UpdatesFacts("dnf", True, (), NOW - 30 * DAY, PRIMARY, NOW)
    # When PATCH-0010 evaluates it
    verdict = security_updates_installed(facts, RHEL9)
    # Then the warning says how old and where that came from, and the observed facts carry the source too
    assert verdict.status is Status.WARN
    assert f"last refreshed 30 days ago ({PRIMARY})" in verdict.message
    assert verdict.observed["lists_source"] == PRIMARY


def test_an_unknown_list_age_is_said_so_and_never_passes():
    facts = UpdatesFacts("dnf", True, (), None, "", NOW)
    verdict = security_updates_installed(facts, RHEL9)
    assert verdict.status is Status.WARN and "The age of the package lists could not be read" in verdict.message
    assert verdict.observed["lists_source"] == "unknown"
