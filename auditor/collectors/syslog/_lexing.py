"""`#` comments and bracket matching as rsyslog.conf(5) and syslog-ng.conf(5) share them.

rsyslog quotes with `"`; syslog-ng with `"` or `'` (syslog-ng.conf(5): "enclosed in double or single quotes").
"""

from __future__ import annotations


def strip_comment(line: str, quotes: str = '"') -> str:
    """The line without its `#` comment; a `#` inside quotes is data, not a comment."""
    open_quote = ""
    for i, char in enumerate(line):
        if open_quote:
            open_quote = "" if char == open_quote else open_quote
        elif char in quotes:
            open_quote = char
        elif char == "#":
            return line[:i]
    return line


def closing_bracket(text: str, start: int, opening: str, closing: str, quotes: str = '"') -> int:
    """Index of the bracket closing the one at `start`, skipping quoted strings; len(text) if none."""
    depth, open_quote = 0, ""
    for i in range(start, len(text)):
        char = text[i]
        if open_quote:
            if char == open_quote and text[i - 1] != "\\":
                open_quote = ""
        elif char in quotes:
            open_quote = char
        elif char == opening:
            depth += 1
        elif char == closing:
            depth -= 1
            if depth == 0:
                return i
    return len(text)
