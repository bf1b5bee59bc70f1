"""Caps on what one finding may carry, so that whatever a target answers, every report renders in bounded
time and size.

A check may quote a host's answer in its message and its observed values, and a hostile or broken host may
answer `systemctl is-active auditd` with 8 MiB (the most one fact holds, transports/base.py MAX_FACT_BYTES).
Uncapped, that made an 8 MiB FAIL line on the terminal, a 92 MB HTML report and a PDF that never finished.
The runner passes every finding through `cap_result`: a message longer than its cap keeps its start and its
end around a note of what was cut; a long text in observed or expected becomes a summary that tells the story
("8.0 MiB of output in 1 line; first lines: …; full text in evidence evidence/web-1/cmd-….json (sha256 …)");
lists, mappings and nesting are cut to a budget per finding, with a count of what was left out; a check that
finds thousands of resources on one target keeps its first findings and one more per status that counts the
rest. Nothing is lost: the host's full answer stays in the evidence the finding cites. Text is also made printable
(auditor/visible.py), so no output format meets a character it cannot hold.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from auditor.models import EvidenceRef, Finding, Status, TargetResult
from auditor.records import record
from auditor.visible import visible

# Why these sizes: the longest message of the recorded hosts has ~500 characters and the largest observed value
# ~5 KB (tests/fixtures/hosts), so an honest finding is never cut, while a report of thousands of findings at
# these caps stays a few megabytes that a browser opens and WeasyPrint lays out in seconds.
MESSAGE_CHARS = 2_000  # a finding's sentence (and a skip reason, a target's connection error): one readable line
ERROR_CHARS = 8_000  # an error's text: the head of a traceback and its last line
RESOURCE_CHARS = 500  # what a finding is about: a path, a port, a name
TEXT_CHARS = 1_000  # one text inside observed or expected; a longer one becomes a summary
VALUES_CHARS = 16 * 1024  # all of observed (and, apart, all of expected) of one finding, about as JSON
ITEMS = 200  # entries kept of one list or mapping
DEPTH = 8  # levels of nesting kept
KEY_CHARS = 200  # a mapping's key
FINDINGS = 500  # findings of one check on one target (a resource each: a disk, a repository, a port)
_HEAD_LINES = 3  # lines a summary quotes
_LINE_CHARS = 160  # characters quoted of each
_REFS_NAMED = 3  # evidence files a summary names; the others are counted
_MIB, _KIB = 1024 * 1024, 1024


@record
class Caps:
    """How much of a host's answer one finding may carry (ScanOptions.caps); the defaults are the constants above."""

    message: int = MESSAGE_CHARS
    error: int = ERROR_CHARS
    resource: int = RESOURCE_CHARS
    text: int = TEXT_CHARS
    values: int = VALUES_CHARS
    items: int = ITEMS
    depth: int = DEPTH
    findings: int = FINDINGS


DEFAULT_CAPS = Caps()


def cap_result(result: TargetResult, caps: Caps = DEFAULT_CAPS) -> TargetResult:
    """A target's result with each finding capped (cap_finding), as many per check as `caps.findings` and
    one per status more that counts the rest; its connection error capped too."""
    return dataclasses.replace(result, connection_error=cut(result.connection_error, caps.message,
                                                            "in this target's evidence"),
                               findings=tuple(cap_finding(f, caps) for f in counted(result.findings, caps.findings)))


def counted(findings: Iterable[Finding], limit: int = FINDINGS) -> list[Finding]:
    """The first `limit` findings of each check; the others summed up in one finding per status, so that a
    check's worst status on the target (its verdict and its score) stays what it was."""
    kept: list[Finding] = []
    seen: Counter[str] = Counter()
    left_out: dict[tuple[str, Status], list[Finding]] = {}
    for finding in findings:
        seen[finding.check_id] += 1
        if seen[finding.check_id] <= limit:
            kept.append(finding)
        else:
            left_out.setdefault((finding.check_id, finding.status), []).append(finding)
    for (check_id, status), rest in left_out.items():
        first = rest[0]
        kept.append(Finding(check_id, first.target, status,
                            f"{len(rest):,} more {status.value} results of this check on this target are left out "
                            f"after its first {limit:,}; the facts they rest on are {evidence_named(first.evidence)}.",
                            requirements=first.requirements, evidence=first.evidence, error_reason=first.error_reason))
    order = {check_id: index for index, check_id in enumerate(seen)}
    return sorted(kept, key=lambda f: order[f.check_id])  # stable: each summary right after its check's findings


def cap_finding(finding: Finding, caps: Caps = DEFAULT_CAPS) -> Finding:
    """The finding with every text printable and within its cap; long values summarised, naming the evidence."""
    where = evidence_named(finding.evidence)
    return dataclasses.replace(
        finding, message=cut(finding.message, caps.message, where), resource=cut(finding.resource, caps.resource),
        skip_reason=cut(finding.skip_reason, caps.message, where), error=cut(finding.error, caps.error, where),
        observed=_Budget(caps, where).mapping(finding.observed, 0),
        expected=_Budget(caps, where).mapping(finding.expected, 0))


def evidence_named(refs: Sequence[EvidenceRef]) -> str:
    """Where the full text is: "in evidence <path> (sha256 <prefix>)", the first few files of a finding."""
    if not refs:
        return "in this target's evidence"
    named = ", ".join(f"{ref.path} (sha256 {ref.sha256[:12]})" for ref in refs[:_REFS_NAMED])
    more = len(refs) - _REFS_NAMED
    return f"in evidence {named}" + (f" or one of {more} more files it cites" if more > 0 else "")


def cut(text: str, limit: int, where: str = "") -> str:
    """The text, printable and at most `limit` characters: a longer one keeps its start and end around a note."""
    if len(text) <= limit:
        shown = visible(text)
        if len(shown) <= limit:
            return shown
    told = f"; full text {where}" if where else ""
    note = f" … [{size(text)} in all, cut here{told}] … "
    keep = limit - len(note)
    if keep < 2:
        return (visible(text[:limit - 1]) + "…")[:limit]
    head, tail = keep * 3 // 4, keep - keep * 3 // 4
    return visible(text[:head])[:head] + note + visible(text[-tail:])[-tail:]


def summary(text: str, where: str) -> str:
    """What a long text was: its size and lines, its first lines, and where the full text is."""
    lines = text.count("\n") + (not text.endswith("\n"))
    quoted = [visible(line[:_LINE_CHARS]) + ("…" if len(line) > _LINE_CHARS else "")
              for line in text[:_HEAD_LINES * (_LINE_CHARS + 1)].split("\n")[:_HEAD_LINES]]
    return (f"[{size(text)} of output in {lines:,} line{'' if lines == 1 else 's'}; first lines: "
            f"{' ⏎ '.join(quoted)}; full text {where}]")


def size(text: str) -> str:
    """A text's size in UTF-8 as a person reads it: 812 bytes, 12.5 KiB, 8.0 MiB."""
    n = len(text.encode("utf-8", "surrogatepass"))
    if n >= _MIB:
        return f"{n / _MIB:.1f} MiB"
    return f"{n / _KIB:.1f} KiB" if n >= _KIB else f"{n:,} bytes"


class _Budget:
    """Caps one observed (or expected) mapping: each text, each container's length, the nesting, the total."""

    def __init__(self, caps: Caps, where: str) -> None:
        self.caps = caps
        self.where = where
        self.left = caps.values

    def mapping(self, values: Mapping[Any, Any], depth: int) -> dict[Any, Any]:
        kept: dict[Any, Any] = {}
        for index, (key, value) in enumerate(values.items()):
            if index >= self.caps.items or self.left <= 0:
                kept["…"] = self._more(len(values) - index, "entries")
                break
            name = cut(key, KEY_CHARS) if isinstance(key, str) else key
            self.left -= len(str(name)) + 4
            kept[name] = self.value(value, depth + 1)
        return kept

    def value(self, value: Any, depth: int) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if value is None or isinstance(value, bool | int | float):
            self.left -= 8
            return value
        if isinstance(value, Mapping | list | tuple) and depth >= self.caps.depth:
            return self.text(f"[{len(value):,} entries nested deeper than {self.caps.depth} levels; full data "
                             f"{self.where}]")
        if isinstance(value, Mapping):
            return self.mapping(value, depth)
        if isinstance(value, list | tuple):
            return self.sequence(value, depth)
        # Anything else is written as its str() (files.dump_json): kept as it is unless that text is long.
        text = str(value)
        return self.text(text) if len(text) > self.caps.text else value

    def sequence(self, values: list[Any] | tuple[Any, ...], depth: int) -> list[Any] | tuple[Any, ...]:
        kept = []
        for index, item in enumerate(values):
            if index >= self.caps.items or self.left <= 0:
                kept.append(self._more(len(values) - index, "items"))
                break
            kept.append(self.value(item, depth + 1))
        return tuple(kept) if isinstance(values, tuple) else kept

    def text(self, value: str) -> str:
        shown = visible(value) if len(value) <= self.caps.text else None
        if shown is None or len(shown) > self.caps.text:
            shown = summary(value, self.where)
        self.left -= len(shown) + 2
        return shown

    def _more(self, count: int, what: str) -> str:
        note = f"… and {count:,} more {what}; full data {self.where}"
        self.left -= len(note)
        return note
