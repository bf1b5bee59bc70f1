"""Text every output can carry: characters a terminal would obey, XML 1.0 forbids or UTF-8 cannot encode are
written out as visible escapes ("\\x1b", "\\udc80") instead.

Target data reaches findings, and findings reach a terminal, JUnit XML, SARIF, CSV, HTML and PDF. ESC would
drive the terminal, NUL or a form feed makes the JUnit file ill-formed, a lone surrogate (a byte decoded with
surrogateescape) makes every UTF-8 writer raise. Written as its escape, the character is still reported, and
the exact bytes stay in the evidence.
"""

from __future__ import annotations

import re

# C0 controls but tab, newline and carriage return; DEL and the C1 controls (a terminal obeys U+009B as CSI);
# lone surrogates; U+FFFE and U+FFFF (not characters; XML 1.0 forbids them, and every C0 control above).
_INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def visible(text: str) -> str:
    """The text with each such character replaced by its escape: ESC becomes the four characters \\x1b."""
    return _INVISIBLE.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
