#!/usr/bin/env python3
"""Best-of-N and reward-guided search: answer accuracy on held-out synthetic queries.

Reads a dataset built by ``vipexec dataset DIR`` (split by image, so test queries and their
images are never trained on). The reward model is either given (``--model``: an export folder
or a checkpoint) or trained here on the train split with ``vipexec reward fit`` (epoch chosen
by validation Avg accuracy). The paper rule's threshold is chosen on the val split (best-of-N
accuracy over a grid), never on test.

**Best-of-N.** For every test query with at least N programs and a known answer, each draw
takes N of its programs at random, in random order, and every rule picks one; a query scores
the share of draws in which the picked program's answer is the expected one (``meta.correct``).
Rules (vipexec.solve.choose; ties always at random, never by position): the reward model
(paper rule, length-normalised), random, the first that did not crash, majority vote over
answers, the labellers' own labels under the same rule (an upper reference: it reads the
labels), and the oracle (any of the N is right).

**Guided search.** For every test query, ``vipexec solve``'s search (vipexec.solve.search): the
grammar generator (with the build's fault and crash rates) proposes N next blocks per step, each
prefix runs in the sandbox (on the backend the build ran the query on: the noisy one for a build
with noise), the template converter narrates it, and the reward model keeps one
(``reward-guided``) or a random one is kept (``unguided``), each over several seeds; the oracle
is whether any path of the full tree of the same alternatives (N per step) answers right.

Accuracies are means over queries with a 95% percentile interval from a query-level bootstrap
(queries resampled with replacement), and the spread (sd) over draws or seeds.

    python bench/best_of_n.py --data DIR                      # trains the model (minilm)
    python bench/best_of_n.py --data DIR --model exported/    # a given model
    python bench/best_of_n.py --data DIR --model m.ckpt --json results.json
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import statistics
import sys
import time
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

from vipexec.core.step_rows import DIMENSIONS
from vipexec.solve.choose import (
    at_random,
    by_reward,
    first_answered,
    majority_vote,
)

ORACLE = "oracle (any of N right)"
THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, required=True, help="folder built by `vipexec dataset`")
    p.add_argument("--model", type=Path, help="reward export folder or checkpoint (else: fit)")
    p.add_argument("--config", default="minilm", help="`vipexec reward fit` config to train")
    p.add_argument("--epochs", type=int, default=8, help="training epochs (without --model)")
    p.add_argument(
        "--max-length",
        type=int,
        default=384,
        help="tokens per row when training (the packaged configs' value)",
    )
    p.add_argument("--runs", type=Path, default=Path("runs/best-of-n"), help="training folder")
    p.add_argument("--n", type=int, default=4, help="candidates per query (N)")
    p.add_argument("--draws", type=int, default=20, help="draws of N candidates per query")
    p.add_argument("--search-seeds", type=int, default=3, help="searches per query and chooser")
    p.add_argument("--max-steps", type=int, default=6)
    p.add_argument("--bootstrap", type=int, default=2000, help="bootstrap resamples")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-search", action="store_true", help="best-of-N only")
    p.add_argument(
        "--search-only",
        action="store_true",
        help="guided search only (still scores val to choose the threshold); with --no-search "
        "in a second process, the two halves run side by side",
    )
    p.add_argument("--limit", type=int, help="at most this many test queries (quick runs)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--json", type=Path, help="also write the results here")
    return p.parse_args(argv)


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- data -----------------------------------------------------------------------------------


def read_split(data: Path, split: str) -> list[dict[str, Any]]:
    files = sorted((data / "jsonl").glob(f"{split}-*.jsonl"))
    if not files:
        raise SystemExit(
            f"best_of_n: no {split} rows in {data / 'jsonl'} (a `vipexec dataset` folder?)"
        )
    rows = []
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                row["images"] = [str((path.parent / p).resolve()) for p in row.get("images") or []]
                rows.append(row)
    return rows


def by_query(rows: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[row["meta"]["query_id"]].append(row)
    return dict(groups)


def answer_of(row: dict[str, Any]) -> Any:
    """The program's answer (None when it crashed); rows keep it as JSON text."""
    text = row["meta"].get("answer")
    return None if text is None else json.loads(text)


def label_scores(row: dict[str, Any]) -> list[dict[str, float]]:
    """The labellers' labels as step scores (unknown sits on the threshold: not positive)."""
    value = {True: 1.0, False: 0.0, None: 0.5}
    return [{d: value[row[d][i]] for d in DIMENSIONS} for i in range(len(row["completions"]))]


# --- the reward model -----------------------------------------------------------------------


def train(args: argparse.Namespace) -> Path:
    from vipexec.reward.cli import main as reward_main

    root = args.runs.resolve()
    say(f"training the reward model ({args.config}, {args.epochs} epochs) in {root}")
    code = reward_main([
        "fit", "--config", args.config, "--data.path", str(args.data / "jsonl"),
        "--trainer.default_root_dir", str(root), "--trainer.max_epochs", str(args.epochs),
        "--model.encoding.max_length", str(args.max_length),
        "--trainer.enable_progress_bar", "false",
    ])  # fmt: skip
    if code != 0:
        raise SystemExit("best_of_n: training failed")
    checkpoints = sorted(
        (root / "checkpoints").glob("best-*.ckpt"), key=lambda p: p.stat().st_mtime
    )
    if not checkpoints:
        raise SystemExit(f"best_of_n: no best-*.ckpt under {root / 'checkpoints'}")
    return checkpoints[-1]


def score_rows(model: Any, rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Adds each row's per-step ``scores`` (the model's probabilities); counts the steps left
    unscored (beyond the model's max_length)."""
    counts = {"steps": 0, "unscored": 0}
    for done, row in enumerate(rows, 1):
        row["scores"] = model.score(row["prompt"], row["completions"], row["images"])
        counts["steps"] += len(row["scores"])
        counts["unscored"] += sum(score is None for score in row["scores"])
        if done % 200 == 0:
            say(f"  scored {done}/{len(rows)} rows")
    return counts


# --- best-of-N ------------------------------------------------------------------------------

Rule = Callable[[list[dict[str, Any]], random.Random], int]


def rules(threshold: float) -> dict[str, Rule]:
    return {
        "random": lambda c, rng: at_random(len(c), rng),
        "first that did not crash": lambda c, rng: first_answered([answer_of(r) for r in c], rng),
        "majority vote": lambda c, rng: majority_vote([answer_of(r) for r in c], rng),
        "reward model (paper rule)": lambda c, rng: by_reward(
            [r["scores"] for r in c], rng, threshold=threshold
        ),
        "labeller labels (paper rule)": lambda c, rng: by_reward([label_scores(r) for r in c], rng),
    }


def eligible(groups: dict[str, list[dict[str, Any]]], n: int) -> dict[str, list[dict[str, Any]]]:
    return {
        q: rows
        for q, rows in sorted(groups.items())
        if len(rows) >= n and all(r["meta"].get("correct") is not None for r in rows)
    }


def best_of_n(
    groups: dict[str, list[dict[str, Any]]],
    chosen_by: dict[str, Rule],
    *,
    n: int,
    draws: int,
    seed: int,
) -> dict[str, list[list[float]]]:
    """Per rule, per draw, per query: 1.0 when the picked program is right."""
    out: dict[str, list[list[float]]] = {name: [] for name in [*chosen_by, ORACLE]}
    for draw in range(draws):
        rng = random.Random(f"{seed}\0draw\0{draw}")
        per_rule: dict[str, list[float]] = {name: [] for name in out}
        for rows in groups.values():
            candidates = rng.sample(rows, n)  # a random subset in a random order
            for name, rule in chosen_by.items():
                pick = candidates[rule(candidates, rng)]
                per_rule[name].append(float(pick["meta"]["correct"]))
            per_rule[ORACLE].append(float(any(r["meta"]["correct"] for r in candidates)))
        for name, values in per_rule.items():
            out[name].append(values)
    return out


def choose_threshold(groups, *, n: int, draws: int, seed: int) -> tuple[float, dict[float, float]]:
    """The paper rule's threshold with the best best-of-N accuracy on ``groups`` (val)."""
    accuracy = {}
    for threshold in THRESHOLDS:
        rule = {"reward": rules(threshold)["reward model (paper rule)"]}
        table = best_of_n(groups, rule, n=n, draws=draws, seed=seed)["reward"]
        accuracy[threshold] = statistics.fmean(statistics.fmean(d) for d in table)
    best = max(accuracy.values())
    # among equals, the one nearest the default 0.5
    return min((t for t, a in accuracy.items() if a == best), key=lambda t: abs(t - 0.5)), accuracy


# --- statistics -----------------------------------------------------------------------------


def summarise(per_run: list[list[float]], *, resamples: int, seed: int) -> dict[str, float]:
    """Mean accuracy over queries, its query-level bootstrap 95% interval, sd over runs."""
    queries = len(per_run[0])
    per_query = [statistics.fmean(run[q] for run in per_run) for q in range(queries)]
    rng = random.Random(f"{seed}\0bootstrap")
    means = sorted(
        statistics.fmean(per_query[rng.randrange(queries)] for _ in range(queries))
        for _ in range(resamples)
    )
    run_means = [statistics.fmean(run) for run in per_run]
    return {
        "mean": 100 * statistics.fmean(per_query),
        "low": 100 * means[int(0.025 * resamples)],
        "high": 100 * means[min(resamples - 1, int(0.975 * resamples))],
        "sd_runs": 100 * statistics.stdev(run_means) if len(run_means) > 1 else 0.0,
        "queries": queries,
        "runs": len(per_run),
    }


def interval(r: dict[str, float]) -> str:
    return f"[{r['low']:.1f}, {r['high']:.1f}]"


def table(title: str, results: dict[str, dict[str, float]], runs_name: str) -> str:
    width = max(len(name) for name in results) + 2
    lines = [
        title,
        f"{'choice':<{width}}{'accuracy %':>11}  {'95% CI (bootstrap)':>19}  sd over {runs_name}",
    ]
    for name, r in results.items():
        lines.append(f"{name:<{width}}{r['mean']:>11.1f}  {interval(r):>19}  {r['sd_runs']:.1f}")
    return "\n".join(lines)


# --- guided search --------------------------------------------------------------------------


def search_queries(data: Path, test_ids: set[str]) -> list[Any]:
    from vipexec.generate.queries import read_queries

    source = data / "source" / "queries.jsonl"
    queries, errors = read_queries(source, source.parent / "images")
    if errors:
        raise SystemExit(f"best_of_n: {errors[0]}")
    return [q for q in queries if q.id in test_ids and q.answer is not None]


def guided_search(args, model, threshold: float, queries: Sequence[Any], build: dict[str, Any]):
    """Searches as the dataset was built: its grammar settings, and each query on the backend
    its programs ran on (the noisy one for a build with noise)."""
    from vipexec.build.backends import query_backend
    from vipexec.cot.template import TemplateConverter
    from vipexec.generate.execute_tree import execute_tree, tree_sandbox
    from vipexec.generate.grammar import GrammarGenerator
    from vipexec.generate.tree_builder import TreeLimits, build_tree
    from vipexec.solve.search import RandomChooser, RewardChooser, SearchLimits, search

    generator = GrammarGenerator(
        seed=build["seed"],
        fault_rate=build.get("fault_rate", 0.5),
        crash_rate=build.get("crash_rate", 0.0),
    )
    sandboxes: dict[str, Any] = {}

    def sandbox_of(query: Any) -> Any:
        backend = query_backend(
            query.id,
            noise=build.get("noise", 0.0),
            share=build.get("noisy_share", 1.0),
            seed=build["seed"],
        )
        if backend.name not in sandboxes:
            sandboxes[backend.name] = tree_sandbox(
                backend.name, workers=1, timeout=30, backend_options=backend.options
            )
        return sandboxes[backend.name]

    converter = TemplateConverter()
    limits = SearchLimits(alternatives=args.n, max_steps=args.max_steps)
    choosers = {
        "unguided (random path)": RandomChooser(),
        "reward-guided (paper rule)": RewardChooser(model, threshold=threshold),
    }
    seeds = range(args.search_seeds)
    per_run: dict[str, list[list[float]]] = {name: [[] for _ in seeds] for name in choosers}
    oracle: list[float] = []
    endings: dict[str, Counter[str]] = {name: Counter() for name in choosers}
    proposed: Counter[str] = Counter()
    capped = 0
    max_leaves = min(args.n**args.max_steps, 1024)
    started = time.perf_counter()
    try:
        for done, query in enumerate(queries, 1):
            sandbox = sandbox_of(query)
            for name, chooser in choosers.items():
                for s in seeds:
                    rng = random.Random(f"{args.seed}\0{s}\0{query.id}")
                    result = search(query, generator, chooser, sandbox, converter, limits, rng=rng)
                    per_run[name][s].append(float(bool(result.correct)))
                    endings[name][result.ending] += 1
                    proposed[name] += result.proposed
            tree = build_tree(generator, query, TreeLimits(args.n, args.max_steps, max_leaves))
            capped += bool(tree.root["leaf_cap_hit"])
            outcome = execute_tree(tree, query, sandbox, labelers=())
            oracle.append(float(outcome.correct > 0))
            if done % 10 == 0 or done == len(queries):
                say(
                    f"  searched {done}/{len(queries)} queries "
                    f"({time.perf_counter() - started:.0f} s)"
                )
    finally:
        for sandbox in sandboxes.values():
            sandbox.close()
    results = {
        name: summarise(runs, resamples=args.bootstrap, seed=args.seed)
        for name, runs in per_run.items()
    }
    results["oracle (some path right)"] = summarise(
        [oracle], resamples=args.bootstrap, seed=args.seed
    )
    extra = {
        "endings": {name: dict(counts) for name, counts in endings.items()},
        "blocks_run_per_search": {
            name: proposed[name] / (len(queries) * len(seeds)) for name in choosers
        },
        "oracle_trees_capped": capped,
        "seconds": time.perf_counter() - started,
    }
    return results, extra


# --- main -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.getLogger("lightning").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    started = time.perf_counter()
    build = json.loads((args.data / "build.json").read_text())["identity"]["settings"]
    val, test = by_query(read_split(args.data, "val")), by_query(read_split(args.data, "test"))
    if args.limit:
        test = dict(sorted(test.items())[: args.limit])
    val_groups, test_groups = eligible(val, args.n), eligible(test, args.n)
    say(
        f"{len(test)} test queries ({len(test_groups)} with >= {args.n} programs), "
        f"{len(val)} val queries ({len(val_groups)} with >= {args.n})"
    )
    model_path = args.model or train(args)
    from vipexec.reward.inference import RewardModel

    model = RewardModel.load(model_path, device=args.device)
    judged = [*val_groups.values(), *([] if args.search_only else test_groups.values())]
    say(f"scoring {len(judged)} val/test queries' programs with {model_path}")
    scored = score_rows(model, [r for rows in judged for r in rows])
    say(f"  {scored['unscored']} of {scored['steps']} steps unscored (beyond max_length)")
    threshold, val_accuracy = choose_threshold(
        val_groups, n=args.n, draws=args.draws, seed=args.seed
    )
    report: dict[str, Any] = {
        "data": str(args.data),
        "model": str(model_path),
        "n": args.n,
        "draws": args.draws,
        "threshold": threshold,
        "steps_scored": scored,
        "val_accuracy_by_threshold": val_accuracy,
    }
    if not args.search_only:
        picked = best_of_n(
            test_groups, rules(threshold), n=args.n, draws=args.draws, seed=args.seed
        )
        report["best_of_n"] = bon = {
            name: summarise(runs, resamples=args.bootstrap, seed=args.seed)
            for name, runs in picked.items()
        }
        print(
            table(
                f"Best-of-{args.n} on {len(test_groups)} test queries, {args.draws} draws of "
                f"{args.n} shuffled programs each; reward model {model_path}, paper rule "
                f"(length-normalised) at threshold {threshold} (chosen on {len(val_groups)} "
                "val queries)",
                bon,
                "draws",
            )
        )
    if not args.no_search:
        queries = search_queries(args.data, set(test))
        say(f"guided search on {len(queries)} test queries, {args.search_seeds} seeds each")
        found, extra = guided_search(args, model, threshold, queries, build)
        report["search"] = found
        report["search_details"] = extra
        print()
        print(
            table(
                f"Guided least-to-most search on {len(queries)} test queries: {args.n} next "
                f"blocks per step (grammar generator), {args.search_seeds} seeds",
                found,
                "seeds",
            )
        )
        for name, counts in extra["endings"].items():
            ends = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
            print(
                f"  {name}: endings {ends}; "
                f"{extra['blocks_run_per_search'][name]:.1f} blocks run per search"
            )
    report["seconds"] = time.perf_counter() - started
    print(f"\n{report['seconds']:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
