"""System detection: platform from uname, OS from os-release, root from id -u."""

from __future__ import annotations

from auditor.collectors.system import OS_RELEASE, SW_VERS, UNAME, USER_ID, detect, parse_os_release, parse_uname
from auditor.errors import CollectorError
from auditor.models import Platform
from auditor.transports.base import CommandResult
from tests.auditor.fake_host import FakeHost

DEBIAN_12 = b'''PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
'''

# sw_vers on macOS 14 (Sonoma), Apple silicon.
SW_VERS_OUTPUT = "ProductName:\t\tmacOS\nProductVersion:\t\t14.6.1\nBuildVersion:\t\t23G93\n"


def _ok(command, out):
    return CommandResult(str(command), 0, out)


def test_linux_host_with_root():
    host = FakeHost({str(UNAME): _ok(UNAME, "Linux web-01 6.1.0-26-amd64 x86_64\n"), str(USER_ID): _ok(USER_ID, "0\n")},
                    {OS_RELEASE[0]: DEBIAN_12})
    facts = detect(host)
    assert facts.platform is Platform.LINUX and facts.is_root
    assert (facts.os_name, facts.os_version, facts.os_id) == ("Debian GNU/Linux 12 (bookworm)", "12", "debian")
    assert (facts.hostname, facts.kernel, facts.architecture) == ("web-01", "6.1.0-26-amd64", "x86_64")


def test_os_release_falls_back_to_usr_lib():
    host = FakeHost({str(UNAME): _ok(UNAME, "Linux h 6.8 aarch64\n"), str(USER_ID): _ok(USER_ID, "1000\n")},
                    {OS_RELEASE[1]: DEBIAN_12})
    facts = detect(host)
    assert facts.os_id == "debian" and not facts.is_root and facts.architecture == "aarch64"


def test_macos_from_sw_vers():
    host = FakeHost({str(UNAME): _ok(UNAME, "Darwin mac.local 23.6.0 arm64\n"), str(USER_ID): _ok(USER_ID, "501\n"),
                     str(SW_VERS): _ok(SW_VERS, SW_VERS_OUTPUT)})
    facts = detect(host)
    assert facts.platform is Platform.MACOS and facts.os_version == "14.6.1" and facts.architecture == "arm64"


def test_unknown_kernel_is_not_guessed():
    host = FakeHost({str(UNAME): _ok(UNAME, "FreeBSD h 14.0-RELEASE amd64\n"), str(USER_ID): _ok(USER_ID, "0\n")})
    assert detect(host).platform is None


def test_no_uname_is_a_collector_error():
    try:
        detect(FakeHost({}))
    except CollectorError as exc:
        assert "`uname` is not installed" in str(exc)
    else:
        raise AssertionError("detect() accepted a host without uname")


def test_parsers_tolerate_odd_input():
    assert parse_uname("") == ("", "", "", "")
    assert parse_os_release("# comment\nID='arch'\nBROKEN\n") == {"ID": "arch"}
