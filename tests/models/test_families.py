"""Each model family with a tiny random model, loaded through the same path as a real checkpoint:
result types and shapes, batching, device fallback, and the errors for missing or broken files."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from vipexec.modules.models.host import ModelHost
from vipexec.modules.models.profile import parse_config


def box(ref):
    return (0, 0, ref.width, ref.height)


def inside(found, outer):
    return (
        outer[0] <= found[0] < found[2] <= outer[2] and outer[1] <= found[1] < found[3] <= outer[3]
    )


def concurrently(count, call):
    results = [None] * count
    barrier = threading.Barrier(count)

    def work(i):
        barrier.wait()
        results[i] = call(i)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def single(tiny_models, model: dict, method: str = "find", **host):
    """A config with one model (its paths relative to the tiny-model folder) routed to method."""
    return parse_config(
        {
            "host": {"max_wait_ms": 30, **host},
            "models": {"m": model},
            "profiles": {"p": {method: "m"}},
        },
        source=str(tiny_models["config"]),
        base_dir=tiny_models["folder"],
    )


@pytest.fixture(scope="module")
def hosts(tiny_config):
    """One host per profile of the tiny config, shared by this module's tests (its own store)."""
    from vipexec.modules.images import ImageStore

    store = ImageStore()
    made = {name: ModelHost(tiny_config, name, store=store) for name in tiny_config.profiles}
    yield store, made
    for host in made.values():
        host.close()


@pytest.fixture
def picture(hosts):
    store, _ = hosts
    rng = np.random.default_rng(7)
    return store.add(rng.integers(0, 255, (96, 128, 3), dtype=np.uint8))


# --- detectors --------------------------------------------------------------------------------


@pytest.mark.parametrize("profile", ["ultralytics", "world", "transformers"])
def test_detectors_return_boxes_inside_the_patch(hosts, picture, profile):
    _, made = hosts
    host = made[profile]
    patch = (10, 20, 100, 90)
    served = host.serve("find", picture.id, patch, {"object_name": "person"})
    assert served.error is None, served.error
    assert isinstance(served.result, list) and 1 <= len(served.result) <= 3
    for found in served.result:
        assert isinstance(found, tuple) and len(found) == 4
        assert all(isinstance(v, int) for v in found)
        assert inside(found, patch)
    exists = host.serve("exists", picture.id, patch, {"object_name": "person"})
    assert exists.result is True and exists.cache_hit is True


def test_closed_vocabulary_names(hosts, picture, tiny_models):
    _, made = hosts
    host = made["ultralytics"]
    plural = host.serve("find", picture.id, box(picture), {"object_name": "cars"})
    assert plural.error is None  # "cars" -> COCO's "car"
    unknown = host.serve("find", picture.id, box(picture), {"object_name": "unicorn"})
    assert unknown.error_type == "ModuleUnavailable"
    assert "'unicorn' is not a class of the closed-set detector" in unknown.error
    assert "80 classes" in unknown.error
    relaxed = single(tiny_models, {"kind": "yolo", "checkpoint": "yolov8n.pt", "imgsz": 160,
                                   "unknown_class": "empty", "aliases": {"unicorn": "horse"},
                                   "conf": 0.0, "max_det": 2})  # fmt: skip
    with ModelHost(relaxed, store=made["ultralytics"].store) as other:
        assert other.serve("find", picture.id, box(picture), {"object_name": "dragon"}).result == []
        horse = other.serve("find", picture.id, box(picture), {"object_name": "unicorn"})
        assert horse.error is None and len(horse.result) == 2


@pytest.mark.parametrize("model", ["yolo-world", "owl", "yolo"])
def test_detector_batches_concurrent_names_into_one_pass(tiny_config, store, image, model):
    config = parse_config(
        {
            "host": {"max_batch": 16, "max_wait_ms": 100},
            "models": {name: _raw(tiny_config, name) for name in {model, "clip"}},
            "profiles": {"p": {"find": model}},
        },
        source=tiny_config.source,
        base_dir=tiny_config.base_dir,
    )
    names = ["person", "car", "dog", "cat", "bus", "bird"]
    with ModelHost(config, store=store) as host:
        host.load()
        results = concurrently(
            len(names),
            lambda i: host.serve("find", image.id, box(image), {"object_name": names[i]}),
        )
        assert all(r.error is None and isinstance(r.result, list) for r in results)
        assert host.computed(model) == len(names)
        assert host.invocations(model) < len(names)
        if model == "yolo-world":
            assert host.modules["clip"].loaded  # the text encoder of the class names


def _raw(config, name):
    """A model of the tiny config back as raw config data."""
    spec = config.models[name]
    raw = {"kind": spec.kind, "checkpoint": spec.checkpoint, **dict(spec.options)}
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in raw.items() if v is not None}


# --- contrastive models -----------------------------------------------------------------------


@pytest.mark.parametrize("profile", ["ultralytics", "transformers"])  # open_clip, hf_clip
def test_contrastive_methods(hosts, picture, profile):
    _, made = hosts
    host = made[profile]
    b = box(picture)
    verify = host.serve(
        "verify_property", picture.id, b, {"object_name": "car", "attribute": "red"}
    )
    assert verify.error is None and isinstance(verify.result, bool)
    options = ["a cat", "a dog", "a car"]
    best = host.serve("best_text_match", picture.id, b, {"options": options, "prefix": "photo of"})
    assert best.result in options
    crops = [[picture.id, [0, 0, 64, 48]], [picture.id, [64, 48, 128, 96]], [picture.id, list(b)]]
    index = host.serve(
        "best_image_match", None, None, {"crops": crops, "content": ["a car", "red"]}
    )
    assert isinstance(index.result, int) and 0 <= index.result < 3
    module = host.modules["clip" if profile == "ultralytics" else "hf-clip"]
    vectors = module.encode_texts(["a cat", "a dog"])
    assert vectors.shape[0] == 2
    assert np.allclose(vectors.norm(dim=-1).numpy(), 1.0, atol=1e-4)


# --- VQA, depth, local LLM --------------------------------------------------------------------


@pytest.mark.parametrize(("model", "style"), [("blip", "blip"), ("llava", "chat")])
def test_vqa_answers_strings_in_batches(tiny_config, store, image, model, style):
    config = tiny_config.with_host(max_wait_ms=150)
    profile = "ultralytics" if model == "blip" else "world"
    questions = ["what is this?", "what color is it?", "how many cats are there?"]
    with ModelHost(config, profile, store=store) as host:
        host.load(["simple_query"])
        results = concurrently(
            3,
            lambda i: host.serve("simple_query", image.id, box(image), {"question": questions[i]}),
        )
        assert all(r.error is None and isinstance(r.result, str) for r in results)
        assert host.modules[model].style == style
        assert host.invocations(model) < 3


@pytest.mark.parametrize("profile", ["ultralytics", "world"])  # DPT, Depth Anything
def test_depth_is_a_float_and_one_pass_per_image(hosts, picture, profile):
    _, made = hosts
    host = made[profile]
    patches = [(0, 0, 64, 48), (64, 48, 128, 96), (10, 10, 20, 20), (0, 0, 128, 96)]
    results = concurrently(
        len(patches), lambda i: host.serve("compute_depth", picture.id, patches[i], {})
    )
    assert all(r.error is None and isinstance(r.result, float) for r in results)
    module = host.modules["dpt" if profile == "ultralytics" else "depth-anything"]
    assert picture.id in module._maps  # the whole image's map, reused by every patch


def test_local_llm(hosts):
    _, made = hosts
    host = made["transformers"]
    answer = host.serve(
        "llm_query", None, None, {"question": "what is a cat?", "long_answer": True}
    )
    assert answer.error is None and isinstance(answer.result, str)
    options = ["yes", "no", "maybe"]
    args = {"info": {"count": 2}, "question": "is it?", "options": options}
    choice = host.serve("select_answer", None, None, args)
    assert choice.result in options


# --- device fallback and errors ---------------------------------------------------------------


def test_a_model_pinned_to_a_missing_gpu_runs_on_cpu(tiny_models, store, image):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    config = single(
        tiny_models,
        {"kind": "yolo", "checkpoint": "yolov8n.pt", "imgsz": 160, "device": "cuda:0",
         "dtype": "float16", "conf": 0.0, "max_det": 1},
    )  # fmt: skip
    with ModelHost(config, store=store) as host:
        served = host.serve("find", image.id, box(image), {"object_name": "person"})
        assert served.error is None
        placed = host.placement()["m"]
        assert placed.device == "cpu" and placed.dtype == "float32"
        assert "cuda:0 is not available" in placed.reason
        assert host.modules["m"].device == "cpu"


@pytest.mark.parametrize(
    ("model", "method", "expected"),
    [
        (
            {"kind": "yolo", "checkpoint": "nowhere/yolov8x-worldv2.pt"},
            "find",
            "nowhere/yolov8x-worldv2.pt",
        ),
        (
            {"kind": "vqa", "checkpoint": "Salesforce/blip-vqa-base"},
            "simple_query",
            "Hugging Face cache",
        ),
        (
            {"kind": "open_clip", "arch": "ViT-B-32", "checkpoint": "openai"},
            "verify_property",
            "offline",
        ),
        (
            {"kind": "depth", "checkpoint": "/no/such/depth-folder"},
            "compute_depth",
            "/no/such/depth-folder",
        ),
    ],
)
def test_missing_checkpoint_is_one_clear_error(tiny_models, store, image, model, method, expected):
    config = single(tiny_models, model, method)
    args = {
        "find": {"object_name": "cat"},
        "simple_query": {"question": "what?"},
        "verify_property": {"object_name": "cat", "attribute": "red"},
        "compute_depth": {},
    }[method]
    with ModelHost(config, store=store) as host:
        served = host.serve(method, image.id, box(image), args)
    assert served.error_type == "ModelNotFound"
    message = served.error
    assert "\n" not in message
    assert f"{method}() is unavailable" in message
    assert "model 'm'" in message and f"({model['kind']})" in message
    assert "looked in:" in message and expected in message
    if not model["checkpoint"].startswith("/") and model["kind"] != "open_clip":
        assert str(tiny_models["folder"]) in message  # relative to the config file's folder


def test_a_broken_checkpoint_is_a_load_error(tiny_models, store, image, tmp_path):
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"this is not a checkpoint")
    config = single(tiny_models, {"kind": "yolo", "checkpoint": str(broken)})
    with ModelHost(config, store=store) as host:
        served = host.serve("find", image.id, box(image), {"object_name": "cat"})
    assert served.error_type == "ModelLoadError"
    assert "find() is unavailable" in served.error and "model 'm' (yolo)" in served.error
    assert str(broken) in served.error


def test_open_vocabulary_without_text_encoder_says_what_to_do(tiny_models, store, image):
    config = single(tiny_models, {"kind": "yolo", "checkpoint": "yolov8n-worldv2.pt", "imgsz": 160})
    with ModelHost(config, store=store) as host:
        served = host.serve("find", image.id, box(image), {"object_name": "cat"})
    assert served.error_type == "ModelLoadError"
    assert "set text_encoder" in served.error and "find()" in served.error


@pytest.fixture(scope="module")
def more_yolo(tiny_models, tmp_path_factory):
    """An end-to-end (NMS-free) YOLO26 and an open-vocabulary YOLOE, next to the tiny CLIP."""
    from vipexec.modules.models import tiny

    folder = tiny_models["folder"]
    return {
        "yolo26": tiny.build_yolo(folder, "yolo26n.yaml"),
        "yoloe": tiny.build_yolo(folder, "yoloe-v8n.yaml"),
    }


@pytest.mark.parametrize(
    ("checkpoint", "extra"),
    [("yolo26n.pt", {}), ("yoloe-v8n.pt", {"text_encoder": "clip"})],
)
def test_yolo26_and_yoloe(tiny_models, tiny_config, more_yolo, store, image, checkpoint, extra):
    config = parse_config(
        {
            "models": {
                "m": {"kind": "yolo", "checkpoint": checkpoint, "imgsz": 160, "conf": 0.0,
                      "max_det": 2, **extra},
                "clip": _raw(tiny_config, "clip"),
            },
            "profiles": {"p": {"find": "m"}},
        },
        base_dir=tiny_models["folder"],
    )  # fmt: skip
    with ModelHost(config, store=store) as host:
        patch = (8, 8, 120, 90)
        served = host.serve("find", image.id, patch, {"object_name": "person"})
        assert served.error is None, served.error
        assert len(served.result) == 2 and all(inside(b, patch) for b in served.result)
        family = host.modules["m"]._family
        assert family == ("yoloe" if "yoloe" in checkpoint else "detect")
