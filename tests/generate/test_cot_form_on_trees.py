"""The template converter meets the method's form on every step of executed grammar trees."""

from __future__ import annotations

import os

import pytest

from vipexec.benchmark.synthetic_queries import make_synthetic_queries
from vipexec.cot.form import check_step_form
from vipexec.cot.template import TemplateConverter
from vipexec.generate.execute_tree import execute_tree, tree_sandbox
from vipexec.generate.grammar import GrammarGenerator
from vipexec.generate.queries import read_queries
from vipexec.generate.tree_builder import TreeLimits, build_tree


def _form_problems(queries, *, seed):
    generator = GrammarGenerator(seed=seed)
    problems, steps = [], 0
    with tree_sandbox(workers=2, timeout=60) as sandbox:
        for query in queries:
            tree = build_tree(generator, query, TreeLimits(alternatives=2, max_steps=8))
            execute_tree(tree, query, sandbox, labelers=(), converter=TemplateConverter())
            for node, data in tree.nodes():
                if data.get("cot") is None:
                    continue
                steps += 1
                block = tree.program(node).blocks[data["depth"] - 1]
                problems += [
                    (query.id, data["cot"], p) for p in check_step_form(data["cot"], block)
                ]
    return problems, steps


def _queries(tmp_path, count, seed):
    path = make_synthetic_queries(tmp_path, count, seed=seed)
    queries, errors = read_queries(path, path.parent / "images")
    assert errors == []
    return queries


def test_every_template_step_of_one_query_per_family_meets_the_form(tmp_path):
    from vipexec.benchmark.synthetic_queries import FAMILIES

    problems, steps = _form_problems(_queries(tmp_path, len(FAMILIES), seed=11), seed=11)
    assert steps > len(FAMILIES) * 3
    assert problems == []


@pytest.mark.slow
def test_every_template_step_of_a_200_query_build_meets_the_form(tmp_path):
    count = int(os.environ.get("VIPEXEC_FORM_QUERIES", "200"))
    problems, steps = _form_problems(_queries(tmp_path, count, seed=0), seed=0)
    assert steps > count * 3
    assert problems == []
