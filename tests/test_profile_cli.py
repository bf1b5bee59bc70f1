"""The controller's profile end to end: waivers and attestations change findings and exit codes; bad
references are refused with file:line; show, params and diff print what a controller asks."""

from __future__ import annotations

import json

import pytest

from tests.conftest import HOSTS, load_results, run_cli

pytestmark = pytest.mark.slow
SERVER = HOSTS / "debian12-server"  # LOG-0020 fails (60-day retention), LOG-0040 passes; target db-1
# The recorded server holds the facts of every Linux check (tests/test_recorded_hosts.py replays them all);
# the profile behaviour is tested on these two alone, so that each test names the one finding it moves.
ONLY = ("--check", "LOG-0020", "--check", "LOG-0040", "--format", "none")


def _replay(tmp_path, profile):
    out = tmp_path / "run"
    result = run_cli("replay", str(SERVER), "--profile", str(profile), "--out", str(out), "--quiet", *ONLY)
    return result, out


WAIVER = """\
extends: default
waivers:
  - check: "LOG-00*"
    {scope}
    reason: Central log store keeps 400 days; local journal is only a buffer.
    approver: Region Example DPO
    created: 2026-11-01
    expires: {expires}
    risk: low
    instruction: DPA C.2 amendment 3
"""


def test_exit_0_when_every_failure_is_waived(tmp_path, write):
    result, out = _replay(tmp_path, write("p.yaml", WAIVER.format(scope="targets: [db-1]", expires="2099-12-31")))
    assert result.returncode == 0, result.stderr
    document = load_results(out)
    (log20,) = [f for f in document["findings"] if f["check_id"] == "LOG-0020"]
    assert (log20["status"], log20["raw_status"], log20["waiver"]) == ("waived", "fail", "W1")
    (use,) = document["waivers"]
    assert use["state"] == "active" and use["matched"] == ["LOG-0020@db-1"]


def test_a_waiver_scoped_to_another_host_does_not_apply(tmp_path, write):
    result, out = _replay(tmp_path, write("p.yaml", WAIVER.format(scope="targets: [web-01]", expires="2099-12-31")))
    assert result.returncode == 1
    assert load_results(out)["waivers"][0]["state"] == "unused"


def test_an_expired_waiver_no_longer_applies_and_is_flagged(tmp_path, write):
    expired = WAIVER.format(scope="roles: [server]", expires="2026-01-31").replace("2026-11-01", "2026-01-02")
    result, out = _replay(tmp_path, write("p.yaml", expired))  # created before it expired, as the loader demands
    assert result.returncode == 1
    (use,) = load_results(out)["waivers"]
    assert use["state"] == "expired" and use["matched"] == ["LOG-0020@db-1"]


def test_attestation_artefact_hash_is_in_the_evidence_and_stale_ones_fail(tmp_path, write):
    (tmp_path / "restore-test.log").write_text("restore of db-1 from 2026-10-02 snapshot: OK\n")
    profile = write("p.yaml", """\
extends: default
parameters: {log_retention_days: 30}
attestations:
  - requirement: R5
    statement: Quarterly restore test of db-1 succeeded.
    attestor: {name: Ole Hansen, role: Operations lead, organisation: Example ApS}
    date: 2026-10-02
    next_review: 2099-01-01
    artefacts: [restore-test.log]
  - requirement: R10
    statement: Key locks on all office doors.
    attestor: {name: Mette Jensen}
    date: 2025-01-01
    next_review: 2025-12-31
""")
    result, out = _replay(tmp_path, profile)
    assert result.returncode == 1  # the stale R10 attestation fails; everything scanned passes at 30 days
    document = load_results(out)
    attested = {f["requirements"][0]: f for f in document["findings"] if f["target"] == ""}
    assert attested["R5"]["status"] == "manual" and attested["R10"]["status"] == "fail"
    (ref,) = attested["R5"]["evidence"]
    record = json.loads((out / ref["path"]).read_text())
    import hashlib

    assert record["sha256_of_file"] == hashlib.sha256((tmp_path / "restore-test.log").read_bytes()).hexdigest()
    manifest = json.loads((out / "evidence" / "manifest.json").read_text())
    assert ref["path"] in {f["path"] for f in manifest["facts"]}


def test_replay_without_profile_reuses_the_stored_one_with_its_waivers(tmp_path, write):
    first, out = _replay(tmp_path, write("p.yaml", WAIVER.format(scope="roles: [server]", expires="2099-12-31")))
    assert first.returncode == 0
    again = run_cli("replay", str(out), "--out", str(tmp_path / "again"), "--quiet", *ONLY)
    assert again.returncode == 0, again.stderr
    assert load_results(tmp_path / "again")["run"]["profile_sha256"] == load_results(out)["run"]["profile_sha256"]


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        (WAIVER.format(scope="targets: [db-1]", expires="2099-12-31").replace('"LOG-00*"', "LOG-0041"), ":3:",
         "check 'LOG-0041' matches no installed check; did you mean LOG-0040?"),
        ("checks:\n  DISK-9999: {severity: high}\n", ":2:", "check 'DISK-9999' matches no installed check"),
        ("tailoring:\n  R13: {add_checks: [LOG-0040]}\n", ":2:", "unknown key 'R13'"),
        ("checks:\n  LOG-0040: {severity: urgent}\n", ":2:", "unknown severity 'urgent'"),
        ("attestations:\n  - {requirement: R99, statement: s, attestor: {name: n}, date: 2026-01-01,"
         " next_review: 2027-01-01}\n", ":2:", "unknown requirement 'R99'"),
    ],
)
def test_bad_references_are_one_line_with_file_and_line(tmp_path, write, text, where, words):
    profile = write("p.yaml", text)
    result = run_cli("scan", "--profile", str(profile), "--out", str(tmp_path / "r"))
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert f"{profile}{where}" in result.stderr and words in result.stderr


def test_tailoring_moves_checks_scopes_and_severities(tmp_path, write):
    profile = write("p.yaml", """\
tailoring:
  R12: {remove_checks: [LOG-0040]}
  R4: {add_checks: [LOG-0040]}
checks:
  LOG-0020: {severity: critical, roles: [workstation]}
""")
    result, out = _replay(tmp_path, profile)
    document = load_results(out)
    by_id = {f["check_id"]: f for f in document["findings"]}
    assert by_id["LOG-0040"]["requirements"] == ["R4"]
    assert by_id["LOG-0020"]["status"] == "skipped"
    assert by_id["LOG-0020"]["skip_reason"] == "outside the profile's scope for this check (roles: workstation)"
    assert document["checks"]["LOG-0020"]["severity"] == "critical"
    assert result.returncode == 0
    shown = run_cli("profile", "show", "--profile", str(profile))
    assert shown.returncode == 0
    row_r4 = next(line for line in shown.stdout.splitlines() if "│ R4 " in line)
    assert "LOG-0040" in row_r4


def test_params_and_diff(write):
    params = run_cli("profile", "params")
    assert params.returncode == 0 and "log_retention_days" in params.stdout and "R12" in params.stdout
    profile = write("p.yaml", WAIVER.format(scope="roles: [server]", expires="2099-12-31")
                    + "parameters: {min_tls_version: \"1.3\"}\n")
    changed = run_cli("profile", "diff", "default", str(profile))
    assert changed.returncode == 0, changed.stderr
    assert '~ parameters.min_tls_version: "1.2" -> "1.3"' in changed.stdout
    assert "+ waiver W1 (LOG-00* until 2099-12-31T23:59:59.999999+01:00" not in changed.stdout
    assert "+ waiver W1 (LOG-00* until 2100-01-01T00:00:00+01:00, approved by Region Example DPO)" in changed.stdout
    assert run_cli("profile", "diff", "default", "default").stdout == "no differences\n"


def test_diff_says_the_profile_changed_and_what_it_explains(tmp_path, write):
    # Given the recorded server (LOG-0020 fails at 60 days' retention) replayed under the default profile, and
    # under profiles that waive LOG-0020, shorten the retention to 30 days, and disable the check
    profiles = {
        "waived": "waivers:\n  - {id: W-LOG, check: LOG-0020, reason: Central store keeps 400 days., approver: DPO,"
                  " created: 2026-11-01, expires: 2999-12-31, risk: low}\n",
        "shorter": "parameters: {log_retention_days: 30}\n",
        "disabled": "checks: {LOG-0020: {enabled: false}}\n",
    }
    for name, text in {"default": None, **profiles}.items():
        profile = ["--profile", str(write(f"{name}.yaml", "extends: default\n" + text))] if text else []
        replayed = run_cli("replay", str(SERVER), "--out", str(tmp_path / name), *profile, *ONLY, "--quiet")
        assert replayed.returncode in (0, 1), replayed.stderr

    def diff(old: str, new: str) -> dict:
        result = run_cli("diff", str(tmp_path / old), str(tmp_path / new), "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    # When the default run is compared with each, in text and as JSON
    text = run_cli("diff", str(tmp_path / "default"), str(tmp_path / "shorter")).stdout.splitlines()
    causes = {name: [(i["check_id"], i["before"], i["status"], i["cause"]) for i in diff("default", name)["by_profile"]]
              for name in profiles}
    back = diff("shorter", "default")
    # Then the diff says the profile changed and how, and lists nothing as fixed or newly failing
    assert text[1].startswith("profile: CHANGED (") and "  ~ parameters.log_retention_days: 90 -> 30" in text
    assert "fixed: 0" in text and "new failures: 0" in text and "changed by the profile, not the host: 1" in text
    assert "  LOG-0020 db-1: fail -> pass (parameter log_retention_days changed: 90 -> 30)" in text
    assert causes == {
        "waived": [("LOG-0020", "fail", "waived", "waiver W-LOG added to the profile")],
        "shorter": [("LOG-0020", "fail", "pass", "parameter log_retention_days changed: 90 -> 30")],
        "disabled": [("LOG-0020", "fail", "skipped", causes["disabled"][0][3])],
    }
    assert causes["disabled"][0][3].startswith("the profile no longer runs it here: removed by the profile (")
    # and back under the default, the returning failure is the profile's doing, not a new one from the host
    assert back["profile_changed"] is True and back["new_failures"] == [] and back["by_profile"][0]["cause"] == \
        "parameter log_retention_days changed: 30 -> 90"
    # and a run compared with itself says the profile is the same
    assert diff("default", "default")["profile_changed"] is False
