"""The backend contract, the registry and LocalDispatcher (plain data, tracing, errors)."""

from __future__ import annotations

import numpy as np
import pytest

from vipexec.core.tracer import Recorder
from vipexec.modules.backend import (
    METHODS,
    Backend,
    available_backends,
    create_backend,
    crop_pixels,
    register_backend,
)
from vipexec.modules.dispatch import LocalDispatcher, check_plain
from vipexec.modules.errors import BackendError, ModuleUnavailable
from vipexec.modules.images import ImageStore


def test_crop_pixels_uses_a_bottom_left_origin():
    image = np.arange(5 * 4).reshape(5, 4)  # 5 rows, 4 columns
    # box (left=1, lower=0, right=3, upper=2): the two bottom rows, columns 1..2
    assert crop_pixels(image, (1, 0, 3, 2)).tolist() == [[13, 14], [17, 18]]
    assert crop_pixels(image, (0, 3, 4, 5)).tolist() == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_registry_names_and_errors():
    assert {"synthetic", "synthetic-noisy"} <= set(available_backends())
    with pytest.raises(BackendError) as info:
        create_backend("nope")
    assert str(info.value).startswith("unknown backend 'nope'; available backends: ")
    assert "synthetic, synthetic-noisy" in str(info.value)
    with pytest.raises(BackendError) as info:
        create_backend("synthetic-noisy", colour_error=0.1)
    message = str(info.value)
    assert message.startswith("backend 'synthetic-noisy': bad options (")
    assert (
        "accepted: color_error, shape_error, miss_rate, spurious_rate, seed, exists_vqa" in message
    )
    with pytest.raises(BackendError, match="already registered"):
        register_backend("synthetic", Backend)


def test_backend_id_is_stable_and_names_options():
    assert create_backend("synthetic").backend_id == "synthetic@1(exists_vqa=False)"
    noisy = create_backend("synthetic-noisy", seed=3, miss_rate=0.2)
    assert noisy.backend_id == (
        "synthetic-noisy@1(color_error=0.1,exists_vqa=False,miss_rate=0.2,"
        "seed=3,shape_error=0.0,spurious_rate=0.05)"
    )
    assert noisy.backend_id == create_backend("synthetic-noisy", miss_rate=0.2, seed=3).backend_id


def test_backend_id_follows_options_added_after_it_was_read():
    backend = create_backend("synthetic")
    assert backend.backend_id == "synthetic@1(exists_vqa=False)"
    backend._add_options(profile="late")  # a model backend records its profile once loaded
    assert backend.backend_id == "synthetic@1(exists_vqa=False,profile='late')"


class _Echo(Backend):
    """Answers find with a fixed box and returns what it was given elsewhere."""

    name = "echo"

    def find(self, image, box, object_name):
        return [np.array([1, 2, 3, 4])]

    def simple_query(self, image, box, question):
        return f"{image.shape}|{box}|{question}"


def test_register_and_create_a_custom_backend():
    register_backend("test-echo", _Echo, replace=True)
    backend = create_backend("test-echo")
    assert isinstance(backend, _Echo) and "test-echo" in available_backends()


def _traced(fn):
    recorder = Recorder([[]])
    token = recorder.activate()
    recorder.enter(0)
    try:
        fn()
    finally:
        recorder.exit(0, {})
        Recorder.deactivate(token)
    return recorder.blocks[0].calls


def test_local_dispatcher_resolves_pixels_returns_plain_data_and_records():
    store = ImageStore()
    ref = store.add(np.zeros((7, 9, 3), dtype=np.uint8))
    dispatcher = LocalDispatcher(_Echo(), store)
    results = []

    def run():
        results.append(dispatcher.call("find", ref.id, (0, 0, 9, 7), {"object_name": "cat"}))
        results.append(dispatcher.call("simple_query", ref.id, [1, 1, 5, 5], {"question": "q"}))

    calls = _traced(run)
    assert results[0] == [(1, 2, 3, 4)] and type(results[0][0][0]) is int
    assert results[1] == "(7, 9, 3)|(1, 1, 5, 5)|q"  # the backend got pixels and a tuple box
    assert [c["method"] for c in calls] == ["find", "simple_query"]
    first = calls[0]
    assert first["args"] == {"object_name": {"type": "str", "value": "cat"}}
    assert first["backend"] == "echo@1(exists_vqa=False)"
    assert first["image"] == ref.id and first["box"] == [0, 0, 9, 7]
    assert first["ms"] >= 0 and "error" not in first


def test_unavailable_methods_raise_and_are_recorded_with_the_error():
    store = ImageStore()
    ref = store.add(np.zeros((4, 4, 3), dtype=np.uint8))
    dispatcher = LocalDispatcher(_Echo(), store)
    raised = []

    def run():
        with pytest.raises(ModuleUnavailable) as info:
            dispatcher.call("compute_depth", ref.id, (0, 0, 4, 4), {})
        raised.append(info.value)

    calls = _traced(run)
    error = raised[0]
    assert str(error) == "compute_depth() is unavailable on backend 'echo': not implemented"
    assert (error.method, error.backend, error.reason) == (
        "compute_depth",
        "echo",
        "not implemented",
    )
    assert calls[0]["error"] == f"ModuleUnavailable: {error}"
    assert calls[0]["result"] == {"type": "NoneType", "value": None}


def test_every_base_method_is_unavailable_except_exists():
    backend = Backend()
    image = np.zeros((2, 2, 3), dtype=np.uint8)
    calls = {
        "find": (image, (0, 0, 2, 2), "x"),
        "exists": (image, (0, 0, 2, 2), "x"),
        "verify_property": (image, (0, 0, 2, 2), "x", "red"),
        "best_text_match": (image, (0, 0, 2, 2), ["a"], None),
        "simple_query": (image, (0, 0, 2, 2), "q"),
        "compute_depth": (image, (0, 0, 2, 2)),
        "best_image_match": ([(image, (0, 0, 2, 2))], ["a"]),
        "llm_query": ("q", True),
        "select_answer": ({}, "q", ["a"]),
    }
    assert set(calls) == METHODS
    for method, args in calls.items():
        expected = "find" if method == "exists" else method  # exists() is find() by default
        with pytest.raises(ModuleUnavailable, match=rf"^{expected}\(\) is unavailable"):
            getattr(backend, method)(*args)


def test_exists_vqa_double_checks_each_detection():
    class TwoBoxes(Backend):
        name = "two"

        def find(self, image, box, object_name):
            return [(0, 0, 1, 1), (1, 1, 2, 2)]

        def simple_query(self, image, box, question):
            assert question == "Is this a dog?"
            return "yes" if box == (1, 1, 2, 2) else "no"

    image = np.zeros((2, 2, 3), dtype=np.uint8)
    assert TwoBoxes().exists(image, (0, 0, 2, 2), "dog") is True
    assert TwoBoxes(exists_vqa=True).exists(image, (0, 0, 2, 2), "dog") is True
    assert TwoBoxes(exists_vqa=True).backend_id == "two@1(exists_vqa=True)"


@pytest.mark.parametrize(
    ("method", "result", "message"),
    [
        ("find", "box", "find() returned str, expected a list of boxes"),
        ("find", [(1, 2, 3)], "find() returned a box that is not 4 numbers: (1, 2, 3)"),
        ("simple_query", 3, "simple_query() returned int, expected a str"),
        ("best_text_match", "c", "best_text_match() returned 'c', which is not one of the options"),
    ],
)
def test_contract_violations_are_reported(method, result, message):
    class Broken(Backend):
        name = "broken"

    setattr(Broken, method, lambda self, *a, **k: result)
    store = ImageStore()
    ref = store.add(np.zeros((2, 2, 3), dtype=np.uint8))
    args = {
        "find": {"object_name": "x"},
        "simple_query": {"question": "q"},
        "best_text_match": {"options": ["a", "b"], "prefix": None},
    }[method]
    with pytest.raises(BackendError) as info:
        LocalDispatcher(Broken(), store).call(method, ref.id, (0, 0, 2, 2), args)
    assert str(info.value) == f"backend 'broken@1(exists_vqa=False)' broke the contract: {message}"


def test_dispatcher_rejects_unknown_methods_and_non_plain_arguments():
    store = ImageStore()
    dispatcher = LocalDispatcher(_Echo(), store)
    with pytest.raises(BackendError, match="unknown API method 'delete_files'"):
        dispatcher.call("delete_files", None, None, {})
    with pytest.raises(TypeError, match="object is not plain data"):
        dispatcher.call("llm_query", None, None, {"question": object(), "long_answer": True})
    check_plain({"a": [1, 2.0, None, True, ("x",)], "b": {"c": "d"}})
    with pytest.raises(TypeError, match="dict keys must be str"):
        check_plain({1: 2})
