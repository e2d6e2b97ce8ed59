"""Unit tests for a program's logical glue, on hypothesis-generated inputs.

A *glue* block combines earlier values without asking a model: ``and/or/not``, comparisons,
``len`` and arithmetic, ``bool_to_yesno``. Each one is checked against the operation the query
states (:mod:`.query`):

1. every variable the block reads is mapped to a node of the query's tree: by its *meaning*
   when an earlier glue block produced it, else by its phrase (what it holds, from
   :mod:`.analysis`); a variable whose phrase differs from the node's while another variable
   holds exactly that node is a *wrong choice*, and keeps its own phrase's value;
2. the block's *target* is the node it computes: the query's root for the block that produces
   the answer; the lowest binary node (``and/or/compare/relation``) above its inputs when it
   combines two of them; else the lowest node above its input whose type is the block's output;
3. hypothesis draws small worlds (a count for every phrase, consistent with phrase inclusion:
   never more "red circles" than "circles"; a box for every "the" object), gives the block the
   inputs each world implies, re-executes it in the sandbox and evaluates the target node
   independently on the same world. Any difference is shrunk to the smallest counterexample.

A block passes when no counterexample turns up in ``max_examples`` worlds.
"""

from __future__ import annotations

import ast
import copy
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from vipexec.core.program import Program
from vipexec.core.run import Run
from vipexec.labelers.logic.analysis import (
    BlockFacts,
    ProgramFacts,
    dependencies,
    is_binary_combination,
    name_words,
)
from vipexec.labelers.logic.checks import Check
from vipexec.labelers.logic.query import BINARY, Node, QuerySpec
from vipexec.labelers.logic.vocabulary import DEFAULT_VOCABULARY

NAME = "glue"
MAX_COUNT = 4


@dataclass(frozen=True)
class _Input:
    name: str
    node: Node
    """where the value sits in the query's tree"""
    kind: str
    """the value's type in the trace: list, int, bool, answer, patch"""
    phrase: frozenset[str] | None = None
    """a wrong choice: the value comes from this phrase, not from ``node``"""


def check_glue_blocks(
    run: Run,
    facts: ProgramFacts,
    spec: QuerySpec,
    *,
    max_examples: int,
    seed: int,
    answer_block: int | None,
) -> list[Check]:
    """One check per top-level glue block of ``run`` (skips say why a block was not tested)."""
    checks: list[Check] = []
    if spec.tree is None:
        return checks
    meanings: dict[str, Node] = {}
    program = run.program
    for item in facts.blocks:
        block = program.blocks[item.index]
        if not item.glue or block.parent is not None:
            continue
        if run.blocks[item.index].status != "ok":
            continue
        check, produced = _check_block(
            run, facts, spec, item, meanings, answer_block, max_examples, seed
        )
        checks.append(check)
        meanings.update(produced)
    return checks


@dataclass(frozen=True)
class _Output:
    name: str | None
    expr: ast.expr
    inputs: tuple[_Input, ...]
    target: Node


def _check_block(
    run: Run,
    facts: ProgramFacts,
    spec: QuerySpec,
    item: BlockFacts,
    meanings: dict[str, Node],
    answer_block: int | None,
    max_examples: int,
    seed: int,
) -> tuple[Check, dict[str, Node]]:
    outputs: list[_Output] = []
    for name, expr in item.outputs:
        deps = dependencies(item, expr)
        reads = [n for n in item.reads if n in deps]
        if not reads:
            if name is None:
                return _skip(item, "the block's output reads no earlier value"), {}
            continue
        inputs = []
        for read in reads:
            mapped = _map_input(read, run, facts, spec, meanings, item.index)
            if mapped is None:
                return _skip(item, f"cannot relate {read!r} to the query"), {}
            inputs.append(mapped)
        target = _target(spec, item, name, expr, deps, inputs, run, answer_block)
        if target is None:
            what = f"{name!r}" if name else "the result"
            return _skip(item, f"no operation of the query matches {what}"), {}
        target, inputs = _named_target(spec, name, target, inputs)
        outputs.append(_Output(name, expr, tuple(inputs), target))
    if not outputs:
        return _skip(item, "the block's outputs read no earlier value"), {}
    produced = {o.name: o.target for o in outputs if o.name is not None}
    inputs = list({i.name: i for o in outputs for i in o.inputs}.values())
    data: dict[str, Any] = {
        "targets": {o.name or "result": o.target.describe() for o in outputs},
        "inputs": {i.name: _describe_input(i) for i in inputs},
        "examples": max_examples,
    }
    try:
        runner = _BlockRunner(item, [i.name for i in inputs], [o.name for o in outputs])
    except Exception as exc:  # the wrapper does not compile: nothing to test
        return _skip(item, f"cannot re-execute the block ({exc})"), produced
    found = _search(runner, spec, outputs, inputs, max_examples, seed)
    described = " and ".join(o.target.describe() for o in outputs)
    if found is None:
        message = f"agrees with {described} on {max_examples} generated inputs"
        return Check(NAME, item.index, "pass", message, data), produced
    world, output, got, expected = found
    shown_inputs = {i.name: _show(world.value_for(i)) for i in inputs}
    data["counterexample"] = {
        "world": world.describe(),
        "inputs": shown_inputs,
        "output": output.name or "result",
        "block": _show(got),
        "expected": _show(expected),
    }
    shown = ", ".join(f"{k}={v}" for k, v in shown_inputs.items())
    what = output.name or "the block"
    message = (
        f"with {shown}, {what} is {_show(got)} but {output.target.describe()} is {_show(expected)}"
    )
    return Check(NAME, item.index, "fail", message, data), produced


def _skip(item: BlockFacts, why: str) -> Check:
    return Check(NAME, item.index, "skip", why)


def _describe_input(value: _Input) -> str:
    text = value.node.describe()
    if value.phrase is not None:
        text += f" (wrong choice? holds {' '.join(sorted(value.phrase))})"
    return text


# --- mapping ------------------------------------------------------------------------------------


def _kind_of(run: Run, name: str, before: int) -> str | None:
    """The type of ``name`` as recorded by the last block before ``before`` that bound it."""
    kind = None
    for trace in run.blocks[:before]:
        summary = trace.variables.get(name)
        if summary is None:
            continue
        kind = _summary_kind(summary)
    return kind


def _summary_kind(summary: dict[str, Any]) -> str | None:
    kind = summary.get("type")
    if kind in ("list", "tuple"):
        return "list"
    if kind == "bool":
        return "bool"
    if kind in ("int", "float"):
        return "int"
    if kind == "ImagePatch" or "box" in summary:
        return "patch"
    if kind == "str" and summary.get("value") in ("yes", "no"):
        return "answer"
    return None


def _lift(spec: QuerySpec, node: Node, kind: str) -> Node:
    """The node of ``kind``'s type at or above ``node`` (an int read from a list leaf is its
    count)."""
    wanted = {"list": "list", "int": "int", "bool": "bool", "patch": "patch", "answer": "answer"}
    for candidate in spec.ancestors_or_self(node):
        if candidate.type == wanted.get(kind):
            return candidate
    return node


def _map_input(
    name: str, run: Run, facts: ProgramFacts, spec: QuerySpec, meanings: dict, before: int
) -> _Input | None:
    kind = _kind_of(run, name, before)
    if kind is None:
        return None
    if name in meanings:
        return _Input(name, meanings[name], kind)
    phrase = facts.phrases.get(name) or name_words(name)
    leaves = spec.leaves()
    intended = name_words(name)
    named = [leaf for leaf in leaves if intended and leaf.phrase == intended]
    if named and DEFAULT_VOCABULARY.contradicts(intended, phrase):
        # ``small_objects = find("large object")``: the block that bound it asked for the
        # wrong thing (the coverage check says so); here it stands for what its name says
        return _Input(name, _lift(spec, named[0], kind), kind)
    if not phrase:
        return None
    exact = [leaf for leaf in leaves if leaf.phrase == phrase]
    if exact:
        return _Input(name, _lift(spec, exact[0], kind), kind)
    scored = [
        (len(phrase & leaf.phrase), -len(leaf.phrase ^ phrase), i) for i, leaf in enumerate(leaves)
    ]
    scored = [s for s in scored if s[0] > 0]
    if not scored:
        if len({leaf.phrase for leaf in leaves}) != 1:
            return None
        # The query names one kind of object: whatever the variable holds, it stands for it
        # (a wrong word upstream is the upstream block's fault).
        return _Input(name, _lift(spec, leaves[0], kind), kind)
    best = leaves[max(scored)[2]]
    node = _lift(spec, best, kind)
    alternatives = [
        other
        for other, writer in facts.first_writer.items()
        if other != name
        and writer < before
        and (facts.phrases.get(other) or name_words(other)) == best.phrase
        and _kind_of(run, other, before) is not None
    ]
    if alternatives:
        return _Input(name, node, kind, phrase)
    return _Input(name, node, kind)


def _target(
    spec: QuerySpec,
    item: BlockFacts,
    name: str | None,
    expr: ast.expr,
    deps: set[str],
    inputs: list[_Input],
    run: Run,
    answer_block: int | None,
) -> Node | None:
    if name is None and item.returns and (item.index == answer_block or item.tail):
        return spec.tree  # what the block returns is the program's answer
    nodes = [i.node for i in inputs]
    common = _lowest_common(spec, nodes)
    if common is None:
        return None
    output_kind = _output_kind(run, item, name)
    if output_kind is None:
        return None
    names = {i.name for i in inputs}
    if _binary(item, expr, deps, names):
        for node in spec.ancestors_or_self(common):
            if node.kind in BINARY:
                return node
    candidates = spec.ancestors_or_self(common)
    if len({id(node) for node in nodes}) == 1:
        candidates = candidates[1:]  # one input: the block must compute something above it
    for node in candidates:
        if node.type == output_kind:
            return node
    return None


def _named_target(
    spec: QuerySpec, name: str | None, target: Node, inputs: list[_Input]
) -> tuple[Node, list[_Input]]:
    """When the output's name says which object it is about (``num_blue``) and the target the
    inputs lead to is about another object, the block computed the wrong thing: the target
    becomes the named object's node of the same kind, and the inputs keep their own values."""
    if name is None:
        return target, inputs
    words = name_words(name)
    named = [leaf for leaf in spec.leaves() if words and leaf.phrase == words]
    if not named or any(leaf is n for n in target.walk() for leaf in named):
        return target, inputs
    for candidate in spec.ancestors_or_self(named[0]):
        if candidate.kind == target.kind and candidate.type == target.type:
            moved = [
                _Input(i.name, i.node, i.kind, i.phrase or _leaf_phrase(i.node)) for i in inputs
            ]
            return candidate, moved
    return target, inputs


def _leaf_phrase(node: Node) -> frozenset[str]:
    leaves = [n for n in node.walk() if n.kind in ("objects", "the")]
    return leaves[0].phrase if leaves else frozenset()


def _binary(item: BlockFacts, expr: ast.expr, deps: set[str], names: set[str]) -> bool:
    """Whether the output combines two input-dependent values on its way."""
    if is_binary_combination(expr, names):
        return True
    for statement in item.statements:
        for node in ast.walk(statement):
            if (
                isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id in deps for t in node.targets)
                and is_binary_combination(node.value, names)
            ):
                return True
            if isinstance(node, ast.If) and is_binary_combination(node.test, names):
                return True
    return False


def _output_kind(run: Run, item: BlockFacts, name: str | None) -> str | None:
    trace = run.blocks[item.index]
    if name is not None:
        summary = trace.variables.get(name)
        return _summary_kind(summary) if summary else None
    return _summary_kind(run.result_summary or {})


def _lowest_common(spec: QuerySpec, nodes: list[Node]) -> Node | None:
    if not nodes:
        return None
    paths = [spec.ancestors_or_self(node) for node in nodes]
    for candidate in paths[0]:
        if all(any(candidate is other for other in path) for path in paths[1:]):
            return candidate
    return None


# --- worlds -------------------------------------------------------------------------------------


class World:
    """Counts per phrase and a box per "the" object, drawn by hypothesis."""

    def __init__(self, counts: dict[frozenset[str], int], boxes: dict[frozenset[str], tuple]):
        self.counts = counts
        self.boxes = boxes
        self.patch_class: Any = None
        self.image: Any = None

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {" ".join(sorted(p)) or "-": n for p, n in self.counts.items()}
        for phrase, box in self.boxes.items():
            out[f"the {' '.join(sorted(phrase))} at"] = list(box)
        return out

    def patch(self, box: tuple) -> Any:
        return self.patch_class(self.image, *box)

    def objects(self, phrase: frozenset[str]) -> list[Any]:
        count = self.counts.get(phrase, 0)
        first = self.boxes.get(phrase)
        out = []
        for k in range(count):
            box = first if (k == 0 and first is not None) else (10 * k, 5, 10 * k + 8, 13)
            out.append(self.patch(box))
        return out

    def evaluate(self, node: Node) -> Any:
        kind = node.kind
        if kind == "objects":
            return self.objects(node.phrase)
        if kind == "the":
            return self.patch(self.boxes.get(node.phrase, (0, 0, 8, 8)))
        if kind == "count":
            return len(self.evaluate(node.children[0]))
        if kind == "const":
            return node.value
        if kind == "exists":
            return len(self.evaluate(node.children[0])) > 0
        if kind == "not":
            return not self.evaluate(node.children[0])
        if kind == "and":
            return all(self.evaluate(c) for c in node.children)
        if kind == "or":
            return any(self.evaluate(c) for c in node.children)
        if kind == "compare":
            a, b = (self.evaluate(c) for c in node.children)
            return _compare(node.op, a, b)
        if kind == "relation":
            a, b = (self.evaluate(c) for c in node.children)
            return _relation(node.op, a, b)
        if kind == "yesno":
            return bool(self.evaluate(node.children[0]))
        raise ValueError(f"unknown node kind {kind!r}")  # pragma: no cover

    def value_for(self, item: _Input) -> Any:
        if item.phrase is not None:
            base: Any = (
                self.patch(self.boxes.get(item.phrase, (0, 0, 8, 8)))
                if item.kind == "patch"
                else self.objects(item.phrase)
            )
        else:
            base = self.evaluate(item.node)
        return _convert(base, item.kind)


def _convert(value: Any, kind: str) -> Any:
    if kind == "list" and hasattr(value, "horizontal_center"):
        return [value]  # "the X" held as find()'s list
    if isinstance(value, list):
        if kind == "int":
            return len(value)
        if kind == "bool":
            return len(value) > 0
        if kind == "answer":
            return "yes" if value else "no"
        if kind == "patch":
            return value[0] if value else None
        return value
    if kind == "answer" and isinstance(value, bool):
        return "yes" if value else "no"
    if kind == "bool" and isinstance(value, int):
        return bool(value)
    return value


def _compare(op: str, a: Any, b: Any) -> bool:
    return {
        ">": a > b,
        "<": a < b,
        ">=": a >= b,
        "<=": a <= b,
        "==": a == b,
        "!=": a != b,
    }[op]


def _relation(op: str, a: Any, b: Any) -> bool:
    if op == "left":
        return a.horizontal_center < b.horizontal_center
    if op == "right":
        return a.horizontal_center > b.horizontal_center
    if op == "above":
        return a.vertical_center > b.vertical_center
    return a.vertical_center < b.vertical_center


def _phrases(spec: QuerySpec, inputs: list[_Input]) -> tuple[list[frozenset], set[frozenset]]:
    phrases = {leaf.phrase for leaf in spec.leaves()}
    the = {leaf.phrase for leaf in spec.leaves() if leaf.kind == "the"}
    for item in inputs:
        if item.phrase is not None:
            phrases.add(item.phrase)
            if item.kind == "patch" or item.node.kind == "the":
                the.add(item.phrase)
    return sorted(phrases, key=lambda p: (len(p), sorted(p))), the


def _worlds(spec: QuerySpec, inputs: list[_Input], targets: list[Node]):
    from hypothesis import strategies as st

    phrases, the = _phrases(spec, inputs)
    constants = [n.value for t in targets for n in t.walk() if n.kind == "const"]
    top = max([MAX_COUNT, *(c + 2 for c in constants)])

    @st.composite
    def worlds(draw: Any) -> World:
        counts = {}
        for phrase in phrases:
            low = 1 if phrase in the else 0
            counts[phrase] = draw(st.integers(min_value=low, max_value=top))
        for general in phrases:  # never more specific objects than general ones
            for specific in phrases:
                if general < specific and general not in the and specific not in the:
                    counts[specific] = min(counts[specific], counts[general])
        boxes = {}
        for phrase in sorted(the, key=sorted):
            x = draw(st.integers(min_value=0, max_value=300))
            y = draw(st.integers(min_value=0, max_value=220))
            boxes[phrase] = (x, y, x + 20, y + 20)
        return World(counts, boxes)

    return worlds()


# --- running ------------------------------------------------------------------------------------


class _BlockRunner:
    """The block as a function of the variables it reads, compiled once, run sandboxed; it
    returns the list of the block's outputs."""

    def __init__(self, item: BlockFacts, params: list[str], outputs: list[str | None]) -> None:
        from vipexec.modules.api import build_api
        from vipexec.modules.refs import ImageRef

        statements = [copy.deepcopy(s) for s in (*item.statements, *item.tail)]
        statements = [_strip_print(s) if item.returns else _drop_print(s) for s in statements]
        if item.returns:
            for node in statements:
                for sub in ast.walk(node):
                    if isinstance(sub, ast.Return) and sub.value is not None:
                        sub.value = ast.List(elts=[sub.value], ctx=ast.Load())
        else:
            names = [ast.Name(id=name, ctx=ast.Load()) for name in outputs]
            statements.append(ast.Return(value=ast.List(elts=names, ctx=ast.Load())))
        function = ast.FunctionDef(
            name="glue_block",
            args=ast.arguments(
                posonlyargs=[],
                args=[ast.arg(arg=p) for p in params],
                kwonlyargs=[],
                kw_defaults=[],
                defaults=[],
            ),
            body=statements,
            decorator_list=[],
            returns=None,
            type_params=[],
        )
        module = ast.fix_missing_locations(ast.Module(body=[function], type_ignores=[]))
        source = ast.unparse(module) + "\n"
        self.source = source
        self.program = Program.from_source(source, name="glue_block.py", entry="glue_block")
        self.program.compile(sandbox=True)
        self.params = params
        self.namespace = build_api(_NoCalls())
        self.image = ImageRef("glue", 320, 240)

    def __call__(self, values: dict[str, Any]) -> tuple[bool, Any]:
        run = self.program.run_in_process(namespace=self.namespace, inputs=values, policy=True)
        if run.error is not None:
            return False, f"{run.error.type}: {run.error.message}"
        return True, run.result


def _strip_print(statement: ast.stmt) -> ast.stmt:
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
        call = statement.value
        if isinstance(call.func, ast.Name) and call.func.id == "print" and len(call.args) == 1:
            return ast.Return(value=call.args[0])
    return statement


def _drop_print(statement: ast.stmt) -> ast.stmt:
    """A progress print of a step that hands its values on by name does nothing here."""
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
        call = statement.value
        if isinstance(call.func, ast.Name) and call.func.id == "print":
            return ast.Pass()
    return statement


class _NoCalls:
    def call(self, method: str, image: Any, box: Any, args: dict) -> Any:
        raise RuntimeError("a glue block made a module call")


def _normalize(value: Any, kind: str) -> Any:
    if kind in ("answer", "bool"):
        if isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in ("yes", "no"):
                return lowered == "yes"
            return ("invalid", value)
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            return bool(value)
        return ("invalid", value)
    if kind == "int":
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, (int, float)):
            return value
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        return ("invalid", value)
    return value


SEARCHES_REMEMBERED = 1024
"""searches a process remembers: the programs of one query (a correct one, the same on another
backend, variants with one changed block) share most glue blocks, and a search is a pure
function of its key (the block's code, the query, targets, inputs, examples and seed: hypothesis
runs derandomized from the seed), so a repeat is answered from memory"""
_searches: OrderedDict[tuple, tuple[World, _Output, Any, Any] | None] = OrderedDict()
_searches_lock = threading.Lock()


def _search(
    runner: _BlockRunner,
    spec: QuerySpec,
    outputs: list[_Output],
    inputs: list[_Input],
    max_examples: int,
    seed: int,
) -> tuple[World, _Output, Any, Any] | None:
    key = (
        runner.source,
        spec,
        tuple((o.name, o.target, o.inputs) for o in outputs),
        tuple(inputs),
        max_examples,
        seed,
    )
    with _searches_lock:
        if key in _searches:
            _searches.move_to_end(key)
            return _searches[key]
    found = _fresh_search(runner, spec, outputs, inputs, max_examples, seed)
    with _searches_lock:
        _searches[key] = found
        if len(_searches) > SEARCHES_REMEMBERED:
            _searches.popitem(last=False)
    return found


def _fresh_search(
    runner: _BlockRunner,
    spec: QuerySpec,
    outputs: list[_Output],
    inputs: list[_Input],
    max_examples: int,
    seed: int,
) -> tuple[World, _Output, Any, Any] | None:
    from hypothesis import HealthCheck, Phase, find, settings
    from hypothesis.errors import NoSuchExample

    def prepare(world: World) -> World:
        world.patch_class = runner.namespace["ImagePatch"]
        world.image = runner.image
        return world

    def first_difference(world: World) -> tuple[_Output, Any, Any] | None:
        prepare(world)
        values = {i.name: world.value_for(i) for i in inputs}
        ok, got = runner(values)
        for position, output in enumerate(outputs):
            expected = world.evaluate(output.target)
            if not ok:
                return output, got, expected
            value = got[position] if isinstance(got, list) and position < len(got) else None
            kind = output.target.type
            if _normalize(value, kind) != _normalize(expected, kind):
                return output, value, expected
        return None

    config = settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    strategy = _worlds(spec, inputs, [o.target for o in outputs])
    try:
        world = find(
            strategy,
            lambda w: first_difference(w) is not None,
            settings=config,
            random=_random(seed),
        )
    except NoSuchExample:
        return None
    output, got, expected = first_difference(world)
    return world, output, got, expected


def _random(seed: int) -> Any:
    import random

    return random.Random(seed)


def _show(value: Any) -> Any:
    if isinstance(value, list):
        return f"[{len(value)} patch{'es' if len(value) != 1 else ''}]" if value else "[]"
    if hasattr(value, "horizontal_center"):
        return f"patch at x={value.horizontal_center:g}, y={value.vertical_center:g}"
    return value
