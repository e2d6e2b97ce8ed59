"""Sandbox dispatch latency, throughput and CLI cold start, measured side by side in one run.

1. Warm dispatch of a trivial program: the persistent pool (`Sandbox.run`) against
   fork-per-program (a child forked from a warm parent runs the program and reports over a
   pipe) and spawn-per-program (a fresh interpreter per program, as `multiprocessing`'s spawn
   or a subprocess gives). Median and 90th percentile of N runs each; ratios to the pool.
2. Throughput: 1,000 short programs (one API call each against the synthetic backend) through
   a 2-worker pool with `Sandbox.map`.
3. CLI cold start: `vipexec run examples/count_shapes.py <scene>` as a fresh process, against
   a bare `python -c pass`.
4. The call boundary: trivial API calls per second from one program (a call server that
   answers at once), in a worker against the same program in process
   (`run_in_process(policy=True)`), and as floors a raw round trip between two processes over
   a socket pair (`multiprocessing` framing, JSON) and over two pipes (`os.write`/`os.read`,
   the pool's transport).
5. Scaling: the same short programs through a 1-worker and a 2-worker pool (target >= 1.7x).
6. `find` on the synthetic backend: calls/s from a program in a worker against the same
   program in process (target: within 1.5x).

Usage: ``python bench/sandbox_dispatch.py [--runs 200] [--programs 1000] [--calls 5000]
[--scaling-programs 2000] [--find-calls 1000] [--only 4 5 6]``
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from multiprocessing.connection import Connection
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
    program.run_in_process()  # warm the parent: the child inherits compiled code and imports
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_end)
            data = json.dumps(program.run_in_process().to_dict()).encode()
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
        f"print(json.dumps(Program.from_source({TRIVIAL!r}).run_in_process().to_dict()))\n"
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


class InstantServer:
    """A call server that answers every call at once: what is left is the boundary's cost."""

    backend_id = "instant"

    def serve(self, method, image, box, args):
        from vipexec.modules.dispatch import ServedCall

        return ServedCall("yes", 0.0, self.backend_id)


def calls_program(calls: int) -> str:
    return f"for i in range({calls}):\n    answer = llm_query('is it?')\nprint(answer)\n"


def pool_calls_per_second(calls: int, rounds: int) -> float:
    with vipexec.Sandbox(workers=1, timeout=600, server=InstantServer()) as sandbox:
        sandbox.run(calls_program(100))
        best = []
        for _ in range(rounds):
            start = time.perf_counter()
            run = sandbox.run(calls_program(calls))
            best.append(calls / (time.perf_counter() - start))
            assert run.ok, run.error
    return statistics.median(best)


def in_process_calls_per_second(calls: int, rounds: int) -> float:
    from vipexec.modules.api import build_api
    from vipexec.modules.dispatch import ServerDispatcher

    program = Program.from_source(calls_program(calls))
    namespace = build_api(ServerDispatcher(InstantServer()))
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        run = program.run_in_process(namespace, policy=True)
        samples.append(calls / (time.perf_counter() - start))
        assert run.ok, run.error
    return statistics.median(samples)


def socket_round_trips_per_second(count: int) -> float:
    """Echo ``count`` small framed messages through a forked child (the floor for any design)."""
    parent_end, child_end = socket.socketpair()
    pid = os.fork()
    if pid == 0:
        parent_end.close()
        conn = Connection(child_end.detach())
        for _ in range(count):
            conn.send_bytes(conn.recv_bytes())
        os._exit(0)
    child_end.close()
    conn = Connection(parent_end.detach())
    message = json.dumps({"op": "call", "method": "llm_query", "args": {"question": "x"}})
    start = time.perf_counter()
    for _ in range(count):
        conn.send_bytes(message.encode())
        json.loads(conn.recv_bytes())
    elapsed = time.perf_counter() - start
    os.waitpid(pid, 0)
    conn.close()
    return count / elapsed


def pipe_round_trips_per_second(count: int) -> float:
    """Echo ``count`` 60-byte writes through a forked child over two pipes (the pool's
    transport with nothing on top)."""
    to_child_r, to_child_w = os.pipe()
    to_parent_r, to_parent_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        for _ in range(count):
            os.write(to_parent_w, os.read(to_child_r, 65536))
        os._exit(0)
    message = b"x" * 60
    start = time.perf_counter()
    for _ in range(count):
        os.write(to_child_w, message)
        os.read(to_parent_r, 65536)
    elapsed = time.perf_counter() - start
    os.waitpid(pid, 0)
    for fd in (to_child_r, to_child_w, to_parent_r, to_parent_w):
        os.close(fd)
    return count / elapsed


def find_program(calls: int) -> str:
    return (
        "def execute_command(image):\n"
        "    patch = ImagePatch(image)\n"
        f"    for i in range({calls}):\n"
        "        found = patch.find('circle')\n"
        "    return len(found)\n"
    )


def find_calls_per_second(calls: int, rounds: int, image_path: Path) -> tuple[float, float]:
    """``find`` calls/s on the synthetic backend: (in a worker, in process), interleaved."""
    from vipexec.modules.api import build_api
    from vipexec.modules.backend import create_backend
    from vipexec.modules.dispatch import LocalDispatcher

    program = Program.from_source(find_program(calls))
    pooled, local = [], []
    with vipexec.Sandbox(workers=1, timeout=600) as sandbox:
        image = sandbox.images.load(image_path)
        namespace = build_api(LocalDispatcher(create_backend("synthetic"), sandbox.images))
        sandbox.run(program, {"image": image})
        program.run_in_process(namespace, inputs={"image": image}, policy=True)
        for _ in range(rounds):
            start = time.perf_counter()
            assert sandbox.run(program, {"image": image}).ok
            pooled.append(calls / (time.perf_counter() - start))
            start = time.perf_counter()
            run = program.run_in_process(namespace, inputs={"image": image}, policy=True)
            local.append(calls / (time.perf_counter() - start))
            assert run.ok, run.error
    return statistics.median(pooled), statistics.median(local)


def scaling(programs: int, image_path: Path) -> dict[int, float]:
    """Programs per second through a 1- and a 2-worker pool (interleaved, median of 3)."""
    rates: dict[int, list[float]] = {1: [], 2: []}
    pools = {n: vipexec.Sandbox(workers=n, timeout=30) for n in rates}
    try:
        images = {n: pool.images.load(image_path) for n, pool in pools.items()}
        for n, pool in pools.items():
            pool.map([SHORT] * 8, inputs={"image": images[n]})  # warm every worker
        for _ in range(3):
            for n, pool in pools.items():
                start = time.perf_counter()
                runs = pool.map([SHORT] * programs, inputs={"image": images[n]})
                rates[n].append(programs / (time.perf_counter() - start))
                assert all(run.ok for run in runs)
    finally:
        for pool in pools.values():
            pool.close()
    return {n: statistics.median(samples) for n, samples in rates.items()}


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
    parser.add_argument("--calls", type=int, default=5000, help="API calls per program (4.)")
    parser.add_argument("--scaling-programs", type=int, default=2000, help="programs (5.)")
    parser.add_argument("--find-calls", type=int, default=1000, help="find calls (6.)")
    parser.add_argument(
        "--only", type=int, nargs="*", default=None, help="run only these sections (1-6)"
    )
    args = parser.parse_args()

    from vipexec.modules.synthetic.export import write_scenes

    with tempfile.TemporaryDirectory() as tmp:
        image_path = write_scenes(tmp, 1, seed=1)[0]

        wanted = set(args.only or range(1, 7))
        if 1 in wanted:
            latency(args)
        if 2 in wanted:
            elapsed, ok = throughput(args.programs, image_path)
            print(f"2. throughput: {args.programs} short programs on 2 workers in {elapsed:.2f} s "
                  f"= {args.programs / elapsed:.0f} programs/s ({ok} ok)")  # fmt: skip
        if 3 in wanted:
            bare, cli = cold_start(image_path, args.cold_repeat)
            print(f"3. CLI cold start: `vipexec run examples/count_shapes.py` {cli:.3f} s median "
                  f"(bare `python -c pass`: {bare:.3f} s); target < 1 s")  # fmt: skip
        if 4 in wanted:
            floor = socket_round_trips_per_second(args.calls)
            pipes = pipe_round_trips_per_second(args.calls)
            local = in_process_calls_per_second(args.calls, 3)
            pooled = pool_calls_per_second(args.calls, 3)
            print(f"4. trivial API calls/s: worker -> parent {pooled:,.0f}; in process "
                  f"(policy=True) {local:,.0f}; raw round trips: socket pair {floor:,.0f}, "
                  f"pipes {pipes:,.0f}; worker/in-process {pooled / local:.2f}; "
                  "target >= 10,000/s")  # fmt: skip
        if 5 in wanted:
            rates = scaling(args.scaling_programs, image_path)
            print(f"5. scaling: {args.scaling_programs} short programs: 1 worker "
                  f"{rates[1]:.0f}/s, 2 workers {rates[2]:.0f}/s = {rates[2] / rates[1]:.2f}x "
                  "(target >= 1.7x)")  # fmt: skip
        if 6 in wanted:
            pooled, local = find_calls_per_second(args.find_calls, 3, image_path)
            print(f"6. find calls/s (synthetic backend): in a worker {pooled:,.0f}, in process "
                  f"{local:,.0f} = {local / pooled:.2f}x slower in a worker "
                  "(target <= 1.5x)")  # fmt: skip


def latency(args: argparse.Namespace) -> None:
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


if __name__ == "__main__":
    main()
