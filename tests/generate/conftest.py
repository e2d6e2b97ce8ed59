"""Shared helpers of the generation tests: synthetic queries and a minimal tree builder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vipexec import Program, ProgramTree
from vipexec.benchmark.synthetic_queries import FAMILIES, make_synthetic_queries
from vipexec.generate.protocol import Query


def grow_tree(generator, query, alternatives=2, max_steps=8):
    """A minimal tree builder: expand every partial program breadth-first with ``alternatives``
    blocks per step until the generator has no next block; node ``origin`` records how each
    block was made."""
    tree = ProgramTree()
    frontier = [((), ())]
    for _ in range(max_steps):
        grown = []
        for blocks, origins in frontier:
            proposed = generator.next_block(query, blocks, alternatives)
            if not proposed:
                source = "".join(blocks)
                end = tree.add(Program.from_source(source, name=f"{query.id}.py"))
                for node, origin in zip(tree.path(end), origins):
                    tree.graph.nodes[node]["origin"] = origin
                continue
            seen = set()
            for alternative in proposed:
                if alternative.block not in seen:
                    seen.add(alternative.block)
                    grown.append(((*blocks, alternative.block), (*origins, alternative.origin)))
        frontier = grown
        if not frontier:
            break
    return tree


def load_queries(path: Path) -> list[Query]:
    images = path.parent / "images"
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        paths = tuple(images / name for name in item["images"])
        out.append(
            Query(item["id"], item["query"], paths, item["answer"], item["split"], item["meta"])
        )
    return out


@pytest.fixture(scope="session")
def grow():
    return grow_tree


@pytest.fixture(scope="session")
def queries(tmp_path_factory):
    """One query per family (written once per test session)."""
    out = tmp_path_factory.mktemp("grammar")
    return load_queries(make_synthetic_queries(out, len(FAMILIES), seed=3))


@pytest.fixture(scope="session")
def reload_queries():
    return load_queries
