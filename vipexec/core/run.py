"""The record of one program run and its versioned JSON form (see docs/trace-format.md)."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vipexec.core.errors import InvalidArgumentError
from vipexec.core.program import Block, Program
from vipexec.core.summarize import plain_value

SCHEMA_VERSION = 1
NO_RESULT: dict[str, Any] = {"type": "NoneType", "value": None}
"""the result summary of a run that produced nothing"""


@dataclass(frozen=True)
class RunError:
    """Why a run failed: ``kind`` is one of compile, policy, runtime, timeout, memory, crashed."""

    kind: str
    type: str
    message: str
    block: int | None = None
    line: int | None = None
    details: tuple[dict[str, Any], ...] = ()
    """further problems (a program can have several compile errors)"""

    def describe(self) -> str:
        """One line naming the kind, the block and the line, for a terminal or an LLM."""
        if self.message.startswith(f"{self.kind}: "):  # a refusal names its line itself
            return self.message if self.block is None else f"block {self.block}: {self.message}"
        where = []
        if self.block is not None:
            where.append(f"block {self.block}")
        if self.line is not None:
            where.append(f"line {self.line}")
        location = f" in {', '.join(where)}" if where else ""
        return f"{self.kind} error{location}: {self.type}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        out = {
            "kind": self.kind,
            "type": self.type,
            "message": self.message,
            "block": self.block,
            "line": self.line,
        }
        if self.details:
            out["details"] = list(self.details)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunError:
        return cls(
            kind=data["kind"],
            type=data["type"],
            message=data["message"],
            block=data.get("block"),
            line=data.get("line"),
            details=tuple(data.get("details", ())),
        )


@dataclass(slots=True)
class BlockTrace:
    """What one block did in one run."""

    index: int
    step: int | None
    description: str
    lines: tuple[int, int]
    status: str
    variables: dict[str, Any] = field(default_factory=dict)
    calls: list[dict[str, Any]] = field(default_factory=list)
    ms: float = 0.0
    executions: int = 0
    iterations: list[dict[str, Any]] = field(default_factory=list)
    """per-execution records (variables, status, ms) for blocks that ran more than once"""
    calls_dropped: int = 0
    error: dict[str, Any] | None = None
    labels: dict[str, Any] = field(default_factory=dict)
    """filled by labelers: dimension -> {"value": True | False | None, "evidence": ...}"""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "index": self.index,
            "step": self.step,
            "description": self.description,
            "lines": list(self.lines),
            "status": self.status,
            "variables": self.variables,
            "calls": self.calls,
            "ms": round(self.ms, 4),
            "executions": self.executions,
        }
        if self.executions > 1:
            out["iterations"] = self.iterations
        if self.calls_dropped:
            out["calls_dropped"] = self.calls_dropped
        if self.error is not None:
            out["error"] = self.error
        if self.labels:
            out["labels"] = self.labels
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BlockTrace:
        return cls(
            index=data["index"],
            step=data.get("step"),
            description=data.get("description", ""),
            lines=tuple(data["lines"]),
            status=data["status"],
            variables=data.get("variables", {}),
            calls=data.get("calls", []),
            ms=data.get("ms", 0.0),
            executions=data.get("executions", 0),
            iterations=data.get("iterations", []),
            calls_dropped=data.get("calls_dropped", 0),
            error=data.get("error"),
            labels=data.get("labels", {}),
        )


_NOT_SENT: Any = object()


@dataclass
class Run:
    """One run of a program: result, error and the per-block trace.

    ``result`` is the live value when the run happened in this process; a Run that crossed a
    process boundary or a file gets it from :meth:`result_from_summary`.
    """

    program: Program
    result: Any
    result_summary: dict[str, Any]
    error: RunError | None
    blocks: list[BlockTrace]
    stdout: str = ""
    stdout_dropped: int = 0
    inputs: dict[str, Any] = field(default_factory=dict)
    ms: float = 0.0
    backend: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    trace_cut: dict[str, Any] | None = None
    """``{"max_bytes", "block"}`` when the block records reached the trace's byte bound"""

    @property
    def ok(self) -> bool:
        return self.error is None

    @staticmethod
    def result_from_summary(summary: dict[str, Any] | None, *, whole: Any = _NOT_SENT) -> Any:
        """The result of a run that crossed a process boundary or a file, where only its
        summary (and, from a sandbox worker, perhaps the whole plain value) came along.

        ``whole`` is the result itself when it crossed complete (a worker sends a plain result
        in full, longer than its summary keeps); else the summary's plain value when it holds
        one completely (numbers, strings, lists and tuples of them; a tuple comes back as a
        list), else the summary itself (a patch, a truncated list). No summary is a None
        result. Every path that rebuilds a Run uses this one rule.
        """
        if whole is not _NOT_SENT:
            return whole
        return plain_value(summary or NO_RESULT)

    # --- JSON ---------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        program = self.program
        out = {
            "schema": SCHEMA_VERSION,
            "program": {
                "name": program.name,
                "form": program.form,
                "entry": program.entry,
                "params": list(program.params),
                "sha256": program.sha256,
                "source": program.source,
                "blocks": [block.to_dict() for block in program.blocks],
            },
            "inputs": self.inputs,
            "backend": self.backend,
            "result": self.result_summary,
            "error": self.error.to_dict() if self.error else None,
            "stdout": self.stdout,
            "stdout_dropped": self.stdout_dropped,
            "ms": round(self.ms, 4),
            "blocks": [block.to_dict() for block in self.blocks],
            "meta": self.meta,
        }
        if self.trace_cut is not None:
            out["trace_cut"] = self.trace_cut
        return out

    def to_json(self, *, indent: int | None = 2) -> str:
        return json_text(self.to_dict(), indent=indent)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json() + "\n", encoding="utf-8")

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, program: Program | None = None) -> Run:
        """Rebuild a Run; pass ``program`` when it is at hand (a trace of it need not hold
        the source again, and nothing is re-parsed)."""
        schema = data.get("schema")
        if schema != SCHEMA_VERSION:
            raise InvalidArgumentError(
                f"trace schema {schema!r} is not supported (this vipexec reads {SCHEMA_VERSION})"
            )
        if program is None:
            source = data["program"]
            program = Program.from_source(
                source["source"], name=source["name"], entry=source.get("entry")
            )
            stored_blocks = tuple(Block.from_dict(b) for b in source.get("blocks", ()))
            if stored_blocks and stored_blocks != program.blocks:
                # Keep the blocks the trace was recorded with (an older splitter may differ).
                program.blocks = stored_blocks
        summary = data.get("result") or NO_RESULT
        error = data.get("error")
        return cls(
            program=program,
            result=cls.result_from_summary(summary),
            result_summary=summary,
            error=RunError.from_dict(error) if error else None,
            blocks=[BlockTrace.from_dict(b) for b in data.get("blocks", ())],
            stdout=data.get("stdout", ""),
            stdout_dropped=data.get("stdout_dropped", 0),
            inputs=data.get("inputs", {}),
            ms=data.get("ms", 0.0),
            backend=data.get("backend"),
            meta=data.get("meta", {}),
            trace_cut=data.get("trace_cut"),
        )

    @classmethod
    def from_json(cls, text: str) -> Run:
        return cls.from_dict(json_object(text, "a trace", "program"))

    @classmethod
    def load(cls, path: str | Path) -> Run:
        return cls.from_json(read_text(path))

    @classmethod
    def failed(
        cls,
        program: Program,
        error: RunError,
        blocks: list[BlockTrace] | None = None,
        *,
        inputs: dict[str, Any] | None = None,
        ms: float = 0.0,
        meta: dict[str, Any] | None = None,
    ) -> Run:
        """A Run that produced no result; blocks default to all ``not_run``."""
        if blocks is None:
            blocks = [
                BlockTrace(b.index, b.step, b.description, b.lines, "not_run")
                for b in program.blocks
            ]
        return cls(
            program=program,
            result=None,
            result_summary=dict(NO_RESULT),
            error=error,
            blocks=blocks,
            inputs=inputs or {},
            ms=ms,
            meta=meta or {},
        )

    def __repr__(self) -> str:
        state = "ok" if self.ok else self.error.kind
        return f"Run({self.program.name!r}, {state}, result={self.result_summary})"


def json_text(data: Any, *, indent: int | None = None) -> str:
    """``data`` as JSON that any reader accepts and any UTF-8 stream can take.

    Non-finite floats (which JSON has no syntax for) become ``"nan"``, ``"inf"``, ``"-inf"``;
    lone surrogates, C1 control characters and the line separators U+2028/U+2029 are written
    as ``\\uXXXX`` escapes (they decode back to the same string).
    """
    try:
        text = json.dumps(data, indent=indent, ensure_ascii=False, allow_nan=False)
    except ValueError:
        text = json.dumps(_finite(data), indent=indent, ensure_ascii=False, allow_nan=False)
    if _UNSAFE_CHARS.search(text) is None:
        return text
    return _UNSAFE_CHARS.sub(_escaped, text)


_UNSAFE_CHARS = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def _escaped(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def _finite(value: Any) -> Any:
    """A copy of plain JSON data with each non-finite float replaced by its repr."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def json_object(text: str, what: str, required_key: str) -> dict[str, Any]:
    """Parse ``text`` as a JSON object holding ``required_key``, or say plainly why not."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidArgumentError(f"not {what}: invalid JSON ({exc})") from None
    if not isinstance(data, dict) or required_key not in data:
        raise InvalidArgumentError(f"not {what}: no {required_key!r} entry")
    return data


def read_text(path: str | Path) -> str:
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidArgumentError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InvalidArgumentError(f"{path}: is a directory") from None
    except UnicodeDecodeError:
        raise InvalidArgumentError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise InvalidArgumentError(f"{path}: cannot be read: {exc.strerror or exc}") from None
