"""CLI cold start: `vipexec run examples/count_shapes.py SCENE` as a fresh process, against a bare
`python -c pass` and `python -c "import vipexec"`, measured interleaved in the same run.

Prints the median and the spread of N runs of each, the machine's load average before and
after (the target, < 0.5 s, is for an idle machine), and optionally where the parent's import
time goes (``--importtime``: the slowest top-level imports from ``python -X importtime``).

Usage: ``python bench/cold_start.py [--runs 20] [--importtime 12]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def slowest_imports(command: list[str], count: int) -> list[tuple[int, str]]:
    """(cumulative microseconds, module) of the slowest top-level imports of ``command``."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", *command[1:]], capture_output=True, text=True
    )
    rows = []
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line.split("|")
        if cumulative.strip().isdigit() and not name.startswith("  "):  # top level only
            rows.append((int(cumulative), name.strip()))
    return sorted(rows, reverse=True)[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="runs of each command")
    parser.add_argument(
        "--importtime", type=int, default=0, metavar="N", help="also list the N slowest imports"
    )
    args = parser.parse_args()
    from vipexec.modules.synthetic.export import write_scenes

    with tempfile.TemporaryDirectory() as tmp:
        scene = write_scenes(tmp, 1, seed=1)[0]
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "python -c 'import vipexec'": [sys.executable, "-c", "import vipexec"],
            "vipexec run examples/count_shapes.py": [
                *(sys.executable, "-m", "vipexec", "run"),
                *(str(ROOT / "examples/count_shapes.py"), str(scene)),
            ],
        }
        load_before = os.getloadavg()
        samples: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, command in commands.items():
                samples[name].append(timed(command))
        load_after = os.getloadavg()
        print(
            f"cold start, median of {args.runs} interleaved runs (load average "
            f"{load_before[0]:.1f} before, {load_after[0]:.1f} after; target < 0.5 s idle)"
        )
        for name, values in samples.items():
            ordered = sorted(values)
            print(f"  {name:40s} {statistics.median(values):6.3f} s  "
                  f"(min {ordered[0]:.3f}, max {ordered[-1]:.3f})")  # fmt: skip
        if args.importtime:
            print("slowest top-level imports of the parent (`-X importtime`, one run):")
            for micros, module in slowest_imports(commands["vipexec run examples/count_shapes.py"],
                                                  args.importtime):  # fmt: skip
                print(f"  {micros / 1000:8.1f} ms  {module}")


if __name__ == "__main__":
    main()
