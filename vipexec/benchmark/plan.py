"""Query plans: a question about a synthetic scene, its answer, and the blocks each step may hold.

A :class:`Plan` is what one query family makes of one scene: the query text, the expected
answer (computed from the scene file, never from a backend or a labeler) and the program's
steps. Each :class:`Step` lists :class:`Variant` blocks: the first is correct, further ones are
either correct in another code style (``fault`` None) or carry one recorded fault. Every variant
of a step binds the same names, so any choice of variant per step is a program that runs to the
end: alternatives can diverge at any step.

Fault kinds (what the variant gets wrong):

- ``wrong_operator``: a comparison or boolean operator swapped (``<``/``>``, ``and``/``or``, ...);
- ``negation``: a ``not`` added;
- ``attribute_word``: the wrong colour, shape or size word asked of a model;
- ``wrong_variable``: an existing but wrong variable read;
- ``off_by_one``: a count or index shifted by one, or a strict bound for an inclusive one;
- ``missing_guard``: the check for an empty result dropped (fails where the guard mattered);
- ``wrong_api_method``: another API method or property than the one the question needs;
- ``wrong_sort_order``: a sort reversed;
- ``any_all_swap``: ``any`` for ``all`` or back;
- ``generic_noun``: the object word replaced by ``object``, dropping what the query asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vipexec.engine.output import DONE_LINE

FAULT_KINDS = (
    "wrong_operator",
    "negation",
    "attribute_word",
    "wrong_variable",
    "off_by_one",
    "missing_guard",
    "wrong_api_method",
    "wrong_sort_order",
    "any_all_swap",
    "generic_noun",
)
DONE = f'print("{DONE_LINE}")'
"""the line that ends every least-to-most program"""


@dataclass(frozen=True)
class Variant:
    """One way to write a step: its code, and the fault it carries (None: correct)."""

    code: str
    fault: str | None = None

    def __post_init__(self) -> None:
        if self.fault is not None and self.fault not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.fault!r}; kinds: {', '.join(FAULT_KINDS)}")


@dataclass(frozen=True)
class Step:
    description: str
    variants: tuple[Variant, ...]

    def block(self, number: int, variant: int) -> str:
        """The block text of ``variants[variant]`` as step ``number``."""
        return f"# Step {number}: {self.description}\n{self.variants[variant].code}\n"


@dataclass(frozen=True)
class Plan:
    family: str
    style: str
    """the naming style (``viper`` or ``visprog``)"""
    query: str
    answer: Any
    steps: tuple[Step, ...]

    def source(self, choice: list[int] | None = None) -> str:
        """The program with variant ``choice[i]`` at step ``i`` (default: all correct)."""
        choice = choice or [0] * len(self.steps)
        return "".join(s.block(i + 1, c) for i, (s, c) in enumerate(zip(self.steps, choice)))


@dataclass(frozen=True)
class Fault:
    """A fault written as a substitution in the step's correct code."""

    kind: str
    old: str
    new: str


@dataclass(frozen=True)
class Also:
    """Another correct way to write the step."""

    code: str


def step(description: str, code: str, *others: Fault | Also) -> Step:
    """A step whose correct code is ``code``; ``others`` add correct styles and faults."""
    variants = [Variant(code)]
    for other in others:
        if isinstance(other, Also):
            variants.append(Variant(other.code))
            continue
        if code.count(other.old) != 1:
            raise ValueError(f"fault {other.kind}: {other.old!r} is not unique in {code!r}")
        variants.append(Variant(code.replace(other.old, other.new), other.kind))
    return Step(description, tuple(variants))


def report(name: str) -> str:
    """The closing lines of a program: print the answer, then the end marker."""
    return f"print({name})\n{DONE}"


class Names:
    """Variable names in one of two styles: ViperGPT's descriptive names (``red_circles``) or
    VisProg's numbered capitals (``BOX0``, ``ANSWER1``)."""

    STYLES = ("viper", "visprog")

    def __init__(self, style: str) -> None:
        if style not in self.STYLES:
            raise ValueError(f"unknown naming style {style!r}")
        self.style = style
        self._given: dict[str, str] = {}
        self._counts: dict[str, int] = {}

    @property
    def patch(self) -> str:
        return "image_patch" if self.style == "viper" else "IMAGE"

    def boxes(self, role: str) -> str:
        """A name for a list of patches."""
        return self._name(role, "BOX")

    def value(self, role: str) -> str:
        """A name for a number, a flag or an answer."""
        return self._name(role, "ANSWER")

    def _name(self, role: str, prefix: str) -> str:
        if self.style == "viper":
            return role
        if role not in self._given:
            number = self._counts.get(prefix, 0)
            self._counts[prefix] = number + 1
            self._given[role] = f"{prefix}{number}"
        return self._given[role]
