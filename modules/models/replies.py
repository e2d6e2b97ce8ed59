"""Reading code out of a chat model's reply: its Markdown code fences.

Program generators and suite writers both ask a chat model for code and get prose around it;
this is the one reader of those fences, so they agree on what counts as one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["CodeFence", "code_fences"]

_FENCE = re.compile(r"```([^\n`]*)\n(.*?)(```|\Z)", re.DOTALL)


@dataclass(frozen=True)
class CodeFence:
    """One fenced block of a reply."""

    language: str
    """the info string after the opening backticks, lower-cased and stripped (``""`` if none)"""
    body: str
    """the text between the fence lines"""
    closed: bool
    """False for a last fence the reply never closed (a model cut off by its token limit)"""


def code_fences(reply: str) -> list[CodeFence]:
    """The reply's fenced blocks in order; a fence left open runs to the end of the reply."""
    return [
        CodeFence(language=info.strip().lower(), body=body, closed=bool(end))
        for info, body, end in _FENCE.findall(reply)
    ]
