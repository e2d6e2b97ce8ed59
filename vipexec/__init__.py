"""vipexec: sandboxed visual-program execution with per-step tracing.

Public names are imported lazily so that ``import vipexec`` stays cheap (no numpy, no torch).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vipexec.lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    "Program": "vipexec.program",
    "Block": "vipexec.program",
    "Run": "vipexec.run",
    "BlockTrace": "vipexec.run",
    "RunError": "vipexec.run",
    "ProgramTree": "vipexec.tree",
    "traced": "vipexec.embed",
    "Sandbox": "vipexec.sandbox.pool",
    "VipexecError": "vipexec.errors",
    "ProgramSourceError": "vipexec.errors",
    "CompileError": "vipexec.errors",
    "PolicyError": "vipexec.errors",
    "record_call": "vipexec.tracer",
}

__all__ = [
    "Block",
    "BlockTrace",
    "CompileError",
    "PolicyError",
    "Program",
    "ProgramSourceError",
    "ProgramTree",
    "Run",
    "RunError",
    "Sandbox",
    "VipexecError",
    "__version__",
    "record_call",
    "traced",
]

if TYPE_CHECKING:  # pragma: no cover
    from vipexec.embed import traced
    from vipexec.errors import CompileError, PolicyError, ProgramSourceError, VipexecError
    from vipexec.program import Block, Program
    from vipexec.run import BlockTrace, Run, RunError
    from vipexec.sandbox.pool import Sandbox
    from vipexec.tracer import record_call
    from vipexec.tree import ProgramTree


__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)
