"""Runtime fault kinds of the grammar plans: each is a substitution that makes its block fail
when it runs (as programs written by language models fail), proposed at ``crash_rate``; the
fault-free programs of trees that hold them still answer as the scene files say."""

from __future__ import annotations

from collections import Counter

import pytest

from vipexec import Program
from vipexec.benchmark.plan import (
    CODE_FAULT_KINDS,
    FAULT_KINDS,
    RUNTIME_FAULT_KINDS,
    Fault,
    runtime_faults,
    step,
)
from vipexec.benchmark.scene_facts import Scene
from vipexec.benchmark.synthetic_queries import build_plan
from vipexec.generate.execute_tree import bind_images, execute_tree, tree_sandbox
from vipexec.generate.grammar import GrammarGenerator

EXPECTED_ERRORS = {
    "misspelled_method": {"AttributeError"},
    "wrong_type_method": {"AttributeError"},
    "index_out_of_range": {"IndexError"},
    "none_result": {"TypeError"},
}
"""what each kind raises when its block (for none_result: the next block reading it) runs"""


def faults_of(code: str) -> dict[str, Fault]:
    return {fault.kind: fault for fault in runtime_faults(code)}


def test_runtime_kinds_are_fault_kinds_of_their_own():
    assert set(RUNTIME_FAULT_KINDS) == set(EXPECTED_ERRORS)
    assert FAULT_KINDS == CODE_FAULT_KINDS + RUNTIME_FAULT_KINDS
    assert not set(CODE_FAULT_KINDS) & set(RUNTIME_FAULT_KINDS)


def test_each_runtime_fault_changes_what_it_says():
    code = (
        'found = image_patch.find("star")\n'
        "found.sort(key=lambda p: p.horizontal_center)\n"
        "first = found[0]\n"
        "count = len(found)"
    )
    faults = faults_of(code)
    assert set(faults) == set(RUNTIME_FAULT_KINDS)
    assert (faults["misspelled_method"].old, faults["misspelled_method"].new) == (
        ".find(",
        ".find_all(",
    )
    assert (faults["wrong_type_method"].old, faults["wrong_type_method"].new) == (
        "len(found)",
        "found.size()",
    )
    assert faults["index_out_of_range"].new == "found[len(found)]"
    assert faults["none_result"].new == "found = found.sort("
    for fault in faults.values():
        assert code.count(fault.old) == 1  # a substitution at one place only


def test_code_without_a_fitting_construct_gets_no_runtime_fault():
    assert runtime_faults('print(answer)\nprint("Work is Done!")') == []
    # a text that occurs twice is not a place for a substitution
    assert "wrong_type_method" not in faults_of("a = len(x)\nb = len(x)")


def test_steps_list_their_runtime_faults_after_the_others():
    made = step(
        "count them", "count = len(found)", Fault("off_by_one", "len(found)", "len(found) + 1")
    )
    assert [v.fault for v in made.variants] == [None, "off_by_one", "wrong_type_method"]
    assert made.variants[2].code == "count = found.size()"


def test_crash_rate_is_checked():
    with pytest.raises(ValueError, match="crash_rate"):
        GrammarGenerator(crash_rate=1.5)


def alternatives_of(generator, queries, n=3):
    """Every alternative (``n`` per step) the generator proposes for the correct prefixes of
    ``queries``."""
    for query in queries:
        plan = generator.plan(query)
        for number in range(1, len(plan.steps) + 1):
            blocks = [plan.steps[i].block(i + 1, 0) for i in range(number - 1)]
            yield from generator.next_block(query, blocks, n)


def test_without_crash_rate_no_runtime_fault_is_proposed_and_trees_do_not_change(queries):
    kinds = Counter(
        (a.origin["fault"] or {}).get("kind")
        for a in alternatives_of(GrammarGenerator(seed=5, fault_rate=1.0), queries)
    )
    assert not set(kinds) & set(RUNTIME_FAULT_KINDS)
    plain = list(alternatives_of(GrammarGenerator(seed=5), queries))
    zero = list(alternatives_of(GrammarGenerator(seed=5, crash_rate=0.0), queries))
    assert plain == zero


def test_with_crash_rate_one_every_fitting_faulty_alternative_fails_at_run_time(queries):
    generator = GrammarGenerator(seed=5, fault_rate=1.0, crash_rate=1.0)
    crashing = 0
    for query in queries:
        plan = generator.plan(query)
        for alternative in alternatives_of(generator, [query], n=2):
            fault = alternative.origin["fault"]
            variants = plan.steps[fault["step"] - 1].variants if fault else ()
            if any(v.fault in RUNTIME_FAULT_KINDS for v in variants):
                assert fault["kind"] in RUNTIME_FAULT_KINDS
                crashing += 1
    assert crashing >= len(queries)


def test_every_runtime_fault_fails_where_it_says(queries):
    """One program per runtime-fault variant of every family's plan: correct blocks elsewhere,
    the fault at its step; it raises the kind's error at its step (none_result: at the next
    block that reads the None)."""
    programs, expected = [], []
    for query in queries:
        plan = build_plan(query.meta["family"], query.meta["plan_seed"],
                          [Scene.load(p) for p in query.images])  # fmt: skip
        for number, plan_step in enumerate(plan.steps, start=1):
            for index, variant in enumerate(plan_step.variants):
                if variant.fault in RUNTIME_FAULT_KINDS:
                    choice = [0] * len(plan.steps)
                    choice[number - 1] = index
                    programs.append((query, Program.from_source(plan.source(choice))))
                    expected.append((variant.fault, number))
    assert {kind for kind, _ in expected} == set(RUNTIME_FAULT_KINDS)
    failed_at_step = Counter()
    with tree_sandbox(workers=2, timeout=60) as sandbox:
        for (query, program), (kind, number) in zip(programs, expected, strict=True):
            run = sandbox.map([program], bind_images(query.images, sandbox.images))[0]
            if run.error is None:
                continue  # e.g. a misspelt property in a sort key of an empty list never runs
            assert run.error.kind == "runtime" and run.error.type in EXPECTED_ERRORS[kind]
            failing = run.program.blocks[run.error.block].step
            assert failing == number or (kind == "none_result" and failing > number)
            failed_at_step[kind] += 1
    # the substitutions fail on most scenes, every kind at least once
    assert set(failed_at_step) == set(RUNTIME_FAULT_KINDS)
    assert sum(failed_at_step.values()) >= 0.8 * len(programs)


def test_trees_with_runtime_faults_keep_fault_free_leaves_right(queries, grow):
    generator = GrammarGenerator(seed=7, fault_rate=0.9, crash_rate=0.7)
    fault_free = crashed = 0
    with tree_sandbox(workers=2, timeout=60) as sandbox:
        for query in queries:
            tree = grow(generator, query)
            outcome = execute_tree(tree, query, sandbox, labelers=())
            for end, run in outcome.runs.items():
                faults = [tree.graph.nodes[n]["origin"]["fault"] for n in tree.path(end)]
                if not any(faults):
                    assert tree.graph.nodes[end]["ends"][0]["correct"], tree.source(end)
                    fault_free += 1
                kinds = {f["kind"] for f in faults if f}
                if run.error is not None and kinds & set(RUNTIME_FAULT_KINDS):
                    crashed += 1
    assert fault_free >= len(queries) and crashed >= len(queries) // 2
