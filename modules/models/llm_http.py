"""An OpenAI-compatible chat client for ``llm_query`` and ``select_answer`` (stdlib only).

Works with anything that serves ``POST {base_url}/chat/completions``: vLLM, Ollama
(``http://localhost:11434/v1``), llama.cpp's server, LM Studio, hosted APIs. Settings, each from
the config, else the environment:

- ``base_url``: ``$VIPEXEC_LLM_BASE_URL``, else ``$OPENAI_BASE_URL``;
- ``model``: ``$VIPEXEC_LLM_MODEL``, else the first model the server lists (``GET /models``);
- the API key: the variable named by ``api_key_env`` (default ``OPENAI_API_KEY``), if set.

Connection failures, timeouts, HTTP 429 and 5xx are retried ``retries`` times with exponential
backoff; then the call fails with one line naming the URL and the last error. A batch's
requests are sent concurrently (the server batches them itself).
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

from vipexec.modules.errors import ModuleUnavailable
from vipexec.modules.models.base import ModelModule, Option, Request, Resolver
from vipexec.modules.models.checkpoints import Located
from vipexec.modules.models.errors import ServerUnreachable
from vipexec.modules.models.prompts import llm_messages, parse_choice, select_messages

__all__ = ["HttpLLMModule", "chat_choices", "served_models"]

BASE_URL_ENV = ("VIPEXEC_LLM_BASE_URL", "OPENAI_BASE_URL")
MODEL_ENV = "VIPEXEC_LLM_MODEL"
_RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


class _Retryable(Exception):
    pass


def _request_json(
    url: str, payload: dict[str, Any] | None, *, key: str | None, timeout: float
) -> Any:
    data = None if payload is None else json.dumps(payload).encode()
    headers = {"Accept": "application/json"}
    if data is not None:
        headers["Content-Type"] = "application/json"
    if key:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:300].decode("utf-8", "replace").strip()
        if exc.code in _RETRY_STATUS:
            raise _Retryable(f"HTTP {exc.code} {detail}") from None
        raise ValueError(f"HTTP {exc.code} from {url}: {detail}") from None
    except urllib.error.URLError as exc:
        raise _Retryable(str(getattr(exc, "reason", exc))) from None
    except (TimeoutError, ConnectionError, OSError) as exc:
        raise _Retryable(f"{type(exc).__name__}: {exc}") from None
    try:
        return json.loads(body)
    except json.JSONDecodeError:
        raise ValueError(f"{url} answered with non-JSON: {body[:120]!r}") from None


def chat_choices(
    base_url: str,
    payload: dict[str, Any],
    *,
    key: str | None = None,
    timeout: float = 60.0,
    retries: int = 3,
    backoff_s: float = 0.5,
    method: str = "llm_query",
    name: str = "llm",
) -> list[str]:
    """The text of every choice the server returns for one ``/chat/completions`` request body.

    ``payload`` is sent as is (``n``, ``seed`` and image content parts included). Retried
    errors that persist raise :class:`ServerUnreachable`; any other failure (an HTTP 4xx, an
    answer without choices) raises ``ValueError``. Both messages are one line naming the URL.
    """
    url = base_url.rstrip("/") + "/chat/completions"
    last = ""
    for attempt in range(retries + 1):
        try:
            answer = _request_json(url, payload, key=key, timeout=timeout)
            break
        except _Retryable as exc:
            last = str(exc)
            if attempt < retries:
                time.sleep(backoff_s * (2**attempt))
    else:
        raise ServerUnreachable(method, name, url, f"{last} (after {retries + 1} tries)")
    try:
        choices = [str(choice["message"]["content"] or "") for choice in answer["choices"]]
    except (KeyError, TypeError):
        choices = []
    if not choices:
        raise ValueError(f"{url}: unexpected answer {str(answer)[:200]}")
    return choices


def served_models(
    base_url: str, *, key: str | None, timeout: float = 5.0, method: str = "*", name: str = "llm"
) -> list[str]:
    """Model names the server lists (``GET /models``); raises ServerUnreachable."""
    url = f"{base_url.rstrip('/')}/models"
    try:
        answer = _request_json(url, None, key=key, timeout=timeout)
    except _Retryable as exc:
        raise ServerUnreachable(method, name, url, str(exc)) from None
    data = answer.get("data") if isinstance(answer, dict) else None
    return [str(item.get("id")) for item in data or [] if isinstance(item, dict)]


class HttpLLMModule(ModelModule):
    kind: ClassVar[str] = "llm_http"
    methods: ClassVar[frozenset[str]] = frozenset({"llm_query", "select_answer"})
    needs_checkpoint: ClassVar[bool] = False
    uses_torch: ClassVar[bool] = False
    packages: ClassVar[tuple[str, ...]] = ()
    default_memory_gb: ClassVar[float] = 0.0
    OPTIONS: ClassVar[dict[str, Option]] = {
        "base_url": Option(None, str, "server URL up to /v1 (else $VIPEXEC_LLM_BASE_URL)"),
        "model": Option(None, str, "model name (else $VIPEXEC_LLM_MODEL, else the first served)"),
        "api_key_env": Option("OPENAI_API_KEY", str, "environment variable holding the key"),
        "timeout_s": Option(60.0, float, "per request", minimum=0.1),
        "retries": Option(3, int, "retries after a connection error, 429 or 5xx", minimum=0),
        "backoff_s": Option(0.5, float, "first retry delay (doubles)", minimum=0.0),
        "temperature": Option(0.0, float, "sampling temperature", minimum=0.0),
        "max_tokens": Option(256, int, "llm_query(long_answer=True) limit", minimum=1),
        "short_max_tokens": Option(16, int, "short answers and select_answer", minimum=1),
        "concurrency": Option(16, int, "requests in flight per batch", minimum=1),
    }

    def __init__(self, spec: Any, context: Any) -> None:
        super().__init__(spec, context)
        self._model_name: str | None = None

    def base_url(self) -> str | None:
        configured = self.options["base_url"]
        if configured:
            return str(configured).rstrip("/")
        for variable in BASE_URL_ENV:
            value = os.environ.get(variable)
            if value:
                return value.rstrip("/")
        return None

    def _key(self) -> str | None:
        return os.environ.get(self.options["api_key_env"]) or None

    @property
    def model_id(self) -> str:
        model = self._model_name or self.options["model"] or os.environ.get(MODEL_ENV)
        url = self.base_url() or f"${BASE_URL_ENV[0]}"
        return f"llm_http:{model or '(first served)'}@{url}"

    def _missing_url(self, method: str) -> ModuleUnavailable:
        return ModuleUnavailable(
            method,
            f"models:{self.name}",
            f"model {self.name!r} (llm_http) has no base_url: set it in the config or "
            f"${BASE_URL_ENV[0]}",
        )

    def _locate(self, method: str) -> Located:
        url = self.base_url()
        if url is None:
            raise self._missing_url(method)
        return Located(url, None, f"server {url}", f"http:{url}")

    def _compute_identity(self) -> str:
        transport = ("timeout_s", "retries", "backoff_s", "concurrency")
        options = json.dumps(
            {k: v for k, v in self.options.items() if k not in transport}, sort_keys=True
        )
        model = self.options["model"] or os.environ.get(MODEL_ENV) or "(first served)"
        return f"{self.kind}@{self.version}|{self.base_url()}|{model}|{options}"

    def served_models(self, *, timeout: float = 5.0, method: str = "*") -> list[str]:
        """Model names the server lists (``GET /models``); raises ServerUnreachable."""
        return served_models(
            str(self.base_url()), key=self._key(), timeout=timeout, method=method, name=self.name
        )

    def _model(self, method: str) -> str:
        if self._model_name is None:
            chosen = self.options["model"] or os.environ.get(MODEL_ENV)
            if not chosen:
                served = self.served_models(timeout=self.options["timeout_s"], method=method)
                if not served:
                    raise ModuleUnavailable(
                        method, f"models:{self.name}",
                        f"model {self.name!r}: no model configured and {self.base_url()} "
                        f"lists none (set model or ${MODEL_ENV})",
                    )  # fmt: skip
                chosen = served[0]
            self._model_name = chosen
        return self._model_name

    def check(self) -> tuple[bool, str]:
        url = self.base_url()
        if url is None:
            return False, str(self._missing_url("*").reason)
        try:
            served = self.served_models(timeout=2.0)
        except Exception as exc:
            return False, str(getattr(exc, "reason", None) or exc)
        listed = ", ".join(served[:5]) or "none listed"
        return True, f"server {url} answers (models: {listed})"

    def _load(self, located: Located, device: str, dtype: str, resolve: Resolver) -> None:
        return None

    def _run(self, requests: list[Request]) -> list[Any]:
        if self.base_url() is None:
            raise self._missing_url(requests[0].method)
        model = self._model(requests[0].method)
        workers = min(len(requests), self.options["concurrency"])
        if workers <= 1:
            return [self._one(model, request) for request in requests]
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(lambda request: self._one(model, request), requests))

    def _one(self, model: str, request: Request) -> Any:
        args = request.args
        if request.method == "llm_query":
            messages = llm_messages(args["question"], bool(args["long_answer"]))
            limit = self.options["max_tokens" if args["long_answer"] else "short_max_tokens"]
        else:
            messages = select_messages(args["info"], args["question"], list(args["options"]))
            limit = self.options["short_max_tokens"]
        payload = {
            "model": model,
            "messages": messages,
            "max_tokens": limit,
            "temperature": self.options["temperature"],
        }
        try:
            reply = chat_choices(
                str(self.base_url()), payload, key=self._key(), timeout=self.options["timeout_s"],
                retries=self.options["retries"], backoff_s=self.options["backoff_s"],
                method=request.method, name=self.name,
            )[0].strip()  # fmt: skip
        except Exception as exc:
            return exc
        if request.method == "select_answer":
            return parse_choice(reply, list(args["options"]))
        return reply
