"""Escaping text for one terminal line."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from vipexec.core.terminal import encodable, terminal_text


@given(st.text())
def test_escaped_text_holds_no_control_or_bidi_character_and_encodes(text):
    shown = terminal_text(text)
    shown.encode("utf-8")  # no lone surrogate is left
    for char in shown:
        # Control (Cc), line and paragraph separators, bidi embeddings and isolates: none left.
        assert unicodedata.category(char) not in ("Cc", "Zl", "Zp", "Cs")
        assert not "\u202a" <= char <= "\u202e" and not "\u2066" <= char <= "\u2069"


@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E)))
def test_printable_ascii_is_shown_as_it_is(text):
    assert terminal_text(text) == text


def test_escapes_read_as_python_escapes():
    assert terminal_text("a\nb\x1b[2J\u202e\ud800") == "a\\nb\\x1b[2J\\u202e\\ud800"
    assert encodable("ok\ud800\n") == "ok\\ud800\n"
