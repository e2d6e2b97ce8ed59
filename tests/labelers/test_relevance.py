"""Relevance labels on hand-built traces: every error position, loops, and the None cases."""

from __future__ import annotations

import pytest

from vipexec.labelers.relevance import RelevanceLabeler

STRAIGHT = """def execute_command(image):
    # Step 1: find
    image_patch = ImagePatch(image)
    circles = image_patch.find("circle")
    # Step 2: count
    count = len(circles)
    # Step 3: answer
    return count
"""
# blocks: 0 (lines 2-4), 1 (5-6), 2 (7-8)

LOOP = """def execute_command(image):
    # Step 1: find
    patches = ImagePatch(image).find("circle")
    # Step 2: filter
    kept = []
    for patch in patches:
        # Step 3: check each
        if patch.verify_property("circle", "red"):
            kept.append(patch)
        # Step 4: note it
        last = patch
    # Step 5: answer
    return len(kept)
"""
# blocks: 0 (2-3), 1 (4-11, loop), 2 (7-9, nested), 3 (10-11, nested), 4 (12-13)

label = RelevanceLabeler().label


def test_successful_run_is_all_positive(kit):
    run = kit.hand_run(STRAIGHT, ["ok", "ok", "ok"], result=2)
    labels = label(run)
    assert kit.values(labels) == [True, True, True]
    assert labels[0].text == "compiled and ran once without error"


@pytest.mark.parametrize(
    ("failing", "expected"),
    [
        (0, [False, False, False]),
        (1, [True, False, False]),
        (2, [True, True, False]),
    ],
)
def test_runtime_error_at_each_position(kit, failing, expected):
    statuses = ["ok"] * failing + ["error"] + ["not_run"] * (2 - failing)
    line = [4, 6, 8][failing]
    run = kit.hand_run(STRAIGHT, statuses, error=kit.err(block=failing, line=line))
    labels = label(run)
    assert kit.values(labels) == expected
    assert "raised ValueError: boom" in labels[failing].text
    for later in range(failing + 1, 3):
        assert labels[later].text.startswith(f"could not run: block {failing} failed first")


def test_compile_error_makes_every_block_negative(kit):
    run = kit.hand_run(
        STRAIGHT,
        ["not_run"] * 3,
        error=kit.err("compile", "SyntaxError", "invalid syntax", block=1, line=6),
    )
    labels = label(run)
    assert kit.values(labels) == [False, False, False]
    assert labels[0].text.startswith("the program does not compile")


def test_policy_refusal_at_compile_time_is_a_compile_failure(kit):
    run = kit.hand_run(
        STRAIGHT, ["not_run"] * 3, error=kit.err("policy", "PolicyError", "import", block=0, line=3)
    )
    assert kit.values(label(run)) == [False, False, False]


def test_policy_violation_at_run_time_counts_against_its_block(kit):
    run = kit.hand_run(
        STRAIGHT,
        ["ok", "error", "not_run"],
        error=kit.err("policy", "PolicyError", "open() is refused", block=1, line=6),
    )
    assert kit.values(label(run)) == [True, False, False]


def test_error_in_a_loop_body_blames_the_nested_block_and_its_loop(kit):
    run = kit.hand_run(
        LOOP,
        ["ok", "error", "error", "not_run", "not_run"],
        error=kit.err(block=2, line=8),
        executions={1: 1, 2: 3},
    )
    labels = label(run)
    assert kit.values(labels) == [True, False, False, False, False]
    assert labels[1].text.startswith("encloses block 2")
    assert labels[3].text.startswith("could not run: block 2 failed first")


def test_error_in_the_second_nested_block_keeps_the_first_positive(kit):
    run = kit.hand_run(
        LOOP,
        ["ok", "error", "ok", "error", "not_run"],
        error=kit.err(block=3, line=11),
        executions={1: 1, 2: 2, 3: 2},
    )
    assert kit.values(label(run)) == [True, False, True, False, False]


def test_empty_loop_without_error_leaves_the_body_unjudged(kit):
    run = kit.hand_run(LOOP, ["ok", "ok", "not_run", "not_run", "ok"], result=0)
    labels = label(run)
    assert kit.values(labels) == [True, True, None, None, True]
    assert "control flow" in labels[2].text


def test_block_skipped_before_the_failure_is_unjudged(kit):
    # the loop body never ran (empty list), then the answer block failed
    run = kit.hand_run(
        LOOP, ["ok", "ok", "not_run", "not_run", "error"], error=kit.err(block=4, line=13)
    )
    labels = label(run)
    assert kit.values(labels) == [True, True, None, None, False]
    assert "skipped before the failure" in labels[2].text


def test_timeout_counts_against_the_running_block_and_what_encloses_it(kit):
    run = kit.hand_run(
        LOOP,
        ["ok", "error", "error", "not_run", "not_run"],
        error=kit.err("timeout", "Timeout", "deadline", block=2, line=7),
    )
    labels = label(run)
    assert kit.values(labels) == [True, False, False, False, False]
    assert labels[2].text == "the program timed out while this block ran"


def test_memory_kill_without_a_line(kit):
    run = kit.hand_run(
        STRAIGHT,
        ["ok", "error", "not_run"],
        error=kit.err("memory", "MemoryError", "killed", block=1, line=None),
    )
    labels = label(run)
    assert kit.values(labels) == [True, False, False]
    assert labels[1].text == "the program hit the memory limit while this block ran"


def test_crash_with_unknown_block_blames_what_did_not_run_after(kit):
    run = kit.hand_run(
        STRAIGHT, ["ok", "not_run", "not_run"], error=kit.err("crashed", "WorkerCrash", "signal")
    )
    labels = label(run)
    assert kit.values(labels) == [True, False, False]


def test_exception_caught_by_the_program_is_still_negative(kit):
    run = kit.hand_run(STRAIGHT, ["ok", "error", "ok"], error=None, result=0)
    labels = label(run)
    assert kit.values(labels) == [True, False, True]
    assert "the program caught it" in labels[1].text


def test_real_runs(kit, run_on):
    ok = run_on(STRAIGHT)
    assert kit.values(label(ok)) == [True, True, True]
    broken = run_on(STRAIGHT.replace("len(circles)", "len(circle)"))
    labels = label(broken)
    assert kit.values(labels) == [True, False, False]
    assert "NameError" in labels[1].text
    syntax = run_on(STRAIGHT.replace("len(circles)", "len(circles"))
    assert kit.values(label(syntax)) == [False, False, False]
