"""Grammar-generator trees against scene truth: do the fault-free programs answer right?

Writes ``--queries`` synthetic queries (every query family in turn) over freshly generated
scenes and clips, grows one program tree per query with the grammar generator
(``--alternatives`` blocks per step, breadth-first), runs every leaf program through the
sandbox pool (one call cache per run of the benchmark), and prints:

- the agreement of fault-free leaves' answers with the scene truth, overall and per family
  (the target is 100%: a disagreement is a bug in a family or in the engine);
- for leaves with faults: that every faulty node records its fault kind at its own step, and
  how often a fault changed the answer, per fault kind;
- API calls made by the backend against the calls the programs made.

    python bench/grammar_agreement.py [--queries 200] [--seed 0] [--alternatives 2] [--workers 2]
        [--crash-rate 0]   (the share of faulty blocks that are runtime faults)
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import Counter
from pathlib import Path

from vipexec import Program, ProgramTree
from vipexec.benchmark.plan import FAULT_KINDS
from vipexec.benchmark.synthetic_queries import make_synthetic_queries
from vipexec.generate.execute_tree import execute_tree, tree_sandbox
from vipexec.generate.grammar import GrammarGenerator
from vipexec.generate.protocol import Query


def grow(generator, query, alternatives, max_steps=8):
    """Breadth-first expansion with ``alternatives`` blocks per step (a stand-in for the tree
    builder of vipexec.generate: it records each node's ``origin``)."""
    tree = ProgramTree()
    frontier = [((), ())]
    for _ in range(max_steps):
        grown = []
        for blocks, origins in frontier:
            proposed = generator.next_block(query, blocks, alternatives)
            if not proposed:
                end = tree.add(Program.from_source("".join(blocks), name=f"{query.id}.py"))
                for node, origin in zip(tree.path(end), origins):
                    tree.graph.nodes[node]["origin"] = origin
                continue
            for block in dict.fromkeys(a.block for a in proposed):
                origin = next(a.origin for a in proposed if a.block == block)
                grown.append(((*blocks, block), (*origins, origin)))
        frontier = grown
    return tree


def load_queries(path: Path) -> list[Query]:
    images = path.parent / "images"
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        paths = tuple(images / name for name in item["images"])
        out.append(
            Query(item["id"], item["query"], paths, item["answer"], item["split"], item["meta"])
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--alternatives", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--crash-rate", type=float, default=0.0, help="share of faulty blocks that fail at run time"
    )
    parser.add_argument("--show", type=int, default=5, help="disagreements to print")
    args = parser.parse_args()
    started = time.perf_counter()
    generator = GrammarGenerator(seed=args.seed, crash_rate=args.crash_rate)
    agree, total = Counter(), Counter()
    fault_leaves, fault_changed, misrecorded = Counter(), Counter(), 0
    shown, calls, leaves = 0, 0, 0
    with (
        tempfile.TemporaryDirectory() as folder,
        tree_sandbox(workers=args.workers, timeout=30) as sandbox,
    ):
        queries = load_queries(make_synthetic_queries(Path(folder), args.queries, args.seed))
        for query in queries:
            tree = grow(generator, query, args.alternatives)
            outcome = execute_tree(tree, query, sandbox, labelers=())
            family = query.meta["family"]
            for end, run in outcome.runs.items():
                leaves += 1
                calls += sum(len(block.calls) for block in run.blocks)
                path = tree.path(end)
                faults = [tree.graph.nodes[n]["origin"]["fault"] for n in path]
                misrecorded += sum(
                    1
                    for depth, fault in enumerate(faults, start=1)
                    if fault is not None
                    and (fault["step"] != depth or fault["kind"] not in FAULT_KINDS)
                )
                correct = tree.graph.nodes[end]["ends"][0]["correct"]
                if not any(faults):
                    total[family] += 1
                    agree[family] += bool(correct)
                    if not correct and shown < args.show:
                        shown += 1
                        status = run.error.message if run.error else "ok"
                        print(f"DISAGREES {query.id} {query.query!r}: expected {query.answer!r}, "
                              f"got {run.result!r} ({status})")  # fmt: skip
                        print(tree.source(end))
                    continue
                for kind in {f["kind"] for f in faults if f}:
                    fault_leaves[kind] += 1
                    fault_changed[kind] += not correct
        made = sandbox.server.computed
    elapsed = time.perf_counter() - started
    k, n = sum(agree.values()), sum(total.values())
    print(f"{len(queries)} queries, {leaves} leaf programs ({n} fault-free), "
          f"{args.alternatives} alternatives per step, {elapsed:.1f} s")  # fmt: skip
    print(f"fault-free leaves agreeing with the scene truth: {k}/{n} = {100 * k / n:.2f}%")
    for family in sorted(total):
        print(f"  {family:22s} {agree[family]:4d}/{total[family]:<4d}")
    print(f"faulty nodes whose recorded fault is not at their own step: {misrecorded}")
    print("leaves with a fault, and how many of them answered wrong, by fault kind:")
    for kind in FAULT_KINDS:
        print(f"  {kind:18s} {fault_changed[kind]:5d}/{fault_leaves[kind]:<5d}")
    print(f"API calls: {calls} made by programs, {made} computed by the backend (unique calls)")


if __name__ == "__main__":
    main()
