"""vipexec: sandboxed visual-program execution with per-step tracing.

Public names are imported lazily so that ``import vipexec`` stays cheap (no numpy, no torch).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vipexec.core.lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    "Program": "vipexec.core.program",
    "Block": "vipexec.core.program",
    "Run": "vipexec.core.run",
    "BlockTrace": "vipexec.core.run",
    "RunError": "vipexec.core.run",
    "ProgramTree": "vipexec.core.tree",
    "traced": "vipexec.engine.embed",
    "Sandbox": "vipexec.sandbox.isolation.pool",
    "InProcessRunner": "vipexec.sandbox.runner",
    "Runner": "vipexec.sandbox.runner",
    "VipexecError": "vipexec.core.errors",
    "ProgramSourceError": "vipexec.core.errors",
    "CompileError": "vipexec.core.errors",
    "PolicyError": "vipexec.core.errors",
    "record_call": "vipexec.core.tracer",
}

__all__ = [
    "Block",
    "BlockTrace",
    "CompileError",
    "InProcessRunner",
    "PolicyError",
    "Program",
    "ProgramSourceError",
    "ProgramTree",
    "Run",
    "RunError",
    "Runner",
    "Sandbox",
    "VipexecError",
    "__version__",
    "record_call",
    "traced",
]

if TYPE_CHECKING:  # pragma: no cover
    from vipexec.core.errors import CompileError, PolicyError, ProgramSourceError, VipexecError
    from vipexec.core.program import Block, Program
    from vipexec.core.run import BlockTrace, Run, RunError
    from vipexec.core.tracer import record_call
    from vipexec.core.tree import ProgramTree
    from vipexec.engine.embed import traced
    from vipexec.sandbox.isolation.pool import Sandbox
    from vipexec.sandbox.runner import InProcessRunner, Runner


__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)
