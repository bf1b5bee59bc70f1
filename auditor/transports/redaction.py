"""Redaction at the source: a secret a host prints, or a file it holds, is cut out of the fact before any
collector sees it and before it is stored as evidence.

The recording transport passes every command result and file read through `redact_result` / `redact_content`,
so a live scan, its evidence and its replay all hold the same text; the record notes what was cut, as
pattern name -> count, never the value (`redactions` in records.py). Each pattern replaces only the secret and
keeps what is around it, so a parser still finds the directive (`PrivateKey = [REDACTED:wireguard-private-key]`)
and a quoted value stays quoted (JSON stays JSON). A dm-crypt volume key is masked with zeros of the same
length, as dmsetup prints it without --showkeys, because the disk check reads the key size from its length.

Redaction is idempotent: a marker, or a key already masked, is never counted again, so replaying a run keeps
its records (and their hashes) unchanged. Every regex begins with a literal (or a short word list) and has
no nested repetition, so a hostile host's 8 MiB of output is scanned in linear time.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping

from auditor.records import record
from auditor.transports.base import CommandResult, FileContent

MARKER_PREFIX = "[REDACTED:"
_MARKERS_ONLY = re.compile(r"\s*(?:\[REDACTED:[a-z0-9-]+\]\s*)+")
# Values that say there is no secret: a JSON null, an empty or boolean setting, a JSON object or list opening,
# a placeholder of a --help text (`--report-password=name`, `=#`, `=<secret>`), a shell variable.
_NO_SECRET = {"", "null", "none", "true", "false", "yes", "no", "{", "[", "{}", "[]", "#", "name", "..."}
_PLACEHOLDER = re.compile(r"<[^<>]*>|\$\{?\w+\}?")
# Key names that hold a secret when they end a key (password=, db_password:, "AdminPassword": ...); the short
# ones only on their own or after a separator (`wpa_psk`, not `mpsk`), the rest after anything.
_SHORT_WORDS = ("pwd", "psk")
_KEY_WORD = re.compile(r"(?P<word>pass(?:word|wd|phrase)|secret|token|api[_-]?key|access[_-]?key|pwd|psk)"
                       r"(?P<quote>[\"']?)[ \t]*(?P<sep>[=:])[ \t]*+")
# What may stand before a key on its line: indentation, a comment mark, `export`, an opening quote.
_LINE_KEY = re.compile(r"[ \t]*+(?:[#;]+[ \t]*+)?(?:export[ \t]+)?[\"']?[\w.-]*")
_INDENT = re.compile(r"[ \t]*+(?:[#;]+[ \t]*+)?")
_NETRC_HEAD = re.compile(r"[ \t]*+|.*\blogin[ \t]+\S+[ \t]+")
_LINE_LOOK = 256
_UPPER_ASCII = re.compile(r"[A-Z]+")
_TOKEN = re.compile(r"\"[^\"\n]*\"|'[^'\n]*'|[^\s\"';&|]+")
_JSON_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')


@record
class SecretPattern:
    """One kind of secret.

    Attributes:
        name: what the evidence record names (`redactions: {name: count}`).
        regex: finds a candidate; the group `secret` (else the whole match) is the secret. Written as a str, it
            is compiled when a text first holds a hint (compiling them all cost every start about 2 ms).
        hints: lower-case words one of which must occur in the text before the regex is tried (speed only).
        mask: what replaces the secret (default: the marker `[REDACTED:<name>]`).
        span: where the secret of a candidate is, or None when it is none (default: from the regex).
        folded: the regex is written in lower case and runs on the lower-cased text (case-insensitive, and
            fast: Python's regex engine skips ahead on a literal only when it is case-sensitive).
        gate: a cheap regex that must match somewhere before `regex` is tried (speed only).
    """

    name: str
    regex: re.Pattern[str] | str
    hints: tuple[str, ...] = ()
    mask: Callable[[str], str] | None = None
    span: Callable[[str, re.Match[str]], tuple[int, int] | None] | None = None
    folded: bool = False
    gate: re.Pattern[str] | None = None

    @functools.cached_property
    def _compiled(self) -> re.Pattern[str]:
        return re.compile(self.regex) if isinstance(self.regex, str) else self.regex

    @functools.cached_property
    def _hinted(self) -> Callable[[str], re.Match[str] | None]:
        """Whether one of the hints occurs: one regex search instead of a substring test per hint."""
        return re.compile("|".join(re.escape(hint) for hint in self.hints)).search

    def replace(self, secret: str) -> str:
        return self.mask(secret) if self.mask else f"{MARKER_PREFIX}{self.name}]"

    def secrets(self, text: str, lowered: str) -> Iterator[tuple[int, int]]:
        """(start, end) of each secret in the text, in order, never overlapping (`lowered`: the text in lower
        case, character for character)."""
        if (self.hints and not self._hinted(lowered)) or \
                (self.gate and not self.gate.search(text)):
            return
        done = 0
        regex = self._compiled
        for match in regex.finditer(lowered if self.folded else text):
            if match.start() < done:
                continue  # inside a secret already found (a value that runs to the end of its line)
            found = self.span(text, match) if self.span else \
                match.span("secret" if "secret" in regex.groupindex else 0)
            if found and found[0] >= done:
                done = found[1]
                yield found


def _zeros(key: str) -> str:
    return "0" * len(key)


def _line_start(text: str, at: int) -> int | None:
    """Where the line holding `at` begins; None when that is too far back for a directive at its start (a
    bounded look keeps a hostile one-line output linear)."""
    newline = text.rfind("\n", max(0, at - _LINE_LOOK), at)
    return newline + 1 if newline >= 0 or at <= _LINE_LOOK else None


def _starts_line(text: str, match: re.Match[str]) -> tuple[int, int] | None:
    """The secret when its directive is the first thing on its line (after indentation or a comment mark)."""
    line = _line_start(text, match.start())
    return match.span("secret") if line is not None and _INDENT.fullmatch(text, line, match.start()) else None


def _assignment(text: str, match: re.Match[str]) -> tuple[int, int] | None:
    """`key = value` as a config line (the value runs to the end of the line), `KEY=value` inside a line (one
    word or quoted string: a cron line's environment, a command's --password=...), or a compact JSON member."""
    word = match.start()
    if word and text[word - 1].isalnum() and match["word"] in _SHORT_WORDS:
        return None  # `mpsk`, `xpwd`: a short word only counts after a separator
    line = _line_start(text, word)
    head = _LINE_KEY.fullmatch(text, line, word) if line is not None else None
    if head is not None:
        end = text.find("\n", match.end())
        value = text[match.end():len(text) if end < 0 else end].rstrip(" \t\r")
        if value[:1] in ("'", '"') and value.count(value[0]) >= 2:
            return match.end(), match.end() + value.index(value[0], 1) + 1
        return match.end(), match.end() + len(value.rstrip(",").rstrip(" \t"))
    if match["quote"] == '"' and match["sep"] == ":":  # a key of compact JSON: {"DbPassword":"..."}
        string = _JSON_STRING.match(text, match.end())
        return string.span() if string else None
    if match["sep"] != "=" or match["quote"]:
        return None
    token = _TOKEN.match(text, match.end())
    return token.span() if token else None


def _netrc(text: str, match: re.Match[str]) -> tuple[int, int] | None:
    """`machine h login u password p`, or `password p` alone on its line."""
    line = _line_start(text, match.start())
    if line is None:
        return None
    return match.span("secret") if _NETRC_HEAD.fullmatch(text, line, match.start()) else None


# In order: a block is taken whole before a pattern inside it could take a part of it.
PATTERNS: tuple[SecretPattern, ...] = (
    # OpenVPN inline blocks (<key>, <tls-auth>, <tls-crypt>, ...), each tag on its own line; a one-line
    # <key>...</key> is a property list's key name, not a secret. A block (or key) that is not closed is
    # redacted to the end of the text: a cut-short key is still a key, and one match keeps the scan linear.
    SecretPattern("openvpn-inline-key", (
        r"(?ms)<(?P<tag>key|tls-auth|tls-crypt|tls-crypt-v2|secret|pkcs12)>[ \t]*\r?\n"
        r"(?P<secret>.*?)(?:(?:\r?\n)?^[ \t]*</(?P=tag)>|\Z)"), ("<key>", "<tls-", "<secret>", "<pkcs12>"),
        span=_starts_line),
    SecretPattern("openvpn-static-key", (
        r"(?s)-----BEGIN OpenVPN (?P<label>Static key V1|tls-crypt-v2 (?:client|server) key)-----.*?"
        r"(?:-----END OpenVPN (?P=label)-----|\Z)"), ("-----begin openvpn",)),
    # PKCS#1, PKCS#8 (also encrypted), SEC1, OpenSSH, PGP; a block cut short is redacted to the end.
    SecretPattern("pem-private-key", (
        r"(?s)-----BEGIN (?P<label>[A-Z0-9 ]{0,30}PRIVATE KEY(?: BLOCK)?)-----.*?(?:-----END (?P=label)-----|\Z)"),
        ("private key",)),
    SecretPattern("borg-key", (
        r"BORG_KEY [0-9a-f]{64}[ \t]*\r?\n(?P<secret>[A-Za-z0-9+/=][A-Za-z0-9+/=\r\n]*[A-Za-z0-9+/=])"),
        ("borg_key",), span=_starts_line),
    # WireGuard (wg-quick, `wg showconf`) and NetworkManager keyfiles ([wireguard] private-key=).
    SecretPattern("wireguard-private-key", r"private(?:key|[-_]key)[ \t]*=[ \t]*(?P<secret>[^\s#;]+)",
                  ("privatekey", "private"), span=_starts_line, folded=True),
    SecretPattern("wireguard-preshared-key", r"preshared(?:key|[-_]key)[ \t]*=[ \t]*(?P<secret>[^\s#;]+)",
                  ("preshared",), span=_starts_line, folded=True),
    # 48 digits in 8 groups of 6, as manage-bde and Get-BitLockerVolume print a numerical password.
    SecretPattern("bitlocker-recovery-password", r"(?<![\d-])\d{6}(?:-\d{6}){7}(?![\d-])",
                  gate=re.compile(r"-\d{6}-\d{6}-")),
    # `dmsetup table --showkeys` (and old dmsetup): the volume key in hex; zeros keep its length (the key size).
    SecretPattern("dm-crypt-volume-key", r" crypt [\w:.()-]+ (?P<secret>[0-9a-fA-F]{16,})(?=\s|$)",
                  (" crypt ",), _zeros),
    # scheme://user:password@host (restic and borg repositories, database URLs).
    SecretPattern("url-password", r"://[^\s/:@'\"]+:(?P<secret>[^\s/@'\"]+)@", ("://",)),
    SecretPattern("http-authorization", (
        r"authorization[ \t]*:[ \t]*(?:bearer|basic|token|digest|negotiate)[ \t]+(?P<secret>[^\s\"',;]+)"),
        ("authorization",), folded=True),
    SecretPattern("api-token", (
        r"(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255}|glpat-[A-Za-z0-9_-]{20,}"
        r"|xox[abprs]-[A-Za-z0-9-]{10,}|sk_live_[A-Za-z0-9]{16,})(?![\w-])"),
        ("gh", "glpat-", "xox", "sk_live_")),
    # key = value on a config line (config files, .env, YAML, pretty-printed JSON, commented out too), or
    # KEY=value inside a line (a cron line's environment, an ExecStart, --password=...).
    SecretPattern("password-assignment", _KEY_WORD, ("pass", "pwd", "secret", "token", "key", "psk"),
                  span=_assignment, folded=True),
    SecretPattern("netrc-password", r"(?m)password[ \t]+(?P<secret>[^\s]+)[ \t]*$", ("password",),
                  span=_netrc),
)


def redact_text(text: str, found: Counter[str] | None = None) -> tuple[str, Counter[str]]:
    """The text with every secret replaced, and how many of each pattern were replaced (added to `found`)."""
    found = Counter() if found is None else found
    if not text:
        return text, found  # most stderr is empty: nothing to look for
    lowered = _lowered(text)
    for pattern in PATTERNS:
        parts: list[str] = []
        kept = 0
        for start, end in pattern.secrets(text, lowered):
            masked = _masked(pattern, text[start:end])
            if masked is not None:
                parts += [text[kept:start], masked]
                kept = end
                found[pattern.name] += 1
        if parts:
            text = "".join([*parts, text[kept:]])
            lowered = _lowered(text)
    return text, found


def _lowered(text: str) -> str:
    """The text in lower case, character for character (a few letters, like "İ", lower to two)."""
    lowered = text.lower()
    return lowered if len(lowered) == len(text) else _UPPER_ASCII.sub(lambda m: m.group().lower(), text)


def _masked(pattern: SecretPattern, secret: str) -> str | None:
    """What replaces the secret (a quoted one stays quoted), or None when there is nothing secret to cut."""
    quote = secret[0] if len(secret) >= 2 and secret[0] == secret[-1] and secret[0] in "\"'" else ""
    inner = secret[1:-1] if quote else secret
    masked = pattern.replace(inner)
    if masked == inner or inner.strip().lower() in _NO_SECRET or _MARKERS_ONLY.fullmatch(inner) or \
            _PLACEHOLDER.fullmatch(inner.strip()):
        return None  # nothing secret here, or redacted already
    return f"{quote}{masked}{quote}"


def redact_bytes(data: bytes) -> tuple[bytes, Counter[str]]:
    """Bytes as a file holds them: UTF-8 text, or anything else read as Latin-1 (each byte one character, so
    a key inside a binary file is found and every other byte is written back unchanged)."""
    try:
        text, codec = data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, codec = data.decode("latin-1"), "latin-1"
    clean, found = redact_text(text)
    return (clean.encode(codec) if found else data), found


def redact_result(result: CommandResult) -> tuple[CommandResult, Mapping[str, int]]:
    """A command's stdout and stderr without secrets, and what was cut (empty: the result itself)."""
    found: Counter[str] = Counter()
    stdout, _ = redact_text(result.stdout, found)
    stderr, _ = redact_text(result.stderr, found)
    if not found:
        return result, {}
    return dataclasses.replace(result, stdout=stdout, stderr=stderr), dict(sorted(found.items()))


def redact_content(content: FileContent) -> tuple[FileContent, Mapping[str, int]]:
    """A file's content without secrets, and what was cut (empty: the content itself)."""
    data, found = redact_bytes(content.data)
    if not found:
        return content, {}
    return dataclasses.replace(content, data=data), dict(sorted(found.items()))
