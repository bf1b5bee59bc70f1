"""End to end: `python -m auditor scan --inventory` over the TLS lab (real servers), then `auditor replay` of it."""

from __future__ import annotations

import json

import pytest

from tests.conftest import load_results, run_cli
from tests.tls_servers import tls_lab  # noqa: F401  (a fixture)

pytestmark = [pytest.mark.tls, pytest.mark.slow]

P, F, W, NA = "pass", "fail", "warn", "not_applicable"
CHECKS = ("TLS-0010", "TLS-0020", "TLS-0030", "TLS-0040", "TLS-0050", "TLS-0060", "TLS-0070", "TLS-0080")
# target -> statuses of the checks above
EXPECTED = {
    "modern": (P, P, P, P, F, P, P, NA),
    "legacy": (F, P, P, P, F, W, P, NA),
    "aes128": (P, F, P, P, F, P, P, NA),
    "expired": (P, P, F, P, F, P, P, NA),
    "self-signed": (P, P, F, P, F, P, P, NA),
    "wrong-name": (P, P, F, P, F, P, P, NA),
    "untrusted": (P, P, F, P, F, P, P, NA),
    "web": (P, P, P, P, P, P, P, NA),
    "web-open": (P, P, P, P, P, P, F, NA),
    "plain-http": (F, NA, NA, NA, NA, NA, P, NA),
    "smtp": (P, P, P, P, NA, P, NA, P),
    "smtp-open": (P, P, P, P, NA, P, NA, F),
    "imap": (P, P, P, P, NA, P, NA, P),
    "pop3": (P, P, P, P, NA, P, NA, P),
    "imap-open": (P, P, P, P, NA, P, NA, F),
    "pop3-open": (P, P, P, P, NA, P, NA, F),
}
NOT_ASSESSED = {
    "silent": ("timeout", "no TLS service answered on 127.0.0.1:"),
    "closed": ("unreachable", "refused the connection: nothing listens on that port"),
    "unresolvable": ("unreachable", "the name 'no-such-host.invalid' could not be resolved"),
}
# The cause each certificate's finding must name, in words.
CAUSES = {
    "expired": "fails: it expired on ",
    "self-signed": "it is self-signed ('CN=tls.auditor.test' issued it to itself)",
    "wrong-name": "its names do not match the server name tls.auditor.test (it holds: other.auditor.test)",
    "untrusted": "it is issued by an untrusted CA: 'CN=auditor rogue CA', which neither the system trust store nor "
                 "the ca_file trusts",
}


def statuses(run: dict) -> dict[str, tuple[str, ...]]:
    table: dict[str, dict[str, str]] = {}
    for finding in run["findings"]:
        table.setdefault(finding["target"], {})[finding["check_id"]] = finding["status"]
    return {target: tuple(checks[c] for c in CHECKS) for target, checks in table.items() if "TLS-0010" in checks}


def test_scan_of_every_lab_endpoint_then_replay(tls_lab, tmp_path):  # noqa: F811
    # Given an inventory of every lab configuration
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(tls_lab.inventory(), encoding="utf-8")
    # When auditor scans them all at once
    result = run_cli("scan", "--inventory", str(inventory), "--out", str(tmp_path / "run"), "--quiet",
                     "--format", "none", "--workers", "20")
    # Then every endpoint that answered gets the expected findings
    assert result.returncode == 3, result.stderr  # three targets could not be assessed
    run = load_results(tmp_path / "run")
    assert statuses(run) == EXPECTED
    messages = {(f["target"], f["check_id"]): f["message"] for f in run["findings"]}
    # And each certificate problem is named by its cause
    for target, words in CAUSES.items():
        assert words in messages[(target, "TLS-0030")], messages[(target, "TLS-0030")]
    # And plain HTTP on the TLS port fails for what it is, quoting what answered
    assert "serves data without encryption: a plain HTTP server answered" in messages[("plain-http", "TLS-0010")]
    assert "'HTTP/1.1 400 Bad Request\\r\\nServer: nginx" in messages[("plain-http", "TLS-0010")]
    assert "serves content in clear: GET / -> 200 OK with 68 bytes" in messages[("web-open", "TLS-0070")]
    assert "only redirects to HTTPS" in messages[("web", "TLS-0070")]
    assert "MAIL FROM:<> -> '250 OK'" in messages[("smtp-open", "TLS-0080")]
    # And where nothing answered, the target is not assessed, with the reason, and has no finding
    targets = {t["name"]: t for t in run["targets"]}
    for name, (reason, words) in NOT_ASSESSED.items():
        assert not targets[name]["assessed"] and targets[name]["error_reason"] == reason
        assert words in targets[name]["connection_error"]
        assert not [f for f in run["findings"] if f["target"] == name]
    assert all(targets[name]["assessed"] for name in EXPECTED)
    # And the silent listener costs its 5 s budget, not sslyze's minute of retries (its probe is kept as evidence)
    probe = next((tmp_path / "run" / "evidence" / "silent").glob("cmd-tls_probe-*.json"))
    assert 5 <= json.loads(json.loads(probe.read_text(encoding="utf-8"))["stdout"])["seconds"] < 6
    # And every finding rests on hashed evidence that replays to the same verdicts without touching a server
    evidence = [e["source"].split()[0] for e in next(f for f in run["findings"] if f["target"] == "modern" and
                                                      f["check_id"] == "TLS-0030")["evidence"]]
    assert evidence == ["tls-probe", "sslyze-scan"]
    replayed = run_cli("replay", str(tmp_path / "run"), "--out", str(tmp_path / "again"), "--quiet",
                       "--format", "none")
    assert replayed.returncode == 1, replayed.stderr  # the targets that were not assessed are not replayed
    assert statuses(load_results(tmp_path / "again")) == EXPECTED


def test_plain_http_on_a_tls_port_fails_r2_and_r8_rather_than_erroring(tls_lab, tmp_path):  # noqa: F811
    # Given a target declared TLS whose port answers plain HTTP
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(tls_lab.inventory("plain_http"), encoding="utf-8")
    # When scanned, with the summary report
    result = run_cli("scan", "--inventory", str(inventory), "--out", str(tmp_path / "run"), "--quiet",
                     "--format", "json")
    # Then the run ends with failures, not errors, and R2 and R8 are failed rather than untested
    assert result.returncode == 1, result.stderr
    report = json.loads((tmp_path / "run" / "report.json").read_text(encoding="utf-8"))
    requirements = {r["id"]: r["status"] for r in report["requirements"]}
    assert requirements["R2"] == requirements["R8"] == "fail", requirements
