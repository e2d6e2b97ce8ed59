"""The grammar generator and tree execution on synthetic queries: fault-free programs answer as
the scene files say, fault paths carry their fault, shared calls are computed once."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from vipexec import Program
from vipexec.benchmark.plan import DONE, FAULT_KINDS
from vipexec.benchmark.scene_facts import Scene
from vipexec.benchmark.synthetic_queries import FAMILIES, build_plan, make_synthetic_queries
from vipexec.generate.execute_tree import execute_tree, same_answer, tree_sandbox
from vipexec.generate.grammar import GrammarGenerator


@pytest.fixture(scope="module")
def executed(queries, grow):
    generator = GrammarGenerator(seed=1)
    trees = []
    with tree_sandbox(workers=2, timeout=30) as sandbox:
        for query in queries:
            tree = grow(generator, query)
            outcome = execute_tree(tree, query, sandbox, labelers=())
            trees.append((query, tree, outcome))
    return trees


def fault_free(tree, end):
    return all(tree.graph.nodes[n]["origin"]["fault"] is None for n in tree.path(end))


def test_at_least_twenty_families_and_every_fault_kind():
    assert len(FAMILIES) >= 20
    kinds = {spec.inputs for spec in FAMILIES.values()}
    assert kinds == {"image", "images", "clip"}


def test_queries_cover_every_family_and_are_reproducible(queries, reload_queries, tmp_path):
    assert Counter(q.meta["family"] for q in queries) == Counter(list(FAMILIES))
    again = reload_queries(make_synthetic_queries(tmp_path, len(FAMILIES), seed=3))
    assert [(q.query, q.answer, q.meta) for q in again] == [
        (q.query, q.answer, q.meta) for q in queries
    ]


def test_make_synthetic_queries_refuses_unknown_families(tmp_path):
    with pytest.raises(ValueError, match="unknown query families"):
        make_synthetic_queries(tmp_path, 3, seed=0, family_names=["count_shape", "nope"])


def test_plans_use_every_fault_kind_and_several_styles(queries):
    faults, styles = set(), Counter()
    for query in queries:
        scenes = [Scene.load(p) for p in query.images]
        for seed in range(6):
            plan = build_plan(query.meta["family"], seed, scenes)
            if plan is None:
                continue
            styles[plan.style] += 1
            for step in plan.steps:
                correct = step.variants[0].code
                for variant in step.variants[1:]:
                    assert variant.code != correct
                    faults.add(variant.fault)
            assert plan.steps[-1].variants[0].code.endswith(DONE)
            program = Program.from_source(plan.source())
            assert [b.step for b in program.blocks] == list(range(1, len(plan.steps) + 1))
    assert faults - {None} == set(FAULT_KINDS)
    assert set(styles) == {"viper", "visprog"}


def test_alternatives_start_correct_and_record_their_fault(queries):
    generator = GrammarGenerator(seed=1, fault_rate=1.0)
    query = queries[0]
    first = generator.first_block(query, 2)
    assert first[0].origin["fault"] is None
    assert first[1].origin["fault"] == {"kind": first[1].origin["fault"]["kind"], "step": 1}
    assert all(a.block.startswith("# Step 1: ") for a in first)
    second = generator.next_block(query, [first[1].block], 2)
    assert all(a.block.startswith("# Step 2: ") for a in second)
    assert generator.first_block(query, 2) == first  # the same tree on every run
    plan = generator.plan(query)
    assert generator.next_block(query, ["x"] * len(plan.steps), 2) == []


def test_fault_free_leaves_agree_with_the_scene_truth(executed):
    checked = 0
    for query, tree, _ in executed:
        assert tree.graph.graph["answer"] == query.answer
        for end in tree.end_nodes():
            if fault_free(tree, end):
                record = tree.graph.nodes[end]["ends"][0]
                assert record["correct"], (query.query, query.answer, record, tree.source(end))
                checked += 1
    assert checked >= len(executed)


def test_fault_paths_carry_their_fault(executed):
    faulty_leaves = wrong = 0
    for _, tree, _ in executed:
        for end in tree.end_nodes():
            path = tree.path(end)
            faults = [tree.graph.nodes[n]["origin"]["fault"] for n in path]
            for depth, fault in enumerate(faults, start=1):
                if fault is not None:
                    assert fault["step"] == depth and fault["kind"] in FAULT_KINDS
            if any(faults):
                faulty_leaves += 1
                wrong += not tree.graph.nodes[end]["ends"][0]["correct"]
    assert faulty_leaves > 0 and wrong > 0


def test_every_node_has_a_trace_and_the_root_the_query(executed):
    for query, tree, outcome in executed:
        graph = tree.graph.graph
        assert graph["query"] == query.query and graph["query_id"] == query.id
        assert graph["images"] == [str(p) for p in query.images]
        assert outcome.programs == len(tree.end_nodes())
        for _, data in tree.nodes():
            assert data["trace"] is not None


def test_same_answer_compares_printed_values():
    assert same_answer(3, "3") and same_answer("Red", "red ") and same_answer(2, 2.0)
    assert not same_answer("yes", "no") and not same_answer(1, None)


def counting_backend(made):
    """A synthetic backend that counts the API calls it computes (a call one method makes to
    another, like ``exists`` asking ``find``, is not counted again)."""
    import threading

    from vipexec.modules.synthetic.backend import SyntheticBackend

    # the server computes calls on several threads: the nesting depth is per thread, the
    # counter is shared under a lock
    nesting, lock = threading.local(), threading.Lock()

    def counted(method):
        def call(self, *args, **kwargs):
            depth = getattr(nesting, "depth", 0)
            if depth == 0:
                with lock:
                    made[method] += 1
            nesting.depth = depth + 1
            try:
                return getattr(SyntheticBackend, method)(self, *args, **kwargs)
            finally:
                nesting.depth = depth

        return call

    methods = ("find", "exists", "verify_property", "simple_query", "compute_depth")
    return type("Counting", (SyntheticBackend,), {m: counted(m) for m in methods})()


def call_key(call):
    return json.dumps([call["method"], call.get("image"), call.get("box"), call.get("args")])


def test_model_calls_made_equal_unique_calls(queries, grow):
    from vipexec.modules.caching import CachingServer
    from vipexec.modules.dispatch import LocalDispatcher
    from vipexec.modules.images import ImageStore
    from vipexec.sandbox.isolation.pool import Sandbox

    made = Counter()
    store = ImageStore()
    server = CachingServer(LocalDispatcher(counting_backend(made), store))
    generator = GrammarGenerator(seed=2, fault_rate=0.7)
    unique, total = set(), 0
    with Sandbox(2, server=server, store=store, timeout=30) as sandbox:
        for query in queries[:10]:
            outcome = execute_tree(
                grow(generator, query, alternatives=3), query, sandbox, labelers=()
            )
            for run in outcome.runs.values():
                for block in run.blocks:
                    total += len(block.calls)
                    unique.update(call_key(call) for call in block.calls)
    assert total > len(unique) > 0  # programs of one tree did share calls
    assert sum(made.values()) == len(unique)


@pytest.mark.slow
def test_two_hundred_queries_fault_free_leaves_all_agree(tmp_path, grow, reload_queries):
    generator = GrammarGenerator(seed=0)
    disagreeing, checked = [], 0
    with tree_sandbox(workers=2, timeout=60) as sandbox:
        for query in reload_queries(make_synthetic_queries(tmp_path, 200, seed=0)):
            tree = grow(generator, query)
            execute_tree(tree, query, sandbox, labelers=())
            for end in tree.end_nodes():
                if fault_free(tree, end):
                    checked += 1
                    if not tree.graph.nodes[end]["ends"][0]["correct"]:
                        disagreeing.append((query.id, query.query, tree.source(end)))
    assert checked >= 200 and disagreeing == []
