"""A finished build: rows, ids, answers, splits by image, the card, HF loading and TRL's view."""

import io
import json
import shutil

import pytest

from vipexec.build.cli import stats_command
from vipexec.dataset import DIMENSIONS, and_label
from vipexec.generate.execute_tree import same_answer


def test_rows_follow_the_contract_with_answers(small_build, rows_of):
    from vipexec.reward.contract import validate_row

    rows = rows_of(small_build)
    assert len(rows) >= 3 * 14  # a tree of several programs per query
    for index, row in enumerate(rows):
        validate_row(row, index=index)
        for step in range(len(row["completions"])):
            assert row["labels"][step] == and_label([row[d][step] for d in DIMENSIONS])
        meta = row["meta"]
        assert meta["expected_answer"] is not None
        if meta["answer"] is None:
            assert meta["correct"] is False
        else:
            got, expected = json.loads(meta["answer"]), json.loads(meta["expected_answer"])
            assert meta["correct"] == same_answer(expected, got)
    correct = [row for row in rows if row["meta"]["source"].endswith("/no-fault")]
    assert correct and all(row["meta"]["correct"] for row in correct)
    assert any(row["meta"]["correct"] is False for row in rows)


def test_ids_are_unique(small_build, rows_of):
    rows = rows_of(small_build)
    program_ids = [row["meta"]["program_id"] for row in rows]
    assert len(set(program_ids)) == len(program_ids)
    # A query can carry two faults of one kind (the old builder's `{query}-{kind}` ids repeated
    # then): the program's position keeps them apart.
    assert all(pid.startswith(row["meta"]["query_id"] + "/") for pid, row in zip(program_ids, rows))


def test_no_image_is_in_two_splits(small_build, rows_of):
    splits_by_image = {}
    for row in rows_of(small_build):
        for image in row["images"]:
            splits_by_image.setdefault(image, set()).add(row["meta"]["split"])
    assert len(splits_by_image) >= 2
    assert all(len(splits) == 1 for splits in splits_by_image.values())


def test_loads_with_datasets_for_every_split(small_build, rows_of, tmp_path, monkeypatch):
    datasets = pytest.importorskip("datasets")
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "cache"))
    card = json.loads(
        next(line for line in (small_build / "README.md").read_text().splitlines()
             if line.startswith("vipexec: "))[len("vipexec: "):]
    )  # fmt: skip
    rows = rows_of(small_build)
    for split, info in card["splits"].items():
        loaded = datasets.load_dataset(
            str(small_build), split=split, cache_dir=str(tmp_path / "cache")
        )
        assert len(loaded) == info["rows"] == sum(r["meta"]["split"] == split for r in rows)
        for row in loaded:
            for step, label in enumerate(row["labels"]):
                implied = and_label([row[d][step] for d in DIMENSIONS])
                assert label == implied
        view = datasets.load_dataset(
            str(small_build), "trl", split=split, cache_dir=str(tmp_path / "cache")
        )
        assert len(view) == info["trl_rows"]
        assert all(label is not None for row in view for label in row["labels"])


def test_trl_view_cuts_rows_at_the_first_unknown_step():
    from vipexec.build.output import trl_view

    row = {"prompt": "q", "completions": ["a", "b", "c"], "labels": [True, None, False],
           "images": ["x.png"]}  # fmt: skip
    assert trl_view(row) == {
        "prompt": "q", "completions": ["a"], "labels": [True], "images": ["x.png"]
    }  # fmt: skip
    assert trl_view({**row, "labels": [None, True, True]}) is None


def test_trl_stepwise_tokenisation_accepts_every_row(small_build, rows_of):
    """TRL's own PRM tokenisation (PRMTrainer.tokenize_row) on every row of the TRL view.

    TRL 1.x removed PRMTrainer, so the reward extra pins trl below 1; 0.2x keeps it in
    ``trl.experimental.prm`` (earlier in ``trl.trainer.prm_trainer``)."""
    import inspect

    from transformers import BertTokenizer

    try:
        from trl.experimental.prm import PRMTrainer
    except ImportError:
        from trl.trainer.prm_trainer import PRMTrainer

    from vipexec.build.output import trl_view

    views = [v for v in map(trl_view, rows_of(small_build)) if v is not None]
    words = {w for v in views for text in (v["prompt"], *v["completions"]) for w in text.split()}
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted(words)]
    tokenizer = BertTokenizer(vocab={w: i for i, w in enumerate(vocab)})
    options = dict(
        max_length=None, max_prompt_length=None, max_completion_length=None,
        train_on_last_step_only=False, is_eval=False,
    )  # fmt: skip
    accepted = inspect.signature(PRMTrainer.tokenize_row).parameters
    options = {name: value for name, value in options.items() if name in accepted}
    assert views
    for view in views:
        out = PRMTrainer.tokenize_row(view, tokenizer, "\n", **options)
        marked = [label for label in out["labels"] if label != -100]
        assert marked == [int(label) for label in view["labels"]]


def test_stats_prints_the_card_and_finds_leaks(small_build, tmp_path):
    out = io.StringIO()
    assert stats_command(small_build, stdout=out, stderr=io.StringIO()) == 0
    assert "Label base rates" in out.getvalue()
    assert "no image is in two splits" in out.getvalue()
    leaky = tmp_path / "leaky"
    shutil.copytree(small_build, leaky)
    shard = sorted((leaky / "jsonl").glob("train-*.jsonl"))[0]
    rows = [json.loads(line) for line in shard.read_text().splitlines()]
    rows[0]["meta"]["split"] = "test"
    shard.write_text("".join(json.dumps(row) + "\n" for row in rows))
    err = io.StringIO()
    assert stats_command(leaky, stdout=io.StringIO(), stderr=err) == 1
    assert "is in splits test, train" in err.getvalue()


def test_stats_on_a_folder_that_is_no_build(tmp_path):
    err = io.StringIO()
    assert stats_command(tmp_path, stdout=io.StringIO(), stderr=err) == 2
    assert err.getvalue().count("\n") == 1 and "not a build" in err.getvalue()
