"""Value summaries: one case per kind of value, with the exact summary expected."""

import collections
import importlib
import json
import math

import numpy as np
import pytest
from PIL import Image

from vipexec.core.summarize import Limits, plain_value, register, summarize


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, {"type": "NoneType", "value": None}),
        (True, {"type": "bool", "value": True}),
        (42, {"type": "int", "value": 42}),
        (10**100, {"type": "int", "bits": 333, "negative": False}),
        (2.5, {"type": "float", "value": 2.5}),
        (math.inf, {"type": "float", "repr": "inf"}),
        (math.nan, {"type": "float", "repr": "nan"}),
        (1j, {"type": "complex", "repr": "1j"}),
        ("yes", {"type": "str", "value": "yes"}),
        (b"\x00\x01", {"type": "bytes", "len": 2, "head": "0001"}),
        (range(0, 10, 2), {"type": "range", "len": 5, "start": 0, "stop": 10, "step": 2}),
        (
            (1, "a"),
            {
                "type": "tuple",
                "len": 2,
                "items": [{"type": "int", "value": 1}, {"type": "str", "value": "a"}],
            },
        ),
        (
            {"k": [1]},
            {
                "type": "dict",
                "len": 1,
                "items": [
                    [
                        {"type": "str", "value": "k"},
                        {"type": "list", "len": 1, "items": [{"type": "int", "value": 1}]},
                    ]
                ],
            },
        ),
        (len, {"type": "builtin_function_or_method", "name": "len"}),
        (int, {"type": "type", "name": "int"}),
        (math, {"type": "module", "name": "math"}),
    ],
)
def test_exact_summaries(value, expected):
    assert summarize(value) == expected


def test_long_strings_keep_a_bounded_head():
    summary = summarize("x" * 1000, Limits(max_str=10))
    assert summary == {"type": "str", "len": 1000, "head": "x" * 10}


def test_containers_are_bounded_in_length_and_depth():
    summary = summarize(list(range(100)), Limits(max_items=3))
    assert summary["len"] == 100
    assert [item["value"] for item in summary["items"]] == [0, 1, 2]
    deep = summarize([[[[1]]]], Limits(max_depth=2))
    assert deep["items"][0]["items"][0] == {"type": "list", "len": 1}


def test_sets_are_summarised_in_a_stable_order():
    assert summarize({"b", "a", "c"}) == summarize({"c", "a", "b"})
    assert [i["value"] for i in summarize({"b", "a"})["items"]] == ["a", "b"]


def test_numpy_arrays_by_shape_and_dtype_only():
    assert summarize(np.zeros((2, 3), dtype=np.float32)) == {
        "type": "ndarray",
        "shape": [2, 3],
        "dtype": "float32",
    }
    assert summarize(np.int64(7)) == {"type": "numpy.int64", "value": 7}


def test_torch_tensors_by_shape_dtype_and_device():
    torch = pytest.importorskip("torch")
    assert summarize(torch.ones(4, 5, dtype=torch.float16)) == {
        "type": "Tensor",
        "shape": [4, 5],
        "dtype": "float16",
        "device": "cpu",
    }
    assert summarize(torch.nn.Parameter(torch.ones(2)))["type"] == "Tensor"


def test_pil_images_by_size_and_mode():
    assert summarize(Image.new("RGB", (8, 4))) == {
        "type": "PIL.Image",
        "size": [8, 4],
        "mode": "RGB",
    }


def test_unknown_objects_by_type_name_without_running_their_code():
    class Hostile:
        def __repr__(self):
            raise AssertionError("repr must not be called")

        def __eq__(self, other):
            raise AssertionError("eq must not be called")

        def __len__(self):
            raise AssertionError("len must not be called")

        __hash__ = object.__hash__

    assert summarize(Hostile())["type"].endswith("Hostile")
    assert summarize([Hostile()])["items"][0]["type"].endswith("Hostile")
    assert summarize({Hostile(): 1})["len"] == 1


def test_subclasses_of_builtins_are_not_iterated():
    class Sneaky(list):
        def __iter__(self):
            raise AssertionError("must not iterate")

    assert summarize(Sneaky([1, 2])) == {
        "type": "test_subclasses_of_builtins_are_not_iterated.<locals>.Sneaky"
    }


def test_patch_like_objects_show_their_box():
    class ImagePatch:
        def __init__(self):
            self.left, self.lower, self.right, self.upper = 1, 2, 30, 40

        @property
        def boom(self):
            raise AssertionError("properties must not run")

    assert summarize(ImagePatch()) == {
        "type": "test_patch_like_objects_show_their_box.<locals>.ImagePatch",
        "box": [1, 2, 30, 40],
    }


class RegisteredBase:
    pass


def test_registered_summarizers_match_subclasses_by_name():
    class Child(RegisteredBase):
        pass

    register(f"{__name__}.RegisteredBase", lambda v, limits: {"type": "Base!"})
    assert summarize(Child()) == {"type": "Base!"}


def test_a_class_that_only_spells_a_registered_name_is_not_matched():
    forged = type("RegisteredBase", (), {"__module__": __name__})
    register(f"{__name__}.RegisteredBase", lambda v, limits: {"type": "Base!"})
    assert summarize(forged()) == {"type": "RegisteredBase"}


def test_a_forged_numpy_scalar_never_has_its_methods_called():
    called = []
    generic = collections.namedtuple("generic", "item", module="numpy")
    summary = summarize(generic(lambda: called.append(1) or 1))
    assert summary == {"type": "generic"} and called == []


@pytest.mark.parametrize(
    "module, name, fields",
    [
        ("numpy", "ndarray", "shape dtype"),
        ("torch", "Tensor", "shape dtype device"),
        ("vipexec.modules.refs", "ImageRef", "id width height"),
        ("PIL.Image", "Image", "size mode"),
    ],
)
def test_forged_third_party_names_get_the_unknown_summary(module, name, fields):
    importlib.import_module(module)  # the real class is registered and loaded
    forged = collections.namedtuple(name, fields, module=module)
    values = [[float("nan")], "x" * 3_000_000, ["live"]][: len(fields.split())]
    summary = summarize(forged(*values))
    assert summary == {"type": name}


def test_extension_summaries_are_copied_into_bounded_finite_json():
    class Odd:
        pass

    live = ["live"]
    register(Odd, lambda v, limits: {"type": "Odd", "w": float("nan"), "id": "x" * 10_000,
                                     "items": live, "big": 2**80, "obj": Odd()})  # fmt: skip
    summary = summarize(Odd())
    json.dumps(summary, allow_nan=False)
    assert summary["w"] == "nan" and len(summary["id"]) == 200
    assert summary["items"] == ["live"] and summary["items"] is not live
    assert summary["big"] == {"type": "int", "bits": 81, "negative": False}
    assert summary["obj"] == {"type": summary["obj"]["type"]}


def test_an_extension_summary_that_is_not_a_dict_is_reported():
    class Odd:
        pass

    register(Odd, lambda v, limits: [1, 2])
    assert summarize(Odd())["summary_error"] == "not a summary"


def test_numpy_nan_scalars_are_valid_json():
    summary = summarize(np.float64("nan"))
    assert summary == {"type": "numpy.float64", "repr": "nan"}
    json.dumps(summary, allow_nan=False)


def test_type_and_function_names_are_bounded():
    cls = type("C" * 5000, (), {})
    assert len(summarize(cls)["name"]) == 200
    assert len(summarize(cls())["type"]) == 200


def test_a_failing_summarizer_never_breaks_the_program():
    class Weird:
        pass

    register(Weird, lambda v, limits: 1 / 0)
    summary = summarize(Weird())
    assert summary["summary_error"].startswith("ZeroDivisionError")


def test_plain_value_round_trip():
    assert plain_value(summarize([1, "a", None])) == [1, "a", None]
    assert plain_value(summarize("x")) == "x"
    truncated = summarize(list(range(50)))
    assert plain_value(truncated) is truncated


def test_box_names_defined_by_the_class_are_never_read():
    class Sneaky:
        def __init__(self):
            self.lower, self.right, self.upper = 1, 2, 3

        @property
        def left(self):
            raise AssertionError("a property of the program must not run")

    assert summarize(Sneaky()) == {
        "type": "test_box_names_defined_by_the_class_are_never_read.<locals>.Sneaky"
    }


def test_summaries_do_not_materialise_instance_dicts():
    # CPython keeps instance attributes inline until something asks for __dict__; making the
    # dict is slow and slows every later attribute access on the object.
    import gc

    class Patch:
        def __init__(self):
            self.left, self.lower, self.right, self.upper = 0, 0, 5, 5

    patch = Patch()
    assert summarize(patch)["box"] == [0, 0, 5, 5]
    assert not any(isinstance(ref, dict) for ref in gc.get_referents(patch))
    patch.__dict__  # noqa: B018  (the check itself can fail: materialising shows up)
    assert any(isinstance(ref, dict) for ref in gc.get_referents(patch))


@pytest.mark.parametrize(
    "bad", [float("nan"), float("inf"), 10**5000, "1"], ids=["nan", "inf", "huge int", "str"]
)
def test_a_patch_like_box_holds_only_json_safe_numbers(bad):
    class Patch:
        def __init__(self, left):
            self.left, self.lower, self.right, self.upper = left, 0, 5, 5

    assert summarize(Patch(bad)) == {"type": Patch.__qualname__}
    assert summarize(Patch(1.5))["box"] == [1.5, 0, 5, 5]


class Boxed:
    def __init__(self, left, lower=0, right=5, upper=5):
        self.left, self.lower, self.right, self.upper = left, lower, right, upper


@pytest.mark.parametrize(
    "lefts",
    [
        [1, 2, 3],
        [1.5, -2, 2**53],
        [1, float("nan"), 3],
        [float("inf"), 1],
        [float("-inf"), float("inf")],
        [1, 2**53 + 1],
        [-(2**53) - 1, 1],
        [True, 1],
        [1, "2"],
        [-0.0, 0],
    ],
)
def test_a_list_of_patches_is_summarised_as_each_patch_alone(lefts):
    patches = [Boxed(left) for left in lefts]
    alone = [summarize(patch) for patch in patches]
    assert summarize(patches)["items"] == alone
    assert summarize(tuple(patches))["items"] == alone
    assert json.loads(json.dumps(alone, allow_nan=False)) == alone


def test_a_list_of_patches_missing_a_box_field_is_summarised_patch_by_patch():
    patches = [Boxed(1), Boxed(2)]
    summarize(patches)  # the class is known from here on
    del patches[1].upper
    assert summarize(patches)["items"] == [
        {"type": Boxed.__qualname__, "box": [1, 0, 5, 5]},
        {"type": Boxed.__qualname__},
    ]


def test_a_class_with_an_attribute_hook_has_its_box_read_once_per_patch():
    reads = []

    class Counting(Boxed):
        def __getattr__(self, name):
            reads.append(name)
            raise AttributeError(name)

    patches = [Counting(1), Counting(2)]
    summarize(patches)  # the class is known from here on
    del patches[1].upper
    summarize(patches)
    assert reads == ["upper"]


def test_a_patch_class_given_a_failing_box_property_later_never_breaks_a_summary():
    class Late:
        def __init__(self):
            self.left, self.lower, self.right, self.upper = 0, 0, 1, 1

    patches = [Late(), Late()]
    summarize(patches)  # the class is known as patch-like from here on

    def boom(self):
        raise ValueError("no box")

    Late.left = property(boom)
    assert summarize(patches[0]) == {"type": Late.__qualname__, "summary_error": "ValueError"}
    assert summarize(patches)["items"] == [summarize(patches[0])] * 2
