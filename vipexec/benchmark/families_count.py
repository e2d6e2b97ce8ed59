"""Query families that count: how many, is there, all/any/none, more than, as many as, at
least (one image each; see :mod:`.family_parts`)."""

from __future__ import annotations

import random

from vipexec.benchmark.family_parts import (
    open_image,
    other,
    pick_combo,
    with_article,
    yes_no,
)
from vipexec.benchmark.plan import Also, Fault, Names, Plan, report, step
from vipexec.benchmark.scene_facts import Scene
from vipexec.modules.synthetic.world import COLORS, SHAPES

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
