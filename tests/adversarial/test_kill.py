"""kill -9 during scan, replay, seal and open, at each step of finishing and at moments taken from a running
process: whatever the moment, nothing left behind verifies (a run without its manifest is incomplete, a bundle
is only ever complete under its own name, an opened run gets its manifest last)."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest

from auditor.bundle.keys import KeyPaths, load_private, read_public
from auditor.bundle.manifest import Outcome, verify_run, write_run_manifest
from auditor.bundle.sealing import BundleError, open_bundle, seal
from tests.adversarial.forge import PASSPHRASE, SECRET, auditor, killed_at, killed_when, processor_keys, public, signer
from tests.conftest import HOSTS

pytestmark = pytest.mark.slow
KILLED = -signal.SIGKILL
FAST = ("--format", "none", "--no-history", "--quiet", "--check", "LOG-0040", "--check", "LOG-0020")


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> KeyPaths:
    return processor_keys(tmp_path_factory.mktemp("config"))


@pytest.fixture(scope="module")
def big_run(tmp_path_factory, keys) -> Path:
    """A finished, signed run of about 128 MB (a recorded host plus a large evidence file), so seal and open
    take long enough to be killed halfway."""
    run = tmp_path_factory.mktemp("big") / "run"
    shutil.copytree(HOSTS / "debian12-server", run)
    block = os.urandom(1 << 20)
    (run / "evidence" / "db-1" / "file-large.json").write_bytes(block * 128)
    (run / "manifest.json").unlink()
    write_run_manifest(run, "big", signer(keys))  # type: ignore[arg-type]
    return run


@pytest.fixture(scope="module")
def bundle(tmp_path_factory, big_run, keys) -> Path:
    return seal(big_run, tmp_path_factory.mktemp("sealed") / "run.auditor-bundle",
                [read_public(keys.seal_pub, "x25519")], None)


def _nothing_verifies(keys: KeyPaths, *folders: Path) -> None:
    """Not even --allow-unsigned accepts what a killed process left."""
    for folder in folders:
        if folder.exists():
            found = verify_run(folder, public(keys))
            assert not found.accepted(allow_unsigned=True), (folder, found.outcome, found.problem)


def _scan(run: Path, keys: KeyPaths) -> list[str]:
    return ["scan", "--out", str(run), "--sign-key", str(keys.signing_key), *FAST]


@pytest.mark.attack("kill -9")
@pytest.mark.parametrize("step", ["evidence/manifest.json", "results.json", "manifest.sig", "manifest.json"])
def test_a_scan_killed_before_each_step_of_finishing_never_verifies(tmp_path, keys, step):
    # Given a signed scan, when it is killed -9 just before this file is renamed into place
    run = tmp_path / "run"
    assert killed_at(run / step, _scan(run, keys), SECRET) == KILLED
    # Then the run folder is incomplete: it has no manifest.json, whatever else it holds
    assert verify_run(run, public(keys)).outcome is Outcome.INCOMPLETE
    _nothing_verifies(keys, run)


@pytest.mark.attack("kill -9")
def test_a_scan_killed_while_collecting_never_verifies_and_verify_says_incomplete(tmp_path, keys):
    # Given a signed scan, when it is killed -9 as soon as its first evidence is on disk
    run = tmp_path / "run"
    assert killed_when(lambda: (run / "evidence").exists(), _scan(run, keys), SECRET) == KILLED
    # Then `auditor verify` calls it incomplete (exit 3) and never OK
    verified = auditor("verify", str(run), "--pubkey", str(keys.signing_pub))
    assert verified.returncode == 3 and "INCOMPLETE" in verified.stdout and "OK" not in verified.stdout
    _nothing_verifies(keys, run)


@pytest.mark.attack("kill -9")
def test_a_replay_killed_before_its_manifest_never_verifies(tmp_path, keys):
    run = tmp_path / "run"
    argv = ["replay", str(HOSTS / "debian12-server"), "--out", str(run), "--sign-key", str(keys.signing_key), *FAST]
    assert killed_at(run / "manifest.json", argv, SECRET) == KILLED
    assert (run / "manifest.sig").is_file()  # signed already, and still: no manifest, no verified run
    _nothing_verifies(keys, run)


@pytest.mark.attack("kill -9")
@pytest.mark.parametrize("moment", ["as the bundle is created", "halfway through the bundle"])
def test_a_seal_killed_leaves_no_bundle_and_nothing_that_opens(tmp_path, keys, big_run, moment):
    # Given a signed run of 128 MB, sealed to the processor
    out = tmp_path / "run.auditor-bundle"
    partial = tmp_path / ".run.auditor-bundle.tmp"
    size = 0 if moment == "as the bundle is created" else 32 << 20

    def reached() -> bool:
        return partial.exists() and partial.stat().st_size >= size

    # When `auditor seal` is killed -9 at that moment
    argv = ["seal", str(big_run), "--to", str(keys.seal_pub), "--out", str(out)]
    assert killed_when(reached, argv, {}) == KILLED
    # Then there is no bundle under its name, and the partial file does not open
    assert not out.exists()
    with pytest.raises(BundleError):
        open_bundle(partial, tmp_path / "opened", load_private(keys.seal_key, PASSPHRASE.encode()), None)
    assert not (tmp_path / "opened").exists()


def _open(bundle: Path, out: Path, keys: KeyPaths) -> list[str]:
    return ["open", str(bundle), "--key", str(keys.seal_key), "--out", str(out), "--pubkey", str(keys.signing_pub)]


@pytest.mark.attack("kill -9")
@pytest.mark.parametrize("step", ["before the run is moved into place", "before its manifest is put back"])
def test_an_open_killed_before_each_last_step_leaves_nothing_that_verifies(tmp_path, keys, bundle, step):
    # Given a sealed signed run, when `auditor open` is killed -9 just before this step
    out = tmp_path / "opened"
    staging = tmp_path / ".opened.opening"
    point = out if step == "before the run is moved into place" else out / "manifest.json"
    assert killed_at(point, _open(bundle, out, keys), SECRET) == KILLED
    # Then whatever was restored has no manifest.json: incomplete, never verified
    assert any(p.exists() for p in (out, staging))
    _nothing_verifies(keys, out, staging)


@pytest.mark.attack("kill -9")
def test_an_open_killed_while_extracting_leaves_nothing_that_verifies(tmp_path, keys, bundle):
    out = tmp_path / "opened"
    staging = tmp_path / ".opened.opening"
    assert killed_when(lambda: staging.exists(), _open(bundle, out, keys), SECRET) == KILLED
    assert not out.exists()
    _nothing_verifies(keys, out, staging)
