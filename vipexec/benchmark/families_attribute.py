"""Query families about one object's attributes: size, colour, shape, its label, what it is
(one image each; see :mod:`.family_parts`)."""

from __future__ import annotations

import random

from vipexec.benchmark.family_parts import (
    open_image,
    other,
)
from vipexec.benchmark.plan import Also, Fault, Names, Plan, report, step
from vipexec.benchmark.scene_facts import Scene
from vipexec.modules.synthetic.world import COLORS

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
