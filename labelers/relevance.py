"""Relevance: did the block compile and run?

- A program that does not compile (a syntax error, or a construct the policy refuses at
  compile time) makes every block negative.
- The block that raised (``error.block``; for a timeout, memory kill or crash: the block that
  was running) is negative, and so is every block enclosing it.
- A block that never ran and starts after the failure point (the error's line, else the failing
  block's first line) is negative: it could not run because of the failure.
- A block whose status is ``error`` is negative even if the program caught the exception.
- A block that ran without error is positive.
- A block that never ran in a program that did not fail (a branch not taken, an empty loop, a
  ``return`` earlier), or that was skipped before the failure point, gets ``None``: there is
  nothing to judge.
"""

from __future__ import annotations

from typing import Any, ClassVar

from vipexec.core.run import Run
from vipexec.labelers._blocks import ancestors
from vipexec.labelers.base import Label, LabelContext

__all__ = ["RelevanceLabeler"]

_RUNNING_KINDS = {"timeout": "timed out", "memory": "hit the memory limit", "crashed": "crashed"}


class RelevanceLabeler:
    """Labels blocks positive when they compiled and ran (see the module docstring)."""

    name: ClassVar[str] = "relevance"
    version: ClassVar[int] = 1

    def config(self) -> dict[str, Any]:
        return {}

    def label(self, run: Run, context: LabelContext | None = None) -> list[Label]:
        error = run.error
        blocks = run.program.blocks
        if error is not None and _did_not_compile(run):
            where = f" (line {error.line})" if error.line is not None else ""
            text = f"the program does not compile: {error.type}: {error.message}{where}"
            data = {"kind": error.kind, "line": error.line, "block": error.block}
            return [Label(False, text, data) for _ in run.blocks]
        culprit = error.block if error is not None else None
        if culprit is not None and not 0 <= culprit < len(run.blocks):
            culprit = None
        chain = set()
        if culprit is not None:
            chain = {culprit, *ancestors(blocks, culprit)}
        cutoff = _cutoff_line(run, culprit)
        labels = []
        for trace in run.blocks:
            labels.append(self._one(run, trace, culprit, chain, cutoff))
        return labels

    def _one(self, run: Run, trace: Any, culprit: int | None, chain: set, cutoff: int | None):
        error = run.error
        data: dict[str, Any] = {"status": trace.status, "executions": trace.executions}
        if trace.index in chain:
            data["failed_block"] = culprit
            data["kind"] = error.kind
            if trace.index == culprit:
                if error.kind in _RUNNING_KINDS:
                    text = f"the program {_RUNNING_KINDS[error.kind]} while this block ran"
                else:
                    text = f"raised {error.type}: {error.message}"
                if error.line is not None:
                    data["line"] = error.line
            else:
                text = f"encloses block {culprit}, which failed ({error.kind}: {error.type})"
            return Label(False, _short(text), data)
        if trace.status == "error":
            failure = trace.error or {}
            text = f"raised {failure.get('type', 'an exception')}: {failure.get('message', '')}"
            if error is None:
                text += " (the program caught it)"
            data["error"] = failure
            return Label(False, _short(text), data)
        if trace.status == "ok":
            times = "once" if trace.executions == 1 else f"{trace.executions} times"
            return Label(True, f"compiled and ran {times} without error", data)
        # not_run
        if error is not None and cutoff is not None and trace.lines[0] > cutoff:
            data["failed_block"] = culprit
            data["kind"] = error.kind
            where = f"block {culprit}" if culprit is not None else f"line {cutoff}"
            return Label(False, f"could not run: {where} failed first ({error.kind})", data)
        if error is None:
            return Label(None, "never ran on this input (control flow); nothing to judge", data)
        return Label(None, "was skipped before the failure; nothing to judge", data)


def _did_not_compile(run: Run) -> bool:
    error = run.error
    if error.kind == "compile":
        return True
    return error.kind == "policy" and all(b.executions == 0 for b in run.blocks)


def _cutoff_line(run: Run, culprit: int | None) -> int | None:
    """The program line after which unexecuted blocks count as blocked by the failure."""
    error = run.error
    if error is None:
        return None
    if error.line is not None:
        return error.line
    if culprit is not None:
        return run.blocks[culprit].lines[0]
    ran = [b.lines[1] for b in run.blocks if b.executions > 0]
    return max(ran) if ran else 0


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
