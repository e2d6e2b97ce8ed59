"""Model host: cross-program batching and the content cache, measured side by side in one run.

1. **Batching.** N concurrent programs (default 64) each call ``find()`` once on their own image
   (so the cache cannot help), answered by an ultralytics YOLOv8n (``yolov8n.yaml``, random
   weights: the same architecture and compute as the pretrained checkpoint) at ``--imgsz``.
   Batching on (``max_batch = N``, capped by ``--cpu-max-batch`` on the CPU, ``max_wait_ms``)
   vs off (every request its own forward pass).
   Reported: wall time, programs per second, their ratio, and model invocations.
2. **Cache over a program tree.** The programs of one SVIP-style tree (2 x 3 x 3 continuations
   of a 3-step program: ``find``, ``verify_property``, ``simple_query``) share prefixes, so
   many of their calls repeat. They run with the cache on vs off (batching off, so invocations
   count computed calls); the cache must make model invocations equal the unique calls.

Programs run in the process sandbox (``vipexec.Sandbox``) by default, or on threads in this
process (``--runner threads``); either way the model host sees concurrent requests. The device
is chosen by the host's placement (a GPU when there is one; ``--device cpu`` forces the CPU).

Usage: ``python bench/model_host.py [--programs 64] [--imgsz 640] [--runner sandbox|threads]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from vipexec import Program, ProgramTree
from vipexec.modules.images import ImageStore
from vipexec.modules.models import ModelHost, parse_config, tiny

FIND_PROGRAM = """\
def execute_command(image):
    # Step 1: find the people
    people = ImagePatch(image).find("person")
    # Step 2: count them
    return len(people)
"""

WARM_UP = "def execute_command(image):\n    return 0\n"

TREE_STEP_1 = [
    '    # Step 1: find the subject\n    found = ImagePatch(image).find("{}")\n'
    "    subject = found[0] if found else ImagePatch(image)\n"
]
TREE_SUBJECTS = ["person", "car"]
TREE_ATTRIBUTES = ["red", "wooden", "small"]
TREE_QUESTIONS = ["What is it?", "What color is it?", "Where is it?"]


def tree_programs() -> list[str]:
    """The 18 leaves of a 2 x 3 x 3 tree; siblings share their parents' blocks verbatim."""
    sources = []
    for subject in TREE_SUBJECTS:
        for attribute in TREE_ATTRIBUTES:
            for question in TREE_QUESTIONS:
                step_2 = f'has = subject.verify_property("{subject}", "{attribute}")'
                step_3 = f'answer = subject.simple_query("{question}")'
                sources.append(
                    "def execute_command(image):\n"
                    + TREE_STEP_1[0].format(subject)
                    + f"    # Step 2: check a property\n    {step_2}\n"
                    + f"    # Step 3: ask about it\n    {step_3}\n"
                    + "    return [has, answer]\n"
                )
    return sources


def run_all(runner: str, host: ModelHost, store: ImageStore, programs, inputs, workers: int):
    """Run every program concurrently; returns (runs, seconds)."""
    programs = [Program.from_source(source, name=f"p{i}.py") for i, source in enumerate(programs)]
    if runner == "sandbox":
        import vipexec

        with vipexec.Sandbox(workers=workers, timeout=600, server=host, store=store) as sandbox:
            sandbox.map([WARM_UP] * workers, inputs[:1] * workers)  # start every worker
            host.reset_stats()
            start = time.perf_counter()
            runs = sandbox.map(programs, inputs)
            return runs, time.perf_counter() - start
    from vipexec.modules.api import build_api
    from vipexec.modules.dispatch import ServerDispatcher

    runs: list[Any] = [None] * len(programs)
    barrier = threading.Barrier(len(programs) + 1)

    def work(i: int) -> None:
        namespace = build_api(ServerDispatcher(host))
        barrier.wait()
        runs[i] = programs[i].run_in_process(namespace=namespace, inputs=inputs[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(programs))]
    for thread in threads:
        thread.start()
    host.reset_stats()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    return runs, time.perf_counter() - start


def unique_calls(runs) -> int:
    seen = set()
    for run in runs:
        for block in run.blocks:
            for call in block.calls:
                key = (
                    call["method"],
                    call.get("image"),
                    str(call.get("box")),
                    json.dumps(call["args"], sort_keys=True),
                )
                seen.add(key)
    return len(seen)


def bench_batching(args, folder: Path, imgsz: int) -> dict[str, Any]:
    checkpoint = tiny.build_yolo(folder)
    rng = np.random.default_rng(0)
    store = ImageStore()
    images = [
        store.add(rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)) for _ in range(args.programs)
    ]
    inputs = [{"image": image} for image in images]
    results: dict[str, Any] = {}
    for batching in (True, False):
        config = parse_config(
            {
                "host": {
                    "max_batch": args.programs, "max_wait_ms": args.max_wait_ms, "cache": "off",
                    "cpu_max_batch": args.cpu_max_batch,
                    "devices": "cpu" if args.device == "cpu" else "auto",
                },
                "models": {
                    "yolo": {"kind": "yolo", "checkpoint": checkpoint.name, "imgsz": imgsz}
                },
                "profiles": {"find": {"find": "yolo"}},
            },
            source="bench",
            base_dir=folder,
        )  # fmt: skip
        times, invocations = [], []
        with ModelHost(config, store=store, batching=batching) as host:
            host.load()
            # warm-up: one batch through the model (lazy imports, allocator)
            run_all("threads", host, store, [FIND_PROGRAM] * 4, inputs[:4], args.workers)
            for _ in range(args.repeats):
                runs, seconds = run_all(
                    args.runner, host, store, [FIND_PROGRAM] * args.programs, inputs, args.workers
                )
                assert all(run.ok for run in runs), [run.error for run in runs if not run.ok][:1]
                times.append(seconds)
                invocations.append(host.invocations("yolo"))
            placed = host.placement()["yolo"]
            largest = max(host.batch_sizes("yolo"))
        seconds = statistics.median(times)
        results["on" if batching else "off"] = {
            "seconds": seconds,
            "programs_per_s": args.programs / seconds,
            "invocations": int(statistics.median(invocations)),
            "largest_batch": largest,
            "device": f"{placed.device}/{placed.dtype}",
        }
    results["throughput_ratio"] = results["on"]["programs_per_s"] / results["off"]["programs_per_s"]
    return results


def bench_tree(args, folder: Path) -> dict[str, Any]:
    tiny.build_yolo(folder)
    tiny.build_open_clip(folder)
    tiny.build_blip_vqa(folder / "blip")
    base = parse_config(
        {
            "host": {"max_batch": 1, "devices": "cpu" if args.device == "cpu" else "auto"},
            "models": {
                "yolo": {"kind": "yolo", "checkpoint": "yolov8n.pt", "imgsz": 160,
                         "conf": 0.0, "max_det": 2},
                "clip": {"kind": "open_clip", "arch": tiny.TINY_CLIP_ARCH,
                         "model_config": f"{tiny.TINY_CLIP_ARCH}.json",
                         "checkpoint": "tiny-clip.pt"},
                "blip": {"kind": "vqa", "checkpoint": "blip", "max_new_tokens": 4},
            },
            "profiles": {
                "tree": {"find": "yolo", "verify_property": "clip", "simple_query": "blip"}
            },
        },
        source="bench-tree",
        base_dir=folder,
    )  # fmt: skip
    sources = tree_programs()
    tree = ProgramTree()
    for source in sources:
        tree.add(Program.from_source(source))
    store = ImageStore()
    image = store.add(np.random.default_rng(1).integers(0, 255, (480, 640, 3), dtype=np.uint8))
    inputs = [{"image": image}] * len(sources)
    results: dict[str, Any] = {
        "programs": len(sources),
        "tree_nodes": tree.graph.number_of_nodes() - 1,
        "blocks_in_programs": sum(len(Program.from_source(s).blocks) for s in sources),
    }
    for cache in (True, False):
        with ModelHost(base, store=store, cache=cache, batching=False) as host:
            host.load()
            runs, seconds = run_all(args.runner, host, store, sources, inputs, args.workers)
            assert all(run.ok for run in runs), [run.error for run in runs if not run.ok][:1]
            calls = sum(len(block.calls) for run in runs for block in run.blocks)
            results["cache_on" if cache else "cache_off"] = {
                "seconds": seconds,
                "calls": calls,
                "unique_calls": unique_calls(runs),
                "invocations": host.invocations(),
                "cache_hits": sum(s["cache_hits"] for s in host.stats().values()),
            }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--programs", type=int, default=64, help="concurrent find() programs")
    parser.add_argument("--imgsz", default="640,160", help="YOLO input sizes, comma-separated")
    parser.add_argument("--max-wait-ms", type=float, default=10.0)
    parser.add_argument(
        "--cpu-max-batch", type=int, default=8, help="batch cap when the model runs on the CPU"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--runner", choices=("sandbox", "threads"), default="sandbox")
    parser.add_argument("--workers", type=int, default=64, help="sandbox workers (= concurrency)")
    parser.add_argument("--device", choices=("auto", "cpu"), default="auto")
    parser.add_argument("--json", action="store_true", help="print the results as JSON too")
    args = parser.parse_args()
    sizes = [int(size) for size in str(args.imgsz).split(",") if size.strip()]
    if args.runner == "sandbox":
        try:
            import vipexec.sandbox.isolation.pool  # noqa: F401
        except ImportError:
            args.runner = "threads"
    with tempfile.TemporaryDirectory(prefix="vipexec-bench-") as tmp:
        folder = Path(tmp)
        batching = {size: bench_batching(args, folder, size) for size in sizes}
        tree = bench_tree(args, folder)
    device = next(iter(batching.values()))["on"]["device"]
    print(f"model host bench (runner: {args.runner}, device: {device})")
    print(
        f"\n1. {args.programs} concurrent programs, one find() each on its own image "
        f"(YOLOv8n; median of {args.repeats})"
    )
    header = f"{'seconds':>8} {'programs/s':>11} {'invocations':>12} {'largest batch':>14}"
    print(f"   {'imgsz':>5} {'batching':9} {header}")
    for size, result in batching.items():
        for name in ("on", "off"):
            row = result[name]
            print(
                f"   {size:5d} {name:9} {row['seconds']:8.2f} {row['programs_per_s']:11.1f} "
                f"{row['invocations']:12d} {row['largest_batch']:14d}"
            )
        print(
            f"   {size:5d} throughput ratio on/off: {result['throughput_ratio']:.2f}x; "
            f"invocations {result['off']['invocations']} -> {result['on']['invocations']}"
        )
    print(
        f"\n2. program tree: {tree['programs']} programs, {tree['blocks_in_programs']} blocks, "
        f"{tree['tree_nodes']} tree nodes (batching off)"
    )
    print(
        f"   {'cache':10} {'seconds':>8} {'calls':>6} {'unique':>7} {'invocations':>12} {'hits':>5}"
    )
    for name in ("cache_on", "cache_off"):
        row = tree[name]
        print(
            f"   {name[6:]:10} {row['seconds']:8.2f} {row['calls']:6d} {row['unique_calls']:7d} "
            f"{row['invocations']:12d} {row['cache_hits']:5d}"
        )
    cache_on = tree["cache_on"]
    verdict = "==" if cache_on["invocations"] == cache_on["unique_calls"] else "!="
    print(f"   cache on: invocations {cache_on['invocations']} {verdict} unique calls "
          f"{cache_on['unique_calls']}; cache off: {tree['cache_off']['invocations']} invocations "
          f"for {tree['cache_off']['calls']} calls "
          f"({tree['cache_off']['seconds'] / cache_on['seconds']:.1f}x the time)")  # fmt: skip
    if args.json:
        print(json.dumps({"batching": batching, "tree": tree}, indent=2))


if __name__ == "__main__":
    main()
