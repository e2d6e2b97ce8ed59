"""The synthetic backend's small language: object phrases, attribute words, question forms,
arithmetic for ``llm_query`` and option scoring.

Everything is closed-world: a phrase that names something the synthetic world does not have
(``"dog"``) describes nothing, so ``find`` returns no boxes and ``verify_property`` is false;
questions of a form the backend does not know are answered with an explicit ``unknown: ...``.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field

from vipexec.modules.number_words import NUMBER_WORDS, SCALES
from vipexec.modules.synthetic import world
from vipexec.modules.synthetic.vision import Blob

COLOR_WORDS = {**{c: c for c in world.COLORS}, "violet": "purple", "magenta": "pink"}
SIZE_WORDS = {
    "small": "small", "little": "small", "tiny": "small",
    "large": "large", "big": "large", "huge": "large",
}  # fmt: skip
SHAPE_WORDS = {
    "circle": "circle", "circles": "circle", "disc": "circle", "discs": "circle",
    "disk": "circle", "disks": "circle", "round": "circle",
    "square": "square", "squares": "square",
    "triangle": "triangle", "triangles": "triangle", "triangular": "triangle",
    "diamond": "diamond", "diamonds": "diamond", "rhombus": "diamond",
    "star": "star", "stars": "star",
}  # fmt: skip
GENERIC_NOUNS = frozenset(
    "object objects shape shapes thing things item items figure figures".split()
)
TEXT_NOUNS = frozenset(
    "text texts label labels letter letters word words writing number numbers sign".split()
)
TEXT_ADJECTIVES = frozenset("labeled labelled lettered written marked".split())
FILLER = frozenset(
    """a an the any some all every each this that these those it its one of with colored
    coloured shaped in on image picture photo scene patch there visible other""".split()
)


@dataclass(frozen=True)
class Phrase:
    """What an object phrase asks for; ``None`` fields are unconstrained."""

    color: str | None = None
    size: str | None = None
    shape: str | None = None
    needs_text: bool = False
    text: str | None = None
    """a required label (upper case), from quotes or ``labelled X``"""
    unknown: tuple[str, ...] = field(default_factory=tuple)
    """content words outside the world's vocabulary: the phrase matches nothing"""

    @property
    def empty(self) -> bool:
        return (
            self.color is None
            and self.size is None
            and self.shape is None
            and not self.needs_text
            and not self.unknown
        )

    def matches(self, blob: Blob) -> bool:
        if self.unknown:
            return False
        if self.color is not None and blob.color != self.color:
            return False
        if self.size is not None and blob.size != self.size:
            return False
        if self.shape is not None and blob.shape != self.shape:
            return False
        if self.needs_text and not blob.text:
            return False
        return self.text is None or blob.text == self.text


_WORD = re.compile(r"[a-z0-9]+")
_CLOSING_QUOTES = "\"'”’"
_QUOTED = re.compile(rf"[\"'“‘]([^{_CLOSING_QUOTES}]+)[{_CLOSING_QUOTES}]")


def _search_quoted(text: str) -> re.Match[str] | None:
    """The first quoted span (``_QUOTED.search``) in linear time. An opening quote with no
    closing quote after it fails only after scanning to the end, so a run of opening quotes made
    a plain search quadratic; no match can end past the last closing quote, so the search stops
    there, and every start before it either matches or fails at once."""
    end = max(text.rfind(quote) for quote in _CLOSING_QUOTES) + 1
    return _QUOTED.search(text, 0, end) if end > 0 else None


def parse_phrase(text: str) -> Phrase:
    """Parse an object phrase such as ``"large red circles"`` or ``"square labelled 'AB'"``."""
    label = None
    quoted = _search_quoted(text)
    if quoted:
        label = quoted.group(1).strip().upper()
        text = text[: quoted.start()] + " " + text[quoted.end() :]
    return _read_words(_WORD.findall(text.lower()), label).phrase


@dataclass
class _Reading:
    phrase: Phrase
    first_unknown: int
    """index of the first word outside the vocabulary (``len(words)`` if none)"""


def _read_words(words: list[str], label: str | None) -> _Reading:
    color = size = shape = None
    needs_text = label is not None
    unknown: list[str] = []
    first_unknown = len(words)
    i = 0
    while i < len(words):
        word = words[i]
        if word in COLOR_WORDS:
            color = COLOR_WORDS[word]
        elif word in SIZE_WORDS:
            size = SIZE_WORDS[word]
        elif word in SHAPE_WORDS:
            shape = SHAPE_WORDS[word]
        elif word in TEXT_NOUNS or word in TEXT_ADJECTIVES:
            needs_text = True
            if word in TEXT_ADJECTIVES and i + 1 < len(words) and label is None:
                label = words[i + 1].upper()
                i += 1
        elif word not in GENERIC_NOUNS and word not in FILLER:
            first_unknown = min(first_unknown, i)
            unknown.append(word)
        i += 1
    return _Reading(Phrase(color, size, shape, needs_text, label, tuple(unknown)), first_unknown)


def is_self_reference(text: str) -> bool:
    """Whether a phrase just points at the patch ("it", "this", "the object", "")."""
    return parse_phrase(text).empty


# --- questions ------------------------------------------------------------------------------------

_ARTICLE = r"(?:(?:the|a|an|this|that|these|those|any|some)\s+)?"
_DESCRIBE = re.compile(
    r"^(?:what\s+(?:is|are)\s+(?:this|that|it|these|those|shown|here|"
    r"in\s+(?:the\s+)?(?:image|picture|photo|patch|scene))|what\s+object\s+is\s+(?:this|that|it)|"
    r"describe(?:\s+(?:the\s+)?(?:image|picture|patch|object|this))?)$"
)
_COUNT = re.compile(r"^how\s+many\s+(.+?)(?:\s+(?:are|is|can|do|in|on)\b.*)?$")
_COLOR_OF = re.compile(
    r"^(?:what|which)\s+colou?r\s+(?:is|are|does)\s+(.*?)(?:\s+have)?$|"
    r"^what\s+(?:is|are)\s+the\s+colou?rs?\s+of\s+(.*)$|^(?:what|which)\s+colou?r(?:\s+(.*))?$|"
    r"^(?:what|which)\s+(?:is|are)\s+the\s+colou?rs?$"
)
_SHAPE_OF = re.compile(
    r"^(?:what|which)\s+shape\s+(?:is|are|does)\s+(.*?)(?:\s+have)?$|"
    r"^what\s+(?:is|are)\s+the\s+shapes?\s+of\s+(.*)$|^(?:what|which)\s+shape(?:\s+(.*))?$|"
    r"^(?:what|which)\s+(?:is|are)\s+the\s+shapes?$"
)
_SIZE_OF = re.compile(
    r"^(?:what|which)\s+size\s+(?:is|are)\s+(.*)$|^what\s+(?:is|are)\s+the\s+sizes?\s+of\s+(.*)$|"
    r"^(?:what|which)\s+size$|"
    r"^(?:what|which)\s+(?:is|are)\s+the\s+sizes?$"
)
_EXISTS = re.compile(r"^(?:is|are)\s+there\s+" + _ARTICLE + r"(.+?)(?:\s+(?:in|on)\s+.*)?$")
_IS_THIS = re.compile(r"^(?:is|are)\s+(?:this|that|it|these|those)\s+" + _ARTICLE + r"(.+)$")
_IS_THE = re.compile(r"^(?:is|are)\s+(?:the\s+)?(.+)$")
_TEXT = re.compile(
    r"^(?:what\s+(?:does|do)\s+(?:the\s+)?(?:text|label|sign|writing|it|this|that)\s+say|"
    r"what\s+(?:is|are)\s+(?:written|printed)(?:\s+.*)?|"
    r"what\s+(?:text|word|words|letters?|label|number)\s+(?:is|are)\s+.*|"
    r"what\s+(?:is|are)\s+the\s+(?:text|label|letters?|word|words|number)(?:\s+.*)?|"
    r"read\s+(?:the\s+)?(?:text|label|letters?)(?:\s+.*)?)$"
)


@dataclass(frozen=True)
class Question:
    kind: str
    """describe, count, color, shape, size, exists, is_this, is_attr, text, unknown"""
    phrase: str = ""
    attribute: str = ""


def normalize_question(question: str) -> str:
    text = question.strip().lower().rstrip("?.!").strip()
    return " ".join(text.split())


def parse_question(question: str) -> Question:
    """Classify a ``simple_query`` question into one of the supported forms."""
    text = normalize_question(question)
    if not text or _DESCRIBE.match(text):
        return Question("describe")
    if _TEXT.match(text):
        return Question("text")
    for kind, pattern in (("count", _COUNT), ("color", _COLOR_OF), ("shape", _SHAPE_OF)):
        match = pattern.match(text)
        if match:
            return Question(kind, _first_group(match))
    match = _SIZE_OF.match(text)
    if match:
        return Question("size", _first_group(match))
    match = _EXISTS.match(text)
    if match:
        return Question("exists", match.group(1))
    match = _IS_THIS.match(text)
    if match:
        return Question("is_this", match.group(1))
    match = _IS_THE.match(text)
    if match:
        split = _subject_and_attribute(match.group(1).split())
        if split is not None:
            return Question("is_attr", *split)
    return Question("unknown")


def _first_group(match: re.Match) -> str:
    for group in match.groups():
        if group:
            return group.strip()
    return ""


def _is_attribute_word(word: str) -> bool:
    return (
        word in COLOR_WORDS or word in SIZE_WORDS or word in SHAPE_WORDS or word in TEXT_ADJECTIVES
    )


def _subject_and_attribute(words: list[str]) -> tuple[str, str] | None:
    """Split "is the <words>" into the longest subject (a phrase naming nothing unknown) and an
    attribute of attribute words only (at least one besides filler), or ``None``.

    One pass each way instead of parsing the subject once per cut (quadratic): the cuts whose
    attribute qualifies form one range, and whether a subject names something unknown depends
    only on where the first unknown word of the longest subject sits (see
    :func:`_first_unknown_end`).
    """
    content = [[t for t in _WORD.findall(w) if t not in FILLER] for w in words]
    low, last_content = len(words), -1
    for i in range(len(words) - 1, 0, -1):
        if not all(_is_attribute_word(t) for t in content[i]):
            break
        low = i
        if content[i] and last_content < 0:
            last_content = i
    high = min(len(words) - 1, last_content)
    if low > high:
        return None
    ends = [0] * (high + 1)  # ends[cut]: length of " ".join(words[:cut])
    for cut in range(1, high + 1):
        ends[cut] = ends[cut - 1] + len(words[cut - 1]) + (1 if cut > 1 else 0)
    longest = " ".join(words[:high])
    quoted = _search_quoted(longest)
    if quoted is not None:
        before = _first_unknown_end(longest[: quoted.start()], labelled=True)
        after = quoted.end() + _first_unknown_end(longest[quoted.end() :], labelled=True)
        quoted_unknown_end = 0 if before <= quoted.start() else after
    plain_unknown_end = _first_unknown_end(longest, labelled=False)
    for cut in range(high, low - 1, -1):
        if quoted is not None and quoted.end() <= ends[cut]:
            unknown_end = quoted_unknown_end  # the subject holds the whole quoted label
        else:
            unknown_end = plain_unknown_end  # a cut inside the quotes leaves no label
        if unknown_end > ends[cut]:
            return " ".join(words[:cut]), " ".join(words[cut:])
    return None


def _first_unknown_end(text: str, *, labelled: bool) -> int:
    """Where the first unknown word of ``text`` ends as :func:`parse_phrase` reads it (after
    any quoted label is cut out; ``labelled``: a label is already known), else a length past
    the text. A prefix of ``text`` ending at a word boundary names something unknown exactly
    when it reaches that end: the words a prefix drops never change how earlier words read."""
    found = list(_WORD.finditer(text.lower()))
    reading = _read_words([m.group(0) for m in found], "" if labelled else None)
    if reading.first_unknown == len(found):
        return len(text) + 1
    return found[reading.first_unknown].end()


def unknown_answer(question: str) -> str:
    return f"unknown: the synthetic backend cannot answer {question!r}"


# --- attributes -----------------------------------------------------------------------------------


def has_attribute(blob: Blob, attribute: str) -> bool:
    """Closed-world check of an attribute phrase (colours, sizes, shapes, being labelled)."""
    phrase = parse_phrase(attribute)
    if phrase.empty:
        return False
    return phrase.matches(blob)


def attribute_kind(attribute: str) -> str | None:
    """``"color"``, ``"shape"``, ``"size"`` or ``"text"`` if the attribute names only that kind."""
    phrase = parse_phrase(attribute)
    kinds = {
        kind
        for kind, present in (
            ("color", phrase.color is not None),
            ("size", phrase.size is not None),
            ("shape", phrase.shape is not None),
            ("text", phrase.needs_text),
        )
        if present
    }
    return kinds.pop() if len(kinds) == 1 and not phrase.unknown else None


def score_option(option: str, blob: Blob | None) -> float:
    """How well a text option describes a blob: + for each matching attribute word, - for each
    contradicting one; a label equal to the blob's text counts most."""
    return OptionWords.of(option).score(blob)


@dataclass(frozen=True)
class OptionWords:
    """A text option's attribute words, counted once: scoring it against a blob is then
    constant time, however long the option (see :func:`score_option`)."""

    label: str
    """the whole option stripped of quotes, upper case (compared with a blob's text)"""
    quoted: str | None
    """the first quoted label, upper case"""
    colors: Counter[str]
    shapes: Counter[str]
    sizes: Counter[str]
    text_words: int

    @classmethod
    def of(cls, option: str) -> OptionWords:
        words = _WORD.findall(option.lower())
        quoted = _search_quoted(option)
        return cls(
            label=option.strip().strip("\"'").upper(),
            quoted=quoted.group(1).strip().upper() if quoted else None,
            colors=Counter(COLOR_WORDS[w] for w in words if w in COLOR_WORDS),
            shapes=Counter(SHAPE_WORDS[w] for w in words if w in SHAPE_WORDS),
            sizes=Counter(SIZE_WORDS[w] for w in words if w in SIZE_WORDS),
            text_words=sum(1 for w in words if w in TEXT_NOUNS or w in TEXT_ADJECTIVES),
        )

    def score(self, blob: Blob | None) -> float:
        if blob is None:
            return 0.0
        score = 3.0 if blob.text and self.label == blob.text else 0.0
        for counts, own, weight in (
            (self.colors, blob.color, 2.0),
            (self.shapes, blob.shape, 2.0),
            (self.sizes, blob.size, 1.0),
        ):
            matching = counts[own]
            score += weight * (matching - (counts.total() - matching))
        score += 0.5 * self.text_words if blob.text else -0.5 * self.text_words
        if self.quoted is not None and blob.text:
            score += 3.0 if self.quoted == blob.text else -1.0
        return score


# --- llm_query: arithmetic and comparisons --------------------------------------------------------

_NUMBER_WORDS = {**NUMBER_WORDS, "hundred": SCALES["hundred"], "thousand": SCALES["thousand"]}
_NUM = r"-?(?<!\d)\d+(?:\.\d+)?"
"""a number; it starts only at the first digit of a run, so a search that fails after a long
digit run tries it once, not once per digit (which was quadratic)"""
_OPS = [
    (r"\bmultiplied by\b", "*"), (r"\btimes\b", "*"), (r"\bdivided by\b", "/"),
    (r"\bplus\b", "+"), (r"\bminus\b", "-"), (r"×", "*"), (r"÷", "/"),
    (r"(?<=\d)\s*x\s*(?=\d)", "*"),
]  # fmt: skip
_GREATER = r"(?:greater|more|larger|bigger|higher|longer|taller|older)"
_LESS = r"(?:less|fewer|smaller|lower|shorter|younger)"


def number_words_to_digits(text: str) -> str:
    return re.sub(
        r"\b(" + "|".join(_NUMBER_WORDS) + r")\b", lambda m: str(_NUMBER_WORDS[m.group(1)]), text
    )


def format_number(value: float) -> str:
    if math.isfinite(value) and float(value).is_integer():
        return str(int(value))
    return f"{value:.6g}"


def answer_arithmetic(question: str) -> str | None:
    """Answer simple arithmetic or a comparison of two numbers; ``None`` if it is neither."""
    text = normalize_question(question)
    text = number_words_to_digits(text)
    for pattern, symbol in _OPS:
        text = re.sub(pattern, f" {symbol} ", text)
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)
    comparison = re.search(rf"({_NUM})\s+(?:is\s+)?({_GREATER}|{_LESS})\s+than\s+({_NUM})", text)
    if comparison:
        a, word, b = float(comparison.group(1)), comparison.group(2), float(comparison.group(3))
        greater = re.fullmatch(_GREATER, word) is not None
        return "yes" if (a > b if greater else a < b) else "no"
    comparison = re.search(rf"({_NUM})\s+(?:is\s+)?(?:equal\s+to|the\s+same\s+as)\s+({_NUM})", text)
    if comparison:
        return "yes" if float(comparison.group(1)) == float(comparison.group(2)) else "no"
    which = re.search(
        rf"which\s+is\s+({_GREATER}|{_LESS})\w*\s*,?\s*({_NUM})\s+or\s+({_NUM})", text
    )
    if which:
        a, b = float(which.group(2)), float(which.group(3))
        greater = re.fullmatch(_GREATER, which.group(1)) is not None
        return format_number(max(a, b) if greater else min(a, b))
    for name, fn in (("sum", sum), ("product", math.prod)):
        match = re.search(rf"\b{name}\s+of\s+(.+)$", text)
        if match:
            numbers = [float(n) for n in re.findall(_NUM, match.group(1))]
            if len(numbers) >= 2:
                return format_number(fn(numbers))
    match = re.search(r"\b(?:average|mean)\s+of\s+(.+)$", text)
    if match:
        numbers = [float(n) for n in re.findall(_NUM, match.group(1))]
        if numbers:
            return format_number(sum(numbers) / len(numbers))
    match = re.search(rf"\bdifference\s+between\s+({_NUM})\s+and\s+({_NUM})", text)
    if match:
        return format_number(abs(float(match.group(1)) - float(match.group(2))))
    expression = re.search(rf"{_NUM}(?:\s*[-+*/]\s*{_NUM})+", text)
    if expression:
        value = _evaluate(expression.group(0))
        if value is not None:
            return format_number(value)
    return None


def _evaluate(expression: str) -> float | None:
    """Evaluate ``a op b op c`` with the usual precedence (no ``eval``); ``None`` if invalid."""
    items: list = []
    expect_number, sign = True, 1.0
    for token in re.findall(r"\d+(?:\.\d+)?|[-+*/]", expression):
        if expect_number:
            if token == "-":
                sign = -sign
                continue
            if token in "+*/":
                return None
            items.append(sign * float(token))
            expect_number, sign = False, 1.0
        else:
            items.append(token)
            expect_number = True
    if expect_number or not items:
        return None
    values, ops = [items[0]], []
    for op, value in zip(items[1::2], items[2::2]):
        if op == "*":
            values[-1] *= value
        elif op == "/":
            if value == 0:
                return None
            values[-1] /= value
        else:
            ops.append(op)
            values.append(value)
    total = values[0]
    for op, value in zip(ops, values[1:]):
        total = total + value if op == "+" else total - value
    return total


# --- select_answer --------------------------------------------------------------------------------


def _flatten(value: object, out: list[str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            out.append(str(key))
            _flatten(item, out)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _flatten(item, out)
    elif isinstance(value, bool):
        out.append("yes" if value else "no")
    elif value is not None:
        out.append(format_number(value) if isinstance(value, (int, float)) else str(value))


def _as_number(text: str) -> float | None:
    text = number_words_to_digits(text.strip().lower())
    try:
        return float(text)
    except ValueError:
        return None


@dataclass(frozen=True)
class _Fact:
    text: str
    number: float | None
    words: frozenset[str]

    @classmethod
    def of(cls, text: str) -> _Fact:
        norm = text.strip().lower()
        return cls(norm, _as_number(norm), frozenset(_WORD.findall(norm)))


def _score_answer(option: _Fact, facts: list[_Fact]) -> float:
    """Support for ``option`` in the facts: exact or numeric equality first, then word overlap."""
    best = 0.0
    for fact in facts:
        if fact.text == option.text:
            best = max(best, 3.0)
            continue
        if option.number is not None and fact.number is not None:
            if option.number == fact.number:
                best = max(best, 3.0)
            continue
        if option.words and fact.words:
            overlap = len(option.words & fact.words) / len(option.words | fact.words)
            best = max(best, 2.0 * overlap)
    return best


def select_answer(info: dict, options: list[str]) -> str:
    """The option with the most support in ``info`` (the first option on ties, or with none)."""
    texts: list[str] = []
    _flatten(info, texts)
    facts = [_Fact.of(text) for text in texts]  # once, not once per option
    scores = [_score_answer(_Fact.of(option), facts) for option in options]
    return options[max(range(len(options)), key=lambda i: (scores[i], -i))]
