"""Run manifests and signatures: every kind of tampering is named; an unfinished run is incomplete."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.bundle.keys import KeyPaths, init_keys, load_private, read_public
from auditor.bundle.manifest import verify_run, write_run_manifest
from auditor.errors import InputError
from tests.report_factory import linux_host, make_run

SECRET = b"correct horse battery staple"


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> KeyPaths:
    folder = tmp_path_factory.mktemp("keys") / "k"
    init_keys(folder, SECRET)
    return KeyPaths(folder)


@pytest.fixture
def signed_run(tmp_path, keys) -> Path:
    run = make_run(tmp_path / "run", {"web-01": linux_host("web-01")})
    (run / "report.html").write_text("<html>report</html>")
    write_run_manifest(run, "run-1", load_private(keys.signing_key, SECRET))
    return run


def test_key_files_are_private_and_never_overwritten(keys):
    assert oct(keys.signing_key.stat().st_mode & 0o777) == "0o600"
    assert b"ENCRYPTED PRIVATE KEY" in keys.signing_key.read_bytes()
    with pytest.raises(InputError, match="never overwrites a key"):
        init_keys(keys.folder, SECRET)
    with pytest.raises(InputError, match="passphrase is wrong"):
        load_private(keys.signing_key, b"wrong")


def test_an_untouched_run_verifies(signed_run, keys):
    outcome = verify_run(signed_run, read_public(keys.signing_pub, "ed25519"))
    assert outcome.ok and outcome.signature == "valid"


@pytest.mark.parametrize("victim", ["results.json", "profile.json", "evidence/manifest.json", "report.html",
                                    "evidence/web-01"])
def test_a_flipped_byte_in_each_kind_of_file_is_named(signed_run, keys, victim):
    path = signed_run / victim
    if path.is_dir():
        path = sorted(path.iterdir())[0]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    outcome = verify_run(signed_run, read_public(keys.signing_pub, "ed25519"))
    assert not outcome.ok and outcome.changed == (path.relative_to(signed_run).as_posix(),)


def test_deleted_and_added_files_are_named(signed_run, keys):
    (signed_run / "report.html").unlink()
    (signed_run / "evidence" / "web-01" / "cmd-extra.json").write_text("{}")
    outcome = verify_run(signed_run, read_public(keys.signing_pub, "ed25519"))
    assert outcome.missing == ("report.html",) and outcome.added == ("evidence/web-01/cmd-extra.json",)


def test_an_edited_manifest_breaks_the_signature(signed_run, keys):
    manifest = signed_run / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"run-1"', '"run-2"'))
    assert verify_run(signed_run, read_public(keys.signing_pub, "ed25519")).signature == "invalid"


def test_another_key_does_not_verify(signed_run, tmp_path):
    init_keys(tmp_path / "other", SECRET)
    other = read_public(KeyPaths(tmp_path / "other").signing_pub, "ed25519")
    assert verify_run(signed_run, other).signature == "invalid"


def test_a_removed_signature_is_noticed(signed_run, keys):
    (signed_run / "manifest.sig").unlink()
    assert verify_run(signed_run, read_public(keys.signing_pub, "ed25519")).signature == "invalid"


def test_a_run_without_manifest_is_incomplete(tmp_path):
    run = make_run(tmp_path / "run", {"web-01": linux_host("web-01")})
    outcome = verify_run(run, None)
    assert not outcome.complete and "did not finish" in outcome.problem
