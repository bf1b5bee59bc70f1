"""`#` comments and bracket matching as rsyslog.conf(5) and syslog-ng.conf(5) share them (both quote with `"`)."""

from __future__ import annotations


def strip_comment(line: str) -> str:
    """The line without its `#` comment; a `#` inside double quotes is data, not a comment."""
    quoted = False
    for i, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char == "#" and not quoted:
            return line[:i]
    return line


def closing_bracket(text: str, start: int, opening: str, closing: str) -> int:
    """Index of the bracket closing the one at `start`, skipping quoted strings; len(text) if none."""
    depth, quoted = 0, False
    for i in range(start, len(text)):
        char = text[i]
        if char == '"' and text[i - 1] != "\\":
            quoted = not quoted
        elif not quoted and char == opening:
            depth += 1
        elif not quoted and char == closing:
            depth -= 1
            if depth == 0:
                return i
    return len(text)
