"""Running a compiled program in this process and turning what happened into a Run."""

from __future__ import annotations

import builtins
import functools
import hashlib
import time
import types
from collections.abc import Mapping
from typing import Any

from vipexec.core.errors import CompileError, InvalidArgumentError, PolicyError, RunInterrupted
from vipexec.core.instrument import hidden_bindings
from vipexec.core.program import Program
from vipexec.core.run import BlockTrace, Run, RunError
from vipexec.core.summarize import summarize
from vipexec.core.tracer import Recorder, TraceLimits
from vipexec.engine.compiler import CompiledProgram
from vipexec.engine.output import ProgramOutput

PROGRAM_MODULE_NAME = "__program__"
_TRUSTED_BUILTINS = dict(vars(builtins))


def execute(
    program: Program,
    *,
    namespace: Mapping[str, Any] | None,
    inputs: Any,
    sandbox: bool,
    limits: TraceLimits | None = None,
    max_output: int = 100_000,
    recorder_class: type[Recorder] = Recorder,
) -> Run:
    """Compile (cached) and run ``program``; every outcome, failures included, is a Run.

    ``recorder_class`` lets a sandbox worker publish block positions as they happen.
    """
    started = time.perf_counter()
    input_summary = summarize_inputs(inputs)
    try:
        compiled = program.compile(sandbox=sandbox)
    except CompileError as exc:
        return compile_failure(program, exc, input_summary, started)
    recorder = recorder_class(compiled.bound_names, limits)
    output = ProgramOutput(max_output, sandbox=sandbox)
    env = build_globals(compiled, namespace or {}, recorder, output)
    args, kwargs = _bind_inputs(program, inputs, env, sandbox)
    result: Any = None
    failure: BaseException | None = None
    token = recorder.activate()
    try:
        exec(compiled.code, env)
        if program.form == "function":
            result = env[program.entry](*args, **kwargs)
        else:
            result = output.result
    except BaseException as exc:  # every failure of the program is data ...
        if type(exc) is KeyboardInterrupt:
            raise  # ... but the user's Ctrl-C (programs in the sandbox cannot name the class)
        failure = exc
    finally:
        recorder.deactivate(token)
    if isinstance(failure, TypeError) and failure.__traceback__.tb_next is None:
        # Raised while binding the arguments, before any line of the program ran: the
        # caller's inputs do not fit the entry's parameters.
        raise _bad_inputs(program, failure) from None
    return finish_run(compiled, recorder, output, result, failure, input_summary, started)


def finish_run(
    compiled: CompiledProgram,
    recorder: Recorder,
    output: ProgramOutput | None,
    result: Any,
    failure: BaseException | None,
    input_summary: dict[str, Any],
    started: float,
) -> Run:
    """Turn what a run left behind (result or failure, recorder, output) into a Run."""
    if compiled.sandbox:
        from vipexec.sandbox.language.proxy import unwrap

        try:
            result = unwrap(result)
        except RecursionError:
            failure = failure or RecursionError(_TOO_DEEP)
    error = _run_error(compiled, recorder, failure)
    if error is not None:
        result = None
    return Run(
        program=compiled.program,
        result=result,
        result_summary=summarize(result),
        error=error,
        blocks=block_traces(compiled.program, recorder),
        stdout=output.text if output else "",
        stdout_dropped=output.dropped_chars if output else 0,
        inputs=input_summary,
        ms=(time.perf_counter() - started) * 1e3,
        trace_cut=recorder.cut,
    )


_TOO_DEEP = "the result is nested too deeply to return"


def build_globals(
    compiled: CompiledProgram,
    namespace: Mapping[str, Any],
    recorder: Recorder,
    output: ProgramOutput,
) -> dict[str, Any]:
    """The program's global namespace: the API, the builtins and the tracer's hidden names."""
    env: dict[str, Any] = {"__name__": PROGRAM_MODULE_NAME}
    if compiled.sandbox:
        build_builtins, WriteGuard, guarded_getattr, expose = _sandbox_parts()
        write_guard = WriteGuard()
        env.update({name: expose(value) for name, value in namespace.items()})
        env["__builtins__"] = build_builtins(output.print, write_guard)
        env["_getattr_"] = guarded_getattr
        env["_write_"] = write_guard
        env["__metaclass__"] = write_guard.make_class
    else:
        env.update(namespace)
        if "__builtins__" not in namespace:
            trusted = dict(_TRUSTED_BUILTINS)
            trusted["print"] = output.print
            env["__builtins__"] = trusted
    env.update(hidden_bindings(recorder))
    return env


@functools.cache
def _sandbox_parts() -> tuple[Any, Any, Any, Any]:
    # Imported on first use: trusted runs never load the sandbox package.
    from vipexec.sandbox.language.builtins import build_builtins
    from vipexec.sandbox.language.guards import WriteGuard, guarded_getattr
    from vipexec.sandbox.language.proxy import expose

    return build_builtins, WriteGuard, guarded_getattr, expose


def _as_is(value: Any) -> Any:
    return value


def _bind_inputs(
    program: Program, inputs: Any, env: dict[str, Any], sandbox: bool
) -> tuple[tuple, dict]:
    expose = _sandbox_parts()[3] if sandbox else _as_is

    if program.form == "script":
        if inputs is None:
            return (), {}
        if not isinstance(inputs, Mapping):
            raise InvalidArgumentError(
                f"{program.name}: a script takes its inputs as a dict of global names, "
                f"not {type(inputs).__name__}"
            )
        env.update({str(name): expose(value) for name, value in inputs.items()})
        return (), {}
    if inputs is None:
        args, kwargs = (), {}
    elif isinstance(inputs, Mapping):
        args, kwargs = (), {str(k): expose(v) for k, v in inputs.items()}
    elif isinstance(inputs, (list, tuple)):
        args, kwargs = tuple(expose(v) for v in inputs), {}
    else:
        args, kwargs = (expose(inputs),), {}
    return args, kwargs


def _bad_inputs(program: Program, exc: TypeError) -> InvalidArgumentError:
    message = str(exc).replace(f"{program.entry}() ", "")
    return InvalidArgumentError(
        f"{program.name}: inputs do not match {program.entry}({', '.join(program.params)}): "
        f"{message}"
    )


def _run_error(
    compiled: CompiledProgram, recorder: Recorder, failure: BaseException | None
) -> RunError | None:
    if recorder.violations and (failure is None or isinstance(failure, PolicyError)):
        message, block, line = recorder.violations[0]
        return RunError("policy", "PolicyError", message, block, line)
    if failure is None:
        return None
    line = _program_line(compiled, failure)
    block = recorder.first_error_block
    if block is None:
        block = compiled.program.block_at_line(line)
    if isinstance(failure, RunInterrupted):
        kind = failure.kind
    elif isinstance(failure, MemoryError):
        kind = "memory"
    else:
        kind = "runtime"
    message = _safe_message(failure) or _DEFAULT_MESSAGES.get(kind, "")
    return RunError(kind, type(failure).__name__, message, block, line)


_DEFAULT_MESSAGES = {"memory": "the program ran out of memory"}


def _program_line(compiled: CompiledProgram, exc: BaseException) -> int | None:
    """The line of the program's innermost frame in the traceback."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == compiled.filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _safe_message(exc: BaseException) -> str:
    try:
        return str(exc)[:500]
    except Exception:
        return "<unprintable message>"


def block_traces(program: Program, recorder: Recorder) -> list[BlockTrace]:
    traces = []
    for block, state in zip(program.blocks, recorder.blocks):
        if state.executions == 0:
            status = "not_run"
        elif state.errors:
            status = "error"
        else:
            status = "ok"
        traces.append(
            BlockTrace(
                index=block.index,
                step=block.step,
                description=block.description,
                lines=block.lines,
                status=status,
                variables=state.variables,
                calls=state.calls,
                ms=state.ns / 1e6,
                executions=state.executions,
                iterations=state.iterations if state.executions > 1 else [],
                calls_dropped=state.calls_dropped,
                error=state.error,
            )
        )
    return traces


def compile_failure(
    program: Program, exc: CompileError, input_summary: dict[str, Any], started: float
) -> Run:
    first = exc.problems[0]
    error = RunError(
        kind=first.kind,
        type="SyntaxError" if first.kind == "compile" else "PolicyError",
        message=first.message,
        block=first.block,
        line=first.line,
        details=tuple(
            {"kind": p.kind, "message": p.message, "line": p.line, "block": p.block}
            for p in exc.problems[1:]
        ),
    )
    return Run.failed(
        program, error, inputs=input_summary, ms=(time.perf_counter() - started) * 1e3
    )


def summarize_inputs(inputs: Any) -> dict[str, Any]:
    """Input summaries with content hashes, keyed by name (or position)."""
    if inputs is None:
        return {}
    if isinstance(inputs, Mapping):
        items = [(str(k), v) for k, v in inputs.items()]
    elif isinstance(inputs, (list, tuple)):
        items = [(str(i), v) for i, v in enumerate(inputs)]
    else:
        items = [("0", inputs)]
    return {name: _input_summary(value) for name, value in items}


def _input_summary(value: Any) -> dict[str, Any]:
    summary = summarize(value)
    digest = _content_hash(value)
    if digest:
        summary["sha256"] = digest
    return summary


def _content_hash(value: Any) -> str | None:
    if isinstance(value, (bytes, bytearray)):
        return hashlib.sha256(value).hexdigest()
    if isinstance(value, str):
        return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
    tobytes = getattr(type(value), "tobytes", None)
    if isinstance(tobytes, types.FunctionType | types.MethodDescriptorType):
        try:
            return hashlib.sha256(value.tobytes()).hexdigest()  # numpy arrays, PIL images
        except Exception:
            return None
    return None
