"""Which names a program's statements bind and read: one pass over the parsed module.

The pipeline needs three views of the same facts: the names each block binds (the variables
its trace records), the names each block reads before binding them (for the labelers), and
every name the program binds anywhere (a builtin bound nowhere may be hoisted, see
:mod:`vipexec.engine.hoist`). :class:`NameAnalysis` visits every node once and keeps, per statement,
what that statement binds in its own scope and what it loads, so any run of statements
(a block, nested or not) is answered by merging per-statement facts.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

from vipexec.core.blocks import COMPOUND_STATEMENTS

_OWN, _COMPREHENSION, _HIDDEN = 0, 1, 2
"""where a node's bindings land: the statement's own scope, a comprehension (only a walrus
binds outside it), or an inner scope (a function or class body, a lambda): nowhere outside"""

_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


class _Facts:
    __slots__ = ("bound", "loads")

    def __init__(self) -> None:
        self.bound: dict[str, None] = {}
        """names bound in the statement's own scope, in first-binding order"""
        self.loads: dict[str, None] = {}
        """every name the statement's subtree loads, inner scopes included, in source order"""


class NameAnalysis:
    """Name facts of a whole module, from one visit of every node."""

    def __init__(self, tree: ast.Module) -> None:
        self.bound_anywhere: set[str] = set()
        """every name bound in any scope (assignment, parameter, import, def, class, global,
        handler or pattern name)"""
        self._facts: dict[int, _Facts] = {}
        self._keep = tree  # the facts are keyed by node identity: keep the nodes alive
        for stmt in tree.body:
            self._statement(stmt)

    def writes(self, statements: Iterable[ast.stmt]) -> tuple[str, ...]:
        """Names the statements bind in their own scope, in first-binding order."""
        seen: dict[str, None] = {}
        for stmt in statements:
            seen.update(self._facts[id(stmt)].bound)
        return tuple(seen)

    def reads(self, statements: Iterable[ast.stmt]) -> tuple[str, ...]:
        """Names the statements read that an earlier statement of theirs did not bind.

        Exact for straight-line code: a simple statement reads its loads before it binds
        (``x = x + 1`` reads ``x``); a compound statement's own bindings (a loop variable) are
        not counted as reads.
        """
        bound: set[str] = set()
        seen: dict[str, None] = {}
        for stmt in statements:
            facts = self._facts[id(stmt)]
            compound = isinstance(stmt, COMPOUND_STATEMENTS)
            for name in facts.loads:
                if name not in bound and not (compound and name in facts.bound):
                    seen.setdefault(name, None)
            bound.update(facts.bound)
        return tuple(seen)

    # --- the visit ------------------------------------------------------------------------------

    def _statement(self, stmt: ast.stmt) -> _Facts:
        facts = _Facts()
        # Pre-order, iterative within the statement (expressions can nest deeper than the
        # recursion limit); nested statements recurse, which is bounded by indentation.
        stack: list[tuple[ast.AST, int]] = [(stmt, _OWN)]
        pop, push = stack.pop, stack.append
        loads, anywhere = facts.loads, self.bound_anywhere
        while stack:
            node, mode = pop()
            kind = type(node)
            if kind is ast.Name:
                if type(node.ctx) is ast.Load:
                    loads[node.id] = None
                else:
                    anywhere.add(node.id)
                    if mode == _OWN and type(node.ctx) is ast.Store:
                        facts.bound.setdefault(node.id, None)
                continue
            if node is not stmt and isinstance(node, ast.stmt):
                inner = self._facts.get(id(node)) or self._statement(node)
                loads.update(inner.loads)
                if mode == _OWN:
                    facts.bound.update(inner.bound)
                continue
            if kind in _SPECIAL:
                self._note(node, mode, facts)
                children = _children(node, mode)
                for child in reversed(children):
                    if type(child[0]) not in LEAF_NODES:
                        push(child)
                continue
            for name in reversed(node._fields):
                value = getattr(node, name, None)
                if type(value) is list:
                    for item in reversed(value):
                        if isinstance(item, ast.AST) and type(item) not in LEAF_NODES:
                            push((item, mode))
                elif isinstance(value, ast.AST) and type(value) not in LEAF_NODES:
                    push((value, mode))
        self._facts[id(stmt)] = facts
        return facts

    def _note(self, node: ast.AST, mode: int, facts: _Facts) -> None:
        anywhere = self.bound_anywhere
        if isinstance(node, ast.NamedExpr) and isinstance(node.target, ast.Name):
            if mode != _HIDDEN:  # a walrus in a comprehension binds in the enclosing scope
                facts.bound.setdefault(node.target.id, None)
        elif isinstance(node, _DEFINITIONS):
            anywhere.add(node.name)
            if mode == _OWN:
                facts.bound.setdefault(node.name, None)
        elif isinstance(node, ast.alias):
            name = (node.asname or node.name).split(".")[0]
            anywhere.add(name)
            if mode == _OWN:
                facts.bound.setdefault(name, None)
        elif isinstance(node, ast.arg):
            anywhere.add(node.arg)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            anywhere.update(node.names)
        elif isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)):
            # A handler's name is deleted when the handler ends: never visible at block exit.
            if node.name:
                anywhere.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            anywhere.add(node.rest)


LEAF_NODES = frozenset(
    {
        ast.Constant,
        *(
            kind
            for base in (ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop)
            for kind in base.__subclasses__()
        ),
    }
)
"""node classes with nothing inside that names anything"""
_SPECIAL = frozenset(
    {
        ast.NamedExpr,
        *_DEFINITIONS,
        ast.alias,
        ast.arg,
        ast.Global,
        ast.Nonlocal,
        ast.ExceptHandler,
        ast.MatchAs,
        ast.MatchStar,
        ast.MatchMapping,
        ast.Lambda,
        *_COMPREHENSIONS,
    }
)
"""node classes that bind a name or open a scope: :meth:`NameAnalysis._note` and
:func:`_children` decide for them"""


def _children(node: ast.AST, mode: int) -> list[tuple[ast.AST, int]]:
    """Child nodes in source order, each with the mode its bindings are in."""
    if isinstance(node, _DEFINITIONS):
        # Decorators, defaults and bases are evaluated in the enclosing scope; the body and
        # the parameters belong to the definition's own scope.
        outer = [*node.decorator_list]
        if isinstance(node, ast.ClassDef):
            outer += [*node.bases, *(k.value for k in node.keywords)]
            inner: list[ast.AST] = [*node.body]
        else:
            args = node.args
            outer += [*args.defaults, *(d for d in args.kw_defaults if d is not None)]
            inner = [args, *node.body]
            if node.returns is not None:
                outer.append(node.returns)
        return [(child, mode) for child in outer] + [(child, _HIDDEN) for child in inner]
    if isinstance(node, ast.Lambda):
        return [(node.args, _HIDDEN), (node.body, _HIDDEN)]
    if isinstance(node, _COMPREHENSIONS):
        inner_mode = _HIDDEN if mode == _HIDDEN else _COMPREHENSION
        return [(child, inner_mode) for child in ast.iter_child_nodes(node)]
    return [(child, mode) for child in ast.iter_child_nodes(node)]
