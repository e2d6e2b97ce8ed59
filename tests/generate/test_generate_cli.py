"""`vipexec generate --generator llm` against the scripted chat server (see conftest)."""

from __future__ import annotations

import json
import threading

import pytest

from vipexec.cli import main
from vipexec.core.program import Program
from vipexec.core.tree import ROOT, ProgramTree
from vipexec.generate.llm import derive_seed


def write_queries(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def query_line(query_id, question, images=("scene.png",), **extra):
    return json.dumps({"id": query_id, "query": question, "images": list(images), **extra})


def generate(queries, images, out, url, *extra):
    return main(
        [
            "generate", str(queries), "--images", str(images), "--out", str(out),
            "--generator", "llm", "--llm-base-url", url, "--llm-model", "scripted",
            "--llm-timeout", "1", "--llm-retries", "2", "--llm-backoff", "0.01",
            "--seed", "7", "--concurrency", "4", *extra,
        ]
    )  # fmt: skip


def leaves(tree):
    return [(node, tree.graph.nodes[node]) for node in tree.end_nodes()]


def blocks_to(tree, node):
    return [tree.graph.nodes[n]["segment"] for n in tree.path(node)]


def test_llm_trees_cover_every_answer_kind(chat_server, scene_images, tmp_path, capsys):
    queries = write_queries(
        tmp_path / "queries.jsonl",
        [
            query_line("good", "good: how many circles?", answer=2, split="test"),
            query_line("chatty", "chatty: how many circles?"),
            "{not json",
            query_line("garbled", "garbled: how many circles?"),
            query_line("missing", "good: where?", images=["missing.png"]),
            query_line("flaky", "flaky500: how many circles?"),
            query_line("slow", "slow: how many circles?"),
            query_line("dead", "dead: how many circles?"),
        ],
    )
    out = tmp_path / "trees"
    code = generate(queries, scene_images, out, chat_server.url)
    captured = capsys.readouterr()
    # bad lines: one line each, naming the file and line; the rest still ran
    assert code == 2
    errors = captured.err.strip().splitlines()
    assert errors == [
        f"vipexec: {queries}:3: not JSON (Expecting property name enclosed in double quotes: "
        "line 1 column 2 (char 1))",
        f"vipexec: {queries}:5: image 'missing.png' not found in {scene_images}",
    ]
    assert sorted(p.stem for p in out.glob("*.json")) == sorted(
        ["good", "chatty", "garbled", "flaky", "slow", "dead"]
    )
    assert "6 trees written" in captured.out

    good = ProgramTree.load(out / "good.json")
    assert good.root["query"] == {
        "id": "good", "text": "good: how many circles?",
        "images": [str((scene_images / "scene.png").resolve())],
        "answer": 2, "split": "test", "meta": {},
    }  # fmt: skip
    assert good.root["generator"] == "llm:scripted" and good.root["seed"] == 7
    # 2 alternatives per step: 2 first blocks, each with 2 second blocks, all ending properly
    assert good.graph.out_degree(ROOT) == 2
    assert all(good.graph.out_degree(n) == 2 for n in good.graph.successors(ROOT))
    assert [d["ending"] for _, d in leaves(good)] == ["done"] * 4
    # every alternative's seed is derived from --seed, the query, the path and the sample
    for node, data in good.nodes():
        origin = data["origin"]
        path = blocks_to(good, node)[:-1]
        assert origin["seed"] == derive_seed(7, "good", path, origin["sample"])
        assert f"(seed {origin['seed']})" in data["segment"]
        assert origin["model"] == "scripted" and origin["cached"] is False

    chatty = ProgramTree.load(out / "chatty.json")
    assert [d["ending"] for _, d in leaves(chatty)] == ["done"] * 4
    for _, data in chatty.nodes():
        step = data["depth"]
        assert data["segment"].startswith(f"# Step {step}: count" if step == 2 else "# Step 1:")
        assert data["origin"]["renumbered_from"] == step + 3
        assert "Sure" not in data["segment"] and "Hope" not in data["segment"]

    garbled = ProgramTree.load(out / "garbled.json")
    malformed = [(n, d) for n, d in leaves(garbled) if d["ending"] == "malformed"]
    assert malformed and len(malformed) < len(leaves(garbled))
    for node, data in malformed:
        assert data["origin"]["failure"] == "malformed"
        assert "# | I am not able to write code" in data["segment"]
        assert garbled.program(node).syntax_error is None

    for name in ("flaky", "slow"):
        tree = ProgramTree.load(out / f"{name}.json")
        assert [d["ending"] for _, d in leaves(tree)] == ["done"] * 4
        asked = sum(1 for _ in tree.nodes())  # one request per alternative, none merged
        question = tree.root["query"]["text"]
        assert chat_server.seen[question] == asked + 1  # the retried first request

    dead = ProgramTree.load(out / "dead.json")
    (node, data), = leaves(dead)  # fmt: skip
    assert data["ending"] == "request_failed" and len(data["merged"]) == 1
    assert "HTTP 500" in data["origin"]["error"] and "after 3 tries" in data["origin"]["error"]
    assert chat_server.seen["dead: how many circles?"] == 2 * 3


def test_failing_nodes_fail_when_run(chat_server, scene_images, tmp_path):
    from vipexec.modules.api import build_api
    from vipexec.modules.dispatch import LocalDispatcher
    from vipexec.modules.images import ImageStore
    from vipexec.modules.synthetic.backend import SyntheticBackend

    queries = write_queries(
        tmp_path / "q.jsonl",
        [query_line("garbled", "garbled: how many?"), query_line("dead", "dead: how many?")],
    )
    assert generate(queries, scene_images, tmp_path / "out", chat_server.url) == 0
    store = ImageStore()
    image = store.load(scene_images / "scene.png")
    names = build_api(LocalDispatcher(SyntheticBackend(), store))
    outcomes = {}
    for name in ("garbled", "dead"):
        tree = ProgramTree.load(tmp_path / "out" / f"{name}.json")
        for node, data in leaves(tree):
            run = tree.program(node).run(
                namespace=names, inputs={"image": image, "images": [image]}
            )
            outcomes.setdefault(data["ending"], []).append(run)
    assert set(outcomes) == {"done", "malformed", "request_failed"}
    for run in outcomes["done"]:
        assert run.error is None and run.result == 0
    for ending in ("malformed", "request_failed"):
        for run in outcomes[ending]:
            assert run.error is not None and run.error.type == "RuntimeError"
            assert run.error.block == len(run.program.blocks) - 1  # the failing block, last
            assert "malformed block from the generator" in run.error.message


def test_a_rerun_sends_no_request(chat_server, scene_images, tmp_path, capsys):
    queries = write_queries(
        tmp_path / "q.jsonl",
        [query_line("a", "good: how many?"), query_line("b", "chatty: how many?")],
    )
    out = tmp_path / "out"
    assert generate(queries, scene_images, out, chat_server.url) == 0
    sent = len(chat_server.requests)
    first = {p.name: p.read_text() for p in out.glob("*.json")}
    capsys.readouterr()
    assert generate(queries, scene_images, out, chat_server.url) == 0
    assert len(chat_server.requests) == sent  # every answer came from the cache
    assert f"0 requests sent to scripted, {sent} answered from the cache" in capsys.readouterr().out
    again = {p.name: p.read_text() for p in out.glob("*.json")}
    assert again.keys() == first.keys()
    for name, text in first.items():  # same trees; the origins now say "cached"
        assert again[name] == text.replace('"cached": false', '"cached": true')


def test_images_go_as_content_parts_and_n_asks_once_per_step(chat_server, scene_images, tmp_path):
    queries = write_queries(tmp_path / "q.jsonl", [query_line("a", "good: how many?")])
    code = generate(queries, scene_images, tmp_path / "out", chat_server.url, "--llm-images",
                    "--llm-n")  # fmt: skip
    assert code == 0
    first = chat_server.requests[0]
    assert first["n"] == 2
    text, picture = first["messages"][-1]["content"]
    assert text["type"] == "text" and "1 image (attached, in order)" in text["text"]
    assert picture["image_url"]["url"].startswith("data:image/png;base64,iVBOR")
    tree = ProgramTree.load(tmp_path / "out" / "a.json")
    # one request per expanded node: the root and its two children
    assert len(chat_server.requests) == 3
    assert sorted(d["origin"]["sample"] for n, d in tree.nodes() if d["depth"] == 1) == [0, 1]
    assert [d["ending"] for _, d in leaves(tree)] == ["done"] * 4


def test_prompt_file_replaces_sections(chat_server, scene_images, tmp_path):
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("### first\nOUR OWN FIRST PROMPT\nQuestion: ${query}\nWrite only Step 1.\n")
    queries = write_queries(tmp_path / "q.jsonl", [query_line("a", "good: how many?")])
    code = generate(queries, scene_images, tmp_path / "out", chat_server.url, "--prompt",
                    str(prompt), "--max-steps", "1")  # fmt: skip
    assert code == 0
    first = chat_server.requests[0]["messages"]
    assert first[-1]["content"].startswith("OUR OWN FIRST PROMPT\nQuestion: good: how many?")
    assert "The API:" in first[0]["content"]  # the packaged system prompt stays
    tree = ProgramTree.load(tmp_path / "out" / "a.json")
    assert [d["ending"] for _, d in leaves(tree)] == ["step_limit"] * 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--generator", "llm"], "--generator llm needs --llm-base-url URL"),
        (["--generator", "other"], "--generator 'other': expected one of grammar, llm"),
        (["--alternatives", "0"], "--alternatives 0: expected a whole number from 1 to 16"),
        (["--temperature", "nan"], "--temperature nan: expected a number from 0 to 2"),
        (["--generator", "llm", "--llm-base-url", "http://127.0.0.1:9/v1", "--prompt", "P"],
         "the first prompt uses ${oops}"),
    ],
)  # fmt: skip
def test_bad_invocations_are_one_line(tmp_path, scene_images, capsys, monkeypatch, args, message):
    monkeypatch.delenv("VIPEXEC_LLM_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "P").write_text("### first\n${oops}\n")
    queries = write_queries(tmp_path / "q.jsonl", [query_line("a", "good: how many?")])
    code = main(["generate", str(queries), "--images", str(scene_images), "--out", "o", *args])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and message in err and "Traceback" not in err


def test_generated_programs_are_scripts(chat_server, scene_images, tmp_path):
    queries = write_queries(tmp_path / "q.jsonl", [query_line("a", "good: how many?")])
    assert generate(queries, scene_images, tmp_path / "out", chat_server.url) == 0
    tree = ProgramTree.load(tmp_path / "out" / "a.json")
    for node, data in leaves(tree):
        program = tree.program(node)
        assert program.form == "script" and [b.step for b in program.blocks] == [1, 2]
        assert program.sha256[:16] == data["ends"][0]["program"]
        # the same program added whole lands on the same node
        assert tree.add(Program.from_source(program.source)) == node


def test_queries_are_grown_concurrently_within_the_bound(chat_server, scene_images, tmp_path):
    # every first-step request waits until three are in flight: the run only succeeds if
    # three queries are asked at once, and --concurrency 3 lets no fourth in
    chat_server.meet = threading.Barrier(3, timeout=30)
    queries = write_queries(
        tmp_path / "q.jsonl", [query_line(f"q{i}", f"good: question {i}?") for i in range(6)]
    )
    code = generate(queries, scene_images, tmp_path / "out", chat_server.url, "--concurrency",
                    "3", "--alternatives", "1", "--llm-retries", "0")  # fmt: skip
    assert code == 0
    assert chat_server.max_in_flight == 3
    for i in range(6):
        tree = ProgramTree.load(tmp_path / "out" / f"q{i}.json")
        assert [d["ending"] for _, d in leaves(tree)] == ["done"]


def test_grammar_generator_builds_trees_from_synthetic_queries(tmp_path):
    from vipexec.benchmark.synthetic_queries import make_synthetic_queries

    queries = make_synthetic_queries(tmp_path / "q", 3, seed=2)
    out = tmp_path / "trees"
    code = main(
        ["generate", str(queries), "--images", str(queries.parent / "images"), "--out", str(out),
         "--generator", "grammar", "--seed", "2"]
    )  # fmt: skip
    assert code == 0
    trees = sorted(out.glob("*.json"))
    assert len(trees) == 3
    for path in trees:
        tree = ProgramTree.load(path)
        ends = leaves(tree)
        assert len(ends) >= 2  # two alternatives per step: more than one program
        assert {data["ending"] for _, data in ends} == {"done"}
        assert tree.root["query"]["meta"]["family"]
        faults = [d["origin"].get("fault") for _, d in tree.nodes() if d.get("origin")]
        assert all(f is None or {"kind", "step"} <= f.keys() for f in faults)
