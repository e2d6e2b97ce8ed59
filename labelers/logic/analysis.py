"""Static facts about a program that the logic checks share.

- per block: its outermost statements, the module calls it makes (method and string literals),
  whether it is *glue* (pure logic over earlier values: ``and/or/not``, comparisons, ``len``,
  arithmetic, ``bool_to_yesno``) and, for glue, its output expression;
- per variable: a *phrase*, the content words of what it holds, followed through assignments,
  loops, ``append`` under a condition and comprehensions (``red_circles`` built from
  ``find("circle")`` filtered by ``verify_property("circle", "red")`` holds "red circle").
"""

from __future__ import annotations

import ast
import itertools
from dataclasses import dataclass, field

from vipexec.core.program import Program
from vipexec.labelers._blocks import literal_strings, statements_in_lines
from vipexec.labelers.logic.vocabulary import DEFAULT_VOCABULARY, Vocabulary, words
from vipexec.modules.methods import API_METHODS, METHODS

GLUE_FUNCTIONS = frozenset(
    {
        "len", "int", "str", "bool", "float", "abs", "min", "max", "sum",
        "any", "all", "sorted", "list", "round", "print",
    }
    | {name for name, entry in METHODS.items() if entry.glue}
)  # fmt: skip
PATCH_FIELDS = frozenset(
    {"horizontal_center", "vertical_center", "left", "right", "lower", "upper", "width", "height"}
)


@dataclass
class BlockFacts:
    index: int
    statements: list[ast.stmt]
    calls: list[tuple[str, list[str]]] = field(default_factory=list)
    """module calls written in the block: (method, string literals among the arguments)"""
    glue: bool = False
    outputs: list[tuple[str | None, ast.expr]] = field(default_factory=list)
    """glue only: what the block produces: ``(name, expr)`` per variable it assigns, or one
    ``(None, expr)`` for the value it returns (or prints, in a script)"""
    returns: bool = False
    tail: list[ast.stmt] = field(default_factory=list)
    """glue only: the ``return`` of the next block that completes the block's ``if`` (an
    ``if c: return "yes"`` block followed by a ``return "no"`` block answers ``"yes" if c else
    "no"``)"""
    reads: tuple[str, ...] = ()
    """program variables the block reads (bound by an earlier block)"""


@dataclass
class ProgramFacts:
    program: Program
    blocks: list[BlockFacts]
    phrases: dict[str, frozenset[str]]
    first_writer: dict[str, int]
    variables: frozenset[str]


def analyse(program: Program, vocabulary: Vocabulary = DEFAULT_VOCABULARY) -> ProgramFacts:
    """The static facts of ``program`` (empty facts for a program that does not parse)."""
    try:
        tree = ast.parse(program.source)
    except SyntaxError:
        empty = [BlockFacts(b.index, []) for b in program.blocks]
        return ProgramFacts(program, empty, {}, {}, frozenset())
    first_writer: dict[str, int] = {}
    for block in program.blocks:
        for name in block.writes:
            first_writer.setdefault(name, block.index)
    variables = frozenset(first_writer) | frozenset(program.params)
    body = _entry_body(tree, program)
    tracker = _PhraseTracker(vocabulary)
    tracker.visit_body(body)
    facts = []
    printing = [
        b.index
        for b in program.blocks
        if b.parent is None
        and body is not None
        and any(_is_print(n) for s in statements_in_lines(tree, b.lines) for n in ast.walk(s))
    ]
    last_printing = max(printing, default=None)
    for block in program.blocks:
        statements = statements_in_lines(tree, block.lines) if body is not None else []
        item = BlockFacts(block.index, statements)
        for statement in statements:
            for node in ast.walk(statement):
                if _is_api_call(node):
                    literals = [s for arg in _arguments(node) for s in literal_strings(arg)]
                    item.calls.append((node.func.attr, literals))
        bound_before = {n for n, i in first_writer.items() if i < block.index}
        bound_before |= set(program.params)
        item.reads = tuple(n for n in block.reads if n in bound_before)
        _classify_glue(item, bound_before, block.index == last_printing)
        facts.append(item)
    _complete_conditional_answers(facts, program)
    return ProgramFacts(program, facts, tracker.phrases, first_writer, variables)


def _entry_body(tree: ast.Module, program: Program) -> list[ast.stmt] | None:
    if program.form == "function" and program.entry:
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name == program.entry:
                return node.body
        return None
    return tree.body


def _is_api_call(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in API_METHODS
    )


def _arguments(call: ast.Call) -> list[ast.expr]:
    return [*call.args, *(k.value for k in call.keywords)]


# --- glue ---------------------------------------------------------------------------------------


def _classify_glue(item: BlockFacts, bound_before: set[str], answers: bool) -> None:
    """Marks a block of pure logic as glue and finds its outputs; ``answers``: the block is
    the last that prints (a script's answer is what it prints)."""
    statements = _without_closing_prints(item.statements)
    if not statements or item.calls or not item.reads:
        return
    if not all(_glue_statement(s) for s in statements):
        return
    last = statements[-1]
    answer = _conditional_answer(last)
    if answer is not None:
        item.outputs, item.returns = [(None, answer)], True
    elif isinstance(last, ast.Return):
        if last.value is None:
            return
        item.outputs, item.returns = [(None, last.value)], True
    elif _prints_answer(last) and (answers or not _prints_own(statements)):
        item.outputs, item.returns = [(None, last.value.args[0])], True
    else:  # assignments; a script step that prints a value it computed hands it on by name
        names = _assigned(statements)
        if not names:
            return
        item.outputs = [(name, ast.Name(id=name, ctx=ast.Load())) for name in names]
    item.glue = True


def _prints_answer(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.Expr) and _is_print(statement.value)


def _prints_own(statements: list[ast.stmt]) -> bool:
    """Whether the last statement prints a name the statements before it assign."""
    printed = statements[-1].value.args[0]
    return isinstance(printed, ast.Name) and printed.id in _assigned(statements[:-1])


def _without_closing_prints(statements: list[ast.stmt]) -> list[ast.stmt]:
    """``statements`` without the trailing prints of constant text (a script's
    ``print("Work is Done!")`` closes the answer; it is not the answer)."""
    out = list(statements)
    while (
        out
        and isinstance(out[-1], ast.Expr)
        and _is_print(out[-1].value)
        and isinstance(out[-1].value.args[0], ast.Constant)
        and isinstance(out[-1].value.args[0].value, str)
    ):
        out.pop()
    return out


def _conditional_answer(statement: ast.stmt) -> ast.expr | None:
    """``a if test else b`` for ``if test: return a`` / ``else: return b`` (None when the
    statement is not such an ``if``, or a branch is not a single ``return``)."""
    if not isinstance(statement, ast.If):
        return None
    body = _single_return(statement.body)
    other = _single_return(statement.orelse)
    if body is None or other is None:
        return None
    return ast.IfExp(test=statement.test, body=body, orelse=other)


def _single_return(statements: list[ast.stmt]) -> ast.expr | None:
    if len(statements) != 1:
        return None
    statement = statements[0]
    if isinstance(statement, ast.If):
        return _conditional_answer(statement)
    if isinstance(statement, ast.Return) and statement.value is not None:
        return statement.value
    return None


def _complete_conditional_answers(facts: list[BlockFacts], program: Program) -> None:
    """A top-level ``if test: return a`` block followed by a top-level ``return b`` block is
    glue answering ``a if test else b`` (when its test and both answers are glue)."""
    blocks = program.blocks
    for item, following in itertools.pairwise(facts):
        if item.glue or item.calls or not item.reads or len(item.statements) != 1:
            continue
        if blocks[item.index].parent is not None or blocks[following.index].parent is not None:
            continue
        statement = item.statements[0]
        if not (isinstance(statement, ast.If) and not statement.orelse):
            continue
        closing = following.statements
        if not (len(closing) == 1 and isinstance(closing[0], ast.Return) and closing[0].value):
            continue
        if following.calls or not _glue_statement(statement) or not _glue_expr(closing[0].value):
            continue
        if following.glue:  # the closing return is tested on its own (it reads values)
            continue
        answer = _single_return(statement.body)
        if answer is None:
            continue
        test = statement.test
        item.outputs = [(None, ast.IfExp(test=test, body=answer, orelse=closing[0].value))]
        item.returns, item.glue, item.tail = True, True, list(closing)


def _is_print(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "print"
        and len(node.args) == 1
        and not node.keywords
    )


def _assigned(statements: list[ast.stmt]) -> list[str]:
    """Names assigned anywhere in the statements, in order of their last assignment."""
    names: list[str] = []
    for statement in statements:
        for node in ast.walk(statement):
            if isinstance(node, ast.Assign | ast.AugAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name):
                        if target.id in names:
                            names.remove(target.id)
                        names.append(target.id)
    return names


def _glue_statement(statement: ast.stmt) -> bool:
    if isinstance(statement, ast.Assign):
        return all(isinstance(t, ast.Name) for t in statement.targets) and _glue_expr(
            statement.value
        )
    if isinstance(statement, ast.AugAssign):
        return isinstance(statement.target, ast.Name) and _glue_expr(statement.value)
    if isinstance(statement, ast.Return):
        return statement.value is None or _glue_expr(statement.value)
    if isinstance(statement, ast.If):
        return (
            _glue_expr(statement.test)
            and all(_glue_statement(s) for s in statement.body)
            and all(_glue_statement(s) for s in statement.orelse)
        )
    if isinstance(statement, ast.Expr):
        return _is_print(statement.value) and _glue_expr(statement.value.args[0])
    return isinstance(statement, ast.Pass)


_GLUE_NODES = (
    ast.Name,
    ast.Constant,
    ast.BoolOp,
    ast.UnaryOp,
    ast.Compare,
    ast.BinOp,
    ast.IfExp,
    ast.List,
    ast.Tuple,
    ast.Load,
    ast.boolop,
    ast.unaryop,
    ast.cmpop,
    ast.operator,
    ast.JoinedStr,
    ast.FormattedValue,
)


def _glue_expr(expr: ast.expr) -> bool:
    for node in ast.walk(expr):
        if isinstance(node, ast.Call):
            if not (isinstance(node.func, ast.Name) and node.func.id in GLUE_FUNCTIONS):
                return False
            continue
        if isinstance(node, ast.Attribute):
            if node.attr not in PATCH_FIELDS or not isinstance(
                node.value, (ast.Name, ast.Subscript)
            ):
                return False
            continue
        if isinstance(node, ast.Subscript):
            if not isinstance(node.slice, (ast.Constant, ast.UnaryOp)):
                return False
            continue
        if isinstance(node, ast.keyword):
            continue
        if isinstance(node, ast.BinOp) and not _small_arithmetic(node):
            return False
        if not isinstance(node, _GLUE_NODES):
            return False
    return True


def _small_arithmetic(node: ast.BinOp) -> bool:
    """Arithmetic that cannot build a huge value (glue blocks are re-run in this process):
    no powers, shifts or repetition of sequences and strings."""
    if isinstance(node.op, ast.Pow | ast.LShift | ast.RShift | ast.MatMult):
        return False
    if isinstance(node.op, ast.Mult):
        sequences = (ast.List, ast.Tuple, ast.JoinedStr, ast.ListComp)
        for side in (node.left, node.right):
            if isinstance(side, sequences) or (
                isinstance(side, ast.Constant) and isinstance(side.value, str | bytes)
            ):
                return False
    return True


def is_binary_combination(expr: ast.expr, inputs: set[str]) -> bool:
    """Whether ``expr`` combines two input-dependent values (``and``/``or`` or ``a < b``)."""
    for node in ast.walk(expr):
        if isinstance(node, ast.BoolOp):
            return True
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            dependent = [s for s in sides if _names(s) & inputs]
            if len(dependent) >= 2:
                return True
    return False


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def dependencies(item: BlockFacts, output: ast.expr) -> set[str]:
    """Names ``output`` depends on within the block (assignments followed back)."""
    deps = _names(output)
    assigned: dict[str, set[str]] = {}
    for statement in item.statements:
        for node in ast.walk(statement):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        assigned.setdefault(target.id, set()).update(_names(node.value))
            elif isinstance(node, ast.If):
                for sub in ast.walk(node):
                    if isinstance(sub, ast.Assign):
                        for target in sub.targets:
                            if isinstance(target, ast.Name):
                                assigned.setdefault(target.id, set()).update(_names(node.test))
    frontier = set(deps)
    while frontier:
        name = frontier.pop()
        for dep in assigned.get(name, ()):
            if dep not in deps:
                deps.add(dep)
                frontier.add(dep)
    return deps


# --- phrases ------------------------------------------------------------------------------------


class _PhraseTracker:
    """Follows what each variable holds, as content words, through the entry body."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary
        self.phrases: dict[str, frozenset[str]] = {}
        self.index_of: dict[str, str] = {}
        self.context: list[frozenset[str]] = []

    def words_of_literals(self, node: ast.AST) -> frozenset[str]:
        """Content words of the module calls' string arguments in ``node``; a call under a
        ``not`` gives its words as ``~word`` (the value holds what the call said no to)."""
        found: set[str] = set()
        for call, negated in _calls_with_negation(node):
            for arg in _arguments(call):
                for text in literal_strings(arg):
                    words = self.vocabulary.content_words(text)
                    found |= {NEGATED + w for w in words} if negated else words
        return frozenset(found)

    def phrase(self, node: ast.AST) -> frozenset[str]:
        found = set(self.words_of_literals(node))
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and sub.id in self.phrases:
                found |= self.phrases[sub.id]
            if isinstance(sub, ast.Subscript) and isinstance(sub.slice, ast.Name):
                container = _names(sub.value)
                for name in container:
                    found |= self.phrases.get(name, frozenset())
        if isinstance(node, ast.ListComp | ast.GeneratorExp | ast.SetComp):
            for generator in node.generators:
                for condition in generator.ifs:
                    found |= self.words_of_literals(condition)
        return frozenset(found)

    def bind(self, name: str, phrase: frozenset[str]) -> None:
        context = frozenset().union(*self.context) if self.context else frozenset()
        self.phrases[name] = phrase | context if phrase else phrase

    def visit_body(self, body: list[ast.stmt] | None) -> None:
        for statement in body or ():
            self.visit(statement)

    def visit(self, statement: ast.stmt) -> None:
        if isinstance(statement, ast.Assign):
            phrase = self.phrase(statement.value)
            for target in statement.targets:
                for name in _target_names(target):
                    self.bind(name, phrase)
        elif isinstance(statement, ast.AugAssign):
            context = frozenset().union(*self.context) if self.context else frozenset()
            for name in _target_names(statement.target):
                old = self.phrases.get(name, frozenset())
                self.phrases[name] = old | self.phrase(statement.value) | context
        elif isinstance(statement, ast.For | ast.AsyncFor):
            phrase = self.phrase(statement.iter)
            for name in _target_names(statement.target):
                self.phrases[name] = phrase
            self.visit_body(statement.body)
            self.visit_body(statement.orelse)
        elif isinstance(statement, ast.If | ast.While):
            self.context.append(self.words_of_literals(statement.test))
            self.visit_body(statement.body)
            self.context.pop()
            self.visit_body(statement.orelse)
        elif isinstance(statement, ast.With | ast.Try):
            self.visit_body(statement.body)
            for handler in getattr(statement, "handlers", ()):
                self.visit_body(handler.body)
            self.visit_body(getattr(statement, "orelse", ()))
            self.visit_body(getattr(statement, "finalbody", ()))
        elif isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
            call = statement.value
            if (
                isinstance(call.func, ast.Attribute)
                and call.func.attr in ("append", "extend", "add", "insert")
                and isinstance(call.func.value, ast.Name)
            ):
                name = call.func.value.id
                added = frozenset().union(*(self.phrase(a) for a in call.args))
                context = frozenset().union(*self.context) if self.context else frozenset()
                self.phrases[name] = self.phrases.get(name, frozenset()) | added | context


NEGATED = "~"
"""prefix of a phrase word the value was filtered against (``not verify_property(x, "red")``)"""


def _calls_with_negation(node: ast.AST, negated: bool = False):
    """Every module call in ``node`` with whether an odd number of ``not`` encloses it."""
    if _is_api_call(node):
        yield node, negated
    flip = isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)
    for child in ast.iter_child_nodes(node):
        yield from _calls_with_negation(child, negated != flip)


def _target_names(target: ast.expr) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, ast.Tuple | ast.List):
        return [n for element in target.elts for n in _target_names(element)]
    return []


NAME_FILLER = frozenset(
    """num n nr total count counts number has is are found patch patches list lst result
    results answer target first second obj objs all any""".split()
)
"""words of variable names that say how a value is held, not what it is about"""


def name_words(name: str, vocabulary: Vocabulary = DEFAULT_VOCABULARY) -> frozenset[str]:
    """Content words of a variable name (``num_red_circles`` -> {"red", "circle"})."""
    kept = [w for w in words(name.replace("_", " ")) if w not in NAME_FILLER]
    return vocabulary.content_words(" ".join(kept))
