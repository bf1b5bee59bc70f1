"""The report's words: English source texts (the catalogue's msgids) and `Words`, which gives them, check
titles, finding messages and remediation in one language, with dates and numbers in its style.

The Danish texts are in the gettext catalogue auditor/locale/da/LC_MESSAGES/auditor.po (see docs/report.md:
`make catalogue` extracts new texts, a translator fills them in, no code changes).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from auditor.models import Scope
from auditor.report.catalogue import Catalogue, catalogue

COPENHAGEN = ZoneInfo("Europe/Copenhagen")


def N_(text: str) -> str:
    """Marks an English text for the catalogue (gettext's name for it); it is translated where it is shown."""
    return text


LABELS = {
    "title": N_("Security measures evidence report"),
    "subtitle": N_("Technical evidence for the data-processing agreement, structured after the D-mærket criteria"),
    "processor": N_("Data processor"), "controller": N_("Data controller"), "agreement": N_("Agreement"),
    "period": N_("Period covered"), "generated": N_("Evidence collected"), "scanner": N_("Scanner"),
    "run": N_("Run"), "profile": N_("Profile"), "manifest": N_("Evidence manifest SHA-256"), "cvr": N_("CVR"),
    "contact": N_("Contact"), "contents": N_("Contents"), "replay_of": N_("re-evaluation of run {run}"),
    "evaluated": N_("Re-evaluated"), "collected_by": N_("by run {run}, judged then under profile {profile}"),
    "interrupted": N_("The run was interrupted: the evidence is incomplete."),
    "end_of_day": N_("end of {day} (Copenhagen time)"),
    "roles": N_("roles"), "locations": N_("locations"), "tags": N_("tags"), "all_targets": N_("all targets"),
    "not_assessed_warning": N_("{count} of {total} targets could not be assessed ({names}): nothing was judged on "
                               "them, so the score and the verdicts below speak for the other targets only. The "
                               "inventory gives each reason."),
    "scope_title": N_("Scope and limits"),
    "scope_text": N_("This is a technical evidence report prepared by the data processor with the auditor tool. "
                     "It is structured after the D-mærket criteria but is not issued by D-mærket, is not a "
                     "certification and is not an auditor's assurance report (ISAE 3000/3402). It shows what "
                     "was observed on the listed targets at the time of the scan; organisational measures are "
                     "shown as attested, never as passed by a scan."),
    "summary": N_("Executive summary"), "requirement": N_("Requirement"), "verdict": N_("Verdict"),
    "score": N_("Score"), "overall_score": N_("Compliance score"),
    "score_of": N_("{passed} of {applicable} applicable checks pass"),
    "score_rule": N_("Rule: a check counts once per target. It passes when none of its results failed (a warning "
                     "or an approved exception counts as passing) and applies when it passed or failed; not "
                     "applicable, skipped, errors and attestations are not counted. Score = passing ÷ applicable."),
    "no_score": N_("no check applied"),
    "trend": N_("Trend"), "trend_none": N_("No earlier run of the same targets is recorded; the trend starts here."),
    "trend_runs": N_("Score of the last {count} runs of the same targets"),
    "legend": N_("Legend"), "top5": N_("Most serious deviations"), "none": N_("None"),
    "affected": N_("{count} targets"), "affected_one": N_("1 target"),
    "targets_fail": N_("{count} failed"), "targets_warn": N_("{count} with a warning"),
    "met_of": N_("{met} of {judged} targets meet it"),
    "met_none": N_("none of {judged} targets meets it"),
    "changes": N_("Since the previous run"),
    "changes_line": N_("{new} new failures, {fixed} fixed, {still} still failing"),
    "contents_annex": N_("Requirements"),
    "annex": N_("Agreement text"), "refs": N_("References"), "how_tested": N_("How it is tested"),
    "dmaerket": N_("D-mærket"), "iso": N_("ISO/IEC 27001:2022"), "cis": N_("CIS Controls v8"),
    "evidence_class": N_("Evidence"), "parameters": N_("Parameters"), "not_scannable": N_("Not provable by scanning"),
    "results": N_("Results across targets"), "check": N_("Check"), "result": N_("Result"), "findings": N_("Findings"),
    "passed_on": N_("passed on {targets}"), "details_under": N_("problems are described under {requirement}"),
    "and_more": N_("and {count} more"), "and_more_targets": N_("and {count} more targets"),
    "and_more_files": N_("and {count} more files"), "and_one_more_file": N_("and 1 more file"),
    "evidence": N_("Evidence"), "evidence_ref": N_("evidence"),
    "observed": N_("Observed"), "expected": N_("Expected"),
    "no_results": N_("No check gave a result for this requirement in this run."),
    "also_counted": N_("Also counted here (described under the requirement named)"),
    "undecided": N_("Not applicable or skipped here (reasons in the appendix)"),
    "not_collected": N_("Could not be tested here: the evidence could not be collected (reasons in the appendix)"),
    "all_waivers": N_("Exceptions (waivers) in the profile"),
    "attestation_title": N_("Attestation {id}"),
    "attestations": N_("Attestations"), "attestor": N_("Attested by"), "statement": N_("Statement"),
    "date": N_("Date"), "next_review": N_("Next review"), "maturity": N_("Maturity"), "artefacts": N_("Artefacts"),
    "waivers": N_("Exceptions (waivers)"), "reason": N_("Reason"), "approver": N_("Approved by"),
    "expires": N_("Expires"), "risk": N_("Risk"), "state": N_("State"), "scope": N_("Scope"),
    # What a waiver covered ("covers PATCH-0010 on app-2, db-1"), or, expired or unused, would have covered
    "covers": N_("covers {findings}"), "would_have_covered": N_("would have covered {findings}"),
    "check_on": N_("{check} on {target}"),
    "deviations": N_("Deviations and remediation plan"),
    "deviations_intro": N_("One row per check that failed or warned, most serious first; the remediation shown "
                           "is the one for each affected target's own operating system."),
    "no_deviations": N_("No deviations were found."),
    "severity": N_("Severity"), "targets": N_("Targets"), "target": N_("Target"), "remediation": N_("Remediation"),
    "appendices": N_("Appendices"), "inventory": N_("Inventory"), "kind": N_("Kind"), "system": N_("System"),
    "role": N_("Role"), "location": N_("Location"), "privileges": N_("Privileges"), "assessed": N_("Assessed"),
    "not_assessed": N_("not assessed"), "evidence_files": N_("Evidence files"),
    "evidence_index": N_("Evidence index"),
    "evidence_index_text": N_("{files} evidence files, each recorded with its SHA-256 in evidence/manifest.json "
                              "(SHA-256 of the index: {sha}). Every finding in the HTML report links to its files; "
                              "each file holds the exact command or path, its output and when it was collected."),
    "method": N_("Method"),
    "method_text": N_("auditor {version} read each target with read-only commands (locally, over SSH with verified "
                      "host keys, or as a TLS client), recorded every output as evidence with its SHA-256, and "
                      "judged it with {checks} checks under the profile {profile} (SHA-256 {sha}). Checks are "
                      "pure functions of the recorded evidence, so the same evidence always gives the same "
                      "verdicts."),
    "method_signed": N_("The run folder is signed: `auditor verify` checks every file of it against manifest.sig."),
    "method_unsigned": N_("The run folder is not signed (no signing key was set up), so nothing but its "
                          "SHA-256 values ties its files together."),
    "signature": N_("Signature"), "signed_yes": N_("signed (Ed25519, manifest.sig)"),
    "signed_no": N_("not signed"),
    "not_evidenced_title": N_("Not tested and not applicable"),
    "errors": N_("Could not be tested"), "skipped": N_("Skipped and not applicable"),
    "yes": N_("yes"), "no": N_("no"), "footer": N_("Evidence report"), "page": N_("Page"), "of": N_("of"),
    "generated_by": N_("auditor {version}"),
    # The HTML drill-down
    "explore": N_("All findings"), "filter_status": N_("Status"), "filter_severity": N_("Severity"),
    "filter_requirement": N_("Requirement"), "filter_target": N_("Target"), "search": N_("Search"),
    "search_hint": N_("words in a finding, check or target"), "all": N_("all"), "reset": N_("Show all"),
    "showing": N_("Showing {shown} of {total} findings"), "raw": N_("Raw evidence"),
    "per_target": N_("Targets"), "show_findings": N_("Show its findings"), "show_failures": N_("Show failures"),
    "sort_hint": N_("Click a column heading to sort."), "message": N_("Finding"), "resource": N_("Resource"),
    "file": N_("File"), "source": N_("Source"), "collected": N_("Collected"),
}

# A requirement's verdict (report/verdicts.py), and what it means (the legend).
VERDICTS = {
    "pass": N_("met"), "fail": N_("not met"), "partial": N_("partly met"),
    "pass_with_exception": N_("met with exception"), "attested": N_("attested"),
    "not_applicable": N_("not applicable"), "not_tested": N_("not tested"),
}
LEGEND = {
    "pass": N_("every target judged meets it"),
    "pass_with_exception": N_("met, with a deviation the controller approved (waiver)"),
    "partial": N_("some targets meet it and some do not; the count is given"),
    "fail": N_("no target judged meets it"),
    "attested": N_("evidenced by a signed statement, not by a scan"),
    "not_tested": N_("nothing evidenced it; the reason is given"),
    "not_applicable": N_("every check decided it does not apply"),
}
# Why a requirement was not tested (verdicts.Reason.kind).
REASONS = {
    "no_checks": N_("No check in this run gives evidence for it, and the profile records no attestation."),
    "no_attestation": N_("Only an attestation can evidence it, and the profile records none: add one under "
                         "attestations."),
    "no_targets": N_("Its checks ({checks}) run on {kinds} targets, and the inventory has none: add them to "
                     "the inventory."),
    "not_run": N_("Its checks ({checks}) were left out of this run."),
    "out_of_scope": N_("It concerns only targets with {scope}, and this run has none."),
    "not_evidenced": N_("No check could decide it:"),
    "not_applicable": N_("Every check decided it does not apply:"),
    "on_targets": N_("{text} ({count} targets)"), "on_target_one": N_("{text} (1 target)"),
}
# A finding's status.
STATUSES = {
    "pass": N_("passed"), "fail": N_("failed"), "warn": N_("warning"), "error": N_("error"),
    "not_applicable": N_("not applicable"), "skipped": N_("skipped"), "manual": N_("attested"),
    "waived": N_("waived"), "active": N_("active"), "expired": N_("expired"), "unused": N_("unused"),
}
# A status after a count other than one, where English and Danish say it in the plural ("2 warnings").
COUNTED_STATUSES = {"warn": N_("warnings"), "error": N_("errors")}
SEVERITIES = {"critical": N_("critical"), "high": N_("high"), "medium": N_("medium"), "low": N_("low"),
              "info": N_("info")}
EVIDENCE_CLASSES = {
    "automated": N_("automated: a scan decides"),
    "semi": N_("a scan compared with a specification the controller approved"),
    "attested": N_("attestation: a signed statement, never a scan"),
}
VALUES = {  # target kinds, roles, locations, platforms, privileges
    "local": N_("local"), "ssh": N_("SSH"), "tls": N_("TLS endpoint"), "workstation": N_("workstation"),
    "server": N_("server"), "endpoint": N_("endpoint"), "office": N_("office"), "home": N_("home"),
    "datacenter": N_("data centre"), "other": N_("other"), "linux": N_("Linux"), "macos": N_("macOS"),
    "windows": N_("Windows"), "": N_("other systems"), "root": N_("administrator"),
    "unprivileged": N_("unprivileged"),
}
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"]
_MONTHS_DA = ["januar", "februar", "marts", "april", "maj", "juni", "juli", "august", "september", "oktober",
              "november", "december"]
# "Windows: ... macOS: ... Linux: ..." in a check's remediation (English or Danish "og" for "and").
_OS_PART = re.compile(r"(?:^|(?<=[.;]\s))((?:Linux|macOS|Windows)(?:,? (?:and|og) (?:Linux|macOS|Windows))*):\s")
_PLATFORM_WORD = {"linux": "Linux", "macos": "macOS", "windows": "Windows"}


class Words:
    """Every text of a report in one language: labels, verdicts, check titles, findings, remediation."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.catalogue: Catalogue = catalogue(lang)

    def text(self, english: str) -> str:
        """A catalogued text (a title, an annex sentence, a parameter description); English when missing."""
        return self.catalogue.text(english)

    def t(self, key: str, **values: object) -> str:
        """A label of the report, with `{name}` filled from values."""
        text = self.text(LABELS[key])
        return text.format(**values) if values else text

    def title(self, english: str, attestation: str = "") -> str:
        """A check's title; an attestation's ("Attestation A1") when `attestation` names one."""
        return self.t("attestation_title", id=attestation) if attestation else self.text(english)

    def verdict(self, status: str) -> str:
        return self.text(VERDICTS.get(status, status))

    def legend(self, status: str) -> str:
        return self.text(LEGEND[status])

    def reason(self, kind: str, **values: object) -> str:
        return self.text(REASONS[kind]).format(**values)

    def st(self, status: str) -> str:
        return self.text(STATUSES.get(status, status))

    def counted(self, count: int, status: str) -> str:
        """A count of findings of one status: '1 warning', '2 warnings', '3 failed'."""
        label = COUNTED_STATUSES.get(status) if count != 1 else None
        return f"{self.num(count)} {self.text(label) if label else self.st(status)}"

    def sev(self, severity: str) -> str:
        return self.text(SEVERITIES.get(severity, severity))

    def evidence_class(self, value: str) -> str:
        return self.text(EVIDENCE_CLASSES.get(value, value))

    def value(self, value: str) -> str:
        return self.text(VALUES.get(value, value))

    def values(self, values: Iterable[str]) -> str:
        return ", ".join(self.value(v) for v in values)

    def waiver_scope(self, scope: Scope) -> str:
        """A waiver's scope in the report's language: 'roles: server; locations: data centre'."""
        parts = [f"{self.t(key).lower()}: {self.values(values) if key in ('roles', 'locations') else ', '.join(values)}"
                 for key, values in (("targets", scope.targets), ("roles", scope.roles),
                                     ("locations", scope.locations), ("tags", scope.tags)) if values]
        return "; ".join(parts) or self.t("all_targets")

    def scope(self, pairs: Iterable[tuple[str, str]]) -> str:
        """What a requirement speaks of: (("role", "workstation"), ("location", "home")) -> 'role workstation,
        location home'."""
        return ", ".join(f"{self.t(key).lower()} {self.value(value)}" for key, value in pairs)

    def msg(self, english: str) -> str:
        """A finding's message (or a skip reason), matched against the catalogue's message templates."""
        return self.catalogue.message(english)

    def remediation(self, english: str, platform: str = "") -> str:
        """A check's remediation, only the part for `platform` when it names operating systems."""
        return remediation_for(self.text(english), platform)

    def datetime(self, moment: dt.datetime) -> str:
        """A moment in Copenhagen and UTC time, written as the language writes it."""
        return format_datetime(self.lang, moment)

    def until(self, moment: dt.datetime) -> str:
        """When something stops holding (a waiver's expiry). A profile's date means the end of that day in
        Copenhagen, i.e. midnight after it: that is said as the day the controller wrote, not the next one."""
        local = moment.astimezone(COPENHAGEN)
        if local.time() != dt.time(0):
            return format_datetime(self.lang, moment)
        return self.t("end_of_day", day=format_date(self.lang, local.date() - dt.timedelta(days=1)))

    def date(self, moment: dt.datetime | dt.date | str) -> str:
        """A day (of a moment, a date or an ISO date string), written as the language writes it."""
        return format_date(self.lang, moment)

    def num(self, value: float) -> str:
        return format_number(self.lang, value)


def remediation_for(text: str, platform: str) -> str:
    """The part of a remediation for one operating system ("Windows: ... macOS: ... Linux: ..."), as a sentence
    of its own (its first letter capital); the whole text when it names none, or none of them is the platform."""
    marks = list(_OS_PART.finditer(text))
    word = _PLATFORM_WORD.get(platform)
    if not marks or word is None:
        return text
    for index, mark in enumerate(marks):
        if word in mark.group(1):
            end = marks[index + 1].start() if index + 1 < len(marks) else len(text)
            part = text[mark.end():end].strip()
            return part[:1].upper() + part[1:]
    return text


def format_datetime(lang: str, moment: datetime) -> str:
    """'26 November 2026, 15:29 CET (14:29 UTC)' / '26. november 2026 kl. 15:29 CET (14:29 UTC)'."""
    local = moment.astimezone(COPENHAGEN)
    utc = moment.astimezone(ZoneInfo("UTC"))
    zone = local.tzname()
    if lang == "da":
        return f"{local.day}. {_MONTHS_DA[local.month - 1]} {local.year} kl. {local:%H:%M} {zone} ({utc:%H:%M} UTC)"
    return f"{local.day} {_MONTHS[local.month - 1]} {local.year}, {local:%H:%M} {zone} ({utc:%H:%M} UTC)"


def format_date(lang: str, moment: datetime | date | str) -> str:
    """'26 November 2026' / '26. november 2026'; an ISO date string is read first."""
    if isinstance(moment, str):
        try:
            day = date.fromisoformat(moment[:10])
        except ValueError:
            return moment
    elif isinstance(moment, datetime):
        day = moment.astimezone(COPENHAGEN) if moment.tzinfo else moment
    else:
        day = moment
    if lang == "da":
        return f"{day.day}. {_MONTHS_DA[day.month - 1]} {day.year}"
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def format_number(lang: str, value: float) -> str:
    """Thousands and decimals as each language writes them: 1,234.5 / 1.234,5."""
    text = f"{value:,.1f}" if isinstance(value, float) and not value.is_integer() else f"{int(value):,}"
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".") if lang == "da" else text
