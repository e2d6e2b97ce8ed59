"""A step as code and values: what a row's ``meta.code_steps`` holds, one string per block.

The "without CoT conversion" ablation trains the reward model on the program itself instead of
the CoT text. Each step is the block's source followed by the values its trace recorded when
the block finished (``# name = value``, each value in the short words of
:func:`vipexec.cot.values.describe_value`), or the error it raised. Values are cut at
:data:`MAX_VALUE_CHARS` and the step at :data:`MAX_STEP_CHARS`, so a long list cannot swamp a
row.
"""

from __future__ import annotations

from vipexec.core.program import Block
from vipexec.core.run import BlockTrace, Run

__all__ = ["MAX_STEP_CHARS", "MAX_VALUE_CHARS", "code_step", "code_steps"]

MAX_VALUE_CHARS = 160
MAX_STEP_CHARS = 1200


def code_steps(run: Run) -> list[str]:
    """One code step per executed block of ``run`` (aligned with the row's completions)."""
    return [code_step(block, trace) for block, trace in zip(run.program.blocks, run.blocks)]


def code_step(block: Block, trace: BlockTrace) -> str:
    """``block``'s source, then what it left behind (see the module docstring)."""
    from vipexec.cot.values import describe_value

    lines = [block.source.rstrip("\n")]
    if trace.error is not None:
        error = trace.error
        lines.append(_cut(f"# error: {error.get('type', 'Error')}: {error.get('message', '')}"))
    elif trace.executions == 0:
        lines.append("# (not run)")
    for name in block.writes:
        if name in trace.variables:
            lines.append(_cut(f"# {name} = {describe_value(trace.variables[name])}"))
    text = "\n".join(lines)
    return text if len(text) <= MAX_STEP_CHARS else text[: MAX_STEP_CHARS - 1] + "…"


def _cut(line: str) -> str:
    line = " ".join(line.split())
    limit = MAX_VALUE_CHARS + 8
    return line if len(line) <= limit else line[: limit - 1] + "…"
