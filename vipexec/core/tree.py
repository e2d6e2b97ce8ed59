"""Program trees: programs that share leading blocks share nodes.

SVIP samples several continuations per step, so the programs for one query form a tree whose
root-to-node paths are programs. A node is one block; its id is a hash of its parent's id and
the block's source segment (:func:`vipexec.core.step_rows.block_ids`), chained from the tree's
``query_id`` (a graph attribute: ``ProgramTree(query_id="q7")``) or from ``"root"`` when it has
none, so the same prefix always lands on the same nodes, and a tree's node ids equal the
``meta.block_ids`` of the step rows written for the same query. Node data:

- ``block``: the block (index, step, description, lines, source, ...);
- ``segment``: the exact source text of the block's segment (see :meth:`Program.segments`);
- ``trace``: the block's trace from the first run added through this node (or None);
- ``labels``: a dict the labelers fill; ``cot``: the step's natural-language form (or None);
- ``ends``: ids of the programs that end at this node, with their run outcome.

Trees grown step by step (:mod:`vipexec.generate.tree_builder`) add nodes one block at a time
with :meth:`ProgramTree.add_block`; their nodes also record ``origin`` (how the block was
produced) and, at leaves, ``ending`` (how the path ended), and the root node carries the query.

Joining the segments along the path from the root to an end node gives that program's source
back exactly.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vipexec.core.errors import InvalidArgumentError
from vipexec.core.program import Program
from vipexec.core.run import Run, json_object, read_text
from vipexec.core.step_rows import TREE_ROOT, block_ids, node_id

ROOT = TREE_ROOT
TREE_SCHEMA = 1


class ProgramTree:
    """A tree of programs over a :class:`networkx.DiGraph` (``tree.graph``)."""

    def __init__(self, **attributes: Any):
        import networkx as nx

        self.graph = nx.DiGraph(**attributes)
        self.graph.add_node(ROOT, kind="root")

    # --- building -----------------------------------------------------------------------------

    def add(self, item: Program | Run, *, program_id: str | None = None) -> str:
        """Add a program (or a run of one); returns the id of the node where it ends."""
        if isinstance(item, Run):
            program, run = item.program, item
        elif isinstance(item, Program):
            program, run = item, None
        else:
            raise InvalidArgumentError(
                f"ProgramTree.add takes a Program or a Run, not {type(item).__name__}"
            )
        program_id = program_id or program.sha256[:16]
        segments = program.segments()
        blocks = list(program.blocks) or [None]
        ids = block_ids(segments, self.graph.graph.get("query_id"))
        parent = ROOT
        for position, (block, segment, node) in enumerate(zip(blocks, segments, ids)):
            if node not in self.graph:
                self._new_node(parent, node, position + 1, block.to_dict() if block else None,
                               segment)  # fmt: skip
            data = self.graph.nodes[node]
            if run is not None and data["trace"] is None and position < len(run.blocks):
                data["trace"] = run.blocks[position].to_dict()
            parent = node
        record: dict[str, Any] = {"program": program_id, "name": program.name}
        if run is not None:
            record["result"] = run.result_summary
            record["error"] = run.error.to_dict() if run.error else None
        self._record_end(parent, record)
        return parent

    def add_block(self, parent: str, text: str, **fields: Any) -> str:
        """Add the block ``text`` under ``parent`` (extra node data in ``fields``); returns the
        id of its node, the one :meth:`add` gives the same block after the same path.

        A block whose compound statements hold ``# Step`` markers is several blocks to the
        engine (a nested block per marker, see :mod:`vipexec.core.blocks`): it becomes a chain of
        nodes, one per segment, as :meth:`add` makes it; ``fields`` go on the last one.
        Adding a block that is already there only updates its fields."""
        if parent not in self.graph:
            raise InvalidArgumentError(f"no node {parent!r} in this tree")
        path = self.path(parent) if parent != ROOT else []
        before = "".join(self.graph.nodes[n]["segment"] for n in path)
        program = Program.from_source(before + text)
        segments = program.segments()
        pieces: list[tuple[str, dict[str, Any] | None]] = [
            (segment, block.to_dict())
            for segment, block in zip(segments[len(path) :], program.blocks[len(path) :])
        ]
        if "".join(segments[: len(path)]) != before or "".join(s for s, _ in pieces) != text:
            pieces = [(text, None)]  # not cut where the path is: one node, as given
        node = parent
        for depth, (segment, block) in enumerate(pieces, len(path) + 1):
            chain = (self.graph.graph.get("query_id") or ROOT) if node == ROOT else node
            child = node_id(chain, segment)
            if child not in self.graph:
                self._new_node(node, child, depth, block, segment)
            node = child
        self.graph.nodes[node].update(fields)
        return node

    def end_program(self, node: str, name: str | None = None) -> str:
        """Record that the path to ``node`` is a program (not run yet); returns its id."""
        program = self.program(node)
        program_id = program.sha256[:16]
        self._record_end(node, {"program": program_id, "name": name or program.name})
        return program_id

    @property
    def root(self) -> dict[str, Any]:
        """The root node's data (a generated tree's query and generation settings)."""
        return self.graph.nodes[ROOT]

    def _new_node(
        self, parent: str, node: str, depth: int, block: dict[str, Any] | None, segment: str
    ) -> None:
        self.graph.add_node(
            node, kind="block", depth=depth, block=block, segment=segment, trace=None,
            labels={}, cot=None, ends=[],
        )  # fmt: skip
        self.graph.add_edge(parent, node)

    def _record_end(self, node: str, record: dict[str, Any]) -> None:
        ends = self.graph.nodes[node]["ends"]
        self.graph.nodes[node]["ends"] = [e for e in ends if e["program"] != record["program"]]
        self.graph.nodes[node]["ends"].append(record)

    # --- reading ------------------------------------------------------------------------------

    def end_nodes(self) -> list[str]:
        """Nodes where at least one program ends, in insertion order."""
        return [n for n, data in self.graph.nodes(data=True) if data.get("ends")]

    def path(self, node: str) -> list[str]:
        """Block nodes from the root's child down to ``node``."""
        if node not in self.graph:
            raise InvalidArgumentError(f"no node {node!r} in this tree")
        path = []
        while node != ROOT:
            path.append(node)
            node = next(iter(self.graph.predecessors(node)))
        return path[::-1]

    def source(self, node: str) -> str:
        """The source of the program ending at ``node``: its path's segments joined."""
        return "".join(self.graph.nodes[n]["segment"] for n in self.path(node))

    def program(self, node: str) -> Program:
        ends = self.graph.nodes[node].get("ends") or [{}]
        return Program.from_source(self.source(node), name=ends[0].get("name"))

    def programs(self) -> Iterator[Program]:
        for node in self.end_nodes():
            yield self.program(node)

    def nodes(self, *, kind: str = "block") -> Iterator[tuple[str, dict[str, Any]]]:
        for node, data in self.graph.nodes(data=True):
            if data.get("kind") == kind:
                yield node, data

    def __len__(self) -> int:
        """The number of programs in the tree."""
        return sum(len(data.get("ends", ())) for _, data in self.graph.nodes(data=True))

    # --- JSON (node-link) ---------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": TREE_SCHEMA,
            "directed": True,
            "multigraph": False,
            "graph": dict(self.graph.graph),
            "nodes": [{"id": n, **data} for n, data in self.graph.nodes(data=True)],
            "edges": [{"source": u, "target": v} for u, v in self.graph.edges],
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json() + "\n", encoding="utf-8")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProgramTree:
        if data.get("schema") != TREE_SCHEMA:
            raise InvalidArgumentError(
                f"program tree schema {data.get('schema')!r} is not supported "
                f"(this vipexec reads {TREE_SCHEMA})"
            )
        tree = cls(**data.get("graph", {}))
        for node in data["nodes"]:
            attributes = {k: v for k, v in node.items() if k != "id"}
            tree.graph.add_node(node["id"], **attributes)
        for edge in data["edges"]:
            tree.graph.add_edge(edge["source"], edge["target"])
        return tree

    @classmethod
    def from_json(cls, text: str) -> ProgramTree:
        return cls.from_dict(json_object(text, "a program tree", "nodes"))

    @classmethod
    def load(cls, path: str | Path) -> ProgramTree:
        return cls.from_json(read_text(path))
