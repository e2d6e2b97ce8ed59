"""Text from programs, suites and data files made safe to show on one terminal line."""

from __future__ import annotations

import re

_UNSAFE_ON_TERMINAL = re.compile(
    "[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
"""control characters (escape sequences, newlines), line separators, bidi overrides and lone
surrogates (which no encoder accepts)"""
_SURROGATES = re.compile("[\ud800-\udfff]")
_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def terminal_text(text: str) -> str:
    """``text`` safe to show on one terminal line: each character that could move the cursor,
    start an escape sequence, forge a new line or fail to encode is written as a Python escape
    (``\\n``, ``\\x1b``, ``\\ud800``)."""
    if _UNSAFE_ON_TERMINAL.search(text) is None:
        return text
    return _UNSAFE_ON_TERMINAL.sub(_python_escape, text)


def encodable(text: str) -> str:
    """``text`` with lone surrogates written as ``\\udXXX`` so that it encodes to UTF-8."""
    if _SURROGATES.search(text) is None:
        return text
    return _SURROGATES.sub(_python_escape, text)


def _python_escape(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED_ESCAPES.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
