"""Sealed bundles attacked as a forger would: crafted headers (scrypt costs, types, missing and unknown keys,
bit flips, truncation), chunks reordered, dropped, swapped or appended. Every one is refused in one line
(BundleError; `auditor open` exits 3), before any costly work, and nothing half-restored is left behind."""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from auditor.bundle import sealing
from auditor.bundle.keys import KeyPaths, init_keys, load_private, read_public
from auditor.bundle.sealing import BundleError, open_bundle, seal
from tests.adversarial.forge import auditor

PASS = b"s3cret passphrase"
CHUNK = 4096
MAC = 32
_opened = iter(range(1_000_000))


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> KeyPaths:
    folder = tmp_path_factory.mktemp("keys") / "k"
    init_keys(folder, PASS)
    return KeyPaths(folder)


@pytest.fixture(scope="module")
def private(keys) -> Any:
    return load_private(keys.seal_key, PASS)


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("run") / "run"
    (folder / "evidence" / "web-01").mkdir(parents=True)
    (folder / "results.json").write_text('{"schema_version": 1}')
    (folder / "evidence" / "web-01" / "cmd-x.json").write_bytes(bytes(range(256)) * 64)  # 4 chunks
    return folder


@pytest.fixture(scope="module")
def sealed(tmp_path_factory, run, keys) -> dict[str, Path]:
    """Bundles sealed to the processor's key, to a passphrase (and the key), and a second one to the key."""
    folder = tmp_path_factory.mktemp("sealed")
    to = [read_public(keys.seal_pub, "x25519")]
    return {"key": seal(run, folder / "key.bundle", to, None, chunk_size=CHUNK),
            "passphrase": seal(run, folder / "pass.bundle", to, PASS, chunk_size=CHUNK),
            "other": seal(run, folder / "other.bundle", to, None, chunk_size=CHUNK)}


def _split(bundle: Path) -> tuple[bytes, bytes, bytes, bytes]:
    """magic, header JSON, header MAC, chunks."""
    data = bundle.read_bytes()
    (length,) = struct.unpack(">I", data[8:12])
    return data[:8], data[12:12 + length], data[12 + length:12 + length + MAC], data[12 + length + MAC:]


def _join(magic: bytes, header: bytes, mac: bytes, chunks: bytes) -> bytes:
    return magic + struct.pack(">I", len(header)) + header + mac + chunks


def _chunks(bundle: Path) -> list[bytes]:
    body = _split(bundle)[3]
    return [body[i:i + CHUNK + 16] for i in range(0, len(body), CHUNK + 16)]


def _forged(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / f"forged-{next(_opened)}.bundle"
    path.write_bytes(data)
    return path


def _edited(tmp_path: Path, bundle: Path, edit: Callable[[dict[str, Any]], Any]) -> Path:
    """The bundle with its header JSON edited (its length fixed, its MAC left as it was)."""
    magic, header, mac, chunks = _split(bundle)
    document = json.loads(header)
    edit(document)
    return _forged(tmp_path, _join(magic, json.dumps(document).encode(), mac, chunks))


def _refused(tmp_path: Path, bundle: Path, private: Any = None, secret: bytes | None = None) -> str:
    """Open it; it must be refused in one line, leaving nothing behind. Returns the line."""
    out = tmp_path / f"out-{next(_opened)}"
    with pytest.raises(BundleError) as refused:
        open_bundle(bundle, out, private, secret)
    assert not out.exists() and not out.with_name(f".{out.name}.opening").exists()
    assert "\n" not in str(refused.value) and str(refused.value)
    return str(refused.value)


def _scrypt(n: Any = 1 << 15, r: Any = 8, p: Any = 1) -> Callable[[dict[str, Any]], None]:
    def edit(document: dict[str, Any]) -> None:
        (entry,) = [e for e in document["recipients"] if e["type"] == "scrypt"]
        entry.update(n=n, r=r, p=p)

    return edit


@pytest.mark.attack("bundle tampering")
@pytest.mark.parametrize("cost", [{"p": 300}, {"n": 1 << 20}, {"n": 1 << 20, "r": 64}, {"n": 1 << 14}, {"r": 1},
                                  {"n": 32769}],
                         ids=["p=300 (16 s of CPU)", "n=2^20 (1 GB)", "n=2^20 r=64 (8 GB)", "n=2^14 (cheaper)",
                              "r=1", "n not a power of two"])
def test_a_crafted_scrypt_cost_is_refused_before_any_key_is_derived(tmp_path, sealed, cost, monkeypatch):
    # Given a passphrase bundle whose header asks for another scrypt cost
    forged = _edited(tmp_path, sealed["passphrase"], _scrypt(**cost))
    derived: list[tuple[int, int, int]] = []
    real = sealing._kek_scrypt
    monkeypatch.setattr(sealing, "_kek_scrypt", lambda secret, salt, n, r, p: derived.append((n, r, p)) or
                        real(secret, salt, n, r, p))
    # When it is opened with the right passphrase
    line = _refused(tmp_path, forged, secret=PASS)
    # Then it is refused before any key is derived: no scrypt ran, let alone one of that cost
    assert derived == [] and "scrypt cost" in line


@pytest.mark.attack("bundle tampering")
@pytest.mark.parametrize("value", ["32768", 32768.0, True, None, [32768], -1],
                         ids=["string", "float", "bool", "null", "list", "negative"])
def test_a_scrypt_cost_of_the_wrong_type_is_refused(tmp_path, sealed, value):
    _refused(tmp_path, _edited(tmp_path, sealed["passphrase"], _scrypt(n=value)), secret=PASS)


TOP = ["version", "cipher", "chunk_size", "nonce_prefix", "content", "recipients"]


@pytest.mark.attack("bundle tampering")
def test_each_missing_header_key_is_refused(tmp_path, sealed, private):
    for key in TOP:
        line = _refused(tmp_path, _edited(tmp_path, sealed["key"], lambda d, k=key: d.pop(k)), private)
        assert key in line


WRONG = [  # (field, value): every field of the header given a value of the wrong type or size
    ("version", "2"), ("version", 1), ("version", 3), ("cipher", "AES-128-CBC"), ("content", "zip"),
    ("chunk_size", 0), ("chunk_size", -4096), ("chunk_size", 1 << 30), ("chunk_size", 4095), ("chunk_size", "4096"),
    ("nonce_prefix", "AAAA"), ("nonce_prefix", 7), ("nonce_prefix", "!!!!!!!!!!"), ("recipients", {}),
    ("recipients", []), ("recipients", [[]]), ("recipients", "x25519"),
]


@pytest.mark.attack("bundle tampering")
def test_each_header_field_of_the_wrong_type_or_size_is_refused(tmp_path, sealed, private):
    for field, value in WRONG:
        _refused(tmp_path, _edited(tmp_path, sealed["key"], lambda d, f=field, v=value: d.update({f: v})), private)


RECIPIENT = [  # edits of the x25519 entry
    lambda e: e.pop("ephemeral"), lambda e: e.update(ephemeral="AAAA"), lambda e: e.update(wrapped_key=5),
    lambda e: e.update(ephemeral=base64.b64encode(bytes(32)).decode()),  # a low-order point: the exchange fails
    lambda e: e.update(fingerprint="SHA256:short"), lambda e: e.update(type="rsa"), lambda e: e.update(extra=1),
    lambda e: e.update(wrapped_key="é" * 64),
]


@pytest.mark.attack("bundle tampering")
def test_each_malformed_recipient_is_refused(tmp_path, sealed, private):
    for edit in RECIPIENT:
        _refused(tmp_path, _edited(tmp_path, sealed["key"], lambda d, e=edit: e(d["recipients"][0])), private)


@pytest.mark.attack("bundle tampering")
def test_too_many_recipients_and_a_second_passphrase_entry_are_refused(tmp_path, sealed, private):
    many = _edited(tmp_path, sealed["key"], lambda d: d.update(recipients=d["recipients"] * 100))
    assert "recipients" in _refused(tmp_path, many, private)
    twice = _edited(tmp_path, sealed["passphrase"],
                    lambda d: d["recipients"].extend(e for e in list(d["recipients"]) if e["type"] == "scrypt"))
    assert "more than one passphrase" in _refused(tmp_path, twice, secret=PASS)


@pytest.mark.attack("bundle tampering")
def test_unknown_and_duplicated_keys_are_refused(tmp_path, sealed, private):
    assert "unknown" in _refused(tmp_path, _edited(tmp_path, sealed["key"], lambda d: d.update(note="hi")), private)
    magic, header, mac, chunks = _split(sealed["key"])
    doubled = header.replace(b'"version": 2', b'"version": 2, "version": 2')
    assert "twice" in _refused(tmp_path, _forged(tmp_path, _join(magic, doubled, mac, chunks)), private)


@pytest.mark.attack("bundle tampering")
@pytest.mark.parametrize("header", [b"[" * 100_000 + b"]" * 100_000, b"\xff\xfe not utf-8", b"{}", b"null",
                                    b'"a string"', b"{" * 10],
                         ids=["deeply nested", "not UTF-8", "empty object", "null", "a string", "unterminated"])
def test_a_header_that_is_not_the_expected_json_is_refused(tmp_path, sealed, private, header):
    magic, _, mac, chunks = _split(sealed["key"])
    _refused(tmp_path, _forged(tmp_path, _join(magic, header, mac, chunks)), private)


@pytest.mark.attack("bundle tampering")
@pytest.mark.parametrize("length", [0, 0xFFFFFFFF, 1 << 20], ids=["zero", "4 GiB", "1 MiB"])
def test_a_header_length_out_of_bounds_is_refused_without_reading_it(tmp_path, sealed, private, length):
    data = sealed["key"].read_bytes()
    line = _refused(tmp_path, _forged(tmp_path, data[:8] + struct.pack(">I", length) + data[12:]), private)
    assert "at most" in line


@pytest.mark.attack("bundle tampering")
def test_every_single_bit_flip_of_the_header_is_refused(tmp_path, sealed, private):
    # Given a bundle, when each bit of its magic, length, header JSON and header MAC is flipped in turn
    data = sealed["key"].read_bytes()
    magic, header, mac, _ = _split(sealed["key"])
    end = len(magic) + 4 + len(header) + len(mac)
    forged, out = tmp_path / "flipped.bundle", tmp_path / "out"
    for position in range(end):
        for bit in range(8):
            flipped = bytearray(data)
            flipped[position] ^= 1 << bit
            forged.write_bytes(bytes(flipped))
            # Then every one is refused with a BundleError (never a KeyError, a traceback or garbage)
            with pytest.raises(BundleError):
                open_bundle(forged, out, private, None)
            assert not out.exists()


@pytest.mark.attack("bundle tampering")
def test_a_header_cut_anywhere_is_refused(tmp_path, sealed, private):
    data = sealed["key"].read_bytes()
    header_end = 12 + len(_split(sealed["key"])[1]) + MAC
    for cut in range(header_end + 1):
        _refused(tmp_path, _forged(tmp_path, data[:cut]), private)


@pytest.mark.attack("bundle tampering")
@pytest.mark.parametrize("edit", ["chunk_size", "nonce_prefix", "recipients reordered"])
def test_a_well_formed_header_changed_after_sealing_fails_its_mac(tmp_path, sealed, private, edit):
    # Given a header change that keeps every field valid (the MAC is the only thing that can notice)
    changes = {"chunk_size": lambda d: d.update(chunk_size=CHUNK * 2),
               "nonce_prefix": lambda d: d.update(nonce_prefix="AAAAAAAAAA=="),
               "recipients reordered": lambda d: d["recipients"].reverse()}
    forged = _edited(tmp_path, sealed["passphrase"], changes[edit])
    # Then it is refused as altered, before the chunk size or the nonce prefix is used
    assert "header was altered" in _refused(tmp_path, forged, private)


@pytest.mark.attack("bundle tampering")
def test_another_bundles_header_is_refused(tmp_path, sealed, private):
    magic, header, mac, _ = _split(sealed["other"])
    chunks = _split(sealed["key"])[3]
    _refused(tmp_path, _forged(tmp_path, _join(magic, header, mac, chunks)), private)


@pytest.mark.attack("bundle tampering")
def test_a_format_1_bundle_is_refused_with_the_reason(tmp_path, sealed, private):
    data = sealed["key"].read_bytes()
    line = _refused(tmp_path, _forged(tmp_path, b"AUDSEAL\x01" + data[8:]), private)
    assert "format 1" in line and "seal the run again" in line


CHUNK_ATTACKS = {
    "two chunks swapped": lambda c: [c[1], c[0], *c[2:]],
    "a middle chunk dropped": lambda c: [c[0], *c[2:]],
    "a chunk repeated": lambda c: [c[0], *c],
    "the final chunk dropped": lambda c: c[:-1],
    "cut inside the last chunk": lambda c: [*c[:-1], c[-1][:-5]],
    "one byte appended": lambda c: [*c, b"\x00"],
    "a chunk of garbage appended": lambda c: [*c, bytes(CHUNK + 16)],
    "the final chunk appended again": lambda c: [*c, c[-1]],
    "a flipped bit in the first chunk": lambda c: [bytes([c[0][0] ^ 1]) + c[0][1:], *c[1:]],
    "a flipped bit in a tag": lambda c: [*c[:-1], c[-1][:-1] + bytes([c[-1][-1] ^ 1])],
}


@pytest.mark.attack("bundle tampering")
@pytest.mark.parametrize("attack", list(CHUNK_ATTACKS))
def test_chunks_reordered_dropped_cut_or_appended_are_refused(tmp_path, sealed, private, attack):
    magic, header, mac, _ = _split(sealed["key"])
    chunks = _chunks(sealed["key"])
    assert len(chunks) >= 4
    forged = _join(magic, header, mac, b"".join(CHUNK_ATTACKS[attack](chunks)))
    _refused(tmp_path, _forged(tmp_path, forged), private)


@pytest.mark.attack("bundle tampering")
def test_a_chunk_from_another_bundle_is_refused(tmp_path, sealed, private):
    magic, header, mac, _ = _split(sealed["key"])
    mine, theirs = _chunks(sealed["key"]), _chunks(sealed["other"])
    _refused(tmp_path, _forged(tmp_path, _join(magic, header, mac, b"".join([theirs[0], *mine[1:]]))), private)


@pytest.mark.attack("bundle tampering")
def test_the_command_line_refuses_a_crafted_header_in_one_line_exit_3(tmp_path, sealed, keys):
    # Given a passphrase bundle whose header asks for scrypt p=300, and one with a bit flipped in its header
    costly = _edited(tmp_path, sealed["passphrase"], _scrypt(p=300))
    data = bytearray(sealed["key"].read_bytes())
    data[20] ^= 0x08
    flipped = _forged(tmp_path, bytes(data))
    # When each is opened or verified as a user would
    env = {"AUDITOR_KEY_PASSPHRASE": PASS.decode(), "AUDITOR_BUNDLE_PASSPHRASE": PASS.decode()}
    results = [auditor("open", str(costly), "--passphrase", "--out", str(tmp_path / "a"), env=env),
               auditor("verify", str(flipped), "--key", str(keys.seal_key), env=env)]
    # Then each is one line on stderr, exit 3, no traceback, and nothing was restored
    for result in results:
        assert result.returncode == 3 and result.stderr.count("\n") == 1, result.stderr
        assert "Traceback" not in result.stderr and result.stderr.startswith("auditor: ")
    assert not (tmp_path / "a").exists()
