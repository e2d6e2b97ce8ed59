"""Building blocks of the query families: answer words, names, and picking what to ask about.

A family is a function ``(rng, scene, names) -> Plan | None`` (None: the scene does not fit
it, e.g. it lacks two distinct objects). Its plan's answer comes from the scene file
(:mod:`.scene_facts`); questions whose answer would rest on a near tie (two centres a few pixels
apart, two depths within 5%) are not asked.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from vipexec.benchmark.plan import Names, Plan
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


def two_unique(
    rng: random.Random, scene: Scene, apart: Callable[[SceneObject, SceneObject], bool]
) -> tuple[SceneObject, SceneObject] | None:
    """Two objects, each the only one of its colour and shape, for which ``apart`` holds."""
    unique = scene.unique(lambda o: (o.color, o.shape))
    pairs = [(a, b) for a in unique for b in unique if a is not b and apart(a, b)]
    return rng.choice(pairs) if pairs else None
