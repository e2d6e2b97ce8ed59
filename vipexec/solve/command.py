"""``vipexec solve``: answer queries by reward-guided least-to-most search (parsing lives in
:mod:`vipexec.cli`).

One question with its images, or the queries of a QUERIES.jsonl file (all, or those named by
id), each searched with :func:`vipexec.solve.search.search`: the kept block at every step is the
one the reward model (``--model``) rates best, or a random one (``--unguided``). Each query's
result (answer, expected answer, how the search ended, the program; with ``--json`` one JSON
line) is printed as soon as it is found, so a long run shows its progress; a summary line ends
a run of several queries. Returns the exit code: 0 every search ran; 1 a search could not run
(its line says why, the others still run); 2 a bad invocation or input (one line, before any
search).
"""

from __future__ import annotations

import json
import random
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from vipexec.core.errors import InvalidArgumentError, VipexecError
from vipexec.core.terminal import terminal_text
from vipexec.generate.command import LLMSettings
from vipexec.generate.protocol import Query
from vipexec.generate.queries import read_queries
from vipexec.solve.search import RandomChooser, RewardChooser, SearchLimits, SearchResult, search

__all__ = ["SolveError", "SolveSettings", "file_queries", "question_query", "solve_command"]

QUESTION_ID = "question"


class SolveError(InvalidArgumentError):
    """A bad invocation or input of ``vipexec solve``: one line, exit code 2."""


@dataclass(frozen=True)
class SolveSettings:
    model: Path | None = None
    """a reward export folder or checkpoint; None with ``unguided``"""
    unguided: bool = False
    generator: str = "grammar"
    converter: str = "template"
    limits: SearchLimits = field(default_factory=SearchLimits)
    seed: int = 0
    aggregator: str = "paper"
    threshold: float = 0.5
    device: str = "cpu"
    timeout: float = 30.0
    """seconds each candidate prefix may run"""
    llm: LLMSettings = field(default_factory=LLMSettings)
    cache: Path = Path.home() / ".cache" / "vipexec" / "chat"
    """LLM answers (``--generator llm`` / ``--converter llm``)"""
    tree_dir: Path | None = None
    as_json: bool = False


def question_query(question: str, images: Sequence[Path], answer: Any = None) -> Query:
    """One free-text question on image files."""
    if not question.strip():
        raise SolveError("the question is empty")
    for path in images:
        if not path.exists():
            raise SolveError(f"{path}: no such image")
    return Query(
        id=QUESTION_ID,
        query=question,
        images=tuple(p.resolve() for p in images),
        answer=answer,
    )


def file_queries(path: Path, images_dir: Path, ids: Sequence[str] = ()) -> list[Query]:
    """The queries of a QUERIES.jsonl file, or those of ``ids`` in that order."""
    if not path.is_file():
        raise SolveError(f"{path}: no such queries file")
    if not images_dir.is_dir():
        raise SolveError(f"--images {images_dir}: not a folder")
    queries, errors = read_queries(path, images_dir)
    if errors:
        raise SolveError(errors[0])
    if not ids:
        if not queries:
            raise SolveError(f"{path}: no queries")
        return queries
    by_id = {query.id: query for query in queries}
    missing = [query_id for query_id in ids if query_id not in by_id]
    if missing:
        raise SolveError(f"{path}: no query with id {missing[0]!r}")
    return [by_id[query_id] for query_id in ids]


def solve_command(
    queries: Sequence[Query],
    settings: SolveSettings,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Search each query and print what it found (see the module docstring)."""
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    try:
        generator, chooser, converter = _parts(queries, settings)
    except (VipexecError, ValueError, OSError) as exc:
        return _fail(stderr, str(exc))
    from vipexec.generate.execute_tree import tree_sandbox

    results: list[SearchResult] = []
    failed = 0
    with tree_sandbox(workers=1, timeout=settings.timeout) as sandbox:
        for query in queries:
            # each query's own random stream: its search does not depend on the others
            rng = random.Random(f"{settings.seed}\0{query.id}")
            try:
                result = search(
                    query, generator, chooser, sandbox, converter, settings.limits, rng=rng
                )
                if settings.tree_dir is not None:
                    settings.tree_dir.mkdir(parents=True, exist_ok=True)
                    result.tree.save(settings.tree_dir / f"{query.id}.json")
            except Exception as exc:  # one query's failure must not stop the others
                failed += 1
                _fail(stderr, f"query {query.id}: {type(exc).__name__}: {exc}")
                continue
            results.append(result)
            text = json.dumps(describe(result)) if settings.as_json else _report(result)
            print(terminal_text(text) if settings.as_json else text, file=stdout, flush=True)
    if len(queries) > 1 and not settings.as_json:
        print(_summary(results, failed), file=stdout)
    return 1 if failed else 0


def _parts(queries: Sequence[Query], settings: SolveSettings) -> tuple[Any, Any, Any]:
    """The generator, the step chooser and the CoT converter, or a one-line refusal."""
    from vipexec.build.context import make_converter
    from vipexec.generate.command import make_generator

    if settings.unguided == (settings.model is not None):
        raise SolveError("pass --model PATH (a reward model) or --unguided (random choices)")
    if settings.generator == "grammar":
        for query in queries:
            if "family" not in query.meta or "plan_seed" not in query.meta:
                raise SolveError(
                    f"query {query.id}: the grammar generator answers the synthetic queries of a "
                    "queries file (`vipexec dataset` writes DIR/source/queries.jsonl); "
                    "use --queries, or --generator llm"
                )
    if not 0.0 <= settings.threshold < 1.0:
        raise SolveError(f"--threshold {settings.threshold}: expected a number in [0, 1)")
    generator = make_generator(settings.generator, settings.seed, settings.llm, settings.cache)
    converter = make_converter(settings.converter, settings.llm, settings.cache)
    if settings.unguided:
        return generator, RandomChooser(), converter
    assert settings.model is not None
    if not settings.model.exists():
        raise SolveError(f"--model {settings.model}: no such reward model")
    try:
        from vipexec.reward.inference import RewardModel
        from vipexec.reward.select import SelectionError
    except ImportError as exc:
        raise SolveError(
            f"--model needs the reward extra (pip install vipexec[reward]): {exc}"
        ) from None
    try:
        chooser = RewardChooser(
            RewardModel.load(settings.model, device=settings.device),
            aggregator=settings.aggregator,
            threshold=settings.threshold,
        )
    except SelectionError as exc:
        raise SolveError(str(exc)) from None
    return generator, chooser, converter


def describe(result: SearchResult) -> dict[str, Any]:
    """A search's result as plain JSON data."""
    steps = []
    for node in result.path:
        data = result.tree.graph.nodes[node]
        parent = next(iter(result.tree.graph.predecessors(node)))
        mark = data["search"]
        steps.append(
            {
                "depth": mark["depth"],
                "candidates": result.tree.graph.out_degree(parent),
                "score": mark.get("score"),
                "cot": data.get("cot"),
            }
        )
    return {
        "query_id": result.query.id,
        "query": result.query.query,
        "answer": _plain(result.answer),
        "expected": _plain(result.query.answer),
        "correct": result.correct,
        "ending": result.ending,
        "program": result.program,
        "steps": steps,
    }


def _plain(value: Any) -> Any:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
    return value


def _report(result: SearchResult) -> str:
    data = describe(result)
    lines = [terminal_text(f"{data['query_id']}: {data['query']}")]
    for step in data["steps"]:
        score = step["score"]
        rated = (
            " (" + ", ".join(f"{name} {value:.2f}" for name, value in score.items()) + ")"
            if score
            else ""
        )
        lines.append(f"  step {step['depth']}: kept 1 of {step['candidates']}{rated}")
    verdict = ""
    if data["correct"] is not None:
        verdict = f" (expected {data['expected']!r}: {'right' if data['correct'] else 'wrong'})"
    answer = "none" if data["answer"] is None else repr(data["answer"])
    lines.append(terminal_text(f"  answer: {answer}{verdict}; search ended: {data['ending']}"))
    lines.append("  program:")
    lines += ["    " + terminal_text(line) for line in data["program"].splitlines()]
    return "\n".join(lines)


def _summary(results: Sequence[SearchResult], failed: int) -> str:
    endings = Counter(result.ending for result in results)
    judged = [result.correct for result in results if result.correct is not None]
    line = f"{len(results)} queries searched"
    if judged:
        right = sum(judged)
        line += f": {right} of {len(judged)} answered right ({100 * right / len(judged):.1f}%)"
    line += "; endings: " + ", ".join(f"{k} {v}" for k, v in sorted(endings.items()))
    line += f"; {sum(result.proposed for result in results)} candidate blocks run"
    if failed:
        line += f"; {failed} searches failed"
    return line


def _fail(stream: TextIO, message: str) -> int:
    lines = message.strip().splitlines() or ["failed"]
    print(f"vipexec: {terminal_text(lines[0])}", file=stream)
    return 2
