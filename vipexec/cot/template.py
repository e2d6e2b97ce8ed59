"""Chain-of-thought steps from traced blocks (SVIP step 4).

Each block of a run becomes one natural-language step, built from deterministic templates per
API method and construct, with the values the trace recorded:

    In this step, we find the circles. We use find to locate circle: 3 found.
    We get circle_patches = a list of 3 patches.

The same block and trace always give the same text. Values come only from trace summaries
(plain data), so a step never shows more than the trace holds.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from vipexec.core.program import Block
from vipexec.core.run import BlockTrace, Run

__all__ = ["block_step", "describe_value", "run_steps"]

MAX_CALLS = 4
"""calls of one method spelled out before the rest are aggregated"""
MAX_VARIABLES = 4


def run_steps(run: Run) -> list[str]:
    """One CoT step per block of ``run``, in block order."""
    answer_block = _answer_block(run)
    return [
        block_step(block, trace, result=run.result_summary if block.index == answer_block else None)
        for block, trace in zip(run.program.blocks, run.blocks)
    ]


def block_step(
    block: Block, trace: BlockTrace | dict[str, Any], *, result: dict[str, Any] | None = None
) -> str:
    """The CoT text of one block from its trace (a BlockTrace or its dict form)."""
    if isinstance(trace, dict):
        trace = BlockTrace.from_dict(trace)
    parts = [_opening(block)]
    if trace.status == "not_run":
        parts.append("This step is not executed.")
        return " ".join(parts)
    if trace.executions > 1:
        parts.append(f"It runs {trace.executions} times, once per item.")
    parts.extend(_calls(trace.calls, trace.calls_dropped))
    if trace.status == "error":
        failure = trace.error or {}
        kind = failure.get("type", "an error")
        message = failure.get("message", "")
        parts.append(f"This step fails with {kind}" + (f": {message}." if message else "."))
        return " ".join(parts)
    values = _variables(trace.variables, block.writes)
    if values:
        parts.append(values)
    if result is not None:
        parts.append(f"The answer is {describe_value(result)}.")
    return " ".join(parts)


def _opening(block: Block) -> str:
    description = " ".join(block.description.split()).rstrip(".")
    if description:
        if not description[0].islower() or description.split()[0].lower() in ("we", "i"):
            return f"In this step: {description}."
        return f"In this step, we {description}."
    first = next((line.strip() for line in block.source.splitlines() if line.strip()), "")
    if first.startswith("#"):
        first = ""
    return f"In this step, we run `{first}`." if first else "In this step, we continue."


# --- calls --------------------------------------------------------------------------------------


def _calls(calls: list[dict[str, Any]], dropped: int) -> list[str]:
    if not calls:
        return []
    groups: dict[str, list[dict[str, Any]]] = {}
    for call in calls:
        groups.setdefault(call.get("method", "?"), []).append(call)
    sentences = []
    for method, items in groups.items():
        if len(items) <= MAX_CALLS:
            sentences.extend(_call_sentence(call) for call in items)
        else:
            sentences.append(_aggregate(method, items))
    if dropped:
        sentences.append(f"({dropped} more calls are not shown.)")
    return sentences


def _arg(call: dict[str, Any], name: str, default: str = "") -> str:
    value = (call.get("args") or {}).get(name)
    if isinstance(value, dict) and "value" in value:
        return str(value["value"])
    if isinstance(value, dict) and value.get("type") in ("list", "tuple"):
        return ", ".join(str(describe_value(item)) for item in value.get("items", []))
    return default


def _call_sentence(call: dict[str, Any]) -> str:
    method = call.get("method", "?")
    result = call.get("result") or {}
    if call.get("error"):
        return f"We use {method}, which fails ({call['error']})."
    value = result.get("value")
    if method == "find":
        name = _arg(call, "object_name", "objects")
        count = result.get("len", 0)
        boxes = [describe_value(item) for item in result.get("items", [])[:2]]
        where = f" at {' and '.join(boxes)}" if boxes and count <= 2 else ""
        return f"We use find to locate {name}: {count} found{where}."
    if method == "exists":
        return f"We use exists to check for {_arg(call, 'object_name')}: {_yes(value)}."
    if method == "verify_property":
        name, attribute = _arg(call, "object_name"), _arg(call, "attribute")
        return f"We use verify_property to check whether the {name} is {attribute}: {_yes(value)}."
    if method == "simple_query":
        return f'We ask "{_arg(call, "question")}": the answer is "{value}".'
    if method == "best_text_match":
        return f"We use best_text_match to choose among {_arg(call, 'options')}: {value}."
    if method == "compute_depth":
        return f"We use compute_depth: the depth is {_number(value)}."
    if method == "llm_query":
        return f'We ask the language model "{_arg(call, "question")}": "{value}".'
    if method == "best_image_match":
        return f"We use best_image_match for {_arg(call, 'content')}: patch {value}."
    if method == "select_answer":
        return f"We use select_answer among {_arg(call, 'options')}: {value}."
    return f"We use {method}: {describe_value(result)}."


def _aggregate(method: str, calls: list[dict[str, Any]]) -> str:
    values = [(c.get("result") or {}).get("value") for c in calls if not c.get("error")]
    failed = sum(1 for c in calls if c.get("error"))
    tail = f", {failed} failed" if failed else ""
    if method in ("verify_property", "exists"):
        counts = Counter(_yes(v) for v in values)
        subject = _arg(calls[0], "attribute") or _arg(calls[0], "object_name")
        return (
            f"We use {method} {len(calls)} times ({subject}): yes {counts['yes']} times, "
            f"no {counts['no']} times{tail}."
        )
    if method == "find":
        total = sum((c.get("result") or {}).get("len", 0) for c in calls)
        return f"We use find {len(calls)} times: {total} objects found in all{tail}."
    answers = Counter(str(v) for v in values)
    common = ", ".join(f'"{a}" {n}x' for a, n in answers.most_common(3))
    return f"We use {method} {len(calls)} times: {common}{tail}."


def _yes(value: Any) -> str:
    return "yes" if value is True else "no" if value is False else str(value)


def _number(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


# --- values -------------------------------------------------------------------------------------


def _variables(variables: dict[str, Any], writes: tuple[str, ...]) -> str:
    names = [n for n in writes if n in variables] or list(variables)
    shown = [f"{name} = {describe_value(variables[name])}" for name in names[:MAX_VARIABLES]]
    if not shown:
        return ""
    more = f" (and {len(names) - MAX_VARIABLES} more)" if len(names) > MAX_VARIABLES else ""
    return f"We get {', '.join(shown)}{more}."


def describe_value(summary: Any) -> str:
    """A short English rendering of a value summary."""
    if not isinstance(summary, dict):
        return repr(summary)
    kind = summary.get("type")
    if "value" in summary:
        value = summary["value"]
        if isinstance(value, str):
            return f'"{value}"'
        if isinstance(value, float):
            return _number(value)
        return str(value)
    if kind == "ImagePatch":
        return f"a patch at {summary.get('box')}"
    if kind in ("list", "tuple"):
        count = summary.get("len", 0)
        items = summary.get("items", [])
        if count == 0:
            return "an empty list"
        if items and all(i.get("type") == "ImagePatch" for i in items):
            noun = "patch" if count == 1 else "patches"
            return f"a list of {count} {noun}"
        if count == 4 and all("value" in i for i in items):
            return "[" + ", ".join(str(i["value"]) for i in items) + "]"
        shown = ", ".join(describe_value(i) for i in items[:3])
        more = ", ..." if count > 3 else ""
        return f"a list of {count} ({shown}{more})"
    if kind == "dict":
        return f"a dict of {summary.get('len', 0)} entries"
    if kind == "str":
        return (
            f'a text of {summary.get("len")} characters starting "{summary.get("head", "")[:40]}"'
        )
    if "repr" in summary:
        return str(summary["repr"])
    if "box" in summary:
        return f"a {kind} at {summary['box']}"
    return f"a {kind}"


def _answer_block(run: Run) -> int | None:
    if run.error is not None:
        return None
    ran = [b.index for b in run.blocks if b.status == "ok" and b.executions > 0]
    top = [i for i in ran if run.program.blocks[i].parent is None]
    return max(top) if top else None
