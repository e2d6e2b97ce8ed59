"""Operation tests: the logical operations a block performs, tested against the query's.

Three checks read each block's code (whether or not it is pure glue), find the operations it
performs and run them, as small input/output tests, next to the operation the query's parse
asks for (:class:`~.query.QuerySpec`):

- ``quantifier``: ``any(...)``, ``all(...)``, a loop that returns as soon as an element passes
  (or fails) a test, or an ``exists(...)`` that decides the answer, each turned into a function
  of the per-object verdicts and compared with the query's ``all`` / ``any`` / ``none`` on every
  verdict vector up to three objects ("are all the circles red" answered by ``any`` fails on
  ``[True, False]``);
- ``extremum``: a selection by order (``sort``/``sorted`` then ``[0]`` or ``[-1]``,
  ``min``/``max`` with a key, ``xs[ds.index(max(ds))]``, a loop keeping the element with the
  smaller or larger key) must pick the query's superlative end on the query's axis ("nearest"
  picks the smallest depth). When a selection picks the wrong end, the fault is charged to an
  explicit ``reverse=True`` if the sort has one, else to the block that picks;
- ``coverage``: a value the block uses as the answer's material (its count ``len(x)``, a
  quantifier over it, one element ``x[0]``, ``min``/``max`` of it, ``exists(...)``) must hold
  every attribute the query names for those objects: counting ``find("object")`` for "how many
  red objects", or keeping the objects that are *not* red, fails.

Each check gives ``pass`` or ``fail`` for the blocks where it found an operation and says
nothing about the others; a query without the needed part (no quantifier, no superlative, no
object phrase) skips the check.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator
from dataclasses import dataclass

from vipexec.core.program import Program
from vipexec.labelers.logic.analysis import NEGATED, ProgramFacts
from vipexec.labelers.logic.checks import Check
from vipexec.labelers.logic.query import QuerySpec
from vipexec.labelers.logic.vocabulary import Vocabulary
from vipexec.modules.methods import API_FUNCTIONS, METHODS, ApiMethod, lookup

__all__ = ["coverage_checks", "extremum_checks", "quantifier_checks", "relation_checks"]

QUANTIFIER, EXTREMUM, COVERAGE = "quantifier", "extremum", "coverage"
_YES, _NO = "yes", "no"


def _query_answer(quantifier: str, verdicts: tuple[bool, ...]) -> bool:
    if quantifier == "the":
        return verdicts[0]
    if quantifier == "all":
        return all(verdicts)
    if quantifier == "any":
        return any(verdicts)
    return not any(verdicts)  # none


# --- quantifiers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Decision:
    """How a block turns per-object verdicts into the answer: ``answer(verdicts)``."""

    what: str
    yes_when_any: bool
    """the answer is decided by ``any`` (True) or by ``all`` (False) of the tested verdicts"""
    test_negated: bool
    """the verdicts are tested through a ``not``"""
    answer_negated: bool
    """the result is negated (or answers "no" when the test holds)"""
    single: bool = False
    """the answer is one object's verdict (the first): only vectors of at least one object"""

    def answer(self, verdicts: tuple[bool, ...]) -> bool:
        if self.single:
            return (verdicts[0] != self.test_negated) != self.answer_negated
        tested = tuple(not v for v in verdicts) if self.test_negated else verdicts
        value = any(tested) if self.yes_when_any else all(tested)
        return not value if self.answer_negated else value


def quantifier_checks(facts: ProgramFacts, spec: QuerySpec) -> list[Check]:
    if spec.quantifier is None:
        return []
    checks = []
    vectors = [v for n in range(4) for v in itertools.product((False, True), repeat=n)]
    verdict_lists = _verdict_lists(facts)
    for item in facts.blocks:
        decisions = [
            *_decisions(facts, spec, item.index, item.statements),
            *_single_verdicts(item.statements, verdict_lists),
        ]
        for decision in decisions:
            tried = [v for v in vectors if v or not decision.single]
            if spec.quantifier == "the":  # one object: its verdict is the answer
                tried = [v for v in tried if len(v) == 1]
            wrong = [v for v in tried if decision.answer(v) != _query_answer(spec.quantifier, v)]
            wrong.sort(key=lambda v: not v)  # a counterexample with objects reads better
            if wrong:
                shown = list(wrong[0])
                expected = _YES if _query_answer(spec.quantifier, wrong[0]) else _NO
                message = (
                    f"{decision.what} does not answer '{spec.quantifier}': with verdicts "
                    f"{shown} it answers {_NO if expected == _YES else _YES}, the query {expected}"
                )
                checks.append(Check(QUANTIFIER, item.index, "fail", message))
            else:
                message = f"{decision.what} answers '{spec.quantifier}' on every verdict vector"
                checks.append(Check(QUANTIFIER, item.index, "pass", message))
    return checks


def _decisions(
    facts: ProgramFacts, spec: QuerySpec, index: int, statements: list[ast.stmt]
) -> Iterator[_Decision]:
    for statement in statements:
        for node, negated in _walk_negation(statement):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("any", "all")
                and len(node.args) == 1
            ):
                yield _Decision(
                    f"{node.func.id}(...)",
                    node.func.id == "any",
                    _tests_negated(node.args[0]),
                    negated,
                )
                continue
            flip = _polarity(statement, node)
            if flip is None:
                continue
            entry = _called(node)
            if entry is not None and entry.verdict == "any":
                yield _Decision(f"{entry.name}(...)", True, False, negated != flip)
            elif entry is not None and entry.verdict == "one":
                what = f"{entry.name}(...) (one object's verdict)"
                yield _Decision(what, True, False, negated != flip, single=True)
            elif isinstance(node, ast.Compare) and (spec.tree is None or _has_call(node)):
                # with a tree, the glue check tests counts kept in variables; a count made
                # inline from a module call is tested here
                decision = _count_decision(facts, spec, node, negated != flip)
                if decision is not None:
                    yield decision
        if isinstance(statement, ast.For):
            loop = _early_return_loop(facts, index, statement)
            if loop is not None:
                yield loop


def _count_decision(
    facts: ProgramFacts, spec: QuerySpec, compare: ast.Compare, negated: bool
) -> _Decision | None:
    """A count of the objects that passed a test, compared with 0 (any / none) or with the
    count of all of them (all). A count of the query's subject itself (a guard against no
    objects at all) is not a verdict count."""
    if len(compare.ops) != 1:
        return None
    left, op, right = compare.left, compare.ops[0], compare.comparators[0]
    if not _counts(left) or _counts_subject(facts, spec, left):
        return None
    tested = _negated_test(facts, left)
    what = f"{ast.unparse(compare)}"
    zero = isinstance(right, ast.Constant) and right.value == 0
    one = isinstance(right, ast.Constant) and right.value == 1
    if (zero and isinstance(op, ast.Gt | ast.NotEq)) or (one and isinstance(op, ast.GtE)):
        return _Decision(what, True, tested, negated)
    if (zero and isinstance(op, ast.Eq | ast.LtE)) or (one and isinstance(op, ast.Lt)):
        return _Decision(what, True, tested, not negated)
    if isinstance(op, ast.Eq) and _counts(right) and not _is_constant(right):
        return _Decision(what, False, tested, negated)
    return None


def _has_call(node: ast.AST) -> bool:
    return any(_names_objects(n) for n in ast.walk(node))


def _counts(node: ast.expr) -> bool:
    """``len(x)``, ``sum(...)`` or a name (a count kept in a variable)."""
    if isinstance(node, ast.Name):
        return True
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and (node.func.id in ("len", "sum"))
    )


def _counts_subject(facts: ProgramFacts, spec: QuerySpec, counted: ast.expr) -> bool:
    if isinstance(counted, ast.Call) and counted.func.id == "len" and counted.args:
        counted = counted.args[0]
    if not isinstance(counted, ast.Name) or counted.id not in facts.phrases:
        return False
    return bool(spec.subjects) and facts.phrases[counted.id] == spec.subjects[0]


def _is_constant(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant)


def _negated_test(facts: ProgramFacts, counted: ast.expr) -> bool:
    """Whether the counted objects are those that FAILED their test (a ``not`` around the
    module call, in the expression or in what its variable holds)."""
    for node, negated in _walk_negation(counted):
        if negated and _is_verdict(node):
            return True
    names = [n.id for n in ast.walk(counted) if isinstance(n, ast.Name)]
    return any(w.startswith(NEGATED) for name in names for w in facts.phrases.get(name, ()))


def _polarity(statement: ast.stmt, node: ast.AST) -> bool | None:
    """None when ``node`` does not decide the answer of ``statement``; else whether the
    answer is "no" when it holds (an ``if`` whose branch returns "no")."""
    if isinstance(statement, ast.If) and _is_answer_of(statement.test, node):
        answer = _branch_answer(statement.body)
        return None if answer is None else answer == _NO
    if isinstance(node, ast.expr) and _answers_with(statement, node):
        return False
    return None


def _verdict_lists(facts: ProgramFacts) -> set[str]:
    """Names bound to one verdict per object: ``[p.verify_property(...) for p in xs]``."""
    found = set()
    for item in facts.blocks:
        for statement in item.statements:
            for node in ast.walk(statement):
                if (
                    isinstance(node, ast.Assign)
                    and len(node.targets) == 1
                    and isinstance(node.targets[0], ast.Name)
                    and isinstance(node.value, ast.ListComp)
                    and any(_is_verdict(n) for n in ast.walk(node.value.elt))
                ):
                    found.add(node.targets[0].id)
    return found


def _single_verdicts(statements: list[ast.stmt], verdict_lists: set[str]) -> Iterator[_Decision]:
    """An answer taken from one element of a verdict list (``bool_to_yesno(flags[0])``)."""
    for statement in statements:
        for node, negated in _walk_negation(statement):
            if (
                isinstance(node, ast.Subscript)
                and isinstance(node.value, ast.Name)
                and node.value.id in verdict_lists
                and _constant_index(node.slice) is not None
                and _answers_with(statement, node)
            ):
                what = f"{node.value.id}[{_constant_index(node.slice)}] (one object's verdict)"
                yield _Decision(what, True, False, negated, single=True)


def _answers_with(statement: ast.stmt, value: ast.expr) -> bool:
    """Whether ``value`` is what the statement returns, prints or assigns as a yes/no."""
    if isinstance(statement, ast.Return | ast.Assign) and statement.value is not None:
        return _is_answer_of(statement.value, value)
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
        call = statement.value
        return (
            isinstance(call.func, ast.Name)
            and call.func.id == "print"
            and len(call.args) == 1
            and _is_answer_of(call.args[0], value)
        )
    return False


def _walk_negation(node: ast.AST, negated: bool = False) -> Iterator[tuple[ast.AST, bool]]:
    yield node, negated
    flip = isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)
    for child in ast.iter_child_nodes(node):
        yield from _walk_negation(child, negated != flip)


def _tests_negated(argument: ast.expr) -> bool:
    """Whether ``any``/``all``'s argument tests its elements through a ``not``."""
    if isinstance(argument, ast.GeneratorExp | ast.ListComp):
        element = argument.elt
        return isinstance(element, ast.UnaryOp) and isinstance(element.op, ast.Not)
    return False


def _is_method_call(node: ast.AST, name: str) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == name
    )


def _called(node: ast.AST | None) -> ApiMethod | None:
    """The API method a call ``x.method(...)`` makes; ``None`` for any other node."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return lookup(node.func.attr)
    return None


def _is_verdict(node: ast.AST) -> bool:
    """A module call whose result is a verdict on objects (``verify_property(...)``)."""
    entry = _called(node)
    return entry is not None and entry.verdict is not None


def _names_objects(node: ast.AST) -> bool:
    """A module call that names the objects it looks for or asks about (``find("circle")``):
    the objects a value bound to it holds."""
    entry = _called(node)
    return entry is not None and entry.asks_about is not None


_PASSES_VERDICT = frozenset(
    {"bool"} | {name for name in API_FUNCTIONS if METHODS[name].result == "yesno"}
)
"""functions that answer with the verdict they are given (as a bool, or as yes / no)"""


def _is_answer_of(expr: ast.expr, call: ast.expr) -> bool:
    while True:
        if expr is call:
            return True
        if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, ast.Not):
            expr = expr.operand
        elif (
            isinstance(expr, ast.Call)
            and isinstance(expr.func, ast.Name)
            and expr.func.id in _PASSES_VERDICT
            and len(expr.args) == 1
        ):
            expr = expr.args[0]
        else:
            return False


def _branch_answer(statements: list[ast.stmt]) -> str | None:
    """ "yes" or "no" when ``statements`` end in returning that literal."""
    if statements and isinstance(statements[-1], ast.Return):
        value = statements[-1].value
        if isinstance(value, ast.Constant) and value.value in (_YES, _NO):
            return value.value
    return None


def _early_return_loop(facts: ProgramFacts, index: int, loop: ast.For) -> _Decision | None:
    """``for x in xs: if [not] test(x): return A`` answers A when some element passes the
    (negated) test: ``any``, or ``all`` through the negation when A is "no"."""
    if len(loop.body) != 1 or not isinstance(loop.body[0], ast.If) or loop.body[0].orelse:
        return None
    branch = loop.body[0]
    answer = _branch_answer(branch.body)
    if answer is None:
        return None
    test, negated = branch.test, False
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        test, negated = test.operand, True
    return _Decision(
        f"the loop returning {answer!r} on the first {'failing' if negated else 'passing'} object",
        True,
        negated,
        answer == _NO,
    )


# --- extremum -----------------------------------------------------------------------------------


_FIELDS = {
    **{name: entry.measures for name, entry in METHODS.items() if entry.measures},
    "horizontal_center": "x",
    "left": "x",
    "right": "x",
    "vertical_center": "y",
    "lower": "y",
    "upper": "y",
}
_AXIS_WORDS = {"depth": "depth", "x": "horizontal position", "y": "vertical position"}
_END_WORDS = {
    ("depth", "min"): "nearest",
    ("depth", "max"): "farthest",
    ("x", "min"): "leftmost",
    ("x", "max"): "rightmost",
    ("y", "min"): "lowest",
    ("y", "max"): "highest",
}


@dataclass(frozen=True)
class _Order:
    axis: str
    descending: bool
    block: int
    explicit: bool
    """the direction was chosen with ``reverse=...`` (or a negated key)"""


@dataclass(frozen=True)
class _Selection:
    axis: str
    end: str
    block: int
    """the block to blame when the end is wrong"""
    what: str


def extremum_checks(facts: ProgramFacts, spec: QuerySpec) -> list[Check]:
    if spec.superlative is None:
        return []
    axis, end = spec.superlative
    wanted = _END_WORDS[(axis, end)]
    checks = []
    for selection in _selections(facts):
        got = _END_WORDS[(selection.axis, selection.end)]
        if selection.axis != axis:
            message = (
                f"{selection.what} selects by {_AXIS_WORDS[selection.axis]}; the query asks "
                f"for the {wanted} ({_AXIS_WORDS[axis]})"
            )
            checks.append(Check(EXTREMUM, selection.block, "fail", message))
        elif selection.end != end:
            message = f"{selection.what} picks the {got}; the query asks for the {wanted}"
            checks.append(Check(EXTREMUM, selection.block, "fail", message))
        else:
            message = f"{selection.what} picks the {wanted}, as the query asks"
            checks.append(Check(EXTREMUM, selection.block, "pass", message))
    return checks


def _selections(facts: ProgramFacts) -> list[_Selection]:
    program = facts.program
    orders: dict[str, _Order] = {}
    keyed: dict[str, str] = {}
    """lists of keys: name -> axis (``ds = [p.compute_depth() for p in xs]``)"""
    found = []
    for item in facts.blocks:
        if program.blocks[item.index].parent is not None:
            continue
        for statement in item.statements:
            for node in ast.walk(statement):
                order = _sort_order(node, item.index)
                if order is not None and order[0]:
                    orders[order[0]] = order[1]
                if isinstance(node, ast.Assign) and len(node.targets) == 1:
                    target = node.targets[0]
                    if isinstance(target, ast.Name) and isinstance(node.value, ast.ListComp):
                        axis = _key_axis(node.value.elt)
                        if axis is not None:
                            keyed[target.id] = axis[0]
            found += _picks(item.index, item.statements, orders, keyed)
            found += _loop_selections(item.index, item.statements)
            found += _choice_selections(facts, item.index, item.statements)
    return found


def _sort_order(node: ast.AST, block: int) -> tuple[str, _Order] | None:
    """``xs.sort(key=..., reverse=...)`` or ``xs = sorted(ys, key=...)``: (xs, its order);
    a bare ``sorted(ys, key=...)`` call gives ("", its order)."""
    call, name = None, None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "sorted":
        call, name = node, ""
    elif isinstance(node, ast.Expr) and _is_method_call(node.value, "sort"):
        call = node.value
        if isinstance(call.func.value, ast.Name):
            name = call.func.value.id
    elif (
        isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Name)
        and node.value.func.id == "sorted"
    ):
        call, name = node.value, node.targets[0].id
    if call is None or name is None:
        return None
    keywords = {k.arg: k.value for k in call.keywords}
    axis = _key_axis(keywords.get("key"))
    if axis is None:
        return None
    reverse = keywords.get("reverse")
    descending = isinstance(reverse, ast.Constant) and bool(reverse.value)
    explicit = descending or axis[1]
    return name, _Order(axis[0], descending != axis[1], block, explicit)


def _key_axis(key: ast.expr | None) -> tuple[str, bool] | None:
    """(axis, negated) of a key: ``lambda p: p.compute_depth()``, ``p.horizontal_center``,
    ``-p.vertical_center``; None when the key is not one of the patch's positions."""
    if isinstance(key, ast.Lambda):
        key = key.body
    if key is None:
        return None
    negated = False
    if isinstance(key, ast.UnaryOp) and isinstance(key.op, ast.USub):
        key, negated = key.operand, True
    if isinstance(key, ast.Call) and isinstance(key.func, ast.Attribute):
        key = key.func
    if isinstance(key, ast.Attribute) and key.attr in _FIELDS:
        return _FIELDS[key.attr], negated
    return None


def _picks(
    block: int, statements: list[ast.stmt], orders: dict[str, _Order], keyed: dict[str, str]
) -> list[_Selection]:
    found = []
    for statement in statements:
        for node in ast.walk(statement):
            inline = _sort_order(node.value, block) if isinstance(node, ast.Subscript) else None
            if inline is not None or (
                isinstance(node, ast.Subscript)
                and isinstance(node.value, ast.Name)
                and node.value.id in orders
            ):
                position = _constant_index(node.slice)
                if position not in (0, -1):
                    continue
                order = inline[1] if inline is not None else orders[node.value.id]
                first_is_max = order.descending
                picks_max = first_is_max if position == 0 else not first_is_max
                # [0] is the usual pick: after an explicit reverse=True the sort decided the
                # end; a [-1] is itself the decision
                explicit_sort = order.explicit and position == 0
                blame = order.block if explicit_sort and order.block != block else block
                held = "sorted(...)" if inline is not None else node.value.id
                what = f"{held}[{position}] after sorting by {_AXIS_WORDS[order.axis]}"
                found.append(_Selection(order.axis, _end(picks_max), blame, what))
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("min", "max")
            ):
                selection = _min_max(node, block, keyed)
                if selection is not None:
                    found.append(selection)
    return found


def _end(picks_max: bool) -> str:
    return "max" if picks_max else "min"


def _constant_index(node: ast.expr) -> int | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return node.value
    if (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.USub)
        and isinstance(node.operand, ast.Constant)
        and isinstance(node.operand.value, int)
    ):
        return -node.operand.value
    return None


def _min_max(call: ast.Call, block: int, keyed: dict[str, str]) -> _Selection | None:
    picks_max = call.func.id == "max"
    keywords = {k.arg: k.value for k in call.keywords}
    if "key" in keywords:
        axis = _key_axis(keywords["key"])
        if axis is None:
            return None
        what = f"{call.func.id}(..., key={_AXIS_WORDS[axis[0]]})"
        return _Selection(axis[0], _end(picks_max != axis[1]), block, what)
    if len(call.args) == 1 and isinstance(call.args[0], ast.Name) and call.args[0].id in keyed:
        axis_name = keyed[call.args[0].id]
        what = f"{call.func.id}({call.args[0].id}) over {_AXIS_WORDS[axis_name]}s"
        return _Selection(axis_name, _end(picks_max), block, what)
    return None


def _loop_selections(block: int, statements: list[ast.stmt]) -> list[_Selection]:
    """``for x in xs: if key(x) < key(best): best = x`` keeps the smallest key."""
    found = []
    for statement in statements:
        for loop in ast.walk(statement):
            if not isinstance(loop, ast.For) or not isinstance(loop.target, ast.Name):
                continue
            element = loop.target.id
            for test in loop.body:
                if not (isinstance(test, ast.If) and isinstance(test.test, ast.Compare)):
                    continue
                compare = test.test
                if len(compare.ops) != 1:
                    continue
                kept = _assigned_from(test.body, element)
                if kept is None:
                    continue
                left, right = compare.left, compare.comparators[0]
                axes = (_key_axis(left), _key_axis(right))
                if None in axes or axes[0][0] != axes[1][0] or axes[0][1] != axes[1][1]:
                    continue
                element_left = _mentions(left, element) and _mentions(right, kept)
                element_right = _mentions(right, element) and _mentions(left, kept)
                if not (element_left or element_right):
                    continue
                op = compare.ops[0]
                if not isinstance(op, ast.Lt | ast.LtE | ast.Gt | ast.GtE):
                    continue
                smaller = isinstance(op, ast.Lt | ast.LtE)
                keeps_min = smaller == element_left
                keeps_min = keeps_min != axes[0][1]
                what = f"the loop keeping {kept} by {_AXIS_WORDS[axes[0][0]]}"
                found.append(_Selection(axes[0][0], "min" if keeps_min else "max", block, what))
    return found


def _assigned_from(statements: list[ast.stmt], element: str) -> str | None:
    for statement in statements:
        if (
            isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
            and isinstance(statement.value, ast.Name)
            and statement.value.id == element
        ):
            return statement.targets[0].id
    return None


def _mentions(node: ast.AST, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(node))


def _choice_selections(facts: ProgramFacts, block: int, statements: list[ast.stmt]):
    """``if key(a) < key(b): return "the a"`` chooses a when its key is the smaller."""
    for statement in statements:
        if not (isinstance(statement, ast.If) and isinstance(statement.test, ast.Compare)):
            continue
        compare = statement.test
        if len(compare.ops) != 1 or not isinstance(
            compare.ops[0], ast.Lt | ast.LtE | ast.Gt | ast.GtE
        ):
            continue
        sides = (compare.left, compare.comparators[0])
        axes = [_key_axis(side) for side in sides]
        owners = [_owner(side) for side in sides]
        if None in axes or None in owners or axes[0] != axes[1]:
            continue
        chosen = _returned_words(statement.body)
        if not chosen:
            continue
        held = [facts.phrases.get(owner, frozenset()) for owner in owners]
        overlap = [len(chosen & phrase) for phrase in held]
        if overlap[0] == overlap[1]:
            continue
        first_chosen = overlap[0] > overlap[1]
        first_smaller = isinstance(compare.ops[0], ast.Lt | ast.LtE)
        picks_min = (first_smaller == first_chosen) != axes[0][1]
        what = f"choosing by {ast.unparse(compare)}"
        yield _Selection(axes[0][0], "min" if picks_min else "max", block, what)


def _owner(side: ast.expr) -> str | None:
    """The patch a key is read from (``a`` in ``a.compute_depth()`` or ``a.left``)."""
    if isinstance(side, ast.Call):
        side = side.func
    if isinstance(side, ast.Attribute) and isinstance(side.value, ast.Name):
        return side.value.id
    return None


def _returned_words(statements: list[ast.stmt]) -> frozenset[str]:
    if statements and isinstance(statements[-1], ast.Return):
        value = statements[-1].value
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            return frozenset(value.value.lower().split())
    return frozenset()


# --- relations ----------------------------------------------------------------------------------

RELATION = "relation"
_RELATION_OF = {("x", True): "left", ("x", False): "right", ("y", True): "below",
                ("y", False): "above"}  # fmt: skip
"""(axis, a's position is the smaller) -> a is <relation> of b"""


def relation_checks(facts: ProgramFacts, spec: QuerySpec, vocabulary: Vocabulary) -> list[Check]:
    """A comparison of two objects' positions must test the query's relation between them:
    the right axis, the right direction, the right object on each side."""
    if spec.relation is None:
        return []
    op, a_phrase, b_phrase = spec.relation
    checks = []
    for item in facts.blocks:
        if facts.program.blocks[item.index].parent is not None:
            continue
        for statement in item.statements:
            elements = _comprehension_sources(statement)
            for node in ast.walk(statement):
                if not isinstance(node, ast.Compare) or len(node.ops) != 1:
                    continue
                if not isinstance(node.ops[0], ast.Lt | ast.LtE | ast.Gt | ast.GtE):
                    continue
                sides = (node.left, node.comparators[0])
                axes = [_key_axis(side) for side in sides]
                owners = [_owner(side) for side in sides]
                if None in axes or None in owners or axes[0] != axes[1]:
                    continue
                if axes[0][0] == "depth":
                    continue
                held = [
                    facts.phrases.get(elements.get(o, o)) or facts.phrases.get(o) or frozenset()
                    for o in owners
                ]
                a_first = _closer(held[0], a_phrase, b_phrase) and _closer(
                    held[1], b_phrase, a_phrase
                )
                b_first = _closer(held[0], b_phrase, a_phrase) and _closer(
                    held[1], a_phrase, b_phrase
                )
                if a_first == b_first:
                    continue
                first_smaller = isinstance(node.ops[0], ast.Lt | ast.LtE)
                a_smaller = first_smaller == a_first
                tested = _RELATION_OF[(axes[0][0], a_smaller != axes[0][1])]
                shown = ast.unparse(node)
                if tested == op:
                    message = f"{shown} tests '{op}', as the query asks"
                    checks.append(Check(RELATION, item.index, "pass", message))
                else:
                    message = f"{shown} tests '{tested}'; the query asks '{op}'"
                    checks.append(Check(RELATION, item.index, "fail", message))
    return checks


def _comprehension_sources(statement: ast.stmt) -> dict[str, str]:
    """Comprehension variables and the names they range over (``c`` -> ``circles``)."""
    out = {}
    for node in ast.walk(statement):
        if isinstance(node, ast.ListComp | ast.GeneratorExp | ast.SetComp):
            for generator in node.generators:
                if isinstance(generator.target, ast.Name) and isinstance(generator.iter, ast.Name):
                    out[generator.target.id] = generator.iter.id
    return out


def _closer(held: frozenset[str], mine: frozenset[str], other: frozenset[str]) -> bool:
    """Whether ``held`` is about ``mine`` rather than ``other``."""
    return len(held & mine) - len(held - mine) > len(held & other) - len(held - other)


# --- coverage -----------------------------------------------------------------------------------


def coverage_checks(facts: ProgramFacts, spec: QuerySpec, vocabulary: Vocabulary) -> list[Check]:
    phrases = [p for p in spec.object_phrases()]
    if not phrases:
        return []
    checks = []
    program: Program = facts.program
    for item in facts.blocks:
        if program.blocks[item.index].parent is not None:
            continue
        problems, judged = [], 0
        for what, name, held in _consumed(facts, item.statements, vocabulary):
            judged += 1
            problem, wrong_words = _coverage_problem(what, held, phrases, vocabulary)
            if problem is None:
                continue
            writer = None
            if wrong_words:
                writer = _filter_block(facts, wrong_words, item.index, vocabulary)
                if writer is None:
                    writer = _writer(program, name, item.index)
            if writer is not None:
                # The value was filtered by the wrong words: that filter is the fault, and
                # the block that only uses the value computes what it should.
                checks.append(Check(COVERAGE, writer, "fail", problem))
            else:
                problems.append(problem)
        for name, intended, wrong in _misnamed(facts, item.statements, phrases, vocabulary):
            judged += 1
            problems.append(
                f"{name} is meant to hold {' '.join(sorted(intended))} objects but asks for "
                f"{', '.join(sorted(wrong))}"
            )
        if problems:
            checks.append(Check(COVERAGE, item.index, "fail", problems[0]))
        elif judged:
            message = f"{judged} value(s) used for the answer hold the query's objects"
            checks.append(Check(COVERAGE, item.index, "pass", message))
    return checks


def _misnamed(
    facts: ProgramFacts,
    statements: list[ast.stmt],
    phrases: list[frozenset[str]],
    vocabulary: Vocabulary,
) -> Iterator[tuple[str, frozenset[str], frozenset[str]]]:
    """Variables a block binds from module calls whose name is one of the query's object
    phrases (``small_objects``) while the calls ask for another value of its attribute."""
    from vipexec.labelers.logic.analysis import name_words

    for statement in statements:
        if not isinstance(statement, ast.Assign) or len(statement.targets) != 1:
            continue
        target = statement.targets[0]
        if not isinstance(target, ast.Name) or target.id not in facts.phrases:
            continue
        if not any(_names_objects(n) for n in ast.walk(statement.value)):
            continue
        intended = name_words(target.id, vocabulary)
        if intended not in phrases:
            continue
        wrong = vocabulary.contradicts(intended, facts.phrases[target.id])
        if wrong:
            yield target.id, intended, wrong


def _filter_block(
    facts: ProgramFacts, words: frozenset[str], before: int, vocabulary: Vocabulary
) -> int | None:
    """The last block before ``before`` (nested ones included) whose module calls name one
    of ``words``: where a value was filtered by them."""
    found = None
    for item in facts.blocks:
        if item.index >= before:
            break
        for _method, literals in item.calls:
            if any(vocabulary.content_words(text) & words for text in literals):
                found = item.index
    return found


def _writer(program: Program, name: str | None, before: int) -> int | None:
    """The last top-level block before ``before`` that binds ``name``."""
    if name is None:
        return None
    writers = [
        b.index
        for b in program.blocks
        if b.index < before and b.parent is None and name in b.writes
    ]
    return writers[-1] if writers else None


def _consumed(
    facts: ProgramFacts, statements: list[ast.stmt], vocabulary: Vocabulary
) -> Iterator[tuple[str, str | None, frozenset[str]]]:
    """(description, variable or None, phrase) of every value a block uses as the answer's
    material; loop bounds (``range(len(xs))``) and progress prints are not."""
    skipped: set[int] = set()
    for statement in statements:
        for node in ast.walk(statement):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("range", "print")
            ):
                skipped |= {id(n) for arg in node.args for n in ast.walk(arg)}
    for statement in statements:
        for node in ast.walk(statement):
            if id(node) in skipped:
                continue
            name = _consumed_name(node)
            if name is not None and name in facts.phrases:
                yield _describe(node), name, facts.phrases[name]
            elif (call := _material_call(node)) is not None:
                texts = [a.value for a in call.args if isinstance(a, ast.Constant)]
                if len(texts) == 1 and isinstance(texts[0], str):
                    yield _describe(node), None, vocabulary.content_words(texts[0])


def _material_call(node: ast.AST) -> ast.Call | None:
    """The module call whose objects ``node`` uses as the answer: a whole-region existence
    verdict (``exists("x")``), or a detection's patches counted or indexed
    (``len(find("x"))``, ``find("x")[0]``)."""
    entry = _called(node)
    if entry is not None and entry.verdict == "any":
        return node
    if isinstance(node, ast.Subscript | ast.Call):
        counted = _counted_or_indexed(node)
        found = _called(counted)
        if found is not None and found.result == "patches":
            return counted
    return None


def _counted_or_indexed(node: ast.AST) -> ast.AST | None:
    """``x`` of ``x[k]`` or ``len(x)``."""
    if isinstance(node, ast.Subscript) and _constant_index(node.slice) is not None:
        return node.value
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "len"
        and len(node.args) == 1
    ):
        return node.args[0]
    return None


def _consumed_name(node: ast.AST) -> str | None:
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ("len", "any", "all", "min", "max")
        and len(node.args) == 1
    ):
        argument = node.args[0]
        if isinstance(argument, ast.Name):
            return argument.id
        if isinstance(argument, ast.GeneratorExp | ast.ListComp):
            source = argument.generators[0].iter
            return source.id if isinstance(source, ast.Name) else None
    if (
        isinstance(node, ast.Subscript)
        and isinstance(node.value, ast.Name)
        and _constant_index(node.slice) is not None
    ):
        return node.value.id
    return None


def _describe(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 60 else text[:57] + "..."


def _coverage_problem(
    what: str, held: frozenset[str], phrases: list[frozenset[str]], vocabulary: Vocabulary
) -> tuple[str | None, frozenset[str]]:
    """What is wrong with a value holding ``held`` for the closest query phrase: attribute
    words it lacks; and the wrong words it was filtered by (a missing word negated, or
    another value of its class), empty when it was not filtered at all."""
    plain = frozenset(w for w in held if not w.startswith(NEGATED))
    negated = frozenset(w[len(NEGATED) :] for w in held if w.startswith(NEGATED))
    best = max(phrases, key=lambda p: (len(p & plain), -len(p - plain), -len(p)))
    missing = sorted(w for w in best - plain if vocabulary.attribute(w) is not None)
    if not missing:
        return None, frozenset()
    against = frozenset(missing) & negated
    if against:
        return f"{what} keeps the objects that are not {', '.join(sorted(against))}", against
    classes = {vocabulary.attribute(w)[0] for w in missing}
    other = frozenset(w for w in plain if (vocabulary.attribute(w) or ("",))[0] in classes)
    holds = " ".join(sorted(plain)) or "any object"
    return f"{what} uses {holds}; the query is about {' '.join(sorted(best))}", other
