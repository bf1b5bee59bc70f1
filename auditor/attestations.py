"""Attestations: signed statements for controls that no scan can prove.

They yield MANUAL findings shown as "attested", never "pass"; past their review date they become FAIL
("attestation is stale"). Attached artefacts (a key register, a signed specification, an award letter,
a restore-test log) are hashed when the profile is loaded; a missing artefact is an input error.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from auditor.files import READ_INPUT_FLAGS
from auditor.models import Artefact, Attestation, Finding, Status
from auditor.waivers import end_of_day, plain_date, printable_text, refuse_bad_id, required_text
from auditor.yamlfile import YamlDoc, describe, token

MATURITY = ("Not relevant", "No considerations", "Some considerations", "Measures planned",
            "Measures implemented", "Continuous process established")  # D-mærket self-evaluation scale
_KEYS = {"id", "requirement", "check", "statement", "attestor", "date", "next_review", "maturity", "artefacts"}
_ATTESTOR_KEYS = {"name", "role", "organisation"}


def sha256_file(path: Path) -> tuple[str, int]:
    """SHA-256 and size of a regular file; OSError for anything else (a FIFO would block, /dev/zero never end)."""
    digest = hashlib.sha256()
    size = 0
    fd = os.open(path, READ_INPUT_FLAGS)
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def parse_attestations(doc: YamlDoc, base_dir: Path) -> tuple[Attestation, ...]:
    items = doc.get("attestations") or []
    if not isinstance(items, list):
        raise doc.error("attestations must be a list", "attestations")
    parsed = []
    for index, _ in enumerate(items):
        here = ("attestations", index)
        item = doc.mapping(*here, allowed=_KEYS, label=f"attestation #{index + 1}")
        refuse_bad_id(doc, item, *here)
        requirement, check = item.get("requirement", ""), item.get("check", "")
        for key, value in (("requirement", requirement), ("check", check)):
            if not isinstance(value, str) or not value.isprintable():
                raise doc.error(f"{key} must be an id on one line, got {describe(value)}", *here, key,
                                fix="write e.g. requirement: R10 (or check: LOCK-0010)")
        if not requirement and not check:
            raise doc.error("names neither a requirement nor a check", *here, fix="add requirement: R10 (or check:)")
        attestor = doc.mapping(*here, "attestor", allowed=_ATTESTOR_KEYS, label="attestor")
        if not attestor.get("name"):
            raise doc.error("needs an attestor with a name", *here, "attestor",
                            fix="add attestor: {name: ..., role: ..., organisation: ...}")
        for key, value in attestor.items():
            if not isinstance(value, str | int) or not printable_text(str(value)):
                raise doc.error(f"attestor {key} must be text without control characters, got {describe(value)}",
                                *here, "attestor", key, fix="write e.g. name: Mette Jensen")
        maturity = item.get("maturity", "")
        if maturity and maturity not in MATURITY:
            raise doc.error(f"maturity {describe(maturity)} is not on the D-mærket scale", *here, "maturity",
                            fix=f"use one of: {', '.join(MATURITY)}")
        made = plain_date(doc, item.get("date"), *here, "date")
        review = plain_date(doc, item.get("next_review"), *here, "next_review")
        if review < made:
            raise doc.error(f"next_review is before the attestation's date (next_review {review.isoformat()}, "
                            f"date {made.isoformat()})", *here, "next_review",
                            fix=f"write the date of the next review, on or after {made.isoformat()} (or swap the "
                                "two if they were written the wrong way round)")
        parsed.append(Attestation(
            id=str(item.get("id") or f"A{index + 1}"), requirement=requirement, check=check,
            statement=required_text(doc, item, "statement", *here),
            attestor={k: str(v) for k, v in attestor.items()}, attested_on=made, next_review=review,
            maturity=str(maturity), artefacts=_artefacts(doc, item.get("artefacts"), base_dir, here),
            where=doc.where(*here),
        ))
    return tuple(parsed)


def _artefacts(doc: YamlDoc, value: Any, base_dir: Path, here: tuple[str | int, ...]) -> tuple[Artefact, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise doc.error("artefacts must be a list of file paths", *here, "artefacts")
    artefacts = []
    for index, entry in enumerate(value):
        if isinstance(entry, dict) and {"path", "sha256", "size"} <= set(entry):
            # A stored profile (profile.json of a run) carries the hash taken when the run was made.
            if not (isinstance(entry["size"], int) and re.fullmatch(r"[0-9a-f]{64}", str(entry["sha256"]))):
                raise doc.error("a stored artefact needs a sha256 (64 hex digits) and a size (bytes)", *here,
                                "artefacts", index, fix="store the profile again, or list the artefact's path")
            artefacts.append(Artefact(str(entry["path"]), str(entry["sha256"]), entry["size"]))
            continue
        if not isinstance(entry, str) or not entry:
            raise doc.error(f"an artefact must be a file path, got {describe(entry)}", *here, "artefacts", index)
        path = (base_dir / entry).resolve()
        try:
            digest, size = sha256_file(path)
        except OSError as exc:
            raise doc.error(f"artefact {token(entry)} cannot be read ({exc.strerror or exc})", *here, "artefacts",
                            index, fix="fix the path (relative to the profile file) or attach the file") from None
        artefacts.append(Artefact(str(path), digest, size))
    return tuple(artefacts)


def attestation_findings(attestations: Iterable[Attestation], as_of: datetime) -> list[Finding]:
    """One organisation-wide finding per attestation: MANUAL while fresh, FAIL once its review is overdue."""
    findings = []
    for att in attestations:
        who = ", ".join(v for v in (att.attestor.get("name"), att.attestor.get("role"),
                                    att.attestor.get("organisation")) if v)
        observed = {"statement": att.statement, "attestor": who, "date": att.attested_on.isoformat(),
                    "next_review": att.next_review.isoformat(), "maturity": att.maturity,
                    "artefacts": [{"path": a.path, "sha256": a.sha256, "size": a.size} for a in att.artefacts]}
        expected = {"next_review": f"after {as_of.date().isoformat()}"}
        requirements = (att.requirement,) if att.requirement else ()
        check_id = att.check or f"ATTEST-{att.requirement}"
        if as_of >= end_of_day(att.next_review):
            message = (f"Attestation is stale: its review was due {att.next_review.isoformat()} "
                       f"({att.statement} — attested by {who} on {att.attested_on.isoformat()}).")
            findings.append(Finding(check_id, "", Status.FAIL, message, att.id, requirements, observed, expected))
        else:
            message = f"Attested by {who} on {att.attested_on.isoformat()}: {att.statement}"
            findings.append(Finding(check_id, "", Status.MANUAL, message, att.id, requirements, observed, expected))
    return findings
