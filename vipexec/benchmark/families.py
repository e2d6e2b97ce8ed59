"""Query families about one synthetic image, for the grammar generator.

Each family is a function ``(rng, scene, names) -> Plan | None`` (None: this scene does not fit
the family, e.g. it lacks two distinct objects). The plan's answer comes from the scene file
(:mod:`.scene_facts`); questions whose answer would rest on a near tie (two centres a few pixels
apart, two depths within 5%) are not asked. Code styles: every family has at least two ways to
write some step (comprehension, loop, ``filter``, a direct query) and two naming styles
(:class:`~.plan.Names`). Families about several images or a clip are in :mod:`.families_video`.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from vipexec.benchmark.plan import Also, Fault, Names, Plan, report, step
from vipexec.benchmark.scene_facts import Scene, SceneObject
from vipexec.modules.synthetic.world import COLORS, SHAPES

Family = Callable[[random.Random, Scene, Names], "Plan | None"]
MIN_GAP = 6.0
"""pixels between two centres for a left/right or above/below question"""
MIN_DEPTH_RATIO = 1.05
"""how much farther one object must be for a nearer/farther question"""


def yes_no(value: bool) -> str:
    return "yes" if value else "no"


def with_article(word: str) -> str:
    """``word`` with its indefinite article ("an orange", "a red")."""
    return f"{'an' if word[0] in 'aeiou' else 'a'} {word}"


def other(rng: random.Random, values: tuple[str, ...], *avoid: str) -> str:
    return rng.choice([v for v in values if v not in avoid])


def pick_combo(rng: random.Random, scene: Scene, present: float = 0.7) -> tuple[str, str]:
    """A (colour, shape) pair, present in the scene with probability ``present``."""
    combos = scene.combos()
    if combos and rng.random() < present:
        return rng.choice(sorted(combos))
    while True:
        combo = (rng.choice(COLORS), rng.choice(SHAPES))
        if combo not in combos:
            return combo


def open_image(names: Names, found: str, phrase: str) -> str:
    return f'{names.patch} = ImagePatch(image)\n{found} = {names.patch}.find("{phrase}")'


# --- counting -----------------------------------------------------------------------------------


def count_with_attribute(rng: random.Random, scene: Scene, names: Names) -> Plan:
    color, shape = pick_combo(rng, scene)
    found, kept = names.boxes(f"{shape}_patches"), names.boxes(f"{color}_{shape}s")
    count = names.value("count")
    check = f'p.verify_property("{shape}", "{color}")'
    wrong = other(rng, COLORS, color)
    steps = (
        step(
            f"find the {shape}s",
            open_image(names, found, shape),
            Fault("generic_noun", f'find("{shape}")', 'find("object")'),
        ),
        step(
            f"keep the {color} ones",
            f"{kept} = [p for p in {found} if {check}]",
            Also(f"{kept} = []\nfor p in {found}:\n    if {check}:\n        {kept}.append(p)"),
            Also(f"{kept} = list(filter(lambda p: {check}, {found}))"),
            Fault("attribute_word", f'"{color}")', f'"{wrong}")'),
            Fault("negation", f"if {check}", f"if not {check}"),
        ),
        step(
            "count them and report the number",
            f"{count} = len({kept})\n{report(count)}",
            Fault("wrong_variable", f"len({kept})", f"len({found})"),
            Fault("off_by_one", f"len({kept})", f"len({kept}) + 1"),
        ),
    )
    query = f"How many {color} {shape}s are there?"
    return Plan("count_attribute", names.style, query, scene.count(color, shape), steps)


def count_shape(rng: random.Random, scene: Scene, names: Names) -> Plan:
    shape = rng.choice(SHAPES)
    found, count = names.boxes(f"{shape}_patches"), names.value("count")
    question = f"How many {shape}s are there?"
    steps = (
        step(
            f"find the {shape}s",
            open_image(names, found, shape),
            Fault("attribute_word", f'find("{shape}")', f'find("{other(rng, SHAPES, shape)}")'),
        ),
        step(
            "count them",
            f"{count} = len({found})",
            Also(f'{count} = int({names.patch}.simple_query("{question}"))'),
            Fault("wrong_api_method", f"len({found})", f'int({names.patch}.exists("{shape}"))'),
            Fault("off_by_one", f"len({found})", f"len({found}) - 1"),
        ),
        step("report the count", report(count)),
    )
    return Plan("count_shape", names.style, question, scene.count(shape=shape), steps)


def count_color(rng: random.Random, scene: Scene, names: Names) -> Plan:
    colors = sorted({o.color for o in scene.objects}) or list(COLORS)
    color = rng.choice(colors) if rng.random() < 0.8 else rng.choice(COLORS)
    found, count = names.boxes(f"{color}_objects"), names.value(f"num_{color}")
    steps = (
        step(
            f"find the {color} objects",
            open_image(names, found, f"{color} object"),
            Fault("generic_noun", f'find("{color} object")', 'find("object")'),
            Fault("attribute_word", f'"{color} object"', f'"{other(rng, COLORS, color)} object"'),
        ),
        step(
            "count them and report the number",
            f"{count} = len({found})\n{report(count)}",
            Also(f"{count} = 0\nfor p in {found}:\n    {count} += 1\n{report(count)}"),
            Fault("off_by_one", f"len({found})", f"len({found}) + 1"),
        ),
    )
    query = f"How many {color} objects are there?"
    return Plan("count_color", names.style, query, scene.count(color=color), steps)


# --- existence and quantifiers ------------------------------------------------------------------


def exists(rng: random.Random, scene: Scene, names: Names) -> Plan:
    color, shape = pick_combo(rng, scene, present=0.5)
    found, flag = names.boxes(f"{color}_{shape}s"), names.value("found")
    answer = names.value("answer")
    steps = (
        step(
            f"look for {color} {shape}s",
            open_image(names, found, f"{color} {shape}"),
            Fault("generic_noun", f'find("{color} {shape}")', f'find("{shape}")'),
        ),
        step(
            "check whether there is at least one",
            f"{flag} = len({found}) > 0",
            Also(f'{flag} = {names.patch}.exists("{color} {shape}")'),
            Fault("off_by_one", f"len({found}) > 0", f"len({found}) > 1"),
            Fault("wrong_operator", f"len({found}) > 0", f"len({found}) < 0"),
        ),
        step(
            "answer yes or no",
            f"{answer} = bool_to_yesno({flag})\n{report(answer)}",
            Also(f'{answer} = "yes" if {flag} else "no"\n{report(answer)}'),
            Fault("negation", f"bool_to_yesno({flag})", f"bool_to_yesno(not {flag})"),
        ),
    )
    query = f"Is there {with_article(color)} {shape}?"
    return Plan("exists", names.style, query, yes_no(scene.count(color, shape) > 0), steps)


def _exists_pair(rng: random.Random, scene: Scene, names: Names, op: str) -> Plan | None:
    first = pick_combo(rng, scene)
    second = next(
        (c for c in (pick_combo(rng, scene) for _ in range(20)) if c[0] != first[0]), None
    )
    if second is None or second[1] == first[1]:
        return None
    (c1, s1), (c2, s2) = first, second
    a, b = names.boxes(f"{c1}_{s1}s"), names.boxes(f"{c2}_{s2}s")
    flag, answer = names.value("found"), names.value("answer")
    swapped = "or" if op == "and" else "and"
    steps = (
        step(f"look for {c1} {s1}s", open_image(names, a, f"{c1} {s1}")),
        step(
            f"look for {c2} {s2}s",
            f'{b} = {names.patch}.find("{c2} {s2}")',
            Fault("attribute_word", f'"{c2} {s2}"', f'"{other(rng, COLORS, c1, c2)} {s2}"'),
        ),
        step(
            f"check whether {'both are' if op == 'and' else 'either is'} present",
            f"{flag} = len({a}) > 0 {op} len({b}) > 0",
            Also(f"{flag} = {'all' if op == 'and' else 'any'}([len({a}) > 0, len({b}) > 0])"),
            Fault("wrong_operator", f"> 0 {op} len", f"> 0 {swapped} len"),
            Fault("wrong_variable", f"len({b}) > 0", f"len({a}) > 0"),
        ),
        step(
            "answer yes or no",
            f"{answer} = bool_to_yesno({flag})\n{report(answer)}",
            Fault("negation", f"bool_to_yesno({flag})", f"bool_to_yesno(not {flag})"),
        ),
    )
    has_a, has_b = scene.count(c1, s1) > 0, scene.count(c2, s2) > 0
    value = (has_a and has_b) if op == "and" else (has_a or has_b)
    query = f"Is there {with_article(c1)} {s1} {op} {with_article(c2)} {s2}?"
    return Plan(f"exists_{op}", names.style, query, yes_no(value), steps)


def exists_and(rng: random.Random, scene: Scene, names: Names) -> Plan | None:
    return _exists_pair(rng, scene, names, "and")


def exists_or(rng: random.Random, scene: Scene, names: Names) -> Plan | None:
    return _exists_pair(rng, scene, names, "or")


def _quantified(rng: random.Random, scene: Scene, names: Names, quantifier: str) -> Plan | None:
    """ "Are all the circles red?", "Is any circle red?", "Are none of the circles red?"."""
    shapes = sorted({o.shape for o in scene.objects})
    if not shapes:
        return None
    shape = rng.choice(shapes)
    members = scene.matching(shape=shape)
    color = rng.choice([*sorted({o.color for o in members}), rng.choice(COLORS)])
    found, checks = names.boxes(f"{shape}_patches"), names.value("checks")
    holds, answer = names.value("holds"), names.value("answer")
    check = f'p.verify_property("{shape}", "{color}")'
    combine = {"all": f"all({checks})", "any": f"any({checks})", "none": f"not any({checks})"}
    swap = {"all": f"any({checks})", "any": f"all({checks})", "none": f"not all({checks})"}
    steps = (
        step(
            f"find the {shape}s",
            open_image(names, found, shape),
            Fault("generic_noun", f'find("{shape}")', 'find("object")'),
        ),
        step(
            f"check whether each one is {color}",
            f"{checks} = [{check} for p in {found}]",
            Also(f"{checks} = []\nfor p in {found}:\n    {checks}.append({check})"),
            Fault("attribute_word", f'"{color}")', f'"{other(rng, COLORS, color)}")'),
        ),
        step(
            f"combine the checks ({quantifier})",
            f"{holds} = {combine[quantifier]}",
            Fault("any_all_swap", combine[quantifier], swap[quantifier]),
        ),
        step(
            "answer yes or no",
            f"{answer} = bool_to_yesno({holds})\n{report(answer)}",
            Fault("negation", f"bool_to_yesno({holds})", f"bool_to_yesno(not {holds})"),
        ),
    )
    colored = [o.color == color for o in members]
    value = {"all": all(colored), "any": any(colored), "none": not any(colored)}[quantifier]
    query = {
        "all": f"Are all the {shape}s {color}?",
        "any": f"Is any {shape} {color}?",
        "none": f"Are none of the {shape}s {color}?",
    }[quantifier]
    return Plan(f"{quantifier}_attribute", names.style, query, yes_no(value), steps)


def all_attribute(rng: random.Random, scene: Scene, names: Names) -> Plan | None:
    return _quantified(rng, scene, names, "all")


def any_attribute(rng: random.Random, scene: Scene, names: Names) -> Plan | None:
    return _quantified(rng, scene, names, "any")


def none_attribute(rng: random.Random, scene: Scene, names: Names) -> Plan | None:
    return _quantified(rng, scene, names, "none")


# --- comparing counts ---------------------------------------------------------------------------


def more_than(rng: random.Random, scene: Scene, names: Names) -> Plan:
    colors = sorted({o.color for o in scene.objects})
    c1, c2 = rng.sample(colors if len(colors) >= 2 else list(COLORS), 2)
    a, b = names.boxes(f"{c1}_objects"), names.boxes(f"{c2}_objects")
    n1, n2, answer = names.value(f"num_{c1}"), names.value(f"num_{c2}"), names.value("answer")
    steps = (
        step(
            f"find the {c1} objects",
            open_image(names, a, f"{c1} object"),
            Fault("generic_noun", f'find("{c1} object")', 'find("object")'),
        ),
        step(f"find the {c2} objects", f'{b} = {names.patch}.find("{c2} object")'),
        step(
            "count each colour",
            f"{n1} = len({a})\n{n2} = len({b})",
            Fault("wrong_variable", f"{n2} = len({b})", f"{n2} = len({a})"),
        ),
        step(
            "compare the counts and answer",
            f"{answer} = bool_to_yesno({n1} > {n2})\n{report(answer)}",
            Also(f'{answer} = "yes" if {n1} > {n2} else "no"\n{report(answer)}'),
            Fault("wrong_operator", f"{n1} > {n2}", f"{n1} < {n2}"),
            Fault("off_by_one", f"{n1} > {n2}", f"{n1} >= {n2}"),
        ),
    )
    query = f"Are there more {c1} objects than {c2} objects?"
    return Plan("more_than", names.style, query, yes_no(scene.count(c1) > scene.count(c2)), steps)


def same_count(rng: random.Random, scene: Scene, names: Names) -> Plan:
    s1, s2 = rng.sample(SHAPES, 2)
    a, b = names.boxes(f"{s1}_patches"), names.boxes(f"{s2}_patches")
    same, answer = names.value("same"), names.value("answer")
    steps = (
        step(f"find the {s1}s", open_image(names, a, s1)),
        step(
            f"find the {s2}s",
            f'{b} = {names.patch}.find("{s2}")',
            Fault("attribute_word", f'find("{s2}")', f'find("{other(rng, SHAPES, s1, s2)}")'),
        ),
        step(
            "compare how many there are",
            f"{same} = len({a}) == len({b})",
            Also(f"{same} = len({a}) - len({b}) == 0"),
            Fault("wrong_operator", f"len({a}) == len({b})", f"len({a}) >= len({b})"),
            Fault("off_by_one", f"len({a}) == len({b})", f"len({a}) == len({b}) + 1"),
        ),
        step(
            "answer yes or no",
            f"{answer} = bool_to_yesno({same})\n{report(answer)}",
            Fault("negation", f"bool_to_yesno({same})", f"bool_to_yesno(not {same})"),
        ),
    )
    query = f"Are there as many {s1}s as {s2}s?"
    value = scene.count(shape=s1) == scene.count(shape=s2)
    return Plan("same_count", names.style, query, yes_no(value), steps)


def at_least(rng: random.Random, scene: Scene, names: Names) -> Plan:
    shapes = sorted({o.shape for o in scene.objects})
    shape = rng.choice(shapes) if shapes and rng.random() < 0.8 else rng.choice(SHAPES)
    number = rng.choice([2, 2, 3])
    word = {2: "two", 3: "three"}[number]
    found, enough = names.boxes(f"{shape}_patches"), names.value("enough")
    answer = names.value("answer")
    steps = (
        step(f"find the {shape}s", open_image(names, found, shape)),
        step(
            f"check whether there are at least {number}",
            f"{enough} = len({found}) >= {number}",
            Also(f"{enough} = len({found}) > {number - 1}"),
            Fault("off_by_one", f">= {number}", f"> {number}"),
            Fault("wrong_operator", f">= {number}", f"<= {number}"),
        ),
        step(
            "answer yes or no",
            f"{answer} = bool_to_yesno({enough})\n{report(answer)}",
            Fault("negation", f"bool_to_yesno({enough})", f"bool_to_yesno(not {enough})"),
        ),
    )
    query = f"Are there at least {word} {shape}s?"
    return Plan("at_least", names.style, query, yes_no(scene.count(shape=shape) >= number), steps)


# --- spatial relations --------------------------------------------------------------------------


def _two_unique(rng: random.Random, scene: Scene, gap: Callable[[SceneObject, SceneObject], bool]):
    unique = scene.unique(lambda o: (o.color, o.shape))
    pairs = [(a, b) for a in unique for b in unique if a is not b and gap(a, b)]
    return rng.choice(pairs) if pairs else None


def _relation(
    rng: random.Random, scene: Scene, names: Names, axis: str, words: tuple[str, str]
) -> Plan | None:
    center = "horizontal_center" if axis == "x" else "vertical_center"
    wrong_center = "vertical_center" if axis == "x" else "horizontal_center"

    def far_apart(a: SceneObject, b: SceneObject) -> bool:
        return abs(getattr(a, axis) - getattr(b, axis)) >= MIN_GAP

    pair = _two_unique(rng, scene, far_apart)
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

    pair = _two_unique(rng, scene, distinct)
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


# --- attributes ---------------------------------------------------------------------------------


def size_of(rng: random.Random, scene: Scene, names: Names) -> Plan | None:
    unique = scene.unique(lambda o: (o.color, o.shape))
    if not unique:
        return None
    target = rng.choice(unique)
    found, large = names.boxes(target.phrase.replace(" ", "_")), names.value("is_large")
    size = names.value("size")
    steps = (
        step(f"find the {target.phrase}", open_image(names, found, target.phrase) + "[0]"),
        step(
            "check whether it is large",
            f'{large} = {found}.verify_property("{target.shape}", "large")',
            Also(f'{large} = {found}.simple_query("What size is the {target.shape}?") == "large"'),
            Fault("attribute_word", '"large")', '"small")'),
        ),
        step(
            "name its size",
            f'{size} = "large" if {large} else "small"\n{report(size)}',
            Fault("negation", f"if {large}", f"if not {large}"),
        ),
    )
    query = f"What size is the {target.phrase}?"
    return Plan("size", names.style, query, target.size, steps)


def color_of(rng: random.Random, scene: Scene, names: Names) -> Plan | None:
    unique = scene.unique(lambda o: (o.size, o.shape))
    if not unique:
        return None
    target = rng.choice(unique)
    found, color = names.boxes(f"{target.size}_{target.shape}"), names.value("color")
    question = f"What color is the {target.shape}?"
    steps = (
        step(
            f"find the {target.size} {target.shape}",
            open_image(names, found, f"{target.size} {target.shape}") + "[0]",
            Fault(
                "generic_noun",
                f'find("{target.size} {target.shape}")',
                f'find("{target.size} object")',
            ),
        ),
        step(
            "ask its colour and report it",
            f'{color} = {found}.simple_query("{question}")\n{report(color)}',
            Also(
                f'{color} = {names.patch}.simple_query("What color is the {target.size} '
                f'{target.shape}?")\n{report(color)}'
            ),
            Fault(
                "wrong_api_method",
                f'simple_query("{question}")',
                f'simple_query("What size is the {target.shape}?")',
            ),
        ),
    )
    query = f"What color is the {target.size} {target.shape}?"
    return Plan("color", names.style, query, target.color, steps)


def color_choice(rng: random.Random, scene: Scene, names: Names) -> Plan | None:
    """ "Is the large circle red or blue?": verify one option, else the other."""
    unique = scene.unique(lambda o: (o.size, o.shape))
    if not unique:
        return None
    target = rng.choice(unique)
    c1, c2 = rng.sample([target.color, other(rng, COLORS, target.color)], 2)
    found, flag = names.boxes(f"{target.size}_{target.shape}"), names.value(f"is_{c1}")
    answer = names.value("answer")
    steps = (
        step(
            f"find the {target.size} {target.shape}",
            open_image(names, found, f"{target.size} {target.shape}") + "[0]",
        ),
        step(
            f"check whether it is {c1}",
            f'{flag} = {found}.verify_property("{target.shape}", "{c1}")',
            Fault("attribute_word", f'"{c1}")', f'"{c2}")'),
        ),
        step(
            "choose the answer",
            f'{answer} = "{c1}" if {flag} else "{c2}"\n{report(answer)}',
            Also(f'{answer} = "{c2}"\nif {flag}:\n    {answer} = "{c1}"\n{report(answer)}'),
            Fault("negation", f"if {flag}", f"if not {flag}"),
        ),
    )
    query = f"Is the {target.size} {target.shape} {c1} or {c2}?"
    return Plan("color_choice", names.style, query, target.color, steps)


def shape_of(rng: random.Random, scene: Scene, names: Names) -> Plan | None:
    unique = scene.unique(lambda o: o.color)
    if not unique:
        return None
    target = rng.choice(unique)
    found, shape = names.boxes(f"{target.color}_object"), names.value("shape")
    question = f"What shape is the {target.color} object?"
    steps = (
        step(
            f"find the {target.color} object",
            open_image(names, found, f"{target.color} object"),
            Fault("generic_noun", f'find("{target.color} object")', 'find("object")'),
        ),
        step(
            "ask its shape and report it",
            f'{shape} = {found}[0].simple_query("{question}")\n{report(shape)}',
            Also(
                f'if len({found}) > 0:\n    {shape} = {found}[0].simple_query("{question}")\n'
                f'else:\n    {shape} = "none"\n{report(shape)}'
            ),
            Fault(
                "wrong_api_method",
                f'simple_query("{question}")',
                f'simple_query("What color is the {target.color} object?")',
            ),
        ),
    )
    return Plan("shape", names.style, question, target.shape, steps)


def read_text(rng: random.Random, scene: Scene, names: Names) -> Plan | None:
    labelled = [o for o in scene.unique(lambda o: (o.color, o.shape)) if o.text]
    labelled = [o for o in labelled if scene.isolated(o)]
    if not labelled:
        return None
    target = rng.choice(labelled)
    found, text = names.boxes(f"{target.color}_{target.shape}s"), names.value("text")
    steps = (
        step(
            f"find the {target.phrase}",
            open_image(names, found, target.phrase),
            Fault("generic_noun", f'find("{target.phrase}")', 'find("object")'),
        ),
        step(
            "read its label and report it",
            f"if len({found}) > 0:\n"
            f'    {text} = {found}[0].simple_query("What does the text say?")\n'
            f'else:\n    {text} = "no text"\n{report(text)}',
            Also(
                f'{text} = {found}[0].simple_query("What is written on it?") if len({found}) > 0 '
                f'else "no text"\n{report(text)}'
            ),
            Fault(
                "missing_guard",
                f"if len({found}) > 0:\n    {text} =",
                f"if True:\n    {text} =",
            ),
            Fault(
                "wrong_api_method",
                '"What does the text say?"',
                f'"What color is the {target.shape}?"',
            ),
        ),
    )
    query = f"What does the label on the {target.phrase} say?"
    return Plan("read_text", names.style, query, target.text, steps)


def what_is(rng: random.Random, scene: Scene, names: Names) -> Plan | None:
    """ "What is the red object?" -> ``"large red circle"`` (the object's own description)."""
    unique = [o for o in scene.unique(lambda o: o.color) if scene.isolated(o)]
    if not unique:
        return None
    target = rng.choice(unique)
    found, answer = names.boxes(f"{target.color}_objects"), names.value("answer")
    steps = (
        step(
            f"find the {target.color} object",
            open_image(names, found, f"{target.color} object"),
            Fault(
                "attribute_word",
                f'"{target.color} object"',
                f'"{other(rng, COLORS, target.color)} object"',
            ),
        ),
        step(
            "ask what it is and report it",
            f'{answer} = {found}[0].simple_query("What is this?")\n{report(answer)}',
            Also(f'{answer} = {found}[0].simple_query("Describe the object.")\n{report(answer)}'),
            Fault("wrong_api_method", '"What is this?"', '"What color is this?"'),
        ),
    )
    query = f"What is the {target.color} object?"
    answer_text = f"{target.size} {target.color} {target.shape}"
    return Plan("what_is", names.style, query, answer_text, steps)


IMAGE_FAMILIES: dict[str, Family] = {
    "count_attribute": count_with_attribute,
    "count_shape": count_shape,
    "count_color": count_color,
    "exists": exists,
    "exists_and": exists_and,
    "exists_or": exists_or,
    "all_attribute": all_attribute,
    "any_attribute": any_attribute,
    "none_attribute": none_attribute,
    "more_than": more_than,
    "same_count": same_count,
    "at_least": at_least,
    "left_right": left_right,
    "above_below": above_below,
    "extreme_color": extreme_color,
    "nearer_farther": nearer,
    "depth_extreme": depth_extreme,
    "size": size_of,
    "color": color_of,
    "color_choice": color_choice,
    "shape": shape_of,
    "read_text": read_text,
    "what_is": what_is,
}
