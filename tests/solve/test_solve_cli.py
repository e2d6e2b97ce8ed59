"""``vipexec solve``: bad input is one line and exit 2; a search prints its answer and program."""

from __future__ import annotations

import json

import pytest

from vipexec.benchmark.synthetic_queries import make_synthetic_queries
from vipexec.cli import main
from vipexec.core.tree import ProgramTree


@pytest.fixture(scope="module")
def queries_file(tmp_path_factory):
    return make_synthetic_queries(tmp_path_factory.mktemp("solve"), 3, seed=5)


def first_ids(path, count):
    return [json.loads(line)["id"] for line in path.read_text().splitlines()[:count]]


def refused(capsys, argv):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vipexec: "), err
    return lines[0]


def test_nothing_to_solve(capsys):
    assert "--queries" in refused(capsys, ["solve", "--unguided"])


def test_neither_model_nor_unguided(capsys, queries_file):
    line = refused(capsys, ["solve", "--queries", str(queries_file)])
    assert "--model" in line and "--unguided" in line


def test_both_model_and_unguided(capsys, queries_file, tmp_path):
    line = refused(
        capsys, ["solve", "--queries", str(queries_file), "--unguided", "--model", str(tmp_path)]
    )
    assert "--model" in line


def test_missing_files(capsys, queries_file, tmp_path):
    assert "no such queries file" in refused(
        capsys, ["solve", "--queries", str(tmp_path / "nope.jsonl"), "--unguided"]
    )
    assert "no such reward model" in refused(
        capsys, ["solve", "--queries", str(queries_file), "--model", str(tmp_path / "nope")]
    )
    assert "not a folder" in refused(
        capsys,
        ["solve", "--queries", str(queries_file), "--images", str(tmp_path / "x"), "--unguided"],
    )


def test_a_folder_that_is_no_reward_model(capsys, queries_file, tmp_path):
    pytest.importorskip("torch")
    empty = tmp_path / "model"
    empty.mkdir()
    refused(capsys, ["solve", "--queries", str(queries_file), "--model", str(empty)])


def test_unknown_query_id(capsys, queries_file):
    line = refused(capsys, ["solve", "--queries", str(queries_file), "--id", "zz", "--unguided"])
    assert "'zz'" in line


def test_free_question_needs_a_generator_that_can_write_it(capsys, tmp_path):
    image = tmp_path / "x.png"
    image.write_bytes(b"")
    line = refused(capsys, ["solve", "How many cubes?", str(image), "--unguided"])
    assert "--generator llm" in line


def test_llm_generator_without_a_model(capsys, tmp_path, monkeypatch):
    for name in ("VIPEXEC_LLM_BASE_URL", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    line = refused(
        capsys,
        ["solve", "How many cubes?", "--unguided", "--generator", "llm", "--cache", str(tmp_path)],
    )
    assert "--llm-base-url" in line


def test_missing_image_and_empty_question(capsys, tmp_path):
    assert "no such image" in refused(
        capsys, ["solve", "Q?", str(tmp_path / "gone.png"), "--unguided"]
    )
    assert "empty" in refused(capsys, ["solve", "  ", "--unguided"])


def test_question_and_queries_together(capsys, queries_file):
    line = refused(capsys, ["solve", "Q?", "--queries", str(queries_file), "--unguided"])
    assert "not both" in line


def test_bad_numbers(capsys, queries_file):
    base = ["solve", "--queries", str(queries_file), "--unguided"]
    assert "--alternatives" in refused(capsys, [*base, "--alternatives", "0"])
    assert "--max-steps" in refused(capsys, [*base, "--max-steps", "0"])
    assert "--timeout" in refused(capsys, [*base, "--timeout", "-1"])
    assert "--threshold" in refused(capsys, [*base, "--threshold", "1.5"])


def test_unguided_search_prints_answers_programs_and_a_summary(capsys, queries_file, tmp_path):
    ids = first_ids(queries_file, 2)
    argv = ["solve", "--queries", str(queries_file), "--unguided", "--tree", str(tmp_path / "t")]
    code = main([*argv, "--id", ids[0], "--id", ids[1]])
    out = capsys.readouterr().out
    assert code == 0
    for query_id in ids:
        assert f"{query_id}: " in out
        tree = ProgramTree.load(tmp_path / "t" / f"{query_id}.json")
        assert tree.root["search"]["chooser"] == "random"
        kept = [data for _, data in tree.nodes() if data.get("search", {}).get("kept")]
        assert kept and all(data["cot"].startswith("In this step, we use") for data in kept)
    assert out.count("  answer: ") == 2
    assert "# Step 1:" in out
    assert out.strip().splitlines()[-1].startswith("2 queries searched")


def test_json_lines_are_one_object_per_query_and_repeat_with_the_seed(capsys, queries_file):
    ids = first_ids(queries_file, 3)
    argv = ["solve", "--queries", str(queries_file), "--unguided", "--json", "--seed", "3"]
    outputs = []
    for _ in range(2):
        assert main(argv) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1]
    records = [json.loads(line) for line in outputs[0].splitlines()]
    assert [r["query_id"] for r in records] == ids
    for record in records:
        assert record["ending"] in ("done", "error", "step_limit", "malformed", "no_alternatives")
        assert record["correct"] in (True, False)
        assert record["program"].startswith("# Step 1:")
        assert len(record["steps"]) == record["program"].count("# Step ")
