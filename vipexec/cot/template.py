"""The template CoT converter: one deterministic step per traced block (SVIP step 4).

A step follows the method's form (checked by :func:`vipexec.cot.form.check_step_form`):

    In this step, we use an object detector to locate every circle in the region at
    (0, 0, 320, 240): it finds 4, at (19, 49, 47, 77), (156, 37, 184, 65), ... We go through
    each item of the circle patches (a list of 4 regions at ...).

- it begins "In this step, we use" and names what answers each call by the method table's
  CoT facet (:attr:`vipexec.modules.methods.ApiMethod.cot`), never the method's code name;
- it describes the values the trace recorded, image regions as bounding boxes
  ``(left, lower, right, upper)``, never a variable's name;
- it states every operation the code performs (:mod:`vipexec.cot.operations`), so a wrong
  operator, a lost negation or an off-by-one constant is visible;
- a failing step says "This step fails because ..."; a step that did not run says so.

The same block and trace always give the same text; values come only from trace summaries.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Mapping
from typing import Any, ClassVar

from vipexec.core.program import Block
from vipexec.core.run import BlockTrace, Run
from vipexec.cot.converter import StepContext
from vipexec.cot.form import OPENING, code_names, quotes
from vipexec.cot.operations import api_call_phrase, block_operations, own_statements
from vipexec.cot.values import describe_box, describe_boxes, describe_number, describe_value
from vipexec.modules.methods import METHODS, lookup

__all__ = ["TemplateConverter", "block_step", "describe_value", "known_values", "run_steps"]

MAX_CALLS = 4
"""calls with the same question spelled out one by one before they are summed up"""
MAX_VALUES = 4
"""values of one step described before the rest are counted"""


class TemplateConverter:
    """The deterministic converter (always available; used in tests).

    ``step.extra["values"]``, when given, maps the names earlier blocks bound to their trace
    summaries (see :func:`known_values`), so operands read with their values.
    """

    name: ClassVar[str] = "template"

    def convert(self, step: StepContext) -> str:
        return block_step(
            step.block, step.trace, result=step.result, known=step.extra.get("values")
        )


def run_steps(run: Run) -> list[str]:
    """One CoT step per block of ``run``, in block order."""
    answer_block = _answer_block(run)
    return [
        block_step(
            block,
            trace,
            result=run.result_summary if block.index == answer_block else None,
            known=known_values(run, block.index),
        )
        for block, trace in zip(run.program.blocks, run.blocks)
    ]


def known_values(run: Run, index: int) -> dict[str, Any]:
    """The values the blocks before block ``index`` bound, the latest binding of each name."""
    values: dict[str, Any] = {}
    for trace in run.blocks[:index]:
        values.update(trace.variables)
    return values


def block_step(
    block: Block,
    trace: BlockTrace | dict[str, Any],
    *,
    result: dict[str, Any] | None = None,
    known: Mapping[str, Any] | None = None,
) -> str:
    """The CoT text of one block from its trace (a BlockTrace or its dict form).

    ``result`` is the program's answer when this block produced it; ``known`` maps names
    earlier blocks bound to their values.
    """
    if isinstance(trace, dict):
        trace = BlockTrace.from_dict(trace)
    values = {**(known or {}), **trace.variables}
    ran = trace.status != "not_run" and trace.executions > 0
    parts = _call_sentences(trace.calls, trace.calls_dropped) if ran else []
    opening = parts.pop(0) if parts else f"{OPENING} {_resources(block)}."
    parts.insert(0, opening)
    if trace.executions > 1:
        parts.append(f"This step runs {trace.executions} times, once for each item.")
    parts.extend(op.sentence for op in block_operations(block, values if ran else known))
    if not ran:
        parts.append("This step is not executed: the program did not reach it.")
        return " ".join(parts)
    if trace.status == "error":
        parts.append(_failure(trace.error or {}, block))
        return " ".join(parts)
    shown = _values(block, trace.variables)
    if shown:
        parts.append(shown)
    if result is not None:
        parts.append(f"The final answer is {describe_value(result)}.")
    return " ".join(parts)


# --- what the step uses ------------------------------------------------------------------------


def _resources(block: Block) -> str:
    """What a step uses when it makes no module call: a local API method, a new region, or
    the results of earlier steps."""
    phrases = []
    for statement in own_statements(block):
        for node in _calls_in(statement):
            phrase = api_call_phrase(node)
            if phrase is None and _called_name(node) in ("ImagePatch", "VideoSegment"):
                phrase = "the given image as one region" if node.args else "a region"
            if phrase is not None and phrase not in phrases:
                phrases.append(phrase)
    if phrases:
        return _join(phrases)
    return "the results of the earlier steps" if block.reads else "plain values"


def _calls_in(statement: Any) -> list[Any]:
    return [n for n in ast.walk(statement) if isinstance(n, ast.Call)]


def _called_name(node: Any) -> str | None:
    func = node.func
    return getattr(func, "attr", None) or getattr(func, "id", None)


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" and {items[-1]}"


# --- calls -------------------------------------------------------------------------------------


def _call_sentences(calls: list[dict[str, Any]], dropped: int) -> list[str]:
    """One sentence per call, or per group of calls asking the same; the first one opens the
    step."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for call in calls:
        groups.setdefault(_call_phrase(call), []).append(call)
    sentences = [
        _one_call(phrase, items[0]) if len(items) == 1 else _many_calls(phrase, items)
        for phrase, items in groups.items()
    ]
    sentences = [
        f"{OPENING} {text}." if number == 0 else f"We also use {text}."
        for number, text in enumerate(sentences)
    ]
    if dropped:
        sentences.append(f"({dropped} more calls are not shown.)")
    return sentences


def _call_phrase(call: dict[str, Any]) -> str:
    entry = lookup(call.get("method"))
    args = {key: _plain(value) for key, value in (call.get("args") or {}).items()}
    if entry is None:
        return "a module of the API"
    return entry.cot.render({key: value for key, value in args.items() if value is not None})


def _plain(summary: Any) -> Any:
    if isinstance(summary, dict) and "value" in summary:
        return summary["value"]
    if isinstance(summary, dict) and summary.get("type") in ("list", "tuple"):
        items = [_plain(item) for item in summary.get("items", [])]
        return items if all(isinstance(i, str) for i in items) else None
    return None


def _one_call(phrase: str, call: dict[str, Any]) -> str:
    box = call.get("box")
    where = f" in the region at {describe_box(box)}" if box is not None else ""
    if call.get("error"):
        kind = str(call["error"]).split(":", 1)[0]
        return f"{phrase}{where}, but the call fails ({kind})"
    return f"{phrase}{where}: {_call_result(call)}"


def _call_result(call: dict[str, Any]) -> str:
    entry = lookup(call.get("method"))
    result = call.get("result") or {}
    value = result.get("value")
    kind = entry.result if entry is not None else None
    if kind == "patches":
        count = result.get("len", 0)
        if count == 0:
            return "it finds none"
        boxes = [[_plain(v) for v in item.get("items", [])] for item in result.get("items", [])]
        return f"it finds {count}, at {describe_boxes(boxes, count)}"
    if kind == "bool":
        return f"the answer is {_yes(value)}"
    if kind == "option":
        return f'it picks "{value}"'
    if kind == "index":
        return f"it picks region number {value + 1}" if isinstance(value, int) else "it picks one"
    if kind == "number":
        return f"the result is {describe_number(value)}"
    return f"the answer is {describe_value(result)}"


def _many_calls(phrase: str, calls: list[dict[str, Any]]) -> str:
    """Calls asking the same of several regions: each answer with its regions (or, past
    :data:`MAX_CALLS` regions, with how often it came)."""
    failed = sum(1 for c in calls if c.get("error"))
    tail = f"; {failed} of the calls fail" if failed else ""
    regions: dict[str, list[Any]] = {}
    for call in calls:
        if not call.get("error"):
            regions.setdefault(_call_result(call), []).append(call.get("box"))
    if len(calls) <= MAX_CALLS and all(b is not None for found in regions.values() for b in found):
        answers = "; ".join(
            f"{answer} at {describe_boxes(boxes, len(boxes))}" for answer, boxes in regions.items()
        )
    else:
        counted = Counter({answer: len(boxes) for answer, boxes in regions.items()})
        answers = "; ".join(
            f"{answer} {count} time{'s' if count > 1 else ''}"
            for answer, count in counted.most_common(3)
        )
    return f"{phrase} {len(calls)} times: {answers}{tail}"


def _yes(value: Any) -> str:
    return "yes" if value is True else "no" if value is False else str(value)


# --- values and failures -----------------------------------------------------------------------


def _values(block: Block, variables: dict[str, Any]) -> str:
    loop_items = _loop_targets(block)
    names = [n for n in block.writes if n in variables and n not in loop_items]
    if not names:
        return ""
    shown = [describe_value(variables[name]) for name in names[:MAX_VALUES]]
    more = len(names) - len(shown)
    tail = f" (and {more} more values)" if more > 0 else ""
    return f"This gives {_join(shown)}{tail}."


def _loop_targets(block: Block) -> set[str]:
    names: set[str] = set()
    for statement in own_statements(block):
        for node in ast.walk(statement):
            targets = []
            if isinstance(node, (ast.For, ast.comprehension)):
                targets.append(node.target)
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return names


_FAILURES = {
    "NameError": "it uses a value that was never defined",
    "UnboundLocalError": "it uses a value before it was defined",
    "AttributeError": "it asks a value for something that value does not have",
    "IndexError": "it takes an item past the end of a list",
    "KeyError": "it looks up a key that is not there",
    "ZeroDivisionError": "it divides by zero",
    "TypeError": "a value has the wrong type for what is done with it",
    "ValueError": "a value is not acceptable for what is done with it",
    "SyntaxError": "its code is not valid Python",
    "ArgumentTooLarge": "a question or list given to a model is too large",
    "TimeoutError": "it runs out of time",
}


def _failure(error: dict[str, Any], block: Block) -> str:
    kind = str(error.get("type") or "an error")
    reason = _FAILURES.get(kind, f"it raises {kind}")
    message = " ".join(str(error.get("message") or "").split())
    if message and not _quotes_code(message, block):
        return f'This step fails because {reason} ("{message}").'
    return f"This step fails because {reason}."


def _quotes_code(text: str, block: Block) -> bool:
    return any(quotes(text, name) for name in (*code_names(block), *METHODS))


def _answer_block(run: Run) -> int | None:
    if run.error is not None:
        return None
    ran = [b.index for b in run.blocks if b.status == "ok" and b.executions > 0]
    top = [i for i in ran if run.program.blocks[i].parent is None]
    return max(top) if top else None
