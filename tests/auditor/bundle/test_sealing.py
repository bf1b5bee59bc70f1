"""Sealed bundles (format 2): round trips for keys and passphrases, the authenticated header, the run manifest
restored last; every tampering, truncation or wrong key refused (many more attacks: tests/adversarial/)."""

from __future__ import annotations

import io
import json
import os
import struct
import tarfile
from pathlib import Path
from typing import Any

import pytest

from auditor.bundle.keys import KeyPaths, init_keys, load_private, read_public
from auditor.bundle.sealing import CHUNK_SIZE, MAGIC, BundleError, open_bundle, seal
from auditor.errors import InputError

SECRET = b"s3cret passphrase"


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> KeyPaths:
    folder = tmp_path_factory.mktemp("keys") / "k"
    init_keys(folder, SECRET)
    return KeyPaths(folder)


@pytest.fixture
def run(tmp_path) -> Path:
    folder = tmp_path / "run"
    (folder / "evidence" / "web-01").mkdir(parents=True)
    (folder / "results.json").write_text('{"schema_version": 1}')
    (folder / "evidence" / "web-01" / "cmd-x.json").write_bytes(os.urandom(3 * 4096 + 17))
    return folder


def _same_tree(a: Path, b: Path) -> bool:
    files = lambda root: {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}  # noqa: E731
    return files(a) == files(b)


def test_round_trip_with_a_key_and_with_a_passphrase(run, keys, tmp_path):
    bundle = seal(run, tmp_path / "b.bundle", [read_public(keys.seal_pub, "x25519")], SECRET, chunk_size=4096)
    assert MAGIC in bundle.read_bytes()[:8] and b"cmd-x.json" not in bundle.read_bytes()
    private = load_private(keys.seal_key, SECRET)
    assert _same_tree(run, open_bundle(bundle, tmp_path / "k", private, None))
    assert _same_tree(run, open_bundle(bundle, tmp_path / "p", None, SECRET))


def _chunks(bundle: Path) -> tuple[int, int]:
    data = bundle.read_bytes()
    (length,) = struct.unpack(">I", data[8:12])
    return 12 + length + 32, len(data)  # magic, length, header JSON, header MAC


def test_the_header_is_format_2_bounded_and_followed_by_its_mac(run, tmp_path):
    # Given a bundle sealed to a passphrase
    data = seal(run, tmp_path / "b.bundle", [], SECRET, chunk_size=4096).read_bytes()
    # Then it starts with the format 2 magic, its header names version 2 and the one scrypt cost auditor uses
    (length,) = struct.unpack(">I", data[8:12])
    header = json.loads(data[12:12 + length])
    assert data[:8] == MAGIC == b"AUDSEAL\x02" and header["version"] == 2 and length < 1 << 16
    assert {k: header["recipients"][0][k] for k in ("n", "r", "p")} == {"n": 1 << 15, "r": 8, "p": 1}


def test_an_opened_run_gets_its_manifest_back_under_its_own_name(run, tmp_path):
    # Given a run with a manifest, sealed
    (run / "manifest.json").write_text("{}")
    bundle = seal(run, tmp_path / "b.bundle", [], SECRET, chunk_size=4096)
    # When it is opened, the manifest (held back under another name while the chunks are checked) is in place
    opened = open_bundle(bundle, tmp_path / "o", None, SECRET)
    assert _same_tree(run, opened) and not (opened / ".manifest.json.opening").exists()


def test_a_bundle_holding_the_held_back_name_is_refused(run, tmp_path):
    (run / ".manifest.json.opening").write_text("{}")
    bundle = seal(run, tmp_path / "b.bundle", [], SECRET, chunk_size=4096)
    with pytest.raises(BundleError, match="never seals"):
        open_bundle(bundle, tmp_path / "o", None, SECRET)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("where", ["first_chunk", "last_chunk", "header"])
def test_a_flipped_byte_anywhere_is_refused(run, tmp_path, where):
    bundle = seal(run, tmp_path / "b.bundle", [], SECRET, chunk_size=4096)
    start, end = _chunks(bundle)
    data = bytearray(bundle.read_bytes())
    data[{"first_chunk": start + 10, "last_chunk": end - 3, "header": start - 5}[where]] ^= 1
    bundle.write_bytes(bytes(data))
    with pytest.raises(BundleError):
        open_bundle(bundle, tmp_path / "out", None, SECRET)
    assert not (tmp_path / "out").exists()  # nothing half-restored is left behind


def test_truncation_at_a_chunk_boundary_is_detected(run, tmp_path):
    bundle = seal(run, tmp_path / "b.bundle", [], SECRET, chunk_size=4096)
    start, end = _chunks(bundle)
    assert (end - start) > 2 * (4096 + 16)
    bundle.write_bytes(bundle.read_bytes()[: start + 2 * (4096 + 16)])  # drop whole chunks, final one included
    with pytest.raises(BundleError, match="truncated"):
        open_bundle(bundle, tmp_path / "out", None, SECRET)


def test_wrong_passphrase_wrong_key_and_someone_elses_bundle(run, keys, tmp_path):
    init_keys(tmp_path / "other", SECRET)
    other = KeyPaths(tmp_path / "other")
    bundle = seal(run, tmp_path / "b.bundle", [read_public(other.seal_pub, "x25519")], SECRET)
    with pytest.raises(BundleError, match="not sealed to this passphrase"):
        open_bundle(bundle, tmp_path / "o1", None, b"wrong")
    only_key = seal(run, tmp_path / "c.bundle", [read_public(other.seal_pub, "x25519")], None)
    with pytest.raises(BundleError, match="not sealed to this key"):
        open_bundle(only_key, tmp_path / "o2", load_private(keys.seal_key, SECRET), None)


def test_not_a_bundle_and_no_recipient(run, tmp_path):
    junk = tmp_path / "junk"
    junk.write_bytes(b"PK\x03\x04 not a bundle")
    with pytest.raises(BundleError, match="not an auditor sealed bundle"):
        open_bundle(junk, tmp_path / "o", None, SECRET)
    with pytest.raises(InputError, match="needs at least one recipient"):
        seal(run, tmp_path / "x", [], None)
    with pytest.raises(InputError, match="at most 64 recipients"):
        seal(run, tmp_path / "x", [bytes(32)] * 65, None)
    with pytest.raises(InputError, match="not a usable X25519 public key"):
        seal(run, tmp_path / "x", [bytes(32)], None)


def test_default_chunk_size_is_one_mebibyte():
    assert CHUNK_SIZE == 1 << 20


def _member(name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"x", link: str = "") -> tuple[Any, bytes]:
    info = tarfile.TarInfo(name)
    info.type, info.size, info.linkname = kind, len(data) if kind == tarfile.REGTYPE else 0, link
    return info, data


@pytest.mark.parametrize(("member", "problem"), [
    (_member("../escape"), "outside its run folder"),
    (_member("evidence/../../escape"), "outside its run folder"),
    (_member("/tmp/escape"), "outside its run folder"),
    (_member("C:/escape"), "outside its run folder"),
    (_member("evidence\\..\\..\\escape"), "outside its run folder"),
    (_member("link", tarfile.SYMTYPE, link="/etc/passwd"), "neither a file nor a folder"),
    (_member("hard", tarfile.LNKTYPE, link="results.json"), "neither a file nor a folder"),
    (_member("fifo", tarfile.FIFOTYPE), "neither a file nor a folder"),
])
def test_a_bundle_member_that_is_no_file_or_folder_of_the_run_is_refused(run, tmp_path, monkeypatch, member,
                                                                       problem):
    # Given a bundle, authentic to its recipient, whose sealer put a crafted member into it (seal is made to add it)
    info, data = member

    def crafted(archive: tarfile.TarFile, *_args: Any, **_kwargs: Any) -> None:
        archive.addfile(info, io.BytesIO(data) if info.isfile() else None)

    monkeypatch.setattr(tarfile.TarFile, "add", crafted)
    bundle = seal(run, tmp_path / "b.bundle", [], SECRET, chunk_size=4096)
    monkeypatch.undo()
    # When it is opened, it is refused, nothing is written outside the new folder, and no folder is left
    with pytest.raises(BundleError, match=problem):
        open_bundle(bundle, tmp_path / "o" / "run", None, SECRET)
    assert not (tmp_path / "escape").exists() and not Path("/tmp/escape").exists()
    assert not (tmp_path / "o" / "run").exists() and not (tmp_path / "o" / ".run.opening").exists()
