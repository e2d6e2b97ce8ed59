"""Sandbox dispatch latency, throughput and CLI cold start, measured side by side in one run.

1. Warm dispatch of a trivial program: the persistent pool (`Sandbox.run`) against
   fork-per-program (a child forked from a warm parent runs the program and reports over a
   pipe) and spawn-per-program (a fresh interpreter per program, as `multiprocessing`'s spawn
   or a subprocess gives). Median and 90th percentile of N runs each; ratios to the pool.
2. Throughput: 1,000 short programs (one API call each against the synthetic backend) through
   a 2-worker pool with `Sandbox.map`.
3. CLI cold start: `vipexec run examples/count_shapes.py <scene>` as a fresh process, against
   a bare `python -c pass`.

Usage: ``python bench/sandbox_dispatch.py [--runs 200] [--programs 1000]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import vipexec
from vipexec import Program

TRIVIAL = "x = 1\nprint(x + 1)\n"
SHORT = (
    "def execute_command(image):\n"
    "    # Step 1: look\n"
    "    found = ImagePatch(image).find('circle')\n"
    "    # Step 2: answer\n"
    "    return len(found)\n"
)
ROOT = Path(__file__).resolve().parents[1]


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.9) - 1]


def pool_latency(runs: int) -> list[float]:
    with vipexec.Sandbox(workers=1) as sandbox:
        for _ in range(20):
            sandbox.run(TRIVIAL)
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            run = sandbox.run(TRIVIAL)
            samples.append(time.perf_counter() - start)
            assert run.ok and run.result == 2
    return samples


def fork_latency(runs: int) -> list[float]:
    program = Program.from_source(TRIVIAL)
    program.run()  # warm the parent: compiled code and imports are inherited by the child
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_end)
            data = json.dumps(program.run().to_dict()).encode()
            os.write(write_end, data)
            os._exit(0)
        os.close(write_end)
        chunks = []
        while chunk := os.read(read_end, 65536):
            chunks.append(chunk)
        os.close(read_end)
        os.waitpid(pid, 0)
        run = json.loads(b"".join(chunks))
        samples.append(time.perf_counter() - start)
        assert run["error"] is None
    return samples


def spawn_latency(runs: int) -> list[float]:
    code = (
        "import json, sys\nfrom vipexec import Program\n"
        f"print(json.dumps(Program.from_source({TRIVIAL!r}).run().to_dict()))\n"
    )
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True)
        samples.append(time.perf_counter() - start)
        assert json.loads(result.stdout)["error"] is None
    return samples


def throughput(programs: int, image_path: Path) -> tuple[float, int]:
    with vipexec.Sandbox(workers=2) as sandbox:
        image = sandbox.images.load(image_path)
        sandbox.map([SHORT] * 4, inputs={"image": image})  # warm both workers
        start = time.perf_counter()
        runs = sandbox.map([SHORT] * programs, inputs={"image": image})
        elapsed = time.perf_counter() - start
    return elapsed, sum(run.ok for run in runs)


def cold_start(image_path: Path, repeat: int) -> tuple[float, float]:
    command = [sys.executable, "-m", "vipexec", "run", str(ROOT / "examples/count_shapes.py"),
               str(image_path)]  # fmt: skip
    bare = []
    cli = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        bare.append(time.perf_counter() - start)
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        cli.append(time.perf_counter() - start)
    return statistics.median(bare), statistics.median(cli)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="runs per latency variant")
    parser.add_argument(
        "--spawn-runs", type=int, default=20, help="runs of the (slow) spawn variant"
    )
    parser.add_argument("--programs", type=int, default=1000, help="programs for throughput")
    parser.add_argument("--cold-repeat", type=int, default=5, help="CLI cold starts to time")
    args = parser.parse_args()

    from vipexec.modules.synthetic.export import write_scenes

    with tempfile.TemporaryDirectory() as tmp:
        image_path = write_scenes(tmp, 1, seed=1)[0]

        print("1. warm dispatch of a trivial program")
        results = {
            "persistent pool (Sandbox.run)": pool_latency(args.runs),
            "fork per program": fork_latency(args.runs),
            "spawn per program": spawn_latency(args.spawn_runs),
        }
        base = statistics.median(results["persistent pool (Sandbox.run)"])
        print(f"   {'variant':32s} {'median ms':>10s} {'p90 ms':>8s} {'x pool':>7s}")
        for name, samples in results.items():
            median, p90 = percentiles(samples)
            print(f"   {name:32s} {median * 1e3:10.3f} {p90 * 1e3:8.3f} {median / base:7.1f}")
        print("   target: pool median < 1 ms")

        elapsed, ok = throughput(args.programs, image_path)
        print(f"2. throughput: {args.programs} short programs on 2 workers in {elapsed:.2f} s "
              f"= {args.programs / elapsed:.0f} programs/s ({ok} ok)")  # fmt: skip

        bare, cli = cold_start(image_path, args.cold_repeat)
        print(f"3. CLI cold start: `vipexec run examples/count_shapes.py` {cli:.3f} s median "
              f"(bare `python -c pass`: {bare:.3f} s); target < 1 s")  # fmt: skip


if __name__ == "__main__":
    main()
