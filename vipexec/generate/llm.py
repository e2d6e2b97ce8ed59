"""The least-to-most generator over a chat model (an OpenAI-compatible server or a local LM).

Each step is one chat: the system prompt (rules and API), then the question, the images (as
image content parts when the model takes them) and the blocks so far, asking for the next block
only. Alternatives come either from one request with ``n`` choices or, by default, from one
request per alternative with its own seed, derived from the run's seed, the query id, the path
(the blocks so far) and the alternative's index — so a rerun asks the same requests, which the
response cache answers, and a server that honours seeds samples the same blocks.

Every answer is read with :func:`vipexec.generate.blocks.read_block`; what cannot be read, and a
request that failed after its retries, becomes a failing block whose origin says why.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vipexec.generate.blocks import failing_block, read_block
from vipexec.generate.prompting import Prompts, api_summary
from vipexec.generate.protocol import Alternative, Query
from vipexec.modules.models.chat import ChatClient, ChatRequest, image_part

__all__ = ["LLMGenerator", "derive_seed"]


def derive_seed(seed: int, query_id: str, blocks: Sequence[str], sample: int | str) -> int:
    """The seed of one request: a hash of the run's seed, the query, the path and the sample."""
    path = hashlib.sha256("".join(blocks).encode()).hexdigest()
    text = f"{seed}\0{query_id}\0{path}\0{sample}"
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") & 0x7FFFFFFF


class LLMGenerator:
    """Proposes blocks by asking a chat model (see the module docstring)."""

    def __init__(
        self,
        client: ChatClient,
        *,
        prompts: Prompts | None = None,
        seed: int = 0,
        temperature: float = 0.7,
        max_tokens: int = 512,
        send_images: bool = False,
        use_n: bool = False,
    ) -> None:
        self.client = client
        self.prompts = prompts or Prompts.load()
        self.seed = seed
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.send_images = send_images
        self.use_n = use_n
        self.name = f"llm:{client.model}"
        self._system = self.prompts.render("system", api=api_summary())

    def first_block(self, query: Query, n: int) -> list[Alternative]:
        return self._alternatives(query, [], n)

    def next_block(self, query: Query, blocks: Sequence[str], n: int) -> list[Alternative]:
        return self._alternatives(query, list(blocks), n)

    # --- requests -----------------------------------------------------------------------------

    def _alternatives(self, query: Query, blocks: list[str], n: int) -> list[Alternative]:
        step = len(blocks) + 1
        messages = self._messages(query, blocks, step)
        answers: list[tuple[dict[str, Any], str | None, str | None]] = []
        if self.use_n and n > 1:
            seed = derive_seed(self.seed, query.id, blocks, "n")
            texts, origin, error = self._ask(messages, n, seed)
            for sample, text in enumerate(texts[:n]):
                answers.append(({**origin, "sample": sample}, text, None))
            if error is not None:
                answers.append(({**origin, "sample": 0}, None, error))
        for sample in range(len(answers), n):
            seed = derive_seed(self.seed, query.id, blocks, sample)
            texts, origin, error = self._ask(messages, 1, seed)
            answers.append(({**origin, "sample": sample}, texts[0] if texts else None, error))
        return [self._read(origin, text, error, step, blocks) for origin, text, error in answers]

    def _ask(
        self, messages: tuple[dict[str, Any], ...], n: int, seed: int
    ) -> tuple[list[str], dict[str, Any], str | None]:
        request = ChatRequest(
            messages, max_tokens=self.max_tokens, temperature=self.temperature, n=n, seed=seed
        )
        origin: dict[str, Any] = {
            "generator": self.name,
            "model": self.client.model,
            "seed": seed,
            "n": n,
            "temperature": self.temperature,
        }
        try:
            reply = self.client.complete(request)
        except Exception as exc:  # a failed request is data: the node records it
            return [], origin, " ".join(str(exc).split()) or type(exc).__name__
        origin.update(cached=reply.cached, request=reply.key[:16])
        return reply.texts, origin, None

    def _read(
        self,
        origin: dict[str, Any],
        text: str | None,
        error: str | None,
        step: int,
        blocks: list[str],
    ) -> Alternative:
        if text is None:
            reason = f"request failed: {error}"
            origin = {**origin, "failure": "request_failed", "error": error}
            return Alternative(failing_block(step, "", reason), origin)
        read = read_block(text, step, blocks)
        if read.problem is not None:
            origin = {**origin, "failure": "malformed", "error": read.problem}
        if read.renumbered_from is not None:
            origin = {**origin, "renumbered_from": read.renumbered_from}
        return Alternative(read.text, origin)

    def _messages(self, query: Query, blocks: list[str], step: int) -> tuple[dict[str, Any], ...]:
        count = len(query.images)
        images = f"{count} image{'s' if count != 1 else ''}" + (
            " (attached, in order)" if self.send_images and count else ""
        )
        if blocks:
            text = self.prompts.render(
                "next", query=query.query, images=images, program="".join(blocks), step=step
            )
        else:
            text = self.prompts.render("first", query=query.query, images=images)
        content: Any = text
        files = [path for path in query.images if Path(path).is_file()]  # not frame folders
        if self.send_images and files:
            content = [{"type": "text", "text": text}, *map(image_part, files)]
        return ({"role": "system", "content": self._system}, {"role": "user", "content": content})
