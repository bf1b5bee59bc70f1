"""Facts about personal data lying in clear in the folders the profile names (`pii_paths`): Danish CPR
numbers (and, for PII-0020, e-mail addresses and Danish IBANs), found without ever storing one.

The matching runs ON THE TARGET: `python3 -c SCRIPT '<json>'` (auditor/collectors/_pii_script.py; stdlib,
Python 3.8+). The JSON argument is one argv element (never a shell, never interpolated into the script) and
holds only the folders, globs and limits. The script prints counts, line numbers, masked samples (DDMMYY-XXXX)
and HMAC-SHA-256 hashes under a key it makes itself and never prints, so neither a full number nor the key is
ever in the evidence: the transport records argv and stdout verbatim, and both are free of them.

Without python3 the fallback is `grep -rEIhcs PATTERN ROOT` per folder: `-c` prints one count per file and
`-h` drops the file name, so grep's own output (the recorded evidence) holds neither a number nor a file name
that could be one. That gives only "N lines with a candidate in M files" per folder: no date check, no
modulus 11, no confidence (the check reports such candidates as unverified); gzip and office files are not
searched and the size and depth limits do not apply. `-o` would print the matched digits and ERE has no
look-ahead to print the date part only, which is why counting was chosen.

The runner passes profile parameters, not the target, to collectors: so every role's folders are searched
and each file carries the folder it was found under; the check keeps the folders of the target's role.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from auditor.collectors._pii_script import SCRIPT
from auditor.collectors.base import Requests
from auditor.models import SystemFacts, Target
from auditor.records import record
from auditor.transports.base import Command, CommandResult, Transport, cmd

# The runner passes profile parameters named here to requests() and collect().
# "target" is the scanned target itself: only its role's folders are searched.
PARAMETERS = ("pii_paths", "pii_include", "pii_exclude", "pii_max_file_mb", "pii_max_depth", "pii_bulk_threshold",
              "target")

SCAN_TIMEOUT = 1800.0
# The script stops this long before the transport's kill, so a slow host still returns what it found.
_MARGIN = 60
GREP_PATTERN = "(^|[^0-9])(0[1-9]|[12][0-9]|3[01])(0[1-9]|1[0-2])[0-9]{2}[- ]?[0-9]{4}([^0-9]|$)"
CONFIDENCES = ("high", "medium", "low")
_NUMBER = re.compile(r"(?<![0-9])([0-9]{6})[- ]?[0-9]{4}(?![0-9])")
_MASKED = re.compile(r"[0-9]{6}-XXXX")
_HEX64 = re.compile(r"[0-9a-f]{64}")


@record
class CprSample:
    """Attributes:
    line: the line (paragraph or cell in office files) it is on.
    masked: the date part and XXXX (`DDMMYY-XXXX`), never the serial.
    confidence: high, medium or low (see REQUIREMENTS.md section 5).
    reason: why that confidence ("modulus 11", "keyword", "1 January without check digit", "date only").
    hmac: HMAC-SHA-256 of the ten digits under a key that only existed on the target during the scan.
    """

    line: int
    masked: str
    confidence: str
    reason: str
    hmac: str


@record
class PiiFile:
    """Attributes:
    path: the file (a ten-digit run in its name is masked too).
    root: the profile folder it was found under.
    kind: text, gzip or office.
    high / medium / low: CPR-number candidates with a real date, by confidence.
    distinct: how many different numbers those are.
    lines: the first line numbers holding one (at most 20).
    samples: the first masked samples (at most 5).
    emails / ibans: e-mail addresses and valid Danish IBANs (counted only when PII-0020 is on).
    truncated: the file was not read to its end (size or time limit).
    """

    path: str
    root: str
    kind: str = "text"
    high: int = 0
    medium: int = 0
    low: int = 0
    distinct: int = 0
    lines: tuple[int, ...] = ()
    samples: tuple[CprSample, ...] = ()
    emails: int = 0
    ibans: int = 0
    truncated: bool = False

    def at_or_above(self, confidence: str) -> int:
        """How many candidates have this confidence or a higher one."""
        return sum(getattr(self, c) for c in CONFIDENCES[:CONFIDENCES.index(confidence) + 1])


@record
class PiiRoot:
    """Attributes:
    path: a folder from the profile.
    exists: it is a folder on the target (None when the grep fallback could not tell).
    problem: why it could not be searched, or "".
    files_seen / files_scanned / bytes_scanned: files found under it, files read, bytes read.
    skipped_binary / skipped_large / unreadable: files not read: binary, over pii_max_file_mb, or unreadable.
    depth_limited: folders not entered because of pii_max_depth.
    rejected_dates: ten-digit runs that looked like a CPR number but hold no real date (never reported).
    unverified_lines / unverified_files: grep fallback only: lines with a candidate and files holding them.
    """

    path: str
    exists: bool | None = True
    problem: str = ""
    files_seen: int = 0
    files_scanned: int = 0
    bytes_scanned: int = 0
    skipped_binary: int = 0
    skipped_large: int = 0
    unreadable: int = 0
    depth_limited: int = 0
    rejected_dates: int = 0
    unverified_lines: int | None = None
    unverified_files: int | None = None


@record
class PiiFacts:
    """Attributes:
    method: "python", "grep+python" (grep pre-filters plain text), "grep" (counts only) or "" (not searched).
    roots: every folder searched, with its totals.
    files: files holding CPR candidates (or, with bulk counting, e-mail addresses / IBANs).
    bulk_counted: e-mail addresses and IBANs were counted.
    incomplete: why the search did not finish (time limit, file list cut), or ().
    errors: files that could not be read and why (e.g. "PermissionError: Permission denied").
    problem: why the folders could not be searched at all, or "".
    notes: limits of the method used, in words.
    """

    method: str
    roots: tuple[PiiRoot, ...] = ()
    files: tuple[PiiFile, ...] = ()
    bulk_counted: bool = False
    incomplete: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    problem: str = ""
    notes: tuple[str, ...] = ()


def all_roots(pii_paths: Mapping[str, Sequence[str]], target: Target | None = None) -> list[str]:
    """The target role's folders (every role's without a target), each once, in profile order."""
    chosen = [pii_paths.get(target.role.value, ())] if target is not None else list(pii_paths.values())
    return list(dict.fromkeys(p for paths in chosen for p in paths))


def scan_command(roots: Sequence[str], include: Sequence[str] = (), exclude: Sequence[str] = (), max_file_mb: int = 256,
                 max_depth: int = 12, bulk: bool = False) -> Command:
    """The on-target scanner with its settings as one JSON argument (no key, no data)."""
    args = {"roots": list(roots), "include": list(include), "exclude": list(exclude),
            "max_bytes": int(max_file_mb) << 20, "max_depth": int(max_depth), "bulk": bool(bulk),
            "deadline": SCAN_TIMEOUT - _MARGIN}
    return cmd("python3", "-c", SCRIPT, json.dumps(args, sort_keys=True, separators=(",", ":")), sudo=True,
               timeout=SCAN_TIMEOUT)


def grep_command(root: str, include: Sequence[str] = (), exclude: Sequence[str] = ()) -> Command:
    """Fallback: one count per file, no file names (`-h`), errors silenced (they would name files)."""
    argv = ["grep", "-rEIhcs"]
    argv += [f"--include={glob.rsplit('/', 1)[-1]}" for glob in include]
    for glob in exclude:
        folder = re.fullmatch(r"\*/([^/*?\[]+)/\*", glob)
        argv.append(f"--exclude-dir={folder[1]}" if folder else f"--exclude={glob.rsplit('/', 1)[-1]}")
    return cmd(*argv, "-e", GREP_PATTERN, "--", root, sudo=True, timeout=SCAN_TIMEOUT)


def requests(_: SystemFacts, pii_paths: Mapping[str, Sequence[str]] | None = None, pii_include: Sequence[str] = (),
             pii_exclude: Sequence[str] = (), pii_max_file_mb: int = 256, pii_max_depth: int = 12,
             pii_bulk_threshold: int = 0, target: Target | None = None) -> Requests:
    roots = all_roots(pii_paths or {}, target)
    if not roots:
        return (), ()
    return (scan_command(roots, pii_include, pii_exclude, pii_max_file_mb, pii_max_depth, pii_bulk_threshold > 0),), ()


def collect(host: Transport, _: SystemFacts, pii_paths: Mapping[str, Sequence[str]] | None = None,
            pii_include: Sequence[str] = (), pii_exclude: Sequence[str] = (), pii_max_file_mb: int = 256,
            pii_max_depth: int = 12, pii_bulk_threshold: int = 0, target: Target | None = None) -> PiiFacts:
    roots = all_roots(pii_paths or {}, target)
    if not roots:
        return PiiFacts("", problem="the profile names no folders to search (pii_paths)")
    bulk = pii_bulk_threshold > 0
    result = host.run(scan_command(roots, pii_include, pii_exclude, pii_max_file_mb, pii_max_depth, bulk))
    if result.timed_out:
        return PiiFacts("", tuple(PiiRoot(r, None) for r in roots),
                        problem=f"the search did not finish within {SCAN_TIMEOUT:.0f} s and was stopped")
    facts = parse_scan(result.stdout) if result.ok else None
    if facts is not None:
        return facts
    # Never its stdout (it lists what was found), and stderr masked: a complaint may quote what it read.
    said = mask(replace(result, stdout="").failure())
    why = said if result.not_found else f"the python3 scanner failed ({said})"
    greps = host.run_many([grep_command(r, pii_include, pii_exclude) for r in roots])
    return parse_grep_counts(roots, greps, why)


def parse_scan(text: str) -> PiiFacts | None:
    """The scanner's JSON -> facts; None when it is not the scanner's output (then the fallback runs)."""
    try:
        data: Any = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("version") != 1:
        return None
    if "fatal" in data:
        return PiiFacts("", problem=f"the scanner stopped with {data['fatal']}")
    roots = tuple(PiiRoot(str(r["path"]), bool(r["exists"]), str(r.get("problem", "")),
                          **{k: int(r.get(k, 0)) for k in _ROOT_COUNTS}) for r in data.get("roots", []))
    files = tuple(_file(f) for f in data.get("files", []))
    notes = ("numbers split across lines (or Word runs in different paragraphs) are not joined",)
    return PiiFacts(str(data.get("method", "python")), roots, files, bool(data.get("bulk", False)) or
                    any(f.emails or f.ibans for f in files), tuple(map(str, data.get("incomplete", []))),
                    tuple(f"{mask(str(e['path']))}: {e['error']}" for e in data.get("errors", [])), notes=notes)


_ROOT_COUNTS = ("files_seen", "files_scanned", "bytes_scanned", "skipped_binary", "skipped_large", "unreadable",
                "depth_limited", "rejected_dates")


def _file(f: Mapping[str, Any]) -> PiiFile:
    # Defence in depth: whatever the target printed, only a masked date and a 64-hex hash become a fact.
    samples = tuple(CprSample(int(s["line"]), str(s["masked"]), str(s["confidence"]), str(s["reason"]),
                              str(s["hmac"])) for s in f.get("samples", [])
                    if _MASKED.fullmatch(str(s["masked"])) and _HEX64.fullmatch(str(s["hmac"])))
    return PiiFile(mask(str(f["path"])), str(f["root"]), str(f.get("kind", "text")), int(f["high"]),
                   int(f["medium"]), int(f["low"]), int(f.get("distinct", 0)),
                   tuple(int(n) for n in f.get("lines", [])), samples, int(f.get("emails", 0)),
                   int(f.get("ibans", 0)), bool(f.get("truncated", False)))


def parse_grep_counts(roots: Sequence[str], results: Sequence[CommandResult], why: str) -> PiiFacts:
    """`grep -rEIhcs` per folder (one count per file, no names) -> unverified candidate counts per folder."""
    parsed = []
    for root, result in zip(roots, results, strict=True):
        counts = [int(line) for line in result.stdout.split() if line.isdigit()]
        if result.not_found:
            parsed.append(PiiRoot(root, None, "neither python3 nor grep is installed"))
        elif result.exit_status == 2 and not counts:
            parsed.append(PiiRoot(root, None, "could not be searched (missing or unreadable)"))
        else:
            parsed.append(PiiRoot(root, None, files_scanned=len(counts), unverified_lines=sum(counts),
                                  unverified_files=sum(1 for c in counts if c)))
    searched = any(r.unverified_lines is not None for r in parsed)
    notes = (f"{why}: grep counted lines with a 10-digit date-like number; dates, check digits and confidence "
             "could not be verified; gzip and office files were not searched; size and depth limits did not "
             "apply", )
    return PiiFacts("grep" if searched else "", tuple(parsed), problem="" if searched else why, notes=notes)


def mask(text: str) -> str:
    """Replace the serial of every ten-digit run (DDMMYY-SSSS / DDMMYYSSSS) with XXXX."""
    return _NUMBER.sub(lambda m: f"{m[1]}-XXXX", text)
