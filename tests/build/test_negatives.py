"""Negatives a build makes on purpose: runtime faults (relevance), a noisy perception backend
for some queries (attribute), both seeded; and each row's code-and-values steps."""

from __future__ import annotations

import io
import json
from collections import Counter

import pyarrow.parquet as pq
import pytest

from vipexec.benchmark.plan import RUNTIME_FAULT_KINDS
from vipexec.build.backends import CLEAN, NOISY, noise_options, query_backend
from vipexec.build.cli import PRESETS, Negatives, build_command
from vipexec.build.code_steps import MAX_STEP_CHARS, MAX_VALUE_CHARS, code_step
from vipexec.cli import main
from vipexec.core.program import Program
from vipexec.core.run import BlockTrace
from vipexec.core.step_rows import DIMENSIONS

NEGATIVES = Negatives(fault_rate=0.9, crash_rate=0.6, noise=0.3, noisy_share=0.5)


@pytest.fixture(scope="module")
def noisy_build(tmp_path_factory, build_dataset):
    out = tmp_path_factory.mktemp("negatives") / "noisy"
    build_dataset(out, negatives=NEGATIVES)
    return out


def test_which_queries_run_noisy_is_seeded_and_follows_the_share():
    ids = [f"q{i:05d}" for i in range(400)]
    chosen = [query_backend(i, noise=0.3, share=0.5, seed=0) for i in ids]
    assert chosen == [query_backend(i, noise=0.3, share=0.5, seed=0) for i in ids]
    noisy = [b for b in chosen if b.name == NOISY]
    assert 140 <= len(noisy) <= 260
    assert all(b.noise == 0.3 and b.options == noise_options(0.3, 0) for b in noisy)
    assert all(b.name == CLEAN and b.noise == 0 for b in chosen if b not in noisy)
    other_seed = [query_backend(i, noise=0.3, share=0.5, seed=1).name for i in ids]
    assert other_seed != [b.name for b in chosen]
    assert {query_backend(i, noise=0.3, share=1.0, seed=0).name for i in ids} == {NOISY}
    assert {query_backend(i, noise=0.0, share=1.0, seed=0).name for i in ids} == {CLEAN}
    assert {query_backend(i, noise=0.3, share=0.0, seed=0).name for i in ids} == {CLEAN}


def test_rows_record_their_backend_and_have_negatives_in_every_dimension(noisy_build, rows_of):
    rows = rows_of(noisy_build)
    backends = Counter()
    for row in rows:
        meta = row["meta"]
        chosen = query_backend(meta["query_id"], noise=0.3, share=0.5, seed=0)
        assert (meta["backend"], meta["noise"]) == (chosen.name, chosen.noise)
        backends[meta["backend"]] += 1
    assert set(backends) == {CLEAN, NOISY}
    for dimension in DIMENSIONS:
        assert any(False in row[dimension] for row in rows), dimension
    variants = {row["meta"]["source"].rsplit("/", 1)[1] for row in rows}
    assert {kind for kind in RUNTIME_FAULT_KINDS if any(kind in v for v in variants)}
    # attribute negatives come from the noisy backend: the clean one's calls are right
    clean_false = [r for r in rows if r["meta"]["backend"] == CLEAN and False in r["attribute"]]
    noisy_false = [r for r in rows if r["meta"]["backend"] == NOISY and False in r["attribute"]]
    assert len(noisy_false) > len(clean_false)


def test_a_failed_program_ends_at_its_failing_block_once(noisy_build, rows_of):
    rows = rows_of(noisy_build)
    failed = [row for row in rows if row["meta"]["answer"] is None]
    assert failed
    for row in failed:
        # the failing block is the last one, and nothing after it is in the row
        assert row["relevance"][-1] is False and False not in row["relevance"][:-1]
        assert "# error: " in row["meta"]["code_steps"][-1]
    paths = Counter((row["meta"]["query_id"], tuple(row["meta"]["block_ids"])) for row in rows)
    assert max(paths.values()) == 1


def test_code_steps_are_aligned_with_the_completions(noisy_build, rows_of):
    for row in rows_of(noisy_build):
        steps = row["meta"]["code_steps"]
        assert len(steps) == len(row["completions"])
        blocks = Program.from_source(row["meta"]["program"]).blocks
        for block, text in zip(blocks, steps, strict=False):
            assert text.startswith(block.source.rstrip("\n"))
            assert len(text) <= MAX_STEP_CHARS
        if row["meta"]["answer"] is not None:  # a program that ran: its first block's values
            assert "\n# " in steps[0].removeprefix(blocks[0].source.rstrip("\n"))


def test_the_parquet_rows_carry_the_build_meta(noisy_build):
    table = pq.read_table(next((noisy_build / "data").glob("train-*.parquet")))
    row = table.slice(0, 1).to_pylist()[0]
    assert row["meta"]["backend"] in (CLEAN, NOISY) and isinstance(row["meta"]["noise"], float)
    assert len(row["meta"]["code_steps"]) == len(row["completions"])


def test_the_card_states_the_negatives(noisy_build):
    card = (noisy_build / "README.md").read_text()
    facts = json.loads(next(line for line in card.splitlines() if line.startswith("vipexec: "))[9:])
    assert facts["models"]["noisy"] == {"backend": NOISY, "noise": 0.3, "share": 0.5}
    assert facts["crash_rate"] == 0.6
    settings = json.loads((noisy_build / "build.json").read_text())["identity"]["settings"]
    assert (settings["noise"], settings["noisy_share"], settings["crash_rate"]) == (0.3, 0.5, 0.6)


def test_the_same_seed_gives_the_same_labels(noisy_build, build_dataset, files_of, tmp_path):
    again = tmp_path / "noisy"
    build_dataset(again, negatives=NEGATIVES)
    assert files_of(again) == files_of(noisy_build)


def test_a_rerun_with_other_noise_is_refused(noisy_build, files_of):
    before = files_of(noisy_build)
    source = noisy_build / "source"
    err = io.StringIO()
    code = build_command(
        source / "queries.jsonl", images=source / "images", out=noisy_build, command="other",
        negatives=Negatives(noise=0.1), stdout=io.StringIO(), stderr=err, show_progress=False,
    )  # fmt: skip
    assert code == 2 and err.getvalue().count("\n") == 1 and "noise" in err.getvalue()
    assert files_of(noisy_build) == before


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--noise", "2"], "--noise 2.0: expected a number from 0 to 1"),
        (["--crash-rate", "-0.5"], "--crash-rate -0.5: expected a number from 0 to 1"),
        (["--preset", "loud"], "--preset 'loud': one of plain, reward"),
    ],
)
def test_bad_negatives_options_are_one_line(tmp_path, capfd, options, message):
    assert main(["dataset", str(tmp_path / "o"), "--queries", "2", *options]) == 2
    err = capfd.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "o").exists()


def test_the_reward_preset_makes_every_kind_of_negative():
    reward = PRESETS["reward"]
    assert reward.noise > 0 and reward.noisy_share > 0 and reward.crash_rate > 0
    assert PRESETS["plain"] == Negatives()


def test_a_code_step_is_the_block_then_its_values_cut_to_length():
    program = Program.from_source('# Step 1: find\nfound = ImagePatch(image).find("star")\n')
    block = program.blocks[0]
    many = {"type": "list", "len": 500, "items": [{"type": "int", "value": i} for i in range(500)]}
    trace = BlockTrace(0, 1, "find", (1, 2), "ok", variables={"found": many}, executions=1)
    text = code_step(block, trace)
    assert text.startswith(block.source.rstrip("\n") + "\n# found = ")
    assert len(text.splitlines()[-1]) <= MAX_VALUE_CHARS + 8
    failed = BlockTrace(
        0, 1, "find", (1, 2), "error", executions=1,
        error={"type": "AttributeError", "message": "'list' object has no attribute 'size'"},
    )  # fmt: skip
    assert code_step(block, failed).endswith(
        "# error: AttributeError: 'list' object has no attribute 'size'"
    )
