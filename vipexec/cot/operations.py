"""What a block's code does, read from its AST: the operations a CoT step must state.

:func:`block_operations` walks the statements a block owns (not those of the blocks nested in
it) and returns one :class:`Operation` per comparison, filter, count, selection, sort,
any/all/none test, negation, arithmetic, branch, boolean combination, loop and answer, in
source order. Each operation carries an English sentence that names the operator and the
operands' values where the trace knows them, so a wrong operator, a lost negation or an
off-by-one constant shows in the text. Variables are never quoted: a name reads as its words
("red_circles" -> "the red circles"), with its value when known.

:data:`OPERATION_WORDS` lists, per kind, the words its sentence always contains; the form
check (:func:`vipexec.cot.form.check_step_form`) requires them.
"""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from vipexec.core.program import Block
from vipexec.cot.values import describe_value
from vipexec.modules.bounds import SHOWN_NAMES
from vipexec.modules.methods import lookup

__all__ = [
    "OPERATION_WORDS",
    "Operation",
    "api_call_phrase",
    "block_operations",
    "own_statements",
]

OPERATION_WORDS: Mapping[str, tuple[str, ...]] = {
    "compare": ("compare",),
    "filter": ("keep",),
    "count": ("count",),
    "select": ("take", "pick"),
    "sort": ("sort",),
    "any": ("any",),
    "all": ("all",),
    "none": ("none",),
    "negate": ("not",),
    "arithmetic": ("add", "subtract", "multiply", "divide", "remainder", "power", "negative"),
    "branch": ("if",),
    "combine": ("both", "either"),
    "loop": ("each", "repeat"),
    "answer": ("answer", "done"),
}
"""operation kind -> the words its sentence always contains (one of them)"""

MAX_PER_KIND = 2
"""sentences kept per operation kind (the first ones in source order)"""

_STEP_COMMENT = re.compile(r"#\s*step\b", re.IGNORECASE)
_NAME_WORDS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
"""the words of a variable name: ``red_circles2`` -> red, circles, 2; ``redCircles`` too"""


@dataclass(frozen=True)
class Operation:
    kind: str
    """one of :data:`OPERATION_WORDS`"""
    sentence: str


def block_operations(block: Block, values: Mapping[str, Any] | None = None) -> list[Operation]:
    """The operations of ``block`` in source order, at most :data:`MAX_PER_KIND` per kind.

    ``values`` maps names to trace summaries (the block's own variables and those earlier
    blocks bound); a name with a value reads with it.
    """
    reader = _Reader(values or {})
    for statement in own_statements(block):
        reader.statement(statement)
    kept: list[Operation] = []
    seen: set[tuple[str, str]] = set()
    counts: dict[str, int] = {}
    for operation in reader.found:
        key = (operation.kind, operation.sentence)
        if key in seen or counts.get(operation.kind, 0) >= MAX_PER_KIND:
            continue
        seen.add(key)
        counts[operation.kind] = counts.get(operation.kind, 0) + 1
        kept.append(operation)
    return kept


# --- the block's own statements ----------------------------------------------------------------


def own_statements(block: Block) -> list[ast.stmt]:
    """The statements of ``block`` without those of the blocks nested in it.

    A block's source may end in a header whose body belongs to a nested block (``for x in
    xs:``); such a header gets an empty body. Lines that do not parse alone are skipped.
    """
    source = textwrap.dedent("\n".join(_own_lines(block.source)))
    source = _close_headers(source)
    try:
        return ast.parse(source).body
    except SyntaxError:
        return _statements_line_by_line(source)


def _own_lines(source: str) -> list[str]:
    kept: list[str] = []
    nested_at: int | None = None
    for number, line in enumerate(source.splitlines()):
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if nested_at is not None:
            if not stripped or indent >= nested_at:
                continue
            nested_at = None
        if number > 0 and _STEP_COMMENT.match(stripped):
            nested_at = indent
            continue
        kept.append(line)
    return kept


def _close_headers(source: str) -> str:
    """Give every compound-statement header without a body a ``pass`` body."""
    lines = source.splitlines()
    out = []
    for number, line in enumerate(lines):
        out.append(line)
        code = line.split("#", 1)[0].rstrip()
        if not code.endswith(":"):
            continue
        indent = len(line) - len(line.lstrip())
        following = [n for n in lines[number + 1 :] if n.strip() and not n.strip().startswith("#")]
        if not following or len(following[0]) - len(following[0].lstrip()) <= indent:
            out.append(" " * (indent + 4) + "pass")
    return "\n".join(out)


def _statements_line_by_line(source: str) -> list[ast.stmt]:
    found: list[ast.stmt] = []
    for line in source.splitlines():
        code = line.strip()
        if not code or code.startswith("#"):
            continue
        if code.startswith("elif "):
            code = code[2:]
        if code.endswith(":"):
            code += " pass"
        try:
            found.extend(ast.parse(code).body)
        except SyntaxError:
            continue
    return found


# --- reading the code --------------------------------------------------------------------------

_COMPARE = {
    ast.Gt: "is greater than",
    ast.Lt: "is less than",
    ast.GtE: "is at least",
    ast.LtE: "is at most",
    ast.Eq: "is equal to",
    ast.NotEq: "is not equal to",
    ast.In: "is one of",
    ast.NotIn: "is not one of",
    ast.Is: "is",
    ast.IsNot: "is not",
}
_ARITHMETIC: dict[type, Callable[[str, str], str]] = {
    ast.Add: lambda a, b: f"We add {a} and {b}.",
    ast.Sub: lambda a, b: f"We subtract {b} from {a}.",
    ast.Mult: lambda a, b: f"We multiply {a} by {b}.",
    ast.Div: lambda a, b: f"We divide {a} by {b}.",
    ast.FloorDiv: lambda a, b: f"We divide {a} by {b}, rounding down.",
    ast.Mod: lambda a, b: f"We take the remainder of {a} divided by {b}.",
    ast.Pow: lambda a, b: f"We raise {a} to the power {b}.",
}
_ORDINALS = ("first", "second", "third", "fourth", "fifth")
_FIELDS = {
    "horizontal_center": "the horizontal centre",
    "vertical_center": "the vertical centre",
    "left": "the left edge",
    "right": "the right edge",
    "lower": "the bottom edge",
    "upper": "the top edge",
    "width": "the width",
    "height": "the height",
    "num_frames": "the number of frames",
    "start": "the first frame",
    "end": "the end frame",
}
_ARGUMENT_NAMES = {shown: name for name, shown in SHOWN_NAMES.items()} | {"option_list": "options"}


class _Reader:
    """Collects the operations of statements, naming operands by their words and values."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values = values
        self.found: list[Operation] = []
        self.described: set[str] = set()
        """names whose value a sentence already gave (later ones use the words alone)"""
        self.items: dict[str, str] = {}
        """loop and comprehension targets: they read as "the item" ("the position" over a
        range)"""

    def add(self, kind: str, sentence: str) -> None:
        self.found.append(Operation(kind, sentence))

    # --- statements -----------------------------------------------------------------------------

    def statement(self, node: ast.stmt) -> None:
        if isinstance(node, ast.For):
            if _call_name(node.iter) == "range":
                self.add("loop", f"We go through each position {self._range(node.iter)}.")
                self._positions(node.target)
            else:
                self._targets(node.target)
                self.add("loop", f"We go through each item of {self.operand(node.iter)}.")
            self.expression(node.iter)
            self._body(node.body + node.orelse)
        elif isinstance(node, ast.While):
            self.add("loop", f"We repeat the loop while {self.condition(node.test)}.")
            self.expression(node.test)
            self._body(node.body + node.orelse)
        elif isinstance(node, ast.If):
            self._if(node)
        elif isinstance(node, ast.Return):
            if node.value is not None:
                self.expression(node.value)
                self.add("answer", f"We give {self.operand(node.value)} as the answer.")
        elif isinstance(node, ast.AugAssign):
            self.expression(node.value)
            sentence = _ARITHMETIC.get(type(node.op))
            if sentence is not None:
                self.add(
                    "arithmetic", sentence(self.operand(node.target), self.operand(node.value))
                )
        elif isinstance(node, ast.Expr) and _is_print(node.value):
            self._print(node.value)
        elif isinstance(node, (ast.Try, ast.With)):
            self._body(node.body)
            for handler in getattr(node, "handlers", []):
                self._body(handler.body)
        else:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.expr):
                    self.expression(child)

    def _body(self, statements: list[ast.stmt]) -> None:
        for statement in statements:
            self.statement(statement)

    def _if(self, node: ast.If) -> None:
        kept = _appended(node.body)
        if kept is not None and not node.orelse:
            self.expression(node.test)
            self.add(
                "filter",
                f"We keep only the items for which {self.condition(node.test)}, "
                f"collecting them in {self.operand(kept)}.",
            )
            return
        if isinstance(node.test, (ast.Compare, ast.BoolOp, ast.UnaryOp)):
            self.expression(node.test)
            self.add("branch", "The code that follows runs only if that holds.")
        else:
            self.add("branch", f"We check if {self.condition(node.test)}.")
            self.expression(node.test)
        self._body(node.body + node.orelse)

    def _print(self, call: ast.Call) -> None:
        texts = [a.value for a in call.args if isinstance(a, ast.Constant)]
        if texts and all(isinstance(t, str) and "done" in t.lower() for t in texts):
            self.add("answer", "We report that the work is done.")
            return
        for argument in call.args:
            self.expression(argument)
        shown = " and ".join(self.operand(a) for a in call.args) or "an empty line"
        self.add("answer", f"We print {shown} as the answer.")

    def _targets(self, target: ast.expr) -> None:
        for node in ast.walk(target):
            if isinstance(node, ast.Name):
                self.items[node.id] = "the item"

    def _positions(self, target: ast.expr) -> None:
        for node in ast.walk(target):
            if isinstance(node, ast.Name):
                self.items[node.id] = "the position"

    def _range(self, call: ast.Call) -> str:
        """``range(...)`` in words: "from 0 up to (not including) N"."""
        bounds = [self.operand(a) for a in call.args]
        if len(bounds) == 1:
            return f"from 0 up to (not including) {bounds[0]}"
        if len(bounds) >= 2:
            step = f", in steps of {bounds[2]}" if len(bounds) > 2 else ""
            return f"from {bounds[0]} up to (not including) {bounds[1]}{step}"
        return "of a range"

    # --- expressions ----------------------------------------------------------------------------

    def expression(self, node: ast.expr) -> None:
        """Record the operations inside ``node`` (outermost first)."""
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            self._comprehension(node)
            return
        if isinstance(node, ast.Compare):
            self.add("compare", f"We compare whether {self.condition(node)}.")
        elif isinstance(node, ast.BoolOp):
            self._combine(node)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            if _call_name(node.operand) == "any":
                self.add("none", f"We check that none of {self._quantified(node.operand)}.")
                self._inside(node.operand)
                return
            self.add("negate", f"We negate it: not {self.condition(node.operand)}.")
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            self.add("arithmetic", f"We take the negative of {self.operand(node.operand)}.")
        elif isinstance(node, ast.BinOp) and type(node.op) in _ARITHMETIC:
            sentence = _ARITHMETIC[type(node.op)]
            self.add("arithmetic", sentence(self.operand(node.left), self.operand(node.right)))
        elif isinstance(node, ast.Subscript):
            self._subscript(node)
        elif isinstance(node, ast.Call):
            self._call(node)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                self.expression(child)

    def _inside(self, call: ast.expr) -> None:
        for child in ast.iter_child_nodes(call):
            if isinstance(child, ast.expr):
                self.expression(child)

    def _combine(self, node: ast.BoolOp) -> None:
        parts = [self.condition(value) for value in node.values]
        if isinstance(node.op, ast.And):
            self.add("combine", f"We require both {' and '.join(parts)}.")
        else:
            self.add("combine", f"We accept either {' or '.join(parts)}.")

    def _comprehension(self, node: ast.expr) -> None:
        for generator in node.generators:  # type: ignore[attr-defined]
            self._targets(generator.target)
        for generator in node.generators:  # type: ignore[attr-defined]
            self.expression(generator.iter)
            source = self.operand(generator.iter)
            for test in generator.ifs:
                self.expression(test)
                self.add(
                    "filter",
                    f"We keep only the items of {source} for which {self.condition(test)}.",
                )
        element = getattr(node, "elt", None)
        if element is not None:
            self.expression(element)

    def _subscript(self, node: ast.Subscript) -> None:
        index = _constant_index(node.slice)
        if index is None:
            return
        self.add("select", f"We take {_position(index)} of {self.operand(node.value)}.")

    def _call(self, node: ast.Call) -> None:
        name = _call_name(node)
        keywords = {k.arg: k.value for k in node.keywords if k.arg}
        first = self.operand(node.args[0]) if node.args else "the items"
        if name == "len" and node.args:
            self.add("count", f"We count the items of {first}.")
        elif name in ("any", "all") and node.args:
            kind = "any" if name == "any" else "all"
            self.add(kind, f"We check whether {name} of {self._quantified(node)}.")
        elif name in ("min", "max"):
            which = "smallest" if name == "min" else "largest"
            key = keywords.get("key")
            by = f" by {self._key(key)}" if key is not None else ""
            self.add("select", f"We pick the {which} of {first}{by}.")
        elif name == "sorted" or (isinstance(node.func, ast.Attribute) and name == "sort"):
            subject = first if name == "sorted" else self.operand(node.func.value)  # type: ignore[attr-defined]
            key = keywords.get("key")
            by = f" by {self._key(key)}" if key is not None else ""
            descending = _truthy(keywords.get("reverse"))
            order = "from largest to smallest" if descending else "from smallest to largest"
            self.add("sort", f"We sort {subject}{by}, {order}.")
        elif name == "sum" and node.args:
            self.add("arithmetic", f"We add up {first}.")

    def _quantified(self, call: ast.expr) -> str:
        """ "the items of X satisfy C" for ``any``/``all`` over a generator (or a list)."""
        argument = call.args[0] if isinstance(call, ast.Call) and call.args else None
        if isinstance(argument, (ast.GeneratorExp, ast.ListComp)):
            for generator in argument.generators:
                self._targets(generator.target)
            source = self.operand(argument.generators[0].iter)
            return f"the items of {source} satisfy: {self.condition(argument.elt)}"
        return f"the values of {self.operand(argument) if argument is not None else 'it'} hold"

    def _key(self, key: ast.expr) -> str:
        if isinstance(key, ast.Lambda):
            for arg in key.args.args:
                self.items[arg.arg] = "the item"
            return self.operand(key.body)
        return self.operand(key)

    # --- how operands read ---------------------------------------------------------------------

    def condition(self, node: ast.expr) -> str:
        """A condition in words: ``a > 2`` reads "the a (1) is greater than 2"."""
        if isinstance(node, ast.Compare):
            parts = [self.operand(node.left)]
            for op, right in zip(node.ops, node.comparators):
                parts.append(f"{_COMPARE.get(type(op), 'compares with')} {self.operand(right)}")
            return " ".join(parts)
        if isinstance(node, ast.BoolOp):
            joiner = " and " if isinstance(node.op, ast.And) else " or "
            return joiner.join(self.condition(v) for v in node.values)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return f"not ({self.condition(node.operand)})"
        entry = _api_entry(node)
        if entry is not None and entry.result == "bool":
            args = _call_arguments(node, entry.backend_args)  # type: ignore[arg-type]
            phrase = entry.cot.render(args)
            tool, _, purpose = phrase.partition(" to ")
            return f"{tool}, asked to {purpose}, says yes" if purpose else f"{phrase} says yes"
        return f"{self.operand(node)} holds"

    def operand(self, node: ast.expr) -> str:
        """An operand in words, with its value where the trace knows it."""
        if isinstance(node, ast.Constant):
            return _constant(node.value)
        if isinstance(node, ast.Name):
            if node.id in self.items:
                return self.items[node.id]
            words = " ".join(_NAME_WORDS.findall(node.id)).lower() or "value"
            value = self.values.get(node.id)
            if value is None or node.id in self.described:
                return f"the {words}"
            self.described.add(node.id)
            return f"the {words} ({describe_value(value)})"
        if isinstance(node, ast.Attribute):
            field = _FIELDS.get(node.attr)
            if field is not None:
                return f"{field} of {self.operand(node.value)}"
        if isinstance(node, ast.Subscript):
            index = _constant_index(node.slice)
            if index is not None:
                return f"{_position(index)} of {self.operand(node.value)}"
            if not isinstance(node.slice, ast.Slice):
                return f"the item of {self.operand(node.value)} at {self.operand(node.slice)}"
        if isinstance(node, ast.Call):
            return self._call_operand(node)
        if isinstance(node, ast.BinOp) and type(node.op) in _ARITHMETIC:
            left, right = self.operand(node.left), self.operand(node.right)
            return f"{left} {_SYMBOL_WORDS[type(node.op)]} {right}"
        if isinstance(node, (ast.List, ast.Tuple)):
            if not node.elts:
                return "an empty list"
            return "the list of " + ", ".join(self.operand(e) for e in node.elts)
        if isinstance(node, ast.JoinedStr):
            return "a text built from the values"
        if isinstance(node, (ast.ListComp, ast.GeneratorExp)):
            return f"the items taken from {self.operand(node.generators[0].iter)}"
        if isinstance(node, (ast.Compare, ast.BoolOp, ast.UnaryOp)):
            return f"whether {self.condition(node)}"
        return "a computed value"

    def _call_operand(self, node: ast.Call) -> str:
        name = _call_name(node)
        first = self.operand(node.args[0]) if node.args else "the items"
        if name == "len":
            return f"the number of items of {first}"
        if name in ("min", "max"):
            return f"the {'smallest' if name == 'min' else 'largest'} of {first}"
        if name in ("int", "float", "str", "bool", "abs", "round") and node.args:
            return first
        if name == "sorted":
            return f"{first}, sorted"
        if name == "range":
            return f"the numbers {self._range(node)}"
        entry = _api_entry(node)
        if entry is not None and entry.result == "yesno" and node.args:
            return f'"yes" if {self.condition(node.args[0])}, else "no"'
        if entry is not None:
            args = _call_arguments(node, entry.backend_args)
            return f"the result of {entry.cot.render(args)}"
        if isinstance(node.func, ast.Name) and node.func.id in ("ImagePatch", "VideoSegment"):
            return "the whole image as one region" if node.args else "a region"
        return "a computed value"


_SYMBOL_WORDS = {
    ast.Add: "plus",
    ast.Sub: "minus",
    ast.Mult: "times",
    ast.Div: "divided by",
    ast.FloorDiv: "divided by (rounded down)",
    ast.Mod: "modulo",
    ast.Pow: "to the power",
}


def api_call_phrase(node: ast.expr) -> str | None:
    """What answers an API call written in the code and what it is asked, with the call's
    literal arguments (the method table's CoT facet); ``None`` for any other expression."""
    entry = _api_entry(node)
    if entry is None:
        return None
    return entry.cot.render(_call_arguments(node, entry.backend_args))  # type: ignore[arg-type]


def _api_entry(node: ast.expr) -> Any:
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    return lookup(name)


def _call_arguments(node: ast.Call, names: tuple[str, ...]) -> dict[str, Any]:
    """The literal arguments of an API call, by the names its table entry uses."""
    args: dict[str, Any] = {}
    for name, value in zip(names, node.args):
        literal = _literal(value)
        if literal is not None:
            args[name] = literal
    for keyword in node.keywords:
        name = _ARGUMENT_NAMES.get(keyword.arg or "", keyword.arg)
        literal = _literal(keyword.value)
        if name and literal is not None:
            args[name] = literal
    return args


def _literal(node: ast.expr) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError):
        return None


def _call_name(node: ast.expr) -> str | None:
    if not isinstance(node, ast.Call):
        return None
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def _is_print(node: ast.expr) -> bool:
    return isinstance(node, ast.Call) and _call_name(node) == "print"


def _appended(body: list[ast.stmt]) -> ast.expr | None:
    """The list a body appends to when all it does is ``xs.append(...)``."""
    if len(body) != 1 or not isinstance(body[0], ast.Expr):
        return None
    call = body[0].value
    appends = isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
    return call.func.value if appends and call.func.attr == "append" else None  # type: ignore[union-attr]


def _constant_index(node: ast.expr) -> int | None:
    value = _literal(node)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _position(index: int) -> str:
    if index == -1:
        return "the last item"
    if index < 0:
        return f"item {-index} from the end"
    if index < len(_ORDINALS):
        return f"the {_ORDINALS[index]} item"
    return f"item number {index + 1}"


def _truthy(node: ast.expr | None) -> bool:
    return bool(_literal(node)) if node is not None else False


def _constant(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value)
