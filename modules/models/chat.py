"""Chat completions for program generators and CoT converters, cached on disk by request.

A :class:`ChatClient` sends :class:`ChatRequest` s to a backend — an OpenAI-compatible server
(:class:`HttpChat`) or a local transformers causal LM
(:class:`vipexec.modules.models.llm_local.LocalChat`) — and keeps every answer in a
:class:`ResponseCache` keyed by the sha256 of the canonical JSON of the request the backend
would send. Asking again, in this run or a later one over the same cache folder, sends nothing.
Failed requests are not cached: resuming tries them again.
"""

from __future__ import annotations

import base64
import hashlib
import json
import mimetypes
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from vipexec.modules.errors import ModuleUnavailable
from vipexec.modules.models.llm_http import chat_choices, served_models

__all__ = [
    "API_KEY_ENV",
    "ChatBackend",
    "ChatClient",
    "ChatFailed",
    "ChatReply",
    "ChatRequest",
    "HttpChat",
    "ResponseCache",
    "image_part",
    "text_only",
]

API_KEY_ENV = ("VIPEXEC_LLM_API_KEY", "OPENAI_API_KEY")
"""environment variables holding the API key, first set wins"""


class ChatFailed(Exception):
    """A request that failed for good (after its retries): the message says why, in one line."""


@dataclass(frozen=True)
class ChatRequest:
    """What to ask: the messages (content may be a list of text and image parts) and sampling."""

    messages: tuple[dict[str, Any], ...]
    max_tokens: int
    temperature: float = 0.0
    n: int = 1
    """choices asked of one request (servers that ignore ``n`` answer with one)"""
    seed: int | None = None


@dataclass(frozen=True)
class ChatReply:
    texts: list[str]
    cached: bool
    key: str
    """the request's cache key (sha256 hex)"""


class ChatBackend(Protocol):
    model: str
    """the model's name, recorded in trees and step sources"""

    def payload(self, request: ChatRequest) -> dict[str, Any]:
        """The request as this backend sends it: plain JSON data, the cache key's content."""
        ...

    def send(self, payload: dict[str, Any]) -> list[str]:
        """Every choice's text; raises an exception with a one-line message on failure."""
        ...


class ResponseCache:
    """Answers stored as ``<folder>/<key[:2]>/<key>.json``; writes are atomic (thread-safe)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> list[str] | None:
        try:
            data = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        texts = data.get("texts") if isinstance(data, dict) else None
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            return None
        return texts

    def put(self, key: str, texts: list[str], *, model: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        partial.write_text(
            json.dumps({"model": model, "texts": texts}, ensure_ascii=False), encoding="utf-8"
        )
        os.replace(partial, path)


def request_key(payload: dict[str, Any]) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class ChatClient:
    """A backend behind the response cache; safe to share between threads."""

    def __init__(self, backend: ChatBackend, cache: ResponseCache | None = None) -> None:
        self.backend = backend
        self.cache = cache
        self.sent = 0
        """requests that went to the backend (cache misses)"""
        self.cached = 0
        """requests the cache answered"""
        self._lock = threading.Lock()

    @property
    def model(self) -> str:
        return self.backend.model

    def complete(self, request: ChatRequest) -> ChatReply:
        payload = self.backend.payload(request)
        key = request_key(payload)
        if self.cache is not None:
            texts = self.cache.get(key)
            if texts is not None:
                with self._lock:
                    self.cached += 1
                return ChatReply(texts, True, key)
        with self._lock:
            self.sent += 1
        texts = self.backend.send(payload)
        if self.cache is not None:
            self.cache.put(key, texts, model=self.backend.model)
        return ChatReply(texts, False, key)


class HttpChat:
    """An OpenAI-compatible ``/chat/completions`` endpoint (vLLM, Ollama, hosted APIs).

    Timeouts, connection errors, 429 and 5xx are retried ``retries`` times with exponential
    backoff from ``backoff_s``; the key comes from ``$VIPEXEC_LLM_API_KEY``, else
    ``$OPENAI_API_KEY``. Without a model name the first one the server lists is used.
    """

    def __init__(
        self,
        base_url: str,
        model: str | None = None,
        *,
        timeout: float = 60.0,
        retries: int = 3,
        backoff_s: float = 1.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self.backoff_s = backoff_s
        self.key = next((os.environ[v] for v in API_KEY_ENV if os.environ.get(v)), None)
        if not model:
            try:
                listed = served_models(self.base_url, key=self.key, timeout=timeout)
            except ModuleUnavailable as exc:
                raise ChatFailed(f"{exc.reason}; or name the model") from None
            if not listed:
                raise ChatFailed(f"{self.base_url}/models lists no model: name one")
            model = listed[0]
        self.model = model

    def payload(self, request: ChatRequest) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "model": self.model,
            "messages": list(request.messages),
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
        }
        if request.n > 1:
            payload["n"] = request.n
        if request.seed is not None:
            payload["seed"] = request.seed
        return payload

    def send(self, payload: dict[str, Any]) -> list[str]:
        try:
            return chat_choices(
                self.base_url, payload, key=self.key, timeout=self.timeout, retries=self.retries,
                backoff_s=self.backoff_s, method="chat", name=self.model,
            )  # fmt: skip
        except ModuleUnavailable as exc:
            raise ChatFailed(exc.reason) from None
        except ValueError as exc:
            raise ChatFailed(str(exc)) from None


def image_part(path: str | Path) -> dict[str, Any]:
    """An OpenAI image content part holding the file as a data URL."""
    path = Path(path)
    mime = mimetypes.guess_type(path.name)[0] or "image/png"
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return {"type": "image_url", "image_url": {"url": f"data:{mime};base64,{data}"}}


def text_only(messages: tuple[dict[str, Any], ...]) -> list[dict[str, str]]:
    """The messages with image parts dropped and text parts joined (for text-only models)."""
    flat = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            content = "\n".join(p.get("text", "") for p in content if p.get("type") == "text")
        flat.append({"role": message["role"], "content": str(content or "")})
    return flat
