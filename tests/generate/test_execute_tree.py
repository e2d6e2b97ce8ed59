"""Tree execution: labels per node (one set where programs share it), CoT text, the call cache."""

from __future__ import annotations

import threading

import pytest

from vipexec.generate.execute_tree import execute_tree, same_answer, tree_sandbox
from vipexec.generate.grammar import GrammarGenerator
from vipexec.labelers import label_run
from vipexec.labelers.base import LabelContext
from vipexec.modules.caching import CachingServer
from vipexec.modules.dispatch import ServedCall

DIMENSIONS = ("relevance", "logic", "attribute")


class RecordingConverter:
    """A converter double: says which block it saw and keeps every context."""

    name = "recording"

    def __init__(self):
        self.seen = []

    def convert(self, step):
        self.seen.append(step)
        return f"In this step, we use step {step.block.step}: {step.block.description}."


@pytest.fixture(scope="module")
def labelled(queries, grow):
    generator = GrammarGenerator(seed=4, fault_rate=0.8)
    converter = RecordingConverter()
    done = []
    with tree_sandbox(workers=2, timeout=30) as sandbox:
        for query in queries[:4]:
            tree = grow(generator, query)
            outcome = execute_tree(tree, query, sandbox, converter=converter)
            done.append((query, tree, outcome, sandbox.images))
    return done, converter


def test_every_node_gets_labels_on_three_dimensions(labelled):
    trees, _ = labelled
    for _, tree, _, _ in trees:
        for _, data in tree.nodes():
            assert set(data["labels"]) == set(DIMENSIONS)
            assert all(data["labels"][d]["value"] in (True, False, None) for d in DIMENSIONS)


def test_a_shared_node_keeps_the_most_negative_label(labelled):
    trees, _ = labelled
    rank = {False: 0, True: 1, None: 2}
    shared = 0
    for query, tree, outcome, store in trees:
        seen: dict[tuple[str, str], list] = {}
        for end, run in outcome.runs.items():
            run.meta["query"] = query.query
            found = label_run(run, context=LabelContext(query=query.query, store=store))
            for position, node in enumerate(tree.path(end)):
                for dimension in DIMENSIONS:
                    seen.setdefault((node, dimension), []).append(found[dimension][position].value)
        for (node, dimension), values in seen.items():
            kept = tree.graph.nodes[node]["labels"][dimension]["value"]
            assert kept == min(values, key=rank.__getitem__)
            shared += len(values) > 1
    assert shared > 0


def test_cot_text_is_written_into_every_node(labelled):
    trees, converter = labelled
    for _, tree, outcome, _ in trees:
        for end, run in outcome.runs.items():
            path = tree.path(end)
            for position, node in enumerate(path):
                block = run.program.blocks[position]
                assert tree.graph.nodes[node]["cot"] == (
                    f"In this step, we use step {block.step}: {block.description}."
                )
    last_steps = [s for s in converter.seen if s.result is not None]
    assert last_steps and all("Work is Done" in s.block.source for s in last_steps)
    later = [s for s in converter.seen if s.block.step > 1]
    assert later and all(len(s.previous) == s.block.step - 1 for s in later)


def test_the_root_carries_query_images_and_answer(labelled):
    trees, _ = labelled
    for query, tree, _, _ in trees:
        graph = tree.graph.graph
        assert (graph["query_id"], graph["query"], graph["answer"]) == (
            query.id,
            query.query,
            query.answer,
        )
        assert graph["images"] == [str(path) for path in query.images]
        assert set(graph["labels"]) == set(DIMENSIONS)


class FlakyServer:
    """Fails the first call, then answers with how many calls it has computed."""

    backend_id = "flaky@1()"

    def __init__(self):
        self.calls = 0

    def serve(self, method, image, box, args):
        self.calls += 1
        if self.calls == 1:
            return ServedCall(
                None, 0.0, self.backend_id, error="ValueError: boom", error_type="ValueError"
            )
        return ServedCall(self.calls, 0.0, self.backend_id)


def test_the_cache_answers_repeats_and_skips_failures():
    server = FlakyServer()
    caching = CachingServer(server)
    args = {"object_name": "red circle"}
    assert caching.serve("find", "img", (0, 0, 4, 4), args).error == "ValueError: boom"
    answer = caching.serve("find", "img", (0, 0, 4, 4), args)
    assert (answer.result, answer.cache_hit) == (2, None)
    again = caching.serve("find", "img", (0, 0, 4, 4), dict(args))
    assert (again.result, again.cache_hit) == (2, True)
    other = caching.serve("find", "img", (0, 0, 4, 5), args)
    assert other.result == 3 and server.calls == 3 == caching.computed


class GatedServer:
    """Answers only once ``gate`` is open, counting the calls it computes."""

    backend_id = "gated@1()"

    def __init__(self):
        self.gate = threading.Event()
        self.calls = 0

    def serve(self, method, image, box, args):
        self.calls += 1
        self.gate.wait(30)
        return ServedCall("answer", 0.0, self.backend_id)


def test_concurrent_identical_calls_are_computed_once():
    server = GatedServer()
    caching = CachingServer(server)
    results = []

    def ask():
        results.append(caching.serve("simple_query", "img", (0, 0, 1, 1), {"question": "q"}))

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    server.gate.set()
    for thread in threads:
        thread.join(30)
    assert [r.result for r in results] == ["answer"] * 4
    assert server.calls == 1


def test_what_the_builder_recorded_on_an_end_stays(queries, grow):
    query = queries[0]
    tree = grow(GrammarGenerator(seed=5), query)
    for end in tree.end_nodes():
        tree.graph.nodes[end]["ends"][0]["status"] = "ended"
    with tree_sandbox(workers=1, timeout=30) as sandbox:
        outcome = execute_tree(tree, query, sandbox, labelers=())
    for end in tree.end_nodes():
        (record,) = tree.graph.nodes[end]["ends"]
        assert record["status"] == "ended"
        assert record["answer"] == outcome.runs[end].result
        run = outcome.runs[end]
        assert record["correct"] == (run.error is None and same_answer(query.answer, run.result))
