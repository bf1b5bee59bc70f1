"""CommandResult.failure (auditor/transports/base.py): the one sentence every collector gives for a failed command.

It lives with the collectors' tests because they are its users; its mirror would be tests/auditor/transports/."""

from __future__ import annotations

import pytest

from auditor.errors import CollectorError
from auditor.transports.base import CommandResult, cmd, slow_first

LSBLK = "lsblk -J -b -o NAME,KNAME,TYPE,FSTYPE,MOUNTPOINTS,PKNAME,RM,RO,SIZE"


@pytest.mark.parametrize(("result", "sentence"), [
    # Given a missing program, as the shell says it and as sudo -n says it: the program is named
    (CommandResult("auditctl -s", 127, "", "auditctl: command not found"), "`auditctl` is not installed"),
    (CommandResult("auditctl -s", 1, "", "sudo: auditctl: command not found\n"), "`auditctl` is not installed"),
    (CommandResult("env XDG_CONFIG_HOME=/home/a/.config dconf dump /", 127, "", "env: command not found"),
     "`dconf` is not installed"),
    # Given a timeout: the transport's limit is stated
    (CommandResult("apt list --upgradable", 124, "", "timed out after 20 s"),
     "`apt list --upgradable` timed out after 20 s"),
    (CommandResult("apt list --upgradable", 124, "", "not run: the scan was stopped"),
     "`apt list --upgradable` timed out: not run: the scan was stopped"),
    # Given a permission problem or sudo refusing: "needs root" and the line that says so
    (CommandResult("auditctl -s", 4, "", "You must be root to run this program.\n"),
     "`auditctl -s` needs root: You must be root to run this program."),
    (CommandResult("nft -j list ruleset", 1, "", "sudo: a password is required\n"),
     "`nft -j list ruleset` needs root: sudo: a password is required"),
    (CommandResult("systemsetup -getusingnetworktime", 1, "You need administrator access to run this tool... "
                   "exiting!\n"), "`systemsetup -getusingnetworktime` needs root: You need administrator access to run "
     "this tool... exiting!"),
    # Given Windows' ERROR_ACCESS_DENIED, in any language
    (CommandResult("auditpol /get '/category:*' /r", 1, "Fehler 0x00000005 aufgetreten:\nZugriff verweigert\n"),
     "`auditpol /get '/category:*' /r` needs administrator rights: Fehler 0x00000005 aufgetreten: Zugriff "
     "verweigert"),
    # Given any other failure: the exit status and the tool's first line, without warnings, a long command cut
    (CommandResult(LSBLK, 1, "", "lsblk: unknown column: MOUNTPOINTS\n"),
     "`lsblk -J -b -o …` exited 1: lsblk: unknown column: MOUNTPOINTS"),
    (CommandResult("apt list --upgradable", 100, "", "\nWARNING: apt does not have a stable CLI interface. Use with "
                   "caution in scripts.\n\nE: Could not open lock file\n"),
     "`apt list --upgradable` exited 100: E: Could not open lock file"),
    (CommandResult("python3 -c x", 1, "", "Traceback (most recent call last):\n  File \"<string>\", line 1\n"
                   "MemoryError: out of memory\n"), "`python3 -c x` exited 1: MemoryError: out of memory"),
    (CommandResult("w32tm /query /status", 1, "\x00T\x00h\x00e\x00 \x00e\x00r\x00r\x00o\x00r\x00"),
     "`w32tm /query /status` exited 1: The error"),
    (CommandResult("test -d /var/log/journal", 1, ""), "`test -d /var/log/journal` exited 1"),
])
def test_failure_says_why_in_one_wording(result: CommandResult, sentence: str) -> None:
    assert result.failure() == sentence


def test_what_a_tool_says_is_cut_to_200_characters() -> None:
    said = CommandResult("x", 2, "", "y" * 500).failure().partition(": ")[2]
    assert said == "y" * 200


def test_raise_for_status_raises_the_same_sentence() -> None:
    with pytest.raises(CollectorError, match=r"^`uname -s` exited 2: uname: bad option$"):
        CommandResult("uname -s", 2, "", "uname: bad option\n").raise_for_status()
    CommandResult("uname -s", 0, "Linux\n").raise_for_status()


def test_slow_commands_go_first_and_the_others_keep_their_order():
    quick, apt, other, mariadb = cmd("id", "-u"), cmd("python3", "-c", "x", slow=True), cmd("uname"), \
        cmd("mariadbd", "--help", slow=True)
    assert slow_first([quick, apt, other, mariadb]) == [apt, mariadb, quick, other]
    # `slow` and `replaces` are hints, not part of what the command is: the same argv is the same fact
    assert cmd("uname", slow=True, replaces=("uname -a",)) == other
    assert hash(cmd("uname", slow=True)) == hash(other)
