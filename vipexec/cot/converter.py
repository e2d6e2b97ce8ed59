"""The interface every CoT converter implements (SVIP step 4: a traced block becomes one step).

A converter turns one executed block, with the values its trace recorded, into one
natural-language step. Two implementations share this interface: a deterministic template
converter (always available, used in tests) and an MLLM converter that asks a chat model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from vipexec.core.program import Block
from vipexec.core.run import BlockTrace


@dataclass(frozen=True)
class StepContext:
    """Everything a converter may use to describe one block."""

    query: str
    block: Block
    trace: BlockTrace
    images: tuple[str, ...] = ()
    """paths of the query's images (an MLLM converter may send them to the model)"""
    previous: tuple[str, ...] = ()
    """the CoT text of the steps before this one, in order"""
    result: dict[str, Any] | None = None
    """the program's answer summary when this block produced it, else None"""
    extra: dict[str, Any] = field(default_factory=dict)


class StepConverter(Protocol):
    """Turns one traced block into one CoT step that begins "In this step, we use"."""

    name: str
    """a short id recorded in the dataset card (for example ``template`` or ``llm:<model>``)"""

    def convert(self, step: StepContext) -> str: ...
