"""Hypothesis strategies for synthetic scenes (imports hypothesis: a test dependency).

- :func:`scene_specs` draws readable scenes through the seeded generator (every constraint of
  :func:`~vipexec.modules.synthetic.scene.generate_scene` holds; shrinking moves the seed);
- :func:`object_specs` and :func:`raw_scene_specs` draw specs directly, with no readability
  constraints (objects may overlap, merge or hide each other): use them for properties that must
  hold for any spec, such as "render is deterministic" or "ground truth boxes lie in the image".
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from vipexec.modules.synthetic import world
from vipexec.modules.synthetic.scene import ObjectSpec, SceneSpec, generate_scene
from vipexec.modules.synthetic.text import ALPHABET


def scene_specs(**options: Any) -> st.SearchStrategy[SceneSpec]:
    """Readable scenes: ``generate_scene(seed, **options)`` over drawn seeds."""
    return st.integers(min_value=0, max_value=2**32 - 1).map(
        lambda seed: generate_scene(seed, **options)
    )


@st.composite
def object_specs(draw: Any, width: int = world.WIDTH, height: int = world.HEIGHT) -> ObjectSpec:
    size = draw(st.sampled_from(tuple(world.SIZES)))
    side = world.SIZES[size]
    horizon = world.default_horizon(height)
    x = draw(st.integers(min_value=side // 2, max_value=width - side + side // 2))
    lower = draw(st.integers(min_value=0, max_value=min(horizon - 1, height - side)))
    text = draw(st.text(alphabet=ALPHABET, max_size=2))
    return ObjectSpec(
        shape=draw(st.sampled_from(world.SHAPES)),
        color=draw(st.sampled_from(world.COLORS)),
        size=size,
        x=x,
        lower=lower,
        text=text,
    )


def raw_scene_specs(max_objects: int = 6) -> st.SearchStrategy[SceneSpec]:
    """Unconstrained scenes of the default size."""
    return st.builds(SceneSpec, objects=st.lists(object_specs(), max_size=max_objects).map(tuple))
