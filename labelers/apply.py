"""Running labelers over runs, program trees and the JSON files that hold them."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from vipexec.core.errors import InvalidArgumentError
from vipexec.core.run import NO_RESULT, BlockTrace, Run, RunError
from vipexec.core.step_rows import DIMENSIONS
from vipexec.labelers.base import Label, LabelContext, Labeler, LabelerError
from vipexec.labelers.registry import create_labeler

__all__ = ["DEFAULT_LABELERS", "build_labelers", "label_file", "label_run", "label_tree"]

DEFAULT_LABELERS = DIMENSIONS
"""one labeler per step-row dimension, named for it (rows read ``block.labels[dimension]``)"""

LabelerSpec = str | Labeler


def build_labelers(
    labelers: str | Iterable[LabelerSpec] = DEFAULT_LABELERS,
    options: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[Labeler]:
    """Labeler objects from names (``"relevance,logic"`` or a list) or ready instances."""
    if isinstance(labelers, str):
        labelers = [name.strip() for name in labelers.split(",") if name.strip()]
    items = list(labelers)
    if not items:
        raise LabelerError("no labelers given")
    options = dict(options or {})
    unknown = set(options) - {item for item in items if isinstance(item, str)}
    if unknown:
        raise LabelerError(
            f"options given for labelers not requested: {', '.join(sorted(unknown))}"
        )
    out = []
    for item in items:
        if isinstance(item, str):
            out.append(create_labeler(item, **dict(options.get(item, {}))))
        elif hasattr(item, "label") and hasattr(item, "name"):
            out.append(item)
        else:
            raise LabelerError(f"not a labeler: {item!r}")
    return out


def label_run(
    run: Run,
    labelers: str | Iterable[LabelerSpec] = DEFAULT_LABELERS,
    *,
    context: LabelContext | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, list[Label]]:
    """Label every block of ``run`` and write the labels into ``run.blocks[i].labels``.

    Returns ``{dimension: [Label per block]}``; ``run.meta["labels"]`` records each labeler's
    version and configuration.
    """
    if not isinstance(run, Run):
        raise InvalidArgumentError(f"label_run() takes a Run, not {type(run).__name__}")
    context = context or LabelContext()
    found: dict[str, list[Label]] = {}
    for labeler in build_labelers(labelers, options):
        labels = list(labeler.label(run, context))
        if len(labels) != len(run.blocks):
            raise LabelerError(
                f"labeler {labeler.name!r} returned {len(labels)} labels for "
                f"{len(run.blocks)} blocks"
            )
        for block, label in zip(run.blocks, labels):
            block.labels[labeler.name] = label.to_dict()
        found[labeler.name] = labels
        record = run.meta.setdefault("labels", {})
        record[labeler.name] = {
            "version": getattr(labeler, "version", 1),
            "config": labeler.config() if hasattr(labeler, "config") else {},
        }
    return found


# --- program trees ----------------------------------------------------------------------------


def run_for_node(tree: Any, node: str) -> Run | None:
    """A Run rebuilt from the traces along the path to ``node`` (None if it was never run)."""
    data = tree.graph.nodes[node]
    ends = data.get("ends") or []
    end = next((e for e in ends if "error" in e or "result" in e), None)
    if end is None:
        return None
    program = tree.program(node)
    path = tree.path(node)
    blocks = []
    for position, block in enumerate(program.blocks):
        trace = tree.graph.nodes[path[position]].get("trace") if position < len(path) else None
        if trace is None:
            blocks.append(
                BlockTrace(block.index, block.step, block.description, block.lines, "not_run")
            )
        else:
            blocks.append(BlockTrace.from_dict({**trace, "labels": {}}))
    error = RunError.from_dict(end["error"]) if end.get("error") else None
    summary = end.get("result") or NO_RESULT
    meta = {}
    query = tree.graph.graph.get("query")
    if isinstance(query, str):
        meta["query"] = query
    return Run(
        program=program,
        result=Run.result_from_summary(summary),
        result_summary=summary,
        error=error,
        blocks=blocks,
        meta=meta,
    )


_PRIORITY = {False: 0, True: 1, None: 2}


def label_tree(
    tree: Any,
    labelers: str | Iterable[LabelerSpec] = DEFAULT_LABELERS,
    *,
    context: LabelContext | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
) -> int:
    """Label every block node of a :class:`vipexec.ProgramTree`; returns programs labelled.

    Each program that ends in the tree is rebuilt as a Run from its nodes' traces and labelled;
    a node shared by several programs keeps one label per dimension (``False`` wins over
    ``True`` over ``None``; disagreements are noted in the evidence).
    """
    built = build_labelers(labelers, options)
    labelled = 0
    for node in tree.end_nodes():
        run = run_for_node(tree, node)
        if run is None:
            continue
        found = label_run(run, built, context=context)
        labelled += 1
        for position, path_node in enumerate(tree.path(node)):
            stored = tree.graph.nodes[path_node].setdefault("labels", {})
            for dimension, labels in found.items():
                if position < len(labels):
                    _merge(stored, dimension, labels[position].to_dict())
    tree.graph.graph.setdefault("labels", {}).update(
        {
            labeler.name: {
                "version": getattr(labeler, "version", 1),
                "config": labeler.config() if hasattr(labeler, "config") else {},
            }
            for labeler in built
        }
    )
    return labelled


def _merge(stored: dict[str, Any], dimension: str, new: dict[str, Any]) -> None:
    old = stored.get(dimension)
    if old is None:
        stored[dimension] = new
        return
    if old.get("value") == new.get("value"):
        return
    keep, other = sorted((old, new), key=lambda item: _PRIORITY[item.get("value")])
    evidence = dict(keep.get("evidence") or {})
    evidence.setdefault("disagreements", []).append(
        {"value": other.get("value"), "text": (other.get("evidence") or {}).get("text")}
    )
    stored[dimension] = {"value": keep.get("value"), "evidence": evidence}


# --- files ------------------------------------------------------------------------------------


def load_labelled(path: str | Path) -> tuple[str, Any]:
    """Read a trace or a program tree: ``("trace", Run)`` or ``("tree", ProgramTree)``."""
    path = Path(path)
    if not path.exists():
        raise InvalidArgumentError(f"{path}: no such file")
    if path.is_dir():
        raise InvalidArgumentError(f"{path}: is a directory, not a trace or tree file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidArgumentError(f"{path}: cannot be read ({exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidArgumentError(f"{path}: not JSON ({exc.msg}, line {exc.lineno})") from None
    if isinstance(data, dict) and "program" in data and "blocks" in data:
        return "trace", Run.from_dict(data)
    if isinstance(data, dict) and "nodes" in data and "edges" in data:
        from vipexec.core.tree import ProgramTree

        return "tree", ProgramTree.from_dict(data)
    raise InvalidArgumentError(f"{path}: neither a trace (schema 1) nor a program tree")


def label_file(
    path: str | Path,
    labelers: str | Sequence[LabelerSpec] = DEFAULT_LABELERS,
    *,
    output: str | Path | None = None,
    context: LabelContext | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[str, Any]:
    """Label a trace or tree JSON file and write it back (to ``output``, else in place)."""
    kind, item = load_labelled(path)
    if kind == "trace":
        label_run(item, labelers, context=context, options=options)
    else:
        label_tree(item, labelers, context=context, options=options)
    target = Path(output) if output is not None else Path(path)
    target.write_text(item.to_json() + "\n", encoding="utf-8")
    return kind, item
