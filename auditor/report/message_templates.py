"""Translate a finding's English message by matching it against the catalogue's message templates.

A check writes `f"{volume.device} (mounted at {mounts}) is not encrypted: ..."`; the catalogue holds that
sentence as the template "{device} (mounted at {mounts}) is not encrypted: ..." (report/catalogue_extract.py)
with its Danish translation. Matching the message against the template's pattern gives the placeholder
values; each value is itself translated when it is a catalogued fragment ("unknown filesystem"), and the
Danish template is filled with them. A message built from several sentences is translated sentence by
sentence; text no template matches (a host's own output, names, paths) is kept as it is.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator, Mapping

from auditor.records import record

EDGES = " \t\n;,:"  # as report/catalogue_extract.py strips them from templates
_DEPTH = 4  # fragments inside fragments; deeper text is kept as it is
_CLAUSE = re.compile(r" \(|; |, |\. ")  # where an optional remark may begin
_LABELLED = re.compile(r"([^:\s][^:]{0,23}?): (.+)", re.DOTALL)  # a short label: a path, "port 22", a name


_Found = tuple[str, int]  # a translation, and how many characters of the English catalogued text explains


@record
class _Template:
    pattern: re.Pattern[str]
    translation: str
    literal: int  # characters of literal text: the more, the more specific the template
    needle: str  # its longest literal piece: a text without it cannot match (a quick test before the pattern)
    adjacent: tuple[tuple[str, str], ...] = ()  # placeholders with no text between them ("{list}{hint}")


class Matcher:
    """English message templates with their translations; `translate` fills the translation."""

    def __init__(self, templates: Mapping[str, str]) -> None:
        self._exact: dict[str, str] = {}
        self._by_start: dict[str, list[_Template]] = {}
        self._anywhere: list[_Template] = []
        self._cache: dict[str, _Found | None] = {}
        for english, translation in templates.items():
            compiled = _compile(english, translation)
            if compiled is None:  # no placeholder: the text itself, with {{ and }} as the braces they stand for
                self._exact[_unescape(english)] = _unescape(translation)
                continue
            start = _leading_literal(english)
            if len(start) >= 2:
                self._by_start.setdefault(start[:2], []).append(compiled)
            else:
                self._anywhere.append(compiled)

    def translate(self, text: str) -> str:
        """The translation of a message, or the message itself where nothing matches."""
        found = self._text(text, 0)
        return text if found is None else found[0]

    def _text(self, text: str, depth: int) -> _Found | None:
        core = text.strip(EDGES)
        if not core:
            return None
        if core not in self._cache:
            self._cache[core] = self._best(core, depth)
        found = self._cache[core]
        if found is None:
            return None
        return text[:len(text) - len(text.lstrip(EDGES))] + found[0] + text[len(text.rstrip(EDGES)):], found[1]

    def _best(self, core: str, depth: int) -> _Found | None:
        """Of every way to read the text (a template for all of it; its sentences or parts one by one), the one
        that explains most of it with catalogued text; a whole-text template wins a tie."""
        if core in self._exact:
            return self._exact[core], len(core)
        if depth > _DEPTH:
            return None
        options = list(self._matches(core, depth))
        if core.endswith(".") and not core.endswith(".."):  # a fragment's template, ending a sentence of its own
            options += [(found + ".", covered) for found, covered in self._matches(core[:-1], depth)]
        options += self._pieces(core, depth)
        if core[:1].isupper() and core[1:2].islower():
            # A fragment catalogued in lower case that a check capitalised to begin its sentence ("Support status
            # unknown: ..."): its translation begins the sentence instead, capitalised too.
            found = self._text(core[0].lower() + core[1:], depth)
            if found is not None:
                options.append((found[0][:1].upper() + found[0][1:], found[1]))
        return max(options, key=lambda option: option[1], default=None)

    def _matches(self, core: str, depth: int) -> Iterator[_Found]:
        bare = core in self._exact and (self._exact[core], len(core))
        if bare:
            yield bare
        for template in (*self._by_start.get(core[:2], ()), *self._anywhere):
            match = template.needle in core and template.pattern.fullmatch(core)
            if not match:
                continue
            raw = dict(match.groupdict())
            for first, second in template.adjacent:
                raw[first], raw[second] = self._divide(raw[first] + raw[second], len(raw[first]), depth)
            values, covered = {}, template.literal
            for name, value in raw.items():
                found = self._text(value, depth + 1)
                values[name] = value if found is None else found[0]
                covered += 0 if found is None else found[1]
            try:
                yield template.translation.format_map(values), covered
            except (KeyError, IndexError, ValueError):  # a translation naming a placeholder its template lacks
                continue

    def _divide(self, text: str, default: int, depth: int) -> tuple[str, str]:
        """Where two adjacent placeholders meet: the split, at a clause boundary, whose halves the catalogue
        explains best (the pattern alone cannot tell a list from the optional remark after it)."""
        cuts = {default, len(text), *(m.start() for m in _CLAUSE.finditer(text))}

        def covered(cut: int) -> int:
            return sum(found[1] for part in (text[:cut], text[cut:]) if (found := self._text(part, depth + 1)))

        best = max(sorted(cuts), key=covered)
        return (text[:best], text[best:]) if covered(best) > covered(default) else (text[:default], text[default:])

    def _pieces(self, core: str, depth: int) -> Iterator[_Found]:
        """Sentence by sentence, part by part ("; " or ", ", outside brackets), "place: words", "name (words)":
        what matches is translated, the rest is kept."""
        for parts, joiner in ((_split(core, "."), " "), (_split(core, ";"), "; "), (_split(core, ","), ", ")):
            if len(parts) < 2:
                continue
            done = [self._text(part, depth + 1) for part in parts]
            if any(d is not None for d in done):
                yield (joiner.join(p if d is None else d[0] for d, p in zip(done, parts, strict=True)),
                       sum(d[1] for d in done if d is not None))
        labelled = _LABELLED.fullmatch(core)  # "/etc/ssh/sshd_config: PermitRootLogin is ...": a place, then words
        if labelled:
            rest = self._text(labelled.group(2), depth + 1)
            if rest is not None:
                yield f"{labelled.group(1)}: {rest[0]}", rest[1]
        named = _named(core)
        if named:
            inner = self._text(named[1], depth + 1)
            if inner is not None:
                head = self._text(named[0], depth + 1)
                yield (f"{named[0] if head is None else head[0]} ({inner[0]})",
                       inner[1] + (0 if head is None else head[1]))


def _split(text: str, mark: str) -> list[str]:
    """Split after each `mark` followed by a space, outside (), [] and backticks; "." splits sentences: the mark
    stays with its sentence, and the next must start with a capital, a bracket or a backtick."""
    parts, depth, quoted, start = [], 0, False, 0
    for index, char in enumerate(text):
        if char == "`":
            quoted = not quoted
        elif quoted:
            continue
        elif char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == mark and depth == 0 and text[index + 1:index + 2] == " ":
            if mark == "." and not (text[index + 2:index + 3].isupper() or text[index + 2:index + 3] in "(`"):
                continue
            parts.append(text[start:index + 1] if mark == "." else text[start:index])
            start = index + 2
    parts.append(text[start:])
    return [part for part in parts if part]


def _named(text: str) -> tuple[str, str] | None:
    """"aes128-ctr (128-bit AES)" as its name and the words in its last brackets; the name may hold brackets of
    its own ("Macintosh HD - Data (disk1s5) (operating-system drive)")."""
    if not text.endswith(")"):
        return None
    depth = 0
    for index in range(len(text) - 1, -1, -1):
        depth += (text[index] == ")") - (text[index] == "(")
        if depth == 0:
            head = text[:index]
            return (head[:-1], text[index + 1:-1]) if head.endswith(" ") and head.strip() else None
    return None


def placeholders(template: str) -> set[str]:
    """The `{name}` placeholders of a template."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _compile(english: str, translation: str) -> _Template | None:
    """A template's pattern (None when it has no placeholder: it is matched exactly)."""
    pieces, literal, names, needle, adjacent, previous = [], 0, set(), "", [], ""
    try:
        parsed = list(string.Formatter().parse(english))
    except ValueError:
        return None
    for text, name, _spec, _conversion in parsed:
        pieces.append(re.escape(text))
        literal += len(text)
        needle = max(needle, text, key=len)
        if previous and not text and name is not None:
            adjacent.append((previous, name))
        previous = name or ""
        if name is not None:
            if not name.isidentifier() or name in names:
                return None
            names.add(name)
            pieces.append(f"(?P<{name}>.*?)")
    if not names:
        return None
    return _Template(re.compile("".join(pieces), re.DOTALL), translation, literal, needle, tuple(adjacent))


def _leading_literal(english: str) -> str:
    try:
        first = next(iter(string.Formatter().parse(english)), None)
    except ValueError:
        return ""
    return first[0] if first else ""


def _unescape(template: str) -> str:
    return template.replace("{{", "{").replace("}}", "}")
