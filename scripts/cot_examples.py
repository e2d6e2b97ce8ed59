#!/usr/bin/env python3
"""Ten template CoT steps with the block and the values they came from, for docs/cot.md.

Runs three programs (the two in examples/ and one below that fails in its last step) on a
fixed synthetic scene with the synthetic backend, converts every block with the template
converter, and prints the steps as Markdown. ``--write`` replaces the examples section of
docs/cot.md instead (between its ``<!-- examples -->`` markers), so the doc is reproducible;
a test checks that it is in step.

Usage: python scripts/cot_examples.py [--write]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "cot.md"
START, END = "<!-- examples:start -->", "<!-- examples:end -->"

SHAPES_PROGRAM = """\
def execute_command(image):
    # Step 1: find the squares and the circles
    image_patch = ImagePatch(image)
    squares = image_patch.find("square")
    circles = image_patch.find("circle")
    # Step 2: check that no square is blue, and count the shapes
    no_blue = not any(s.verify_property("square", "blue") for s in squares)
    total = len(squares) + len(circles)
    # Step 3: take the fifth square from the left
    squares.sort(key=lambda s: s.left)
    return squares[4]
"""


def programs() -> list[tuple[str, str]]:
    """(name, source) of the programs whose steps the doc shows, in order."""
    examples = ROOT / "examples"
    return [
        ("examples/count_shapes.py", (examples / "count_shapes.py").read_text(encoding="utf-8")),
        ("examples/least_to_most.py", (examples / "least_to_most.py").read_text(encoding="utf-8")),
        ("squares and circles (fails in step 3)", SHAPES_PROGRAM),
    ]


def examples_markdown() -> str:
    """The examples section: one entry per block of every program."""
    from vipexec import Program
    from vipexec.cot import run_steps
    from vipexec.modules.api import build_api
    from vipexec.modules.backend import create_backend
    from vipexec.modules.dispatch import LocalDispatcher, ServerDispatcher
    from vipexec.modules.images import ImageStore
    from vipexec.modules.synthetic.scene import generate_scene, render

    scene = render(
        generate_scene(
            11,
            min_objects=4,
            max_objects=6,
            colors=("red", "blue"),
            shapes=("circle", "square"),
            text_prob=0.0,
        )
    )
    store = ImageStore()
    image = store.add(scene.image)
    api = build_api(ServerDispatcher(LocalDispatcher(create_backend("synthetic"), store)))
    parts = [
        "Scene: synthetic scene 11 (320 x 240, red and blue circles and squares), synthetic "
        "backend.\n"
    ]
    number = 0
    for name, source in programs():
        run = Program.from_source(source, name="example.py").run(
            namespace=api, inputs={"image": image}, sandbox=True
        )
        for block, trace, text in zip(run.program.blocks, run.blocks, run_steps(run)):
            number += 1
            parts.append(f"### {number}. {name}, step {block.step}\n")
            parts.append("```python\n" + _dedent(block.source) + "\n```\n")
            parts.append("Values (trace):\n\n```json\n" + _values(trace) + "\n```\n")
            parts.append(f"> {text}\n")
    return "\n".join(parts)


def _dedent(source: str) -> str:
    import textwrap

    return textwrap.dedent(source).strip("\n")


def _values(trace: Any) -> str:
    calls = [
        {
            "method": call.get("method"),
            "args": {k: _plain(v) for k, v in (call.get("args") or {}).items()},
            "box": call.get("box"),
            "result": _plain(call.get("result")),
        }
        for call in trace.calls
    ]
    shown: dict[str, Any] = {"status": trace.status, "executions": trace.executions}
    if calls:
        shown["calls"] = calls
    if trace.variables:
        shown["variables"] = {k: _plain(v) for k, v in trace.variables.items()}
    if trace.error:
        shown["error"] = trace.error
    return json.dumps(shown, separators=(", ", ": "))


def _plain(summary: Any) -> Any:
    """A summary as compact plain data: a value, a box, or a list of those."""
    if not isinstance(summary, dict):
        return summary
    if "value" in summary:
        return summary["value"]
    if summary.get("type") == "ImagePatch":
        return {"region": summary.get("box")}
    if summary.get("type") in ("list", "tuple"):
        return [_plain(item) for item in summary.get("items", [])]
    return {key: value for key, value in summary.items() if key != "image"}


def document(text: str, examples: str) -> str:
    """``text`` with its examples section replaced by ``examples``."""
    head, found, rest = text.partition(START)
    _, found_end, tail = rest.partition(END)
    if not found or not found_end:
        raise ValueError(f"{DOC} has no {START} ... {END} section")
    return f"{head}{START}\n\n{examples}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="update docs/cot.md in place")
    args = parser.parse_args(argv)
    examples = examples_markdown()
    if args.write:
        DOC.write_text(document(DOC.read_text(encoding="utf-8"), examples), encoding="utf-8")
        print(f"wrote {DOC.relative_to(ROOT)}")
    else:
        sys.stdout.write(examples)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
