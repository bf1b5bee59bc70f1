"""End to end: `python -m auditor scan --inventory` over the TLS lab, then `auditor replay` of that run."""

from __future__ import annotations

import json

import pytest

from tests.conftest import load_results, run_cli
from tests.tls_servers import tls_lab  # noqa: F401  (a fixture)

pytestmark = [pytest.mark.tls, pytest.mark.slow]

PASS, FAIL, WARN, ERROR, NA = "pass", "fail", "warn", "error", "not_applicable"
# target -> statuses of TLS-0010, 0020, 0030, 0040, 0050
EXPECTED = {
    "modern": (PASS, PASS, PASS, PASS, FAIL),
    "legacy": (FAIL, PASS, PASS, PASS, FAIL),
    "aes128": (PASS, FAIL, PASS, PASS, FAIL),
    "expired": (PASS, PASS, FAIL, PASS, FAIL),
    "wrong-host": (PASS, PASS, FAIL, PASS, FAIL),
    "hsts": (PASS, PASS, PASS, PASS, PASS),
    "smtp": (PASS, PASS, PASS, PASS, NA),
    "client-cert": (PASS, PASS, PASS, WARN, WARN),
    "plain-http": (ERROR,) * 5,
    "silent": (ERROR,) * 5,
    "closed": (ERROR,) * 5,
    "unresolvable": (ERROR,) * 5,
}
REASONS = {
    "plain-http": "a plain HTTP server answered on 127.0.0.1:",
    "silent": "no TLS service answered on 127.0.0.1:",
    "closed": "refused the connection: nothing listens on that port",
    "unresolvable": "the name 'no-such-host.invalid' could not be resolved",
}


def statuses(run: dict) -> dict[str, tuple[str, ...]]:
    table: dict[str, dict[str, str]] = {}
    for finding in run["findings"]:
        table.setdefault(finding["target"], {})[finding["check_id"]] = finding["status"]
    return {target: tuple(checks[f"TLS-00{n}0"] for n in range(1, 6)) for target, checks in table.items()}


def test_scan_of_every_lab_endpoint_then_replay(tls_lab, tmp_path):  # noqa: F811
    # Given an inventory of every lab configuration
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(tls_lab.inventory(), encoding="utf-8")
    # When auditor scans them all at once
    result = run_cli("scan", "--inventory", str(inventory), "--out", str(tmp_path / "run"), "--quiet",
                     "--workers", "12")
    # Then every endpoint gets the expected findings, and exit 3 says the evidence is incomplete
    assert result.returncode == 3, result.stderr
    run = load_results(tmp_path / "run")
    assert statuses(run) == EXPECTED
    messages = {(f["target"], f["check_id"]): f["message"] for f in run["findings"]}
    for target, words in REASONS.items():
        assert words in messages[(target, "TLS-0010")]
    assert "within 5 s" in messages[("silent", "TLS-0030")]
    assert "TLS_AES_128_GCM_SHA256 (AES-128 is below 256 bits)" in messages[("aes128", "TLS-0020")]
    # And the silent listener costs its 5 s budget, not sslyze's minute of retries
    silent = next(f for f in run["findings"] if f["target"] == "silent")["evidence"][0]
    probe = json.loads(json.loads((tmp_path / "run" / silent["path"]).read_text(encoding="utf-8"))["stdout"])
    assert probe["outcome"] == "silent" and 5 <= probe["seconds"] < 6
    # And every finding rests on hashed evidence that replays to the same verdicts without touching a server
    tls_lab_evidence = next(f for f in run["findings"] if f["target"] == "modern")["evidence"]
    assert [e["source"].split()[0] for e in tls_lab_evidence] == ["tls-probe", "sslyze-scan"]
    replayed = run_cli("replay", str(tmp_path / "run"), "--out", str(tmp_path / "again"), "--quiet")
    assert replayed.returncode == 3, replayed.stderr
    assert statuses(load_results(tmp_path / "again")) == EXPECTED
