#!/usr/bin/env python3
"""Generate a deterministic text-only step dataset (the :mod:`vipexec.core.step_rows` format) for
the reward model's tests and benchmarks.

Unlike ``vipexec dataset`` (which runs and labels real programs on rendered scenes), nothing is
executed and no image is written: it is fast, has no dependencies beyond vipexec, and its
labels are known by construction. Each query is a question about a synthetic scene (coloured
shapes); each row is one candidate program for it, rendered as CoT steps in the builder's style
("In this step, we use find to ..."). Labels follow from the text, but reading them off needs
context, not keywords:

- relevance: a step that names a runtime error is false, and so is every later step (whose
  text looks normal: only an earlier step shows the failure);
- logic: a step stating a count that contradicts an earlier step, or an answer of the wrong
  format for the question, is false;
- attribute: a vision step whose cross-check by a second model reports a different value than
  the step claims is false (both numbers/colours are in the same sentence);
- steps that use no vision module are vacuously attribute-true; logic and attribute are null
  for a failing step and every step after it; a few more labels are randomly null, and a few
  are flipped (label noise).

Usage: python scripts/make_step_fixture.py OUT.jsonl [--queries 400] [--programs 8] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from dataclasses import dataclass
from pathlib import Path

from vipexec.core.step_rows import DIMENSIONS, and_label
from vipexec.modules.number_words import SMALL_NUMBER_WORDS

COLORS = ("red", "blue", "green", "yellow", "purple", "gray", "brown", "cyan")
SHAPES = ("cube", "sphere", "cylinder", "cone")
WORDS = tuple(word for word, number in SMALL_NUMBER_WORDS.items() if number < 10)
ERRORS = (
    ("count_objects", "AttributeError: 'ImagePatch' object has no attribute 'count_objects'"),
    ("find_all", "AttributeError: 'ImagePatch' object has no attribute 'find_all'"),
    ("verify_color", "NameError: name 'verify_color' is not defined"),
    ("crop_box", "TypeError: crop() missing 2 required positional arguments"),
)


@dataclass
class Step:
    text: str
    relevance: bool | None = True
    logic: bool | None = True
    attribute: bool | None = True


def number(rng: random.Random, n: int) -> str:
    # Mixing digits and words keeps a lexical shortcut from deciding equality.
    return WORDS[n] if n < len(WORDS) and rng.random() < 0.35 else str(n)


def other(rng: random.Random, value: int, low: int = 0, high: int = 7) -> int:
    return rng.choice([v for v in range(low, high + 1) if v != value])


def other_color(rng: random.Random, color: str) -> str:
    return rng.choice([c for c in COLORS if c != color])


def find_step(rng: random.Random, shape: str, k: int) -> Step:
    verb = rng.choice(
        (
            "we use find to locate every",
            "we call find to detect each",
            "find is used to look for every",
        )
    )
    return Step(
        f"In this step, {verb} {shape} in the image; it returns {number(rng, k)} patches.",
        attribute=True,
    )


def filter_step(rng: random.Random, color: str, shape: str, k: int, m: int, p_attr: float) -> Step:
    """Keep the patches of ``color``; with probability ``p_attr`` the cross-check disagrees."""
    bad = rng.random() < p_attr
    seen = other(rng, m, 0, k) if bad and k > 0 else m
    if bad and seen == m:
        seen = m + 1
    lead = rng.choice(
        (
            "we use verify_property on each",
            "we check with verify_property whether each",
            "verify_property tests every",
        )
    )
    return Step(
        f"In this step, {lead} {shape} is {color}: {number(rng, m)} of them are {color}; "
        f"a second model counts {number(rng, seen)} {color} {shape}s.",
        attribute=not bad,
    )


def query_step(rng: random.Random, shape: str, claimed: str, p_attr: float) -> Step:
    bad = rng.random() < p_attr
    seen = other_color(rng, claimed) if bad else claimed
    return Step(
        f"In this step, we use simple_query to ask the color of the {shape}; it answers "
        f"{claimed}, and a second model sees a {seen} {shape}.",
        attribute=not bad,
    )


def extra_steps(rng: random.Random, shape: str, k: int, p_attr: float) -> list[Step]:
    """Zero to two optional steps, so programs differ in length and wording."""
    pool = []
    px = rng.choice((2, 5, 10))
    pool.append(
        Step(
            f"In this step, we crop the {shape} patches to their boxes with a margin of "
            f"{px} pixels."
        )
    )
    depth = round(rng.uniform(1.0, 9.0), 1)
    bad = rng.random() < p_attr
    seen = round(depth + rng.choice((-2.5, -1.5, 1.5, 2.5)), 1) if bad else depth
    pool.append(
        Step(
            f"In this step, we use compute_depth on each {shape}; the nearest is at depth "
            f"{depth}, and a second model measures {seen}.",
            attribute=not bad,
        )
    )
    pool.append(Step(f"In this step, we sort the {number(rng, k)} patches from left to right."))
    rng.shuffle(pool)
    return pool[: rng.choice((0, 0, 1, 2))]


def count_program(rng: random.Random, q: dict, p: dict) -> list[Step]:
    color, shape, k, m = q["color"], q["shape"], q["k"], q["m"]
    steps = [
        find_step(rng, shape, k),
        *extra_steps(rng, shape, k, p["attr"]),
        filter_step(rng, color, shape, k, m, p["attr"]),
    ]
    stated = m
    logic_ok = True
    if rng.random() < p["logic"]:
        stated, logic_ok = other(rng, m), False
    steps.append(
        Step(
            f"In this step, we count the remaining patches, so the number of {color} "
            f"{shape}s is {number(rng, stated)}.",
            logic=logic_ok,
        )
    )
    answer, fmt_ok = str(stated), True
    if rng.random() < p["format"]:
        answer, fmt_ok = rng.choice(("yes", "no", color)), False
    steps.append(Step(f"In this step, we return {answer} as the final answer.", logic=fmt_ok))
    return steps


def exists_program(rng: random.Random, q: dict, p: dict) -> list[Step]:
    color, shape, k, m = q["color"], q["shape"], q["k"], q["m"]
    steps = [
        find_step(rng, shape, k),
        *extra_steps(rng, shape, k, p["attr"]),
        filter_step(rng, color, shape, k, m, p["attr"]),
    ]
    truth = m > 0
    stated, logic_ok = truth, True
    if rng.random() < p["logic"]:
        stated, logic_ok = not truth, False
    verdict = "at least one" if stated else "no"
    steps.append(
        Step(
            f"In this step, we check the list, so there is {verdict} {color} {shape} in the image.",
            logic=logic_ok,
        )
    )
    answer, fmt_ok = ("yes" if stated else "no"), True
    if rng.random() < p["format"]:
        answer, fmt_ok = rng.choice((str(m), color, "maybe")), False
    steps.append(Step(f"In this step, we return {answer} as the final answer.", logic=fmt_ok))
    return steps


def color_program(rng: random.Random, q: dict, p: dict) -> list[Step]:
    shape, size, color = q["shape"], q["size"], q["color"]
    steps = [find_step(rng, shape, q["k"]), *extra_steps(rng, shape, q["k"], p["attr"])]
    steps.append(
        Step(f"In this step, we sort the {shape} patches by area and keep the {size} one.")
    )
    steps.append(query_step(rng, shape, color, p["attr"]))
    stated, logic_ok = color, True
    if rng.random() < p["logic"]:
        stated, logic_ok = other_color(rng, color), False
    answer, fmt_ok = stated, True
    if rng.random() < p["format"]:
        answer, fmt_ok = rng.choice(("yes", "no", str(q["k"]))), False
    steps.append(
        Step(
            f"In this step, we return {answer} as the color of the {size} {shape}.",
            logic=logic_ok and fmt_ok,
        )
    )
    return steps


PROGRAMS = {"count": count_program, "exists": exists_program, "color": color_program}


def make_query(rng: random.Random, index: int) -> dict:
    kind = rng.choice(tuple(PROGRAMS))
    color, shape = rng.choice(COLORS), rng.choice(SHAPES)
    k = rng.randint(1, 6)
    m = rng.randint(0, k)
    q = {
        "id": f"q{index:04d}",
        "kind": kind,
        "color": color,
        "shape": shape,
        "k": k,
        "m": m,
        "size": rng.choice(("small", "large")),
    }
    q["prompt"] = {
        "count": f"How many {color} {shape}s are there?",
        "exists": f"Is there a {color} {shape} in the image?",
        "color": f"What color is the {q['size']} {shape}?",
    }[kind] + f" (scene {index})"
    return q


def inject_error(rng: random.Random, steps: list[Step]) -> None:
    at = rng.randrange(len(steps))
    method, message = rng.choice(ERRORS)
    steps[at] = Step(
        f"In this step, we call {method} on the patches, which raises {message}.",
        relevance=False,
        logic=None,
        attribute=None,
    )
    for later in steps[at + 1 :]:
        later.relevance, later.logic, later.attribute = False, None, None


def make_row(rng: random.Random, q: dict, program: int, split: str, p: dict) -> dict:
    steps = PROGRAMS[q["kind"]](rng, q, p)
    if rng.random() < p["error"]:
        inject_error(rng, steps)
    labels: dict[str, list[bool | None]] = {d: [] for d in DIMENSIONS}
    for step in steps:
        for dim in labels:
            value = getattr(step, dim)
            if value is not None and rng.random() < p["null"]:
                value = None
            if value is not None and rng.random() < p["noise"]:
                value = not value
            labels[dim].append(value)
    anded = [and_label([labels[d][i] for d in DIMENSIONS]) for i in range(len(steps))]
    pid = f"{q['id']}-p{program}"
    return {
        "prompt": q["prompt"],
        "completions": [s.text for s in steps],
        "labels": anded,
        **labels,
        "images": [],
        "meta": {
            "program_id": pid,
            "block_ids": [f"{pid}-b{i}" for i in range(len(steps))],
            "source": "synthetic-fixture",
            "split": split,
            "query_id": q["id"],
        },
    }


def generate(
    *,
    queries: int = 400,
    programs: int = 8,
    seed: int = 0,
    val_share: float = 0.15,
    test_share: float = 0.15,
) -> list[dict]:
    """Rows of the fixture; the same arguments always give the same rows."""
    rng = random.Random(seed)
    p = {"error": 0.2, "logic": 0.25, "format": 0.1, "attr": 0.25, "null": 0.04, "noise": 0.03}
    rows = []
    for index in range(queries):
        q = make_query(rng, index)
        u = rng.random()
        split = "test" if u < test_share else ("val" if u < test_share + val_share else "train")
        rows += [make_row(rng, q, j, split, p) for j in range(programs)]
    return rows


def write(rows: list[dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="output .jsonl file")
    parser.add_argument("--queries", type=int, default=400, help="distinct queries")
    parser.add_argument("--programs", type=int, default=8, help="candidate programs per query")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.queries < 1 or args.programs < 1:
        parser.error("--queries and --programs must be >= 1")
    rows = generate(queries=args.queries, programs=args.programs, seed=args.seed)
    write(rows, args.out)
    print(f"wrote {len(rows)} rows for {args.queries} queries to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
