"""The MLLM CoT converter against the scripted chat server (see conftest)."""

from __future__ import annotations

import json

import pytest

from vipexec.cli import main
from vipexec.core.program import Program
from vipexec.cot.converter import StepContext
from vipexec.cot.llm import OPENING, ConversionFailed, LLMStepConverter
from vipexec.modules.models.chat import ChatClient, HttpChat, ResponseCache

PROGRAM = (
    "# Step 1: find the circles\n"
    'circles = ImagePatch(image).find("circle")\n'
    "# Step 2: count them\n"
    "count = len(circles)\n"
    "print(count)\n"
    "# Step 3: look past the end\n"
    "extra = circles[99]\n"
)


@pytest.fixture
def scene_run(tmp_path, capsys):
    """A run of PROGRAM on synthetic scene 0: ``(run, image path)``."""
    from vipexec.modules.api import build_api
    from vipexec.modules.dispatch import LocalDispatcher
    from vipexec.modules.images import ImageStore
    from vipexec.modules.synthetic.backend import SyntheticBackend

    assert main(["scene", str(tmp_path / "scenes"), "--count", "1", "--seed", "0"]) == 0
    capsys.readouterr()
    path = tmp_path / "scenes" / "scene_0000.png"
    store = ImageStore()
    image = store.load(path)
    names = build_api(LocalDispatcher(SyntheticBackend(), store))
    return Program.from_source(PROGRAM).run_in_process(names, {"image": image}), path


def converter(url, tmp_path, **options):
    backend = HttpChat(url, "scripted", timeout=5, retries=1, backoff_s=0.01)
    return LLMStepConverter(ChatClient(backend, ResponseCache(tmp_path / "cache")), **options)


def context(run, path, index, previous=()):
    return StepContext(
        query="How many circles are there?", block=run.program.blocks[index],
        trace=run.blocks[index], images=(str(path),), previous=tuple(previous),
    )  # fmt: skip


def test_each_step_is_asked_with_its_code_values_and_image(chat_server, scene_run, tmp_path):
    run, path = scene_run
    found = run.blocks[0].variables["circles"]
    assert found["len"] >= 1
    llm = converter(chat_server.url, tmp_path)
    assert llm.name == "llm:scripted"
    steps = []
    for index in range(3):
        steps.append(llm.convert(context(run, path, index, steps)))
    assert steps == [chat_server.step_text] * 3  # the preamble before the opening is cut
    first, second, third = chat_server.requests
    assert first["temperature"] == 0.0 and first["model"] == "scripted"
    assert first["messages"][0]["content"] == llm.instruction
    assert 'Begin with exactly "In this step, we use"' in llm.instruction
    text, picture = first["messages"][1]["content"]
    assert picture["image_url"]["url"].startswith("data:image/png;base64,")
    assert 'circles = ImagePatch(image).find("circle")' in text["text"]
    assert "(none: this is the first step)" in text["text"]
    facts = json.loads(text["text"].split("What happened when it ran (JSON):\n")[1].split("\n")[0])
    boxes = [item["box"] for item in found["items"]]
    assert facts["values"]["circles"] == [{"region": box} for box in boxes]
    assert facts["calls"][0]["method"] == "find"
    assert facts["calls"][0]["args"] == {"object_name": "circle"}
    assert facts["calls"][0]["result"] == boxes
    assert f"1. {chat_server.step_text}" in second["messages"][1]["content"][0]["text"]
    failed = json.loads(
        third["messages"][1]["content"][0]["text"].split("(JSON):\n")[1].split("\n")[0]
    )
    assert failed["status"] == "error"
    assert failed["error"] == {"type": "IndexError", "message": "list index out of range"}
    # the same step again comes from the cache
    assert llm.convert(context(run, path, 0)) == steps[0]
    assert len(chat_server.requests) == 3 and llm.client.cached == 1


def test_without_images_the_content_is_text(chat_server, scene_run, tmp_path):
    run, path = scene_run
    llm = converter(chat_server.url, tmp_path, send_images=False)
    llm.convert(context(run, path, 1))
    assert isinstance(chat_server.requests[0]["messages"][1]["content"], str)


def test_an_answer_without_the_opening_fails_clearly(chat_server, scene_run, tmp_path):
    run, path = scene_run
    chat_server.step_text = "We count the circles."
    with pytest.raises(ConversionFailed, match=f"does not begin {OPENING!r}: Here you go"):
        converter(chat_server.url, tmp_path).convert(context(run, path, 1))


def test_a_dead_server_fails_clearly(scene_run, tmp_path):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    run, path = scene_run
    llm = converter(f"http://127.0.0.1:{port}/v1", tmp_path)
    with pytest.raises(ConversionFailed, match=r"the request failed: .*cannot reach"):
        llm.convert(context(run, path, 0))
