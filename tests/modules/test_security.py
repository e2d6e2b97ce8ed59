"""Nothing public on API objects leads to the dispatcher, backend, store, pixels or modules.

Programs can read every attribute whose name does not start with ``_``. Walk every public
attribute and method result reachable in two steps from the objects a program holds and check
that only plain values and API objects appear.
"""

from __future__ import annotations

import pytest

from vipexec.modules.api import ImagePatch, VideoSegment, build_api
from vipexec.modules.dispatch import LocalDispatcher
from vipexec.modules.errors import ModuleUnavailable
from vipexec.modules.images import ImageStore
from vipexec.modules.refs import ImageRef, VideoRef
from vipexec.modules.synthetic.backend import SyntheticBackend
from vipexec.modules.synthetic.scene import generate_scene, render
from vipexec.modules.synthetic.video import generate_clip, render_clip

SCALARS = (bool, int, float, str, type(None))
API_TYPES = (ImagePatch, VideoSegment, ImageRef, VideoRef)

# Arguments used to call each public method during the walk. A new public method without an
# entry here fails the test on purpose: decide what it may return before exposing it.
SAMPLE_ARGS = {
    "find": ("object",),
    "exists": ("object",),
    "verify_property": ("object", "red"),
    "best_text_match": (["red", "blue"],),
    "simple_query": (),
    "compute_depth": (),
    "crop": lambda p: (p.left, p.lower, p.left + 5, p.lower + 5),
    "overlaps_with": (0, 0, 5, 5),
    "llm_query": ("1 + 1",),
    "frame_from_index": (0,),
    "trim": (0, 1),
    "frame_iterator": (),
    "select_answer": ({"a": 1}, "q", ["1", "2"]),
    "frame": (0,),
}


def _public(obj):
    return [name for name in dir(obj) if not name.startswith("_")]


def _allowed(value):
    return type(value) in SCALARS or isinstance(value, API_TYPES)


def _flatten(value):
    if type(value) in (list, tuple):
        return [leaf for item in value for leaf in _flatten(item)]
    if type(value).__name__ == "list_iterator":
        return [leaf for item in list(value) for leaf in _flatten(item)]
    return [value]


def _walk(obj, path, depth, seen):
    for name in _public(obj):
        where = f"{path}.{name}"
        value = getattr(obj, name)
        if callable(value) and not isinstance(value, API_TYPES):
            assert _public(value) == [], f"{where} exposes {_public(value)}"
            args = SAMPLE_ARGS[name]
            result = value(*(args(obj) if callable(args) else args))
            leaves = _flatten(result)
            where += "()"
        else:
            leaves = _flatten(value)
        for leaf in leaves:
            assert _allowed(leaf), f"{where} leads to {type(leaf).__module__}.{type(leaf).__name__}"
            seen.add(type(leaf))
            if depth < 2 and isinstance(leaf, API_TYPES):
                _walk(leaf, where, depth + 1, seen)


@pytest.fixture(scope="module")
def world():
    store = ImageStore()
    image = store.add(render(generate_scene(5)).image)
    frames, _ = render_clip(generate_clip(2, num_frames=3))
    video = store.add_video(frames)
    names = build_api(LocalDispatcher(SyntheticBackend(), store))
    return names, image, video


def test_walk_from_every_program_visible_object(world):
    names, image, video = world
    patch = names["ImagePatch"](image)
    found = patch.find("object")
    assert found, "the walk needs a scene with objects"
    segment = names["VideoSegment"](video)
    seen = set()
    for name, root in [
        ("patch", patch),
        ("found", found[0]),
        ("segment", segment),
        ("image", image),
        ("video", video),
    ]:
        _walk(root, name, 0, seen)
    assert {names["ImagePatch"], names["VideoSegment"], ImageRef, int, float, str, bool} <= seen


def test_classes_and_functions_expose_nothing_public(world):
    names, _, _ = world
    for key in ("ImagePatch", "VideoSegment"):
        cls = names[key]
        # `mro` is type's own method (on every class); it only leads to the base classes.
        for attribute in set(_public(cls)) - {"mro"}:
            value = getattr(cls, attribute)
            assert _public(value) == [], f"{key}.{attribute} exposes {_public(value)}"
        assert cls.mro() == [cls, ImagePatch if key == "ImagePatch" else VideoSegment, object]
    for cls in (ImageRef, VideoRef):
        for attribute in set(_public(cls)) - {"mro"}:
            assert _public(getattr(cls, attribute)) == []
    for key in ("llm_query", "best_image_match", "distance", "bool_to_yesno", "coerce_to_numeric"):
        assert _public(names[key]) == [], key


def test_internals_are_private(world):
    names, image, _ = world
    patch = names["ImagePatch"](image)
    public = set(_public(patch))
    assert public == {
        "left", "lower", "right", "upper", "width", "height", "horizontal_center",
        "vertical_center", "find", "exists", "verify_property", "best_text_match",
        "simple_query", "compute_depth", "crop", "overlaps_with", "llm_query",
    }  # fmt: skip
    assert "cropped_image" not in public  # pixels never enter the sandbox


def test_module_unavailable_exposes_only_strings():
    error = ModuleUnavailable("find", "x", "no detector weights")
    plain = [n for n in _public(error) if not callable(getattr(error, n))]
    assert sorted(plain) == ["args", "backend", "method", "reason"]
    assert all(type(getattr(error, n)) in (str, tuple) for n in plain)
