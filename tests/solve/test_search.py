"""The guided search loop with a scripted generator and fake scorers (no model, no torch)."""

from __future__ import annotations

import random

import pytest

from vipexec.cot.template import TemplateConverter
from vipexec.generate.execute_tree import execute_tree, tree_sandbox
from vipexec.generate.protocol import Alternative, Query
from vipexec.generate.tree_builder import TreeLimits, build_tree
from vipexec.solve.search import RandomChooser, RewardChooser, SearchLimits, search

DONE = 'print("Work is Done!")\n'

# Per step, the generator's alternatives, the right one first (as the grammar lists them).
# A block marked "fault" is wrong; the answer is right only on the all-right path.
STEPS = [
    [
        "# Step 1: count the things\nn = 3\n",
        "# Step 1: count the things\nn = 4  # fault: one too many\n",
        "# Step 1: count the things\nn = 2  # fault: one too few\n",
    ],
    [
        "# Step 2: double it\nm = n * 2\n",
        "# Step 2: double it\nm = n + 5  # fault: adds\n",
        "# Step 2: double it\nm = [][0]  # fault: crashes\n",
    ],
    [
        "# Step 3: report it\nprint(m)\n" + DONE,
        "# Step 3: report it\nprint(m + 1)  # fault: off by one\n" + DONE,
    ],
]
QUERY = Query(id="q1", query="What is twice the number of things?", images=(), answer=6)


class ScriptedGenerator:
    name = "scripted"

    def first_block(self, query, n):
        return self.next_block(query, (), n)

    def next_block(self, query, blocks, n):
        if len(blocks) >= len(STEPS):
            return []
        return [
            Alternative(text, {"generator": self.name, "sample": i})
            for i, text in enumerate(STEPS[len(blocks)][:n])
        ]


class SourceConverter:
    """Narrates a block as its own code, so a fake scorer can see the fault marks."""

    name = "source"

    def __init__(self):
        self.contexts = []

    def convert(self, step):
        self.contexts.append(step)
        return "In this step, we use " + step.block.source


class FaultAverseScorer:
    """Rates a step low on logic when its code carries a fault mark."""

    def score(self, prompt, steps, images=()):
        return [
            {"relevance": 0.9, "logic": 0.1 if "fault" in s else 0.9, "attribute": 0.9}
            for s in steps
        ]


class RandomScorer:
    def __init__(self, seed):
        self.rng = random.Random(seed)

    def score(self, prompt, steps, images=()):
        return [{d: self.rng.random() for d in ("relevance", "logic", "attribute")} for _ in steps]


class FlatScorer:
    def score(self, prompt, steps, images=()):
        return [{"relevance": 0.7, "logic": 0.7, "attribute": 0.7} for _ in steps]


@pytest.fixture(scope="module")
def sandbox():
    with tree_sandbox(workers=1, timeout=30) as box:
        yield box


def run_search(sandbox, chooser, seed, converter=None, alternatives=3):
    return search(
        QUERY,
        ScriptedGenerator(),
        chooser,
        sandbox,
        converter or SourceConverter(),
        SearchLimits(alternatives=alternatives, max_steps=5),
        rng=random.Random(seed),
    )


def test_a_scorer_that_avoids_faults_finds_the_fault_free_path(sandbox):
    for seed in range(6):
        result = run_search(sandbox, RewardChooser(FaultAverseScorer()), seed)
        assert result.ending == "done"
        assert result.answer == 6
        assert result.correct is True
        assert "fault" not in result.program
        assert result.program == "".join(step[0] for step in STEPS)
        assert result.proposed == 3 + 3 + 2


def test_the_tree_records_every_candidate_its_score_and_the_kept_one(sandbox):
    result = run_search(sandbox, RewardChooser(FaultAverseScorer()), 0)
    marks = [data["search"] for _, data in result.tree.nodes() if "search" in data]
    assert len(marks) == 8
    assert sum(mark["kept"] for mark in marks) == 3
    for node in result.path:
        assert result.tree.graph.nodes[node]["search"]["score"]["logic"] == pytest.approx(0.9)
    assert result.tree.root["search"]["ending"] == "done"


def test_candidate_order_carries_no_information(sandbox):
    # every candidate rated alike: the kept ones must not be the generator's first ones
    programs = {
        run_search(sandbox, RewardChooser(FlatScorer()), seed).program for seed in range(30)
    }
    assert len(programs) > 3
    assert any("fault" in program for program in programs)


def test_a_random_scorer_does_not_beat_the_oracle(sandbox):
    tree = build_tree(ScriptedGenerator(), QUERY, TreeLimits(alternatives=3, max_steps=5))
    outcome = execute_tree(tree, QUERY, sandbox, labelers=())
    # the oracle (some path of the same alternatives is right) holds, by one path of 18
    assert (outcome.correct, outcome.programs) == (1, 18)
    seeds = range(40)
    guided = [run_search(sandbox, RewardChooser(RandomScorer(s)), s).correct for s in seeds]
    unguided = [run_search(sandbox, RandomChooser(), s).correct for s in seeds]
    averse = [run_search(sandbox, RewardChooser(FaultAverseScorer()), s).correct for s in seeds]
    assert sum(averse) == len(seeds)  # as good as the oracle
    for results in (guided, unguided):
        # chance is 1 in 18 paths: far below the oracle's and the informed scorer's 100%
        assert sum(results) < len(seeds) / 2


def test_a_crashing_block_ends_the_search_without_an_answer(sandbox):
    class CrashLover:
        def score(self, prompt, steps, images=()):
            return [{"relevance": 0.9, "logic": 0.9, "attribute": 0.9 if "[]" in s else 0.1}
                    for s in steps]  # fmt: skip

    result = run_search(sandbox, RewardChooser(CrashLover()), 0)
    assert result.ending == "error"
    assert result.answer is None
    assert result.correct is False
    assert result.run.error is not None and result.run.error.type == "IndexError"


def test_only_the_block_that_prints_the_answer_states_it(sandbox):
    result = run_search(sandbox, RewardChooser(FaultAverseScorer()), 1, TemplateConverter())
    steps = [result.tree.graph.nodes[node]["cot"] for node in result.path]
    assert all("final answer" not in text for text in steps[:-1])
    assert result.ending == "done"
    assert f"The final answer is {result.answer}." in steps[-1]


def test_a_malformed_block_is_a_failing_candidate(sandbox):
    class Sloppy(ScriptedGenerator):
        def next_block(self, query, blocks, n):
            return [Alternative("sure! here is some code: (", {"generator": "sloppy"})]

    result = search(
        QUERY, Sloppy(), RandomChooser(), sandbox, SourceConverter(),
        SearchLimits(alternatives=2, max_steps=3), rng=random.Random(0),
    )  # fmt: skip
    assert result.ending == "malformed"
    assert result.answer is None


def test_the_scorer_sees_the_query_and_one_step_per_block(sandbox):
    seen = []

    class Watching(FaultAverseScorer):
        def score(self, prompt, steps, images=()):
            seen.append((prompt, len(steps)))
            return super().score(prompt, steps, images)

    run_search(sandbox, RewardChooser(Watching()), 0)
    assert {prompt for prompt, _ in seen} == {QUERY.query}
    assert sorted({count for _, count in seen}) == [1, 2, 3]


def test_bad_limits_and_settings_are_refused():
    with pytest.raises(ValueError):
        SearchLimits(alternatives=0)
    with pytest.raises(ValueError):
        RewardChooser(FlatScorer(), aggregator="best")
