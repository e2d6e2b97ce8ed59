"""The build's per-query unit is the tree pipeline: rows are the programs of each query's tree,
with the nodes' ids, labels and CoT; the LLM generator and converter build through a chat
server (a scripted one on 127.0.0.1)."""

import json
import re

import pyarrow.parquet as pq

from vipexec.benchmark.synthetic_queries import make_synthetic_queries
from vipexec.cli import main
from vipexec.core.program import Program
from vipexec.core.step_rows import block_ids, validate_row
from vipexec.generate.grammar import GrammarGenerator
from vipexec.generate.queries import read_queries
from vipexec.generate.tree_builder import TreeLimits, build_tree
from vipexec.testing.chat_server import ChatServer, choices


def test_rows_are_the_programs_of_each_querys_tree(small_build, rows_of):
    source = small_build / "source"
    queries, errors = read_queries(source / "queries.jsonl", source / "images")
    assert not errors and len(queries) == 14
    rows = rows_of(small_build)
    by_query: dict[str, set[tuple[str, ...]]] = {}
    for row in rows:
        validate_row(row)
        meta = row["meta"]
        ids = meta["block_ids"]
        # the node ids of the tree equal the step-row contract's ids of the program's blocks
        segments = Program.from_source(meta["program"]).segments()
        assert ids == block_ids(segments, meta["query_id"])[: len(ids)]
        by_query.setdefault(meta["query_id"], set()).add(tuple(ids))
    generator = GrammarGenerator(seed=0)
    for query in queries[:4]:
        tree = build_tree(generator, query, TreeLimits(), seed=0)
        paths = {tuple(tree.path(end)) for end in tree.end_nodes()}
        # every row is a root-to-end path of the query's tree (a failing program's row ends at
        # its failing block), and every program of the tree has its row
        assert all(any(path[: len(ids)] == ids for path in paths) for ids in by_query[query.id])
        assert len(by_query[query.id]) == len(paths) >= 2


def test_every_trl_view_row_is_all_booleans(small_build, rows_of):
    card = json.loads(
        next(line for line in (small_build / "README.md").read_text().splitlines()
             if line.startswith("vipexec: "))[len("vipexec: "):]
    )  # fmt: skip
    assert card["generator"] == "grammar" and card["converter"] == "template"
    counted = 0
    for shard in sorted((small_build / "trl").glob("*.parquet")):
        split = shard.name.split("-")[0]
        rows = pq.read_table(shard).to_pylist()
        assert len(rows) == card["splits"][split]["trl_rows"]
        for row in rows:
            assert row["labels"] and all(isinstance(label, bool) for label in row["labels"])
            assert len(row["labels"]) == len(row["completions"])
        counted += len(rows)
    assert counted > 0


STEP_TEXT = "In this step, we use the object finder and see the shapes."


class TwoStepChat(ChatServer):
    """Writes two-step programs (Step 1 finds a shape chosen by the request's seed, Step 2
    prints the count) and answers CoT requests with one fixed step."""

    models = ("scripted",)

    def answer(self, path, payload):
        if payload["messages"][0]["content"].startswith("You turn one step"):
            return 200, choices([STEP_TEXT])
        user = payload["messages"][-1]["content"]
        if isinstance(user, list):
            user = next(part["text"] for part in user if part["type"] == "text")
        step = int(re.search(r"Write only Step (\d+)", user).group(1))
        seed = payload.get("seed", 0)
        return 200, choices([_block(step, seed + i) for i in range(payload.get("n", 1))])


def _block(step, seed):
    if step == 1:
        shape = "circle" if seed % 2 == 0 else "square"
        return f'# Step 1: find the {shape}s\nfound = ImagePatch(image).find("{shape}")\n'
    return "# Step 2: count them\nprint(len(found))\nprint('Work is Done!')\n"


def test_llm_generator_and_converter_build_through_a_chat_server(tmp_path, capsys):
    queries = make_synthetic_queries(tmp_path / "source", 2, seed=0, test_every=None)
    server = TwoStepChat()
    try:
        argv = [
            "build", str(queries), "--images", str(queries.parent / "images"),
            "--out", str(tmp_path / "out"), "--generator", "llm", "--converter", "llm",
            "--llm-base-url", server.url, "--llm-model", "scripted", "--alternatives", "2",
            "--max-steps", "3", "--llm-timeout", "5", "--seed", "7",
        ]  # fmt: skip
        assert main(argv) == 0, capsys.readouterr().err
        asked = len(server.requests)
        assert main(argv) == 0  # a rerun resumes: nothing left to ask
        assert "(2 from an earlier run)" in capsys.readouterr().out
        assert len(server.requests) == asked
    finally:
        server.close()
    rows = []
    for shard in sorted((tmp_path / "out" / "jsonl").glob("*.jsonl")):
        rows += [json.loads(line) for line in shard.read_text().splitlines()]
    assert {row["meta"]["query_id"] for row in rows} == {"q00000", "q00001"}
    assert len(rows) >= 2
    for row in rows:
        validate_row(row)
        assert row["meta"]["source"] == "vipexec-build/llm/no-fault"
        assert row["completions"] == [STEP_TEXT, STEP_TEXT]
        assert "print('Work is Done!')" in row["meta"]["program"]
    card = (tmp_path / "out" / "README.md").read_text()
    assert "generator `llm`" in card and "converter `llm`" in card
