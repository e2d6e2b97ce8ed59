"""The ``vipexec build`` and ``vipexec dataset`` commands (parsing lives in :mod:`vipexec.cli`).

Each returns an exit code: 0 done, 1 ``dataset stats`` found an image in two splits, 2 a bad
invocation or input (one line on stderr).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from vipexec.build.context import BuildError, BuildSettings
from vipexec.build.engine import require_pyarrow
from vipexec.core.errors import VipexecError
from vipexec.generate.command import LLMSettings
from vipexec.generate.tree_builder import TreeLimits

__all__ = ["PRESETS", "Negatives", "build_command", "dataset_command", "stats_command"]


@dataclass(frozen=True)
class Negatives:
    """How a build makes negative steps beyond the grammar's code faults (see docs/build.md)."""

    fault_rate: float = 0.5
    """chance that a further alternative of a grammar step is faulty"""
    crash_rate: float = 0.0
    """share of the grammar's faulty alternatives that fail at run time"""
    noise: float = 0.0
    """error rate of each perception operation on the noisy backend"""
    noisy_share: float = 1.0
    """share of the queries run on the noisy backend (when ``noise`` > 0)"""


PRESETS = {
    "plain": Negatives(),
    "reward": Negatives(fault_rate=0.9, crash_rate=0.6, noise=0.3, noisy_share=1.0),
}
"""``--preset``: ``plain`` (code faults only, clean backend) and ``reward`` (relevance and
attribute negatives frequent enough to measure a reward model on)"""


def build_command(
    queries: Path,
    *,
    images: Path,
    out: Path,
    generator: str = "grammar",
    converter: str = "template",
    config: Path | None = None,
    workers: int = 1,
    engine: str = "local",
    seed: int = 0,
    limits: TreeLimits | None = None,
    llm: LLMSettings | None = None,
    negatives: Negatives | None = None,
    command: str,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    show_progress: bool | None = None,
) -> int:
    """Build the step dataset of ``queries`` into ``out`` (or finish an interrupted build)."""
    from vipexec.build.engine import run_build
    from vipexec.build.progress import BuildProgress

    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    if not queries.is_file():
        return _fail(stderr, f"{queries}: no such queries file")
    if not images.is_dir():
        return _fail(stderr, f"--images {images}: not a folder")
    if config is not None and not config.is_file():
        return _fail(stderr, f"--config {config}: no such file")
    limits = limits or TreeLimits()
    negatives = negatives or Negatives()
    settings = BuildSettings(
        images=str(images.resolve()),
        out=str(out.resolve()),
        generator=generator,
        converter=converter,
        config=str(config.resolve()) if config is not None else None,
        seed=seed,
        alternatives=limits.alternatives,
        max_steps=limits.max_steps,
        max_leaves=limits.max_leaves,
        fault_rate=negatives.fault_rate,
        crash_rate=negatives.crash_rate,
        noise=negatives.noise,
        noisy_share=negatives.noisy_share,
        llm=llm.to_dict() if llm is not None and "llm" in (generator, converter) else None,
    )
    bar = BuildProgress(stderr, enabled=show_progress)
    try:
        summary = run_build(
            queries.resolve(),
            settings,
            command=command,
            workers=workers,
            engine=engine,
            progress=bar.advance,
            on_start=bar.start,
        )
    except (VipexecError, ValueError) as exc:
        return _fail(stderr, str(exc))
    finally:
        bar.close()
    print(summary.describe(), file=stdout)
    return 0


def dataset_command(
    out: Path,
    *,
    queries: int = 1000,
    seed: int = 0,
    workers: int = 1,
    engine: str = "local",
    negatives: Negatives | None = None,
    command: str,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    show_progress: bool | None = None,
) -> int:
    """The synthetic shortcut: render scenes and queries into ``out/source``
    (:func:`vipexec.benchmark.synthetic_queries.make_synthetic_queries`), then build them into
    ``out`` with the grammar generator and the template converter (re-running it resumes)."""

    stderr = stderr or sys.stderr
    if out.suffix in (".jsonl", ".json", ".parquet"):
        return _fail(
            stderr, f"{out}: vipexec dataset writes a folder (data/, jsonl/, trl/, README.md)"
        )
    try:
        require_pyarrow()  # before the scenes are rendered, not after
        queries_file = _synthetic_source(out, queries, seed)
    except (VipexecError, ValueError, OSError) as exc:
        return _fail(stderr, str(exc))
    return build_command(
        queries_file,
        images=queries_file.parent / "images",
        out=out,
        generator="grammar",
        seed=seed,
        workers=workers,
        engine=engine,
        negatives=negatives,
        command=command,
        stdout=stdout,
        stderr=stderr,
        show_progress=show_progress,
    )


def _synthetic_source(out: Path, queries: int, seed: int) -> Path:
    """``out/source`` holding the synthetic queries of ``queries`` and ``seed``.

    They are written to a scratch folder first: a folder whose ``source`` holds other queries
    (another --queries or --seed) is refused before anything in it changes.
    """
    import shutil

    from vipexec.benchmark.synthetic_queries import make_synthetic_queries

    source, scratch = out / "source", out / ".source.partial"
    shutil.rmtree(scratch, ignore_errors=True)  # left by a build killed while writing it
    # no split in the lines: the build splits by image (queries on two images share them)
    fresh = make_synthetic_queries(scratch, queries, seed, test_every=None)
    try:
        if not source.exists():
            scratch.rename(source)
        elif (source / fresh.name).read_bytes() != fresh.read_bytes():
            raise BuildError(
                f"{out} holds a build of other synthetic queries (another --queries or --seed): "
                "use another folder, or delete it"
            )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return source / fresh.name


def stats_command(
    folder: Path, *, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    """Print a build's card and check that no image is in two splits (exit 1 when one is)."""
    from vipexec.build.card import image_leaks, read_card

    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    try:
        text, _ = read_card(folder)
        leaks = image_leaks(folder)
    except (VipexecError, ValueError) as exc:
        return _fail(stderr, str(exc))
    print(text, file=stdout)
    for line in leaks:
        print(f"vipexec: leak: {line}", file=stderr)
    if leaks:
        return 1
    print("no image is in two splits", file=stdout)
    return 0


def _fail(stream: TextIO, message: str) -> int:
    from vipexec.core.terminal import terminal_text

    print(f"vipexec: {terminal_text(message.strip().splitlines()[0])}", file=stream)
    return 2
