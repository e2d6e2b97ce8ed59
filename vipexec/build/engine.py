"""Running a build: prepare the output folder, process the pending queries on an engine, journal
each result as it arrives, then write the dataset from the journal.

Engines differ only in where :func:`vipexec.build.unit.process` runs: ``local`` runs it in this
process (one worker) or in a pool of worker processes, ``ray`` in Ray actors that each hold a
build context. Results arrive in any order; the dataset is written in query order, so every
engine and every worker count gives the same files for the same inputs and seed.
"""

from __future__ import annotations

import concurrent.futures
import concurrent.futures.process
import contextlib
import hashlib
import json
import logging
import multiprocessing
import os
import socket
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vipexec.build.context import BuildContext, BuildError, BuildSettings, check_settings
from vipexec.build.journal import Journal
from vipexec.build.unit import QueryResult, process
from vipexec.generate.protocol import Query

__all__ = ["ENGINES", "BuildSummary", "run_build"]

ENGINES = ("local", "ray")
MANIFEST = "build.json"
JOURNAL = "journal.jsonl"
LOG = "build.log"


@dataclass
class BuildSummary:
    """What a build did (this invocation's work and the whole dataset)."""

    out: Path
    queries: int = 0
    resumed: int = 0
    """queries already in the journal when this invocation started"""
    programs: int = 0
    steps: int = 0
    errors: int = 0
    splits: dict[str, dict[str, Any]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    """time per stage, summed over the queries this invocation processed"""

    def describe(self) -> str:
        lines = [
            f"built {self.out}: {self.queries} queries ({self.resumed} from an earlier run), "
            f"{self.programs} programs, {self.steps} steps, {self.errors} errors"
            + (f" (see {self.out / 'errors.log'})" if self.errors else "")
        ]
        for split, info in self.splits.items():
            lines.append(
                f"  {split:<6} {info['rows']} rows, {info['steps']} steps, "
                f"{info['images']} images, {info['trl_rows']} TRL rows"
            )
        return "\n".join(lines)


def run_build(
    queries_file: Path,
    settings: BuildSettings,
    *,
    command: str,
    workers: int = 1,
    engine: str = "local",
    progress: Callable[[QueryResult], None] | None = None,
    on_start: Callable[[int, int], None] | None = None,
) -> BuildSummary:
    """Build (or finish building) the dataset of ``queries_file`` into ``settings.out``."""
    from vipexec.build.splits import assign_splits
    from vipexec.generate.queries import read_queries

    if engine not in ENGINES:
        raise BuildError(f"--engine {engine!r}: one of {', '.join(ENGINES)}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise BuildError(f"--workers {workers!r}: expected a positive number")
    check_settings(settings)
    require_pyarrow()
    out = Path(settings.out)
    _claim(out, queries_file, settings, command)
    # splits are by image: a query without one could go anywhere
    queries, bad_lines = read_queries(queries_file, Path(settings.images), require_images=True)
    splits = assign_splits(queries, seed=settings.seed, splits=settings.splits)
    journal = Journal(out / JOURNAL)
    done = journal.records()
    pending = [query for query in queries if query.id not in done]
    summary = BuildSummary(out, queries=len(queries), resumed=len(queries) - len(pending))
    if on_start is not None:
        on_start(len(queries), summary.resumed)
    log = _logger(out / LOG)
    log.info(
        "start: %d queries, %d pending, engine %s, %d workers on %s (pid %d)",
        len(queries),
        len(pending),
        engine,
        workers,
        socket.gethostname(),
        os.getpid(),
    )
    seconds: dict[str, float] = defaultdict(float)
    runner = _ray_results if engine == "ray" else _local_results
    with journal:
        for result in runner(pending, settings, splits, workers):
            journal.commit({"query": result.query_id, "rows": result.rows, "errors": result.errors})
            for stage, value in result.seconds.items():
                seconds[stage] += value
            log.info(
                "query %s: %s; seconds %s",
                result.query_id,
                result.stats,
                json.dumps({k: round(v, 4) for k, v in result.seconds.items()}),
            )
            for line in result.errors:
                log.warning("failed: %s", line)
            if progress is not None:
                progress(result)
    summary.seconds = dict(seconds)
    _finish(out, queries, bad_lines, journal.records(), settings, command, summary)
    log.info("finished: %s", summary.describe().splitlines()[0])
    return summary


def _finish(
    out: Path,
    queries: Sequence[Query],
    bad_lines: list[str],
    records: dict[str, dict[str, Any]],
    settings: BuildSettings,
    command: str,
    summary: BuildSummary,
) -> None:
    from vipexec.build.card import describe_rows, render_card
    from vipexec.build.output import TRL_RULE, write_output, write_text

    rows_by_split: dict[str, list[dict[str, Any]]] = {}
    errors = list(bad_lines)
    for query in queries:
        record = records[query.id]
        errors += record["errors"]
        for row in record["rows"]:
            rows_by_split.setdefault(row["meta"]["split"], []).append(row)
    order = [name for name, _ in settings.splits]
    named = sorted(rows_by_split, key=lambda split: (split not in order, *_rank(order, split)))
    rows_by_split = {split: rows_by_split[split] for split in named}
    counts = write_output(out, rows_by_split, errors)
    splits = {
        split: {**describe_rows(rows), "trl_rows": counts[split]["trl_rows"]}
        for split, rows in rows_by_split.items()
    }
    facts = {
        "generator": settings.generator,
        "converter": settings.converter,
        "models": _models(settings),
        "seed": settings.seed,
        "crash_rate": settings.crash_rate,
        "command": command,
        "errors": len(errors),
        "trl_view": TRL_RULE,
    }
    write_text(out / "README.md", render_card(facts, splits))
    summary.splits = splits
    summary.errors = len(errors)
    summary.programs = sum(info["rows"] for info in splits.values())
    summary.steps = sum(info["steps"] for info in splits.values())


def _rank(order: list[str], split: str) -> tuple[int, str]:
    """Splits in the settings' order first (train, val, test), others after by name."""
    return (order.index(split) if split in order else 0, split)


def _models(settings: BuildSettings) -> dict[str, Any]:
    from vipexec.build.backends import CLEAN, NOISY

    if settings.config is None:
        if settings.noise > 0 and settings.noisy_share > 0:
            noisy = {"backend": NOISY, "noise": settings.noise, "share": settings.noisy_share}
            return {"backend": CLEAN, "noisy": noisy}
        return {"backend": CLEAN}
    return {"config": settings.config, "sha256": _file_hash(Path(settings.config))}


# --- the output folder's claim ------------------------------------------------------------------


def _claim(out: Path, queries_file: Path, settings: BuildSettings, command: str) -> None:
    """Record what this folder is built from, or refuse when it already holds another build."""
    identity = {
        "settings": settings.to_dict(),
        "queries_sha256": _file_hash(queries_file),
        "config_sha256": _file_hash(Path(settings.config)) if settings.config else None,
    }
    manifest = out / MANIFEST
    if manifest.exists():
        earlier = json.loads(manifest.read_text(encoding="utf-8"))
        if earlier["identity"] != identity:
            differ = _differences(earlier["identity"], identity)
            raise BuildError(
                f"{out} holds a build made by a different command ({earlier['command']}); "
                f"differs in {', '.join(differ)}: use another --out, or delete the folder"
            )
        return
    inputs = {Path(settings.images), queries_file}
    if out.exists() and any(
        not any(path.is_relative_to(entry) for path in inputs) for entry in out.iterdir()
    ):  # a folder that holds only the build's own inputs (vipexec dataset's source/) is fine
        raise BuildError(f"{out} is not empty and holds no build: choose an empty or new folder")
    from vipexec.build.output import write_text

    out.mkdir(parents=True, exist_ok=True)
    write_text(manifest, json.dumps({"identity": identity, "command": command}, indent=2))


def _differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    flat_a = {**a["settings"], **{k: v for k, v in a.items() if k != "settings"}}
    flat_b = {**b["settings"], **{k: v for k, v in b.items() if k != "settings"}}
    names = {"queries_sha256": "the queries file", "config_sha256": "the models config"}
    keys = sorted(flat_a.keys() | flat_b.keys())
    return [names.get(k, k) for k in keys if flat_a.get(k) != flat_b.get(k)]


def _file_hash(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise BuildError(f"{path}: cannot read: {exc.strerror or exc}") from None


def require_pyarrow() -> None:
    """Refuse to start a build that could not write its dataset."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise BuildError("writing the dataset needs pyarrow (pip install pyarrow)") from None


def _logger(path: Path) -> logging.Logger:
    log = logging.getLogger(f"vipexec.build.{path}")
    log.propagate = False
    log.setLevel(logging.INFO)
    for handler in list(log.handlers):
        log.removeHandler(handler)
        handler.close()
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    return log


# --- engines ------------------------------------------------------------------------------------

_WORKER_CONTEXT: BuildContext | None = None


def _start_worker(settings: BuildSettings, splits: dict[str, str]) -> None:
    import atexit

    global _WORKER_CONTEXT
    _WORKER_CONTEXT = BuildContext(settings, splits)
    atexit.register(_WORKER_CONTEXT.close)


def _process_in_worker(query: Query) -> QueryResult:
    assert _WORKER_CONTEXT is not None
    return process(query, _WORKER_CONTEXT)


def _local_results(
    pending: Sequence[Query], settings: BuildSettings, splits: dict[str, str], workers: int
) -> Iterator[QueryResult]:
    if not pending:
        return
    if workers == 1:
        context = BuildContext(settings, splits)
        try:
            for query in pending:
                yield process(query, context)
        finally:
            context.close()
        return
    # spawn: a worker must not inherit the parent's threads (progress display, logging locks).
    pool = concurrent.futures.ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_worker,
        initargs=(settings, splits),
    )
    queue = iter(pending)
    running: set[concurrent.futures.Future] = set()
    try:
        for query in queue:
            running.add(pool.submit(_process_in_worker, query))
            if len(running) >= 2 * workers:
                break
        while running:
            finished, running = concurrent.futures.wait(
                running, return_when=concurrent.futures.FIRST_COMPLETED
            )
            for future in finished:
                try:
                    result = future.result()
                except concurrent.futures.process.BrokenProcessPool:
                    raise BuildError(
                        "a build worker process died (out of memory or killed); the queries "
                        "finished so far are kept: run the same command again to go on"
                    ) from None
                yield result
                query = next(queue, None)
                if query is not None:
                    running.add(pool.submit(_process_in_worker, query))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


class _RayWorker:
    """A Ray actor holding one build context."""

    def __init__(self, settings: BuildSettings, splits: dict[str, str]) -> None:
        self.context = BuildContext(settings, splits)

    def process(self, query: Query) -> QueryResult:
        return process(query, self.context)

    def close(self) -> None:
        self.context.close()


def _ray_results(
    pending: Sequence[Query], settings: BuildSettings, splits: dict[str, str], workers: int
) -> Iterator[QueryResult]:
    try:
        import ray
        from ray.util import ActorPool
    except ImportError:
        raise BuildError("--engine ray needs ray (pip install vipexec[scale])") from None
    if not pending:
        return
    if not ray.is_initialized():
        # RAY_ADDRESS in the environment joins a running cluster; without it Ray starts locally.
        ray.init(include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
    actor = ray.remote(num_cpus=1)(_RayWorker)
    splits_ref = ray.put(splits)
    actors = [actor.remote(settings, splits_ref) for _ in range(workers)]
    try:
        pool = ActorPool(actors)
        yield from pool.map_unordered(lambda a, query: a.process.remote(query), pending)
    except ray.exceptions.RayError as exc:
        raise BuildError(
            f"Ray failed ({type(exc).__name__}); the queries finished so far are kept: run the "
            "same command again to go on"
        ) from None
    finally:
        with contextlib.suppress(ray.exceptions.RayError):  # their sandbox processes
            ray.get([handle.close.remote() for handle in actors])
        for handle in actors:
            ray.kill(handle)


def command_line(argv: Sequence[str] | None = None) -> str:
    """The invocation as recorded in the card (program name, then the arguments)."""
    import shlex

    args = list(sys.argv[1:] if argv is None else argv)
    return shlex.join(["vipexec", *args])
