"""What a scene file says, in the terms query families ask about.

Read from the ground-truth JSON that ``vipexec scene`` writes next to each image (and clip):
the visible objects with their colour, shape, size, visible box, depth and readable label. No
pixel is read here and no backend or labeler rule is used: the answers of the grammar
generator's queries are computed from these facts alone.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class SceneObject:
    id: int
    color: str
    shape: str
    size: str
    box: tuple[int, int, int, int]
    """the visible box: (left, lower, right, upper), origin bottom-left"""
    depth: float
    text: str
    """the label when it is fully visible, else empty"""

    @property
    def x(self) -> float:
        return (self.box[0] + self.box[2]) / 2

    @property
    def y(self) -> float:
        return (self.box[1] + self.box[3]) / 2

    @property
    def phrase(self) -> str:
        return f"{self.color} {self.shape}"


def scene_objects(truth: dict[str, Any]) -> list[SceneObject]:
    """The objects of one scene (or one clip frame) that can be seen at all."""
    return [
        SceneObject(
            id=int(obj["id"]),
            color=obj["color"],
            shape=obj["shape"],
            size=obj["size"],
            box=tuple(obj["visible_box"]),
            depth=float(obj["depth"]),
            text=obj["text"] if obj.get("text_visible") else "",
        )
        for obj in truth["objects"]
        if obj.get("visible_box") is not None
    ]


@dataclass(frozen=True)
class Scene:
    """One image's facts (``frames`` is empty) or one clip's (one object list per frame)."""

    objects: tuple[SceneObject, ...] = ()
    frames: tuple[tuple[SceneObject, ...], ...] = ()
    width: int = 0
    height: int = 0
    """the image's (or each frame's) size in pixels, as the scene file gives it"""

    @classmethod
    def from_truth(cls, truth: dict[str, Any]) -> Scene:
        size = {"width": int(truth.get("width", 0)), "height": int(truth.get("height", 0))}
        if truth.get("kind") == "clip":
            return cls(frames=tuple(tuple(scene_objects(f)) for f in truth["frames"]), **size)
        return cls(objects=tuple(scene_objects(truth)), **size)

    @classmethod
    def load(cls, image: str | Path) -> Scene:
        """The facts of the scene file beside ``image`` (``scene_0001.png`` -> ``.json``)."""
        path = Path(image).with_suffix(".json")
        try:
            truth = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path}: no readable scene file ({exc})") from None
        return cls.from_truth(truth)

    def count(self, color: str | None = None, shape: str | None = None) -> int:
        return sum(1 for o in self.matching(color, shape))

    def matching(self, color: str | None = None, shape: str | None = None) -> list[SceneObject]:
        return [
            o
            for o in self.objects
            if (color is None or o.color == color) and (shape is None or o.shape == shape)
        ]

    def combos(self) -> Counter:
        return Counter((o.color, o.shape) for o in self.objects)

    def unique(self, key: Any) -> list[SceneObject]:
        """Objects that are the only one with their ``key(object)``, in a stable order."""
        counts = Counter(key(o) for o in self.objects)
        return sorted((o for o in self.objects if counts[key(o)] == 1), key=lambda o: o.id)

    def isolated(self, target: SceneObject) -> bool:
        """Whether no other object reaches into ``target``'s visible box (so a question about
        "this patch" can only be about ``target``)."""
        return all(
            not _overlap(target.box, other.box) for other in self.objects if other is not target
        )


def _overlap(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])
