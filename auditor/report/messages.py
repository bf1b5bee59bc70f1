"""The report's words in English and Danish, and dates and numbers in each language's style."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
LANGUAGES = ("en", "da")

_EN = {
    "title": "Security measures evidence report",
    "subtitle": "Technical evidence for the data-processing agreement, structured after the D-mærket criteria",
    "processor": "Data processor", "controller": "Data controller", "agreement": "Agreement",
    "period": "Period covered", "generated": "Evidence collected", "scanner": "Scanner", "run": "Run",
    "profile": "Profile", "manifest": "Evidence manifest SHA-256", "cvr": "CVR", "contact": "Contact",
    "scope_title": "Scope and limits",
    "scope_text": "This is a technical evidence report prepared by the data processor with the auditor tool. "
                  "It is structured after the D-mærket criteria but is not issued by D-mærket, is not a "
                  "certification and is not an auditor's assurance report (ISAE 3000/3402). It shows what "
                  "was observed on the listed targets at the time of the scan; organisational measures are "
                  "shown as attested, never as passed by a scan.",
    "summary": "Summary", "requirement": "Requirement", "status": "Status", "dmaerket": "D-mærket",
    "iso": "ISO/IEC 27001:2022", "cis": "CIS Controls v8", "evidence": "Evidence", "evidence_files": "evidence files",
    "top5": "Most serious deviations", "none": "None", "per_requirement": "Status per requirement",
    "per_target": "Findings per target", "matrix": "Targets by requirements",
    "annex": "Agreement text", "how_tested": "How it is tested", "checks": "Checks",
    "parameters": "Parameters", "results": "Results", "not_scannable": "Not provable by scanning",
    "no_checks": "No automated check gives evidence for this requirement in this run.",
    "target": "Target", "check": "Check", "observed": "Observed", "expected": "Expected",
    "message": "Finding", "severity": "Severity", "remediation": "Remediation",
    "deviations": "Deviations and remediation plan", "no_deviations": "No deviations were found.",
    "attestations": "Attestations", "waivers": "Exceptions (waivers)", "reason": "Reason",
    "approver": "Approved by", "expires": "Expires", "risk": "Risk", "state": "State",
    "appendices": "Appendices", "inventory": "Target inventory", "system": "System", "role": "Role",
    "location": "Location", "reachability": "Assessed", "method": "Method", "evidence_index": "Evidence index",
    "file": "File", "collected": "Collected", "source": "Source", "skipped": "Skipped and not applicable",
    "errors": "Errors (incomplete evidence)", "privileges": "Privileges", "yes": "yes", "no": "no",
    "passing_summary": "Passing results are summarised in the matrix; every detail is in the HTML report.",
    "more_in_html": "more entries in the HTML report",
    "page": "Page", "of": "of", "kind": "Kind", "tool_version": "Tool version", "pass_rule": "Pass rule",
    "evidence_class": "Evidence type",
    "changes": "Changes since the previous run", "new_failures": "New failures", "fixed": "Fixed",
    "still_failing": "Still failing", "new_targets": "New targets", "removed_targets": "Removed targets",
    "expired_waivers": "Waivers expired since",
}
_DA = {
    "title": "Evidensrapport for sikkerhedsforanstaltninger",
    "subtitle": "Teknisk evidens for databehandleraftalen, struktureret efter D-mærkets kriterier",
    "processor": "Databehandler", "controller": "Dataansvarlig", "agreement": "Aftale",
    "period": "Periode", "generated": "Evidens indsamlet", "scanner": "Scanner", "run": "Kørsel",
    "profile": "Profil", "manifest": "SHA-256 af evidensmanifest", "cvr": "CVR", "contact": "Kontakt",
    "scope_title": "Omfang og begrænsninger",
    "scope_text": "Dette er en teknisk evidensrapport udarbejdet af databehandleren med værktøjet auditor. "
                  "Den er struktureret efter D-mærkets kriterier, men er ikke udstedt af D-mærket, er ikke en "
                  "certificering og er ikke en revisorerklæring (ISAE 3000/3402). Den viser, hvad der blev "
                  "observeret på de angivne enheder på scanningstidspunktet; organisatoriske foranstaltninger "
                  "vises som attesteret, aldrig som bestået ved en scanning.",
    "summary": "Resumé", "requirement": "Krav", "status": "Status", "dmaerket": "D-mærket",
    "iso": "ISO/IEC 27001:2022", "cis": "CIS Controls v8", "evidence": "Evidens", "evidence_files": "evidensfiler",
    "top5": "De alvorligste afvigelser", "none": "Ingen", "per_requirement": "Status pr. krav",
    "per_target": "Fund pr. enhed", "matrix": "Enheder og krav",
    "annex": "Aftaletekst", "how_tested": "Sådan testes det", "checks": "Kontroller",
    "parameters": "Parametre", "results": "Resultater", "not_scannable": "Kan ikke påvises ved scanning",
    "no_checks": "Ingen automatisk kontrol giver evidens for dette krav i denne kørsel.",
    "target": "Enhed", "check": "Kontrol", "observed": "Observeret", "expected": "Forventet",
    "message": "Fund", "severity": "Alvor", "remediation": "Udbedring",
    "deviations": "Afvigelser og udbedringsplan", "no_deviations": "Der blev ikke fundet afvigelser.",
    "attestations": "Attesteringer", "waivers": "Undtagelser (dispensationer)", "reason": "Begrundelse",
    "approver": "Godkendt af", "expires": "Udløber", "risk": "Risiko", "state": "Tilstand",
    "appendices": "Bilag", "inventory": "Oversigt over enheder", "system": "System", "role": "Rolle",
    "location": "Placering", "reachability": "Vurderet", "method": "Metode", "evidence_index": "Evidensindeks",
    "file": "Fil", "collected": "Indsamlet", "source": "Kilde", "skipped": "Sprunget over og ikke relevant",
    "errors": "Fejl (ufuldstændig evidens)", "privileges": "Rettigheder", "yes": "ja", "no": "nej",
    "passing_summary": "Beståede resultater er sammenfattet i matricen; alle detaljer står i HTML-rapporten.",
    "more_in_html": "flere poster i HTML-rapporten",
    "page": "Side", "of": "af", "kind": "Type", "tool_version": "Værktøjsversion", "pass_rule": "Bestået når",
    "evidence_class": "Evidenstype",
    "changes": "Ændringer siden forrige kørsel", "new_failures": "Nye afvigelser", "fixed": "Udbedret",
    "still_failing": "Stadig afvigende", "new_targets": "Nye enheder", "removed_targets": "Fjernede enheder",
    "expired_waivers": "Dispensationer udløbet siden",
}
_STATUS = {
    "en": {"pass": "pass", "fail": "fail", "partial": "partial", "pass_with_exception": "pass with exception",
           "attested": "attested", "not_tested": "not tested", "not_applicable": "not applicable", "warn": "warning",
           "error": "error", "skipped": "skipped", "manual": "attested", "waived": "waived",
           "automated": "automated", "semi": "scan compared with an approved specification", "attested_only":
           "attestation", "active": "active", "expired": "expired", "unused": "unused"},
    "da": {"pass": "bestået", "fail": "ikke bestået", "partial": "delvist", "pass_with_exception":
           "bestået med undtagelse", "attested": "attesteret", "not_tested": "ikke testet",
           "not_applicable": "ikke relevant", "warn": "advarsel", "error": "fejl", "skipped": "sprunget over",
           "manual": "attesteret", "waived": "undtaget", "automated": "automatisk",
           "semi": "scanning sammenholdt med godkendt specifikation", "attested_only": "attestering",
           "active": "aktiv", "expired": "udløbet", "unused": "ubrugt"},
}
_MONTHS = {
    "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"],
    "da": ["januar", "februar", "marts", "april", "maj", "juni", "juli", "august", "september", "oktober",
           "november", "december"],
}


def label(lang: str, key: str) -> str:
    return (_DA if lang == "da" else _EN)[key]


def status_label(lang: str, status: str) -> str:
    return _STATUS[lang].get(status, status)


def format_datetime(lang: str, moment: datetime) -> str:
    """'26 November 2026, 15:29 CET (14:29 UTC)' / '26. november 2026 kl. 15:29 CET (14:29 UTC)'."""
    local = moment.astimezone(COPENHAGEN)
    utc = moment.astimezone(ZoneInfo("UTC"))
    month = _MONTHS[lang][local.month - 1]
    zone = local.tzname()
    if lang == "da":
        return f"{local.day}. {month} {local.year} kl. {local:%H:%M} {zone} ({utc:%H:%M} UTC)"
    return f"{local.day} {month} {local.year}, {local:%H:%M} {zone} ({utc:%H:%M} UTC)"


def format_date(lang: str, moment: datetime) -> str:
    local = moment.astimezone(COPENHAGEN) if moment.tzinfo else moment
    month = _MONTHS[lang][local.month - 1]
    return f"{local.day}. {month} {local.year}" if lang == "da" else f"{local.day} {month} {local.year}"


def format_number(lang: str, value: float) -> str:
    """Thousands and decimals as each language writes them: 1,234.5 / 1.234,5."""
    text = f"{value:,.1f}" if isinstance(value, float) and not value.is_integer() else f"{int(value):,}"
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".") if lang == "da" else text
