"""Hypothesis strategies for synthetic scenes with known ground truth.

    from hypothesis import given
    from vipexec.testing import scenes

    @given(scene=scenes(min_objects=1, shapes=["circle", "square"], colors=["red", "blue"]))
    def test_counts_red_circles(program, scene):
        assert program(scene) == scene.count(color="red", shape="circle")

A scene is drawn as a list of candidate objects (shape, colour, size, position) placed one by
one under the synthetic world's readability rules (same-coloured objects never touch, bounded
occlusion, every object visible enough); candidates that break a rule are left out. Shrinking
therefore removes objects and moves the rest towards simple values: a failing property is
reported on the smallest scene that still fails.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import cached_property
from typing import Any

from vipexec.core.errors import InvalidArgumentError

__all__ = ["Scene", "scenes"]


class Scene:
    """A synthetic scene: its spec, pixels (``image``) and ground truth (``truth``)."""

    def __init__(self, spec: Any) -> None:
        self.spec = spec

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Scene) and other.spec == self.spec

    def __hash__(self) -> int:
        return hash(self.spec)

    @cached_property
    def rendered(self) -> Any:
        from vipexec.modules.synthetic.scene import render

        return render(self.spec)

    @property
    def image(self) -> Any:
        """``H x W x 3`` uint8 pixels."""
        return self.rendered.image

    @property
    def truth(self) -> dict[str, Any]:
        return self.rendered.truth

    @property
    def objects(self) -> list[dict[str, Any]]:
        """Ground truth per object: shape, color, size, box, visible_box, depth, text, ..."""
        return self.truth["objects"]

    def where(
        self,
        *,
        color: str | None = None,
        shape: str | None = None,
        size: str | None = None,
        text: str | None = None,
    ) -> list[dict[str, Any]]:
        """The objects matching every given attribute."""
        wanted = {"color": color, "shape": shape, "size": size, "text": text}
        return [
            obj
            for obj in self.objects
            if all(value is None or obj[key] == value for key, value in wanted.items())
        ]

    def count(self, **attributes: str | None) -> int:
        """How many objects match (``scene.count(color="red", shape="circle")``)."""
        return len(self.where(**attributes))

    def exists(self, **attributes: str | None) -> bool:
        return self.count(**attributes) > 0

    def __repr__(self) -> str:
        parts = [
            f"{o.size} {o.color} {o.shape} at x={o.x}, lower={o.lower}"
            + (f" '{o.text}'" if o.text else "")
            for o in self.spec.objects
        ]
        return f"Scene({'; '.join(parts) or 'empty'})"


def _choices(name: str, given: Sequence[str] | None, allowed: Sequence[str]) -> tuple[str, ...]:
    if given is None:
        return tuple(allowed)
    if isinstance(given, str) or not isinstance(given, Sequence):
        raise InvalidArgumentError(f"{name} must be a list of names, not {given!r}")
    values = tuple(given)
    if not values:
        raise InvalidArgumentError(f"{name} must not be empty")
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise InvalidArgumentError(
            f"unknown {name} {unknown}; the synthetic world has: {', '.join(allowed)}"
        )
    return values


def scenes(
    *,
    min_objects: int = 0,
    max_objects: int = 6,
    shapes: Sequence[str] | None = None,
    colors: Sequence[str] | None = None,
    sizes: Sequence[str] | None = None,
    text: bool = False,
    noise: float = 0.0,
    max_occlusion: float = 0.3,
) -> Any:
    """A strategy of readable :class:`Scene`\\ s (see the module docstring).

    ``shapes``, ``colors`` and ``sizes`` restrict the objects (default: all of the world's);
    ``text`` lets large objects carry a one- or two-letter label; ``noise`` adds Gaussian pixel
    noise of that standard deviation; ``max_occlusion`` bounds the hidden fraction of an object.
    """
    from hypothesis import assume
    from hypothesis import strategies as st

    from vipexec.modules.synthetic import world
    from vipexec.modules.synthetic.scene import (
        GenerationOptions,
        ObjectSpec,
        SceneSpec,
        acceptable,
        text_fits,
    )
    from vipexec.modules.synthetic.text import ALPHABET

    for name, value in (("min_objects", min_objects), ("max_objects", max_objects)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidArgumentError(f"{name} must be a non-negative int, got {value!r}")
    if min_objects > max_objects:
        raise InvalidArgumentError(f"min_objects {min_objects} > max_objects {max_objects}")
    if max_objects > 12:
        raise InvalidArgumentError(f"max_objects {max_objects} is more than a scene holds (12)")
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or noise < 0:
        raise InvalidArgumentError(f"noise must be a non-negative number, got {noise!r}")
    if not isinstance(text, bool):
        raise InvalidArgumentError(f"text must be a bool, got {text!r}")
    shape_names = _choices("shapes", shapes, world.SHAPES)
    color_names = _choices("colors", colors, world.COLORS)
    size_names = _choices("sizes", sizes, tuple(world.SIZES))
    options = GenerationOptions(max_occlusion=max_occlusion)
    horizon = world.default_horizon(world.HEIGHT)

    @st.composite
    def candidate(draw: Any) -> ObjectSpec:
        size = draw(st.sampled_from(size_names))
        side = world.SIZES[size]
        x = draw(st.integers(min_value=side // 2 + 1, max_value=world.WIDTH - side + side // 2 - 1))
        top = min(horizon - world.MIN_HORIZON_GAP, world.HEIGHT - side)
        lower = draw(st.integers(min_value=1, max_value=max(1, top)))
        obj = ObjectSpec(
            draw(st.sampled_from(shape_names)), draw(st.sampled_from(color_names)), size, x, lower
        )
        if text and size == "large" and draw(st.booleans()):
            label = draw(st.text(alphabet=ALPHABET, min_size=1, max_size=2))
            labelled = replace(obj, text=label)
            if text_fits(labelled):
                return labelled
        return obj

    @st.composite
    def scene(draw: Any) -> Scene:
        wanted = draw(st.integers(min_value=min_objects, max_value=max_objects))
        pool = draw(st.lists(candidate(), min_size=wanted, max_size=max(wanted * 3, 1)))
        base = SceneSpec(noise=float(noise))
        placed: list[ObjectSpec] = []
        for obj in pool:
            if len(placed) >= wanted:
                break
            trial = replace(base, objects=(*placed, obj))
            if acceptable(trial, options):
                placed.append(obj)
        assume(len(placed) >= min_objects)
        return Scene(replace(base, objects=tuple(placed)))

    return scene()
