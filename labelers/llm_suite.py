"""PropTest suites written by an LLM for a query, through an OpenAI-compatible chat endpoint.

The prompt (package data ``proptest_prompt.py.txt``, our own after the PropTest paper's
description: tests of the answer's form and of the operation the question states, checked with
the API's own answers, never a constant answer) asks for ``execute_test`` functions; the reply's
code block becomes a :class:`~vipexec.labelers.suites.Suite`. The suite is untrusted code: the
logic labeler runs it in the sandbox like any suite (``LabelContext.suite``), and a broken test
counts for nothing.

The request goes through :func:`vipexec.modules.models.llm_http.chat_choices` (retries,
one-line errors); ``base_url`` and ``model`` come from the arguments, else from the
environment variables the LLM client reads (``$VIPEXEC_LLM_BASE_URL`` or ``$OPENAI_BASE_URL``,
``$VIPEXEC_LLM_MODEL``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from vipexec.core.errors import InvalidArgumentError
from vipexec.labelers.suites import Suite
from vipexec.modules.models.replies import code_fences

__all__ = ["SuiteWriter", "extract_code", "suite_prompt"]

_PYTHON = {"", "python", "py", "python3"}


def suite_prompt(query: str) -> str:
    """The user message asking for a suite for ``query``."""
    template = resources.files("vipexec.labelers").joinpath("proptest_prompt.py.txt")
    return template.read_text(encoding="utf-8").replace("{query}", query.strip())


def extract_code(reply: str) -> str:
    """The Python code of a reply: its fenced blocks joined, else the whole reply."""
    # an unclosed fence is a suite cut off mid-test: better no code than half a test
    blocks = [f.body for f in code_fences(reply) if f.closed and f.language in _PYTHON]
    return "\n\n".join(b.strip() for b in blocks) + "\n" if blocks else reply.strip() + "\n"


@dataclass
class SuiteWriter:
    """Asks an OpenAI-compatible endpoint for a PropTest suite per query (cached per query)."""

    base_url: str | None = None
    model: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    max_tokens: int = 1024
    temperature: float = 0.0
    timeout: float = 60.0
    retries: int = 2
    _cache: dict[str, Suite] = field(default_factory=dict, repr=False)

    def settings(self) -> tuple[str, str]:
        from vipexec.modules.models.llm_http import BASE_URL_ENV, MODEL_ENV

        base_url = self.base_url or next(
            (os.environ[name] for name in BASE_URL_ENV if os.environ.get(name)), None
        )
        model = self.model or os.environ.get(MODEL_ENV)
        if not base_url:
            names = " or ".join(f"${name}" for name in BASE_URL_ENV)
            raise InvalidArgumentError(f"LLM suites need a base_url (or {names})")
        if not model:
            raise InvalidArgumentError(f"LLM suites need a model (or ${MODEL_ENV})")
        return base_url, model

    def config(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "model": self.model, "temperature": self.temperature}

    def suite_for(self, query: str) -> Suite:
        """The suite the endpoint writes for ``query``; a reply without a test raises
        :class:`InvalidArgumentError`."""
        if query not in self._cache:
            from vipexec.modules.models.llm_http import chat_choices

            base_url, model = self.settings()
            payload = {
                "model": model,
                "messages": [{"role": "user", "content": suite_prompt(query)}],
                "max_tokens": self.max_tokens,
                "temperature": self.temperature,
            }
            reply = chat_choices(
                base_url,
                payload,
                key=os.environ.get(self.api_key_env) or None,
                timeout=self.timeout,
                retries=self.retries,
                method="proptest_suite",
                name="llm-suite",
            )[0]
            suite = Suite.from_source(extract_code(reply), name=f"llm suite for {query!r}")
            if suite.kind != "proptest" or not suite.tests:
                raise InvalidArgumentError("the LLM's reply holds no execute_test function")
            self._cache[query] = suite
        return self._cache[query]
