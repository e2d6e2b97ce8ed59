"""Tracing functions of other projects without changing their code: :func:`traced`."""

from __future__ import annotations

import functools
import inspect
import textwrap
import time
import types
from collections.abc import Callable
from typing import Any

from vipexec.core.errors import InvalidArgumentError
from vipexec.core.instrument import hidden_bindings
from vipexec.core.program import Program
from vipexec.core.run import Run
from vipexec.core.tracer import Recorder, TraceLimits
from vipexec.engine.compiler import FACTORY_NAME, compile_program
from vipexec.engine.execute import finish_run, summarize_inputs


def traced(
    fn: Callable[..., Any] | None = None,
    *,
    source: str | None = None,
    name: str | None = None,
    limits: TraceLimits | None = None,
) -> Any:
    """Trace every call of a ViperGPT-style function, block by block.

    Use it as a decorator (``@vipexec.traced``) or wrap an existing function
    (``module.execute_command = vipexec.traced(module.execute_command)``). Calls return what
    they returned before and raise what they raised before; the trace of the latest call is
    ``wrapper.last_run`` (a :class:`vipexec.Run`).

    The function is recompiled from its source with block instrumentation only (no sandbox:
    it is the caller's trusted code) and runs with its own module globals, closure-free.
    Code that was ``exec``-ed from a string has no retrievable source: pass it as ``source=``
    together with the function (the function supplies the globals).
    """
    if fn is None:
        return functools.partial(traced, source=source, name=name, limits=limits)
    if not isinstance(fn, types.FunctionType):
        raise InvalidArgumentError(f"traced() needs a plain function, not {type(fn).__name__}")
    if fn.__code__.co_freevars:
        raise InvalidArgumentError(
            f"traced() cannot rebuild {fn.__qualname__}: it closes over "
            f"{', '.join(fn.__code__.co_freevars)}; define it at module level"
        )
    text = source if source is not None else _source_of(fn)
    program = Program.from_source(
        textwrap.dedent(text), name=name or _name_of(fn), entry=fn.__name__
    )
    compiled = compile_program(program, sandbox=False, as_factory=True)
    factory_code = next(
        const
        for const in compiled.code.co_consts
        if isinstance(const, types.CodeType) and const.co_name == FACTORY_NAME
    )

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        recorder = Recorder(compiled.bound_names, limits)
        factory = types.FunctionType(factory_code, fn.__globals__)
        inner = factory(**hidden_bindings(recorder))
        inner.__defaults__ = fn.__defaults__  # keep the original default objects
        inner.__kwdefaults__ = fn.__kwdefaults__
        inputs = summarize_inputs({**dict(enumerate(args)), **kwargs})
        token = recorder.activate()
        try:
            result = inner(*args, **kwargs)
        except Exception as exc:
            wrapper.last_run = finish_run(compiled, recorder, None, None, exc, inputs, started)
            raise
        finally:
            recorder.deactivate(token)
        wrapper.last_run = finish_run(compiled, recorder, None, result, None, inputs, started)
        return result

    wrapper.last_run: Run | None = None
    wrapper.program = program
    return wrapper


def _name_of(fn: Callable[..., Any]) -> str:
    # Code exec-ed without a ``__name__`` global has no module (``__module__`` is None).
    module = fn.__module__
    return f"{module}.{fn.__qualname__}" if isinstance(module, str) else fn.__qualname__


def _source_of(fn: Callable[..., Any]) -> str:
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):
        raise InvalidArgumentError(
            f"the source of {fn.__qualname__} is not available (code built from a string?); "
            "pass it with traced(fn, source=code)"
        ) from None
