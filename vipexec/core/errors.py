"""Exceptions raised by vipexec itself (a program's own exceptions are reported in a Run)."""

from __future__ import annotations

from dataclasses import dataclass


class VipexecError(Exception):
    """Base class of every error vipexec raises on purpose."""


class ProgramSourceError(VipexecError):
    """The program text cannot be used at all: unreadable, not UTF-8, empty, not text."""


class InvalidArgumentError(VipexecError, ValueError):
    """A public function was called with an argument it cannot accept."""


@dataclass(frozen=True)
class CompileProblem:
    """One reason a program did not compile: a syntax error or a refused construct."""

    kind: str
    """``"compile"`` for syntax errors, ``"policy"`` for constructs the sandbox refuses"""
    message: str
    line: int | None
    block: int | None

    def describe(self, name: str = "program") -> str:
        where = f"{name}:{self.line}" if self.line is not None else name
        block = f" (block {self.block})" if self.block is not None else ""
        return f"{where}{block}: {self.message}"


class CompileError(VipexecError):
    """A program failed to compile; ``problems`` lists every reason, first one first."""

    def __init__(self, problems: list[CompileProblem], name: str = "program"):
        self.problems = problems
        self.name = name
        super().__init__(problems[0].describe(name) if problems else f"{name}: compile error")

    @property
    def kind(self) -> str:
        return self.problems[0].kind if self.problems else "compile"


class PolicyError(Exception):
    """A program attempted something the sandbox forbids (raised inside the program's run).

    It derives from ``Exception`` so that the program sees an ordinary error, but the run
    remembers every violation: a run that attempted one is reported with kind ``policy`` even if
    the program caught the exception.
    """


class RunInterrupted(BaseException):
    """Raised inside a running program to stop it from outside (deadline, CPU limit).

    A ``BaseException`` so that a program's ``except Exception`` does not swallow it; the run
    is reported with error kind ``kind``.
    """

    kind = "timeout"


class DeadlineExceeded(RunInterrupted):
    """The wall-clock deadline of a run passed."""


class CPUTimeExceeded(RunInterrupted):
    """The CPU-time limit of a run ran out."""
