"""auditd collector: recorded `auditctl -s` / `auditctl -l` outputs, auditd.conf, and why facts are missing."""

from __future__ import annotations

import pytest

from auditor.collectors.auditd import (
    CONFIG,
    IS_ACTIVE,
    RULES,
    STATUS,
    collect,
    parse_auditctl_rules,
    parse_auditctl_status,
    parse_auditd_conf,
    parse_rule,
    requests,
)
from auditor.models import Platform, SystemFacts
from auditor.transports.base import CommandResult
from tests.auditor.fake_host import FakeHost
from tests.conftest import FIXTURES

LINUX = SystemFacts(Platform.LINUX)
OUT = FIXTURES / "outputs" / "logging"
CIS_RULES = (OUT / "debian12-cis-auditctl-l.txt").read_text()
RUNNING = (OUT / "rhel9-auditctl-s-running.txt").read_text()
CONTAINER_STATUS = (OUT / "debian12-container-auditctl-s.txt").read_text()
NO_RULES = (OUT / "debian12-container-auditctl-l.txt").read_text()
NOT_ROOT = (OUT / "debian12-nonroot-auditctl-s.stderr.txt").read_text()
NO_SYSTEMD = (OUT / "debian12-container-systemctl-is-active.stderr.txt").read_text()
AUDITD_CONF = (OUT / "debian12-auditd.conf").read_bytes()


def _result(command, status, out="", err=""):
    return CommandResult(str(command), status, out, err)


def _host(status=(0, RUNNING, ""), rules=(0, CIS_RULES, ""), service=(0, "active\n", ""), conf=AUDITD_CONF):
    return FakeHost({str(STATUS): _result(STATUS, *status), str(RULES): _result(RULES, *rules),
                     str(IS_ACTIVE): _result(IS_ACTIVE, *service)}, {CONFIG: conf} if conf is not None else {})


def test_requests_ask_auditctl_through_sudo_and_the_config_file():
    commands, paths = requests(LINUX)
    assert {str(c) for c in commands if c.sudo} == {"auditctl -s", "auditctl -l"}
    assert paths == (CONFIG,)


def test_status_of_a_running_daemon_kernel_6():
    status = parse_auditctl_status(RUNNING)
    assert status["enabled"] == "1" and status["pid"] == "612" and status["backlog_limit"] == "8192"
    assert status["loginuid_immutable"] == "0 unlocked"


def test_no_rules_means_an_empty_rule_list():
    assert NO_RULES.strip() == "No rules"
    assert parse_auditctl_rules(NO_RULES) == ()


def test_cis_rules_as_auditctl_prints_them():
    rules = parse_auditctl_rules(CIS_RULES)
    assert len(rules) == 57
    passwd = next(r for r in rules if r.path == "/etc/passwd")
    assert (passwd.kind, passwd.perms, passwd.key) == ("watch", "wa", "identity")
    sudo = next(r for r in rules if r.path == "/usr/bin/sudo")
    # auditctl prints `-k privileged` back as `-F key=privileged` and `auid!=unset` as `auid!=-1`
    assert (sudo.kind, sudo.action, sudo.filter, sudo.perms, sudo.key) == ("syscall", "always", "exit", "x",
                                                                         "privileged")
    assert sudo.syscalls == ("all",) and ("!=", "-1") in sudo.field("auid") and not sudo.recursive
    exports = next(r for r in rules if r.key == "pii-exports")
    assert (exports.path, exports.recursive, exports.perms) == ("/srv/exports", True, "rw")
    emulation = next(r for r in rules if r.key == "user_emulation")
    assert "execve" in emulation.syscalls and emulation.field("uid") == [("!=", "euid")]


@pytest.mark.parametrize(
    ("line", "path", "key"),
    [("-w /etc/network -p wa -k system-locale", "/etc/network", "system-locale"),
     ("-w /etc/ -p wa", "/etc", ""),
     ("-a exit,always -S all -F path=/usr/bin/mount -F perm=x -F auid>=1000 -F auid!=-1 -F key=privileged",
      "/usr/bin/mount", "privileged")],
)
def test_single_rules_including_legacy_list_action_order(line, path, key):
    rule = parse_rule(line)
    assert rule is not None and rule.path == path and rule.key == key
    assert parse_rule("-D") is None and parse_rule("") is None


def test_auditd_conf_records_log_size_and_rotation():
    config = parse_auditd_conf(AUDITD_CONF.decode())
    assert (config["max_log_file"], config["num_logs"], config["max_log_file_action"]) == ("8", "5", "ROTATE")


def test_collect_a_cis_configured_host():
    facts = collect(_host(), LINUX)
    assert facts.installed and facts.service == "active" and facts.enabled == 1 and facts.pid == 612
    assert len(facts.rules) == 57 and not facts.status_problem and not facts.rules_problem
    assert facts.config["num_logs"] == "5"


def test_container_without_daemon_reports_enabled_0_and_no_systemd():
    facts = collect(_host(status=(0, CONTAINER_STATUS, ""), rules=(0, NO_RULES, ""), service=(1, "", NO_SYSTEMD),
                          conf=None), LINUX)
    assert facts.installed and facts.enabled == 0 and facts.pid == 0 and facts.rules == ()
    assert facts.service == "" and "not been booted with systemd" in facts.service_problem
    assert facts.config_problem == "absent"


def test_non_root_says_what_could_not_be_read():
    facts = collect(_host(status=(4, "", NOT_ROOT), rules=(4, "", NOT_ROOT)), LINUX)
    assert facts.installed and facts.status == {} and facts.rules == ()
    assert facts.status_problem == "`auditctl -s` needs root: You must be root to run this program."
    assert facts.rules_problem.startswith("`auditctl -l` needs root")


def test_sudo_without_password_rights():
    facts = collect(_host(status=(1, "", "sudo: a password is required\n")), LINUX)
    assert facts.status_problem == "`auditctl -s` needs root: sudo: a password is required"


@pytest.mark.parametrize("missing", [(127, "", "auditctl: command not found"),
                                     (1, "", "sudo: auditctl: command not found")])
def test_not_installed(missing):
    facts = collect(_host(status=missing, rules=missing, service=(3, "inactive\n", "")), LINUX)
    assert not facts.installed and facts.service == "inactive"


def test_audit4_status_with_backlog_wait_time_actual():
    # Given `auditctl -s` of audit 4.0 (Debian 13; audit 3.1 on Ubuntu 24.04 and RHEL 9 prints the same fields)
    status = parse_auditctl_status((OUT / "debian13-audit4-auditctl-s.txt").read_text())
    facts = collect(_host(status=(0, (OUT / "debian13-audit4-auditctl-s.txt").read_text(), "")),
                    SystemFacts(Platform.LINUX))
    # Then enabled and pid are read, and the newer fields are kept as they are
    assert (facts.enabled, facts.pid) == (1, 612)
    assert status["backlog_wait_time_actual"] == "0" and status["loginuid_immutable"] == "0 unlocked"
