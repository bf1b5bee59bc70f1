"""Evidence you can trust, through the command line: signed scans, verify and its one exit code per outcome,
replay's record of the run it re-evaluated, seal and open, the audit trail, history and drift, schedules.
Attacks (tampering, forged bundles, kill -9) are in tests/adversarial/."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from auditor.bundle.keys import load_private
from auditor.bundle.manifest import write_run_manifest
from tests.conftest import HOSTS, run_cli

pytestmark = pytest.mark.slow
SECRET = {"AUDITOR_KEY_PASSPHRASE": "correct horse battery staple"}
FAST = ("--format", "none", "--check", "LOG-0040", "--check", "LOG-0020")


@pytest.fixture(scope="module")
def keydir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("keys") / "k"
    result = run_cli("keys", "init", "--dir", str(folder), env=SECRET)
    assert result.returncode == 0 and "SHA256:" in result.stdout, result.stderr
    return folder


def test_a_new_key_passphrase_shorter_than_eight_characters_is_refused_and_nothing_is_made(tmp_path):
    # Given `keys init` told a 7-character passphrase; then one line says how long it must be, and no key exists
    short = run_cli("keys", "init", "--dir", str(tmp_path / "k"), env={"AUDITOR_KEY_PASSPHRASE": "1234567"})
    assert short.returncode == 2, short.stderr
    assert short.stderr.strip().splitlines() == [
        "auditor: AUDITOR_KEY_PASSPHRASE: a new passphrase needs at least 8 characters, this one has 7; nothing was "
        "done; choose a longer passphrase"]
    assert not (tmp_path / "k" / "signing.key").exists()
    # and a passphrase of 8 makes the keys
    assert run_cli("keys", "init", "--dir", str(tmp_path / "k"), env={"AUDITOR_KEY_PASSPHRASE": "12345678"}
                   ).returncode == 0


def _scan(out: Path, keydir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_cli("scan", "--quiet", "--out", str(out), "--sign-key", str(keydir / "signing.key"), *FAST, *extra,
                   env=SECRET)


def test_signed_scan_verifies_and_tampering_is_named(tmp_path, keydir):
    assert _scan(tmp_path / "run", keydir).returncode in (0, 1)
    pub = str(keydir / "signing.pub")
    ok = run_cli("verify", str(tmp_path / "run"), "--pubkey", pub)
    assert ok.returncode == 0 and "signature valid" in ok.stdout
    results = tmp_path / "run" / "results.json"
    results.write_text(results.read_text().replace('"fail"', '"pass"'))
    bad = run_cli("verify", str(tmp_path / "run"), "--pubkey", pub)
    assert bad.returncode == 1 and "CHANGED results.json" in bad.stdout


def test_seal_open_and_verify_a_bundle(tmp_path, keydir):
    assert _scan(tmp_path / "run", keydir, "--seal-to", str(keydir / "seal.pub")).returncode in (0, 1)
    bundle = tmp_path / "run.auditor-bundle"
    assert bundle.is_file()
    checked = run_cli("verify", str(bundle), "--key", str(keydir / "seal.key"), "--pubkey",
                      str(keydir / "signing.pub"), env=SECRET)
    assert checked.returncode == 0 and "OK:" in checked.stdout, checked.stdout + checked.stderr
    opened = run_cli("open", str(bundle), "--key", str(keydir / "seal.key"), "--out", str(tmp_path / "o"),
                     "--pubkey", str(keydir / "signing.pub"), env=SECRET)
    assert opened.returncode == 0 and (tmp_path / "o" / "results.json").is_file()
    wrong = run_cli("open", str(bundle), "--key", str(keydir / "seal.key"), "--out", str(tmp_path / "w"),
                    env={"AUDITOR_KEY_PASSPHRASE": "wrong"})
    assert wrong.returncode == 2 and "passphrase is wrong" in wrong.stderr and "Traceback" not in wrong.stderr


@pytest.fixture(scope="module")
def signed_run(tmp_path_factory, keydir) -> Path:
    """A finished, signed run: a recorded host replayed with the processor's signing key."""
    run = tmp_path_factory.mktemp("signed") / "run"
    done = run_cli("replay", str(HOSTS / "debian12-server"), "--out", str(run), "--format", "none", "--quiet",
                   "--no-history", "--sign-key", str(keydir / "signing.key"), env=SECRET)
    assert (run / "manifest.sig").is_file(), done.stderr
    return run


def _resign(run: Path, signer: Path | None) -> None:
    """Write the run's manifest again after an edit: signed with `signer`, or unsigned (signature stripped)."""
    (run / "manifest.json").unlink()
    (run / "manifest.sig").unlink(missing_ok=True)
    key = load_private(signer, SECRET["AUDITOR_KEY_PASSPHRASE"].encode()) if signer else None
    write_run_manifest(run, "run", key)


def _edit_results(run: Path, change: Callable[[dict], None]) -> None:
    document = json.loads((run / "results.json").read_text())
    change(document)
    (run / "results.json").write_text(json.dumps(document))


def _tampered(run: Path, keys: Path) -> None:
    _edit_results(run, lambda d: d["findings"][0].update(status="pass"))


def _incomplete(run: Path, keys: Path) -> None:
    (run / "manifest.json").unlink()


def _stripped(run: Path, keys: Path) -> None:
    _tampered(run, keys)
    _resign(run, None)


def _interrupted(run: Path, keys: Path) -> None:
    _edit_results(run, lambda d: d["run"].update(interrupted=True))
    _resign(run, keys / "signing.key")


OUTCOMES = [  # (name, prepare the copy, give the key?, exit code, words printed)
    ("verified", lambda run, keys: None, True, 0, "OK: "),
    ("tampered", _tampered, True, 1, "CHANGED results.json"),
    ("incomplete", _incomplete, True, 3, "INCOMPLETE: "),
    ("stripped signature", _stripped, True, 4, "UNSIGNED: "),
    ("no key at hand", lambda run, keys: None, False, 5, "NOT CHECKED: "),
    ("interrupted", _interrupted, True, 6, "INTERRUPTED: "),
]


@pytest.mark.parametrize(("name", "prepare", "with_key", "code", "words"), OUTCOMES, ids=[o[0] for o in OUTCOMES])
def test_verify_has_one_exit_code_per_outcome(tmp_path, keydir, signed_run, name, prepare, with_key, code, words):
    # Given a copy of a signed run, prepared as the case says
    run = tmp_path / "run"
    shutil.copytree(signed_run, run)
    prepare(run, keydir)
    # When it is verified with the processor's public key (or with none at hand)
    key = ("--pubkey", str(keydir / "signing.pub")) if with_key else ()
    result = run_cli("verify", str(run), *key)
    # Then the outcome has its own exit code and says so; only "verified" says OK
    assert (result.returncode, words in result.stdout) == (code, True), result.stdout + result.stderr
    assert any(line.startswith("OK: ") for line in result.stdout.splitlines()) == (code == 0)


@pytest.mark.parametrize(("prepare", "with_key"), [(_stripped, True), (lambda run, keys: None, False)],
                         ids=["unsigned", "not checked"])
def test_allow_unsigned_accepts_an_intact_run_nobody_can_check_on_purpose(tmp_path, keydir, signed_run, prepare,
                                                                          with_key):
    run = tmp_path / "run"
    shutil.copytree(signed_run, run)
    prepare(run, keydir)
    key = ("--pubkey", str(keydir / "signing.pub")) if with_key else ()
    result = run_cli("verify", str(run), *key, "--allow-unsigned")
    assert result.returncode == 0 and "accepted with --allow-unsigned" in result.stdout, result.stdout


def test_the_key_folder_signing_pub_counts_as_configured(tmp_path, keydir, signed_run):
    # Given the processor's keys in the default key folder, and a run whose signature was stripped
    config = tmp_path / "config"
    shutil.copytree(keydir, config / "auditor" / "keys")
    run = tmp_path / "run"
    shutil.copytree(signed_run, run)
    _stripped(run, keydir)
    # When both runs are verified without --pubkey, then the intact one verifies and the stripped one does not
    env = {"XDG_CONFIG_HOME": str(config)}
    assert run_cli("verify", str(signed_run), env=env).returncode == 0
    assert run_cli("verify", str(run), env=env).returncode == 4


def test_a_replay_names_the_run_it_re_evaluated_and_whether_its_signature_held(tmp_path, keydir, signed_run):
    # Given a signed run and an unsigned recorded host
    pub = ("--pubkey", str(keydir / "signing.pub"))
    # When each is replayed (the signed one checked against the processor's key)
    signed = run_cli("replay", str(signed_run), "--out", str(tmp_path / "a"), "--format", "html", "--no-history",
                     "--no-sign", *pub)
    unsigned = run_cli("replay", str(HOSTS / "debian12-server"), "--out", str(tmp_path / "b"), "--format", "html",
                       "--no-history", "--no-sign")
    # Then the new run's results.json names the source by its manifest hash and the state of its signature
    source_manifest = hashlib.sha256((signed_run / "manifest.json").read_bytes()).hexdigest()
    first, second = (json.loads((tmp_path / f / "results.json").read_text())["run"] for f in ("a", "b"))
    assert (first["replayed_signature"], first["replayed_manifest_sha256"]) == ("valid", source_manifest)
    assert second["replayed_signature"] == "absent"
    assert "its signature was verified" in signed.stderr and "NOT SIGNED" in unsigned.stderr
    # And the report's cover says it
    assert "verified before its evidence was used" in _cover(tmp_path / "a" / "report.html")
    assert "NOT verified: the source run is not signed" in _cover(tmp_path / "b" / "report.html")
    # And verify of the new run repeats it
    assert "NOT SIGNED, so its evidence was used unverified" in run_cli("verify", str(tmp_path / "b")).stdout


def test_an_interrupted_run_says_so_on_the_report_cover(tmp_path, keydir, signed_run):
    run = tmp_path / "run"
    shutil.copytree(signed_run, run)
    _interrupted(run, keydir)
    assert run_cli("report", str(run), "--format", "html", "--out", str(tmp_path / "r")).returncode == 0
    assert "interrupted" in _cover(tmp_path / "r" / "report.html").lower()


def _cover(report: Path) -> str:
    html = report.read_text()
    start = html.index('<section class="cover"')
    return html[start:html.index("</section>", start)]


def test_audit_trail_records_every_command_without_secrets(tmp_path, keydir):
    log = tmp_path / "audit.log"
    _scan(tmp_path / "run", keydir, "--no-history")
    run_cli("--audit-log", str(log), "verify", str(tmp_path / "run"))
    run_cli("--audit-log", str(log), "scan", "--quiet", "--out", str(tmp_path / "r2"), "--no-sign", *FAST)
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert [e["command"] for e in entries] == ["verify", "scan"]
    assert entries[1]["run_id"] and entries[1]["targets"] and "correct horse" not in log.read_text()
    assert run_cli("log", "verify", "--audit-log", str(log)).returncode == 0
    lines = log.read_text().splitlines(keepends=True)
    log.write_text(lines[1] + lines[0])
    broken = run_cli("log", "verify", "--audit-log", str(log))
    assert broken.returncode == 1 and "BROKEN at line 1" in broken.stdout


def test_history_diff_and_the_changes_section(tmp_path):
    db = str(tmp_path / "h.sqlite")
    for name in ("a", "b"):
        assert run_cli("scan", "--quiet", "--out", str(tmp_path / name), "--no-sign", "--history", db,
                       "--format", "html", "--check", "LOG-0040").returncode in (0, 1)
    listed = run_cli("history", "--history", db)
    assert listed.stdout.count("1 target(s)") == 2 and "not here" not in listed.stdout
    # a run folder pruned (or moved) since is said to be not here, not listed as if it were
    shutil.move(tmp_path / "a", tmp_path / "moved")
    relisted = run_cli("history", "--history", db).stdout.splitlines()
    gone = [line for line in relisted if line.endswith("(not here: pruned, moved, or on another machine)")]
    assert len(relisted) == 2 and len(gone) == 1 and f"{tmp_path / 'a'} (not here" in gone[0], relisted
    shutil.move(tmp_path / "moved", tmp_path / "a")
    change = json.loads(run_cli("diff", "--since-last", "--history", db, "--json").stdout)
    assert change["new_failures"] == [] and change["fixed"] == []
    assert json.loads((tmp_path / "b" / "changes.json").read_text())["old"] == change["old"]
    assert "Since the previous run" in (tmp_path / "b" / "report.html").read_text()
    folders = run_cli("diff", str(tmp_path / "a"), str(tmp_path / "b"))
    assert folders.returncode == 0 and "still failing" in folders.stdout


def test_schedule_writes_units_that_systemd_accepts(tmp_path, keydir, write):
    inventory = write("inv.yaml", "targets:\n  - {name: here, kind: local}\n")
    units = tmp_path / "units"
    result = run_cli("schedule", "--inventory", str(inventory), "--every", "daily", "--keep", "7",
                     "--seal-to", str(keydir / "seal.pub"), "--unit-dir", str(units))
    assert result.returncode == 0, result.stderr
    service = (units / "auditor-scan.service").read_text()
    assert "--keep\" \"7\"" in service and str(inventory) in service and "AUDITOR_KEY_PASSPHRASE" not in service
    assert "OnCalendar=daily" in (units / "auditor-scan.timer").read_text()
    checked = subprocess.run(["systemd-analyze", "verify", "--man=no", str(units / "auditor-scan.service"),
                              str(units / "auditor-scan.timer")], capture_output=True, text=True, check=False)
    problems = [line for line in checked.stderr.splitlines() if "auditor-scan" in line]
    assert problems == [], checked.stderr
    cron = run_cli("schedule", "--inventory", str(inventory), "--every", "weekly", "--cron")
    assert cron.stdout.startswith("@weekly cd ") and "-m auditor scan" in cron.stdout


def test_the_report_says_whether_its_run_folder_is_signed(tmp_path, keydir):
    # Given a recorded host replayed twice with its HTML and PDF reports: with the signing key and without one
    signed, unsigned = tmp_path / "signed", tmp_path / "unsigned"
    for out, key in ((signed, ("--sign-key", str(keydir / "signing.key"))), (unsigned, ("--no-sign",))):
        done = run_cli("replay", str(HOSTS / "debian12-server"), "--out", str(out), "--format", "html,pdf",
                       "--quiet", "--no-history", *key, env=SECRET)
        assert (out / "report.pdf").is_file(), done.stderr
    assert (signed / "manifest.sig").is_file() and not (unsigned / "manifest.sig").exists()
    # Then each report (written before the manifest is signed) tells the truth about it, as does a later render
    later = run_cli("report", str(signed), "--format", "pdf", "--out", str(tmp_path / "later"))
    assert later.returncode == 0, later.stderr
    for pdf, claim in ((signed / "report.pdf", "The run folder is signed"),
                       (tmp_path / "later" / "report.pdf", "The run folder is signed"),
                       (unsigned / "report.pdf", "The run folder is not signed")):
        text = " ".join(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                                       check=True).stdout.split())
        assert claim + " " in text or claim + ":" in text, pdf
        assert text.count("folder is signed") + text.count("folder is not signed") == 1, pdf
    html = (unsigned / "report.html").read_text()
    assert "not signed" in html and "The run folder is signed" not in html
    assert "signed (Ed25519, manifest.sig)" in (signed / "report.html").read_text()


def test_a_bundle_passphrase_is_never_the_private_keys_passphrase(tmp_path, signed_run):
    # Given the private keys' passphrase in the environment, as a scheduled signing scan has it
    # When a run is sealed to a passphrase without a terminal and without a bundle passphrase of its own
    refused = run_cli("seal", str(signed_run), "--passphrase", "--out", str(tmp_path / "a.bundle"), env=SECRET)
    # Then it is refused, naming the bundle's own variable, and nothing is sealed with the keys' passphrase
    assert refused.returncode == 2 and "AUDITOR_BUNDLE_PASSPHRASE" in refused.stderr, refused.stderr
    assert not (tmp_path / "a.bundle").exists()
    # And with a bundle passphrase of its own, the bundle opens with that one only
    own = {**SECRET, "AUDITOR_BUNDLE_PASSPHRASE": "told to the controller"}
    sealed = run_cli("seal", str(signed_run), "--passphrase", "--out", str(tmp_path / "b.bundle"), env=own)
    assert sealed.returncode == 0, sealed.stderr
    wrong = run_cli("open", str(tmp_path / "b.bundle"), "--passphrase", "--out", str(tmp_path / "w"),
                    env={"AUDITOR_BUNDLE_PASSPHRASE": SECRET["AUDITOR_KEY_PASSPHRASE"]})
    assert wrong.returncode != 0 and not (tmp_path / "w").exists()
    opened = run_cli("open", str(tmp_path / "b.bundle"), "--passphrase", "--out", str(tmp_path / "o"),
                     "--allow-unsigned", env=own)
    assert (tmp_path / "o" / "results.json").is_file(), opened.stderr


def test_opening_with_the_public_key_by_mistake_says_so(tmp_path, signed_run, keydir):
    # Given a bundle sealed to the processor's seal.pub
    bundle = tmp_path / "run.auditor-bundle"
    sealed = run_cli("seal", str(signed_run), "--to", str(keydir / "seal.pub"), "--out", str(bundle))
    assert sealed.returncode == 0, sealed.stderr
    # When it is opened with seal.pub instead of seal.key, with or without the keys' passphrase at hand
    for env in (None, SECRET):
        result = run_cli("open", str(bundle), "--key", str(keydir / "seal.pub"), "--out", str(tmp_path / "o"), env=env)
        # Then the one line says it is the public key, and names the private one
        assert result.returncode == 2 and "this is a public key, not a private one" in result.stderr, result.stderr
        assert "give the private key beside it (seal.key)" in result.stderr


def test_the_cron_line_hands_the_environment_files_variables_to_the_scan(tmp_path):
    # Given an environment file written as the docs say (plain NAME=value lines, mode 0600)
    from auditor.schedule import Schedule, cron_line

    env_file = tmp_path / "env"
    env_file.write_text("AUDITOR_KEY_PASSPHRASE=from-the-env-file\n")
    env_file.chmod(0o600)
    # When the cron line runs (its command here: `env`, to see what the scan would get)
    line = cron_line(Schedule("daily", (), tmp_path, env_file, python="env"))
    shell = line.split(" ", 1)[1].replace(" -m auditor scan", "")
    seen = subprocess.run(["sh", "-c", shell], capture_output=True, text=True, check=True,
                          env={"PATH": "/usr/bin:/bin"}).stdout
    # Then the passphrase reaches the command: the run is signed
    assert "AUDITOR_KEY_PASSPHRASE=from-the-env-file" in seen.splitlines(), seen
