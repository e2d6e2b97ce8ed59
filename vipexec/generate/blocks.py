"""Reading one program block out of a generator's free-form answer.

Chat models wrap code in fences, add prose before and after it, write several blocks at once
(often repeating the ones they were given) and miscount steps. :func:`read_block` takes the
first block that is new, renumbers it to the step asked for (recording the number it had) and
cuts trailing prose. An answer with no usable block becomes a *failing block*
(:func:`failing_block`): the raw answer kept as comments above a statement that raises, so the
path it ends is a program whose last block fails when run — data, never a crash.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from vipexec.core.blocks import MARKER
from vipexec.core.errors import VipexecError
from vipexec.core.program import Program
from vipexec.engine.output import DONE_LINE
from vipexec.modules.models.replies import code_fences

__all__ = [
    "ReadBlock",
    "block_problem",
    "failing_block",
    "is_final",
    "normalise",
    "read_block",
]

_PRINTS_DONE = re.compile(r"""\bprint\(\s*(['"])""" + re.escape(DONE_LINE) + r"""\1\s*\)""")
_ESCAPED = re.compile("[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")
"""characters a comment line cannot hold (Python would refuse the source or end the line)"""
MAX_RAW_LINES = 40
"""lines of a malformed answer kept (as comments) in its failing block"""


@dataclass(frozen=True)
class ReadBlock:
    """A block read from an answer, or why none could be."""

    text: str
    """``# Step N: ...`` and its code, ending with a newline; a failing block when malformed"""
    problem: str | None = None
    """None for a good block, else why the answer is malformed"""
    renumbered_from: int | None = None
    """the step number the answer gave, when it was not the one asked for"""


def read_block(answer: str, step: int, previous: list[str]) -> ReadBlock:
    """The first new block of ``answer`` as step ``step`` (``previous``: the blocks so far)."""
    candidates = _candidates(answer)
    if not candidates:
        return ReadBlock(failing_block(step, answer, "no '# Step' line"), "no '# Step' line")
    seen = {normalise(block) for block in previous}
    fresh = [c for c in candidates if normalise(c) not in seen]
    if not fresh:
        problem = "repeats the blocks so far"
        return ReadBlock(failing_block(step, answer, problem), problem)
    block = _pick(fresh, step)
    header, _, body = block.partition("\n")
    marker = MARKER.match(header)
    assert marker is not None  # candidates start at a marker
    if not body.strip():
        problem = "a '# Step' line without code"
        return ReadBlock(failing_block(step, answer, problem), problem)
    code = _longest_parsing_prefix(previous, body)
    if code is None:
        problem = "the code does not parse"
        return ReadBlock(failing_block(step, answer, problem), problem)
    given = int(marker.group(1))
    description = marker.group(2).strip()
    text = f"# Step {step}: {description}\n{code}"
    problem = block_problem(text, step, previous)
    if problem is not None:
        return ReadBlock(failing_block(step, answer, problem), problem)
    return ReadBlock(text, None, given if given != step else None)


def block_problem(block: str, step: int, previous: list[str]) -> str | None:
    """Why ``block`` is not one top-level block numbered ``step`` that parses after
    ``previous`` (None when it is). Markers nested in its compound statements are allowed."""
    try:
        program = Program.from_source("".join(previous) + block)
    except VipexecError as exc:
        return str(exc)
    if program.syntax_error is not None:
        return f"the code does not parse ({program.syntax_error.message})"
    top = [b for b in program.blocks if b.parent is None]
    if len(top) != step or top[-1].step != step:
        return f"not one block numbered {step}"
    return None


def _candidates(answer: str) -> list[str]:
    """The blocks in ``answer``: each from a top-level ``# Step`` line to the next one."""
    # a reply cut off by its token limit still holds whole blocks, so an open fence counts
    fenced = [fence.body for fence in code_fences(answer)]
    source = "\n".join(fenced) if any(_has_marker(part) for part in fenced) else answer
    blocks: list[list[str]] = []
    for line in source.replace("\r\n", "\n").split("\n"):
        line = line.rstrip()
        if MARKER.match(line) and not line[:1].isspace():
            blocks.append([line])
        elif blocks:
            blocks[-1].append(line)
    return ["\n".join(lines).strip("\n") + "\n" for lines in blocks]


def _step_of(block: str) -> int:
    marker = MARKER.match(block.partition("\n")[0])
    return int(marker.group(1)) if marker else 0


def _pick(fresh: list[str], step: int) -> str:
    """The new block numbered ``step``, else the first numbered after it, else the first (a
    model that rewrites the earlier steps before the new one is still read right)."""
    exact = [block for block in fresh if _step_of(block) == step]
    later = [block for block in fresh if _step_of(block) > step]
    return (exact or later or fresh)[0]


def _has_marker(text: str) -> bool:
    return any(MARKER.match(line) for line in text.splitlines())


def _longest_parsing_prefix(previous: list[str], body: str) -> str | None:
    """The longest run of ``body``'s leading lines that parses after ``previous`` and adds a
    top-level statement (prose after the code is dropped), or None if there is none."""
    lines = body.rstrip("\n").split("\n")
    before = "".join(previous)
    try:
        statements_before = len(ast.parse(before).body)
    except (SyntaxError, ValueError):
        return None
    for stop in range(len(lines), 0, -1):
        code = "\n".join(lines[:stop]).rstrip() + "\n"
        try:
            tree = ast.parse(before + code)
        except (SyntaxError, ValueError):
            continue
        if len(tree.body) > statements_before:
            return code
    return None


def failing_block(step: int, answer: str, reason: str) -> str:
    """A block that keeps ``answer`` as comments and fails when run with ``reason``."""
    raw = answer.replace("\r\n", "\n").replace("\r", "\n").strip("\n").split("\n")
    kept = [_ESCAPED.sub(lambda m: ascii(m.group())[1:-1], line) for line in raw[:MAX_RAW_LINES]]
    if len(raw) > MAX_RAW_LINES:
        kept.append(f"... ({len(raw) - MAX_RAW_LINES} more lines)")
    comments = "".join(f"# | {line}".rstrip() + "\n" for line in kept if answer.strip())
    message = f"malformed block from the generator: {reason}"
    return f"# Step {step}: (malformed answer)\n{comments}raise RuntimeError({message!r})\n"


def is_final(block: str) -> bool:
    """Whether the block prints ``Work is Done!`` (the program's last block)."""
    return bool(_PRINTS_DONE.search(block))


def normalise(block: str) -> str:
    """The block with blank lines dropped, line ends stripped and inner runs of spaces made
    one (indentation kept): two blocks that normalise alike are the same block."""
    lines = []
    for line in block.splitlines():
        if line.strip():
            indent = len(line) - len(line.lstrip())
            lines.append(line[:indent] + " ".join(line.split()))
    return "\n".join(lines)
