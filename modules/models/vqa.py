"""transformers visual question answering for ``simple_query``: BLIP-VQA class and chat VLMs.

``style``:

- ``"blip"``: ``AutoModelForVisualQuestionAnswering`` models that ``generate`` an answer from
  pixels + question (``Salesforce/blip-vqa-base``, ``Salesforce/blip-vqa-capfilt-large``);
- ``"chat"``: image-text-to-text models (LLaVA, Qwen2-VL, SmolVLM, ...): each question becomes
  a user turn holding the image and the text (``prompt`` template), rendered with the
  processor's chat template; only the newly generated tokens are the answer;
- ``"auto"``: chat when the processor has a chat template, else blip.

One invocation generates the answers of the whole batch (left padding for chat models), greedy.
"""

from __future__ import annotations

from typing import Any, ClassVar

from vipexec.modules.models import offline
from vipexec.modules.models.base import (
    ModelModule,
    Option,
    Request,
    Resolver,
    hf_pretrained,
    torch_dtype,
)
from vipexec.modules.models.checkpoints import Located, locate_hf

__all__ = ["VqaModule"]

_INPUT_KEYS_SKIPPED = ("token_type_ids",)


class VqaModule(ModelModule):
    kind: ClassVar[str] = "vqa"
    methods: ClassVar[frozenset[str]] = frozenset({"simple_query"})
    packages: ClassVar[tuple[str, ...]] = ("torch", "transformers")
    default_memory_gb: ClassVar[float] = 2.0
    OPTIONS: ClassVar[dict[str, Option]] = {
        "style": Option("auto", str, "blip, chat or auto", ("auto", "blip", "chat")),
        "prompt": Option(
            "{} Answer with a word or a short phrase.", str, "chat style: template of the question"
        ),
        "max_new_tokens": Option(16, int, "answer length limit (tokens)", minimum=1),
    }

    def __init__(self, spec: Any, context: Any) -> None:
        super().__init__(spec, context)
        self._model: Any = None
        self._processor: Any = None
        self._style = "blip"

    def _locate(self, method: str) -> Located:
        return locate_hf(self.spec, self.context, method)

    @property
    def style(self) -> str:
        return self._style

    def _load(self, located: Located, device: str, dtype: str, resolve: Resolver) -> None:
        offline.configure(offline=self.context.offline)
        local = self.context.offline
        processor = hf_pretrained("AutoProcessor", located.target, local=local)
        style = self.options["style"]
        if style == "auto":
            style = "chat" if getattr(processor, "chat_template", None) else "blip"
        auto = (
            "AutoModelForImageTextToText"
            if style == "chat"
            else "AutoModelForVisualQuestionAnswering"
        )
        model = hf_pretrained(auto, located.target, local=local, device=device, dtype=dtype)
        if style == "chat":
            tokenizer = getattr(processor, "tokenizer", None)
            if tokenizer is not None:
                tokenizer.padding_side = "left"
        self._model = model
        self._processor = processor
        self._style = style

    def _prompt(self, question: str) -> str:
        template = self.options["prompt"]
        return template.format(question) if "{}" in template else f"{question} {template}".strip()

    def _run(self, requests: list[Request]) -> list[Any]:
        import torch
        from PIL import Image

        images = [Image.fromarray(r.patch()) for r in requests]
        questions = [r.args["question"] for r in requests]
        if self._style == "chat":
            texts = [
                self._processor.apply_chat_template(
                    [
                        {
                            "role": "user",
                            "content": [
                                {"type": "image"},
                                {"type": "text", "text": self._prompt(question)},
                            ],
                        }
                    ],
                    add_generation_prompt=True,
                    tokenize=False,
                )
                for question in questions
            ]
        else:
            texts = questions
        inputs = self._processor(images=images, text=texts, return_tensors="pt", padding=True)
        batch = {}
        for key, value in inputs.items():
            if key in _INPUT_KEYS_SKIPPED or not hasattr(value, "to"):
                continue
            if torch.is_floating_point(value):
                batch[key] = value.to(self.device, torch_dtype(self.dtype))
            else:
                batch[key] = value.to(self.device)
        with torch.inference_mode():
            output = self._model.generate(
                **batch, max_new_tokens=self.options["max_new_tokens"], do_sample=False
            )
        if self._style == "chat":
            output = output[:, batch["input_ids"].shape[1] :]
        answers = self._processor.batch_decode(output, skip_special_tokens=True)
        return [" ".join(answer.split()) for answer in answers]
