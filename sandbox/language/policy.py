"""The compile-time policy: a RestrictedPython transformer tuned for visual programs.

What it keeps from RestrictedPython: every name and attribute check (nothing starting with ``_``,
no ``__roles__``, none of the frame/generator/traceback internals of ``INSPECT_ATTRIBUTES``), the
refusal of ``exec``/``eval`` calls, star imports, ``nonlocal``, ``async``, ``except*``,
``match``, metaclass keywords and dunder methods other than ``__init__``/comparisons, and the
write guard on every attribute or item store.

What it changes, and why (see docs/sandbox.md):

- **Static attribute fast path.** ``obj.name`` compiles to a plain attribute load once the name
  has passed the checks above, because RestrictedPython's own ``safer_getattr`` decides on the
  name alone for every name except a few whose safety depends on the object's type (``format``
  and ``format_map`` on strings, ``string.Formatter`` and its methods). Only those keep the
  runtime guard ``_getattr_``. A test proves the fast path never admits what ``safer_getattr``
  refuses.
- **No iteration/unpacking/item-read guards.** ``_getiter_``, ``_getitem_``, ``_apply_`` and the
  unpack guards exist so that Zope can check security-proxied containers; our programs only ever
  see plain data and our own allow-listed API objects, so those guards would cost a Python call
  per loop step or subscript and protect nothing. Builtins such as ``sorted`` and ``zip`` are
  then safe to provide.
- **``print`` is a plain builtin** (captured by the run) instead of RestrictedPython's
  ``printed`` collector, because the least-to-most scripts return their answer by printing it.
- **Augmented assignment** to names compiles natively, and to attributes and items through the
  write guard (``counts[k] += 1`` is common in generated code and is as safe as ``counts[k] =``).
- **Annotated assignments** (``n: int = 0``) are allowed: they bind like plain assignments.
- **Class definitions** keep their line numbers and get ``metaclass=__metaclass__``, which lets
  the run know which classes the program defined (their instances are writable).
- **Two dunder attributes behind guards**: ``super(...).__init__`` compiles to the write
  guard's ``superclass_init`` (only for the program's own classes) and ``x.__name__`` to the
  runtime ``_getattr_`` (only for classes): class code written by LLMs uses both.

Every refusal is worded by :func:`refusal`: the construct and the line.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

from RestrictedPython.transformer import (
    ALLOWED_FUNC_NAMES,
    FORBIDDEN_FUNC_NAMES,
    INSPECT_ATTRIBUTES,
    RestrictingNodeTransformer,
)

from vipexec.core.instrument import located_at
from vipexec.core.names import LEAF_NODES

FORMATTER_METHODS = frozenset(
    {
        "format",
        "vformat",
        "get_field",
        "get_value",
        "parse",
        "check_unused_args",
        "format_field",
        "convert_field",
    }
)
"""string.Formatter's methods: they reach attributes through "{0.__class__}" fields."""

TYPE_DEPENDENT_ATTRIBUTES = FORMATTER_METHODS | {
    "format_map",  # str.format_map, like str.format
    "Formatter",  # string.Formatter itself
    "register",  # ABCMeta.register, reachable through typing's aliases
}
"""Attribute names that keep the runtime guard: safety depends on the object's type."""


@dataclass(frozen=True)
class PolicyProblem:
    line: int | None
    message: str


def refusal(what: str, line: int | None) -> str:
    """The wording of every refusal, at compile time and at run time: the construct refused
    and the line, ``policy: line 4: attribute '__class__' is not allowed``."""
    return f"policy: line {line}: {what}" if line is not None else f"policy: {what}"


def attribute_name_problem(name: str) -> str | None:
    """Why ``obj.<name>`` is refused whatever ``obj`` is, or None if the name is acceptable."""
    # RestrictedPython's transformer lets ``o._`` through but its safer_getattr refuses it:
    # without the runtime guard, the compile-time check must refuse it.
    if name.startswith("_") or name.endswith("__roles__"):
        return f"attribute {name!r} is not allowed"
    if name in INSPECT_ATTRIBUTES:
        return f"attribute {name!r} is not allowed (interpreter internals)"
    return None


_REFUSED_SYNTAX = {
    "Nonlocal": "'nonlocal'",
    "AsyncFunctionDef": "'async def'",
    "Await": "'await'",
    "AsyncFor": "'async for'",
    "AsyncWith": "'async with'",
    "TryStar": "'except*'",
    "Match": "'match'",
}
"""how refusals name the statements RestrictedPython has no visitor for (by node class)"""


def _calls_super(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "super"
    )


def _write_guarded(value: ast.expr) -> ast.Call:
    """``_write_(value)``, at the position of ``value``."""
    at = located_at(value)
    return ast.Call(ast.Name("_write_", ast.Load(), **at), [value], [], **at)


_ANNOTATION_FIELDS = frozenset({"annotation", "returns"})
_PASSED_LEAVES = frozenset(
    kind for kind in LEAF_NODES if hasattr(RestrictingNodeTransformer, "visit_" + kind.__name__)
)
"""leaf nodes (constants, contexts, operators) whose RestrictedPython visitor only visits their
contents, of which they have none: skipping the visit changes nothing (the few leaf classes
without a visitor, which RestrictedPython refuses, are still visited)"""
_VISITORS: dict[type, Any] = {}
"""ProgramPolicy's visit method for each node class"""


def _contents_only(self: Any, node: ast.AST) -> Any:
    return self.node_contents_visit(node)


def _only_visits_contents(method: Any) -> bool:
    """Whether a visitor is RestrictedPython's ``return self.node_contents_visit(node)`` (most
    of its visitors are: a node class it admits as it is)."""
    code, plain = getattr(method, "__code__", None), _contents_only.__code__
    return (
        code is not None
        and code.co_code == plain.co_code
        and code.co_names == plain.co_names
        and code.co_varnames == plain.co_varnames
    )


class ProgramPolicy(RestrictingNodeTransformer):
    """RestrictedPython's transformer with the changes listed in the module docstring."""

    def __init__(
        self, entry: ast.FunctionDef | None = None, hoistable: frozenset[str] = frozenset()
    ) -> None:
        super().__init__()
        self.problems: list[PolicyProblem] = []
        self.builtin_reads: list[ast.Name] = []
        """reads of ``hoistable`` names in ``entry``'s body, annotations left out: what
        :func:`vipexec.engine.hoist.hoist_builtins` rewrites, found in this walk rather than
        another"""
        self._entry = entry
        self._hoistable = hoistable
        self._collecting = False

    # --- the walk ---------------------------------------------------------------------------
    # The same walk as ast.NodeTransformer's, without its per-node string building, method
    # lookup and list rebuilding: this transformer visits every node of every new program.

    def visit(self, node: ast.AST) -> Any:
        kind = type(node)
        method = _VISITORS.get(kind)
        if method is None:
            method = getattr(type(self), "visit_" + kind.__name__, type(self).generic_visit)
            if _only_visits_contents(method):  # one call per node less
                method = type(self).node_contents_visit
            _VISITORS[kind] = method
        return method(self, node)

    def node_contents_visit(self, node: ast.AST) -> Any:
        visit = self.visit
        outer = self._collecting
        is_entry = node is self._entry
        for name in node._fields:
            if is_entry:
                self._collecting = name == "body"
            elif outer:
                self._collecting = name not in _ANNOTATION_FIELDS
            value = getattr(node, name, None)
            if isinstance(value, list):
                rebuilt: list[Any] = []
                changed = False
                for item in value:
                    if not isinstance(item, ast.AST) or type(item) in _PASSED_LEAVES:
                        rebuilt.append(item)
                        continue
                    new = visit(item)
                    if new is not item:
                        changed = True
                    if new is None:
                        continue
                    if isinstance(new, ast.AST):
                        rebuilt.append(new)
                    else:
                        rebuilt.extend(new)
                if changed:
                    value[:] = rebuilt
            elif isinstance(value, ast.AST) and type(value) not in _PASSED_LEAVES:
                new = visit(value)
                if new is None:
                    delattr(node, name)
                elif new is not value:
                    setattr(node, name, new)
        self._collecting = outer
        return node

    def error(self, node: ast.AST, info: str) -> None:
        super().error(node, info)
        line = getattr(node, "lineno", None)
        self.problems.append(PolicyProblem(line, refusal(info, line)))

    def not_allowed(self, node: ast.AST) -> None:
        kind = type(node).__name__
        self.error(node, f"{_REFUSED_SYNTAX.get(kind, kind)} is not allowed")

    def check_name(self, node: Any, name: str | None, allow_magic_methods: bool = False) -> None:
        # RestrictedPython's rules, in the words of our refusals
        if name is None:
            return
        if name.startswith("_") and name != "_":
            method = allow_magic_methods and name in ALLOWED_FUNC_NAMES and node.col_offset != 0
            if not method:
                self.error(node, f"name {name!r} is not allowed")
        elif name.endswith("__roles__"):
            self.error(node, f"name {name!r} is not allowed")
        elif name in FORBIDDEN_FUNC_NAMES:
            self.error(node, f"name {name!r} is not allowed (reserved)")

    def check_import_names(self, node: ast.Import | ast.ImportFrom) -> ast.AST:
        if getattr(node, "is_lazy", 0):  # Python 3.15: resolved by a builtin past the guard
            self.error(node, "'lazy import' is not allowed")
        for alias in node.names:
            if alias.name == "*":
                self.error(node, "'import *' is not allowed")
            else:
                self.check_name(node, alias.name)
            self.check_name(node, alias.asname)
        return self.node_contents_visit(node)

    # --- names ------------------------------------------------------------------------------

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if self._collecting and node.id in self._hoistable and isinstance(node.ctx, ast.Load):
            self.builtin_reads.append(node)
        if isinstance(node.ctx, ast.Load) and node.id == "print":
            return node  # our print builtin; storing to `print` is still refused below
        self.check_name(node, node.id)
        return node

    # --- attributes and items -----------------------------------------------------------------

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        node = self.node_contents_visit(node)  # inner names first: problems in reading order
        if isinstance(node.ctx, ast.Load) and node.attr == "__name__":
            # a class's name: the runtime guard reads it for classes only
            at = located_at(node)
            getter = ast.Name("_getattr_", ast.Load(), **at)
            return ast.Call(getter, [node.value, ast.Constant("__name__", **at)], [], **at)
        if isinstance(node.ctx, ast.Load) and node.attr == "__init__" and _calls_super(node.value):
            # super().__init__(...): the write guard hands it out in the program's own classes
            at = located_at(node)
            guard = ast.Name("_write_", ast.Load(), **at)
            method = ast.Attribute(guard, "superclass_init", ast.Load(), **at)
            return ast.Call(method, [node.value], [], **at)
        problem = attribute_name_problem(node.attr)
        if problem:
            self.error(node, problem)
        if isinstance(node.ctx, ast.Load):
            if node.attr not in TYPE_DEPENDENT_ATTRIBUTES:
                return node  # the fast path: a plain LOAD_ATTR
            at = located_at(node)
            getter = ast.Name("_getattr_", ast.Load(), **at)
            return ast.Call(getter, [node.value, ast.Constant(node.attr, **at)], [], **at)
        node.value = _write_guarded(node.value)
        return node

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        node = self.node_contents_visit(node)
        if isinstance(node.ctx, ast.Load):
            return node
        node.value = _write_guarded(node.value)
        return node

    # --- calls, loops, assignments ------------------------------------------------------------

    def visit_Call(self, node: ast.Call) -> ast.AST:
        if isinstance(node.func, ast.Name) and node.func.id in ("exec", "eval"):
            self.error(node, f"{node.func.id}() is not allowed (no dynamic code)")
        return self.node_contents_visit(node)

    def guard_iter(self, node: ast.For | ast.comprehension) -> ast.AST:
        return self.node_contents_visit(node)

    def visit_Assign(self, node: ast.Assign) -> ast.AST:
        return self.node_contents_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST:
        return self.node_contents_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        target = node.target
        if isinstance(target, ast.Attribute) and target.attr in TYPE_DEPENDENT_ATTRIBUTES:
            self.error(node, f"augmented assignment to attribute {target.attr!r} is not allowed")
        return self.node_contents_visit(node)

    def visit_With(self, node: ast.With) -> ast.AST:
        return self.node_contents_visit(node)

    # --- classes ------------------------------------------------------------------------------

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        self.check_name(node, node.name)
        if node.keywords:
            self.error(node, "class keyword arguments (metaclass=...) are not allowed")
        node = self.node_contents_visit(node)
        node.keywords = [ast.keyword(arg="metaclass", value=ast.Name("__metaclass__", ast.Load()))]
        ast.fix_missing_locations(node)
        return node
