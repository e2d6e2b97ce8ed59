"""The test linter: finds assertions that cannot fail, before a suite runs.

Codes:

- ``always-true``: the asserted expression is truthy whatever the program does: a call of a
  function that always returns a non-empty string (``assert bool_to_yesno(x)``: "no" is truthy),
  a non-empty constant, f-string, tuple, list, set or dict (``assert (x, "message")``);
- ``self-comparison``: a value compared with itself (``assert result == result``);
- ``undefined-name``: a name the test reads that nothing defines (the test will crash, which is
  a broken test, not a failing program);
- ``no-assertion``: a test with no ``assert`` and no ``raise``: it passes whatever happens.
"""

from __future__ import annotations

import ast
import builtins
import itertools
from collections.abc import Iterable
from dataclasses import dataclass

from vipexec.labelers.suites import Suite
from vipexec.modules.methods import API_FUNCTIONS, METHODS

__all__ = ["ALWAYS_TRUTHY_FUNCTIONS", "API_NAMES", "Finding", "lint_suite"]

API_NAMES = API_FUNCTIONS | {"ImagePatch", "VideoSegment", "solve_query", "execute_command"}
"""names a program may use without binding them: the API's classes and free functions, and
the entry-point names"""
ALWAYS_TRUTHY_FUNCTIONS = frozenset(
    name for name, entry in METHODS.items() if entry.result == "yesno" and name in API_FUNCTIONS
)
"""functions whose result is always a non-empty string"""


@dataclass(frozen=True)
class Finding:
    test: str
    line: int
    code: str
    message: str

    def describe(self, name: str = "suite") -> str:
        return f"{name}:{self.line}: {self.test}: {self.code}: {self.message}"


def lint_suite(suite: Suite, *, known_names: Iterable[str] = ()) -> list[Finding]:
    """Findings for every test of ``suite`` (see the module docstring), in line order."""
    tree = suite.tree if suite.tree is not None else ast.parse(suite.source)
    module_names = _module_names(tree) | API_NAMES | set(known_names) | set(dir(builtins))
    wanted = {test.name for test in suite.tests}
    findings: list[Finding] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name in wanted:
            findings.extend(_lint_test(node, module_names))
    return sorted(findings, key=lambda f: (f.line, f.code))


def _module_names(tree: ast.Module) -> set[str]:
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                names.add((alias.asname or alias.name).split(".")[0])
        else:
            for sub in ast.walk(node):
                if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                    names.add(sub.id)
    return names


def _lint_test(function: ast.FunctionDef, module_names: set[str]) -> list[Finding]:
    findings = []
    name = function.name
    asserts = [n for n in ast.walk(function) if isinstance(n, ast.Assert)]
    raises = [n for n in ast.walk(function) if isinstance(n, ast.Raise)]
    uses_pytest_raises = any(
        isinstance(n, ast.Attribute) and n.attr == "raises" for n in ast.walk(function)
    )
    if not asserts and not raises and not uses_pytest_raises:
        findings.append(Finding(name, function.lineno, "no-assertion", "the test asserts nothing"))
    for node in asserts:
        why = _always_true(node.test)
        if why:
            findings.append(Finding(name, node.lineno, "always-true", why))
        for left, right in _comparisons(node.test):
            if _same(left, right):
                shown = ast.unparse(left)
                findings.append(
                    Finding(name, node.lineno, "self-comparison", f"compares {shown} with itself")
                )
    defined = _local_names(function) | module_names
    reported = set()
    for node in ast.walk(function):
        if (
            isinstance(node, ast.Name)
            and isinstance(node.ctx, ast.Load)
            and node.id not in defined
            and node.id not in reported
        ):
            reported.add(node.id)
            findings.append(
                Finding(name, node.lineno, "undefined-name", f"{node.id!r} is not defined")
            )
    return findings


def _always_true(test: ast.expr) -> str | None:
    if (
        isinstance(test, ast.Call)
        and isinstance(test.func, ast.Name)
        and test.func.id in ALWAYS_TRUTHY_FUNCTIONS
    ):
        return (
            f"{test.func.id}(...) returns 'yes' or 'no', both non-empty strings: "
            "the assertion always holds (compare it with 'yes')"
        )
    if isinstance(test, ast.Constant):
        return "asserts a constant" if test.value else None
    if isinstance(test, ast.JoinedStr) and test.values:
        return "asserts an f-string, which is never empty here"
    if isinstance(test, ast.Tuple | ast.List | ast.Set) and test.elts:
        return f"asserts a non-empty {type(test).__name__.lower()}, which is always true"
    if isinstance(test, ast.Dict) and test.keys:
        return "asserts a non-empty dict, which is always true"
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.Or):
        for value in test.values:
            inner = _always_true(value)
            if inner:
                return f"one side of 'or' is always true: {inner}"
    return None


def _comparisons(test: ast.expr) -> list[tuple[ast.expr, ast.expr]]:
    pairs = []
    for node in ast.walk(test):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            pairs.extend(itertools.pairwise(sides))
    return pairs


def _same(left: ast.expr, right: ast.expr) -> bool:
    if isinstance(left, ast.Constant) and isinstance(right, ast.Constant):
        return False  # literal against literal is a different (odd) problem
    return ast.dump(left) == ast.dump(right)


def _local_names(function: ast.FunctionDef) -> set[str]:
    names = {a.arg for a in (*function.args.posonlyargs, *function.args.args)}
    names |= {a.arg for a in function.args.kwonlyargs}
    if function.args.vararg:
        names.add(function.args.vararg.arg)
    if function.args.kwarg:
        names.add(function.args.kwarg.arg)
    for node in ast.walk(function):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            names.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names
