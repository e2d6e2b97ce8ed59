"""A scripted OpenAI-compatible chat server on 127.0.0.1 for the generation tests.

It reads the question and the step asked for out of the generator's prompt and answers by the
question's first word (``behaviour``):

- ``good``: clean blocks whose description names the request's seed (so the alternatives of a
  step differ); Step 2 prints the answer and ``Work is Done!``;
- ``chatty``: the block inside prose and a code fence, after a repeat of the earlier blocks and
  with a wrong step number;
- ``garbled``: every second request for the question is answered with prose and no block;
- ``flaky500``: the first request for the question answers HTTP 500, the rest as ``good``;
- ``slow``: the first request for the question outlasts the client's timeout, then ``good``;
- ``dead``: every request answers HTTP 500.

The server records every request (``requests``) and how many it saw per question.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from vipexec.benchmark.synthetic_queries import FAMILIES, make_synthetic_queries
from vipexec.generate.protocol import Query
from vipexec.generate.queries import read_queries
from vipexec.generate.tree_builder import TreeLimits, build_tree
from vipexec.testing.chat_server import ChatServer, choices

SLOW_S = 3.0
"""how long a ``slow`` question's first answer takes (tests use a 1 s client timeout)"""


def good_block(step: int, seed: int) -> str:
    shape = "circle" if seed % 2 == 0 else "square"
    if step == 1:
        return f'# Step 1: find the {shape}s (seed {seed})\nfound = ImagePatch(image).find("{shape}")\n'
    return f"# Step 2: count them (seed {seed})\nprint(len(found))\nprint('Work is Done!')\n"


class ScriptedChat(ChatServer):
    models = ("scripted",)
    step_text = "In this step, we use the object finder and see two circles."
    """what a CoT converter's request is answered with (after a short preamble)"""

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()
        self.meet: threading.Barrier | None = None
        """when set, a first-step request waits until this many are in flight at once"""
        super().__init__()

    def answer(self, path: str, payload: dict) -> tuple[int, dict]:
        if payload["messages"][0]["content"].startswith("You turn one step"):
            return 200, choices(["Here you go. " + self.step_text])
        user = payload["messages"][-1]["content"]
        if isinstance(user, list):
            user = next(part["text"] for part in user if part["type"] == "text")
        question = re.search(r"Question: (.*)", user).group(1)
        step = int(re.search(r"Write only Step (\d+)", user).group(1))
        seed = payload.get("seed", 0)
        behaviour = question.split()[0].rstrip(":")
        with self.lock:
            self.seen[question] += 1
            count = self.seen[question]
        first = count == 1
        if self.meet is not None and step == 1:
            try:
                self.meet.wait()
            except threading.BrokenBarrierError:
                return 500, {"error": "the requests did not come at once"}
        if behaviour == "dead" or (behaviour == "flaky500" and first):
            return 500, {"error": "overloaded"}
        if behaviour == "slow" and first:
            time.sleep(SLOW_S)
        texts = [self._text(behaviour, step, seed + i, count) for i in range(payload.get("n", 1))]
        return 200, choices(texts)

    def _text(self, behaviour: str, step: int, seed: int, count: int) -> str:
        block = good_block(step, seed)
        if behaviour == "chatty":
            earlier = "".join(good_block(s, seed) for s in range(1, step))
            renumbered = block.replace(f"# Step {step}:", f"# Step {step + 3}:")
            return (
                f"Sure! Here is the program.\n```python\n{earlier}{renumbered}```\nHope it helps."
            )
        if behaviour == "garbled" and count % 2 == 0:
            return "I am not able to write code for this question."
        return f"```python\n{block}```"


@pytest.fixture
def chat_server():
    server = ScriptedChat()
    yield server
    server.close()


@pytest.fixture
def scene_images(tmp_path):
    """A folder with one synthetic scene image, ``scene.png``."""
    import numpy as np
    from PIL import Image

    folder = tmp_path / "images"
    folder.mkdir()
    pixels = np.zeros((48, 64, 3), dtype=np.uint8)
    pixels[10:30, 10:30] = (255, 0, 0)
    Image.fromarray(pixels).save(folder / "scene.png")
    return folder


def grow_tree(generator, query, alternatives=2, max_steps=8):
    """The generation's own tree builder with the given limits."""
    return build_tree(generator, query, TreeLimits(alternatives=alternatives, max_steps=max_steps))


def load_queries(path: Path) -> list[Query]:
    queries, errors = read_queries(path, path.parent / "images")
    assert errors == []
    return queries


@pytest.fixture(scope="session")
def grow():
    return grow_tree


@pytest.fixture(scope="session")
def queries(tmp_path_factory):
    """One query per family (written once per test session)."""
    out = tmp_path_factory.mktemp("grammar")
    return load_queries(make_synthetic_queries(out, len(FAMILIES), seed=3))


@pytest.fixture(scope="session")
def reload_queries():
    return load_queries
