"""What a program prints: captured, bounded, and read for a script's result."""

from __future__ import annotations

import builtins
from typing import Any

DONE_LINE = "Work is Done!"
"""The least-to-most scripts print their answer, then this line."""


class ProgramOutput:
    """A ``print`` replacement that keeps at most ``max_chars`` of text.

    It also follows the script-result rule (see :mod:`vipexec.core.program`): the value printed last
    before ``Work is Done!``, else the value printed last.
    """

    def __init__(self, max_chars: int = 100_000, *, sandbox: bool = True):
        self.max_chars = max_chars
        self.sandbox = sandbox
        self._parts: list[str] = []
        self._size = 0
        self.dropped_chars = 0
        self.printed_any = False
        self.done = False
        self.result: Any = None

    def print(
        self, *values: Any, sep: Any = " ", end: Any = "\n", file: Any = None, flush: Any = False
    ) -> None:
        if file is not None:
            if self.sandbox:
                from vipexec.sandbox.language.guards import refuse

                raise refuse("print(file=...) is not allowed (programs cannot write files)")
            builtins.print(*values, sep=sep, end=end, file=file, flush=flush)
            return
        sep = " " if sep is None else sep
        end = "\n" if end is None else end
        for name, value in (("sep", sep), ("end", end)):
            if not isinstance(value, str):  # builtins.print's own words
                raise TypeError(f"{name} must be None or a string, not {type(value).__name__}")
        text = sep.join(str(value) for value in values)
        self._write(text + end)
        if self.done:
            return
        if text.strip() == DONE_LINE:
            self.done = True
            return
        self.printed_any = True
        self.result = values[0] if len(values) == 1 else text

    def _write(self, text: str) -> None:
        room = self.max_chars - self._size
        if room <= 0:
            self.dropped_chars += len(text)
            return
        kept = text[:room]
        self._parts.append(kept)
        self._size += len(kept)
        self.dropped_chars += len(text) - len(kept)

    @property
    def text(self) -> str:
        return "".join(self._parts)
