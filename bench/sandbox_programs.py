"""Programs run through the sandbox pool on generated scenes, checked against ground truth.

Where ``bench/synthetic_agreement.py`` asks the synthetic backend directly, this runs real
ViperGPT-style programs (counting, existence, locating, depth, colour) through
``vipexec.Sandbox`` workers, so every answer crosses the policy, the worker process and the
API pipe the way a user's program does. Each program family's agreement with the scenes'
ground truth is printed with a 95% Wilson interval.

    python bench/sandbox_programs.py [--scenes 300] [--seed 0] [--workers 2]
"""

from __future__ import annotations

import argparse
import math
import random
import time
from collections import Counter

import vipexec
from vipexec.modules.synthetic import world
from vipexec.modules.synthetic.export import derive_seed
from vipexec.modules.synthetic.scene import generate_scene, render

PROGRAMS = {
    "count <colour> <shape>": (
        "def execute_command(image, colour, shape):\n"
        "    # Step 1: find the shapes of that kind\n"
        "    patches = ImagePatch(image).find(shape)\n"
        "    # Step 2: keep those of the colour\n"
        "    matching = [p for p in patches if p.verify_property(shape, colour)]\n"
        "    # Step 3: count them\n"
        "    return len(matching)\n"
    ),
    "exists <colour> <shape>": (
        "def execute_command(image, colour, shape):\n"
        "    # Step 1: look for it\n"
        "    found = ImagePatch(image).exists(colour + ' ' + shape)\n"
        "    # Step 2: answer yes or no\n"
        "    return bool_to_yesno(found)\n"
    ),
    "count all objects": (
        "def execute_command(image, colour, shape):\n"
        "    # Step 1: find every object\n"
        "    objects = ImagePatch(image).find('object')\n"
        "    # Step 2: count\n"
        "    return len(objects)\n"
    ),
    "locate the leftmost object": (
        "def execute_command(image, colour, shape):\n"
        "    # Step 1: find every object\n"
        "    objects = ImagePatch(image).find('object')\n"
        "    # Step 2: order left to right\n"
        "    objects.sort(key=lambda p: p.horizontal_center)\n"
        "    # Step 3: the box of the first\n"
        "    first = objects[0]\n"
        "    return [first.left, first.lower, first.right, first.upper]\n"
    ),
    "colour of the nearest object": (
        "def execute_command(image, colour, shape):\n"
        "    # Step 1: find every object\n"
        "    objects = ImagePatch(image).find('object')\n"
        "    # Step 2: order near to far\n"
        "    objects.sort(key=lambda p: p.compute_depth())\n"
        "    # Step 3: ask its colour\n"
        "    return objects[0].simple_query('What color is this?')\n"
    ),
}


def expected(family: str, truth: list[dict], colour: str, shape: str):
    if family == "count <colour> <shape>":
        return sum(1 for o in truth if (o["color"], o["shape"]) == (colour, shape))
    if family == "exists <colour> <shape>":
        return "yes" if any((o["color"], o["shape"]) == (colour, shape) for o in truth) else "no"
    if family == "count all objects":
        return len(truth)
    if family == "locate the leftmost object":
        leftmost = min(truth, key=lambda o: (o["visible_box"][0] + o["visible_box"][2]) / 2)
        return list(leftmost["visible_box"])
    nearest = min(truth, key=lambda o: o["depth"])
    return nearest["color"]


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    hits: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    started = time.perf_counter()
    with vipexec.Sandbox(workers=args.workers, timeout=30) as sandbox:
        jobs = []
        for index in range(args.scenes):
            rendered = render(generate_scene(derive_seed(args.seed, "programs", index)))
            truth = rendered.truth["objects"]
            image = sandbox.images.add(rendered.image)
            present = rng.choice(truth)
            asked = [(present["color"], present["shape"]),
                     (rng.choice(world.COLORS), rng.choice(world.SHAPES))]  # fmt: skip
            for family, source in PROGRAMS.items():
                for colour, shape in asked if "<shape>" in family else asked[:1]:
                    want = expected(family, truth, colour, shape)
                    inputs = {"image": image, "colour": colour, "shape": shape}
                    jobs.append((family, source, inputs, want))
        runs = sandbox.map([job[1] for job in jobs], inputs=[job[2] for job in jobs])
    elapsed = time.perf_counter() - started
    for (family, _, _, want), run in zip(jobs, runs):
        totals[family] += 1
        if not run.ok:
            failures[family] += 1
        hits[family] += run.ok and run.result == want
    print(f"{args.scenes} scenes, {len(jobs)} programs through {args.workers} sandbox workers "
          f"in {elapsed:.1f} s")  # fmt: skip
    print(f"{'program family':32s} {'agree':>12s} {'%':>7s}  95% interval      failed runs")
    for family in PROGRAMS:
        k, n = hits[family], totals[family]
        low, high = wilson(k, n)
        interval = f"[{100 * low:5.1f}, {100 * high:5.1f}]"
        print(f"{family:32s} {k:>5}/{n:<6} {100 * k / n:7.2f}  {interval}   {failures[family]}")
    k, n = sum(hits.values()), sum(totals.values())
    print(f"{'all':32s} {k:>5}/{n:<6} {100 * k / n:7.2f}")


if __name__ == "__main__":
    main()
