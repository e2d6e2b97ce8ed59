"""The model host without torch: batching, caching, in-flight de-duplication, routing, errors,
placement and dtype choice (a counting module stands in for a model)."""

from __future__ import annotations

import os
import threading
import time
from typing import Any, ClassVar

import pytest

from vipexec.modules.backend import METHODS
from vipexec.modules.dispatch import ServedCall
from vipexec.modules.models.base import ModelModule, Option, Request, register_model_kind
from vipexec.modules.models.cache import CallCache
from vipexec.modules.models.checkpoints import Located
from vipexec.modules.models.devices import (
    Gpu,
    PlacementRequest,
    choose_dtype,
    discover_gpus,
    plan_placement,
)
from vipexec.modules.models.errors import ConfigError
from vipexec.modules.models.host import ModelHost
from vipexec.modules.models.profile import parse_config


class CountingModule(ModelModule):
    """Answers every method from the arguments; sleeps ``delay_s`` per invocation."""

    kind: ClassVar[str] = "test-counting"
    methods: ClassVar[frozenset[str]] = frozenset(METHODS - {"exists"})
    needs_checkpoint: ClassVar[bool] = False
    uses_torch: ClassVar[bool] = False
    packages: ClassVar[tuple[str, ...]] = ()
    OPTIONS: ClassVar[dict[str, Option]] = {
        "delay_s": Option(0.0, float, "sleep per invocation"),
        "fail_on": Option("", str, "object name that fails"),
    }

    def __init__(self, spec: Any, context: Any) -> None:
        super().__init__(spec, context)
        self.batches: list[list[str]] = []

    def _locate(self, method: str) -> Located:
        return Located("counting", None, "in memory", "counting")

    def _load(self, located, device, dtype, resolve) -> None:
        self.loaded_on = (device, dtype)

    def _run(self, requests: list[Request]) -> list[Any]:
        time.sleep(self.options["delay_s"])
        self.batches.append([r.method for r in requests])
        return [self._one(r) for r in requests]

    def _one(self, request: Request) -> Any:
        args = request.args
        if request.method == "find":
            if args["object_name"] == self.options["fail_on"]:
                return ValueError(f"cannot find {args['object_name']}")
            if args["object_name"] == "nothing":
                return []
            return [request.box]
        if request.method == "simple_query":
            return "yes" if "cat" in args["question"] else "no"
        if request.method == "verify_property":
            return True
        if request.method == "best_text_match":
            return args["options"][0]
        if request.method == "compute_depth":
            return float(request.image.mean())
        if request.method == "best_image_match":
            return len(request.crops) - 1
        if request.method == "select_answer":
            return args["options"][-1]
        return f"answer to {args['question']}"


register_model_kind("test-counting", CountingModule, replace=True)


def config(**host: Any):
    return parse_config(
        {
            "host": {"max_batch": 64, "max_wait_ms": 100, **host},
            "models": {
                "m": {"kind": "test-counting", "delay_s": 0.02, "fail_on": "broken"},
                "vqa": {"kind": "test-counting"},
            },
            "profiles": {
                "all": {m: "m" for m in METHODS},
                "vqa-check": {
                    "find": "m",
                    "exists": "m",
                    "simple_query": "vqa",
                    "exists_vqa": True,
                },
                "find-only": {"find": "m"},
            },
        },
        source="test.toml",
    )


def concurrently(count: int, call) -> list[Any]:
    results: list[Any] = [None] * count
    barrier = threading.Barrier(count)

    def work(i: int) -> None:
        barrier.wait()
        results[i] = call(i)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def box(ref):
    return (0, 0, ref.width, ref.height)


def test_concurrent_requests_are_batched_into_fewer_invocations(store, image):
    with ModelHost(config(), "all", store=store, cache=False) as host:
        results = concurrently(
            32, lambda i: host.serve("find", image.id, box(image), {"object_name": f"thing {i}"})
        )
        assert all(isinstance(r, ServedCall) and r.error is None for r in results)
        assert all(r.result == [box(image)] for r in results)
        stats = host.stats()["m"]
        assert stats["computed"] == 32
        assert stats["invocations"] < 32 / 4  # 32 requests -> a handful of batches
        assert stats["largest_batch"] > 4
        assert host.invocations() == stats["invocations"]


def test_without_batching_every_request_is_an_invocation(store, image):
    with ModelHost(config(), "all", store=store, cache=False, batching=False) as host:
        concurrently(
            12, lambda i: host.serve("find", image.id, box(image), {"object_name": f"t{i}"})
        )
        assert host.invocations("m") == 12
        assert set(host.batch_sizes("m")) == {1}


def test_identical_concurrent_calls_compute_once(store, image):
    with ModelHost(config(), "all", store=store) as host:
        results = concurrently(
            16, lambda i: host.serve("find", image.id, box(image), {"object_name": "cat"})
        )
        assert host.computed("m") == 1
        assert sorted(r.cache_hit for r in results) == [False] + [True] * 15
        assert {tuple(map(tuple, r.result)) for r in results} == {(box(image),)}


def test_cache_hits_and_invocations_equal_unique_calls(store, image):
    calls = [("find", {"object_name": n}) for n in ("cat", "dog", "cat", "cat", "dog")]
    calls += [("simple_query", {"question": q}) for q in ("a cat?", "a cat?", "why?")]
    with ModelHost(config(), "all", store=store, batching=False) as host:
        served = [host.serve(m, image.id, box(image), a) for m, a in calls]
        assert [s.cache_hit for s in served] == [False, False, True, True, True, False, True, False]
        assert host.computed() == host.invocations() == 4  # unique calls
        assert all(s.model == "test-counting:-" for s in served)
        assert all(s.backend == "models:all" for s in served)
        stats = host.stats()["m"]
        assert stats["cache_hits"] == 4 and stats["cache_misses"] == 4
    with ModelHost(config(), "all", store=store, cache=False, batching=False) as host:
        for method, args in calls:
            host.serve(method, image.id, box(image), args)
        assert host.computed() == len(calls)


def test_exists_goes_through_finds_cache_entry(store, image):
    with ModelHost(config(), "find-only", store=store) as host:
        found = host.serve("find", image.id, box(image), {"object_name": "cat"})
        exists = host.serve("exists", image.id, box(image), {"object_name": "cat"})
        missing = host.serve("exists", image.id, box(image), {"object_name": "nothing"})
        assert found.cache_hit is False and exists.cache_hit is True and exists.result is True
        assert missing.result is False and missing.cache_hit is False
        assert host.computed() == 2


def test_exists_vqa_double_checks_each_box(store, image):
    with ModelHost(config(), "vqa-check", store=store) as host:
        assert host.serve("exists", image.id, box(image), {"object_name": "cat"}).result is True
        assert host.serve("exists", image.id, box(image), {"object_name": "dog"}).result is False
        assert host.computed("vqa") == 2


def test_a_failing_request_fails_alone_and_is_not_cached(store, image):
    with ModelHost(config(), "all", store=store) as host:
        results = concurrently(
            6,
            lambda i: host.serve(
                "find", image.id, box(image), {"object_name": "broken" if i == 0 else f"ok{i}"}
            ),
        )
        failed = [r for r in results if r.error is not None]
        assert len(failed) == 1
        assert failed[0].error_type == "ValueError" and "cannot find broken" in failed[0].error
        assert failed[0].result is None and failed[0].model == "test-counting:-"
        again = host.serve("find", image.id, box(image), {"object_name": "broken"})
        assert again.error is not None and again.cache_hit is None
        assert host.stats()["m"]["errors"] == 2


def test_routing_and_argument_errors_come_back_as_data(store, image):
    with ModelHost(config(), "find-only", store=store) as host:
        unrouted = host.serve("simple_query", image.id, box(image), {"question": "q"})
        assert unrouted.error_type == "ModuleUnavailable"
        assert (
            "profile 'find-only' of test.toml routes no model to simple_query()" in unrouted.error
        )
        unknown = host.serve("fly", image.id, box(image), {})
        assert unknown.error_type == "BackendError" and "unknown API method 'fly'" in unknown.error
        no_image = host.serve("find", None, None, {"object_name": "cat"})
        assert "needs an image id and a box" in no_image.error
        not_plain = host.serve("find", image.id, box(image), {"object_name": object()})
        assert not_plain.error_type == "TypeError"
        bad_id = host.serve("find", "0" * 16, box(image), {"object_name": "cat"})
        assert bad_id.error_type == "UnknownImageError"


def test_every_method_and_normalized_results(store, image, video):
    with ModelHost(config(), "all", store=store) as host:
        b = box(image)
        crop = [image.id, [0, 0, 10, 10]]
        served = {
            "find": host.serve("find", image.id, b, {"object_name": "cat"}),
            "exists": host.serve("exists", image.id, b, {"object_name": "cat"}),
            "verify_property": host.serve(
                "verify_property", image.id, b, {"object_name": "cat", "attribute": "red"}
            ),
            "best_text_match": host.serve(
                "best_text_match", image.id, b, {"options": ["a", "b"], "prefix": None}
            ),
            "simple_query": host.serve("simple_query", image.id, b, {"question": "q"}),
            "compute_depth": host.serve("compute_depth", image.id, b, {}),
            "best_image_match": host.serve(
                "best_image_match", None, None, {"crops": [crop, crop], "content": ["x"]}
            ),
            "llm_query": host.serve(
                "llm_query", None, None, {"question": "q", "long_answer": False}
            ),
            "select_answer": host.serve(
                "select_answer", None, None, {"info": {}, "question": "q", "options": ["a", "b"]}
            ),
        }
        assert all(s.error is None for s in served.values()), served
        assert served["find"].result == [b] and isinstance(served["find"].result[0], tuple)
        assert served["exists"].result is True
        assert isinstance(served["compute_depth"].result, float)
        assert served["best_image_match"].result == 1
        assert served["select_answer"].result == "b"


def test_sqlite_cache_shared_by_two_hosts(store, image, tmp_path):
    path = tmp_path / "calls.sqlite"
    cfg = config(cache="sqlite", cache_path=str(path))
    with ModelHost(cfg, "all", store=store) as first:
        first.serve("find", image.id, box(image), {"object_name": "cat"})
        assert first.computed() == 1
    with ModelHost(cfg, "all", store=store) as second:
        again = second.serve("find", image.id, box(image), {"object_name": "cat"})
        assert again.cache_hit is True and second.computed() == 0


def test_given_cache_object_and_closed_host(store, image):
    cache = CallCache()
    host = ModelHost(config(), "all", store=store, cache=cache)
    host.serve("find", image.id, box(image), {"object_name": "cat"})
    assert len(cache) == 1
    host.close()
    closed = host.serve("find", image.id, box(image), {"object_name": "dog"})
    assert closed.error is not None and "closed" in closed.error
    with pytest.raises(TypeError, match="cache must be"):
        ModelHost(config(), "all", store=store, cache="yes")  # type: ignore[arg-type]


def test_models_load_once_on_the_planned_device(store, image):
    with ModelHost(config(), "all", store=store) as host:
        concurrently(8, lambda i: host.serve("find", image.id, box(image), {"object_name": f"{i}"}))
        module = host.modules["m"]
        assert module.loaded and module.loaded_on == ("-", "-")
        assert host.placement()["m"].reason == "no local weights"


# --- placement --------------------------------------------------------------------------------


def test_placement_by_declared_memory():
    gpus = [Gpu("cuda:0", 10.0, bf16=True), Gpu("cuda:1", 6.0, bf16=False)]
    plan = plan_placement(
        [
            PlacementRequest("big", 8.0),
            PlacementRequest("medium", 5.0),
            PlacementRequest("small", 1.5),
            PlacementRequest("huge", 20.0),
            PlacementRequest("fp32", 0.5, half_ok=False),
            PlacementRequest("http", 0.0, uses_torch=False),
        ],
        gpus,
    )
    assert plan["big"].device == "cuda:0" and plan["big"].dtype == "bfloat16"
    assert plan["medium"].device == "cuda:1" and plan["medium"].dtype == "float16"
    assert plan["small"].device == "cuda:0"  # 2.0 free on cuda:0 vs 1.0 on cuda:1
    assert plan["huge"].device == "cpu" and "needs 20 GB" in plan["huge"].reason
    assert plan["huge"].dtype == "float32"
    assert plan["fp32"].dtype == "float32" and plan["fp32"].device.startswith("cuda")
    assert plan["http"].device == "-"


def test_pinned_devices_and_fallback_to_cpu():
    plan = plan_placement(
        [
            PlacementRequest("a", 1.0, device="cuda:1"),
            PlacementRequest("b", 1.0, device="cpu"),
            PlacementRequest("c", 1.0, device="cuda", dtype="float16"),
            PlacementRequest("d", 1.0),
        ],
        [],
    )
    assert plan["a"].device == "cpu" and "cuda:1 is not available" in plan["a"].reason
    assert plan["b"].device == "cpu" and plan["b"].reason.startswith("pinned")
    assert plan["c"].device == "cpu" and plan["c"].dtype == "float32"  # fp16 on CPU refused
    assert plan["d"].device == "cpu" and "no GPU" in plan["d"].reason


def test_dtype_choice():
    assert choose_dtype("auto", "cpu") == ("float32", "CPU")
    assert choose_dtype("auto", "cuda:0", bf16=True)[0] == "bfloat16"
    assert choose_dtype("auto", "cuda:0", bf16=True, bf16_ok=False)[0] == "float16"
    assert choose_dtype("auto", "cuda:0", half_ok=False)[0] == "float32"
    assert choose_dtype("bfloat16", "cpu")[0] == "bfloat16"
    assert choose_dtype("float16", "cpu")[0] == "float32"


def test_no_gpu_here_means_cpu():
    assert discover_gpus("cpu") == []
    import torch

    if not torch.cuda.is_available():
        assert discover_gpus("auto") == []


class TorchCountingModule(CountingModule):
    """A counting module that claims torch, so loading it sets torch's thread count."""

    kind: ClassVar[str] = "test-torch-counting"
    uses_torch: ClassVar[bool] = True


register_model_kind("test-torch-counting", TorchCountingModule, replace=True)


@pytest.fixture
def torch_threads():
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    yield torch
    torch.set_num_threads(before)


def torch_config(**host: Any):
    return parse_config(
        {
            "host": {"devices": "cpu", **host},
            "models": {"m": {"kind": "test-torch-counting"}},
            "profiles": {"all": {"find": "m"}},
        },
        source="test.toml",
    )


def test_loading_a_torch_model_sets_the_configured_thread_count(torch_threads):
    torch_threads.set_num_threads(3)
    with ModelHost(torch_config(torch_threads=1), cache=False) as host:
        host.load()
    assert torch_threads.get_num_threads() == 1


def test_torch_threads_default_to_the_cores_this_process_may_use(torch_threads):
    torch_threads.set_num_threads(7)
    with ModelHost(torch_config(), cache=False) as host:
        host.load()
    assert torch_threads.get_num_threads() == len(os.sched_getaffinity(0))


def test_a_host_without_torch_models_leaves_torch_threads_alone(torch_threads):
    torch_threads.set_num_threads(3)
    with ModelHost(config(torch_threads=1), "find-only", cache=False) as host:
        host.load()
    assert torch_threads.get_num_threads() == 3


@pytest.mark.parametrize("value", [0, -1, 1.5, "two", True])
def test_torch_threads_must_be_a_positive_int(value):
    with pytest.raises(ConfigError, match="torch_threads"):
        torch_config(torch_threads=value)


def test_the_host_refuses_an_oversize_argument_before_any_model_runs(store, image):
    """The parent-side check of the API bounds (a compromised worker skips the program's)."""
    with ModelHost(config(), "all", store=store, cache=False) as host:
        served = host.serve("simple_query", image.id, box(image), {"question": "cat " * 600})
        assert served.error_type == "ArgumentTooLarge"
        assert "simple_query: question is longer than 2,000 characters (2,400)" in served.error
        assert host.stats()["m"]["computed"] == 0
