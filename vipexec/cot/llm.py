"""The MLLM CoT converter: a chat model writes each step from the block and its trace.

The model gets our instruction (``prompts/llm_step.txt``: begin "In this step, we use",
describe the values with image regions as boxes, name no variables, stay faithful to what the
code did, errors included), the question, the steps so far, the block's code, the calls it made
with their results, the values it produced and its error, and the query's images as image
content parts. Requests go through a :class:`ChatClient`, so every answer is cached by request
content. Temperature 0: the same block and trace give the same request, hence the same step.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from vipexec.core.errors import VipexecError
from vipexec.cot.converter import StepContext
from vipexec.modules.models.chat import ChatClient, ChatRequest, image_part

__all__ = ["OPENING", "ConversionFailed", "LLMStepConverter"]

OPENING = "In this step, we use"
MAX_FACTS_CHARS = 6000
"""the trace facts sent per step (calls and values beyond this are cut)"""


class ConversionFailed(VipexecError):
    """The model could not write the step: the request failed or the answer lacks the opening."""


class LLMStepConverter:
    """Implements :class:`vipexec.cot.converter.StepConverter` over a chat model."""

    def __init__(
        self,
        client: ChatClient,
        *,
        send_images: bool = True,
        max_tokens: int = 256,
        prompt: str | Path | None = None,
    ) -> None:
        self.client = client
        self.send_images = send_images
        self.max_tokens = max_tokens
        self.name = f"llm:{client.model}"
        if prompt is None:
            prompt_file = resources.files("vipexec.cot") / "prompts" / "llm_step.txt"
            self.instruction = prompt_file.read_text(encoding="utf-8")
        else:
            self.instruction = Path(prompt).read_text(encoding="utf-8")

    def convert(self, step: StepContext) -> str:
        request = ChatRequest(self.messages(step), max_tokens=self.max_tokens, temperature=0.0)
        try:
            texts = self.client.complete(request).texts
        except Exception as exc:
            raise ConversionFailed(f"{self.name}: the request failed: {exc}") from None
        text = " ".join(texts[0].split())
        start = text.find(OPENING)
        if start < 0:
            raise ConversionFailed(
                f"{self.name}: the answer does not begin {OPENING!r}: {text[:80]}"
            )
        return text[start:]

    def messages(self, step: StepContext) -> tuple[dict[str, Any], ...]:
        """The chat messages for one step (the images as content parts when sent)."""
        previous = "\n".join(f"{i}. {text}" for i, text in enumerate(step.previous, 1))
        facts = json.dumps(_facts(step), ensure_ascii=False, default=str)
        if len(facts) > MAX_FACTS_CHARS:
            facts = facts[:MAX_FACTS_CHARS] + " ... (cut)"
        text = (
            f"Question: {step.query}\n\n"
            f"Thought steps so far:\n{previous or '(none: this is the first step)'}\n\n"
            f"Code of this step:\n```python\n{step.block.source}\n```\n\n"
            f"What happened when it ran (JSON):\n{facts}\n\n"
            "Write the thought step for this code."
        )
        content: Any = text
        if self.send_images and step.images:
            content = [{"type": "text", "text": text}, *map(image_part, step.images)]
        system = {"role": "system", "content": self.instruction}
        return (system, {"role": "user", "content": content})


def _facts(step: StepContext) -> dict[str, Any]:
    """The trace as compact plain data: regions as boxes, values without type wrappers."""
    trace = step.trace
    facts: dict[str, Any] = {"status": trace.status}
    if trace.executions > 1:
        facts["executions"] = trace.executions
    calls = []
    for call in trace.calls:
        record: dict[str, Any] = {"method": call.get("method")}
        if call.get("box") is not None:
            record["on region"] = call["box"]
        record["args"] = {k: plain(v) for k, v in (call.get("args") or {}).items()}
        if call.get("error"):
            record["error"] = call["error"]
        else:
            record["result"] = plain(call.get("result"))
        calls.append(record)
    if calls:
        facts["calls"] = calls
    if trace.calls_dropped:
        facts["calls not shown"] = trace.calls_dropped
    if trace.variables:
        facts["values"] = {name: plain(value) for name, value in trace.variables.items()}
    if trace.error is not None:
        facts["error"] = {k: trace.error.get(k) for k in ("type", "message") if k in trace.error}
    if step.result is not None:
        facts["answer"] = plain(step.result)
    return facts


def plain(summary: Any) -> Any:
    """A value summary (see docs/trace-format.md) as the plain value it stands for."""
    if not isinstance(summary, dict):
        return summary
    if "value" in summary:
        return summary["value"]
    kind = summary.get("type")
    if kind in ("list", "tuple"):
        items = [plain(item) for item in summary.get("items", [])]
        if summary.get("len", len(items)) > len(items):
            items.append(f"... {summary['len']} in all")
        return items
    if "box" in summary:
        return {"region": summary["box"]} if kind == "ImagePatch" else {kind: summary["box"]}
    if kind == "str":
        return summary.get("head", "") + "..."
    return summary.get("repr", f"a {kind}")
