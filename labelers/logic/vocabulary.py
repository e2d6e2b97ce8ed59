"""Words the logic checks understand: attribute classes, plurals, filler.

An attribute class is a set of mutually exclusive values (a thing is red *or* blue); the
grounding check flags a module call that names a value of a class the query constrains to
other values. Synonyms map to one canonical word. Everything here is data: pass your own
:class:`Vocabulary` to the logic labeler for another domain.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_COLORS = {
    "red": "red", "orange": "orange", "yellow": "yellow", "green": "green", "cyan": "cyan",
    "blue": "blue", "purple": "purple", "violet": "purple", "pink": "pink", "magenta": "pink",
    "brown": "brown", "black": "black", "white": "white", "gray": "gray", "grey": "gray",
    "gold": "gold", "silver": "silver", "beige": "beige", "tan": "tan", "teal": "teal",
}  # fmt: skip
_SIZES = {
    "small": "small", "little": "small", "tiny": "small", "large": "large", "big": "large",
    "huge": "large", "giant": "large",
}  # fmt: skip
_SHAPES = {
    "circle": "circle", "disc": "circle", "disk": "circle", "square": "square",
    "triangle": "triangle", "diamond": "diamond", "rhombus": "diamond", "star": "star",
    "rectangle": "rectangle", "cube": "cube", "sphere": "sphere", "ball": "sphere",
    "cylinder": "cylinder", "cone": "cone", "oval": "oval", "hexagon": "hexagon",
}  # fmt: skip
_MATERIALS = {
    "metal": "metal", "metallic": "metal", "rubber": "rubber", "wood": "wood",
    "wooden": "wood", "glass": "glass", "plastic": "plastic", "stone": "stone",
}  # fmt: skip

GENERIC = frozenset(
    "object objects thing things item items shape shapes figure figures one ones".split()
)
STOPWORDS = frozenset(
    """a an the any some all every each this that these those it its of with in on at to is are
    was were be there here how many much what which who does do did has have image picture photo
    scene patch visible colored coloured shaped and or not no than more fewer less same number
    as both either neither count find exists exist present left right above below
    nearest closest farthest furthest leftmost rightmost topmost highest uppermost lowest
    bottommost nearer closer farther further higher lower""".split()
)


def _plural(word: str) -> str:
    if word.endswith(("s", "x", "ch", "sh")):
        return word + "es"
    return word + "s"


@dataclass(frozen=True)
class Vocabulary:
    """Attribute classes (name -> {word: canonical value})."""

    classes: dict[str, dict[str, str]] = field(
        default_factory=lambda: {
            "color": dict(_COLORS),
            "size": dict(_SIZES),
            "shape": dict(_SHAPES),
            "material": dict(_MATERIALS),
        }
    )

    def __post_init__(self) -> None:
        lookup: dict[str, tuple[str, str]] = {}
        for name, words in self.classes.items():
            for word, canonical in words.items():
                lookup[word] = (name, canonical)
                lookup.setdefault(_plural(word), (name, canonical))
        object.__setattr__(self, "_lookup", lookup)

    def attribute(self, word: str) -> tuple[str, str] | None:
        """``(class, canonical value)`` of a word, or None."""
        return self._lookup.get(word.lower())  # type: ignore[attr-defined]

    def attributes(self, text: str) -> dict[str, set[str]]:
        """Canonical values per class mentioned in ``text``."""
        out: dict[str, set[str]] = {}
        for word in words(text):
            found = self.attribute(word)
            if found:
                out.setdefault(found[0], set()).add(found[1])
        return out

    def canonical(self, word: str) -> str:
        """A word's canonical form: attribute synonyms and plurals folded."""
        found = self.attribute(word)
        if found:
            return found[1]
        return singular(word)

    def contradicts(self, intended: frozenset[str], held: frozenset[str]) -> frozenset[str]:
        """The words of ``held`` that name another value of a class ``intended`` constrains
        ({small} intended, {large} held -> {large})."""
        classes: dict[str, set[str]] = {}
        for word in intended:
            found = self.attribute(word)
            if found:
                classes.setdefault(found[0], set()).add(found[1])
        out = set()
        for word in held:
            found = self.attribute(word)
            if found and found[0] in classes and found[1] not in classes[found[0]]:
                out.add(word)
        return frozenset(out)

    def is_generic(self, word: str) -> bool:
        """Whether a word names no kind of object ("object", "things")."""
        return word.lower() in GENERIC

    def content_words(self, text: str) -> frozenset[str]:
        """Canonical content words of a phrase (filler, generic nouns and numbers dropped)."""
        out = set()
        for word in words(text):
            if word in STOPWORDS or word in GENERIC or word.isdigit():
                continue
            out.add(self.canonical(word))
        return frozenset(out)


DEFAULT_VOCABULARY = Vocabulary()

_WORD = re.compile(r"[a-z0-9]+")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def singular(word: str) -> str:
    """A rough singular for English nouns ("circles" -> "circle", "boxes" -> "box")."""
    if word in ("people", "persons"):
        return "person"
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("xes", "ches", "shes", "sses")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word
