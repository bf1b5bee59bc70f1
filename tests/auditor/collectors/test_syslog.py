"""syslog collector: rsyslog / syslog-ng config files, logrotate rules and journal-upload, from recorded files."""

from __future__ import annotations

import glob
import os
import shutil

import pytest

from auditor.collectors import auditd
from auditor.collectors.journald import JournaldFacts
from auditor.collectors.syslog import (
    IS_ACTIVE,
    LIST_LOGROTATE,
    LIST_RSYSLOG,
    LIST_SYSLOG_NG,
    LOGROTATE_CONF,
    RSYSLOG_CONF,
    SYSLOG_NG_CONF,
    UPLOAD_CONFIG,
    Rotation,
    collect,
    parse_journal_upload,
    parse_logrotate,
    parse_rsyslog,
    parse_syslog_ng,
    rotation_for,
)
from auditor.models import Platform, Status, SystemFacts
from auditor.transports.base import CommandResult, FileContent
from auditor.transports.local import LocalTransport
from checks.audit_logging import logs_kept
from tests.auditor.fake_host import FakeHost
from tests.conftest import FIXTURES

LINUX = SystemFacts(Platform.LINUX)
OUT = FIXTURES / "outputs" / "logging"
NO_SYSTEMD = (OUT / "debian12-container-systemctl-is-active.stderr.txt").read_text()
UPLOAD_NOT_FOUND = (OUT / "debian12-container-cat-config-journal-upload.txt").read_text()


def _text(name: str) -> str:
    return (OUT / name).read_text()


UBUNTU = {
    RSYSLOG_CONF: _text("ubuntu2204-rsyslog.conf"),
    "/etc/rsyslog.d/20-ufw.conf": _text("ubuntu2204-rsyslog.d-20-ufw.conf"),
    "/etc/rsyslog.d/50-default.conf": _text("ubuntu2204-rsyslog.d-50-default.conf"),
    LOGROTATE_CONF: _text("ubuntu2204-logrotate.conf"),
    "/etc/logrotate.d/rsyslog": _text("ubuntu2204-logrotate.d-rsyslog"),
}
DEBIAN_LOGROTATE = {
    LOGROTATE_CONF: _text("debian12-logrotate.conf"),
    "/etc/logrotate.d/btmp": _text("debian12-logrotate.d-btmp"),
    "/etc/logrotate.d/wtmp": _text("debian12-logrotate.d-wtmp"),
}


class Host(FakeHost):
    """FakeHost that can also refuse to read a file, as a non-root scan meets a 0600 drop-in."""

    def __init__(self, commands, files, unreadable=()):
        super().__init__(commands, files)
        self.unreadable = set(unreadable)

    def read_file(self, path):
        if path in self.unreadable:
            self.calls.append(path)
            return FileContent(path, True, error="Permission denied")
        return super().read_file(path)


def _host(files: dict[str, str], states: str = "", state_err: str = "", upload: str = UPLOAD_NOT_FOUND,
          unreadable=()) -> Host:
    def listing(folder: str, command) -> CommandResult:
        found = "\n".join(p for p in sorted(files) if os.path.dirname(p) == folder)
        return CommandResult(str(command), 0 if found else 1, found + "\n" if found else "",
                             "" if found else f"find: '{folder}': No such file or directory\n")

    commands = {
        str(IS_ACTIVE): CommandResult(str(IS_ACTIVE), 0 if states.startswith("active") else 3, states, state_err),
        str(UPLOAD_CONFIG): CommandResult(str(UPLOAD_CONFIG), 0, upload),
        str(LIST_RSYSLOG): listing("/etc/rsyslog.d", LIST_RSYSLOG),
        str(LIST_SYSLOG_NG): listing("/etc/syslog-ng/conf.d", LIST_SYSLOG_NG),
        str(LIST_LOGROTATE): listing("/etc/logrotate.d", LIST_LOGROTATE),
    }
    return Host(commands, {p: t.encode() for p, t in files.items()}, unreadable)


def test_ubuntu_2204_rsyslog_writes_files_kept_28_days():
    # Given Ubuntu 22.04's rsyslog and logrotate defaults, with rsyslog running
    facts = collect(_host(UBUNTU, "active\ninactive\ninactive\n"), LINUX)
    # Then rsyslog is found, with the files of 50-default.conf and 20-ufw.conf, in include order
    rsyslog = facts.daemons["rsyslog"]
    assert rsyslog.state == "active" and rsyslog.forwards == ()
    assert rsyslog.config_files == (RSYSLOG_CONF, "/etc/rsyslog.d/20-ufw.conf", "/etc/rsyslog.d/50-default.conf")
    assert rsyslog.log_files == ("/var/log/ufw.log", "/var/log/auth.log", "/var/log/syslog", "/var/log/kern.log",
                                 "/var/log/mail.log", "/var/log/mail.err")
    # And logrotate keeps each 4 weeks; ufw.log has no rule in this set, so it is never rotated
    assert facts.logrotate == "present"
    assert facts.rotations["/var/log/syslog"].retention_days == 28
    assert facts.rotations["/var/log/syslog"].describe() == "weekly, rotate 4 in /etc/logrotate.d/rsyslog"
    assert facts.rotations["/var/log/ufw.log"].describe() == "not rotated by logrotate"
    assert "syslog-ng" not in facts.daemons and "systemd-journal-upload" not in facts.daemons


def test_debian_12_minimal_has_no_classic_syslog():
    facts = collect(_host({}, state_err=NO_SYSTEMD), LINUX)
    assert facts.daemons == {} and facts.rotations == {} and facts.logrotate == "absent"


def test_state_unknown_without_systemd_is_said():
    facts = collect(_host(UBUNTU, state_err=NO_SYSTEMD), LINUX)
    rsyslog = facts.daemons["rsyslog"]
    assert rsyslog.state == "" and "not been booted with systemd" in rsyslog.state_problem


def test_debian_12_rsyslog_default_rules_come_after_the_include():
    daemon = parse_rsyslog({RSYSLOG_CONF: _text("debian12-rsyslog.conf")})
    assert daemon.log_files == ("/var/log/syslog", "/var/log/auth.log", "/var/log/cron.log", "/var/log/kern.log",
                                "/var/log/mail.log", "/var/log/user.log")
    rules = parse_logrotate({LOGROTATE_CONF: _text("debian12-logrotate.conf"),
                             "/etc/logrotate.d/rsyslog": _text("debian12-logrotate.d-rsyslog")},
                            LOGROTATE_CONF, ["/etc/logrotate.d/rsyslog"])
    assert {rotation_for(p, rules).retention_days for p in daemon.log_files} == {28}


@pytest.mark.parametrize(
    ("name", "target", "protocol", "tls", "auth"),
    [("rsyslog.d-60-forward-gtls-x509name.conf", "logs.example.net", "tcp", True, "x509/name"),
     ("rsyslog.d-60-forward-legacy-tls-anon.conf", "logs.example.net", "tcp", True, "anon"),
     ("rsyslog.d-60-forward-udp.conf", "logs.example.net", "udp", False, "")],
)
def test_rsyslog_forwarding(name, target, protocol, tls, auth):
    daemon = parse_rsyslog({RSYSLOG_CONF: _text("debian12-rsyslog.conf"), f"/etc/rsyslog.d/{name}": _text(name)})
    (forward,) = daemon.forwards
    assert (forward.target, forward.protocol, forward.tls, forward.auth_mode) == (target, protocol, tls, auth)
    assert forward.source.startswith(f"/etc/rsyslog.d/{name}:")


@pytest.mark.parametrize(
    ("config", "tls", "auth"),
    [('action(type="omfwd" target="c.example.net" port="6514" protocol="tcp" StreamDriver="ossl" '
      'StreamDriver.Mode="1")', True, "anon"),
     ('action(type="omfwd" target="c.example.net" protocol="tcp" StreamDriver="gtls" StreamDriverMode="0")',
      False, ""),
     ('action(type="omfwd" target="c.example.net" protocol="udp" StreamDriver="gtls" StreamDriverMode="1")',
      False, ""),
     ('*.* @@c.example.net:514', False, ""),
     ('$DefaultNetstreamDriver gtls\n$ActionSendStreamDriverMode 1\n$ActionSendStreamDriverAuthMode x509/certvalid\n'
      '*.* @@(o)c.example.net:6514', True, "x509/certvalid"),
     ('*.* @@c.example.net:6514\n$DefaultNetstreamDriver gtls\n$ActionSendStreamDriverMode 1', False, ""),
     ('action(type="omrelp" target="c.example.net" port="2514" tls="on" tls.authMode="name")', True, "x509/name")],
)
def test_rsyslog_tls_needs_a_tls_driver_mode_1_over_tcp(config, tls, auth):
    (forward,) = parse_rsyslog({RSYSLOG_CONF: config}).forwards
    assert (forward.tls, forward.auth_mode) == (tls, auth)


def test_rsyslog_comments_continuations_and_includes_elsewhere():
    config = ('/* block\n comment */\n# *.* @@old.example.net\n*.=info;\\\n  mail.none\t-/var/log/messages\n'
              '$IncludeConfig /usr/local/etc/rsyslog/*.conf\n'
              'if $programname == "app" then {\n action(type="omfile" file="/var/log/app.log")\n stop\n}\n')
    daemon = parse_rsyslog({RSYSLOG_CONF: config})
    assert daemon.log_files == ("/var/log/messages", "/var/log/app.log") and daemon.forwards == ()
    assert daemon.problems == ("/etc/rsyslog.conf:6: include /usr/local/etc/rsyslog/*.conf was not read",)


def test_syslog_ng_default_files_and_tls_destination():
    daemon = parse_syslog_ng({SYSLOG_NG_CONF: _text("debian12-syslog-ng.conf"),
                              "/etc/syslog-ng/conf.d/forward-tls.conf": _text("syslog-ng.conf.d-forward-tls.conf")})
    assert "/var/log/syslog" in daemon.log_files and "/var/log/ppp.log" not in daemon.log_files  # d_ppp is unused
    (forward,) = daemon.forwards
    assert (forward.target, forward.protocol, forward.tls, forward.auth_mode) == \
        ("logs.example.net", "tcp", True, "required-trusted")


@pytest.mark.parametrize(
    ("destination", "protocol", "tls", "auth"),
    [('network("c.example.net" port(514) transport("udp"))', "udp", False, ""),
     ('syslog("c.example.net" transport("tls") tls(peer-verify(optional-untrusted) ca-dir("/x")))', "tcp", True,
      "optional-untrusted"),
     ('tcp("c.example.net" port(6514) tls(ca_dir("/x")))', "tcp", True, "required-trusted"),
     ('udp("c.example.net")', "udp", False, "")],
)
def test_syslog_ng_transports(destination, protocol, tls, auth):
    config = f"destination d_net {{ {destination}; }};\nlog {{ source(s_src); destination(d_net); }};\n"
    (forward,) = parse_syslog_ng({SYSLOG_NG_CONF: config}).forwards
    assert (forward.protocol, forward.tls, forward.auth_mode) == (protocol, tls, auth)


def test_syslog_ng_collected_with_debian_logrotate():
    files = {SYSLOG_NG_CONF: _text("debian12-syslog-ng.conf"), **DEBIAN_LOGROTATE,
             "/etc/logrotate.d/syslog-ng": _text("debian12-logrotate.d-syslog-ng")}
    facts = collect(_host(files, "inactive\nactive\ninactive\n"), LINUX)
    assert facts.daemons["syslog-ng"].state == "active"
    assert facts.rotations["/var/log/syslog"].retention_days == 7
    assert facts.rotations["/var/log/auth.log"].retention_days == 28


def test_journal_upload_over_https():
    daemon = parse_journal_upload(_text("debian12-cat-config-journal-upload-https.txt"))
    (forward,) = daemon.forwards
    assert (forward.target, forward.protocol, forward.tls, forward.auth_mode) == \
        ("https://logs.example.net:19532", "https", True, "x509/name")
    assert forward.source == "/etc/systemd/journal-upload.conf.d/50-central.conf"


@pytest.mark.parametrize(("url", "protocol", "tls"), [("http://logs.example.net", "http", False),
                                                      ("logs.example.net", "https", True)])
def test_journal_upload_scheme(url, protocol, tls):
    (forward,) = parse_journal_upload(f"# /etc/systemd/journal-upload.conf\n[Upload]\nURL={url}\n").forwards
    assert (forward.protocol, forward.tls) == (protocol, tls)


def test_journal_upload_package_default_has_no_url_and_state_is_kept():
    text = _text("debian12-cat-config-journal-upload-https.txt").split("# /etc/systemd/journal-upload.conf.d")[0]
    facts = collect(_host({}, "inactive\ninactive\nactive\n", upload=text), LINUX)
    upload = facts.daemons["systemd-journal-upload"]
    assert upload.forwards == () and upload.state == "active"


@pytest.mark.parametrize(
    ("block", "days"),
    [("daily\nrotate 90", 90), ("monthly\nrotate 3", 90), ("weekly\nrotate 4", 28),
     ("daily\nrotate 365\nmaxage 60", 60), ("weekly\nrotate -1", float("inf")), ("size 100M\nrotate 10", None),
     ("rotate 10", 70), ("hourly\nrotate 48", 2), ("yearly\nrotate 1", 365)],
)
def test_logrotate_retention(block, days):
    # Given a rule for /var/log/app.log below Debian's global `weekly` and `rotate 4`
    texts = {**DEBIAN_LOGROTATE, "/etc/logrotate.d/app": "/var/log/app.log {\n" + block + "\n}\n"}
    rules = parse_logrotate(texts, LOGROTATE_CONF, sorted(p for p in texts if p.startswith("/etc/logrotate.d/")))
    # Then its retention is rotate x period (inheriting what the rule does not say), capped by maxage
    assert rotation_for("/var/log/app.log", rules).retention_days == days


def test_logrotate_options_after_include_do_not_reach_included_rules():
    texts = {LOGROTATE_CONF: "weekly\nrotate 4\ninclude /etc/logrotate.d\ndaily\nrotate 1\n/var/log/x { }\n",
             "/etc/logrotate.d/app": '"/var/log/app/*.log" {\n  missingok\n  postrotate\n'
             '    kill -HUP $(cat /run/a.pid) || { true; }\n  endscript\n}\n',
             "/etc/logrotate.d/app.dpkg-old": "/var/log/app/*.log { rotate 99 }\n"}
    rules = parse_logrotate(texts, LOGROTATE_CONF, ["/etc/logrotate.d/app", "/etc/logrotate.d/app.dpkg-old"])
    assert rotation_for("/var/log/app/web.log", rules) == Rotation("/var/log/app/*.log", "/etc/logrotate.d/app",
                                                                    "weekly", 4)
    assert rotation_for("/var/log/x", rules).describe() == f"daily, rotate 1 in {LOGROTATE_CONF}"


def test_unreadable_drop_in_is_named():
    facts = collect(_host(UBUNTU, "active\n", unreadable=["/etc/rsyslog.d/50-default.conf"]), LINUX)
    assert facts.daemons["rsyslog"].problems == ("/etc/rsyslog.d/50-default.conf: Permission denied",)
    assert facts.daemons["rsyslog"].log_files == ("/var/log/ufw.log",)


def test_collectors_agree_with_this_machine():
    # Given this machine, read through the real local transport
    host = LocalTransport()
    facts = collect(host, LINUX)
    audit = auditd.collect(host, LINUX)
    # Then each daemon is reported exactly when its main config file exists
    assert ("rsyslog" in facts.daemons) == os.path.isfile(RSYSLOG_CONF)
    assert ("syslog-ng" in facts.daemons) == os.path.isfile(SYSLOG_NG_CONF)
    if "rsyslog" in facts.daemons:
        readable = {p for p in glob.glob("/etc/rsyslog.d/*.conf") if os.access(p, os.R_OK)}
        assert readable <= set(facts.daemons["rsyslog"].config_files)
    # And logrotate is present exactly when its main config can be read
    if os.access(LOGROTATE_CONF, os.R_OK):
        assert facts.logrotate == "present"
    elif not os.path.exists(LOGROTATE_CONF):
        assert facts.logrotate == "absent"
    # And the audit tooling is installed exactly when auditctl is on the sbin-inclusive PATH
    path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:" + os.environ.get("PATH", "")
    assert audit.installed == (shutil.which("auditctl", path=path) is not None)


# ---- hostile and unusual configurations --------------------------------------------------------------

def test_an_unreadable_logrotate_drop_in_leaves_retention_unknown_never_unlimited():
    # Given Ubuntu's rsyslog writing /var/log/syslog, whose rule lives in a logrotate drop-in a non-root scan
    # cannot read (0600)
    facts = collect(_host(UBUNTU, "active\n", unreadable=["/etc/logrotate.d/rsyslog"]), LINUX)
    # Then logrotate is not "present" with every file "never rotated", but says what could not be read
    assert facts.logrotate.startswith("not all of logrotate's configuration could be read")
    assert "/etc/logrotate.d/rsyslog: Permission denied" in facts.logrotate
    # And LOG-0020 does not pass on rsyslog's files
    verdict = logs_kept(JournaldFacts(True, True, {"Storage": "volatile"}), facts, 90)
    assert verdict.status is Status.FAIL and "for an unknown time" in verdict.message


def test_a_logrotate_folder_that_cannot_be_listed_is_named():
    # Given /etc/logrotate.d that find cannot enter
    host = _host(UBUNTU, "active\n")
    host._commands[str(LIST_LOGROTATE)] = CommandResult(str(LIST_LOGROTATE), 1, "",
                                                       "find: '/etc/logrotate.d': Permission denied\n")
    facts = collect(host, LINUX)
    # Then the drop-ins it hides make retention unknown, with the reason
    assert "/etc/logrotate.d could not be listed" in facts.logrotate


def test_logrotate_including_itself_is_read_once():
    # Given a logrotate.conf that includes itself and a drop-in that includes the main file again
    texts = {LOGROTATE_CONF: "weekly\nrotate 4\ninclude /etc/logrotate.conf\ninclude /etc/logrotate.d\n",
             "/etc/logrotate.d/loop": "include /etc/logrotate.conf\n/var/log/app.log { daily\n rotate 90 }\n"}
    # When parsed
    rules = parse_logrotate(texts, LOGROTATE_CONF, ["/etc/logrotate.d/loop"])
    # Then there is no endless recursion, and the drop-in's rule is read once
    assert [r.pattern for r in rules] == ["/var/log/app.log"]


@pytest.mark.parametrize("name", ["app.rhn-cfg-tmp-x1Y2z3", "app.dpkg-old", "app~"])
def test_logrotate_skips_its_taboo_files(name):
    texts = {LOGROTATE_CONF: "include /etc/logrotate.d\n", f"/etc/logrotate.d/{name}": "/var/log/a { rotate 1 }\n"}
    assert parse_logrotate(texts, LOGROTATE_CONF, [f"/etc/logrotate.d/{name}"]) == []


def test_logrotate_patterns_match_as_glob_does_never_across_a_slash():
    # Given a rule for /var/log/*.log and one quoted with single quotes
    texts = {LOGROTATE_CONF: "/var/log/*.log { daily\n rotate 7 }\n'/srv/my app/*.log' { daily\n rotate 90 }\n"}
    rules = parse_logrotate(texts, LOGROTATE_CONF)
    # Then a file one folder deeper is not rotated by the first rule (glob's * stops at /)
    assert rotation_for("/var/log/syslog.log", rules).rotate == 7
    assert rotation_for("/var/log/nginx/access.log", rules).pattern == ""
    # And the single-quoted pattern is one pattern with its space
    assert rotation_for("/srv/my app/x.log", rules).rotate == 90


def test_syslog_ng_whose_main_file_cannot_be_read_is_a_problem_not_a_crash():
    files = {SYSLOG_NG_CONF: 'destination d { file("/var/log/x"); };\nlog { destination(d); };\n'}
    facts = collect(_host(files, "inactive\nactive\n", unreadable=[SYSLOG_NG_CONF]), LINUX)
    assert facts.daemons["syslog-ng"].problems == (f"{SYSLOG_NG_CONF}: Permission denied",)
    assert facts.daemons["syslog-ng"].log_files == ()


def test_syslog_ng_reads_single_quoted_strings():
    # Given syslog-ng.conf quoting with single quotes, a '#' inside one of them, and a TLS network destination
    text = ("destination d_file { file('/var/log/#app.log'); };  # a comment\n"
            "destination d_net { network('logs.example.dk' transport('tls') port(6514)"
            " tls(peer-verify('required-trusted'))); };\n"
            "log { source(s_src); destination('d_file'); destination(d_net); };\n")
    daemon = parse_syslog_ng({SYSLOG_NG_CONF: text})
    # Then the file and the forward are found as with double quotes
    assert daemon.log_files == ("/var/log/#app.log",)
    (forward,) = daemon.forwards
    assert (forward.target, forward.protocol, forward.tls, forward.auth_mode) == \
        ("logs.example.dk", "tcp", True, "required-trusted")
