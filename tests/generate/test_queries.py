"""QUERIES.jsonl lines: good lines load, each bad line is one error naming file and line."""

from __future__ import annotations

import json

from vipexec.generate.queries import read_queries


def test_good_and_bad_lines(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    (images / "a.png").write_bytes(b"png")
    (images / "sub").mkdir()
    (images / "sub" / "b.png").write_bytes(b"png")
    lines = [
        {"id": "q1", "query": "How many?", "images": ["a.png"], "answer": 3, "split": "test",
         "family": "count"},
        {"id": 7, "query": "Two images?", "images": ["a.png", "sub/b.png"]},
        "[1, 2]",
        {"id": "../escape", "query": "x", "images": []},
        {"id": "q3", "query": "  ", "images": []},
        {"id": "q4", "query": "x", "images": "a.png"},
        {"id": "q5", "query": "x", "images": ["nope.png"]},
        {"id": "q6", "query": "x", "split": 1},
        {"id": "q1", "query": "again"},
        "",
        '{"id": "q9", ',
    ]  # fmt: skip
    path = tmp_path / "queries.jsonl"
    path.write_text(
        "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n"
    )
    queries, errors = read_queries(path, images)
    assert [q.id for q in queries] == ["q1", "7"]
    first, second = queries
    assert first.images == ((images / "a.png").resolve(),)
    assert (first.answer, first.split, first.meta) == (3, "test", {"family": "count"})
    assert second.images == ((images / "a.png").resolve(), (images / "sub" / "b.png").resolve())
    assert second.answer is None and second.split is None
    assert [e.split(": ", 1)[0] for e in errors] == [
        f"{path}:{n}" for n in (3, 4, 5, 6, 7, 8, 9, 11)
    ]
    assert errors[0].endswith("expected a JSON object, got list")
    assert "id '../escape'" in errors[1] and "it names a file" in errors[1]
    assert errors[2].endswith("'query' must be a non-empty string")
    assert errors[3].endswith("'images' must be a list of paths (strings)")
    assert errors[4].endswith(f"image 'nope.png' not found in {images}")
    assert errors[5].endswith("'split' must be a string")
    assert errors[6].endswith("id 'q1' repeats line 1")
    assert "not JSON" in errors[7]


def test_an_unreadable_file_is_one_error(tmp_path):
    queries, errors = read_queries(tmp_path / "none.jsonl", tmp_path)
    assert queries == []
    assert errors == [
        f"{tmp_path / 'none.jsonl'}: cannot read the queries file: No such file or directory"
    ]
