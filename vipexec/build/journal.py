"""The build journal: an append-only JSONL file, one committed line per finished query.

A line is committed once its newline is on disk (written, flushed and fsynced). Whatever follows
the last newline is a line torn by a kill: reading ignores it and opening for append cuts it off,
so a resumed build rewrites that query. A query id found twice (which only a bug could cause)
counts once: the first line wins.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from vipexec.core.run import json_text

__all__ = ["Journal"]


class Journal:
    """Committed query results in ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: Any = None

    def records(self) -> dict[str, dict[str, Any]]:
        """``{query id: record}`` of every committed line."""
        out: dict[str, dict[str, Any]] = {}
        if not self.path.exists():
            return out
        with self.path.open("rb") as handle:
            for raw in handle:
                if not raw.endswith(b"\n"):
                    break  # torn by a kill: never committed
                record = json.loads(raw)
                out.setdefault(record["query"], record)
        return out

    def open(self) -> Journal:
        """Open for appending, first cutting off a torn last line."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        committed = 0
        if self.path.exists():
            with self.path.open("rb") as handle:
                for raw in handle:
                    if not raw.endswith(b"\n"):
                        break
                    committed += len(raw)
            os.truncate(self.path, committed)
        self._handle = self.path.open("ab")
        return self

    def commit(self, record: dict[str, Any]) -> None:
        """Append one record and make it durable before returning."""
        self._handle.write(json_text(record).encode("utf-8") + b"\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __enter__(self) -> Journal:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()
