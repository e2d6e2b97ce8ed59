"""Loop coverage: a loop that walks a list by index must visit every element.

``for i in range(len(xs) - 1)`` or ``range(1, len(xs))`` whose body reads ``xs[i]`` but never a
neighbour (``xs[i + 1]``, ``xs[i - 1]``) skips an element: an off-by-one. A loop over the list
itself, or over ``range(len(xs))``, passes.
"""

from __future__ import annotations

import ast
from typing import Any

from vipexec.labelers.logic.analysis import ProgramFacts
from vipexec.labelers.logic.checks import Check

NAME = "loops"


def loop_checks(facts: ProgramFacts) -> list[Check]:
    checks = []
    for item in facts.blocks:
        problems, judged = [], 0
        for statement in item.statements:
            for node in ast.walk(statement):
                if not isinstance(node, ast.For):
                    continue
                if _inner_block_owns(facts, item.index, node):
                    continue
                verdict = _loop_verdict(node)
                if verdict is None:
                    continue
                judged += 1
                if verdict:
                    problems.append(verdict)
        if problems:
            checks.append(Check(NAME, item.index, "fail", problems[0]))
        elif judged:
            checks.append(Check(NAME, item.index, "pass", "every loop visits every element"))
    return checks


def _inner_block_owns(facts: ProgramFacts, index: int, loop: ast.For) -> bool:
    """Whether a block nested in ``index`` starts at this loop (it is that block's check)."""
    for block in facts.program.blocks:
        if block.parent == index and block.lines[0] <= loop.lineno <= block.lines[1]:
            return True
    return False


def _loop_verdict(loop: ast.For) -> str | bool | None:
    """'' (empty: passes), a problem message, or None when the loop is not judged."""
    iterator = loop.iter
    if isinstance(iterator, ast.Name):
        return ""
    if not (isinstance(iterator, ast.Call) and _is_name(iterator.func, "range")):
        return None
    if not isinstance(loop.target, ast.Name):
        return None
    index = loop.target.id
    args = iterator.args
    if len(args) == 1:
        start, stop = None, args[0]
    elif len(args) == 2:
        start, stop = args
    else:
        return None
    container, short = _length_of(stop)
    if container is None:
        return None
    begins_late = start is not None and not (isinstance(start, ast.Constant) and start.value == 0)
    if not short and not begins_late:
        return ""
    if _reads_neighbour(loop, container, index):
        return ""
    if short:
        return f"for {index} in range(len({container}) - {short}) skips the last element(s)"
    return f"the loop over {container} starts after its first element"


def _length_of(node: ast.expr) -> tuple[str | None, int]:
    """``len(xs)`` -> ("xs", 0); ``len(xs) - 1`` -> ("xs", 1)."""
    if isinstance(node, ast.Call) and _is_name(node.func, "len") and len(node.args) == 1:
        arg = node.args[0]
        return (arg.id, 0) if isinstance(arg, ast.Name) else (None, 0)
    if (
        isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Sub)
        and isinstance(node.right, ast.Constant)
        and isinstance(node.right.value, int)
    ):
        name, short = _length_of(node.left)
        return name, short + node.right.value
    return None, 0


def _reads_neighbour(loop: ast.For, container: str, index: str) -> bool:
    for node in ast.walk(loop):
        if (
            isinstance(node, ast.Subscript)
            and _is_name(node.value, container)
            and isinstance(node.slice, ast.BinOp)
            and _is_name(node.slice.left, index)
        ):
            return True
    return False


def _is_name(node: ast.AST, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


TALLY = "tally"


def tally_checks(run: Any, facts: ProgramFacts) -> list[Check]:
    """A loop that counts or keeps the items a model says yes to must end with exactly as
    many as the model said yes.

    Pattern: ``for v in xs: ... if <module call>: n += 1`` (or ``kept.append(v)``; ``not`` and
    ``else`` count the no answers). The recorded results of that call in the block (and its
    nested blocks) give the expected number; the tally's recorded final value (an int, or a
    list's length) must equal it.
    """
    checks = []
    program = facts.program
    for item in facts.blocks:
        trace = run.blocks[item.index]
        if trace.status != "ok":
            continue
        for statement in item.statements:
            if not isinstance(statement, ast.For) or _inner_block_owns(
                facts, item.index, statement
            ):
                continue
            for tally, method, negated, update in _tallies(statement):
                expected = _yes_count(run, program, item.index, method, negated)
                final = _final_size(trace.variables.get(tally))
                if expected is None or final is None:
                    continue
                if final == expected:
                    message = f"{tally} ends at {final}, as many as {method}() said yes"
                    checks.append(Check(TALLY, item.index, "pass", message))
                    continue
                answer = "no" if negated else "yes"
                message = f"{tally} ends at {final} but {method}() said {answer} {expected} time(s)"
                blamed = _blame(program, facts, item, tally, update)
                checks.append(Check(TALLY, blamed, "fail", message))
    return checks


def _blame(program: Any, facts: ProgramFacts, item: Any, tally: str, update: ast.stmt) -> int:
    """The block holding what makes a tally wrong: an increment other than 1, else a start
    other than 0 (or []), else the loop's block."""
    if isinstance(update, ast.AugAssign) and not (
        isinstance(update.value, ast.Constant) and update.value.value == 1
    ):
        return program.block_at_line(update.lineno) or item.index
    # the start is in the loop's block, or (without step markers) in an earlier one
    starts = [
        node
        for earlier in facts.blocks[: item.index + 1]
        for statement in earlier.statements
        for node in ast.walk(statement)
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == tally for t in node.targets)
        and node.lineno < update.lineno
    ]
    if starts and not _empty_start(starts[-1].value):
        return program.block_at_line(starts[-1].lineno) or item.index
    return item.index


def _empty_start(value: ast.expr) -> bool:
    if isinstance(value, ast.Constant):
        return value.value == 0
    return isinstance(value, ast.List) and not value.elts


def _tallies(loop: ast.For) -> list[tuple[str, str, bool, ast.stmt]]:
    """(tally name, method of the deciding call, counts the no answers, the update statement)
    per tally in ``loop``."""
    found = []
    for node in ast.walk(loop):
        if not isinstance(node, ast.If):
            continue
        test, negated = node.test, False
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            test, negated = test.operand, True
        if not (isinstance(test, ast.Call) and isinstance(test.func, ast.Attribute)):
            continue
        method = test.func.attr
        for branch, flip in ((node.body, False), (node.orelse, True)):
            for statement in branch:
                name = _tally_target(statement)
                if name is not None:
                    found.append((name, method, negated != flip, statement))
    return found


def _tally_target(statement: ast.stmt) -> str | None:
    if (
        isinstance(statement, ast.AugAssign)
        and isinstance(statement.op, ast.Add)
        and isinstance(statement.target, ast.Name)
    ):
        return statement.target.id
    if (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Call)
        and isinstance(statement.value.func, ast.Attribute)
        and statement.value.func.attr == "append"
        and isinstance(statement.value.func.value, ast.Name)
    ):
        return statement.value.func.value.id
    return None


def _yes_count(run: Any, program: Any, index: int, method: str, negated: bool) -> int | None:
    blocks = [index, *(b.index for b in program.blocks if _nested_in(program, b.index, index))]
    results = []
    for block in blocks:
        trace = run.blocks[block]
        if trace.calls_dropped:
            return None
        results += [c for c in trace.calls if c.get("method") == method and not c.get("error")]
    values = [(c.get("result") or {}).get("value") for c in results]
    if not all(isinstance(v, bool) for v in values):
        return None
    return sum(1 for v in values if v != negated)


def _nested_in(program: Any, index: int, parent: int) -> bool:
    current = program.blocks[index].parent
    while current is not None:
        if current == parent:
            return True
        current = program.blocks[current].parent
    return False


def _final_size(summary: Any) -> int | None:
    if not isinstance(summary, dict):
        return None
    if summary.get("type") == "int" and isinstance(summary.get("value"), int):
        return summary["value"]
    if summary.get("type") == "list" and isinstance(summary.get("len"), int):
        return summary["len"]
    return None
