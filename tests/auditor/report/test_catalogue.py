"""The Danish message catalogue: complete for every text the sources hold, and finding messages translated by
matching them against their templates."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

from auditor.pipeline import load_checks
from auditor.profile import load_profile
from auditor.report import messages
from auditor.report.catalogue import LOCALE_DIR, catalogue, entries
from auditor.report.message_templates import Matcher, placeholders

ROOT = LOCALE_DIR.parent.parent
TODO = "run `make catalogue` and translate the new entries in auditor/locale/da/LC_MESSAGES/auditor.po"
_OS = re.compile(r"(?:^|(?<=[.;]\s))((?:Linux|macOS|Windows)(?:,? (?:and|og) (?:Linux|macOS|Windows))*):\s")


@pytest.fixture(scope="module")
def danish():
    return {e.msgid: e for e in entries("da")}


@pytest.fixture(scope="module")
def extracted():
    """Every text `make catalogue` would extract from the sources today."""
    with (LOCALE_DIR / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    keywords = {"N_": None, "_": None}
    return {message for _file, _line, message, _comments, _context in
            extract_from_dir(str(ROOT), method_map, options_map, keywords=keywords)}


def test_every_text_of_the_sources_has_a_danish_translation(extracted, danish):
    # Given every text the sources hold today (report labels, check titles and remediation, finding-message
    # templates, requirement texts), When each is looked up in the Danish catalogue
    missing = sorted(text for text in extracted if text not in danish or not danish[text].msgstr)
    # Then none is missing, new or fuzzy
    assert not missing, f"{len(missing)} texts have no Danish translation ({TODO}):\n" + "\n".join(missing[:40])


def test_check_titles_remediation_requirements_statuses_and_severities_are_translated(danish):
    # Given what a report shows of each check and requirement, and its fixed words
    profile = load_profile()
    checks = load_checks(profile).values()
    wanted = [*(s.title for s in checks), *(s.remediation for s in checks),
              *(r.title for r in profile.requirements), *(text for r in profile.requirements for text in r.annex),
              *messages.STATUSES.values(), *messages.SEVERITIES.values(), *messages.VERDICTS.values(),
              *messages.LEGEND.values(), *messages.LABELS.values(), *messages.REASONS.values()]
    # Then each has a Danish translation (a check's own text is catalogued with its braces doubled)
    def translated(text: str) -> bool:
        entry = danish.get(text) or danish.get(text.replace("{", "{{").replace("}", "}}"))
        return bool(entry and entry.msgstr)

    missing = [text for text in wanted if not translated(text)]
    assert not missing, f"{TODO}:\n" + "\n".join(missing[:40])


def test_translations_use_only_their_template_placeholders_and_keep_the_os_labels(danish):
    for entry in danish.values():
        if not entry.msgstr:
            continue
        # A translation names no placeholder its English text lacks (it may drop one, e.g. a plural "s")
        assert placeholders(entry.msgstr) <= placeholders(entry.msgid), (entry.msgid, entry.msgstr)
        # A remediation keeps "Windows:", "macOS:", "Linux:" so that each target gets its own OS's part
        english = {os for m in _OS.finditer(entry.msgid) for os in re.findall(r"Linux|macOS|Windows", m.group(1))}
        translated = {os for m in _OS.finditer(entry.msgstr) for os in re.findall(r"Linux|macOS|Windows", m.group(1))}
        assert english == translated, (entry.msgid, entry.msgstr)


def test_every_message_template_translates_a_message_made_from_it(danish):
    # Given each catalogued finding-message template, filled with values no template matches
    checked = 0
    for entry in danish.values():
        names = placeholders(entry.msgid)
        if not (entry.msgstr and entry.is_message and names):
            continue
        values = {name: f"<{name}-value>" for name in names}
        # When the message a check would write is translated
        translated = catalogue("da").message(entry.msgid.format(**values))
        # Then it is the Danish template with the same values
        assert translated == entry.msgstr.format(**values), entry.msgid
        checked += 1
    assert checked > 100


def test_fragments_in_placeholders_sentences_and_bracketed_words_are_translated():
    matcher = Matcher({
        "{device} (mounted at {mounts}, {fstype}) is not encrypted.":
            "{device} (monteret på {mounts}, {fstype}) er ikke krypteret.",
        "unknown filesystem": "ukendt filsystem",
        "The audit trail is incomplete: {problems}.": "Revisionssporet er ufuldstændigt: {problems}.",
        "no rules are loaded": "ingen regler er indlæst",
        "no rule records logins ({files})": "ingen regel registrerer logins ({files})",
        "`{name}` exited {exit_status}{choice}": "`{name}` afsluttede med kode {exit_status}{choice}",
        "Logs are kept.": "Logge gemmes.", "{bits}-bit AES": "{bits}-bit AES", "not AES": "ikke AES",
        "allows ciphers below AES-{min}: {bad}": "tillader chiffre under AES-{min}: {bad}",
    })
    # A fragment filling a placeholder
    assert matcher.translate("/dev/vda (mounted at /, unknown filesystem) is not encrypted.") == \
        "/dev/vda (monteret på /, ukendt filsystem) er ikke krypteret."
    # Fragments joined by "; " in one placeholder
    message = "The audit trail is incomplete: no rules are loaded; no rule records logins (/var/log/wtmp)."
    assert matcher.translate(message) == \
        "Revisionssporet er ufuldstændigt: ingen regler er indlæst; ingen regel registrerer logins (/var/log/wtmp)."
    # What the host said is kept as it said it
    assert matcher.translate("`nft list ruleset` exited 1: Operation not permitted") == \
        "`nft list ruleset` afsluttede med kode 1: Operation not permitted"
    # Sentence by sentence; an unknown sentence is kept
    assert matcher.translate("Logs are kept. Frobnication is 7.") == "Logge gemmes. Frobnication is 7."
    # Names with words in brackets: the words are translated, the names kept
    assert matcher.translate("allows ciphers below AES-256: chacha20 (not AES), aes128-ctr (128-bit AES)") == \
        "tillader chiffre under AES-256: chacha20 (ikke AES), aes128-ctr (128-bit AES)"


def test_words_in_the_last_brackets_after_a_name_with_brackets_of_its_own_are_translated():
    # Given a volume whose name holds brackets ("Macintosh HD - Data (disk1s5)"), then its role in brackets, as a
    # macOS FileVault finding writes it
    matcher = Matcher({"{what}: {basis}, i.e. AES-{bits}.": "{what}: {basis}, dvs. AES-{bits}.",
                       "operating-system drive": "styresystemdrev", "fixed data drive": "fast datadrev"})
    # Then the role is translated and the name kept, as for a name without brackets
    assert matcher.translate("Macintosh HD - Data (disk1s5) (operating-system drive): FileVault, i.e. AES-128.") == \
        "Macintosh HD - Data (disk1s5) (styresystemdrev): FileVault, dvs. AES-128."
    assert matcher.translate("D: (fixed data drive)") == "D: (fast datadrev)"
    assert matcher.translate("a (b) c (d)") == "a (b) c (d)"


def test_the_matcher_prefers_the_most_specific_template_and_translates_sentence_by_sentence():
    # Given a general and a specific template, and a fragment
    matcher = Matcher({"{name} is on.": "{name} er slået til.",
                       "The firewall {name} is on.": "Firewallen {name} er til.",
                       "Logs are kept.": "Logge gemmes.", "unknown tool": "ukendt værktøj"})
    # Then the longer literal wins, each sentence is matched on its own, and unknown text is kept
    assert matcher.translate("The firewall ufw is on.") == "Firewallen ufw er til."
    assert matcher.translate("Logs are kept. Something else. ufw is on.") == \
        "Logge gemmes. Something else. ufw er slået til."
    assert matcher.translate("; unknown tool") == "; ukendt værktøj"


def test_a_fragment_capitalised_to_begin_a_sentence_is_translated_and_keeps_its_capital():
    # Given fragments catalogued in lower case, as checks write them before joining them into a sentence
    # (PATCH-0010: "Support status unknown: …; no package list of a security suite …")
    matcher = Matcher({"support status unknown: {release} is not in the table":
                       "supportstatus ukendt: {release} findes ikke i tabellen",
                       "no package list is on the host": "ingen pakkeliste findes på værten"})
    # Then the capitalised sentence is translated, its translation capitalised, and the rest as before
    assert matcher.translate("Support status unknown: Rocky 10 is not in the table; no package list is on the "
                             "host.") == \
        "Supportstatus ukendt: Rocky 10 findes ikke i tabellen; ingen pakkeliste findes på værten."
    assert matcher.translate("No package list is on the host") == "Ingen pakkeliste findes på værten"
    # And a name that only looks like a capitalised fragment is kept
    assert matcher.translate("Support Status Unknown") == "Support Status Unknown"


def test_english_has_no_catalogue_and_every_language_formats_its_own_dates():
    assert catalogue("en").message("No swap area is active.") == "No swap area is active."
    words = messages.Words("da")
    assert words.sev("high") == "høj" and words.verdict("partial") == "delvist opfyldt"
    assert words.date("2026-03-05") == "5. marts 2026" and messages.Words("en").date("2026-03-05") == "5 March 2026"


def test_remediation_is_cut_to_the_target_s_own_operating_system():
    text = ("Windows: turn on BitLocker. macOS: turn on FileVault. Linux and Windows: use restic. "
            "Linux: encrypt with LUKS2.")
    # the part stands as a sentence of its own in the plan
    assert messages.remediation_for(text, "macos") == "Turn on FileVault."
    assert messages.remediation_for(text, "windows") == "Turn on BitLocker."
    assert messages.remediation_for(text, "linux") == "Use restic."  # the first part that names it
    plain = "Set `Ciphers ...` and reload sshd."
    assert messages.remediation_for(plain, "linux") == plain
    assert messages.remediation_for(text, "") == text  # an endpoint has no OS: the whole text
    assert Path(LOCALE_DIR / "da" / "LC_MESSAGES" / "auditor.po").is_file()
