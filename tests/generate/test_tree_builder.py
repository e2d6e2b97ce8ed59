"""The tree builder with scripted generators (no model, no server)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vipexec.core.errors import InvalidArgumentError
from vipexec.core.program import Program
from vipexec.core.tree import ROOT, ProgramTree
from vipexec.generate.protocol import Alternative, Query
from vipexec.generate.tree_builder import TreeLimits, build_tree

QUERY = Query("q1", "How many circles?", (Path("/data/a.png"),), answer=3, meta={"scene": 4})


class Scripted:
    """Answers step N's alternative i with ``blocks(step, i)`` and records every call."""

    name = "scripted"

    def __init__(self, blocks):
        self.blocks = blocks
        self.calls = []

    def first_block(self, query, n):
        return self.next_block(query, [], n)

    def next_block(self, query, blocks, n):
        step = len(blocks) + 1
        self.calls.append((step, n))
        return [Alternative(self.blocks(step, i), {"sample": i}) for i in range(n)]


def assign(step, i):
    return f"# Step {step}: set v{step}\nv{step} = {i}\n"


def ends(tree):
    return sorted(tree.graph.nodes[n]["ending"] for n in tree.end_nodes())


def test_full_tree_up_to_the_step_limit():
    tree = build_tree(Scripted(assign), QUERY, TreeLimits(2, 3, 64), seed=5)
    assert len(tree) == 8 and ends(tree) == ["step_limit"] * 8
    assert tree.root["query"] == {
        "id": "q1", "text": "How many circles?", "images": ["/data/a.png"], "answer": 3,
        "split": None, "meta": {"scene": 4},
    }  # fmt: skip
    assert tree.root["generator"] == "scripted" and tree.root["seed"] == 5
    assert tree.root["leaf_cap_hit"] is False
    for node in tree.end_nodes():
        program = tree.program(node)
        assert [b.step for b in program.blocks] == [1, 2, 3]
        assert tree.graph.nodes[node]["ends"][0]["program"] == program.sha256[:16]
        assert tree.graph.nodes[node]["ends"][0]["name"].startswith("q1/")


def test_paths_end_when_a_block_prints_work_is_done():
    def blocks(step, i):
        if step == 2 and i == 0:
            return "# Step 2: answer\nprint(v1)\nprint('Work is Done!')\n"
        return assign(step, i)

    tree = build_tree(Scripted(blocks), QUERY, TreeLimits(2, 3, 64))
    assert ends(tree) == ["done", "done"] + ["step_limit"] * 4


def test_identical_siblings_merge_and_keep_their_origins():
    def blocks(step, i):
        return f"# Step {step}: same\nx  =  {step}\n" if i else f"# Step {step}: same\nx = {step}\n"

    tree = build_tree(Scripted(blocks), QUERY, TreeLimits(2, 2, 64))
    assert tree.graph.out_degree(ROOT) == 1 and len(tree) == 1
    for _, data in tree.nodes():
        assert data["origin"] == {"sample": 0} and data["merged"] == [{"sample": 1}]


def test_the_leaf_cap_bounds_the_tree_and_is_recorded():
    generator = Scripted(assign)
    tree = build_tree(generator, QUERY, TreeLimits(3, 4, 10))
    assert len(tree) == 10 and len(tree.end_nodes()) == 10
    assert tree.root["leaf_cap_hit"] is True
    assert tree.root["alternatives_not_asked"] == sum(3 - n for _, n in generator.calls)
    assert max(n for _, n in generator.calls) == 3 and min(n for _, n in generator.calls) == 1


def test_blocks_that_are_not_one_numbered_block_are_malformed():
    def blocks(step, i):
        if step == 2:
            return ["x = (", "# Step 5: wrong number\nx = 1\n"][i]
        return assign(step, i)

    tree = build_tree(Scripted(blocks), QUERY, TreeLimits(2, 3, 64))
    assert ends(tree) == ["malformed"] * 4
    errors = sorted({d["origin"]["error"] for n, d in tree.nodes() if d["depth"] == 2})
    assert errors[0] == "not one block numbered 2"
    assert errors[1].startswith("the code does not parse")
    for node in tree.end_nodes():
        assert tree.program(node).syntax_error is None


def test_a_generator_that_raises_gives_a_failed_node():
    class Broken(Scripted):
        def next_block(self, query, blocks, n):
            if blocks:
                raise ConnectionError("server went away")
            return super().next_block(query, blocks, n)

    tree = build_tree(Broken(assign), QUERY, TreeLimits(2, 3, 64))
    assert ends(tree) == ["request_failed"] * 2
    data = tree.graph.nodes[tree.end_nodes()[0]]
    assert data["origin"]["error"] == "request failed: ConnectionError: server went away"


def test_no_alternatives_ends_the_path():
    class Empty(Scripted):
        def next_block(self, query, blocks, n):
            return [] if blocks else super().next_block(query, blocks, n)

    tree = build_tree(Empty(assign), QUERY, TreeLimits(2, 3, 64))
    assert ends(tree) == ["no_alternatives"] * 2


def test_the_tree_round_trips_through_json(tmp_path):
    tree = build_tree(Scripted(assign), QUERY, TreeLimits(2, 2, 64))
    tree.save(tmp_path / "t.json")
    loaded = ProgramTree.load(tmp_path / "t.json")
    assert loaded.to_dict() == tree.to_dict()
    assert [loaded.source(n) for n in loaded.end_nodes()] == [
        tree.source(n) for n in tree.end_nodes()
    ]


def test_add_block_gives_the_node_add_gives():
    tree = ProgramTree()
    first = tree.add_block(ROOT, "# Step 1: a\nx = 1\n", origin={"k": 1})
    second = tree.add_block(first, "# Step 2: b\nprint(x)\n")
    assert tree.add(Program.from_source("# Step 1: a\nx = 1\n# Step 2: b\nprint(x)\n")) == second
    block = tree.graph.nodes[second]["block"]
    assert (block["step"], block["description"], block["reads"]) == (2, "b", ["print", "x"])
    assert tree.graph.nodes[first]["origin"] == {"k": 1} and tree.graph.nodes[second]["depth"] == 2
    with pytest.raises(InvalidArgumentError):
        tree.add_block("nope", "x = 1\n")


@pytest.mark.parametrize("field", ["alternatives", "max_steps", "max_leaves"])
def test_limits_are_checked(field):
    with pytest.raises(InvalidArgumentError, match=f"{field} must be an int of at least 1"):
        TreeLimits(**{field: 0})


def test_a_block_with_nested_markers_is_a_chain_of_nodes_as_add_makes_it():
    loop = "# Step 2: check each\nfor v in [1, 2]:\n    # Step 3: inside\n    w = v\n"
    tree = ProgramTree()
    first = tree.add_block(ROOT, "# Step 1: a\nx = 1\n")
    last = tree.add_block(first, loop, origin={"k": 2})
    chain = tree.path(last)
    assert len(chain) == 3 and tree.graph.nodes[chain[1]]["segment"] == (
        "# Step 2: check each\nfor v in [1, 2]:\n"
    )
    assert tree.graph.nodes[last]["block"]["parent"] == 1
    assert tree.graph.nodes[last]["origin"] == {"k": 2}
    assert tree.add(Program.from_source("# Step 1: a\nx = 1\n" + loop)) == last
    assert tree.add_block(first, loop) == last and len(tree.graph) == 4


def test_nested_markers_stay_inside_their_step():
    def blocks(step, i):
        if step == 1:
            return "# Step 1: each\nfor v in [1, 2]:\n    # Step 2: inside\n    w = v\n"
        return "# Step 2: answer\nprint(w)\nprint('Work is Done!')\n"

    tree = build_tree(Scripted(blocks), QUERY, TreeLimits(1, 3, 64))
    (leaf,) = tree.end_nodes()
    assert tree.graph.nodes[leaf]["ending"] == "done" and len(tree.path(leaf)) == 3
    assert [b.step for b in tree.program(leaf).blocks] == [1, 2, 2]
