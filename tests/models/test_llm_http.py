"""The OpenAI-compatible chat client against a test server on 127.0.0.1 (see conftest)."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from vipexec.modules.models.host import ModelHost
from vipexec.modules.models.profile import parse_config
from vipexec.modules.models.prompts import parse_choice


def llm_config(url: str | None, **options):
    model = {"kind": "llm_http", "retries": 2, "backoff_s": 0.01, "timeout_s": 5.0, **options}
    if url is not None:
        model["base_url"] = url
    return parse_config(
        {
            "host": {"max_wait_ms": 50},
            "models": {"llm": model},
            "profiles": {"p": {"llm_query": "llm", "select_answer": "llm"}},
        },
        source="llm.toml",
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_llm_query_and_select_answer(openai_server, store, monkeypatch):
    monkeypatch.setenv("TEST_LLM_KEY", "sekrit")
    config = llm_config(openai_server.url, model="tiny", api_key_env="TEST_LLM_KEY")
    with ModelHost(config, store=store) as host:
        long = host.serve("llm_query", None, None, {"question": "why?", "long_answer": True})
        assert long.error is None and long.result == "echo: why?"
        assert long.model == f"llm_http:tiny@{openai_server.url}"
        short = host.serve("llm_query", None, None, {"question": "why?", "long_answer": False})
        assert short.cache_hit is False  # long_answer is part of the key
        args = {"info": {"frames": [1, 2]}, "question": "which?", "options": ["left", "right"]}
        choice = host.serve("select_answer", None, None, args)
        assert choice.result == "right"
        again = host.serve("select_answer", None, None, args)
        assert again.cache_hit is True
    first, second, third = openai_server.requests
    assert first["model"] == "tiny" and first["temperature"] == 0.0
    assert first["max_tokens"] == 256 and second["max_tokens"] == 16
    assert "single word" in second["messages"][0]["content"]
    assert '"frames": [1, 2]' in third["messages"][1]["content"]
    assert openai_server.headers[0]["Authorization"] == "Bearer sekrit"


def test_a_batch_goes_out_concurrently(openai_server, store):
    openai_server.delay_s = 0.2
    with ModelHost(llm_config(openai_server.url, model="tiny"), store=store) as host:
        results = [None] * 6

        def ask(i):
            results[i] = host.serve(
                "llm_query", None, None, {"question": f"q{i}", "long_answer": True}
            )

        threads = [threading.Thread(target=ask, args=(i,)) for i in range(6)]
        start = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - start
        assert all(r.result == f"echo: q{i}" for i, r in enumerate(results))
        assert host.invocations("llm") < 6
        assert openai_server.max_in_flight > 1
        assert elapsed < 6 * 0.2


def test_retries_then_succeeds(openai_server, store):
    openai_server.fail_next = 2
    with ModelHost(llm_config(openai_server.url, model="tiny"), store=store) as host:
        served = host.serve("llm_query", None, None, {"question": "hi", "long_answer": True})
    assert served.error is None and served.result == "echo: hi"
    assert len(openai_server.requests) == 3


def test_model_defaults_to_the_first_served(openai_server, store, monkeypatch):
    monkeypatch.delenv("VIPEXEC_LLM_MODEL", raising=False)
    with ModelHost(llm_config(openai_server.url), store=store) as host:
        served = host.serve("llm_query", None, None, {"question": "hi", "long_answer": False})
    assert served.error is None
    assert openai_server.requests[0]["model"] == "tiny-served"


def test_base_url_from_the_environment(openai_server, store, monkeypatch):
    monkeypatch.setenv("VIPEXEC_LLM_BASE_URL", openai_server.url)
    monkeypatch.setenv("VIPEXEC_LLM_MODEL", "env-model")
    with ModelHost(llm_config(None), store=store) as host:
        served = host.serve("llm_query", None, None, {"question": "hi", "long_answer": False})
    assert served.error is None and openai_server.requests[0]["model"] == "env-model"


def test_unreachable_server_is_one_clear_error(store):
    url = f"http://127.0.0.1:{free_port()}/v1"
    with ModelHost(llm_config(url, model="tiny"), store=store) as host:
        start = time.perf_counter()
        served = host.serve("llm_query", None, None, {"question": "hi", "long_answer": True})
    assert time.perf_counter() - start < 5
    assert served.error_type == "ServerUnreachable"
    assert served.error.startswith("ServerUnreachable: llm_query() is unavailable")
    assert f"cannot reach the model server at {url}/chat/completions" in served.error
    assert "after 3 tries" in served.error


def test_missing_base_url(store, monkeypatch):
    monkeypatch.delenv("VIPEXEC_LLM_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with ModelHost(llm_config(None, model="tiny"), store=store) as host:
        served = host.serve("llm_query", None, None, {"question": "hi", "long_answer": True})
    assert served.error_type == "ModuleUnavailable" and "has no base_url" in served.error


def test_http_errors_other_than_retryable_are_reported(openai_server, store):
    config = llm_config(openai_server.url.replace("/v1", "/nope"), model="tiny")
    with ModelHost(config, store=store) as host:
        served = host.serve("llm_query", None, None, {"question": "hi", "long_answer": True})
    assert served.error_type == "ValueError" and "HTTP 404" in served.error


def test_check_reports_reachability(openai_server):
    from vipexec.modules.models.llm_http import HttpLLMModule

    config = llm_config(openai_server.url, model="tiny")
    module = HttpLLMModule(config.models["llm"], config.context)
    ok, reason = module.check()
    assert ok and "tiny-served" in reason
    dead = llm_config(f"http://127.0.0.1:{free_port()}/v1", model="tiny")
    ok, reason = HttpLLMModule(dead.models["llm"], dead.context).check()
    assert not ok and "cannot reach" in reason


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("right", "right"),
        ("Right.", "right"),
        ("2", "right"),
        ("Option 1", "left"),
        ("I would say the left one", "left"),
        ("the far left side", "far left"),
        ("rihgt", "right"),
    ],
)
def test_parse_choice(reply, expected):
    assert parse_choice(reply, ["left", "right", "far left"]) == expected
