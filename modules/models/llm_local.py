"""A local transformers text-generation model for ``llm_query`` and ``select_answer``.

``checkpoint``: a ``save_pretrained`` folder or a cached repo id of a causal LM
(``Qwen/Qwen2.5-1.5B-Instruct``, ``meta-llama/Llama-3.2-3B-Instruct``, ...). Messages are
rendered with the tokenizer's chat template when it has one (else as plain "System/User/
Assistant" text); one invocation generates the whole batch, greedy, left-padded, in at most two
``generate`` calls (long and short answers have different token limits). Only the new tokens
are the answer; ``select_answer`` reads the option out of it (:func:`prompts.parse_choice`).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, ClassVar

from vipexec.modules.models import offline
from vipexec.modules.models.base import (
    ModelModule,
    Option,
    Request,
    Resolver,
    hf_pretrained,
)
from vipexec.modules.models.chat import ChatRequest, text_only
from vipexec.modules.models.checkpoints import Located, locate_hf
from vipexec.modules.models.prompts import llm_messages, parse_choice, select_messages

__all__ = ["LocalChat", "LocalLLMModule", "generate_texts", "render_chat"]


class LocalLLMModule(ModelModule):
    kind: ClassVar[str] = "llm_local"
    methods: ClassVar[frozenset[str]] = frozenset({"llm_query", "select_answer"})
    packages: ClassVar[tuple[str, ...]] = ("torch", "transformers")
    default_memory_gb: ClassVar[float] = 4.0
    OPTIONS: ClassVar[dict[str, Option]] = {
        "max_new_tokens": Option(256, int, "llm_query(long_answer=True) limit", minimum=1),
        "short_max_new_tokens": Option(16, int, "short answers and select_answer", minimum=1),
    }

    def __init__(self, spec: Any, context: Any) -> None:
        super().__init__(spec, context)
        self._model: Any = None
        self._tokenizer: Any = None

    def _locate(self, method: str) -> Located:
        return locate_hf(self.spec, self.context, method)

    def _load(self, located: Located, device: str, dtype: str, resolve: Resolver) -> None:
        offline.configure(offline=self.context.offline)
        self._model, self._tokenizer = load_causal_lm(
            located.target, local=self.context.offline, device=device, dtype=dtype
        )

    def _render(self, messages: list[dict[str, str]]) -> str:
        return render_chat(self._tokenizer, messages)

    def _run(self, requests: list[Request]) -> list[Any]:
        groups: dict[int, list[int]] = {}
        prompts: list[str] = []
        for i, request in enumerate(requests):
            args = request.args
            if request.method == "llm_query":
                messages = llm_messages(args["question"], bool(args["long_answer"]))
                key = "max_new_tokens" if args["long_answer"] else "short_max_new_tokens"
            else:
                messages = select_messages(args["info"], args["question"], list(args["options"]))
                key = "short_max_new_tokens"
            prompts.append(self._render(messages))
            groups.setdefault(self.options[key], []).append(i)
        replies: list[str] = [""] * len(requests)
        for limit, members in groups.items():
            for i, text in zip(members, self._generate([prompts[i] for i in members], limit)):
                replies[i] = text
        results: list[Any] = []
        for request, reply in zip(requests, replies):
            if request.method == "select_answer":
                results.append(parse_choice(reply, list(request.args["options"])))
            else:
                results.append(reply)
        return results

    def _generate(self, prompts: list[str], limit: int) -> list[str]:
        texts = generate_texts(self._model, self._tokenizer, prompts, max_new_tokens=limit)
        return [" ".join(text.split()) for text in texts]


def load_causal_lm(target: str, *, local: bool, device: str, dtype: str) -> tuple[Any, Any]:
    """``(model, tokenizer)`` of a causal LM, the tokenizer left-padded for batches."""
    tokenizer = hf_pretrained("AutoTokenizer", target, local=local)
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = hf_pretrained("AutoModelForCausalLM", target, local=local, device=device, dtype=dtype)
    return model, tokenizer


def render_chat(tokenizer: Any, messages: list[dict[str, str]]) -> str:
    """The prompt text: the tokenizer's chat template, else plain "Role: text" lines."""
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    lines = [f"{m['role'].capitalize()}: {m['content']}" for m in messages]
    return "\n".join([*lines, "Assistant:"])


def generate_texts(
    model: Any,
    tokenizer: Any,
    prompts: list[str],
    *,
    max_new_tokens: int,
    temperature: float = 0.0,
    n: int = 1,
) -> list[str]:
    """The new text after each prompt, ``n`` per prompt in order; greedy at temperature 0,
    else sampled (seed the generator before calling for reproducible samples)."""
    import torch

    inputs = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
    batch = {
        k: v.to(model.device) for k, v in inputs.items() if k in ("input_ids", "attention_mask")
    }
    sampling = (
        {"do_sample": True, "temperature": temperature} if temperature > 0 else {"do_sample": False}
    )
    with torch.inference_mode():
        output = model.generate(
            **batch,
            max_new_tokens=max_new_tokens,
            num_return_sequences=n,
            pad_token_id=tokenizer.pad_token_id,
            **sampling,
        )
    new = output[:, batch["input_ids"].shape[1] :]
    return tokenizer.batch_decode(new, skip_special_tokens=True)


class LocalChat:
    """A local causal LM as a chat backend (:mod:`vipexec.modules.models.chat`): text only
    (image parts are dropped), one generation at a time, seeded per request."""

    def __init__(self, checkpoint: str, *, device: str = "cpu", dtype: str = "float32") -> None:
        self.checkpoint = checkpoint
        self.model = Path(checkpoint).name or checkpoint
        local = Path(checkpoint).exists()
        self._model, self._tokenizer = load_causal_lm(
            checkpoint, local=local, device=device, dtype=dtype
        )
        self._lock = threading.Lock()

    def payload(self, request: ChatRequest) -> dict[str, Any]:
        return {
            "local": self.model,
            "messages": text_only(request.messages),
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "n": request.n,
            "seed": request.seed,
        }

    def send(self, payload: dict[str, Any]) -> list[str]:
        import torch

        prompt = render_chat(self._tokenizer, payload["messages"])
        with self._lock:  # the seed is process-global state
            torch.manual_seed(payload["seed"] or 0)
            return generate_texts(
                self._model, self._tokenizer, [prompt], max_new_tokens=payload["max_tokens"],
                temperature=payload["temperature"], n=payload["n"],
            )  # fmt: skip
