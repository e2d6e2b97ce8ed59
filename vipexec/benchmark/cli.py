"""``vipexec label-quality``: the label-quality benchmark as a command (see :mod:`.quality`)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, TextIO

from vipexec.labelers.cli import _BAD_INPUT, _fail, _one_line, _parse_options

__all__ = ["quality_command"]


def quality_command(
    *,
    scenes: int = 40,
    seed: int = 0,
    faults: int = 2,
    templates: Sequence[str] | None = None,
    checker: str = "synthetic-independent",
    checker_options: Sequence[str] | dict[str, Any] | None = None,
    max_examples: int = 40,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Measure label quality on generated programs and print the report."""
    from vipexec.benchmark.quality import QualityConfig, format_report, measure

    out = out or sys.stdout
    err = err or sys.stderr
    try:
        if isinstance(scenes, bool) or not isinstance(scenes, int) or scenes < 1:
            raise ValueError(f"scenes must be a positive int, got {scenes!r}")
        config = QualityConfig(
            scenes=scenes,
            seed=seed,
            faults_per_instance=faults,
            templates=list(templates) if templates else None,
            checker=checker,
            checker_options=_parse_options(checker_options),
            max_examples=max_examples,
        )
        report = measure(config)
    except _BAD_INPUT as exc:
        return _fail(err, _one_line(exc))
    print(format_report(report), file=out)
    return 0
