"""Program trees: shared prefixes share nodes, paths give programs back, JSON round-trips."""

import pytest

from vipexec import Program, ProgramTree
from vipexec.core.errors import InvalidArgumentError

HEAD = "def execute_command(x):\n    # Step 1: double\n    y = x * 2\n"
TAILS = [
    "    # Step 2: add\n    z = y + 1\n    # Step 3: answer\n    return z\n",
    "    # Step 2: subtract\n    z = y - 1\n    # Step 3: answer\n    return z\n",
    "    # Step 2: add\n    z = y + 1\n    # Step 3: square\n    return z * z\n",
    "    # Step 2: add\n    z = y + 1\n",  # a prefix of programs 1 and 3
]


def build():
    tree = ProgramTree(query="what?")
    ends = []
    for tail in TAILS:
        run = Program.from_source(HEAD + tail).run_in_process(inputs=[3])
        ends.append(tree.add(run))
    return tree, ends


def test_shared_prefixes_share_nodes():
    tree, ends = build()
    assert len(tree) == 4
    first_level = list(tree.graph.successors("root"))
    assert len(first_level) == 1  # one "double" node for every program
    second_level = list(tree.graph.successors(first_level[0]))
    assert len(second_level) == 2  # "add" (programs 1, 3, 4) and "subtract"
    add_node = ends[3]
    assert set(tree.graph.successors(add_node)) == {ends[0], ends[2]}
    assert tree.graph.number_of_nodes() == 1 + 1 + 2 + 3


def test_paths_give_programs_back_exactly():
    tree, ends = build()
    for end, tail in zip(ends, TAILS):
        assert tree.source(end) == HEAD + tail
    assert sorted(p.source for p in tree.programs()) == sorted(HEAD + t for t in TAILS)


def test_nodes_hold_block_trace_labels_and_outcome():
    tree, ends = build()
    data = tree.graph.nodes[tree.path(ends[0])[0]]
    assert data["block"]["description"] == "double"
    assert data["trace"]["variables"] == {"y": {"type": "int", "value": 6}}
    assert data["labels"] == {} and data["cot"] is None
    assert tree.graph.nodes[ends[1]]["ends"][0]["result"] == {"type": "int", "value": 5}
    # an internal node can also be where a shorter program ends
    assert tree.graph.out_degree(ends[3]) == 2
    assert tree.graph.nodes[ends[3]]["ends"][0]["result"] == {"type": "NoneType", "value": None}


def test_adding_the_same_program_twice_changes_nothing():
    tree, _ = build()
    before = tree.to_dict()
    tree.add(Program.from_source(HEAD + TAILS[0]).run_in_process(inputs=[3]))
    assert tree.to_dict() == before


def test_json_round_trip(tmp_path):
    tree, ends = build()
    tree.graph.nodes[ends[0]]["labels"]["relevance"] = {"value": True}
    path = tmp_path / "tree.json"
    tree.save(path)
    again = ProgramTree.load(path)
    assert again.to_dict() == tree.to_dict()
    assert again.graph.graph["query"] == "what?"
    assert [again.source(e) for e in ends] == [HEAD + t for t in TAILS]


def test_bad_input():
    with pytest.raises(InvalidArgumentError, match="takes a Program or a Run"):
        ProgramTree().add("x = 1")
    with pytest.raises(InvalidArgumentError, match="program tree schema"):
        ProgramTree.from_json('{"schema": 5, "nodes": []}')
    with pytest.raises(InvalidArgumentError, match="no node"):
        ProgramTree().path("nope")
