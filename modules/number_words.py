"""English number words, the one table every reader of spelled-out numbers uses.

Consumers take the slice they need: a question parser may accept only ``zero`` .. ``ten``
(:data:`SMALL_NUMBER_WORDS`), while ``coerce_to_numeric`` composes any count with the
:data:`SCALES` ("twenty one", "two hundred").
"""

from __future__ import annotations

__all__ = ["NUMBER_WORDS", "SCALES", "SMALL_NUMBER_WORDS"]

NUMBER_WORDS: dict[str, int] = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
"""the words that name a number on their own (compose them with :data:`SCALES`)"""

SCALES: dict[str, int] = {
    "hundred": 100,
    "thousand": 1000,
    "million": 1_000_000,
    "billion": 1_000_000_000,
}
"""the words that multiply the number before them"""

SMALL_NUMBER_WORDS: dict[str, int] = {w: n for w, n in NUMBER_WORDS.items() if n <= 10}
"""``zero`` .. ``ten``: the counts a short answer or a counting question spells out"""
