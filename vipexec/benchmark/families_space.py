"""Query families about where things are: left/right, above/below, leftmost, nearer/farther,
nearest (one image each; see :mod:`.family_parts`)."""

from __future__ import annotations

import random

from vipexec.benchmark.family_parts import (
    MIN_DEPTH_RATIO,
    MIN_GAP,
    open_image,
    two_unique,
    yes_no,
)
from vipexec.benchmark.plan import Also, Fault, Names, Plan, report, step
from vipexec.benchmark.scene_facts import Scene, SceneObject

# --- spatial relations --------------------------------------------------------------------------


def _relation(
    rng: random.Random, scene: Scene, names: Names, axis: str, words: tuple[str, str]
) -> Plan | None:
    center = "horizontal_center" if axis == "x" else "vertical_center"
    wrong_center = "vertical_center" if axis == "x" else "horizontal_center"

    def far_apart(a: SceneObject, b: SceneObject) -> bool:
        return abs(getattr(a, axis) - getattr(b, axis)) >= MIN_GAP

    pair = two_unique(rng, scene, far_apart)
    if pair is None:
        return None
    first, second = pair
    relation = rng.choice(words)
    op = "<" if relation == words[0] else ">"
    flipped = ">" if op == "<" else "<"
    a, b = (
        names.boxes(f"{first.color}_{first.shape}"),
        names.boxes(f"{second.color}_{second.shape}"),
    )
    holds, answer = names.value(f"is_{relation}"), names.value("answer")
    steps = (
        step(
            f"find the {first.phrase}",
            open_image(names, a, first.phrase) + "[0]",
            Fault("generic_noun", f'find("{first.phrase}")', f'find("{first.shape}")'),
        ),
        step(f"find the {second.phrase}", f'{b} = {names.patch}.find("{second.phrase}")[0]'),
        step(
            "compare their positions",
            f"{holds} = {a}.{center} {op} {b}.{center}",
            Also(f"{holds} = {b}.{center} {flipped} {a}.{center}"),
            Fault("wrong_operator", f"{center} {op} {b}", f"{center} {flipped} {b}"),
            Fault("wrong_api_method", f"{a}.{center}", f"{a}.{wrong_center}"),
            Fault("wrong_variable", f"{op} {b}.{center}", f"{op} {a}.{center}"),
        ),
        step(
            "answer yes or no",
            f"{answer} = bool_to_yesno({holds})\n{report(answer)}",
            Fault("negation", f"bool_to_yesno({holds})", f"bool_to_yesno(not {holds})"),
        ),
    )
    value = getattr(first, axis) < getattr(second, axis)
    value = value if relation == words[0] else not value
    where = f"to the {relation} of" if axis == "x" else relation
    query = f"Is the {first.phrase} {where} the {second.phrase}?"
    return Plan(f"relation_{axis}", names.style, query, yes_no(value), steps)


def left_right(rng: random.Random, scene: Scene, names: Names) -> Plan | None:
    return _relation(rng, scene, names, "x", ("left", "right"))


def above_below(rng: random.Random, scene: Scene, names: Names) -> Plan | None:
    return _relation(rng, scene, names, "y", ("below", "above"))


def extreme_color(rng: random.Random, scene: Scene, names: Names) -> Plan | None:
    """ "What color is the leftmost square?" (or rightmost): sort, take the first, ask."""
    shapes = sorted({o.shape for o in scene.objects})
    if not shapes:
        return None
    shape = rng.choice(shapes)
    members = sorted(scene.matching(shape=shape), key=lambda o: o.x)
    if len(members) > 1 and members[1].x - members[0].x < MIN_GAP:
        return None
    if len(members) > 1 and members[-1].x - members[-2].x < MIN_GAP:
        return None
    side = rng.choice(["leftmost", "rightmost"])
    target = members[0] if side == "leftmost" else members[-1]
    found, chosen = names.boxes(f"{shape}_patches"), names.value("target")
    color = names.value("color")
    reverse = side == "rightmost"
    by_x = "key=lambda p: p.horizontal_center"
    sort = f"{found}.sort({by_x}{', reverse=True' if reverse else ''})"
    flipped = f"{found}.sort({by_x}{'' if reverse else ', reverse=True'})"
    question = f"What color is the {shape}?"
    steps = (
        step(f"find the {shape}s", open_image(names, found, shape)),
        step(
            "order them from left to right" if not reverse else "order them from right to left",
            sort,
            Also(f"{found} = sorted({found}, {by_x}{', reverse=True' if reverse else ''})"),
            Fault("wrong_sort_order", sort, flipped),
            Fault("wrong_api_method", "horizontal_center", "vertical_center"),
        ),
        step(
            f"take the {side} one",
            f"if len({found}) > 0:\n    {chosen} = {found}[0]\nelse:\n    {chosen} = None",
            Fault(
                "missing_guard",
                f"if len({found}) > 0:\n    {chosen} = {found}[0]\nelse:\n    {chosen} = None",
                f"{chosen} = {found}[0]",
            ),
            Fault("off_by_one", f"{chosen} = {found}[0]", f"{chosen} = {found}[1]"),
        ),
        step(
            "ask its colour and report it",
            f'{color} = {chosen}.simple_query("{question}")\n{report(color)}',
            Fault(
                "wrong_api_method",
                f'simple_query("{question}")',
                f'simple_query("What shape is the {shape}?")',
            ),
        ),
    )
    query = f"What color is the {side} {shape}?"
    return Plan("extreme_color", names.style, query, target.color, steps)


# --- depth --------------------------------------------------------------------------------------


def nearer(rng: random.Random, scene: Scene, names: Names) -> Plan | None:
    def distinct(a: SceneObject, b: SceneObject) -> bool:
        return max(a.depth, b.depth) >= MIN_DEPTH_RATIO * min(a.depth, b.depth)

    pair = two_unique(rng, scene, distinct)
    if pair is None:
        return None
    first, second = pair
    word = rng.choice(["closer", "farther"])
    a, b = (
        names.boxes(f"{first.color}_{first.shape}"),
        names.boxes(f"{second.color}_{second.shape}"),
    )
    d1, d2, answer = names.value("depth_a"), names.value("depth_b"), names.value("answer")
    op = "<" if word == "closer" else ">"
    flipped = ">" if op == "<" else "<"
    steps = (
        step(f"find the {first.phrase}", open_image(names, a, first.phrase) + "[0]"),
        step(f"find the {second.phrase}", f'{b} = {names.patch}.find("{second.phrase}")[0]'),
        step(
            "measure how far each one is",
            f"{d1} = {a}.compute_depth()\n{d2} = {b}.compute_depth()",
            Fault("wrong_variable", f"{d2} = {b}.compute_depth()", f"{d2} = {a}.compute_depth()"),
            Fault("wrong_api_method", f"{d1} = {a}.compute_depth()", f"{d1} = {a}.vertical_center"),
        ),
        step(
            f"choose the {word} one",
            f'{answer} = "{first.phrase}" if {d1} {op} {d2} else "{second.phrase}"\n'
            f"{report(answer)}",
            Also(
                f'if {d1} {op} {d2}:\n    {answer} = "{first.phrase}"\n'
                f'else:\n    {answer} = "{second.phrase}"\n{report(answer)}'
            ),
            Fault("wrong_operator", f"{d1} {op} {d2}", f"{d1} {flipped} {d2}"),
        ),
    )
    closer = first if first.depth < second.depth else second
    farther = second if closer is first else first
    query = f"Which is {word}, the {first.phrase} or the {second.phrase}?"
    return Plan(
        "nearer_farther",
        names.style,
        query,
        (closer if word == "closer" else farther).phrase,
        steps,
    )


def depth_extreme(rng: random.Random, scene: Scene, names: Names) -> Plan | None:
    """ "What color is the nearest triangle?" (or farthest)."""
    shapes = sorted({o.shape for o in scene.objects})
    if not shapes:
        return None
    shape = rng.choice(shapes)
    members = sorted(scene.matching(shape=shape), key=lambda o: o.depth)
    ratio = MIN_DEPTH_RATIO
    if len(members) > 1 and (
        members[1].depth < ratio * members[0].depth or members[-1].depth < ratio * members[-2].depth
    ):
        return None
    word = rng.choice(["nearest", "farthest"])
    target = members[0] if word == "nearest" else members[-1]
    found, chosen = names.boxes(f"{shape}_patches"), names.value("target")
    color = names.value("color")
    pick = "min" if word == "nearest" else "max"
    swapped = "max" if pick == "min" else "min"
    steps = (
        step(f"find the {shape}s", open_image(names, found, shape)),
        step(
            f"choose the {word} one",
            f"{chosen} = {pick}({found}, key=lambda p: p.compute_depth())",
            Also(
                f"{chosen} = sorted({found}, key=lambda p: p.compute_depth()"
                f"{', reverse=True' if pick == 'max' else ''})[0]"
            ),
            Fault("wrong_sort_order", f"{chosen} = {pick}(", f"{chosen} = {swapped}("),
            Fault("wrong_api_method", "p.compute_depth()", "p.horizontal_center"),
        ),
        step(
            "ask its colour and report it",
            f'{color} = {chosen}.simple_query("What color is the {shape}?")\n{report(color)}',
        ),
    )
    query = f"What color is the {word} {shape}?"
    return Plan("depth_extreme", names.style, query, target.color, steps)
