"""How well the synthetic backend, used through the program API, agrees with ground truth.

On seeded generated scenes it runs program-style queries (counting, existence, locating,
depth order, per-object attributes) through ``build_api(LocalDispatcher(backend, store))`` and
compares the answers with the scenes' ground truth. For the noisy backend it measures each
injected error rate against the configured one (with 95% Wilson intervals).

    python bench/synthetic_agreement.py [--scenes 300] [--seed 0] [--pixel-noise 0]
"""

from __future__ import annotations

import argparse
import itertools
import math
import random
import sys
import time
from collections import Counter, defaultdict

from vipexec.modules.api import build_api
from vipexec.modules.backend import box_iou
from vipexec.modules.dispatch import LocalDispatcher
from vipexec.modules.images import ImageStore
from vipexec.modules.synthetic import world
from vipexec.modules.synthetic.backend import NoisySyntheticBackend, SyntheticBackend
from vipexec.modules.synthetic.export import derive_seed
from vipexec.modules.synthetic.scene import generate_scene, render


class Tally:
    """Agreement counts per query family."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.total: Counter[str] = Counter()

    def add(self, family: str, agree: bool) -> None:
        self.total[family] += 1
        self.hits[family] += bool(agree)

    def lines(self) -> list[str]:
        out = []
        for family in self.total:
            n, k = self.total[family], self.hits[family]
            low, high = wilson(k, n)
            interval = f"[{100 * low:.1f}, {100 * high:.1f}]"
            out.append(f"  {family:<52} {k:>6}/{n:<6} {100 * k / n:6.2f}%  {interval}")
        return out


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def box_of(patch) -> tuple[int, int, int, int]:
    return (patch.left, patch.lower, patch.right, patch.upper)


def describe(obj) -> str:
    return f"{obj['size']} {obj['color']} {obj['shape']}"


def scenes(count: int, seed: int, pixel_noise: float, max_occlusion: float = 0.3):
    for index in range(count):
        scene_seed = derive_seed(seed, "bench", index)
        spec = generate_scene(scene_seed, noise=pixel_noise, max_occlusion=max_occlusion)
        yield index, render(spec)


def run_clean(count: int, seed: int, pixel_noise: float, max_occlusion: float) -> None:
    tally = Tally()
    store = ImageStore()
    api = build_api(LocalDispatcher(SyntheticBackend(), store))
    Patch = api["ImagePatch"]
    rng = random.Random(seed)
    timings: dict[str, list[float]] = defaultdict(list)
    objects_seen = occluded_seen = 0
    started = time.perf_counter()
    for _, rendered in scenes(count, seed, pixel_noise, max_occlusion):
        truth = rendered.truth["objects"]
        image = Patch(store.add(rendered.image))
        t0 = time.perf_counter()
        found = image.find("object")
        timings["find (first call: reads the scene)"].append(time.perf_counter() - t0)

        # counting through find
        combos = {(o["color"], o["shape"]) for o in truth}
        absent = [(c, s) for c in world.COLORS for s in world.SHAPES if (c, s) not in combos]
        for color, shape in sorted(combos) + rng.sample(absent, 2):
            expected = sum(1 for o in truth if (o["color"], o["shape"]) == (color, shape))
            t0 = time.perf_counter()
            got = len(image.find(f"{color} {shape}"))
            timings["find (cached scene)"].append(time.perf_counter() - t0)
            tally.add("count: len(find('<colour> <shape>'))", got == expected)
        for color in sorted({o["color"] for o in truth}):
            expected = sum(1 for o in truth if o["color"] == color)
            answer = image.simple_query(f"How many {color} objects are there?")
            tally.add("count: simple_query('How many <colour> objects?')", answer == str(expected))
        tally.add("count: len(find('object')) == objects", len(found) == len(truth))

        # existence
        for obj in truth:
            tally.add("exists('<size> <colour> <shape>') present", image.exists(describe(obj)))
        present = {describe(o) for o in truth}
        for _ in range(2):
            size, color = rng.choice(tuple(world.SIZES)), rng.choice(world.COLORS)
            fake = f"{size} {color} {rng.choice(world.SHAPES)}"
            if fake not in present:
                tally.add("exists('<size> <colour> <shape>') absent", not image.exists(fake))

        # locating and depth order between uniquely described objects
        names = Counter(describe(o) for o in truth)
        unique = [o for o in truth if names[describe(o)] == 1]
        for a, b in itertools.permutations(unique, 2):
            pa, pb = image.find(describe(a)), image.find(describe(b))
            ga = (a["box"][0] + a["box"][2]) / 2 < (b["box"][0] + b["box"][2]) / 2
            if len(pa) == 1 and len(pb) == 1:
                left = pa[0].horizontal_center < pb[0].horizontal_center
                tally.add("locate: is A left of B (A, B unique descriptions)", left == ga)
                nearer = pa[0].compute_depth() < pb[0].compute_depth()
                if a["depth"] != b["depth"]:
                    tally.add("depth: is A nearer than B", nearer == (a["depth"] < b["depth"]))
            else:
                tally.add("locate: is A left of B (A, B unique descriptions)", False)

        # per-object attributes, the object matched to its visible box
        for obj in truth:
            match = [p for p in found if box_iou(box_of(p), obj["visible_box"]) >= 0.5]
            occluded = obj["occlusion"] > 0
            objects_seen += 1
            occluded_seen += occluded
            suffix = " (occluded)" if occluded else ""
            tally.add(f"locate: object found, IoU>=0.5{suffix}", bool(match))
            if not match:
                continue
            patch = match[0]
            tally.add(
                f"locate: box == visible box{suffix}", box_of(patch) == tuple(obj["visible_box"])
            )
            tally.add(
                f"locate: box IoU>=0.9 with visible box{suffix}",
                box_iou(box_of(patch), obj["visible_box"]) >= 0.9,
            )
            t0 = time.perf_counter()
            colour = patch.simple_query("What color is this?")
            timings["simple_query"].append(time.perf_counter() - t0)
            tally.add(f"attr: colour (simple_query){suffix}", colour == obj["color"])
            tally.add(
                f"attr: shape (simple_query){suffix}",
                patch.simple_query("What shape is this?") == obj["shape"],
            )
            tally.add(
                f"attr: size (simple_query){suffix}",
                patch.simple_query("What size is this?") == obj["size"],
            )
            other = rng.choice([c for c in world.COLORS if c != obj["color"]])
            tally.add(
                "attr: verify_property colour (true and false)",
                patch.verify_property("object", obj["color"])
                and not patch.verify_property("object", other),
            )
            tally.add(
                "attr: best_text_match over all colours",
                patch.best_text_match(list(world.COLORS)) == obj["color"],
            )
            if obj["text"]:
                read = patch.simple_query("What does the text say?")
                tally.add("attr: text read exactly", read == obj["text"])
            elif not occluded:
                tally.add(
                    "attr: no text reported where none",
                    patch.simple_query("What does the text say?") == "no text",
                )
            depth = patch.compute_depth()
            if not occluded:
                tally.add(
                    "depth: compute_depth == truth (unoccluded)", abs(depth - obj["depth"]) < 1e-9
                )
                tally.add(
                    "depth: compute_depth within 2% (unoccluded)",
                    abs(depth / obj["depth"] - 1) <= 0.02,
                )
    elapsed = time.perf_counter() - started
    noise = f", pixel noise sigma={pixel_noise:g}" if pixel_noise else ""
    noise += f", max occlusion {max_occlusion:g}"
    print(
        f"clean synthetic backend: {count} scenes, {objects_seen} objects "
        f"({occluded_seen} partly occluded){noise}, {elapsed:.1f} s"
    )
    print("\n".join(tally.lines()))
    for name, values in timings.items():
        values.sort()
        print(
            f"  latency {name:<36} median {1000 * values[len(values) // 2]:.2f} ms, "
            f"p95 {1000 * values[int(len(values) * 0.95)]:.2f} ms (n={len(values)})"
        )


NOISE_CONFIG = {"color_error": 0.1, "shape_error": 0.1, "miss_rate": 0.1, "spurious_rate": 0.05}
NOISE_METRICS = [  # (label, configured option)
    ("miss_rate: clean boxes dropped by find", "miss_rate"),
    ("spurious_rate: find calls with an extra box", "spurious_rate"),
    ("color_error: simple_query colour wrong", "color_error"),
    ("color_error: verify_property colour flipped", "color_error"),
    ("shape_error: simple_query shape wrong", "shape_error"),
    ("shape_error: verify_property shape flipped", "shape_error"),
]


def run_noisy(count: int, seed: int) -> None:
    store = ImageStore()
    clean = build_api(LocalDispatcher(SyntheticBackend(), store))["ImagePatch"]
    backend = NoisySyntheticBackend(seed=seed, **NOISE_CONFIG)
    noisy = build_api(LocalDispatcher(backend, store))["ImagePatch"]
    tally = {label: [0, 0] for label, _ in NOISE_METRICS}

    def add(label: str, errors: int, trials: int) -> None:
        tally[label][0] += errors
        tally[label][1] += trials

    for _, rendered in scenes(count, seed + 1, 0.0):
        ref = store.add(rendered.image)
        c_image, n_image = clean(ref), noisy(ref)
        for name in ["object", *world.COLORS, *world.SHAPES]:
            expected = {box_of(p) for p in c_image.find(name)}
            got = [box_of(p) for p in n_image.find(name)]
            add(NOISE_METRICS[0][0], len(expected - set(got)), len(expected))
            add(NOISE_METRICS[1][0], any(b not in expected for b in got), 1)
        for patch in c_image.find("object"):
            same = n_image.crop(patch.left, patch.lower, patch.right, patch.upper)
            for label, question in (
                (NOISE_METRICS[2][0], "What color is this?"),
                (NOISE_METRICS[4][0], "What shape is this?"),
            ):
                add(label, same.simple_query(question) != patch.simple_query(question), 1)
            for label, values in (
                (NOISE_METRICS[3][0], world.COLORS),
                (NOISE_METRICS[5][0], world.SHAPES),
            ):
                for value in values:
                    flipped = same.verify_property("object", value) != patch.verify_property(
                        "object", value
                    )
                    add(label, flipped, 1)
    options = ", ".join(f"{k}={v}" for k, v in NOISE_CONFIG.items())
    print(f"noisy synthetic backend ({options}, seed={seed}): {count} scenes")
    for label, option in NOISE_METRICS:
        k, n = tally[label]
        low, high = wilson(k, n)
        expected = NOISE_CONFIG[option]
        inside = "yes" if low <= expected <= high else "NO"
        print(
            f"  {label:<44} measured {k / n:.4f} ({k}/{n}), 95% CI [{low:.4f}, {high:.4f}], "
            f"configured {expected:.2f}, inside: {inside}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--pixel-noise", type=float, default=0.0, help="Gaussian sigma added to pixels"
    )
    parser.add_argument(
        "--max-occlusion", type=float, default=0.3, help="generator bound on hidden fraction"
    )
    parser.add_argument("--skip-noisy", action="store_true")
    args = parser.parse_args(argv)
    run_clean(args.scenes, args.seed, args.pixel_noise, args.max_occlusion)
    if not args.skip_noisy:
        print()
        run_noisy(args.scenes, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
