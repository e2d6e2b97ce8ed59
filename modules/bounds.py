"""Size bounds on the arguments of API calls.

The parent process serves every API call, so a call's cost must be bounded by something the
program cannot grow without limit: each method's arguments are bounded here, and the backends'
algorithms are linear in them. A call over a bound raises :class:`ArgumentTooLarge` (a
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

# method -> {argument: bound on its characters (a str or each str of a list)}
_TEXT_BOUNDS: dict[str, dict[str, int]] = {
    "find": {"object_name": MAX_PHRASE_CHARS},
    "exists": {"object_name": MAX_PHRASE_CHARS},
    "verify_property": {"object_name": MAX_PHRASE_CHARS, "attribute": MAX_PHRASE_CHARS},
    "best_text_match": {"options": MAX_PHRASE_CHARS, "prefix": MAX_PHRASE_CHARS},
    "simple_query": {"question": MAX_QUESTION_CHARS},
    "llm_query": {"question": MAX_PROMPT_CHARS},
    "select_answer": {"question": MAX_QUESTION_CHARS, "options": MAX_PHRASE_CHARS},
    "best_image_match": {"content": MAX_PHRASE_CHARS},
}
# method -> {argument: bound on its number of items}
_COUNT_BOUNDS: dict[str, dict[str, int]] = {
    "best_text_match": {"options": MAX_OPTIONS},
    "select_answer": {"options": MAX_OPTIONS},
    "best_image_match": {"content": MAX_OPTIONS, "crops": MAX_PATCHES},
}
_SHOWN_NAMES = {"attribute": "property", "crops": "list_patches"}  # as the program wrote them


def check_arguments(method: str, args: dict[str, Any]) -> None:
    """Raise :class:`ArgumentTooLarge` if an argument of this call is over its bound."""
    for name, limit in _COUNT_BOUNDS.get(method, {}).items():
        value = args.get(name)
        if isinstance(value, (list, tuple)) and len(value) > limit:
            _too_large(method, name, f"has {len(value):,} items, more than {limit:,}")
    for name, limit in _TEXT_BOUNDS.get(method, {}).items():
        value = args.get(name)
        texts = value if isinstance(value, (list, tuple)) else [value]
        for text in texts:
            if isinstance(text, str) and len(text) > limit:
                _too_large(method, name, f"is longer than {limit:,} characters ({len(text):,})")
    if method == "select_answer":
        _check_info(args.get("info"))


def _check_info(info: Any) -> None:
    items = chars = 0
    pending = [info]
    while pending:
        value = pending.pop()
        items += 1
        if items > MAX_INFO_ITEMS:
            _too_large("select_answer", "info", f"holds more than {MAX_INFO_ITEMS:,} items")
        if isinstance(value, str):
            chars += len(value)
            if chars > MAX_INFO_CHARS:
                limit = f"{MAX_INFO_CHARS:,}"
                _too_large("select_answer", "info", f"holds more than {limit} characters")
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, (list, tuple)):
            pending.extend(value)


def _too_large(method: str, name: str, problem: str) -> None:
    raise ArgumentTooLarge(f"{method}: {_SHOWN_NAMES.get(name, name)} {problem}")
