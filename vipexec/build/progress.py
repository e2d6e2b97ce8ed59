"""The build's progress bar: queries, programs, steps, errors and rate, on stderr.

Uses rich when it is installed, else tqdm, else nothing (the end summary is always printed).
"""

from __future__ import annotations

import sys
import time
from typing import Any

from vipexec.build.unit import QueryResult

__all__ = ["BuildProgress"]


class BuildProgress:
    """Callbacks for :func:`vipexec.build.engine.run_build` (``on_start`` and ``progress``)."""

    def __init__(self, stream: Any = None, *, enabled: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.counts = {"programs": 0, "steps": 0, "errors": 0}
        self._bar: Any = None
        self._update: Any = None
        self._started = time.monotonic()
        self._processed = 0

    def start(self, total: int, done: int) -> None:
        self._started = time.monotonic()
        if not self.enabled:
            return
        try:
            self._start_rich(total, done)
        except ImportError:
            try:
                self._start_tqdm(total, done)
            except ImportError:
                self.enabled = False

    def _start_rich(self, total: int, done: int) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeRemainingColumn,
        )

        bar = Progress(
            TextColumn("queries"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TextColumn(
                "{task.fields[programs]} programs, {task.fields[steps]} steps, "
                "{task.fields[errors]} errors, {task.fields[rate]}"
            ),
            TimeRemainingColumn(),
            console=Console(file=self.stream),
        )
        task = bar.add_task("build", total=total, completed=done, rate="-", **self.counts)
        bar.start()
        self._bar = bar

        def update() -> None:
            bar.update(task, advance=1, rate=self._rate(), **self.counts)

        self._update = update

    def _start_tqdm(self, total: int, done: int) -> None:
        from tqdm import tqdm

        bar = tqdm(total=total, initial=done, unit="query", file=self.stream)
        self._bar = bar

        def update() -> None:
            bar.set_postfix(self.counts, refresh=False)
            bar.update(1)

        self._update = update

    def _rate(self) -> str:
        seconds = time.monotonic() - self._started
        return f"{self._processed / seconds:.2f} queries/s" if seconds > 0 else "-"

    def advance(self, result: QueryResult) -> None:
        self._processed += 1
        for key, value in result.stats.items():
            self.counts[key] += value
        if self._update is not None:
            self._update()

    def close(self) -> None:
        if self._bar is not None:
            stop = getattr(self._bar, "stop", None) or self._bar.close
            stop()
            self._bar = None
