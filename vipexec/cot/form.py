"""The form rules of a CoT step, as a reusable check.

A step (SVIP step 4) must

1. begin with "In this step, we use";
2. not quote the code: no variable name of the block and no API method name. A name that
   could only be code (it has an underscore, a digit or an inner capital: ``red_circles``,
   ``verify_property``, ``ImagePatch``) must not appear at all; a name that is also an
   English word (``count``, ``find``) must not appear as code: followed by ``(``, ``[`` or
   ``=``, after a ``.``, between backticks or in single quotes;
3. state the operation the code performs: for every kind of operation the block has
   (:func:`vipexec.cot.operations.block_operations`), one of that kind's words.
"""

from __future__ import annotations

import ast
import builtins
import re
import textwrap

from vipexec.core.program import Block
from vipexec.cot.operations import OPERATION_WORDS, block_operations, own_statements
from vipexec.modules.methods import METHODS

__all__ = ["OPENING", "check_step_form", "code_names"]

OPENING = "In this step, we use"

_BUILTINS = frozenset(dir(builtins))


def check_step_form(text: str, block: Block) -> list[str]:
    """The form rules ``text`` breaks as the step of ``block`` (empty: it meets them all)."""
    problems = []
    if not text.startswith(OPENING):
        problems.append(f'does not begin with "{OPENING}"')
    for name in sorted(code_names(block)):
        if quotes(text, name):
            problems.append(f"quotes the variable name {name!r}")
    for name in METHODS:
        if quotes(text, name):
            problems.append(f"quotes the API method name {name!r}")
    lowered = text.lower()
    for kind in sorted({operation.kind for operation in block_operations(block)}):
        words = OPERATION_WORDS[kind]
        if not any(re.search(rf"\b{re.escape(word)}\b", lowered) for word in words):
            problems.append(f"does not state the {kind} operation ({' / '.join(words)})")
    return problems


def code_names(block: Block) -> set[str]:
    """The variable names of ``block``: the names it binds and reads, and any name its code
    uses, builtins and API functions left out."""
    names = set(block.writes) | set(block.reads)
    try:
        tree: ast.AST | None = ast.parse(textwrap.dedent(block.source))
    except SyntaxError:
        tree = None
    nodes = ast.walk(tree) if tree is not None else []
    statements = own_statements(block) if tree is None else []
    for statement in statements:
        names.update(n.id for n in ast.walk(statement) if isinstance(n, ast.Name))
    for node in nodes:
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
    return {name for name in names if name not in _BUILTINS and name not in METHODS}


def quotes(text: str, name: str) -> bool:
    """Whether ``text`` quotes the code name ``name`` (see the module docstring)."""
    escaped = re.escape(name)
    if _code_only(name):
        return re.search(rf"(?<![\w]){escaped}(?![\w])", text) is not None
    as_code = (
        rf"(?<![\w]){escaped}(?:\(|\[|\s*=(?!=))",
        rf"\.{escaped}(?![\w])",
        rf"`[^`]*(?<![\w]){escaped}(?![\w])[^`]*`",
        rf"'{escaped}'",
    )
    return any(re.search(pattern, text) for pattern in as_code)


def _code_only(name: str) -> bool:
    return "_" in name or any(c.isdigit() for c in name) or any(c.isupper() for c in name[1:])
