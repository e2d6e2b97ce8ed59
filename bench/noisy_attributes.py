"""Attribute labels on a noisy perception backend, judged against the scene files.

Writes ``--queries`` synthetic queries, grows each query's program tree with the grammar
generator (as ``vipexec build`` does), runs every program on the noisy synthetic backend (every
perception operation erring with probability ``--noise``, as ``vipexec build --noise`` runs
its noisy queries) and labels it with the attribute labeller (the independent pixel checker,
the build's labeller). Every distinct module call the programs made is then compared twice:

- truth: does the call's result differ from the answer the scene file gives (the scene is
  rendered again from the spec its file records; :class:`vipexec.benchmark.oracle.TruthBackend`
  answers from the objects and the pixels they own, never from either backend's vision)?
- label: did the checker contradict the call (the verdict that makes a block's attribute
  label false)?

It prints precision and recall of "contradicted" against "wrong", per method and overall,
then the same per block (attribute label false against "a call the block used is wrong"), for
the noisy run and, as a reference, for the same trees on the clean backend.

    python bench/noisy_attributes.py [--queries 100] [--seed 0] [--noise 0.2]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import Counter
from pathlib import Path

from vipexec.benchmark.oracle import TruthBackend
from vipexec.benchmark.synthetic_queries import make_synthetic_queries
from vipexec.build.backends import CLEAN, NOISY, noise_options
from vipexec.generate.execute_tree import execute_tree, tree_sandbox
from vipexec.generate.grammar import GrammarGenerator
from vipexec.generate.queries import read_queries
from vipexec.generate.tree_builder import TreeLimits, build_tree
from vipexec.labelers._blocks import descendants
from vipexec.labelers.attribute import AttributeLabeler
from vipexec.labelers.base import LabelContext


def confusion_line(name: str, counts: Counter) -> str:
    tp, fp, fn, tn = (counts[k] for k in ("tp", "fp", "fn", "tn"))
    precision = tp / (tp + fp) if tp + fp else float("nan")
    recall = tp / (tp + fn) if tp + fn else float("nan")
    return (
        f"  {name:<18} wrong {tp + fn:>5} of {tp + fp + fn + tn:>6}   "
        f"precision {100 * precision:5.1f}%  recall {100 * recall:5.1f}%   "
        f"(tp {tp}, fp {fp}, fn {fn}, tn {tn})"
    )


def cell(wrong: bool, flagged: bool) -> str:
    return ("t" if wrong == flagged else "f") + ("p" if flagged else "n")


def measure(queries, generator, limits, seed, backend, options, truth) -> dict[str, Counter]:
    labeller = AttributeLabeler()
    calls: dict[str, Counter] = {"all": Counter()}
    blocks: Counter = Counter()
    seen_calls, seen_blocks = set(), set()
    with tree_sandbox(backend, workers=2, backend_options=options, timeout=60) as sandbox:
        store = sandbox.images
        for query in queries:
            for path in query.images:
                truth.add_scene_file(Path(path).with_suffix(".json"))
            tree = build_tree(generator, query, limits, seed=seed)
            outcome = execute_tree(tree, query, sandbox, labelers=())
            context = LabelContext(query=query.query, store=store)
            for run in outcome.runs.values():
                verdicts = iter(labeller.verdicts(run, context))
                wrong_in: dict[int, bool | None] = {}
                flagged_in: dict[int, bool] = {}
                for trace in run.blocks:
                    states = []
                    for call in trace.calls:
                        verdict = next(verdicts)
                        right = truth.judge_call(call, store)
                        states.append(right)
                        flagged_in[trace.index] = flagged_in.get(trace.index, False) or (
                            verdict.agrees is False
                        )
                        key = json.dumps([call.get(k) for k in ("method", "image", "box", "args")])
                        if key in seen_calls or right is None or verdict.agrees is None:
                            continue
                        seen_calls.add(key)
                        outcome_cell = cell(not right, verdict.agrees is False)
                        calls["all"][outcome_cell] += 1
                        calls.setdefault(call["method"], Counter())[outcome_cell] += 1
                    wrong_in[trace.index] = (
                        True
                        if any(s is False for s in states)
                        else None
                        if None in states
                        else False
                    )
                for trace in run.blocks:
                    members = [trace.index, *descendants(run.program.blocks, trace.index)]
                    truth_state = [wrong_in.get(m) for m in members]
                    key = (query.id, run.program.source[: _end(run, trace)])
                    if key in seen_blocks or None in truth_state or trace.executions == 0:
                        continue
                    seen_blocks.add(key)
                    flagged = any(flagged_in.get(m, False) for m in members)
                    blocks[cell(any(truth_state), flagged)] += 1
    return {**calls, "blocks": blocks}


def _end(run, trace) -> int:
    """Offset of the end of ``trace``'s block in the program source (a prefix key)."""
    lines = run.program.source.splitlines(keepends=True)
    return sum(len(line) for line in lines[: trace.lines[1]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--noise", type=float, default=0.2)
    parser.add_argument("--alternatives", type=int, default=2)
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        path = make_synthetic_queries(folder, args.queries, args.seed, test_every=None)
        queries, _ = read_queries(path, path.parent / "images")
        generator = GrammarGenerator(seed=args.seed)
        limits = TreeLimits(args.alternatives)
        truth = TruthBackend()
        runs = (
            (NOISY, f"noisy backend, every perception call erring at {args.noise}",
             noise_options(args.noise, args.seed)),
            (CLEAN, "clean backend (reference)", {}),
        )  # fmt: skip
        for backend, title, options in runs:
            counts = measure(queries, generator, limits, args.seed, backend, options, truth)
            print(f"{args.queries} queries, {title}:")
            print("calls (distinct): the checker contradicts the call vs it differs from the truth")
            for method in sorted(counts):
                if method not in ("all", "blocks"):
                    print(confusion_line(method, counts[method]))
            print(confusion_line("all calls", counts["all"]))
            print("blocks: attribute label false vs a call the block used is wrong")
            print(confusion_line("all blocks", counts["blocks"]))
    print(f"{time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
