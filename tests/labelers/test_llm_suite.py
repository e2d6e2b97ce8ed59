"""LLM-written PropTest suites: the prompt, the request to an OpenAI-compatible endpoint (a fake
server on 127.0.0.1 with canned answers) and the suite run against the program in the sandbox."""

from __future__ import annotations

import pytest

from vipexec.core.errors import InvalidArgumentError
from vipexec.labelers.base import LabelContext
from vipexec.labelers.llm_suite import SuiteWriter, extract_code, suite_prompt
from vipexec.labelers.logic import LogicLabeler
from vipexec.testing.chat_server import ChatServer, choices

QUERY = "How many red circles are there?"
SUITE_REPLY = """Here are the tests.

```python
def execute_test(image):
    result = solve_query(image)
    # Test case 1:
    assert isinstance(result, int) and result >= 0, "Expected a count."
    image_patch = ImagePatch(image)
    circles = image_patch.find("circle")
    red_circles = [p for p in circles if p.verify_property("circle", "red")]
    # Test case 2:
    assert result == len(red_circles), "The answer counts the circles that are red."
    return result
```
"""
CORRECT = """def execute_command(image):
    image_patch = ImagePatch(image)
    circles = image_patch.find("circle")
    red_circles = [c for c in circles if c.verify_property("circle", "red")]
    return len(red_circles)
"""
COUNTS_EVERY_CIRCLE = CORRECT.replace("return len(red_circles)", "return len(circles)")


class FakeChat(ChatServer):
    """A chat-completions endpoint answering every request with ``reply``; ``paths`` records
    where each request went."""

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.paths: list[str] = []
        super().__init__()

    def answer(self, path: str, payload: dict) -> tuple[int, dict]:
        self.paths.append(path)
        return 200, choices([self.reply])


@pytest.fixture
def chat():
    server = FakeChat(SUITE_REPLY)
    yield server
    server.close()


def test_the_prompt_states_the_query_and_the_rules():
    prompt = suite_prompt(QUERY)
    assert prompt.rstrip().endswith(f"Question: {QUERY}")
    assert "execute_test" in prompt and "# Test case N:" in prompt
    assert "Never assert a constant answer" in prompt


def test_code_is_taken_from_the_fenced_block():
    assert extract_code(SUITE_REPLY).startswith("def execute_test(image):")
    assert extract_code("def execute_test(image):\n    return 1") == (
        "def execute_test(image):\n    return 1\n"
    )


def test_the_writer_asks_the_endpoint_once_per_query(chat):
    writer = SuiteWriter(base_url=chat.url, model="fake-model")
    suite = writer.suite_for(QUERY)
    assert suite.kind == "proptest"
    assert [t.name for t in suite.tests] == ["execute_test"]
    assert writer.suite_for(QUERY) is suite
    (request,) = chat.requests
    assert chat.paths == ["/v1/chat/completions"]
    assert request["model"] == "fake-model"
    assert QUERY in request["messages"][0]["content"]


def test_the_suite_runs_in_the_sandbox_and_judges_the_answer_block(chat, world, run_on):
    store, _api, ref, _ = world
    writer = SuiteWriter(base_url=chat.url, model="fake-model")
    labeler = LogicLabeler(checks=["suite"], suite_writer=writer)
    context = LabelContext(query=QUERY, store=store, inputs={"image": ref})
    good, bad = run_on(CORRECT), run_on(COUNTS_EVERY_CIRCLE)
    assert good.result != bad.result  # the scene has circles that are not red
    good_labels = labeler.label(good, context)
    bad_labels = labeler.label(bad, context)
    assert good_labels[-1].value is True
    assert good_labels[-1].text == "passed: suite"
    assert bad_labels[-1].value is False
    assert "The answer counts the circles that are red" in bad_labels[-1].text
    assert labeler.config()["suite_writer"]["model"] == "fake-model"


def test_an_unreachable_endpoint_is_a_skip_not_a_label(world, run_on):
    store, _api, ref, _ = world
    closed = FakeChat(SUITE_REPLY)
    closed.close()  # its port now refuses connections
    writer = SuiteWriter(base_url=closed.url, model="m", retries=0, timeout=5)
    labeler = LogicLabeler(checks=["suite"], suite_writer=writer)
    checks = labeler.run_checks(
        run_on(CORRECT), LabelContext(query=QUERY, store=store, inputs={"image": ref})
    )
    assert [(c.name, c.outcome) for c in checks] == [("suite", "skip")]
    assert checks[0].message.startswith("no LLM suite:")


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        ("I cannot see the image, sorry.", "not valid Python"),
        ("```python\nanswer = 3\n```", "no tests found"),
    ],
)
def test_a_reply_without_tests_is_refused(chat, reply, problem):
    chat.reply = reply
    writer = SuiteWriter(base_url=chat.url, model="fake-model")
    with pytest.raises(InvalidArgumentError, match=problem):
        writer.suite_for(QUERY)


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("VIPEXEC_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("VIPEXEC_LLM_MODEL", "env-model")
    assert SuiteWriter().settings() == ("http://127.0.0.1:9/v1", "env-model")
    monkeypatch.delenv("VIPEXEC_LLM_MODEL")
    with pytest.raises(InvalidArgumentError, match="need a model"):
        SuiteWriter().settings()
