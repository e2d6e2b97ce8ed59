"""Throughput of ``vipexec build`` with 1 and 2 workers, measured in one run, and where the time
goes.

The script writes one set of synthetic queries (``--queries``, default 60) and builds it twice
into fresh folders with the local engine: once with one worker (the baseline, in this process)
and once with ``--workers`` (default 2) worker processes. It prints steps per second for each,
the ratio (target: 2 workers at least 1.6x of 1; it needs two idle cores), that both builds
wrote the same files, and the share of the one-worker build's time per stage: tree generation
(grammar generator), execution, labelling, CoT conversion, and the rest (journal, output,
start-up).
Usage: ``python bench/build_throughput.py [--queries 60] [--workers 2]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from vipexec.benchmark.synthetic_queries import make_synthetic_queries
from vipexec.build.context import BuildSettings
from vipexec.build.engine import run_build


def timed_build(queries: Path, out: Path, workers: int) -> tuple[float, object]:
    settings = BuildSettings(images=str(queries.parent / "images"), out=str(out))
    started = time.perf_counter()
    summary = run_build(queries, settings, command="bench", workers=workers)
    return time.perf_counter() - started, summary


def files(out: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(out)): p.read_bytes()
        for folder in ("data", "jsonl", "trl")
        for p in sorted((out / folder).iterdir())
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        queries = make_synthetic_queries(root / "source", args.queries, args.seed, test_every=None)
        one_seconds, one = timed_build(queries, root / "one", 1)
        many_seconds, many = timed_build(queries, root / "many", args.workers)
        same = files(root / "one") == files(root / "many")
    one_rate, many_rate = one.steps / one_seconds, many.steps / many_seconds
    print(f"{args.queries} queries, {one.programs} programs, {one.steps} steps")
    print(f"1 worker : {one_seconds:7.2f} s  {one_rate:7.1f} steps/s")
    print(f"{args.workers} workers: {many_seconds:7.2f} s  {many_rate:7.1f} steps/s")
    print(f"ratio {many_rate / one_rate:.2f}x (target >= 1.6x for 2 workers); same files: {same}")
    print("share of the 1-worker build's time per stage:")
    staged = sum(one.seconds.values())
    for stage, seconds in sorted(one.seconds.items(), key=lambda item: -item[1]):
        print(f"  {stage:<18} {seconds:7.2f} s  {100 * seconds / one_seconds:5.1f}%")
    rest = one_seconds - staged
    print(f"  {'other':<18} {rest:7.2f} s  {100 * rest / one_seconds:5.1f}%")


if __name__ == "__main__":
    main()
