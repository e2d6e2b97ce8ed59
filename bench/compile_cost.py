"""What compiling a new program costs, against builtin ``compile()`` of the same source.

A generated program runs once, so its compile is part of its cost. For a 40-line ViperGPT-style
program (annotations, ``typing``, ``str.format``, six step blocks) the script times, side by side
in one run:

1. builtin ``compile(source, name, "exec")`` (the baseline);
2. ``Program.from_source`` plus the first ``compile(sandbox=True)``: parse, token scan, block
   split, name analysis, policy transform, instrumentation, builtin hoisting and the final
   ``compile()``. Every call gets a source no earlier call saw (a counter in a trailing
   comment), so nothing is served from the content-hash caches;
3. the same program text again (the caches hit: what a pool worker pays for a program it has
   already compiled).

Each sample is one call, as a new program arrives once, and each variant's time is the best of
many interleaved rounds (``time_interleaved`` of ``bench/tracer_overhead.py``). ``--number 20``
times batches of calls instead: a batch of identical builtin compiles runs with warmer caches
than a single one, which raises the ratio. Then block splitting is timed at growing numbers of
``# Step N:`` blocks, to show that parsing grows linearly with the source. Usage:
``python bench/compile_cost.py``.
"""

from __future__ import annotations

import argparse
import itertools

from tracer_overhead import time_interleaved

from vipexec import Program

PROGRAM = """\
from typing import List, Optional
import math

MIN_AREA = 40


def area(patch) -> float:
    return max(patch.width, 0) * max(patch.height, 0)


def execute_command(image, query: str = "Which red object is the largest?") -> str:
    # Step 1: find the candidates named in the question
    image_patch = ImagePatch(image)
    patches: List[ImagePatch] = image_patch.find("object")
    # Step 2: keep the red ones that are big enough
    red: List[ImagePatch] = []
    for patch in patches:
        if area(patch) < MIN_AREA:
            continue
        if patch.verify_property("object", "red"):
            red.append(patch)
    # Step 3: no red object: say so
    if not red:
        return "There is no red object."
    # Step 4: order them by size, largest first
    red.sort(key=area, reverse=True)
    largest: Optional[ImagePatch] = red[0] if red else None
    sizes = [round(math.sqrt(area(p)), 1) for p in red]
    # Step 5: ask what the largest one is
    name = largest.simple_query("What is this?")
    share = area(largest) / sum(area(p) for p in red)
    # Step 6: answer
    answer = "The largest red object is a {} ({:.0%} of the red area, sides ~{}).".format(
        name, share, sizes[0]
    )
    return answer
"""


def blocks_source(count: int) -> str:
    lines = ["def execute_command(image):", "    total = 0"]
    for step in range(1, count + 1):
        lines += [f"    # Step {step}: add {step}", f"    total += {step}"]
    lines.append("    return total")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=1, help="calls per timing sample")
    parser.add_argument("--repeat", type=int, default=300, help="timing samples per variant")
    parser.add_argument(
        "--blocks",
        type=int,
        nargs="*",
        default=[500, 1000, 2000, 4000],
        help="numbers of step blocks for the scaling table",
    )
    args = parser.parse_args()

    fresh = itertools.count()

    def variant_source() -> str:
        return f"{PROGRAM}# variant {next(fresh)}\n"

    def builtin_compile() -> None:
        compile(variant_source(), "program.py", "exec")

    def vipexec_first_compile() -> None:
        Program.from_source(variant_source(), name="program.py").compile(sandbox=True)

    def vipexec_cached() -> None:
        Program.from_source(PROGRAM, name="program.py").compile(sandbox=True)

    vipexec_first_compile()  # first use imports the sandbox modules: not a per-program cost
    vipexec_cached()
    program = Program.from_source(PROGRAM, name="program.py")
    results = time_interleaved(
        {
            "builtin compile()": builtin_compile,
            "from_source + first sandbox compile": vipexec_first_compile,
            "same text again (cached)": vipexec_cached,
        },
        number=args.number,
        repeat=args.repeat,
    )
    base = results["builtin compile()"]
    print(
        f"program: {len(PROGRAM.splitlines())} lines, {len(program.blocks)} blocks; best of "
        f"{args.repeat} interleaved rounds x {args.number} calls"
    )
    print(f"{'variant':38s} {'us':>9s} {'x compile()':>12s}")
    for name, seconds in results.items():
        print(f"{name:38s} {seconds * 1e6:9.1f} {seconds / base:12.2f}")
    print("target: from_source + first sandbox compile <= 4x builtin compile()")

    if args.blocks:
        print("block splitting (Program.from_source of N '# Step' blocks, fresh text each call):")
        print(f"  {'N':>6s} {'ms':>9s} {'us/block':>9s} {'compile() ms':>13s}")
        for count in args.blocks:
            source = blocks_source(count)
            times = time_interleaved(
                {
                    "vipexec": lambda s=source: Program.from_source(s + f"# {next(fresh)}\n"),
                    "compile": lambda s=source: compile(s + f"# {next(fresh)}\n", "p", "exec"),
                },
                number=1,
                repeat=5,
            )
            print(
                f"  {count:6d} {times['vipexec'] * 1e3:9.1f} "
                f"{times['vipexec'] / count * 1e6:9.1f} {times['compile'] * 1e3:13.1f}"
            )


if __name__ == "__main__":
    main()
