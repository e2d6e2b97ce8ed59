"""Chat messages for the text-only methods, and reading a choice out of a model's reply.

Shared by the HTTP and the local language-model modules so both ask the same questions.
"""

from __future__ import annotations

import difflib
import json
import re
from typing import Any

__all__ = ["llm_messages", "parse_choice", "select_messages"]

LONG_SYSTEM = "You are a helpful assistant. Answer the question accurately and concisely."
SHORT_SYSTEM = (
    "Answer the question with a single word or a short phrase, without explanation or punctuation."
)
SELECT_SYSTEM = (
    "You answer multiple-choice questions about a video from facts another program gathered. "
    "Reply with the exact text of one option and nothing else."
)


def llm_messages(question: str, long_answer: bool) -> list[dict[str, str]]:
    """The messages of ``llm_query``: a system instruction (long or short) and the question."""
    system = LONG_SYSTEM if long_answer else SHORT_SYSTEM
    return [{"role": "system", "content": system}, {"role": "user", "content": question}]


def select_messages(info: Any, question: str, options: list[str]) -> list[dict[str, str]]:
    """The messages of ``select_answer``: facts as JSON, the question, numbered options."""
    facts = json.dumps(info, ensure_ascii=False, sort_keys=True, default=str)
    if len(facts) > 8000:
        facts = facts[:8000] + " ..."
    listed = "\n".join(f"{i}. {option}" for i, option in enumerate(options, 1))
    user = f"Facts: {facts}\n\nQuestion: {question}\n\nOptions:\n{listed}\n\nAnswer:"
    return [{"role": "system", "content": SELECT_SYSTEM}, {"role": "user", "content": user}]


def _plain(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def parse_choice(reply: str, options: list[str]) -> str:
    """The option a reply names: exact text, then an option number, then an option contained
    in the reply (longest first), then the closest spelling. Always one of ``options``."""
    if not options:
        raise ValueError("parse_choice() needs at least one option")
    plain_reply = _plain(reply)
    plain_options = [_plain(option) for option in options]
    for option, plain in zip(options, plain_options):
        if plain and plain == plain_reply:
            return option
    number = re.match(r"^\s*(?:option\s*)?\(?(\d+)[\).:]?(\s|$)", reply.strip().lower())
    if number is not None and 1 <= int(number.group(1)) <= len(options):
        return options[int(number.group(1)) - 1]
    contained = [
        (len(plain), i)
        for i, plain in enumerate(plain_options)
        if plain and re.search(rf"\b{re.escape(plain)}\b", plain_reply)
    ]
    if contained:
        return options[max(contained)[1]]
    ratios = [difflib.SequenceMatcher(None, plain_reply, plain).ratio() for plain in plain_options]
    return options[max(range(len(options)), key=lambda i: (ratios[i], -i))]
