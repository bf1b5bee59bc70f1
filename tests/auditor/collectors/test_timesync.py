"""timesync collector: recorded outputs of timedatectl and chronyc become facts."""

from __future__ import annotations

from auditor.collectors.timesync import CHRONY, TIMEDATECTL, collect, parse_chronyc_tracking
from auditor.models import Platform, SystemFacts
from auditor.transports.base import CommandResult
from tests.auditor.fake_host import FakeHost

LINUX = SystemFacts(Platform.LINUX)

# `timedatectl show` on Debian 12 (systemd 252) with systemd-timesyncd synchronised.
TIMEDATECTL_SYNCED = """\
Timezone=Europe/Copenhagen
LocalRTC=no
CanNTP=yes
NTP=yes
NTPSynchronized=yes
TimeUSec=Thu 2026-11-26 15:30:00 CET
RTCTimeUSec=Thu 2026-11-26 15:30:00 CET
"""

# `chronyc -n tracking` (chrony 4.3) on a synchronised host.
CHRONY_SYNCED = """\
Reference ID    : C0A80001 (192.168.0.1)
Stratum         : 3
Ref time (UTC)  : Thu Nov 26 14:29:40 2026
System time     : 0.000012345 seconds fast of NTP time
Last offset     : +0.000001234 seconds
RMS offset      : 0.000023456 seconds
Frequency       : 7.123 ppm slow
Residual freq   : +0.001 ppm
Skew            : 0.012 ppm
Root delay      : 0.000345678 seconds
Root dispersion : 0.000456789 seconds
Update interval : 64.2 seconds
Leap status     : Normal
"""

NO_SYSTEMD = "System has not been booted with systemd as init system (PID 1). Can't operate.\n" \
             "Failed to connect to bus: Host is down\n"


def test_timedatectl_answer_wins():
    host = FakeHost({str(TIMEDATECTL): CommandResult(str(TIMEDATECTL), 0, TIMEDATECTL_SYNCED)})
    facts = collect(host, LINUX)
    assert facts.synchronized is True and facts.source == "timedatectl" and facts.ntp_service_enabled is True


def test_timedatectl_unsynchronised_with_ntp_off():
    text = TIMEDATECTL_SYNCED.replace("NTP=yes", "NTP=no").replace("NTPSynchronized=yes", "NTPSynchronized=no")
    facts = collect(FakeHost({str(TIMEDATECTL): CommandResult(str(TIMEDATECTL), 0, text)}), LINUX)
    assert facts.synchronized is False and facts.ntp_service_enabled is False


def test_falls_back_to_chrony_without_systemd():
    host = FakeHost({
        str(TIMEDATECTL): CommandResult(str(TIMEDATECTL), 1, "", NO_SYSTEMD),
        str(CHRONY): CommandResult(str(CHRONY), 0, CHRONY_SYNCED),
    })
    facts = collect(host, LINUX)
    assert facts.synchronized is True and facts.source == "chronyc"
    assert facts.unavailable == {"timedatectl": f"`timedatectl show` exited 1: {NO_SYSTEMD.splitlines()[0]}"}


def test_chrony_unsynchronised_leap_status():
    text = CHRONY_SYNCED.replace("Leap status     : Normal", "Leap status     : Not synchronised")
    assert parse_chronyc_tracking(text)["Leap status"] == "Not synchronised"
    host = FakeHost({
        str(TIMEDATECTL): CommandResult(str(TIMEDATECTL), 127, "", "not found"),
        str(CHRONY): CommandResult(str(CHRONY), 0, text),
    })
    assert collect(host, LINUX).synchronized is False


def test_nothing_answers_says_why_for_each_tool():
    host = FakeHost({
        str(TIMEDATECTL): CommandResult(str(TIMEDATECTL), 1, "", NO_SYSTEMD),
        str(CHRONY): CommandResult(str(CHRONY), 127, "", "chronyc: command not found"),
    })
    facts = collect(host, LINUX)
    assert facts.synchronized is None and facts.source == ""
    assert facts.unavailable["chronyc"] == "`chronyc` is not installed"
    assert "not been booted with systemd" in facts.unavailable["timedatectl"]
