"""The gettext message catalogue of the report: auditor/locale/<lang>/LC_MESSAGES/auditor.po, read with Babel.

English is the source language (the msgids), so English needs no catalogue. The .po file is read directly
(no compiled .mo), so a fresh checkout renders Danish without a build step; a fuzzy or empty entry counts as
missing and shows the English text (and fails tests/auditor/report/test_catalogue.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from auditor.records import record
from auditor.report.message_templates import Matcher

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "auditor"
# Catalogue entries found in these files are finding messages and their fragments (matched as templates);
# the others (report labels, profile texts) are looked up as they are.
_MESSAGE_SOURCES = ("checks/", "auditor/collectors/", "auditor/runner.py", "auditor/plan.py",
                    "auditor/transports/", "auditor/attestations.py")


@record
class Entry:
    """One catalogue entry: the English text, its translation ("" when missing) and where it comes from."""

    msgid: str
    msgstr: str
    locations: tuple[str, ...]
    comments: tuple[str, ...] = ()

    @property
    def is_message(self) -> bool:
        return any(loc.startswith(_MESSAGE_SOURCES) for loc in self.locations)


@dataclass
class Catalogue:
    """The translations of one language: texts looked up as they are, messages matched as templates."""

    lang: str
    texts: Mapping[str, str] = field(default_factory=dict)
    messages: Matcher = field(default_factory=lambda: Matcher({}))

    def text(self, english: str) -> str:
        """A text looked up as it is; a check's own text is catalogued with its braces doubled ({{ }})."""
        if not self.texts:  # English: every text is its own translation
            return english
        found = self.texts.get(english)
        if found:
            return found
        doubled = self.texts.get(english.replace("{", "{{").replace("}", "}}"))
        return doubled.replace("{{", "{").replace("}}", "}") if doubled else english

    def message(self, english: str) -> str:
        return self.messages.translate(english) if self.texts else english


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def entries(lang: str) -> list[Entry]:
    """Every entry of a language's .po file (translated or not; obsolete ones left out)."""
    from babel.messages.pofile import read_po

    with po_path(lang).open("rb") as handle:
        po = read_po(handle, locale=lang, domain=DOMAIN)
    found = []
    for message in po:
        if not message.id or not isinstance(message.id, str):
            continue
        text = message.string if isinstance(message.string, str) and not message.fuzzy else ""
        found.append(Entry(message.id, text, tuple(f"{path}:{line}" for path, line in message.locations),
                           tuple(message.auto_comments)))
    return found


@cache
def catalogue(lang: str) -> Catalogue:
    """The catalogue of a language (English: none, every text is its own translation)."""
    if lang == "en" or not po_path(lang).is_file():
        return Catalogue(lang)
    translated = [e for e in entries(lang) if e.msgstr]
    return Catalogue(lang, texts={e.msgid: e.msgstr for e in translated},
                     messages=Matcher({e.msgid: e.msgstr for e in translated if e.is_message}))


def missing(lang: str) -> list[Entry]:
    """Entries a translator still has to fill in (new, or fuzzy after the English changed)."""
    return [e for e in entries(lang) if not e.msgstr]


if __name__ == "__main__":  # `make catalogue`: what is left to translate
    for language in (p.parent.parent.name for p in sorted(LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))):
        todo = missing(language)
        print(f"{po_path(language).relative_to(LOCALE_DIR.parent.parent)}: {len(entries(language))} texts, "
              f"{len(todo)} to translate" + "".join(f"\n  {e.locations[0] if e.locations else ''}: {e.msgid[:90]}"
                                                    for e in todo[:20]) + ("\n  ..." if len(todo) > 20 else ""))
