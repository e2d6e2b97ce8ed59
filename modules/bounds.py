"""Size bounds on the arguments of API calls.

The parent process serves every API call, so a call's cost must be bounded by something the
program cannot grow without limit: the bounds are defined here, each method's entry in the
method table (:mod:`vipexec.modules.methods`) says which bound applies to which argument, and
the backends' algorithms are linear in them. A call over a bound raises :class:`ArgumentTooLarge` (a
``ValueError``) in the program, naming the method, the argument and the bound; the program can
catch it like any other ``ValueError``. The bounds are checked in the program's process before
a call crosses to the parent, and again by the parent (its dispatcher or the model host).
"""

from __future__ import annotations

from typing import Any

from vipexec.modules.errors import ArgumentTooLarge

MAX_PHRASE_CHARS = 500
"""an object name, a property, a ``best_text_match`` prefix or option, a ``content`` string"""
MAX_QUESTION_CHARS = 2_000
"""a ``simple_query`` or ``select_answer`` question"""
MAX_PROMPT_CHARS = 10_000
"""an ``llm_query`` question"""
MAX_OPTIONS = 100
"""options of ``best_text_match`` and ``select_answer``; ``content`` of ``best_image_match``"""
MAX_PATCHES = 1_000
"""patches given to one ``best_image_match``"""
MAX_INFO_ITEMS = 1_000
"""keys and values at all levels of a ``select_answer`` info"""
MAX_INFO_CHARS = 100_000
"""characters of all the strings of a ``select_answer`` info"""

SHOWN_NAMES = {"attribute": "property", "crops": "list_patches"}
"""argument names as the program wrote them, where the call's own name differs"""


def check_text(method: str, name: str, value: Any, limit: int) -> None:
    """Raise :class:`ArgumentTooLarge` if the str ``value`` (or any str of a list) is longer
    than ``limit`` characters."""
    texts = value if isinstance(value, (list, tuple)) else [value]
    for text in texts:
        if isinstance(text, str) and len(text) > limit:
            too_large(method, name, f"is longer than {limit:,} characters ({len(text):,})")


def check_count(method: str, name: str, value: Any, limit: int) -> None:
    """Raise :class:`ArgumentTooLarge` if the list ``value`` has more than ``limit`` items."""
    if isinstance(value, (list, tuple)) and len(value) > limit:
        too_large(method, name, f"has {len(value):,} items, more than {limit:,}")


def check_nested(method: str, name: str, value: Any) -> None:
    """Raise :class:`ArgumentTooLarge` if nested plain data holds more than
    :data:`MAX_INFO_ITEMS` items or :data:`MAX_INFO_CHARS` characters in all."""
    items = chars = 0
    pending = [value]
    while pending:
        item = pending.pop()
        items += 1
        if items > MAX_INFO_ITEMS:
            too_large(method, name, f"holds more than {MAX_INFO_ITEMS:,} items")
        if isinstance(item, str):
            chars += len(item)
            if chars > MAX_INFO_CHARS:
                too_large(method, name, f"holds more than {MAX_INFO_CHARS:,} characters")
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, (list, tuple)):
            pending.extend(item)


def too_large(method: str, name: str, problem: str) -> None:
    raise ArgumentTooLarge(f"{method}: {SHOWN_NAMES.get(name, name)} {problem}")
