"""The run manifest and its Ed25519 signature: "is this green tick real and unchanged since the scan?"

A finished run folder holds `manifest.json` (the SHA-256 and size of every file of the run: results,
profile, evidence, reports) and `manifest.sig` (an Ed25519 signature over the manifest's bytes by the
processor's signing key). `verify_run` recomputes every hash, names each file that was changed, added or
removed, checks the signature against the trusted key and reads whether the scan was interrupted; its
`Outcome` is one of six, strictest first: incomplete, tampered, interrupted, not checked, unsigned, verified.
A folder without `manifest.json` is a run that did not finish: incomplete.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Mapping
from dataclasses import field, replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.bundle.keys import fingerprint, raw_public
from auditor.bundle.layout import RESULTS, RUN_MANIFEST, SIGNATURE
from auditor.errors import InputError
from auditor.files import dump_json, flush_to_disk, load_json, sha256_and_size, sha256_file, write_atomic
from auditor.records import record

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

_FORK_FROM_FILES = 2000  # below this, forking costs more than it saves
_NAMED = 5  # files named in a one-line refusal; `auditor verify` lists them all


def _files(run_dir: Path, others: list[str] | None = None) -> list[tuple[str, str]]:
    """Every file of the run but the manifest and its signature, as (relative POSIX path, path), in path order;
    into `others`, the relative path of every entry that is neither a folder nor a file (a FIFO, a socket, a
    dangling symlink): no run writes one, and reading a FIFO would block, so it is named, never read.

    os.scandir rather than Path.rglob: a 200-target run holds 37,000 files, and rglob's Path objects and stat
    calls cost a second. Like rglob, it lists a symlink to a file but does not descend a symlinked folder.
    """
    found: list[tuple[str, str]] = []
    pending = [("", str(run_dir))]
    while pending:
        prefix, folder = pending.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                relative = prefix + entry.name
                if entry.is_dir(follow_symlinks=False):
                    pending.append((relative + "/", entry.path))
                elif entry.is_file() and relative not in (RUN_MANIFEST, SIGNATURE):
                    found.append((relative, entry.path))
                elif not entry.is_file() and others is not None:
                    others.append(relative)
    return sorted(found, key=lambda item: item[0].split("/"))


def write_run_manifest(run_dir: Path, run_id: str, signer: Ed25519PrivateKey | None,
                       audit_log_head: str = "", written: Mapping[str, tuple[str, int]] | None = None) -> str:
    """Hash every file of the run into manifest.json (written last) and sign it; returns the manifest hash.
    Every file of the run is flushed to disk first (the run's writers leave that to this one flush).

    written: relative path -> (SHA-256, size) of files this run wrote and hashed as it wrote them (the evidence
    store's records); those are listed as written instead of being read back.
    """
    known = written or {}
    found = _files(run_dir)
    files = [{"path": relative, "sha256": digest, "size": size}
             for relative, path in found for digest, size in [known.get(relative) or sha256_and_size(path)]]
    # The run's files were written without an fsync each: one flush makes them all durable before the manifest
    # that certifies them, so a crash never leaves a manifest naming a file that is not on disk.
    flush_to_disk(run_dir, (relative for relative, _ in found))
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


class Signature(StrEnum):
    """How far the run's signature could be checked."""

    VALID = "valid"  # verifies against the trusted key
    INVALID = "invalid"  # does not verify against the trusted key
    MISSING = "missing"  # the manifest names a signing key, but manifest.sig is gone
    ABSENT = "absent"  # the run is not signed
    UNCHECKED = "unchecked"  # signed, but no trusted key was at hand to check it


class Outcome(StrEnum):
    """What `auditor verify` concludes about a run folder (each has its own exit code in the CLI)."""

    VERIFIED = "verified"  # every file matches, the signature is valid against a trusted key
    UNSIGNED = "unsigned"  # every file matches, the run is not signed
    NOT_CHECKED = "not_checked"  # every file matches, signed, but no trusted key to check the signature
    INTERRUPTED = "interrupted"  # intact, but the scan was stopped before every target was assessed
    INCOMPLETE = "incomplete"  # no manifest: the run did not finish
    TAMPERED = "tampered"  # files changed, added or removed, or the signature does not verify


@record
class Verification:
    """Everything verify_run found; `listed` is what the manifest lists (path -> SHA-256), for a replay.

    Attributes:
        trusted_key: fingerprint of the key the signature was checked against ("" when none was at hand).
        signed_by: fingerprint the manifest names ("" when it names none).
        manifest_sha256: SHA-256 of manifest.json, which pins every file it lists.
    """

    outcome: Outcome
    run_id: str = ""
    manifest_sha256: str = ""
    listed: Mapping[str, str] = field(default_factory=dict)
    changed: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    signature: Signature = Signature.ABSENT
    signed_by: str = ""
    trusted_key: str = ""
    interrupted: bool = False
    replayed_from: str = ""  # a replay: the run it re-evaluated, and that run's signature state then
    replayed_signature: str = ""
    problem: str = ""

    def accepted(self, allow_unsigned: bool = False) -> bool:
        """Verified; or, on purpose (--allow-unsigned), intact with a signature nobody could check."""
        return self.outcome is Outcome.VERIFIED or (
            allow_unsigned and self.outcome in (Outcome.UNSIGNED, Outcome.NOT_CHECKED))

    def damage(self) -> str:
        """The tampering in a few words, naming the first files: 'changed results.json; added evidence/x'."""
        parts = [f"{what} {_some(files)}" for what, files in
                 (("changed", self.changed), ("added", self.added), ("missing", self.missing)) if files]
        if self.signature in (Signature.INVALID, Signature.MISSING):
            parts.append(self.signature_text())
        return "; ".join(parts) or self.problem

    def signature_text(self) -> str:
        """One sentence on the signature, as verify prints it."""
        named = self.signed_by or "no key"
        return {
            Signature.VALID: f"signature valid, by the trusted key {self.trusted_key}",
            Signature.INVALID: f"SIGNATURE INVALID: it does not verify against the trusted key {self.trusted_key} "
                               f"(the manifest names {named})",
            Signature.MISSING: f"SIGNATURE MISSING: the manifest names {named}, but manifest.sig is gone",
            Signature.ABSENT: "not signed",
            Signature.UNCHECKED: f"signed (the manifest names {named}), but NOT CHECKED: no trusted public key "
                                 "is at hand (give --pubkey signing.pub)",
        }[self.signature]


def verify_run(run_dir: Path, public_raw: bytes | None) -> Verification:
    """Check every hash, the signature against `public_raw` (the trusted key, if any) and the interruption flag."""
    manifest_path = run_dir / RUN_MANIFEST
    if not manifest_path.is_file():
        return Verification(Outcome.INCOMPLETE, problem="no manifest.json: the run did not finish")
    data = manifest_path.read_bytes()
    try:
        document = load_json(data)
        listed = {str(f["path"]): str(f["sha256"]) for f in document["files"]}
        run_id, named = str(document.get("run_id", "")), str(document.get("signing_key") or "")
    except (ValueError, KeyError, TypeError, AttributeError):
        return Verification(Outcome.TAMPERED, problem="manifest.json is not a valid run manifest")
    others: list[str] = []
    present = dict(_files(run_dir, others))
    changed = _changed(listed, present)
    missing = tuple(sorted(p for p in listed if p not in present))
    added = tuple(sorted([*(p for p in present if p not in listed), *others]))
    trusted = fingerprint(public_raw) if public_raw is not None else ""
    signature = _signature(run_dir / SIGNATURE, data, public_raw, named)
    found = Verification(Outcome.TAMPERED, run_id, hashlib.sha256(data).hexdigest(), listed, changed, missing,
                         added, signature, named, trusted)
    if changed or missing or added or signature in (Signature.INVALID, Signature.MISSING):
        return found
    if RESULTS not in listed:
        return replace(found, outcome=Outcome.INCOMPLETE,
                       problem="the manifest lists no results.json: not a finished run")
    run = _run_section(run_dir / RESULTS)
    found = replace(found, replayed_from=str(run.get("replayed_from") or ""),
                    replayed_signature=str(run.get("replayed_signature") or ""))
    if run.get("interrupted"):
        return replace(found, outcome=Outcome.INTERRUPTED, interrupted=True)
    intact = {Signature.VALID: Outcome.VERIFIED, Signature.ABSENT: Outcome.UNSIGNED,
              Signature.UNCHECKED: Outcome.NOT_CHECKED}
    return replace(found, outcome=intact[signature])


def _changed(listed: dict[str, str], present: dict[str, str]) -> tuple[str, ...]:
    """The listed files whose SHA-256 differs. A large run (a 200-target run holds 19,000 files) is hashed by
    one forked process per core, each a share of the files: opening and reading them is most of the time."""
    from auditor.forked import ChildFailed, ChildLost, can_fork, map_forked  # loaded by the commands that verify

    paths = sorted(p for p in listed if p in present)

    def changed_of(share: list[str]) -> list[str]:
        return [p for p in share if sha256_file(present[p]) != listed[p]]

    processes = min(8, os.cpu_count() or 1)
    if len(paths) < _FORK_FROM_FILES or processes < 2 or not can_fork():
        return tuple(changed_of(paths))
    found: list[str] = []
    try:
        map_forked(changed_of, [paths[k::processes] for k in range(processes)], processes,
                   lambda _index, changed: found.extend(changed))
    except (ChildFailed, ChildLost):  # an unreadable file, a child killed: hashed here, where its error shows
        return tuple(changed_of(paths))
    return tuple(sorted(found))


def _some(files: tuple[str, ...]) -> str:
    more = f" and {len(files) - _NAMED} more" if len(files) > _NAMED else ""
    return ", ".join(files[:_NAMED]) + more


def _signature(sig_path: Path, data: bytes, public_raw: bytes | None, named: str) -> Signature:
    if not sig_path.is_file():
        # A manifest that names a signing key without its signature lost it on the way.
        return Signature.MISSING if named else Signature.ABSENT
    if public_raw is None:
        return Signature.UNCHECKED
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(public_raw).verify(base64.b64decode(sig_path.read_bytes()), data)
    except (InvalidSignature, ValueError):
        return Signature.INVALID
    return Signature.VALID


def _run_section(results: Path) -> dict[str, Any]:
    """results.json's "run" (interrupted, replayed_from ...); its hash already matched the manifest."""
    try:
        run = load_json(results.read_bytes())["run"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return run if isinstance(run, dict) else {}


def replayable(run_dir: Path, public_raw: bytes | None, allow_unsigned: bool = False) -> Verification:
    """Verify a run before its evidence is replayed; refuse it (InputError, files named) unless it is intact.

    With a trusted key at hand (public_raw), the run must carry a valid signature, as `verify` requires, unless
    `allow_unsigned` says otherwise on purpose. With none, an intact run is replayed whatever its signature, and
    the new run records how far that signature was checked.
    """
    if not (run_dir / RESULTS).is_file():
        raise InputError("not a run folder (no results.json)", str(run_dir),
                         "give the folder a scan wrote, e.g. reports/<run-id>")
    found = verify_run(run_dir, public_raw)
    if found.outcome is Outcome.INCOMPLETE:
        raise InputError(f"refused: {found.problem}", str(run_dir), "replay a run that finished")
    if found.outcome is Outcome.TAMPERED:
        raise InputError(f"refused: the run does not verify ({found.damage()})", str(run_dir),
                         f"replay an untouched copy; `auditor verify {run_dir}` lists every file")
    if public_raw is not None and found.signature is not Signature.VALID and not allow_unsigned:
        raise InputError(f"refused: the run is not signed, and a trusted signing key is at hand "
                         f"({found.trusted_key})", str(run_dir), "give --allow-unsigned to replay it on purpose")
    return found
