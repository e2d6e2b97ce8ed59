"""The LLM generator over a local transformers causal LM (a tiny random model, no download)."""

from __future__ import annotations

import pytest

from vipexec.generate.llm import LLMGenerator, derive_seed
from vipexec.generate.protocol import Query
from vipexec.generate.tree_builder import ENDINGS, TreeLimits, build_tree

pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory):
    from vipexec.modules.models import tiny

    return tiny.build_causal_lm(tmp_path_factory.mktemp("tiny-lm") / "llm")


def grow(checkpoint, cache):
    from vipexec.modules.models.chat import ChatClient, ResponseCache
    from vipexec.modules.models.llm_local import LocalChat

    client = ChatClient(LocalChat(str(checkpoint)), ResponseCache(cache))
    generator = LLMGenerator(client, seed=3, temperature=1.0, max_tokens=12)
    query = Query("local-1", "How many circles are there?", ())
    return build_tree(generator, query, TreeLimits(2, 2, 64), seed=3), client


def test_a_local_model_grows_a_reproducible_cached_tree(tiny_lm, tmp_path):
    tree, client = grow(tiny_lm, tmp_path / "cache")
    assert tree.root["generator"] == "llm:llm"
    assert client.sent >= 2 and len(tree) >= 1
    for node in tree.end_nodes():
        assert tree.graph.nodes[node]["ending"] in ENDINGS
        assert tree.program(node).syntax_error is None  # random text became failing blocks
    for node, data in tree.nodes():
        path = [tree.graph.nodes[n]["segment"] for n in tree.path(node)][:-1]
        assert data["origin"]["seed"] == derive_seed(3, "local-1", path, data["origin"]["sample"])
    # the cache answers a rerun; a fresh cache samples the same answers from the same seeds
    again, client_again = grow(tiny_lm, tmp_path / "cache")
    assert client_again.sent == 0
    fresh, _ = grow(tiny_lm, tmp_path / "other-cache")
    assert [d["segment"] for _, d in fresh.nodes()] == [d["segment"] for _, d in tree.nodes()]
    assert [d["segment"] for _, d in again.nodes()] == [d["segment"] for _, d in tree.nodes()]
