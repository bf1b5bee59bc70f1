"""Run folders attacked as a forger would: evidence added, edited, removed, renamed, swapped or listed twice;
signatures stripped, replaced or made with another key; a run interrupted. `verify` never says OK for any of
them (each outcome has its own exit code), and `replay` refuses every source that does not verify, naming the
files, before anything is read or written: tampered evidence is never laundered into a new signed run."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor.bundle.keys import KeyPaths
from auditor.bundle.manifest import Outcome, verify_run, write_run_manifest
from auditor.cli import main
from tests.adversarial.forge import SECRET, auditor, copy, index_record, processor_keys, public, rehash, signer
from tests.conftest import HOSTS, ROOT, child_env

pytestmark = pytest.mark.slow
QUIET = ("--format", "none", "--quiet", "--no-history")
TARGET = "vm"  # debian12-container: a real machine's recording, with 88 security updates pending (PATCH-0010)
# The fact PATCH-0010 rests on: the security lists read on the host (auditor/collectors/_apt_security_script.py).
PENDING = "cmd-python3_I_c_import_glob_"  # as the recording names it (the script's first version)


@pytest.fixture(scope="module")
def processor(tmp_path_factory) -> tuple[KeyPaths, dict[str, str]]:
    """The processor's keys in the configured key folder, and the environment of a command that finds them."""
    config = tmp_path_factory.mktemp("config")
    return processor_keys(config), {"XDG_CONFIG_HOME": str(config), **SECRET}


@pytest.fixture(scope="module")
def signed_run(tmp_path_factory, processor) -> Path:
    """A run signed by the processor: the recorded host replayed on purpose from its unsigned recording."""
    keys, env = processor
    run = tmp_path_factory.mktemp("signed") / "run"
    done = auditor("replay", str(HOSTS / "debian12-container"), "--out", str(run), "--allow-unsigned", *QUIET,
                   env=env)
    assert verify_run(run, public(keys)).outcome is Outcome.VERIFIED, done.stderr
    assert _status(run, "PATCH-0010") == "fail"
    return run


@pytest.fixture
def cli(capsys, monkeypatch, processor, tmp_path) -> Iterator[object]:
    """The command line in this process (the same parsing, dispatch and exit codes), with the processor's key
    configured unless `key=False`; returns (exit code, stdout, stderr)."""
    _, env = processor

    def run(*args: str, key: bool = True) -> tuple[int, str, str]:
        monkeypatch.setenv("AUDITOR_KEY_PASSPHRASE", SECRET["AUDITOR_KEY_PASSPHRASE"])
        config = Path(env["XDG_CONFIG_HOME"])
        monkeypatch.setenv("XDG_CONFIG_HOME", str(config if key else config / "none"))
        # Each key folder keeps its own activity log, as two machines would.
        code = main(["--audit-log", str(tmp_path / f"audit-{key}.log"), *args])
        out, err = capsys.readouterr()
        return code, out, err

    yield run


def _says_ok(printed: str) -> bool:
    return any(line.startswith("OK") for line in printed.splitlines())


def _cover(report: Path) -> str:
    html = report.read_text()
    return html[html.index('<section class="cover"'):html.index("</section>", html.index('<section class="cover"'))]


def _status(run: Path, check_id: str) -> str:
    findings = json.loads((run / "results.json").read_text())["findings"]
    (finding,) = [f for f in findings if f["check_id"] == check_id and f["target"] == TARGET]
    return str(finding["status"])


def _forge_empty_apt(run: Path, name: str = "zzz-forged.json") -> Path:
    """Issue 20's forgery: the record of the pending security updates with nothing pending, as
    evidence/<target>/NAME."""
    folder = run / "evidence" / TARGET
    original = next(folder.glob(f"{PENDING}*.json"))
    record = json.loads(original.read_text())
    answer = json.loads(record["stdout"])
    record["stdout"] = json.dumps({**answer, "installed": {}, "offered": {}})
    forged = folder / name
    forged.write_text(json.dumps(record, indent=2))
    return forged


def _refused_replay(cli, run: Path, tmp_path: Path, *named: str, key: bool = True, extra: tuple[str, ...] = ()) -> str:
    """Replay must refuse in one line (exit 2) naming each file, and write no new run."""
    out = tmp_path / "laundered"
    code, _, err = cli("replay", str(run), "--out", str(out), *QUIET, *extra, key=key)
    assert code == 2 and err.count("\n") == 1 and "refused" in err, err
    assert all(name in err for name in named), err
    assert not out.exists()
    return err


def _not_ok(cli, run: Path, code: int, *lines: str, key: bool = True) -> None:
    """verify must exit with this code, print these lines, and never say OK."""
    got, out, _ = cli("verify", str(run), key=key)
    assert got == code and not _says_ok(out), out
    assert all(line in out for line in lines), out


def test_the_forgery_would_flip_patch_0010_if_it_were_accepted(cli, signed_run, tmp_path):
    # Given the forged record in place of the real one, everything rehashed (a control, not an attack: it shows
    # that the attacks below carry a forgery that matters)
    run = copy(signed_run, tmp_path / "run")
    original = next((run / "evidence" / TARGET).glob(f"{PENDING}*.json"))
    _forge_empty_apt(run, original.name)
    rehash(run)
    # When it is replayed on purpose as an unsigned run, then PATCH-0010 passes
    code, _, err = cli("replay", str(run), "--out", str(tmp_path / "new"), "--allow-unsigned", *QUIET)
    assert code in (0, 1, 3), err
    assert _status(tmp_path / "new", "PATCH-0010") == "pass"


@pytest.mark.attack("run tampering")
def test_reproduction_a_forged_file_added_to_a_signed_run_is_not_laundered(signed_run, processor, tmp_path):
    # Given a copy of a signed run with evidence/vm/zzz-forged.json holding no pending security update
    _, env = processor
    run = copy(signed_run, tmp_path / "run")
    _forge_empty_apt(run)
    # When it is replayed with the signing key present, as issue 20 did
    replayed = auditor("replay", str(run), "--out", str(tmp_path / "new"), *QUIET, env=env)
    # Then replay refuses it, naming the file, and no new run exists to verify
    assert replayed.returncode == 2 and "added evidence/vm/zzz-forged.json" in replayed.stderr, replayed.stderr
    assert not (tmp_path / "new").exists()
    # And verify of the forged copy names it and is not OK
    verified = auditor("verify", str(run), env=env)
    assert verified.returncode == 1 and "ADDED evidence/vm/zzz-forged.json" in verified.stdout
    assert not _says_ok(verified.stdout)


@pytest.mark.attack("run tampering")
def test_a_forged_file_listed_in_the_evidence_index_too_is_refused(cli, signed_run, tmp_path):
    run = copy(signed_run, tmp_path / "run")
    forged = _forge_empty_apt(run)
    index_record(run, forged, json.loads(forged.read_text()))
    _refused_replay(cli, run, tmp_path, "evidence/manifest.json", "evidence/vm/zzz-forged.json")
    _not_ok(cli, run, 1, "CHANGED evidence/manifest.json", "ADDED evidence/vm/zzz-forged.json")


@pytest.mark.attack("run tampering")
def test_an_evidence_file_edited_in_place_is_refused(cli, signed_run, tmp_path):
    run = copy(signed_run, tmp_path / "run")
    original = next((run / "evidence" / TARGET).glob(f"{PENDING}*.json"))
    _forge_empty_apt(run, original.name)
    path = original.relative_to(run).as_posix()
    _refused_replay(cli, run, tmp_path, path)
    _not_ok(cli, run, 1, f"CHANGED {path}")


@pytest.mark.attack("run tampering")
def test_results_edited_from_fail_to_pass_are_named(cli, signed_run, tmp_path):
    run = copy(signed_run, tmp_path / "run")
    results = run / "results.json"
    results.write_text(results.read_text().replace('"status": "fail"', '"status": "pass"'))
    _not_ok(cli, run, 1, "CHANGED results.json")


@pytest.mark.attack("run tampering")
def test_a_removed_evidence_file_is_named(cli, signed_run, tmp_path):
    run = copy(signed_run, tmp_path / "run")
    victim = next((run / "evidence" / TARGET).glob(f"{PENDING}*.json"))
    victim.unlink()
    path = victim.relative_to(run).as_posix()
    _refused_replay(cli, run, tmp_path, path)
    _not_ok(cli, run, 1, f"MISSING {path}")


@pytest.mark.attack("run tampering")
def test_a_renamed_evidence_file_is_named_twice(cli, signed_run, tmp_path):
    run = copy(signed_run, tmp_path / "run")
    victim = next((run / "evidence" / TARGET).glob(f"{PENDING}*.json"))
    victim.rename(victim.with_name("cmd-renamed.json"))
    _not_ok(cli, run, 1, f"MISSING {victim.relative_to(run).as_posix()}", "ADDED evidence/vm/cmd-renamed.json")


@pytest.mark.attack("run tampering")
def test_two_evidence_files_swapped_are_both_named(cli, signed_run, tmp_path):
    run = copy(signed_run, tmp_path / "run")
    first, second = sorted((run / "evidence" / TARGET).glob("cmd-*.json"))[:2]
    a, b = first.read_bytes(), second.read_bytes()
    first.write_bytes(b)
    second.write_bytes(a)
    _refused_replay(cli, run, tmp_path, first.name)
    _not_ok(cli, run, 1, *(f"CHANGED {p.relative_to(run).as_posix()}" for p in (first, second)))


@pytest.mark.attack("run tampering")
def test_a_hidden_file_added_is_named(cli, signed_run, tmp_path):
    run = copy(signed_run, tmp_path / "run")
    (run / "evidence" / TARGET / ".hidden.json").write_text("{}")
    _not_ok(cli, run, 1, "ADDED evidence/vm/.hidden.json")


@pytest.mark.attack("run tampering")
def test_a_stripped_signature_never_verifies_with_the_key_and_is_not_replayed(cli, signed_run, tmp_path):
    # Given the forged record in place of the real one, the manifests rehashed, manifest.sig deleted and the
    # signing_key field gone (issue 20, point 2)
    run = copy(signed_run, tmp_path / "run")
    original = next((run / "evidence" / TARGET).glob(f"{PENDING}*.json"))
    _forge_empty_apt(run, original.name)
    rehash(run)
    # Then verify with the key at hand says unsigned (exit 4), not OK; and replay with the key present refuses it
    _not_ok(cli, run, 4, "not signed", "UNSIGNED")
    _refused_replay(cli, run, tmp_path, "not signed")


@pytest.mark.attack("run tampering")
def test_a_stripped_run_replayed_on_purpose_is_marked_unverified_in_the_new_run(cli, signed_run, tmp_path):
    # Given the stripped forgery, replayed with --allow-unsigned (on purpose) and signed by the processor
    run = copy(signed_run, tmp_path / "run")
    original = next((run / "evidence" / TARGET).glob(f"{PENDING}*.json"))
    _forge_empty_apt(run, original.name)
    rehash(run)
    code, _, err = cli("replay", str(run), "--out", str(tmp_path / "new"), "--allow-unsigned", *QUIET)
    assert code in (0, 1, 3), err
    # Then the new run says it re-evaluated an unsigned run, in results.json and in verify
    assert json.loads((tmp_path / "new" / "results.json").read_text())["run"]["replayed_signature"] == "absent"
    # (the new run itself is intact and signed by the processor: it verifies, and says where it came from)
    got, out, _ = cli("verify", str(tmp_path / "new"))
    assert got == 0 and "it is NOT SIGNED, so its evidence was used unverified" in out, out


@pytest.mark.attack("run tampering")
def test_two_records_of_one_command_are_refused_not_one_replacing_the_other(cli, signed_run, tmp_path):
    # Given the forged record added beside the real one and listed in the index, everything rehashed
    run = copy(signed_run, tmp_path / "run")
    forged = _forge_empty_apt(run)
    index_record(run, forged, json.loads(forged.read_text()))
    rehash(run)
    # When it is replayed even on purpose, then the duplicate is refused, naming both files
    err = _refused_replay(cli, run, tmp_path, "two records of one command", "zzz-forged.json",
                          extra=("--allow-unsigned",))
    assert PENDING in err


@pytest.mark.attack("run tampering")
def test_an_index_entry_pointing_outside_the_target_folder_is_refused(cli, signed_run, tmp_path):
    run = copy(signed_run, tmp_path / "run")
    index = run / "evidence" / "manifest.json"
    document = json.loads(index.read_text())
    entry = next(f for f in document["facts"] if f["path"].split("/")[-1].startswith(PENDING))
    entry["path"] = f"evidence/{TARGET}/../../results.json"
    index.write_text(json.dumps(document))
    rehash(run)
    _refused_replay(cli, run, tmp_path, "is not a file of evidence/vm/", extra=("--allow-unsigned",))


@pytest.mark.attack("run tampering")
def test_a_deleted_signature_of_a_manifest_that_names_its_key_is_tampering(cli, signed_run, tmp_path):
    run = copy(signed_run, tmp_path / "run")
    (run / "manifest.sig").unlink()
    _not_ok(cli, run, 1, "SIGNATURE MISSING")
    _not_ok(cli, run, 1, "SIGNATURE MISSING", key=False)
    _refused_replay(cli, run, tmp_path, "SIGNATURE MISSING")


@pytest.mark.attack("run tampering")
def test_a_random_signature_with_no_key_at_hand_is_not_checked_never_ok(cli, signed_run, tmp_path):
    run = copy(signed_run, tmp_path / "run")
    (run / "manifest.sig").write_bytes(base64.b64encode(os.urandom(64)) + b"\n")
    _not_ok(cli, run, 5, "NOT CHECKED", key=False)
    _not_ok(cli, run, 1, "SIGNATURE INVALID")


@pytest.mark.attack("run tampering")
def test_another_runs_signature_with_no_key_at_hand_is_not_checked_never_ok(cli, signed_run, processor, tmp_path):
    keys, _ = processor
    run = copy(signed_run, tmp_path / "run")
    other = copy(signed_run, tmp_path / "other")
    (other / "manifest.json").unlink()
    write_run_manifest(other, "another run", signer(keys))  # type: ignore[arg-type]
    (run / "manifest.sig").write_bytes((other / "manifest.sig").read_bytes())
    _not_ok(cli, run, 5, "NOT CHECKED", key=False)
    _not_ok(cli, run, 1, "SIGNATURE INVALID")


@pytest.mark.attack("run tampering")
def test_a_forgery_signed_with_another_key_is_refused(cli, signed_run, tmp_path):
    # Given the forgery, rehashed and signed with the forger's own key (the manifest names the forger's key)
    run = copy(signed_run, tmp_path / "run")
    original = next((run / "evidence" / TARGET).glob(f"{PENDING}*.json"))
    _forge_empty_apt(run, original.name)
    rehash(run, signed_by=processor_keys(tmp_path / "forger"))
    # Then with the processor's key it is invalid (tampered), and with no key it is at most "not checked"
    _not_ok(cli, run, 1, "SIGNATURE INVALID")
    _not_ok(cli, run, 5, "NOT CHECKED", key=False)
    _refused_replay(cli, run, tmp_path, "SIGNATURE INVALID")


@pytest.mark.attack("run tampering")
def test_another_runs_manifest_and_signature_copied_over_are_refused(cli, signed_run, processor, tmp_path):
    keys, _ = processor
    run = copy(signed_run, tmp_path / "run")
    other = copy(signed_run, tmp_path / "other")
    (other / "report.txt").write_text("another run")
    (other / "manifest.json").unlink()
    write_run_manifest(other, "another run", signer(keys))  # type: ignore[arg-type]
    for name in ("manifest.json", "manifest.sig"):
        (run / name).write_bytes((other / name).read_bytes())
    _not_ok(cli, run, 1, "MISSING report.txt")
    _refused_replay(cli, run, tmp_path, "missing report.txt")


class _SilentListener:
    """A TCP port that accepts and never answers: an SSH target that keeps the scan waiting for its banner."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self._held: list[socket.socket] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    def _accept(self) -> None:
        while True:
            try:
                self._held.append(self.sock.accept()[0])
            except OSError:
                return

    def held(self) -> int:
        """Connections accepted so far."""
        return len(self._held)

    def close(self) -> None:
        for held in self._held:
            held.close()
        # close() alone does not wake a thread blocked in accept(); shutdown() does, and the thread ends
        self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self._accepting.join(timeout=10)
        assert not self._accepting.is_alive()


@pytest.mark.attack("run tampering")
def test_reproduction_a_run_interrupted_by_sigint_says_so_in_verify_and_on_the_cover(processor, tmp_path):
    # Given a signed scan of this machine and of an SSH target that never answers
    keys, env = processor
    inventory = tmp_path / "inventory.yaml"
    listener = _SilentListener()
    inventory.write_text("targets:\n  - {name: here, kind: local}\n"
                         f"  - {{name: silent, kind: ssh, host: 127.0.0.1, port: {listener.port}, auth: none}}\n")
    run = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "auditor", "scan", "--inventory", str(inventory), "--out",
                             str(run), "--format", "html", "--quiet", "--no-history"], cwd=ROOT, env=child_env(env),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # When it is interrupted (SIGINT) 0.7 s after its first evidence is on disk
        deadline = time.monotonic() + 30
        while not (run / "evidence").exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(0.7)
        proc.send_signal(signal.SIGINT)
        time.sleep(0.2)
    finally:
        listener.close()  # the silent target hangs up, so the scan's wait for its banner ends at once
    assert proc.wait(timeout=60) == 130
    # Then results.json says so, verify says INTERRUPTED (exit 6) although the signature is valid, and the cover too
    assert json.loads((run / "results.json").read_text())["run"]["interrupted"] is True
    verified = auditor("verify", str(run), env=env)
    assert verified.returncode == 6 and "INTERRUPTED" in verified.stdout and "signature valid" in verified.stdout
    assert not _says_ok(verified.stdout)
    assert "interrupted" in _cover(run / "report.html").lower()
    assert verify_run(run, public(keys)).outcome is Outcome.INTERRUPTED


@pytest.mark.attack("run tampering")
def test_ctrl_c_ends_a_scan_whose_target_never_sends_its_banner(processor, tmp_path):
    # Given a scan of an SSH target that accepts connections and never answers, with a 120 s banner timeout
    _keys, env = processor
    listener = _SilentListener()
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(f"targets:\n  - {{name: silent, kind: ssh, host: 127.0.0.1, port: {listener.port}, "
                         "user: nobody, banner_timeout: 120, auth_timeout: 120}\n")
    run = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "auditor", "scan", "--inventory", str(inventory), "--out",
                             str(run), "--format", "none", "--quiet", "--no-history", "--no-sign"], cwd=ROOT,
                            env=child_env(env), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # When it is interrupted while it waits for that banner (the connection stays open: nothing hangs up)
        deadline = time.monotonic() + 30
        while not listener.held() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert listener.held(), "the scan never connected"
        proc.send_signal(signal.SIGINT)
        # Then it stops as interrupted and finishes its run folder, long before the banner timeout
        assert proc.wait(timeout=60) == 130
    finally:
        proc.kill()
        listener.close()
    assert json.loads((run / "results.json").read_text())["run"]["interrupted"] is True
