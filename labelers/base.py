"""The labeler protocol, the label record and the context a labeler may use.

A labeler judges every block of a :class:`vipexec.Run` on one dimension and returns one
:class:`Label` per block: ``True`` (positive), ``False`` (negative) or ``None`` (could not
judge), with evidence: a short text and the data the decision used. :func:`vipexec.labelers.
label_run` writes them into ``run.blocks[i].labels[dimension]`` as
``{"value": ..., "evidence": {"text": ..., "data": {...}}}`` (docs/trace-format.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from vipexec.core.errors import InvalidArgumentError, VipexecError

if TYPE_CHECKING:
    from vipexec.core.run import Run
    from vipexec.modules.images import ImageStore

__all__ = ["Label", "LabelContext", "Labeler", "LabelerError"]


class LabelerError(VipexecError):
    """A labeler cannot be found, built or run with the given options."""


@dataclass(frozen=True)
class Label:
    """One block's label on one dimension."""

    value: bool | None
    text: str
    data: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.value is not None and not isinstance(self.value, bool):
            raise InvalidArgumentError(f"a label is True, False or None, not {self.value!r}")

    def to_dict(self) -> dict[str, Any]:
        evidence: dict[str, Any] = {"text": self.text}
        if self.data:
            evidence["data"] = self.data
        return {"value": self.value, "evidence": evidence}


@dataclass
class LabelContext:
    """What a labeler may know beyond the trace.

    - ``query``: the question the program answers (default: ``run.meta["query"]``);
    - ``options``: the answer options of a multiple-choice query (default: read from the query);
    - ``store``: an image store holding the run's images (the attribute labeler re-asks module
      calls on their pixels; image ids are content hashes, so a store loaded from the same files
      resolves them);
    - ``inputs``: the run's inputs as live values (``{"image": ImageRef}``), needed to re-run
      the program for a test suite;
    - ``suite``: a property-test suite (path or source) to run against the program.
    """

    query: str | None = None
    options: tuple[str, ...] | None = None
    store: ImageStore | None = None
    inputs: dict[str, Any] | None = None
    suite: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    def query_for(self, run: Run) -> str | None:
        if self.query is not None:
            return self.query
        value = run.meta.get("query") if isinstance(run.meta, dict) else None
        return value if isinstance(value, str) else None


@runtime_checkable
class Labeler(Protocol):
    """Labels every block of a run on one dimension (``name``)."""

    name: ClassVar[str]
    version: ClassVar[int]

    def label(self, run: Run, context: LabelContext) -> list[Label]:
        """One :class:`Label` per entry of ``run.blocks``, in order."""
        ...

    def config(self) -> dict[str, Any]:
        """The options and thresholds in effect (recorded in ``run.meta["labels"]``)."""
        ...
