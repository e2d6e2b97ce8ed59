"""Worker memory over many distinct programs: one worker, recycling off, its resident memory
after each mark (target: after 10,000 runs within 5 MB of its size after 100).

Each program is the same short `find` program with a different constant, so every run is a
program the worker has not seen (nothing is reused from its program cache).

Usage: ``python bench/worker_memory.py [--marks 100 1000 2000 4000 6000 10000]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import vipexec
from vipexec.modules.synthetic.scene import generate_scene, render

DISTINCT = (
    "def execute_command(image):\n"
    "    # Step 1: look\n"
    "    found = ImagePatch(image).find('circle')\n"
    "    # Step 2: answer\n"
    "    return len(found) + {k}\n"
)


def resident_mb(pid: int) -> float:
    with open(f"/proc/{pid}/statm") as statm:
        return int(statm.read().split()[1]) * 4096 / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--marks", type=int, nargs="+", default=[100, 1000, 2000, 4000, 6000, 10_000]
    )
    args = parser.parse_args()
    never = 10**9
    with vipexec.Sandbox(workers=1, recycle_runs=never, recycle_rss=never) as sandbox:
        image = sandbox.images.add(np.asarray(render(generate_scene(11)).image))
        pid = sandbox.worker_pids[0]
        done, start, first = 0, time.perf_counter(), None
        for mark in sorted(args.marks):
            while done < mark:
                assert sandbox.run(DISTINCT.format(k=done), {"image": image}).ok
                done += 1
            size = resident_mb(pid)
            first = size if first is None else first
            print(f"after {done:6,d} runs: worker RSS {size:5.1f} MB ({size - first:+.1f} MB; "
                  f"{time.perf_counter() - start:.0f} s)", flush=True)  # fmt: skip
        assert sandbox.worker_pids == [pid], "the worker was replaced"


if __name__ == "__main__":
    main()
