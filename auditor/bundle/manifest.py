"""The run manifest and its Ed25519 signature: "is this green tick real and unchanged since the scan?"

A finished run folder holds `manifest.json` (the SHA-256 and size of every file of the run: results,
profile, evidence, reports) and `manifest.sig` (an Ed25519 signature over the manifest's bytes by the
processor's signing key). `verify` recomputes every hash and names each file that was changed, added
or removed. A folder without `manifest.json` is a run that did not finish: verify calls it incomplete.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from auditor.bundle.keys import fingerprint, raw_public
from auditor.bundle.layout import RUN_MANIFEST, SIGNATURE
from auditor.files import dump_json, sha256_file, write_atomic


def _files(run_dir: Path) -> Iterator[Path]:
    for path in sorted(run_dir.rglob("*")):
        if path.is_file() and path.relative_to(run_dir).as_posix() not in (RUN_MANIFEST, SIGNATURE):
            yield path


def write_run_manifest(run_dir: Path, run_id: str, signer: Ed25519PrivateKey | None,
                       audit_log_head: str = "") -> str:
    """Hash every file of the run into manifest.json (written last) and sign it; returns the manifest hash."""
    files = [{"path": p.relative_to(run_dir).as_posix(), "sha256": sha256_file(p), "size": p.stat().st_size}
             for p in _files(run_dir)]
    document: dict[str, Any] = {"schema_version": 1, "run_id": run_id, "files": files,
                                "audit_log_head": audit_log_head}
    if signer is not None:
        document["signing_key"] = fingerprint(raw_public(signer.public_key()))
    data = dump_json(document)
    if signer is not None:
        # The signature first, then the manifest: a folder whose manifest exists is always complete.
        write_atomic(run_dir / SIGNATURE, base64.b64encode(signer.sign(data)) + b"\n")
    write_atomic(run_dir / RUN_MANIFEST, data)
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Verification:
    complete: bool
    changed: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    signed_by: str = ""  # fingerprint the manifest names
    signature: str = "absent"  # "valid", "invalid", "absent", "unchecked" (no public key given)
    problem: str = ""

    @property
    def ok(self) -> bool:
        return (self.complete and not (self.changed or self.missing or self.added)
                and self.signature in ("valid", "unchecked", "absent"))


def verify_run(run_dir: Path, public_raw: bytes | None) -> Verification:
    manifest_path = run_dir / RUN_MANIFEST
    if not manifest_path.is_file():
        return Verification(False, problem="no manifest.json: the run did not finish (it is incomplete)")
    data = manifest_path.read_bytes()
    try:
        document = json.loads(data)
        listed = {f["path"]: f["sha256"] for f in document["files"]}
    except (ValueError, KeyError, TypeError):
        return Verification(False, problem="manifest.json is not a valid run manifest")
    present = {p.relative_to(run_dir).as_posix(): p for p in _files(run_dir)}
    changed = tuple(sorted(p for p in listed if p in present and sha256_file(present[p]) != listed[p]))
    missing = tuple(sorted(p for p in listed if p not in present))
    added = tuple(sorted(p for p in present if p not in listed))
    signature = "absent"
    sig_path = run_dir / SIGNATURE
    if sig_path.is_file():
        signature = "unchecked"
        if public_raw is not None:
            try:
                Ed25519PublicKey.from_public_bytes(public_raw).verify(base64.b64decode(sig_path.read_bytes()), data)
                signature = "valid"
            except (InvalidSignature, ValueError):
                signature = "invalid"
    elif document.get("signing_key"):
        signature = "invalid"  # the manifest says it was signed, but the signature is gone
    return Verification(True, changed, missing, added, str(document.get("signing_key", "")), signature)
