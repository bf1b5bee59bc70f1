"""Pseudonymisation (PII-xxxx): the annex promises pseudonymisation to the extent the controller requires (R3);
looking at the data shows whether personal identifiers lie in clear in the folders the controller names.

Findings hold counts per file, line numbers and masked samples (DDMMYY-XXXX) only; see auditor/collectors/pii.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from auditor.plugin import ControlRef, Platform, Severity, Target, Verdict, check

if TYPE_CHECKING:
    # Collector modules are imported when a check runs, so loading the pack imports none of them.
    from auditor.collectors.pii import PiiFacts, PiiFile, PiiRoot

_SHOWN_FILES = 10  # the sentence names this many files; observed lists up to 100


def _role_roots(pii: PiiFacts, pii_paths: Mapping[str, Sequence[str]], role: str) -> tuple[list[PiiRoot], list[str]]:
    """The searched folders of this role, and the role's folders the search did not cover."""
    wanted = list(dict.fromkeys(pii_paths.get(role, ())))
    by_path = {r.path: r for r in pii.roots}
    return [by_path[p] for p in wanted if p in by_path], [p for p in wanted if p not in by_path]


def _size(n: int) -> str:
    for unit, factor in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if n >= factor:
            return f"{n / factor:.1f} {unit}"
    return f"{n} bytes"


def _coverage(roots: Sequence[PiiRoot]) -> dict[str, Any]:
    return {r.path: {"exists": r.exists, "problem": r.problem, "files_scanned": r.files_scanned,
                     "bytes_scanned": r.bytes_scanned, "skipped_binary": r.skipped_binary,
                     "skipped_large": r.skipped_large, "unreadable": r.unreadable, "depth_limited": r.depth_limited,
                     "rejected_dates": r.rejected_dates} for r in roots}


def _scanned(roots: Sequence[PiiRoot]) -> str:
    files = sum(r.files_scanned for r in roots)
    skipped = [f"{n} {what}" for n, what in ((sum(r.skipped_binary for r in roots), "binary"),
                                             (sum(r.skipped_large for r in roots), "too large"),
                                             (sum(r.unreadable for r in roots), "unreadable")) if n]
    return (f"{files} files ({_size(sum(r.bytes_scanned for r in roots))}) under {', '.join(r.path for r in roots)}"
            + (f"; skipped: {', '.join(skipped)}" if skipped else ""))


def _file_entry(f: PiiFile) -> dict[str, Any]:
    return {"path": f.path, "kind": f.kind, "high": f.high, "medium": f.medium, "low": f.low,
            "distinct": f.distinct, "lines": list(f.lines),
            "samples": [{"line": s.line, "masked": s.masked, "confidence": s.confidence, "reason": s.reason,
                         "hmac": s.hmac} for s in f.samples], "truncated": f.truncated}


def _precheck(pii: PiiFacts, pii_paths: Mapping[str, Sequence[str]], target: Target,
              what: str) -> tuple[list[PiiRoot], Verdict | None]:
    """The role's searched folders, or the verdict when there is nothing (or nothing could be) searched."""
    role = target.role.value
    if not pii_paths.get(role):
        return [], Verdict.not_applicable(f"The profile names no folders to search for {what} for role {role} "
                                          "(pii_paths).")
    roots, missing = _role_roots(pii, pii_paths, role)
    if pii.problem or missing:
        why = pii.problem or f"{', '.join(missing)} not searched"
        return roots, Verdict.failed(f"The folders of role {role} could not be searched for {what}: {why}.",
                                     observed={"problem": why, "method": pii.method, "notes": list(pii.notes)},
                                     expected={"searched": list(pii_paths[role])})
    present = [r for r in roots if r.exists is not False]
    if not present:
        return roots, Verdict.warning(f"None of the folders the profile names for role {role} exists on this host "
                                      f"({', '.join(r.path for r in roots)}): nothing could be searched for {what}.",
                                      observed={"folders": _coverage(roots)},
                                      expected={"searched": list(pii_paths[role])})
    return present, None


# ---- PII-0010 -----------------------------------------------------------------------------------------

@check(
    id="PII-0010",
    title="The personal-data folders of this role hold no Danish CPR numbers in clear",
    severity=Severity.HIGH,
    requirements=("R3",),
    controls=(ControlRef("iso27001-2022", "8.11"), ControlRef("iso27001-2022", "5.34"),
              ControlRef("iso27001-2022", "8.12"), ControlRef("cis-v8", "3.2"), ControlRef("cis-v8", "3.12")),
    platforms=(Platform.LINUX,),
    remediation="Replace the CPR numbers in the files listed with keyed tokens (e.g. HMAC-SHA-256 with a key kept "
    "apart from the data), or move the files to storage the controller approved for identifiable data; delete "
    "exports and logs that are no longer needed. The masked samples and line numbers show where to look.",
)
def cpr_numbers_in_clear(pii: PiiFacts, pii_paths: Mapping[str, Sequence[str]], pii_fail_confidence: str,
                         target: Target) -> Verdict:
    from auditor.collectors.pii import CONFIDENCES

    roots, early = _precheck(pii, pii_paths, target, "CPR numbers")
    if early:
        return early
    level = pii_fail_confidence if pii_fail_confidence in CONFIDENCES else "medium"
    names = {r.path for r in roots}
    files = [f for f in pii.files if f.root in names and (f.high or f.medium or f.low)]
    failing = sorted((f for f in files if f.at_or_above(level)), key=lambda f: (-f.at_or_above(level), f.path))
    below = [f for f in files if not f.at_or_above(level)]
    expected = {"cpr_numbers_at_or_above": level, "count": 0}
    observed: dict[str, Any] = {"method": pii.method, "folders": _coverage(roots), "fail_confidence": level,
                                "files": [_file_entry(f) for f in failing[:100]],
                                "below_threshold_files": len(below),
                                "below_threshold_numbers": sum(f.high + f.medium + f.low for f in below)}
    if pii.incomplete:
        observed["incomplete"] = list(pii.incomplete)
    if failing:
        total = {c: sum(getattr(f, c) for f in failing) for c in CONFIDENCES}
        shown = "; ".join(f"{f.path} ({f.at_or_above(level)}, line{'s' if len(f.lines) > 1 else ''} "
                          f"{', '.join(map(str, f.lines[:5]))}{'…' if len(f.lines) > 5 else ''}, e.g. "
                          f"{f.samples[0].masked if f.samples else 'no sample'})" for f in failing[:_SHOWN_FILES])
        more = f"; and {len(failing) - _SHOWN_FILES} more files" if len(failing) > _SHOWN_FILES else ""
        counts = ", ".join(f"{c}: {total[c]}" for c in CONFIDENCES[:CONFIDENCES.index(level) + 1] if total[c])
        return Verdict.failed(f"{len(failing)} file{'s hold' if len(failing) > 1 else ' holds'} CPR numbers in clear "
                              f"({counts}; the profile fails {level} confidence and above): {shown}{more}.",
                              observed=observed, expected=expected)
    unverified = sum(r.unverified_lines or 0 for r in roots)
    if unverified:
        files_n = sum(r.unverified_files or 0 for r in roots)
        sentence = (f"{unverified} lines in {files_n} files under {', '.join(sorted(names))} hold 10-digit numbers "
                    "shaped like CPR numbers, but python3 is not on the host, so their dates and check digits "
                    "could not be verified")
        observed["unverified_lines"], observed["unverified_files"] = unverified, files_n
        if level == "low":
            return Verdict.failed(f"{sentence}; the profile fails even low-confidence matches.", observed=observed,
                                  expected=expected)
        return Verdict.warning(f"{sentence}; install python3 on the host for a verified search.", observed=observed,
                               expected=expected)
    if pii.method == "grep":
        return Verdict.passed(f"No 10-digit numbers shaped like CPR numbers under {', '.join(sorted(names))} "
                              "(grep fallback: gzip and office files were not searched).", observed=observed,
                              expected=expected)
    note = ""
    if below:
        note = (f" {observed['below_threshold_numbers']} numbers of lower confidence (a real date but no check "
                f"digit or keyword: often invoice or phone numbers) are in {len(below)} files, below the profile's "
                f"{level} threshold.")
    if pii.incomplete:
        return Verdict.warning(f"No CPR numbers at {level} confidence or above in what was searched, but the search "
                               f"did not finish ({'; '.join(pii.incomplete)}): {_scanned(roots)}.{note}",
                               observed=observed, expected=expected)
    return Verdict.passed(f"No CPR numbers at {level} confidence or above in {_scanned(roots)}.{note}",
                          observed=observed, expected=expected)


# ---- PII-0020 -----------------------------------------------------------------------------------------

@check(
    id="PII-0020",
    title="No file in the personal-data folders holds e-mail addresses or Danish IBANs in bulk",
    severity=Severity.MEDIUM,
    requirements=("R3",),
    controls=(ControlRef("iso27001-2022", "8.11"), ControlRef("iso27001-2022", "5.34"),
              ControlRef("cis-v8", "3.2"), ControlRef("cis-v8", "3.12")),
    platforms=(Platform.LINUX,),
    remediation="Pseudonymise or remove the bulk lists of e-mail addresses and account numbers in the files "
    "listed (exports, dumps, logs), or keep them only where the controller has approved identifiable data.",
)
def bulk_contact_data(pii: PiiFacts, pii_paths: Mapping[str, Sequence[str]], pii_bulk_threshold: int,
                      target: Target) -> Verdict:
    if pii_bulk_threshold <= 0:
        return Verdict.not_applicable("Bulk e-mail and IBAN search is turned off in the profile "
                                      "(pii_bulk_threshold: 0).")
    roots, early = _precheck(pii, pii_paths, target, "e-mail addresses and IBANs")
    if early:
        return early
    names = {r.path for r in roots}
    expected = {"max_per_file": pii_bulk_threshold}
    if not pii.bulk_counted:
        return Verdict.warning("E-mail addresses and IBANs could not be counted: the host has no python3 (the grep "
                               "fallback counts CPR-shaped numbers only).", observed={"method": pii.method},
                               expected=expected)
    over = sorted((f for f in pii.files if f.root in names and max(f.emails, f.ibans) > pii_bulk_threshold),
                  key=lambda f: (-max(f.emails, f.ibans), f.path))
    observed: dict[str, Any] = {"folders": _coverage(roots),
                                "files": [{"path": f.path, "emails": f.emails, "ibans": f.ibans} for f in over[:100]]}
    if over:
        shown = "; ".join(f"{f.path} ({f.emails} e-mail addresses, {f.ibans} IBANs)" for f in over[:_SHOWN_FILES])
        more = f"; and {len(over) - _SHOWN_FILES} more files" if len(over) > _SHOWN_FILES else ""
        holds = "files hold" if len(over) > 1 else "file holds"
        return Verdict.failed(f"{len(over)} {holds} more than {pii_bulk_threshold} e-mail addresses or Danish "
                              f"IBANs: {shown}{more}.", observed=observed,
                              expected=expected)
    return Verdict.passed(f"No file holds more than {pii_bulk_threshold} e-mail addresses or Danish IBANs in "
                          f"{_scanned(roots)}.", observed=observed, expected=expected)
