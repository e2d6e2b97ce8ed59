"""A hand-written evaluation set: programs with per-block labels decided by hand.

The set lives in a folder of YAML files (the repository's is ``tests/labelers/handwritten``),
each a list of programs, and a ``scenes/`` folder of synthetic scenes (PNG + truth JSON). One
program is::

    - id: counts-02                 # unique in the set
      scene: scene_0002             # scenes/scene_0002.png and .json
      style: vipergpt               # vipergpt, visprog, least-to-most, proptest
      query: How many purple objects are there?
      truth: 2                      # the right answer on the scene
      returns: 6                    # what this program returns there
      fault: generic_noun           # absent for a correct program
      split: dev                    # dev (the default), heldout, heldout-2, heldout-3
      source: |
        def execute_command(image): ...
      labels: [TTT, TTT, TFT]       # per block: relevance, logic, attribute
      why: {2: "counts every object; the query counts only the purple ones"}

A label code has one letter per dimension: ``T`` (positive), ``F`` (negative) or ``n``
(nothing to judge, e.g. a block that never ran). Every ``F`` has a ``why``.

:func:`load_set` reads and validates a folder; :func:`label_item` runs one program on its scene
with the clean synthetic backend and labels it with the given labelers, next to the hand
labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vipexec.core.errors import InvalidArgumentError
from vipexec.core.program import Program
from vipexec.core.run import Run
from vipexec.core.step_rows import DIMENSIONS
from vipexec.labelers.apply import label_run
from vipexec.labelers.base import LabelContext

__all__ = ["DIMENSIONS", "HandLabelled", "HandwrittenProgram", "SceneRunner", "load_set"]

STYLES = frozenset({"vipergpt", "visprog", "least-to-most", "proptest"})
SPLITS = ("dev", "heldout", "heldout-2", "heldout-3")
_CODES = {"T": True, "F": False, "n": None}


@dataclass(frozen=True)
class HandwrittenProgram:
    id: str
    scene: str
    style: str
    query: str
    truth: Any
    returns: Any
    source: str
    labels: dict[str, tuple[bool | None, ...]]
    """per dimension, one hand label per block"""
    why: dict[int, str] = field(default_factory=dict)
    fault: str | None = None
    split: str = "dev"
    file: str = ""

    def program(self) -> Program:
        return Program.from_source(self.source, name=f"{self.id}.py")

    @property
    def faulty_blocks(self) -> list[int]:
        return [i for i, value in enumerate(self.labels["logic"]) if value is False]


def load_set(folder: str | Path) -> list[HandwrittenProgram]:
    """Every program of the set in ``folder`` (files in name order); a malformed entry raises
    :class:`InvalidArgumentError` naming the file and the entry."""
    import yaml

    folder = Path(folder)
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise InvalidArgumentError(f"no *.yaml files in {folder}")
    items: list[HandwrittenProgram] = []
    seen: set[str] = set()
    for path in files:
        entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        if not isinstance(entries, list):
            raise InvalidArgumentError(f"{path.name}: expected a list of programs")
        for number, entry in enumerate(entries):
            item = _entry(entry, f"{path.name} entry {number}", path.name)
            if item.id in seen:
                raise InvalidArgumentError(f"{path.name}: program id {item.id!r} is repeated")
            seen.add(item.id)
            items.append(item)
    return items


def _entry(entry: Any, where: str, file: str) -> HandwrittenProgram:
    required = ("id", "scene", "style", "query", "truth", "returns", "source", "labels")
    if not isinstance(entry, dict):
        raise InvalidArgumentError(f"{where}: expected a mapping")
    missing = [key for key in required if key not in entry]
    if missing:
        raise InvalidArgumentError(f"{where}: missing {', '.join(missing)}")
    where = f"{file} {entry['id']}"
    if entry["style"] not in STYLES:
        raise InvalidArgumentError(f"{where}: style {entry['style']!r} not in {sorted(STYLES)}")
    split = entry.get("split", "dev")
    if split not in SPLITS:
        raise InvalidArgumentError(f"{where}: split {split!r} not in {list(SPLITS)}")
    columns: list[list[bool | None]] = [[], [], []]
    for code in entry["labels"]:
        if not isinstance(code, str) or len(code) != 3 or any(c not in _CODES for c in code):
            raise InvalidArgumentError(f"{where}: label {code!r} is not three of T, F, n")
        for column, letter in zip(columns, code):
            column.append(_CODES[letter])
    why = {int(k): str(v) for k, v in (entry.get("why") or {}).items()}
    for dimension, column in zip(DIMENSIONS, columns):
        for index, value in enumerate(column):
            if value is False and index not in why:
                raise InvalidArgumentError(f"{where}: block {index} is {dimension} F without why")
    return HandwrittenProgram(
        id=str(entry["id"]),
        scene=str(entry["scene"]),
        style=entry["style"],
        query=str(entry["query"]),
        truth=entry["truth"],
        returns=entry["returns"],
        source=str(entry["source"]),
        labels={d: tuple(c) for d, c in zip(DIMENSIONS, columns)},
        why=why,
        fault=entry.get("fault"),
        split=split,
        file=file,
    )


@dataclass
class HandLabelled:
    """One program of the set, run and labelled, next to its hand labels."""

    item: HandwrittenProgram
    run: Run
    labels: dict[str, list[bool | None]]
    evidence: dict[str, list[str]]

    @property
    def truth(self) -> dict[str, tuple[bool | None, ...]]:
        return self.item.labels


class SceneRunner:
    """Runs programs of a set on its scenes with the clean synthetic backend (one image
    store: the attribute labeler re-reads the pixels from it)."""

    def __init__(self, folder: str | Path) -> None:
        from vipexec.modules.api import build_api
        from vipexec.modules.backend import create_backend
        from vipexec.modules.dispatch import LocalDispatcher, ServerDispatcher
        from vipexec.modules.images import ImageStore

        self.scenes = Path(folder) / "scenes"
        self.store = ImageStore()
        self.namespace = build_api(
            ServerDispatcher(LocalDispatcher(create_backend("synthetic"), self.store))
        )
        self._refs: dict[str, Any] = {}

    def image(self, scene: str) -> Any:
        if scene not in self._refs:
            path = self.scenes / f"{scene}.png"
            if not path.is_file():
                raise InvalidArgumentError(f"scene {scene!r} has no image at {path}")
            self._refs[scene] = self.store.load(path)
        return self._refs[scene]

    def run(self, item: HandwrittenProgram) -> Run:
        program = item.program()
        return program.run_in_process(
            self.namespace, {"image": self.image(item.scene)}, policy=True
        )

    def label(self, item: HandwrittenProgram, labelers: Sequence[Any]) -> HandLabelled:
        run = self.run(item)
        context = LabelContext(query=item.query, store=self.store)
        found = label_run(run, list(labelers), context=context)
        return HandLabelled(
            item=item,
            run=run,
            labels={name: [label.value for label in labels] for name, labels in found.items()},
            evidence={name: [label.text for label in labels] for name, labels in found.items()},
        )
