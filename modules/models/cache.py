"""The call cache: (model identity, method, image content id, box, arguments) -> result.

Results are plain data (what the API returns), so they are stored as JSON: in an in-memory LRU,
and optionally in a sqlite file behind it that outlives the process (several runs over one
program tree, or several hosts on one machine, share it). Thread-safe; :meth:`CallCache.fetch`
computes a missing result once even when several threads ask for it at the same moment.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

__all__ = ["CallCache", "call_key"]

_MISSING = object()


def call_key(
    identity: str,
    method: str,
    image: str | None,
    box: Sequence[int] | None,
    args: dict[str, Any],
) -> str:
    """A stable hex key of one call (arguments are compared as canonical JSON)."""
    payload = json.dumps(
        [identity, method, image, None if box is None else [int(v) for v in box], args],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


class CallCache:
    """An LRU of ``max_entries`` results in memory, optionally backed by a sqlite file."""

    def __init__(self, *, max_entries: int = 100_000, path: str | Path | None = None) -> None:
        if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 0:
            raise ValueError(f"max_entries must be a non-negative int, got {max_entries!r}")
        self.max_entries = max_entries
        self.path = None if path is None else Path(path)
        self._memory: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()
        self._inflight: dict[str, Future] = {}
        self._inflight_lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self.hits = 0
        self.misses = 0
        self.disk_hits = 0
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                str(self.path), check_same_thread=False, isolation_level=None, timeout=30
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS calls "
                "(key TEXT PRIMARY KEY, value TEXT NOT NULL, created REAL NOT NULL)"
            )

    def __repr__(self) -> str:
        where = f" at {self.path}" if self.path else ""
        return f"<CallCache {len(self._memory)} in memory{where}>"

    def __len__(self) -> int:
        return len(self._memory)

    def get(self, key: str, default: Any = None) -> Any:
        """The cached result, or ``default``; use :meth:`lookup` to tell a hit from a miss."""
        found, value = self.lookup(key)
        return value if found else default

    def lookup(self, key: str) -> tuple[bool, Any]:
        """``(True, result)`` on a hit, ``(False, None)`` on a miss."""
        with self._lock:
            text = self._memory.get(key, _MISSING)
            if text is not _MISSING:
                self._memory.move_to_end(key)
                self.hits += 1
                return True, json.loads(text)
            if self._db is not None:
                row = self._db.execute("SELECT value FROM calls WHERE key = ?", (key,)).fetchone()
                if row is not None:
                    self._remember(key, row[0])
                    self.hits += 1
                    self.disk_hits += 1
                    return True, json.loads(row[0])
            self.misses += 1
            return False, None

    def fetch(self, key: str, compute: Callable[[], Any]) -> tuple[Any, bool]:
        """``(result, hit)``: the cached result, or ``compute()`` stored under ``key``.

        Threads that ask for a key while another computes it wait for that result (a hit) or
        get its exception; a failed computation is not cached.
        """
        found, value = self.lookup(key)
        if found:
            return value, True
        with self._inflight_lock:
            future = self._inflight.get(key)
            owner = future is None
            if owner:
                future = self._inflight[key] = Future()
        if not owner:
            return future.result(), True
        try:
            found, value = self.lookup(key)  # filled between the first look and owning the key
            if not found:
                value = compute()
                self.put(key, value)
            future.set_result(value)
        except BaseException as exc:
            future.set_exception(exc)
            raise
        finally:
            with self._inflight_lock:
                self._inflight.pop(key, None)
        return value, found

    def put(self, key: str, value: Any) -> None:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        with self._lock:
            self._remember(key, text)
            if self._db is not None:
                self._db.execute(
                    "INSERT OR REPLACE INTO calls (key, value, created) VALUES (?, ?, ?)",
                    (key, text, time.time()),
                )

    def _remember(self, key: str, text: str) -> None:
        if self.max_entries == 0:
            return
        self._memory[key] = text
        self._memory.move_to_end(key)
        while len(self._memory) > self.max_entries:
            self._memory.popitem(last=False)

    def clear(self, *, disk: bool = False) -> None:
        with self._lock:
            self._memory.clear()
            if disk and self._db is not None:
                self._db.execute("DELETE FROM calls")

    def stats(self) -> dict[str, Any]:
        with self._lock:
            disk = None
            if self._db is not None:
                disk = self._db.execute("SELECT COUNT(*) FROM calls").fetchone()[0]
            return {
                "hits": self.hits,
                "misses": self.misses,
                "disk_hits": self.disk_hits,
                "memory_entries": len(self._memory),
                "disk_entries": disk,
            }

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
