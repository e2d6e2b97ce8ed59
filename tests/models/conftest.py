"""Fixtures of the model-layer tests: tiny random models built once per session, a store with an
image and a video, an OpenAI-compatible test server on 127.0.0.1, and program runners.

Tiny models are built from configs (ultralytics YAMLs, a registered open_clip config,
transformers config objects), saved in their libraries' standard formats under a session temp
folder, and loaded back through the same code path a real checkpoint takes.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from vipexec.testing.chat_server import ChatServer, choices

# ultralytics reads YOLO_CONFIG_DIR at import: keep its settings out of the user's home
_SESSION_TMP = Path(tempfile.gettempdir()) / "vipexec-model-tests"
os.environ.setdefault("VIPEXEC_CACHE_DIR", str(_SESSION_TMP / "cache"))
os.environ.setdefault("YOLO_CONFIG_DIR", str(_SESSION_TMP / "ultralytics"))
os.environ.setdefault("YOLO_VERBOSE", "False")


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    """Every tiny model, built once: ``{"folder": Path, "paths": {...}, "config": Path}``."""
    from vipexec.modules.models import tiny

    folder = tmp_path_factory.mktemp("tiny-models")
    paths = {
        "yolo": tiny.build_yolo(folder),
        "yolo_world": tiny.build_yolo(folder, "yolov8n-worldv2.yaml"),
        "open_clip": tiny.build_open_clip(folder),
        "hf_clip": tiny.build_hf_clip(folder / "hf_clip"),
        "owl": tiny.build_owl(folder / "owl"),
        "blip": tiny.build_blip_vqa(folder / "blip"),
        "llava": tiny.build_llava(folder / "llava"),
        "llm": tiny.build_causal_lm(folder / "llm"),
        "dpt": tiny.build_dpt(folder / "dpt"),
        "depth_anything": tiny.build_depth_anything(folder / "depth_anything"),
    }
    config = tiny.write_tiny_config(folder, paths)
    return {"folder": folder, "paths": paths, "config": config}


@pytest.fixture(scope="session")
def tiny_config(tiny_models):
    from vipexec.modules.models import load_config

    return load_config(tiny_models["config"])


@pytest.fixture
def store():
    from vipexec.modules.images import ImageStore

    return ImageStore()


@pytest.fixture
def image(store):
    rng = np.random.default_rng(0)
    return store.add(rng.integers(0, 255, (96, 128, 3), dtype=np.uint8))


@pytest.fixture
def video(store):
    rng = np.random.default_rng(1)
    return store.add_video([rng.integers(0, 255, (48, 64, 3), dtype=np.uint8) for _ in range(3)])


# --- an OpenAI-compatible test server ---------------------------------------------------------


class FakeOpenAI(ChatServer):
    """An OpenAI-compatible chat server on 127.0.0.1 (see :class:`ChatServer`): ``fail_next``
    answers 503 that many times; ``delay_s`` holds each answer; ``reply`` maps a request payload
    to the assistant text."""

    def __init__(self) -> None:
        self.fail_next = 0
        self.delay_s = 0.0
        self.reply = self.default_reply
        super().__init__()

    def answer(self, path: str, payload: dict) -> tuple[int, dict]:
        with self.lock:
            failing = self.fail_next > 0
            self.fail_next -= failing
        if self.delay_s:
            time.sleep(self.delay_s)
        if failing:
            return 503, {"error": "busy"}
        if path != "/v1/chat/completions":
            return 404, {"error": "no such path"}
        return 200, choices([self.reply(payload)])

    @staticmethod
    def default_reply(payload: dict) -> str:
        user = payload["messages"][-1]["content"]
        if "Options:" in user:
            listed = [line.split(". ", 1)[1] for line in user.split("\n") if line[:1].isdigit()]
            return f"I think it is {listed[-1]}."
        return f"echo: {user}"


@pytest.fixture
def openai_server():
    server = FakeOpenAI()
    yield server
    server.close()


# --- running programs -------------------------------------------------------------------------


@pytest.fixture(params=["inprocess", "sandbox"])
def run_program(request):
    """``run_program(source, server, store, inputs) -> Run``: in process through
    ``ServerDispatcher``, or in a ``vipexec.Sandbox`` worker with the server in the parent."""
    from vipexec import Program

    def run(source, server, store, inputs):
        program = Program.from_source(source, name="program.py")
        if request.param == "inprocess":
            from vipexec.modules.api import build_api
            from vipexec.modules.dispatch import ServerDispatcher

            return program.run_in_process(
                namespace=build_api(ServerDispatcher(server)), inputs=inputs
            )
        import vipexec

        with vipexec.Sandbox(workers=2, timeout=60, server=server, store=store) as sandbox:
            return sandbox.run(program, inputs=inputs)

    run.mode = request.param
    return run
