"""Program templates for the label-quality benchmark: query families with a correct program
each and the faults that can be injected into it.

Every template turns a scene's ground truth into an :class:`Instance`: a query about that
scene, the correct program (ViperGPT style, ``# Step N:`` blocks) and a list of
:class:`Fault`\\ s. A fault replaces one exact piece of text of one step with another, and says
which dimension it breaks:

- ``logic`` faults: ``operator`` (and/or, </>, >=/<=), ``negation`` (a ``not`` added),
  ``attribute_word`` (the wrong colour, size or shape asked of a model), ``off_by_one``
  (``len(x) + 1``, ``> 1`` for ``> 0``, ``>`` for ``>=``, a loop over ``range(len(x) - 1)``),
  ``wrong_variable`` (an existing but wrong variable read), ``wrong_output`` (an answer outside
  the options);
- ``relevance`` faults make the program fail: ``undefined_name`` (a misspelt variable),
  ``index`` (``[1]`` for ``[0]`` on a list of one), ``bad_method`` (a method the API lacks),
  ``syntax`` (an unbalanced parenthesis).

Attribute errors are not injected in code: the benchmark runs correct programs on the noisy
synthetic backend.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from vipexec.modules.synthetic import world

__all__ = ["TEMPLATES", "Fault", "Instance", "make_instances"]

LOGIC_FAULTS = (
    "operator",
    "negation",
    "attribute_word",
    "off_by_one",
    "wrong_variable",
    "wrong_output",
)
RELEVANCE_FAULTS = ("undefined_name", "index", "bad_method", "syntax")


@dataclass(frozen=True)
class Fault:
    kind: str
    step: int
    """the ``# Step N`` of the block that holds the fault"""
    old: str
    new: str
    description: str = ""

    @property
    def dimension(self) -> str:
        return "logic" if self.kind in LOGIC_FAULTS else "relevance"

    def apply(self, source: str) -> str:
        if source.count(self.old) != 1:
            raise ValueError(f"fault {self.kind}: {self.old!r} is not unique in the program")
        return source.replace(self.old, self.new)


@dataclass
class Instance:
    template: str
    query: str
    source: str
    faults: list[Fault] = field(default_factory=list)
    answer: Any = None
    """the correct answer on the scene"""


Template = Callable[[random.Random, dict[str, Any]], "Instance | None"]


def _combos(truth: dict[str, Any]) -> Counter:
    return Counter((o["color"], o["shape"]) for o in truth["objects"])


def _absent_combo(rng: random.Random, present: Counter) -> tuple[str, str]:
    while True:
        combo = (rng.choice(world.COLORS), rng.choice(world.SHAPES))
        if combo not in present:
            return combo


def _pick_combo(rng: random.Random, truth: dict[str, Any], present_prob: float = 0.7):
    present = _combos(truth)
    if present and rng.random() < present_prob:
        return rng.choice(sorted(present))
    return _absent_combo(rng, present)


def _other(rng: random.Random, values: tuple[str, ...], *avoid: str) -> str:
    return rng.choice([v for v in values if v not in avoid])


def _syntax(rng: random.Random, source: str, steps: list[int]) -> Fault:
    step = rng.choice(steps)
    lines = source.splitlines()
    marker = next(i for i, line in enumerate(lines) if line.strip().startswith(f"# Step {step}:"))
    line = lines[marker + 1]
    return Fault("syntax", step, line + "\n", line.rstrip() + ")\n", "unbalanced parenthesis")


# --- templates ----------------------------------------------------------------------------------


def count_template(rng: random.Random, truth: dict[str, Any]) -> Instance:
    if rng.random() < 0.3:
        return _count_tally(rng, truth)
    color, shape = _pick_combo(rng, truth)
    plural = f"{shape}s"
    found, kept = f"{shape}_patches", f"{color}_{shape}s"
    by_index = rng.random() < 0.4
    if by_index:
        loop = (
            f"    for i in range(len({found})):\n"
            f"        # Step 3: check the colour of each {shape}\n"
            f"        patch = {found}[i]\n"
        )
    else:
        loop = f"    for patch in {found}:\n        # Step 3: check the colour of each {shape}\n"
    source = (
        "def execute_command(image):\n"
        f"    # Step 1: find the {plural}\n"
        "    image_patch = ImagePatch(image)\n"
        f'    {found} = image_patch.find("{shape}")\n'
        f"    # Step 2: keep the {color} ones\n"
        f"    {kept} = []\n"
        f"{loop}"
        f'        if patch.verify_property("{shape}", "{color}"):\n'
        f"            {kept}.append(patch)\n"
        "    # Step 4: count them\n"
        f"    count = len({kept})\n"
        "    return count\n"
    )
    wrong = _other(rng, world.COLORS, color)
    step_sign = rng.choice(["+ 1", "- 1"])
    faults = [
        Fault("attribute_word", 3, f'"{shape}", "{color}")', f'"{shape}", "{wrong}")'),
        Fault("wrong_variable", 4, f"count = len({kept})", f"count = len({found})"),
        Fault("off_by_one", 4, f"count = len({kept})", f"count = len({kept}) {step_sign}"),
        Fault("undefined_name", 4, f"count = len({kept})", f"count = len({color}_{shape})"),
        _syntax(rng, source, [1, 2, 4]),
    ]
    if by_index:
        faults.append(Fault("off_by_one", 2, f"range(len({found}))", f"range(len({found}) - 1)"))
    answer = _combos(truth)[(color, shape)]
    return Instance("count", f"How many {color} {plural} are there?", source, faults, answer)


def _count_tally(rng: random.Random, truth: dict[str, Any]) -> Instance:
    """The count style that keeps a running tally instead of a list."""
    color, shape = _pick_combo(rng, truth)
    found = f"{shape}_patches"
    source = (
        "def execute_command(image):\n"
        f"    # Step 1: find the {shape}s\n"
        "    image_patch = ImagePatch(image)\n"
        f'    {found} = image_patch.find("{shape}")\n'
        f"    # Step 2: count the {color} ones\n"
        f"    num_{color} = 0\n"
        f"    for patch in {found}:\n"
        f"        # Step 3: check the colour of each {shape}\n"
        f'        if patch.verify_property("{shape}", "{color}"):\n'
        f"            num_{color} += 1\n"
        "    # Step 4: report the count\n"
        f"    return num_{color}\n"
    )
    wrong = _other(rng, world.COLORS, color)
    faults = [
        Fault("attribute_word", 3, f'"{shape}", "{color}")', f'"{shape}", "{wrong}")'),
        Fault("off_by_one", 2, f"num_{color} = 0", f"num_{color} = 1"),
        Fault("off_by_one", 3, f"num_{color} += 1", f"num_{color} += 2"),
        Fault("undefined_name", 4, f"return num_{color}", f"return num_{color}s"),
        _syntax(rng, source, [1, 2, 4]),
    ]
    answer = _combos(truth)[(color, shape)]
    return Instance("count", f"How many {color} {shape}s are there?", source, faults, answer)


def _two_combos(rng: random.Random, truth: dict[str, Any]):
    first = _pick_combo(rng, truth)
    for _ in range(20):
        second = _pick_combo(rng, truth)
        if second[0] != first[0] and second[1] != first[1]:
            return first, second
    return None


def _exists_pair(rng: random.Random, truth: dict[str, Any], op: str) -> Instance | None:
    pair = _two_combos(rng, truth)
    if pair is None:
        return None
    (c1, s1), (c2, s2) = pair
    a, b = f"{c1}_{s1}s", f"{c2}_{s2}s"
    if rng.random() < 0.35:
        return _exists_pair_merged(rng, truth, op, (c1, s1), (c2, s2))
    word = "both" if op == "and" else "either"
    source = (
        "def execute_command(image):\n"
        f"    # Step 1: look for {c1} {s1}s\n"
        "    image_patch = ImagePatch(image)\n"
        f'    {a} = image_patch.find("{c1} {s1}")\n'
        f"    # Step 2: look for {c2} {s2}s\n"
        f'    {b} = image_patch.find("{c2} {s2}")\n'
        f"    # Step 3: check whether {word} are present\n"
        f"    found = len({a}) > 0 {op} len({b}) > 0\n"
        "    # Step 4: answer yes or no\n"
        "    answer = bool_to_yesno(found)\n"
        "    return answer\n"
    )
    other_op = "or" if op == "and" else "and"
    wrong = _other(rng, world.COLORS, c1, c2)
    faults = [
        Fault("operator", 3, f"> 0 {op} len", f"> 0 {other_op} len"),
        Fault("negation", 4, "bool_to_yesno(found)", "bool_to_yesno(not found)"),
        Fault("off_by_one", 3, f"len({a}) > 0", f"len({a}) > 1"),
        Fault("wrong_variable", 3, f"len({b}) > 0", f"len({a}) > 0"),
        Fault("attribute_word", 2, f'find("{c2} {s2}")', f'find("{wrong} {s2}")'),
        Fault("undefined_name", 4, "bool_to_yesno(found)", "bool_to_yesno(fonud)"),
        _syntax(rng, source, [1, 2, 3, 4]),
    ]
    present = _combos(truth)
    has_a, has_b = present[(c1, s1)] > 0, present[(c2, s2)] > 0
    truth_value = (has_a and has_b) if op == "and" else (has_a or has_b)
    query = (
        f"Is there a {c1} {s1} and a {c2} {s2}?"
        if op == "and"
        else f"Is there a {c1} {s1} or a {c2} {s2}?"
    )
    return Instance(f"exists_{op}", query, source, faults, "yes" if truth_value else "no")


def _exists_pair_merged(rng, truth, op, first, second) -> Instance:
    """The exists style that combines and answers in one step."""
    (c1, s1), (c2, s2) = first, second
    a, b = f"{c1}_{s1}_list", f"{c2}_{s2}_list"
    source = (
        "def execute_command(image):\n"
        f"    # Step 1: look for {c1} {s1}s\n"
        "    image_patch = ImagePatch(image)\n"
        f'    {a} = image_patch.find("{c1} {s1}")\n'
        f"    # Step 2: look for {c2} {s2}s\n"
        f'    {b} = image_patch.find("{c2} {s2}")\n'
        "    # Step 3: answer\n"
        f"    return bool_to_yesno(len({a}) >= 1 {op} len({b}) >= 1)\n"
    )
    other_op = "or" if op == "and" else "and"
    wrong = _other(rng, world.COLORS, c1, c2)
    faults = [
        Fault("operator", 3, f">= 1 {op} len", f">= 1 {other_op} len"),
        Fault("negation", 3, "bool_to_yesno(len", "bool_to_yesno(not len"),
        Fault("off_by_one", 3, f"len({b}) >= 1", f"len({b}) >= 2"),
        Fault("wrong_variable", 3, f"len({b}) >= 1", f"len({a}) >= 1"),
        Fault("attribute_word", 1, f'find("{c1} {s1}")', f'find("{wrong} {s1}")'),
        Fault("undefined_name", 3, f"(len({a}) >= 1", f"(len({c1}_{s1}) >= 1"),
        _syntax(rng, source, [1, 2, 3]),
    ]
    present = _combos(truth)
    has_a, has_b = present[(c1, s1)] > 0, present[(c2, s2)] > 0
    value = (has_a and has_b) if op == "and" else (has_a or has_b)
    joined = "and" if op == "and" else "or"
    query = f"Is there a {c1} {s1} {joined} a {c2} {s2}?"
    return Instance(f"exists_{op}", query, source, faults, "yes" if value else "no")


def and_template(rng: random.Random, truth: dict[str, Any]) -> Instance | None:
    return _exists_pair(rng, truth, "and")


def or_template(rng: random.Random, truth: dict[str, Any]) -> Instance | None:
    return _exists_pair(rng, truth, "or")


def more_template(rng: random.Random, truth: dict[str, Any]) -> Instance | None:
    colors = Counter(o["color"] for o in truth["objects"])
    pool = sorted(colors) if len(colors) >= 2 else list(world.COLORS)
    c1, c2 = rng.sample(pool, 2)
    if rng.random() < 0.35:
        return _more_by_query(rng, colors, c1, c2)
    a, b = f"{c1}_objects", f"{c2}_objects"
    source = (
        "def execute_command(image):\n"
        f"    # Step 1: find the {c1} objects\n"
        "    image_patch = ImagePatch(image)\n"
        f'    {a} = image_patch.find("{c1} object")\n'
        f"    # Step 2: find the {c2} objects\n"
        f'    {b} = image_patch.find("{c2} object")\n'
        "    # Step 3: count each colour\n"
        f"    num_{c1} = len({a})\n"
        f"    num_{c2} = len({b})\n"
        "    # Step 4: compare the counts\n"
        f"    answer = bool_to_yesno(num_{c1} > num_{c2})\n"
        "    return answer\n"
    )
    wrong = _other(rng, world.COLORS, c1, c2)
    faults = [
        Fault("operator", 4, f"num_{c1} > num_{c2}", f"num_{c1} < num_{c2}"),
        Fault("off_by_one", 4, f"num_{c1} > num_{c2}", f"num_{c1} >= num_{c2}"),
        Fault("wrong_variable", 3, f"num_{c2} = len({b})", f"num_{c2} = len({a})"),
        Fault("wrong_variable", 4, f"num_{c1} > num_{c2}", f"num_{c2} > num_{c1}"),
        Fault("attribute_word", 1, f'find("{c1} object")', f'find("{wrong} object")'),
        Fault("undefined_name", 3, f"num_{c1} = len({a})", f"num_{c1} = len({c1}_object)"),
        _syntax(rng, source, [1, 2, 3, 4]),
    ]
    answer = "yes" if colors[c1] > colors[c2] else "no"
    return Instance(
        "more", f"Are there more {c1} objects than {c2} objects?", source, faults, answer
    )


def _more_by_query(rng: random.Random, colors: Counter, c1: str, c2: str) -> Instance:
    """The comparison style that asks the VQA model for each count."""
    source = (
        "def execute_command(image):\n"
        f"    # Step 1: count the {c1} objects\n"
        "    image_patch = ImagePatch(image)\n"
        f'    {c1}_count = int(image_patch.simple_query("How many {c1} objects are there?"))\n'
        f"    # Step 2: count the {c2} objects\n"
        f'    {c2}_count = int(image_patch.simple_query("How many {c2} objects are there?"))\n'
        "    # Step 3: compare them\n"
        f'    answer = "yes" if {c1}_count > {c2}_count else "no"\n'
        "    return answer\n"
    )
    wrong = _other(rng, world.COLORS, c1, c2)
    faults = [
        Fault("operator", 3, f"{c1}_count > {c2}_count", f"{c1}_count < {c2}_count"),
        Fault("off_by_one", 3, f"{c1}_count > {c2}_count", f"{c1}_count >= {c2}_count"),
        Fault("wrong_variable", 3, f"{c1}_count > {c2}_count", f"{c2}_count > {c1}_count"),
        Fault("attribute_word", 2, f"How many {c2} objects", f"How many {wrong} objects"),
        Fault("wrong_output", 3, 'else "no"', 'else "none"'),
        _syntax(rng, source, [1, 2, 3]),
    ]
    answer = "yes" if colors[c1] > colors[c2] else "no"
    return Instance(
        "more", f"Are there more {c1} objects than {c2} objects?", source, faults, answer
    )


def at_least_template(rng: random.Random, truth: dict[str, Any]) -> Instance:
    shapes = Counter(o["shape"] for o in truth["objects"])
    shape = (
        rng.choice(sorted(shapes)) if shapes and rng.random() < 0.8 else rng.choice(world.SHAPES)
    )
    count = rng.choice([2, 2, 3])
    words = {1: "one", 2: "two", 3: "three"}
    found = f"{shape}_patches"
    source = (
        "def execute_command(image):\n"
        f"    # Step 1: find the {shape}s\n"
        "    image_patch = ImagePatch(image)\n"
        f'    {found} = image_patch.find("{shape}")\n'
        f"    # Step 2: check whether there are at least {count}\n"
        f"    enough = len({found}) >= {count}\n"
        "    # Step 3: answer yes or no\n"
        "    return bool_to_yesno(enough)\n"
    )
    wrong = _other(rng, world.SHAPES, shape)
    faults = [
        Fault("off_by_one", 2, f">= {count}", f"> {count}"),
        Fault("operator", 2, f">= {count}", f"<= {count}"),
        Fault("negation", 3, "bool_to_yesno(enough)", "bool_to_yesno(not enough)"),
        Fault("attribute_word", 1, f'find("{shape}")', f'find("{wrong}")'),
        Fault("undefined_name", 2, f"len({found}) >=", f"len({shape}s) >="),
        _syntax(rng, source, [1, 2, 3]),
    ]
    answer = "yes" if shapes[shape] >= count else "no"
    query = f"Are there at least {words[count]} {shape}s?"
    return Instance("at_least", query, source, faults, answer)


def _unique_combos(truth: dict[str, Any]) -> list[tuple[str, str]]:
    counts = _combos(truth)
    return sorted(c for c, n in counts.items() if n == 1)


def left_template(rng: random.Random, truth: dict[str, Any]) -> Instance | None:
    unique = _unique_combos(truth)
    if len(unique) < 2:
        return None
    (c1, s1), (c2, s2) = rng.sample(unique, 2)
    relation = rng.choice(["left", "right"])
    op = "<" if relation == "left" else ">"
    a, b = f"{c1}_{s1}", f"{c2}_{s2}"
    if a == b:
        return None
    source = (
        "def execute_command(image):\n"
        f"    # Step 1: find the {c1} {s1}\n"
        "    image_patch = ImagePatch(image)\n"
        f'    {a} = image_patch.find("{c1} {s1}")[0]\n'
        f"    # Step 2: find the {c2} {s2}\n"
        f'    {b} = image_patch.find("{c2} {s2}")[0]\n'
        "    # Step 3: compare their horizontal positions\n"
        f"    is_{relation} = {a}.horizontal_center {op} {b}.horizontal_center\n"
        "    # Step 4: answer yes or no\n"
        f"    return bool_to_yesno(is_{relation})\n"
    )
    flipped = ">" if op == "<" else "<"
    wrong = _other(rng, world.COLORS, c1, c2)
    faults = [
        Fault("operator", 3, f"horizontal_center {op} {b}", f"horizontal_center {flipped} {b}"),
        Fault("negation", 4, f"bool_to_yesno(is_{relation})", f"bool_to_yesno(not is_{relation})"),
        Fault("wrong_variable", 3, f"{op} {b}.horizontal_center", f"{op} {a}.horizontal_center"),
        Fault("index", 1, f'find("{c1} {s1}")[0]', f'find("{c1} {s1}")[1]'),
        Fault("attribute_word", 2, f'find("{c2} {s2}")', f'find("{wrong} {s2}")'),
        Fault("bad_method", 2, f'patch.find("{c2} {s2}")', f'patch.find_all("{c2} {s2}")'),
        _syntax(rng, source, [1, 2, 3, 4]),
    ]
    objects = {(o["color"], o["shape"]): o for o in truth["objects"]}
    x1 = sum(objects[(c1, s1)]["box"][0::2]) / 2
    x2 = sum(objects[(c2, s2)]["box"][0::2]) / 2
    holds = x1 < x2 if relation == "left" else x1 > x2
    query = f"Is the {c1} {s1} to the {relation} of the {c2} {s2}?"
    return Instance("relation", query, source, faults, "yes" if holds else "no")


def options_template(rng: random.Random, truth: dict[str, Any]) -> Instance | None:
    counts = Counter((o["size"], o["shape"]) for o in truth["objects"])
    unique = sorted(c for c, n in counts.items() if n == 1)
    if not unique:
        return None
    size, shape = rng.choice(unique)
    obj = next(o for o in truth["objects"] if (o["size"], o["shape"]) == (size, shape))
    other = _other(rng, world.COLORS, obj["color"])
    c1, c2 = rng.sample([obj["color"], other], 2)
    found = f"{shape}_patches"
    source = (
        "def execute_command(image):\n"
        f"    # Step 1: find the {size} {shape}\n"
        "    image_patch = ImagePatch(image)\n"
        f'    {found} = image_patch.find("{size} {shape}")\n'
        "    # Step 2: take the first one\n"
        f"    target = {found}[0]\n"
        f"    # Step 3: check whether it is {c1}\n"
        f'    is_{c1} = target.verify_property("{shape}", "{c1}")\n'
        "    # Step 4: choose the answer\n"
        f"    if is_{c1}:\n"
        f'        answer = "{c1}"\n'
        "    else:\n"
        f'        answer = "{c2}"\n'
        "    return answer\n"
    )
    other_size = "small" if size == "large" else "large"
    wrong = _other(rng, world.COLORS, c1, c2)
    faults = [
        Fault("index", 2, f"{found}[0]", f"{found}[1]"),
        Fault("attribute_word", 1, f'find("{size} {shape}")', f'find("{other_size} {shape}")'),
        Fault("attribute_word", 3, f'"{shape}", "{c1}")', f'"{shape}", "{wrong}")'),
        Fault("bad_method", 3, "target.verify_property(", "target.verify_colour("),
        Fault("wrong_output", 4, f'answer = "{c2}"', 'answer = "no"'),
        _syntax(rng, source, [1, 2, 3]),
    ]
    query = f"Is the {size} {shape} {c1} or {c2}?"
    return Instance("options", query, source, faults, obj["color"])


TEMPLATES: dict[str, Template] = {
    "count": count_template,
    "exists_and": and_template,
    "exists_or": or_template,
    "more": more_template,
    "at_least": at_least_template,
    "relation": left_template,
    "options": options_template,
}


def make_instances(
    truth: dict[str, Any], rng: random.Random, templates: list[str] | None = None
) -> list[Instance]:
    """One instance per template that fits the scene."""
    out = []
    for name in templates or list(TEMPLATES):
        instance = TEMPLATES[name](rng, truth)
        if instance is not None:
            for fault in instance.faults:
                fault.apply(instance.source)  # every fault must apply
            out.append(instance)
    return out
