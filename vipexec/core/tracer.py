"""The runtime half of tracing: a Recorder the instrumented code calls at every block boundary.

Instrumented code calls ``enter(i)`` before block ``i``, ``raised(i)`` from an ``except`` clause
when an exception leaves it, and ``exit(i, locals())`` from its ``finally`` clause. At exit the
recorder summarises the names that block binds (known statically) and drops the locals: no live
reference outlives the call.

The module layer reports API calls with :func:`record_call`; they are filed under the innermost
block running at the time, through a context variable so that threads and nested runs stay apart.
"""

from __future__ import annotations

import contextvars
import marshal
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from vipexec.core.summarize import DEFAULT_LIMITS, LASTING, Limits, summarize

_ACTIVE: contextvars.ContextVar[Recorder | None] = contextvars.ContextVar(
    "vipexec_active_recorder", default=None
)


@dataclass(frozen=True)
class TraceLimits:
    """Bounds that keep a trace small whatever the program does."""

    max_iterations: int = 20
    """executions of one block recorded in full; later ones are only counted"""
    max_calls: int = 200
    """API calls recorded per block; later ones are only counted"""
    values: Limits = DEFAULT_LIMITS
    """bounds on each summarised value"""
    max_bytes: int = 2_000_000
    """the JSON size (estimated) of everything recorded per block in one run: variables,
    iterations and calls; past it the trace is cut (see ``Recorder.cut``)"""


class BlockState:
    """What the recorder accumulates for one block during a run (one per block per run, so
    a plain slotted class: it is built for every block of every run)."""

    __slots__ = (
        "bound_names",
        "calls",
        "calls_dropped",
        "error",
        "errors",
        "executions",
        "iterations",
        "last_failed",
        "ns",
        "variables",
    )

    def __init__(self, bound_names: tuple[str, ...]):
        self.bound_names = bound_names
        self.executions = 0
        self.errors = 0
        self.ns = 0
        self.variables: dict[str, Any] = {}
        self.iterations: list[dict[str, Any]] = []
        self.calls: list[dict[str, Any]] = []
        self.calls_dropped = 0
        self.error: dict[str, Any] | None = None
        self.last_failed = False


class Recorder:
    """Collects per-block state for one run of one program."""

    def __init__(self, bound_names: Sequence[Sequence[str]], limits: TraceLimits | None = None):
        self.limits = limits or TraceLimits()
        self.blocks = [BlockState(names) for names in bound_names]
        self._stack: list[tuple[int, int]] = []
        self.first_error_block: int | None = None
        self.violations: list[tuple[str, int | None, int | None]] = []
        """policy violations as (message, block, line), kept even if the program caught them"""
        self.lasting: dict[int, Any] = {}
        """summaries of immutable objects, reused for the whole run (see summarize.LASTING)"""
        self.bytes_left = self.limits.max_bytes
        self.cut: dict[str, Any] | None = None
        """set when the trace reached ``max_bytes``: ``{"max_bytes", "block"}``, the block whose
        record did not fit; from then on exits and calls are only counted"""

    # --- called by instrumented code (hot path: keep these short) ----------------------------

    def enter(self, index: int) -> None:
        self._stack.append((index, time.perf_counter_ns()))

    def raised(self, index: int) -> None:
        state = self.blocks[index]
        state.last_failed = True
        if self.first_error_block is None:
            # The innermost block sees an exception first: that is the block that raised.
            self.first_error_block = index
        exc = sys.exc_info()[1]
        if state.error is None and exc is not None:
            state.error = {"type": type(exc).__name__, "message": _message(exc)}

    def exit(self, index: int, frame_locals: Mapping[str, Any]) -> None:
        now = time.perf_counter_ns()
        started = now
        stack = self._stack
        # Pop down to this block even if an inner exit was skipped (e.g. RecursionError).
        while stack:
            top, started = stack.pop()
            if top == index:
                break
        state = self.blocks[index]
        elapsed = now - started
        state.ns += elapsed
        state.executions += 1
        failed = state.last_failed
        state.last_failed = False
        if failed:
            state.errors += 1
        if (state.executions > self.limits.max_iterations and not failed) or self.cut:
            return
        kept = state.executions <= self.limits.max_iterations
        try:
            values, size = self._summarize_bound(index, state.bound_names, frame_locals, kept)
        except RecursionError:
            values, size = {}, 0
        if kept:
            state.iterations.append(
                {"variables": values, "status": "error" if failed else "ok", "ms": elapsed / 1e6}
            )
            size += _ITERATION_SIZE
        self.bytes_left -= size
        state.variables = values

    # --- API calls ------------------------------------------------------------------------------

    def add_call(self, call: dict[str, Any]) -> None:
        if not self._stack:
            return
        index = self._stack[-1][0]
        state = self.blocks[index]
        if len(state.calls) < self.limits.max_calls and not self.cut:
            size = json_size(call)
            if size <= self.bytes_left:
                self.bytes_left -= size
                state.calls.append(call)
                return
            self._cut_at(index)
        state.calls_dropped += 1

    def takes_calls(self) -> bool:
        """Whether a call made now would be recorded (not just counted)."""
        if not self._stack or self.cut:
            return False
        return len(self.blocks[self._stack[-1][0]].calls) < self.limits.max_calls

    def drop_call(self) -> None:
        """Count a call that is not recorded (see :meth:`takes_calls`)."""
        if self._stack:
            self.blocks[self._stack[-1][0]].calls_dropped += 1

    def note_violation(self, message: str, line: int | None) -> None:
        self.violations.append((message, self.current_block, line))

    @property
    def current_block(self) -> int | None:
        return self._stack[-1][0] if self._stack else None

    # --- helpers --------------------------------------------------------------------------------

    def _summarize_bound(
        self, index: int, names: tuple[str, ...], frame_locals: Mapping[str, Any], kept: bool
    ) -> tuple[dict[str, Any], int]:
        """The summaries of the names bound at this exit, and their JSON size (counted twice
        when the exit is also kept as an iteration); cuts the trace when they do not fit."""
        limits = self.limits.values
        max_str = limits.max_str
        # every value is alive in frame_locals while we run, so ids are unique in the memo
        memo: dict[Any, Any] = {LASTING: self.lasting}
        out: dict[str, Any] = {}
        walked = []  # summaries of other kinds: measured together, in one call
        size = 0
        get = frame_locals.get
        for name in names:
            value = get(name, _UNBOUND)
            kind = type(value)
            # The commonest kinds inline, with their size known without a walk.
            if kind is int and _LOWEST_INT <= value <= _INT_LIMIT:
                out[name] = {"type": "int", "value": value}
                size += _SCALAR_SIZE + len(name)
            elif kind is str and len(value) <= max_str:
                out[name] = {"type": "str", "value": value}
                size += _SCALAR_SIZE + len(name) + len(value)
            elif kind is float and value - value == 0.0:  # finite
                out[name] = {"type": "float", "value": value}
                size += _FLOAT_SIZE + len(name)
            elif kind is bool:
                out[name] = {"type": "bool", "value": value}
                size += _SCALAR_SIZE + len(name)
            elif value is None:
                out[name] = {"type": "NoneType", "value": None}
                size += _SCALAR_SIZE + len(name)
            elif value is not _UNBOUND:
                summary = summarize(value, limits, memo)
                out[name] = summary
                walked.append(summary)
                size += len(name) + 4
        if walked:
            size += json_size(walked)
        room = self.bytes_left // 2 if kept else self.bytes_left
        if size > room:
            out, size = self._fit(index, out, room)
        return out, size * 2 if kept else size

    def _fit(self, index: int, values: dict[str, Any], room: int) -> tuple[dict[str, Any], int]:
        """The leading entries of ``values`` that fit in ``room`` bytes (the trace is cut at
        this block), and the size that did not fit."""
        self._cut_at(index)
        fitting: dict[str, Any] = {}
        size = 0
        for name, summary in values.items():
            size += _entry_size(name, summary)
            if size > room:
                break
            fitting[name] = summary
        return fitting, size

    def _cut_at(self, index: int) -> None:
        self.cut = {"max_bytes": self.limits.max_bytes, "block": index}

    def activate(self) -> contextvars.Token:
        return _ACTIVE.set(self)

    @staticmethod
    def deactivate(token: contextvars.Token) -> None:
        _ACTIVE.reset(token)


_INT_LIMIT = 2**53
_LOWEST_INT = -_INT_LIMIT
_UNBOUND = object()
_SCALAR_SIZE = 40
"""JSON size of a scalar summary and its key, without the name and the text:
``"name": {"type": "int", "value": 12345678},`` """
_FLOAT_SIZE = 56
"""the same for a float, whose text takes up to 24 characters"""
_ITERATION_SIZE = 60
"""JSON size of an iteration record without its variables"""


def json_size(value: Any) -> int:
    """The length of ``value`` (plain JSON data) as compact JSON, estimated at C speed (this
    runs at block exits): the marshal length times 5/4, which is at or above the JSON length for
    summaries of numbers and text that JSON does not escape (an escaped character takes up to
    12 bytes in the file, and counts one)."""
    try:
        return len(marshal.dumps(value, 2)) * 5 // 4
    except ValueError:  # not plain data: no summary is like that, but stay safe
        return len(repr(value))


def _entry_size(name: str, summary: dict[str, Any]) -> int:
    """The JSON size of one variable's entry, as :meth:`Recorder.exit` counts it."""
    value = summary.get("value", summary)
    kind = type(value)
    if len(summary) == 2 and kind in _SCALARS:  # a scalar summary: {"type", "value"}
        if kind is str:
            return _SCALAR_SIZE + len(name) + len(value)
        return (_FLOAT_SIZE if kind is float else _SCALAR_SIZE) + len(name)
    return json_size(summary) + len(name) + 4


_SCALARS = frozenset({int, float, str, bool, type(None)})


def _message(exc: BaseException) -> str:
    try:
        text = str(exc)
    except Exception:  # a program-defined exception may have a broken __str__
        text = "<unprintable>"
    return text[:500]


def active_recorder() -> Recorder | None:
    """The recorder of the run in progress in this context, if any."""
    return _ACTIVE.get()


def record_call(
    method: str,
    args: Mapping[str, Any],
    result: Any,
    *,
    ms: float,
    backend: str | None = None,
    image: str | None = None,
    box: Sequence[float] | None = None,
    cache_hit: bool | None = None,
    model: str | None = None,
    error: str | None = None,
) -> None:
    """File one API call under the block running now (a no-op outside a traced run).

    ``args`` and ``result`` are summarised here; callers pass live values.
    """
    recorder = _ACTIVE.get()
    if recorder is None or recorder.current_block is None:
        return
    if not recorder.takes_calls():
        recorder.drop_call()  # past the call cap or the byte bound: counted, not summarised
        return
    limits = recorder.limits.values
    memo: dict[Any, Any] = {LASTING: recorder.lasting}  # args and result are alive meanwhile
    call: dict[str, Any] = {
        "method": method,
        "args": {key: summarize(value, limits, memo) for key, value in args.items()},
        "result": summarize(result, limits, memo),
        "ms": round(ms, 4),
    }
    for key, value in (
        ("backend", backend),
        ("image", image),
        ("box", list(box) if box is not None else None),
        ("cache_hit", cache_hit),
        ("model", model),
        ("error", error),
    ):
        if value is not None:
            call[key] = value
    recorder.add_call(call)
