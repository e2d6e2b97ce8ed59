"""What a query asks, as a small expression tree over object phrases.

The logic checks need the operation a query states ("and", "more ... than", "at least 2",
"left of") to test the blocks that implement it. :func:`parse_query` recognises common VQA
question forms; anything else parses to an ``open`` spec with no tree, and the checks that need
one are skipped (they never guess).

Besides the tree, a spec records what the operation checks (:mod:`.operations`) need, also for
queries that have no tree: the *quantifier* ("are all the circles red" -> ``all``; "is there a
red circle" -> ``any``; "are there no red circles" -> ``none``), the *superlative* ("the nearest
star" -> depth, smallest; "the rightmost square" -> x, largest) and the *subjects*: the object
phrases the query is about. A spec with none of these is not ``understood``: the logic labeler
then labels no block positive.

Node kinds and the type of their value:

==========  ======================================  =======
kind        meaning                                 type
==========  ======================================  =======
objects     the objects a phrase describes          list
the         the (one) object a phrase describes     patch
count       ``len(objects)``                        int
const       a number in the query                   int
exists      ``len(objects) > 0``                    bool
not         negation                                bool
and / or    conjunction / disjunction               bool
compare     ``a op b`` (``> < >= <= ==``)           bool
relation    ``left / right / above / below``        bool
yesno       ``"yes" if child else "no"``            answer
==========  ======================================  =======
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from vipexec.labelers.logic.vocabulary import DEFAULT_VOCABULARY, Vocabulary
from vipexec.modules.number_words import SMALL_NUMBER_WORDS

__all__ = ["Node", "QuerySpec", "parse_query"]

TYPES = {
    "objects": "list",
    "the": "patch",
    "count": "int",
    "const": "int",
    "exists": "bool",
    "not": "bool",
    "and": "bool",
    "or": "bool",
    "compare": "bool",
    "relation": "bool",
    "yesno": "answer",
}
BINARY = frozenset({"and", "or", "compare", "relation"})


@dataclass(frozen=True)
class Node:
    kind: str
    children: tuple[Node, ...] = ()
    phrase: frozenset[str] = frozenset()
    text: str = ""
    op: str = ""
    value: int | None = None

    @property
    def type(self) -> str:
        return TYPES[self.kind]

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()

    def describe(self) -> str:
        if self.kind in ("objects", "the"):
            return f"{self.kind}({self.text})"
        if self.kind == "const":
            return str(self.value)
        inner = ", ".join(child.describe() for child in self.children)
        op = f"{self.op}, " if self.op else ""
        return f"{self.kind}({op}{inner})"


@dataclass(frozen=True)
class QuerySpec:
    """``answer``: yesno, count, options or open; ``tree``: the expression (or None)."""

    text: str
    answer: str
    tree: Node | None = None
    options: tuple[str, ...] = ()
    parents: dict[int, Node] = field(default_factory=dict, compare=False, repr=False)
    quantifier: str | None = None
    """``all``, ``any`` or ``none``: how the answer depends on the objects of the subject;
    ``the``: the answer is one object's verdict ("is the triangle large")"""
    superlative: tuple[str, str] | None = None
    """``(axis, end)``: axis ``depth``, ``x`` or ``y``; end ``min`` or ``max``"""
    relation: tuple[str, frozenset[str], frozenset[str]] | None = None
    """``(op, a, b)``: a is ``op`` (left, right, above, below) of b, from the tree's relation
    or from "how many a are left of the b"."""
    subjects: tuple[frozenset[str], ...] = ()
    """content words of the object phrases the query is about (leaves of the tree included)"""

    def __post_init__(self) -> None:
        parents: dict[int, Node] = {}
        if self.tree is not None:
            for node in self.tree.walk():
                for child in node.children:
                    parents[id(child)] = node
                if node.kind == "relation" and self.relation is None:
                    a, b = node.children
                    object.__setattr__(self, "relation", (node.op, a.phrase, b.phrase))
        object.__setattr__(self, "parents", parents)

    def parent(self, node: Node) -> Node | None:
        return self.parents.get(id(node))

    def ancestors_or_self(self, node: Node) -> list[Node]:
        out = [node]
        while (parent := self.parent(out[-1])) is not None:
            out.append(parent)
        return out

    @property
    def understood(self) -> bool:
        return (
            self.tree is not None
            or self.answer == "options"
            or self.quantifier is not None
            or self.superlative is not None
            or bool(self.subjects)
        )

    def object_phrases(self) -> list[frozenset[str]]:
        """Every object phrase the query names: the tree's leaves and the subjects."""
        found = [leaf.phrase for leaf in self.leaves()]
        for subject in self.subjects:
            if subject not in found:
                found.append(subject)
        return found

    def leaves(self) -> list[Node]:
        if self.tree is None:
            return []
        return [n for n in self.tree.walk() if n.kind in ("objects", "the")]


_NUMBERS = SMALL_NUMBER_WORDS
_NUM = r"(\d+|" + "|".join(_NUMBERS) + r")"
_ART = r"(?:(?:a|an|any|some|the)\s+)?"
_TAIL = r"(?:\s+(?:in|on)\s+(?:the\s+)?(?:image|picture|photo|scene))?"
_YES_NO_START = re.compile(r"^(?:is|are|was|were|does|do|did|can|could|has|have|will)\b")


def _form(pattern: str) -> re.Pattern[str]:
    """A whole-query pattern; ``{A}`` is an optional article, ``{N}`` a number, ``{T}`` an
    optional "in the image" tail."""
    text = pattern.replace("{A}", _ART).replace("{N}", _NUM).replace("{T}", _TAIL)
    return re.compile(f"^{text}$")


_THERE = r"(?:are|is) there"
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("count", _form(r"how many\s+(?P<x>.+?)(?:\s+(?:are|is)\s+there)?{T}")),
    ("count", _form(r"count the\s+(?P<x>.+?){T}")),
    ("more", _form(_THERE + r" more\s+(?P<x>.+?)\s+than\s+{A}(?P<y>.+?){T}")),
    ("fewer", _form(_THERE + r" (?:fewer|less)\s+(?P<x>.+?)\s+than\s+{A}(?P<y>.+?){T}")),
    (
        "same",
        _form(
            _THERE + r" (?:as many|the same number of)\s+(?P<x>.+?)\s+(?:as|and)\s+"
            r"{A}(?P<y>.+?){T}"
        ),
    ),
    (
        "threshold",
        _form(
            _THERE + r" (?P<q>at least|at most|more than|fewer than|less than|exactly)\s+"
            r"{N}\s+(?P<x>.+?){T}"
        ),
    ),
    ("none", _form(_THERE + r" no\s+(?P<x>.+?){T}")),
    ("either", _form(_THERE + r" (?:either\s+)?{A}(?P<x>.+?)\s+or\s+{A}(?P<y>.+?){T}")),
    ("both", _form(_THERE + r" (?:both\s+)?{A}(?P<x>.+?)\s+and\s+{A}(?P<y>.+?){T}")),
    ("exists", _form(_THERE + r"\s+{A}(?P<x>.+?){T}")),
    (
        "relation",
        _form(
            r"(?:is|are) (?:the\s+)?(?P<x>.+?)\s+(?:(?:to|on) the\s+)?"
            r"(?P<rel>left|right|above|below)(?:\s+of)?\s+(?:the\s+)?(?P<y>.+?)"
        ),
    ),
]
_RELATIONS = {"left": "left", "right": "right", "above": "above", "below": "below"}
_THRESHOLDS = {
    "at least": ">=",
    "at most": "<=",
    "more than": ">",
    "fewer than": "<",
    "less than": "<",
    "exactly": "==",
}


def normalize(text: str) -> str:
    text = text.strip().lower()
    text = re.sub(r"[?.!]+$", "", text).strip()
    return re.sub(r"\s+", " ", text)


def parse_query(text: str | None, vocabulary: Vocabulary = DEFAULT_VOCABULARY) -> QuerySpec:
    """The spec of ``text`` (see the module docstring); unknown forms give ``open``."""
    if not text:
        return QuerySpec("", "open")
    query = normalize(text)
    choice = _CHOICE.match(query)
    if choice is not None:
        a, b = choice.group("x"), choice.group("y")
        subjects = (vocabulary.content_words(a), vocabulary.content_words(b))
        return QuerySpec(
            text, "options", None, (a, b), superlative=_SUPERLATIVES[choice.group("c")],
            subjects=subjects,
        )  # fmt: skip
    options = _options(query, vocabulary)
    if options is not None:
        return QuerySpec(text, "options", None, options)
    superlative = _superlative(query)
    related = _COUNT_RELATION.match(query)
    if related is not None:
        a = vocabulary.content_words(related.group("x"))
        b = vocabulary.content_words(related.group("y"))
        relation = (_RELATIONS[related.group("rel")], a, b)
        return QuerySpec(text, "count", subjects=(a, b), relation=relation)
    for form, pattern in _PATTERNS:
        match = pattern.match(query)
        if match:
            tree = _build(form, match, vocabulary)
            if tree is not None:
                answer = "count" if tree.kind == "count" else "yesno"
                return QuerySpec(
                    text, answer, tree, quantifier=_TREE_QUANTIFIERS.get(form),
                    superlative=superlative,
                )  # fmt: skip
    answer = "yesno" if _YES_NO_START.match(query) else "open"
    quantified = _quantified(query, vocabulary)
    if quantified is not None:
        quantifier, subject, filtered = quantified
        return QuerySpec(text, "yesno", quantifier=quantifier, subjects=(subject, filtered))
    subject, asks_property = _subject(query, vocabulary)
    subjects = (subject,) if subject is not None else ()
    quantifier = "the" if asks_property else None
    return QuerySpec(
        text, answer, superlative=superlative, subjects=subjects, quantifier=quantifier
    )


_TREE_QUANTIFIERS = {"exists": "any", "none": "none"}
"""the quantifier of each tree form that asks whether objects exist"""

_SUPERLATIVES = {
    "nearest": ("depth", "min"), "closest": ("depth", "min"), "farthest": ("depth", "max"),
    "furthest": ("depth", "max"), "leftmost": ("x", "min"), "rightmost": ("x", "max"),
    "topmost": ("y", "max"), "highest": ("y", "max"), "uppermost": ("y", "max"),
    "lowest": ("y", "min"), "bottommost": ("y", "min"),
    "nearer": ("depth", "min"), "closer": ("depth", "min"), "farther": ("depth", "max"),
    "further": ("depth", "max"), "higher": ("y", "max"), "lower": ("y", "min"),
}  # fmt: skip
"""superlatives, and the comparatives of "which is nearer, a or b"."""
_CHOICE = re.compile(
    r"^which (?:one |object )?is (?P<c>nearer|closer|farther|further|higher|lower)"
    r"(?: to the camera)?,? (?:the )?(?P<x>.+?) or (?:the )?(?P<y>.+)$"
)
_COUNT_RELATION = re.compile(
    r"^how many (?P<x>.+?) (?:are |is )?(?:(?:to|on) the )?(?P<rel>left|right|above|below)"
    r"(?: of)? (?:the )?(?P<y>.+)$"
)
_SUPERLATIVE_WORD = re.compile(r"\b(" + "|".join(_SUPERLATIVES) + r")\b")


_POSITION_ADJECTIVE = re.compile(r"\bthe (left|right|top|bottom) (?!of\b|side\b)")
"""'the left square' is the leftmost of the squares ('to the left of' is a relation)"""
_POSITIONS = {"left": ("x", "min"), "right": ("x", "max"), "top": ("y", "max"),
              "bottom": ("y", "min")}  # fmt: skip


def _superlative(query: str) -> tuple[str, str] | None:
    match = _SUPERLATIVE_WORD.search(query)
    if match:
        return _SUPERLATIVES[match.group(1)]
    adjective = _POSITION_ADJECTIVE.search(query)
    return _POSITIONS[adjective.group(1)] if adjective else None


_QUANTIFIED = [
    ("all", re.compile(r"^(?:are|is) (?:all|every|each)(?: of)? (?:the )?(?P<x>.+) (?P<p>\w+)$")),
    ("any", re.compile(r"^(?:are|is) (?:any|some)(?: of)? (?:the )?(?P<x>.+) (?P<p>\w+)$")),
    ("none", re.compile(r"^(?:are|is) (?:none of the|no) (?P<x>.+) (?P<p>\w+)$")),
]


def _quantified(
    query: str, vocabulary: Vocabulary
) -> tuple[str, frozenset[str], frozenset[str]] | None:
    """("all", {circle}, {circle, red}) for "are all the circles red"; the property must be an
    attribute word (or "a star" style: an article and a noun)."""
    query = re.sub(r" (?:a|an) (\w+)$", r" \1", query)
    for quantifier, pattern in _QUANTIFIED:
        match = pattern.match(query)
        if match is None or vocabulary.attribute(match.group("p")) is None:
            continue
        subject = vocabulary.content_words(match.group("x"))
        return quantifier, subject, subject | vocabulary.content_words(match.group("p"))
    return None


_SUBJECT_FORMS = [
    re.compile(r"^what does the (?:text|writing|label) (?:on|of) (?:the )?(?P<x>.+?) say$"),
    re.compile(r"^what is (?:written|the text|the label) on (?:the )?(?P<x>.+)$"),
    re.compile(r"^what (?:color|colour|shape|size|material) is (?:the )?(?P<x>.+)$"),
    re.compile(r"^what is the (?:color|colour|shape|size|material) of (?:the )?(?P<x>.+)$"),
    re.compile(r"^(?:is|are) (?:the )?(?P<x>.+?) (?:a|an) \w+$"),
    re.compile(r"^(?:is|are) (?:the )?(?P<x>.+?) \w+$"),
]


def _subject(query: str, vocabulary: Vocabulary) -> tuple[frozenset[str] | None, bool]:
    """The content words of the one object an open or yes/no question is about ("what color
    is the nearest star" -> {star}; "is the nearest triangle orange" -> {triangle}), and
    whether the question asks if that object has an attribute (its verdict is the answer)."""
    for pattern in _SUBJECT_FORMS:
        match = pattern.match(query)
        if match is None:
            continue
        phrase = _SUPERLATIVE_WORD.sub(" ", match.group("x"))
        asks = pattern.pattern.endswith(r" \w+$")
        if asks and not _names_an_object(phrase, vocabulary):
            continue
        attribute = query.split()[-1]
        return vocabulary.content_words(phrase), asks and bool(vocabulary.attribute(attribute))
    return None, False


def _names_an_object(phrase: str, vocabulary: Vocabulary) -> bool:
    """Whether a phrase ends in a noun: a shape word or a generic one ("object")."""
    last = phrase.split()[-1] if phrase.split() else ""
    found = vocabulary.attribute(last)
    return (found is not None and found[0] == "shape") or vocabulary.is_generic(last)


def _objects(text: str, vocabulary: Vocabulary, kind: str = "objects") -> Node:
    text = text.strip()
    return Node(kind, phrase=vocabulary.content_words(text), text=text)


def _build(form: str, match: re.Match[str], vocabulary: Vocabulary) -> Node | None:
    def objects(name: str) -> Node:
        return _objects(match.group(name), vocabulary)

    if form == "count":
        return Node("count", (objects("x"),))
    if form in ("more", "fewer", "same"):
        op = {"more": ">", "fewer": "<", "same": "=="}[form]
        pair = (Node("count", (objects("x"),)), Node("count", (objects("y"),)))
        return Node("yesno", (Node("compare", pair, op=op),))
    if form == "threshold":
        number = match.group(2)
        value = int(number) if number.isdigit() else _NUMBERS[number]
        pair = (Node("count", (objects("x"),)), Node("const", value=value))
        return Node("yesno", (Node("compare", pair, op=_THRESHOLDS[match.group("q")]),))
    if form == "none":
        return Node("yesno", (Node("not", (Node("exists", (objects("x"),)),)),))
    if form in ("either", "both"):
        kind = "or" if form == "either" else "and"
        pair = (Node("exists", (objects("x"),)), Node("exists", (objects("y"),)))
        return Node("yesno", (Node(kind, pair),))
    if form == "exists":
        return Node("yesno", (Node("exists", (objects("x"),)),))
    if form == "relation":
        a = _objects(match.group("x"), vocabulary, "the")
        b = _objects(match.group("y"), vocabulary, "the")
        if not a.phrase or not b.phrase:
            return None
        return Node("yesno", (Node("relation", (a, b), op=_RELATIONS[match.group("rel")]),))
    return None  # pragma: no cover - every form is handled above


def _options(query: str, vocabulary: Vocabulary) -> tuple[str, ...] | None:
    """``("red", "blue")`` for "is the circle red or blue"; None for "is there a or b"."""
    if re.match(r"^(?:are|is) there\b", query):
        return None
    match = re.search(r"(?:^|\s)([a-z]+)\s+or\s+([a-z]+)$", query)
    if not match:
        return None
    a, b = match.group(1), match.group(2)
    found_a, found_b = vocabulary.attribute(a), vocabulary.attribute(b)
    if found_a and found_b and found_a[0] == found_b[0]:
        return (a, b)
    if _YES_NO_START.match(query) is None and query.startswith(("which", "what")):
        return (a, b)
    return None
