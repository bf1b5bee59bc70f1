"""Run manifests and signatures: six outcomes, strictest first; every kind of tampering is named; only a valid
signature against a trusted key verifies; a replay uses only a run that is intact."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest

from auditor.bundle.keys import KeyPaths, init_keys, load_private, read_public
from auditor.bundle.manifest import Outcome, Signature, replayable, verify_run, write_run_manifest
from auditor.errors import InputError
from tests.report_factory import linux_host, make_run

SECRET = b"correct horse battery staple"


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> KeyPaths:
    folder = tmp_path_factory.mktemp("keys") / "k"
    init_keys(folder, SECRET)
    return KeyPaths(folder)


@pytest.fixture(scope="module")
def other_keys(tmp_path_factory) -> KeyPaths:
    folder = tmp_path_factory.mktemp("other") / "k"
    init_keys(folder, SECRET)
    return KeyPaths(folder)


@pytest.fixture
def signed_run(tmp_path, keys) -> Path:
    run = make_run(tmp_path / "run", {"web-01": linux_host("web-01")})
    (run / "report.html").write_text("<html>report</html>")
    write_run_manifest(run, "run-1", load_private(keys.signing_key, SECRET))
    return run


def _pub(keys: KeyPaths) -> bytes:
    return read_public(keys.signing_pub, "ed25519")


def _rehash_unsigned(run: Path) -> None:
    """What a forger without the key does after an edit: drop the signature and write a fresh, unsigned manifest."""
    (run / "manifest.sig").unlink()
    (run / "manifest.json").unlink()
    write_run_manifest(run, "run-1", None)


def test_key_files_are_private_and_never_overwritten(keys):
    assert oct(keys.signing_key.stat().st_mode & 0o777) == "0o600"
    assert b"ENCRYPTED PRIVATE KEY" in keys.signing_key.read_bytes()
    with pytest.raises(InputError, match="never overwrites a key"):
        init_keys(keys.folder, SECRET)
    with pytest.raises(InputError, match="passphrase is wrong"):
        load_private(keys.signing_key, b"wrong")


def test_an_untouched_run_verifies_against_its_key(signed_run, keys):
    # Given a signed run and the key that signed it, when it is verified
    found = verify_run(signed_run, _pub(keys))
    # Then it is verified: the only outcome accepted without --allow-unsigned
    assert (found.outcome, found.signature) == (Outcome.VERIFIED, Signature.VALID)
    assert found.accepted() and found.run_id == "run-1" and "results.json" in found.listed


@pytest.mark.parametrize("victim", ["results.json", "profile.json", "evidence/manifest.json", "report.html",
                                    "evidence/web-01"])
def test_a_flipped_byte_in_each_kind_of_file_is_named(signed_run, keys, victim):
    path = signed_run / victim
    if path.is_dir():
        path = sorted(path.iterdir())[0]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    found = verify_run(signed_run, _pub(keys))
    assert found.outcome is Outcome.TAMPERED and found.changed == (path.relative_to(signed_run).as_posix(),)
    assert not found.accepted(allow_unsigned=True)


def test_deleted_and_added_files_are_named(signed_run, keys):
    (signed_run / "report.html").unlink()
    (signed_run / "evidence" / "web-01" / "cmd-extra.json").write_text("{}")
    found = verify_run(signed_run, _pub(keys))
    assert found.missing == ("report.html",) and found.added == ("evidence/web-01/cmd-extra.json",)
    assert "added evidence/web-01/cmd-extra.json" in found.damage()


def test_an_added_fifo_or_dangling_link_is_named_without_being_read(signed_run, keys):
    # Given a signed run into which a named pipe (nothing ever writes to it) and a dangling symlink were put
    os.mkfifo(signed_run / "evidence" / "web-01" / "pipe")
    (signed_run / "gone").symlink_to(signed_run / "nowhere")
    # When it is verified, Then it is tampered with, both named, and verifying did not block on the pipe
    found = verify_run(signed_run, _pub(keys))
    assert found.outcome is Outcome.TAMPERED and found.added == ("evidence/web-01/pipe", "gone")


def test_an_edited_manifest_breaks_the_signature(signed_run, keys):
    manifest = signed_run / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"run-1"', '"run-2"'))
    found = verify_run(signed_run, _pub(keys))
    assert (found.outcome, found.signature) == (Outcome.TAMPERED, Signature.INVALID)


def test_another_key_does_not_verify_and_both_keys_are_named(signed_run, keys, other_keys):
    found = verify_run(signed_run, _pub(other_keys))
    assert (found.outcome, found.signature) == (Outcome.TAMPERED, Signature.INVALID)
    assert found.signed_by in found.signature_text() and found.trusted_key in found.signature_text()
    assert found.signed_by != found.trusted_key


def test_a_removed_signature_of_a_manifest_that_names_a_key_is_tampering(signed_run, keys):
    (signed_run / "manifest.sig").unlink()
    for key in (_pub(keys), None):
        found = verify_run(signed_run, key)
        assert (found.outcome, found.signature) == (Outcome.TAMPERED, Signature.MISSING)


def test_a_stripped_signature_is_unsigned_never_verified(signed_run, keys):
    # Given results.json edited, the manifest rehashed, manifest.sig deleted and the signing_key field gone
    results = signed_run / "results.json"
    results.write_text(results.read_text().replace('"fail"', '"pass"'))
    _rehash_unsigned(signed_run)
    # When it is verified with the key at hand, or with none
    for key in (_pub(keys), None):
        found = verify_run(signed_run, key)
        # Then it is intact but unsigned: accepted only on purpose
        assert (found.outcome, found.signature) == (Outcome.UNSIGNED, Signature.ABSENT)
        assert not found.accepted() and found.accepted(allow_unsigned=True)


@pytest.mark.parametrize("signature", ["random", "another run's"])
def test_a_signature_nobody_can_check_is_not_verified(signed_run, keys, tmp_path, signature):
    # Given a run whose signature was replaced by random bytes, or by another run's valid signature
    if signature == "random":
        (signed_run / "manifest.sig").write_bytes(base64.b64encode(os.urandom(64)) + b"\n")
    else:
        other = make_run(tmp_path / "other", {"web-02": linux_host("web-02")})
        write_run_manifest(other, "run-2", load_private(keys.signing_key, SECRET))
        (signed_run / "manifest.sig").write_bytes((other / "manifest.sig").read_bytes())
    # When it is verified with no public key at hand, it is not checked (never verified)
    unchecked = verify_run(signed_run, None)
    assert (unchecked.outcome, unchecked.signature) == (Outcome.NOT_CHECKED, Signature.UNCHECKED)
    assert not unchecked.accepted()
    # And with the key, it is refused as tampering
    assert verify_run(signed_run, _pub(keys)).outcome is Outcome.TAMPERED


def test_an_interrupted_run_says_so_even_when_its_signature_is_valid(tmp_path, keys):
    # Given a run whose results.json records an interruption, signed as the scan signs it
    run = make_run(tmp_path / "run", {"web-01": linux_host("web-01")})
    document = json.loads((run / "results.json").read_text())
    document["run"]["interrupted"] = True
    (run / "results.json").write_text(json.dumps(document))
    write_run_manifest(run, "run-1", load_private(keys.signing_key, SECRET))
    # When it is verified, then it is interrupted, not verified (the signature is valid)
    found = verify_run(run, _pub(keys))
    assert (found.outcome, found.signature, found.interrupted) == (Outcome.INTERRUPTED, Signature.VALID, True)
    assert not found.accepted(allow_unsigned=True)


def test_a_run_without_manifest_is_incomplete(tmp_path):
    run = make_run(tmp_path / "run", {"web-01": linux_host("web-01")})
    found = verify_run(run, None)
    assert found.outcome is Outcome.INCOMPLETE and "did not finish" in found.problem


def test_a_manifest_that_lists_no_results_is_incomplete(tmp_path):
    run = tmp_path / "run"
    (run / "evidence").mkdir(parents=True)
    (run / "evidence" / "manifest.json").write_text('{"facts": []}')
    write_run_manifest(run, "run-1", None)
    assert verify_run(run, None).outcome is Outcome.INCOMPLETE


@pytest.mark.parametrize("text", ["{not json", '{"files": 3}', '[]', '{"files": [{"path": 1}]}'])
def test_a_garbled_manifest_is_tampering_not_a_traceback(signed_run, text):
    (signed_run / "manifest.json").write_text(text)
    found = verify_run(signed_run, None)
    assert found.outcome is Outcome.TAMPERED and "not a valid run manifest" in found.problem


def test_replay_refuses_a_run_that_does_not_verify_and_names_the_files(signed_run, keys):
    # Given a signed run with one evidence file added
    (signed_run / "evidence" / "web-01" / "zzz-forged.json").write_text("{}")
    # When it is checked for a replay, then it is refused in one line naming the file
    with pytest.raises(InputError, match=r"added evidence/web-01/zzz-forged\.json") as refused:
        replayable(signed_run, _pub(keys))
    assert "\n" not in str(refused.value)


def test_replay_takes_an_unsigned_run_only_on_purpose_when_a_key_is_at_hand(tmp_path, keys):
    # Given an intact, unsigned run (as the recorded test hosts are)
    run = make_run(tmp_path / "run", {"web-01": linux_host("web-01")})
    write_run_manifest(run, "run-1", None)
    # When no trusted key is at hand, it is replayed, and the replay knows it is unsigned
    found = replayable(run, None)
    assert found.signature is Signature.ABSENT and found.listed
    # When the processor's key is at hand, it is refused unless --allow-unsigned says so on purpose
    with pytest.raises(InputError, match="not signed, and a trusted signing key is at hand"):
        replayable(run, _pub(keys))
    assert replayable(run, _pub(keys), allow_unsigned=True).signature is Signature.ABSENT


def test_replay_refuses_an_unfinished_run_and_a_folder_that_is_no_run(tmp_path):
    run = make_run(tmp_path / "run", {"web-01": linux_host("web-01")})
    with pytest.raises(InputError, match="did not finish"):
        replayable(run, None)
    with pytest.raises(InputError, match="not a run folder"):
        replayable(tmp_path / "nothing", None)


def test_records_are_listed_with_the_hashes_they_were_written_with(tmp_path):
    # Given a run whose evidence store wrote a record, and the record was changed on disk before the manifest
    from auditor.bundle.evidence import EvidenceStore

    run = make_run(tmp_path / "run", {"web-01": linux_host("web-01")})
    store = EvidenceStore(run)
    ref = store.save("web-01", {"kind": "command", "source": "uname -a", "stdout": "Linux", "collected_at": "t"})
    (run / ref.path).write_text('{"stdout": "edited"}')
    # When the run manifest is written with the store's hashes (as the pipeline does)
    write_run_manifest(run, "run-1", None, written=store.written())
    # Then the manifest lists what was written, so the edit is named, not certified
    found = verify_run(run, None)
    assert found.outcome is Outcome.TAMPERED and found.changed == (ref.path,)
    assert found.listed[ref.path] == ref.sha256


def test_every_file_of_the_run_is_flushed_to_disk_before_the_manifest_is_written(tmp_path, monkeypatch):
    # Given a run whose files were written without an fsync each (the pipeline leaves their flush to the manifest)
    from auditor.bundle import manifest

    run = make_run(tmp_path / "run", {"web-01": linux_host("web-01")})
    files = sorted(str(p.relative_to(run)) for p in run.rglob("*") if p.is_file())
    events: list[tuple[str, ...]] = []
    monkeypatch.setattr(manifest, "flush_to_disk", lambda folder, names: events.append(("flush", str(folder),
                                                                                        *sorted(names))))
    real_write = manifest.write_atomic
    monkeypatch.setattr(manifest, "write_atomic", lambda path, data, **kw: (events.append(("write", Path(path).name)),
                                                                            real_write(path, data, **kw)))
    # When the run manifest is written
    write_run_manifest(run, "run-1", None)
    # Then every file it lists is on disk first, in one flush, and only then is the manifest written (durably)
    assert events == [("flush", str(run), *files), ("write", "manifest.json")]
