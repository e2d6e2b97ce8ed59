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

Runtime fault kinds (:data:`RUNTIME_FAULT_KINDS`) make the block fail when it runs, the way
programs written by language models fail; every step gets those that fit its correct code
(:func:`runtime_faults`), so no family lists them:

- ``misspelled_method``: an API method or property the ImagePatch does not have
  (``find`` -> ``find_all``): AttributeError;
- ``wrong_type_method``: a method of another type called on a list (``len(x)`` ->
  ``x.size()``): AttributeError;
- ``index_out_of_range``: an index one past the end (``x[0]`` -> ``x[len(x)]``): IndexError;
- ``none_result``: the None of an in-place helper kept (``x.sort(...)`` -> ``x = x.sort(...)``):
  the next block that reads ``x`` fails with a TypeError.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from vipexec.engine.output import DONE_LINE

CODE_FAULT_KINDS = (
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
"""faults that run to the end with a wrong result"""
RUNTIME_FAULT_KINDS = (
    "misspelled_method",
    "wrong_type_method",
    "index_out_of_range",
    "none_result",
)
"""faults that make a block fail at run time (see the module docstring)"""
FAULT_KINDS = CODE_FAULT_KINDS + RUNTIME_FAULT_KINDS
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
    """A step whose correct code is ``code``; ``others`` add correct styles and faults, and the
    runtime faults that fit ``code`` come last (:func:`runtime_faults`)."""
    variants = [Variant(code)]
    others = (*others, *runtime_faults(code))
    for other in others:
        if isinstance(other, Also):
            variants.append(Variant(other.code))
            continue
        if code.count(other.old) != 1:
            raise ValueError(f"fault {other.kind}: {other.old!r} is not unique in {code!r}")
        variants.append(Variant(code.replace(other.old, other.new), other.kind))
    return Step(description, tuple(variants))


MISSPELLINGS = (
    (".find(", ".find_all("),
    (".simple_query(", ".query("),
    (".exists(", ".exist("),
    (".compute_depth(", ".depth("),
    (".best_text_match(", ".best_match("),
    (".verify_property(", ".has_property("),
    (".horizontal_center", ".center_x"),
    (".vertical_center", ".center_y"),
)
"""API names and the names a model misremembers them as, those called unconditionally first"""


def runtime_faults(code: str) -> list[Fault]:
    """The runtime faults (:data:`RUNTIME_FAULT_KINDS`) that fit a step's correct ``code``: at
    most one per kind, each a substitution of a text that occurs once in ``code``."""
    faults = []
    misspelt = next((pair for pair in MISSPELLINGS if code.count(pair[0]) == 1), None)
    if misspelt is not None:
        faults.append(Fault("misspelled_method", *misspelt))
    for kind, pattern, wrong in (
        ("wrong_type_method", r"len\((\w+)\)", r"\1.size()"),
        ("index_out_of_range", r"\b(\w+)\[(?:0|-1)\]", r"\1[len(\1)]"),
        ("none_result", r"(?m)^([ \t]*)(\w+)\.sort\(", r"\1\2 = \2.sort("),
    ):
        found = next((m for m in re.finditer(pattern, code) if code.count(m.group(0)) == 1), None)
        if found is not None:
            faults.append(Fault(kind, found.group(0), found.expand(wrong)))
    return faults


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
