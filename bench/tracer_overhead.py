"""Tracer + sandbox overhead against plain ``exec``, measured side by side in one run.

A ViperGPT-style program of ~50 lines (loops, attribute access, sorting, API calls) runs against
two APIs that answer the same from the same scene:

- **project's API**: the cheap in-process fake API (``vipexec.testing``), whose classes are
  marked safe (``mark_safe_api``): a sandboxed program holds them without proxies;
- **user class**: :class:`UserImagePatch`, a plain class written the way a ViperGPT user writes
  ``ImagePatch`` (public instance attributes set in ``__init__``, methods), not marked, so a
  sandboxed program reaches it through proxies.

Each API runs four ways:

1. plain ``exec`` of the source, calling the API directly (the baseline);
2. ``Program.run_in_process(policy=False)``: block tracing only;
3. ``Program.run_in_process(policy=True)``: our policy, guards, proxies of the caller's API
   and tracing;
4. RestrictedPython 9 with its stock guards (``safer_getattr``, ``_getitem_``, ``_getiter_``,
   the unpack guards, ``_inplacevar_``, ``full_write_guard``), no tracing.

Each variant is timed as the best of several interleaved rounds of many calls; the script
prints microseconds per run and the ratio to plain exec of the same API in the same run.
Usage: ``python bench/tracer_overhead.py [--clock cpu]`` (``cpu`` on a machine busy with
other work). Instruction counts, which load does not disturb: run one variant under callgrind
with ``--only {plain,trusted,policy,restricted} --api {project,user} --calls N``, once with
``--calls 0``, and divide the difference of the two totals by N.
"""

from __future__ import annotations

import argparse
import operator
import time
from collections.abc import Callable
from typing import Any

from RestrictedPython import compile_restricted, limited_builtins, safe_builtins, utility_builtins
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr,
)

from vipexec import Program
from vipexec.core.tracer import TraceLimits
from vipexec.testing import FakeScene, fake_namespace

PROGRAM = """\
def execute_command(image, query):
    # Step 1: find the objects the question is about
    image_patch = ImagePatch(image)
    cars = image_patch.find("car")
    people = image_patch.find("person")
    # Step 2: order the cars from left to right and measure them
    cars.sort(key=lambda car: car.horizontal_center)
    widths = [car.right - car.left for car in cars]
    mean_width = sum(widths) / max(len(widths), 1)
    # Step 3: relate every person to every car
    beside = {}
    nearest = {}
    for person in people:
        best = None
        best_distance = None
        for car in cars:
            dx = car.horizontal_center - person.horizontal_center
            dy = car.vertical_center - person.vertical_center
            d = (dx * dx + dy * dy) ** 0.5
            overlaps = (car.left <= person.right and car.right >= person.left
                        and car.lower <= person.upper and car.upper >= person.lower)
            if not overlaps and abs(dy) < car.height and abs(dx) < 2 * car.width:
                beside[person.left] = beside.get(person.left, 0) + 1
            if best_distance is None or d < best_distance:
                best, best_distance = car, d
        nearest[person.left] = (best, best_distance)
    # Step 4: count colours of the wide cars next to someone
    colours = {}
    for left, (car, d) in nearest.items():
        if car.width > mean_width and d < 4 * car.width:
            colour = "red" if car.verify_property("car", "red") else "other"
            colours[colour] = colours.get(colour, 0) + 1
    # Step 5: look at the largest car more closely
    largest = max(cars, key=lambda car: car.width * car.height)
    crop = largest.crop(largest.left, largest.lower, largest.right, largest.upper)
    depth = crop.compute_depth()
    label = crop.simple_query("What color is the car?")
    above = [p for p in people if p.vertical_center > largest.vertical_center]
    # Step 6: answer
    summary = []
    for name, count in sorted(colours.items()):
        summary.append(name + "=" + str(count))
    if len(beside) > len(people) // 4 and depth < 10:
        answer = True
    else:
        answer = False
    return bool_to_yesno(answer) + ";" + ",".join(summary) + ";" + label + str(len(above))
"""


class UserImagePatch:
    """ViperGPT's ``ImagePatch`` as a user writes it: public attributes, no safe marking."""

    def __init__(self, image, left=None, lower=None, right=None, upper=None):
        self.image = image
        if left is None and lower is None and right is None and upper is None:
            left, lower, right, upper = 0, 0, image.width, image.height
        self.left, self.lower, self.right, self.upper = left, lower, right, upper
        self.width = right - left
        self.height = upper - lower
        self.horizontal_center = (left + right) / 2
        self.vertical_center = (lower + upper) / 2

    def _object(self):
        for obj in self.image.objects:
            if obj.box == (self.left, self.lower, self.right, self.upper):
                return obj
        return None

    def find(self, object_name):
        found = []
        for obj in self.image.objects:
            cx, cy = (obj.box[0] + obj.box[2]) / 2, (obj.box[1] + obj.box[3]) / 2
            inside = self.left <= cx <= self.right and self.lower <= cy <= self.upper
            if obj.name == object_name and inside:
                found.append(UserImagePatch(self.image, *obj.box))
        return found

    def verify_property(self, object_name, attribute):
        obj = self._object()
        return obj is not None and attribute in obj.attributes

    def simple_query(self, question=None):
        obj = self._object()
        if obj is None:
            return "nothing"
        if "color" in (question or "").lower():
            return next(iter(sorted(obj.attributes)), "unknown")
        return obj.name

    def compute_depth(self):
        obj = self._object()
        return obj.depth if obj is not None else 1.0

    def crop(self, left, lower, right, upper):
        return UserImagePatch(
            self.image,
            max(left, self.left),
            max(lower, self.lower),
            min(right, self.right),
            min(upper, self.upper),
        )


def user_namespace() -> dict:
    """The project's fake API names with the user's own ``ImagePatch`` in place of the fake."""
    return {**fake_namespace(), "ImagePatch": UserImagePatch}


def build_scene(n_cars: int = 24, n_people: int = 24) -> FakeScene:
    scene = FakeScene(1000, 1000)
    for i in range(n_cars):
        left, lower = (i * 37) % 900, (i * 53) % 900
        scene = scene.add(
            "car",
            (left, lower, left + 20 + i % 7 * 5, lower + 15),
            "red" if i % 3 else "blue",
            depth=float(i % 11),
        )
    for i in range(n_people):
        left, lower = (i * 71) % 950, (i * 29) % 950
        scene = scene.add("person", (left, lower, left + 8, lower + 20))
    return scene


def restricted_python_runner(source: str, namespace: dict):
    code = compile_restricted(source, "<rp>", "exec")
    builtins = {**safe_builtins, **limited_builtins, **utility_builtins}
    for name in ("sorted", "max", "min", "sum", "len", "list", "dict", "enumerate", "zip", "str"):
        builtins[name] = (
            __builtins__[name] if isinstance(__builtins__, dict) else getattr(__builtins__, name)
        )
    env = {
        "__builtins__": builtins,
        "__metaclass__": type,
        "_getattr_": safer_getattr,
        "_getitem_": operator.getitem,
        "_getiter_": iter,
        "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
        "_unpack_sequence_": guarded_unpack_sequence,
        "_write_": full_write_guard,
        "_inplacevar_": lambda op, x, y: operator.iadd(x, y) if op == "+=" else NotImplemented,
        **namespace,
    }
    exec(code, env)
    return env["execute_command"]


def pysnooper_variant(source: str, namespace: dict):
    """The program traced line by line by PySnooper (its output discarded), if installed."""
    try:
        import pysnooper
    except ImportError:
        print("(PySnooper not installed: pip install vipexec[bench] to compare with it)")
        return None
    env = dict(namespace)
    exec(compile(source, "<snooped>", "exec"), env)
    return pysnooper.snoop(output=lambda text: None, depth=1)(env["execute_command"])


CLOCKS = {"wall": time.perf_counter, "cpu": time.thread_time}
"""``--clock cpu`` counts only this thread's CPU time: on a machine busy with other work the
wall clock also counts the time the benchmark waits for a core."""
clock = CLOCKS["wall"]


def time_interleaved(variants: dict, *, number: int, repeat: int) -> dict[str, float]:
    """Seconds per call for each variant: the best of ``repeat`` rounds.

    Rounds interleave the variants, so a burst of load on the machine hits them alike, and
    the minimum is the estimate least disturbed by other processes (as ``timeit`` advises).
    """
    for call in variants.values():
        call()  # warm caches (compiled code, proxy classes)
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(repeat):
        for name, call in variants.items():
            start = clock()
            for _ in range(number):
                call()
            samples[name].append((clock() - start) / number)
    return {name: min(values) for name, values in samples.items()}


def variants_for(namespace: dict, inputs: dict) -> dict[str, Callable[[], Any]]:
    """The four variants against one API, each checked to answer as plain exec does."""
    plain_env = dict(namespace)
    exec(compile(PROGRAM, "<plain>", "exec"), plain_env)
    plain = plain_env["execute_command"]
    expected = plain(**inputs)
    program = Program.from_source(PROGRAM, name="bench_program")
    for sandbox in (False, True):
        run = program.run_in_process(namespace=namespace, inputs=inputs, policy=sandbox)
        assert run.ok and run.result == expected, (sandbox, run.error, run.result, expected)
    rp = restricted_python_runner(PROGRAM, namespace)
    assert rp(**inputs) == expected
    variants = {
        "plain exec": lambda: plain(**inputs),
        "Program.run_in_process(policy=False)": lambda: program.run_in_process(
            namespace=namespace, inputs=inputs, policy=False
        ),
        "Program.run_in_process(policy=True)": lambda: program.run_in_process(
            namespace=namespace, inputs=inputs, policy=True
        ),
        "RestrictedPython stock guards": lambda: rp(**inputs),
    }
    return variants


def measure_api(namespace: dict, inputs: dict, args: argparse.Namespace) -> dict[str, float]:
    """Seconds per run of the four variants against one API."""
    variants = variants_for(namespace, inputs)
    return time_interleaved(variants, number=args.number, repeat=args.repeat)


ONLY = {
    "plain": "plain exec",
    "trusted": "Program.run_in_process(policy=False)",
    "policy": "Program.run_in_process(policy=True)",
    "restricted": "RestrictedPython stock guards",
}
"""``--only`` names of the variants"""


def breakdown(
    namespace: dict, inputs: dict, args: argparse.Namespace, *, policy: bool
) -> dict[str, float]:
    """Seconds per run of plain exec, a trivial program, the bench program without value
    summaries and the full run, all with ``policy`` and timed together."""
    plain_env = dict(namespace)
    exec(compile(PROGRAM, "<plain>", "exec"), plain_env)
    plain = plain_env["execute_command"]
    program = Program.from_source(PROGRAM, name="bench_program")
    trivial = Program.from_source("def execute_command(image, query):\n    return 1\n")
    silent = TraceLimits(max_iterations=0)  # past the bound: exits are counted, not summarised

    def run(prog: Program, **options: object):
        return lambda: prog.run_in_process(
            namespace=namespace, inputs=inputs, policy=policy, **options
        )

    return time_interleaved(
        {
            "plain exec": lambda: plain(**inputs),
            "fixed": run(trivial),
            "no summaries": run(program, limits=silent),
            "full": run(program),
        },
        number=args.number,
        repeat=args.repeat,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=200, help="calls per timing sample")
    parser.add_argument("--repeat", type=int, default=7, help="timing samples per variant")
    parser.add_argument(
        "--sweep",
        type=int,
        nargs="*",
        default=[8, 16, 48],
        help="also time plain vs policy=True at these object counts (per kind)",
    )
    parser.add_argument(
        "--clock", choices=sorted(CLOCKS), default="wall", help="wall time or thread CPU time"
    )
    parser.add_argument(
        "--only",
        choices=sorted(ONLY),
        help="run just this variant --calls times and print nothing (for instruction counters)",
    )
    parser.add_argument("--api", choices=["project", "user"], default="project")
    parser.add_argument("--calls", type=int, default=200, help="runs of the --only variant")
    args = parser.parse_args()
    global clock
    clock = CLOCKS[args.clock]

    scene = build_scene()
    namespace = fake_namespace()
    inputs = {"image": scene, "query": "Is the person next to a red car?"}
    apis = {"project's API": namespace, "user class": user_namespace()}
    if args.only:
        api = apis["user class" if args.api == "user" else "project's API"]
        call = variants_for(api, inputs)[ONLY[args.only]]
        for _ in range(args.calls):
            call()
        return
    measured = {label: measure_api(api, inputs, args) for label, api in apis.items()}
    results = measured["project's API"]
    program = Program.from_source(PROGRAM, name="bench_program")
    base = results["plain exec"]
    print(
        f"program: {len(PROGRAM.splitlines())} lines, {len(scene.objects)} objects, "
        f"{len(program.blocks)} blocks; best of {args.repeat} interleaved rounds"
        f" x {args.number} calls; {args.clock} clock"
    )
    header = "".join(f" {label + ' us':>17s} {'x plain':>8s}" for label in apis)
    print(f"{'variant':40s}{header}")
    for name in results:
        row = "".join(
            f" {times[name] * 1e6:17.1f} {times[name] / times['plain exec']:8.2f}"
            for times in measured.values()
        )
        print(f"{name:40s}{row}")
    snooped = pysnooper_variant(PROGRAM, namespace)
    if snooped is not None:
        # A per-line tracer is ~1000x slower: a few calls are enough to time it.
        seconds = time_interleaved({"snoop": lambda: snooped(**inputs)}, number=2, repeat=3)
        print(
            f"{'PySnooper (per-line tracer)':40s} {seconds['snoop'] * 1e6:17.1f} "
            f"{seconds['snoop'] / base:8.2f}"
        )
    print(
        "targets: Program.run_in_process(policy=True) <= 1.30x and policy=False <= 1.20x plain exec"
    )

    # Where the cost goes, per API, timed interleaved with plain exec and the full run so the
    # differences come from one machine state: a run's fixed cost (namespace, recorder, the Run)
    # on a trivial program, and the instrumented program without the per-exit value summaries.
    # "floor": where the run would sit if value summaries cost nothing.
    print("breakdown (each part timed in one interleaved set per API and policy):")
    for policy in (True, False):
        for label, api in apis.items():
            parts = breakdown(api, inputs, args, policy=policy)
            base = parts["plain exec"]
            instrumented = parts["no summaries"] - base - parts["fixed"]
            print(
                f"  policy={policy}, {label}: fixed cost of a run {parts['fixed'] * 1e6:.1f} us; "
                f"policy, proxies and block instrumentation {instrumented * 1e6:.1f} us; value "
                f"summaries at block exits {(parts['full'] - parts['no summaries']) * 1e6:.1f} us "
                f"(plain exec {base * 1e6:.1f} us, full {parts['full'] * 1e6:.1f} us; floor "
                f"without summaries {parts['no summaries'] / base:.2f}x)"
            )
    if args.sweep:
        print("sweep (cars = people = N), policy=True against plain exec of the same API:")
        print(f"  {'N':>4s}" + "".join(f" {label + ' x plain':>22s}" for label in apis))
        for count in args.sweep:
            sized = {"image": build_scene(count, count), "query": inputs["query"]}
            ratios = []
            for api in apis.values():
                env = dict(api)
                exec(compile(PROGRAM, "<plain>", "exec"), env)
                entry = env["execute_command"]
                times = time_interleaved(
                    {
                        "plain": lambda sized=sized, entry=entry: entry(**sized),
                        "sandbox": lambda sized=sized, api=api: program.run_in_process(
                            namespace=api, inputs=sized, policy=True
                        ),
                    },
                    number=max(5, args.number * 576 // (count * count)),
                    repeat=args.repeat,
                )
                ratios.append(times["sandbox"] / times["plain"])
            print(f"  {count:4d}" + "".join(f" {ratio:22.2f}" for ratio in ratios))


if __name__ == "__main__":
    main()
