"""The one tokenisation used by training and inference.

Layout of a row: ``[prefix] prompt MARKER step_1 MARKER step_2 MARKER ...``. Every step is
tokenised on its own (so a step's tokens never depend on its neighbours) and followed by the
marker token; the marker's position is the step's end, where the reward model reads it. Block
ids say which part a token belongs to: 0 for the prompt (and image tokens), k for step k.

A step is kept only if its marker fits in ``max_length``; the first step that does not fit and
every later one are dropped (counted in ``EncodedRow.dropped``), and none of their tokens are
kept, since nothing after a cut marker can be scored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vipexec.reward.config import BackboneConfig, EncodingConfig
from vipexec.reward.errors import RewardError


@dataclass(frozen=True)
class EncodedRow:
    """Token ids of one row and where its steps end."""

    input_ids: list[int]
    block_ids: list[int]
    step_ends: list[int]
    n_steps: int
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def kept(self) -> int:
        return len(self.step_ends)

    @property
    def dropped(self) -> int:
        return self.n_steps - len(self.step_ends)


def append_steps(
    prompt_ids: Sequence[int],
    steps: Sequence[str],
    *,
    tokenize: Callable[[str], Sequence[int]],
    marker_id: int,
    max_length: int,
) -> EncodedRow:
    """Append each step's tokens and a marker to ``prompt_ids`` (which already ends the prompt).

    Pure function of its inputs: ``tokenize`` maps text to ids without special tokens.
    """
    input_ids = list(prompt_ids)
    block_ids = [0] * len(input_ids)
    step_ends: list[int] = []
    if len(input_ids) <= max_length:
        for k, step in enumerate(steps, start=1):
            ids = list(tokenize(step))
            if len(input_ids) + len(ids) + 1 > max_length:
                break
            input_ids += [*ids, marker_id]
            block_ids += [k] * (len(ids) + 1)
            step_ends.append(len(input_ids) - 1)
    return EncodedRow(
        input_ids=input_ids, block_ids=block_ids, step_ends=step_ends, n_steps=len(steps)
    )


class StepEncoder:
    """Turns ``(prompt, steps, images)`` into an :class:`EncodedRow` for one backbone.

    Wraps the backbone's tokenizer, or its processor for a vision-language model (images then go
    through the processor and expand into image tokens inside the prompt block).
    """

    def __init__(self, processor: Any, config: EncodingConfig, *, is_vlm: bool) -> None:
        self.processor = processor
        self.tokenizer = getattr(processor, "tokenizer", processor) if is_vlm else processor
        self.config = config
        self.is_vlm = is_vlm
        self.marker_id = self._marker_id()
        pad = self.tokenizer.pad_token_id
        self.pad_id = int(pad) if pad is not None else self.marker_id

    @classmethod
    def from_config(
        cls,
        backbone: BackboneConfig,
        encoding: EncodingConfig,
        *,
        processor_path: str | Path | None = None,
    ) -> StepEncoder:
        """Load the tokenizer/processor of ``backbone`` (or from ``processor_path``), offline."""
        from vipexec.reward.backbone import load_hf_config, load_processor

        hf_config = load_hf_config(backbone)
        processor = load_processor(backbone, hf_config, path=processor_path)
        return cls(processor, encoding, is_vlm=hasattr(hf_config, "vision_config"))

    def save(self, directory: str | Path) -> None:
        self.processor.save_pretrained(str(directory))

    def _marker_id(self) -> int:
        tok = self.tokenizer
        marker = self.config.step_marker
        if marker is None:
            for name in ("sep_token_id", "eos_token_id"):
                value = getattr(tok, name, None)
                if value is not None:
                    return int(value)
            raise RewardError(
                "the tokenizer has neither a sep nor an eos token; set encoding.step_marker"
            )
        ids = tok(marker, add_special_tokens=False)["input_ids"]
        if len(ids) != 1:
            raise RewardError(
                f"encoding.step_marker {marker!r} is {len(ids)} tokens for this tokenizer; "
                f"it must be exactly one"
            )
        return int(ids[0])

    def _tokenize(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def _text_prompt(self, prompt: str) -> list[int]:
        tok = self.tokenizer
        prefix = []
        for name in ("cls_token_id", "bos_token_id"):
            value = getattr(tok, name, None)
            if value is not None:
                prefix = [int(value)]
                break
        body = self._tokenize(prompt)[: self.config.prompt_budget]
        return [*prefix, *body, self.marker_id]

    def _vlm_prompt(self, prompt: str, images: Sequence[Any]) -> tuple[list[int], dict[str, Any]]:
        text = self._vlm_prompt_text(prompt, len(images))
        kwargs: dict[str, Any] = {
            "text": [text],
            "return_tensors": "pt",
            "add_special_tokens": False,
        }
        if images:
            kwargs["images"] = [_open_image(im) for im in images]
            if self.config.max_image_pixels is not None:
                kwargs["size"] = self._pixel_budget(self.config.max_image_pixels)
        out = self.processor(**kwargs)
        ids = [int(i) for i in out["input_ids"][0].tolist()]
        extras: dict[str, Any] = {}
        if "mm_token_type_ids" in out:
            extras["mm_token_type_ids"] = [*out["mm_token_type_ids"][0].tolist(), 0]
        for key in ("pixel_values", "image_grid_thw"):
            if key in out and images:
                extras[key] = out[key]
        return [*ids, self.marker_id], extras

    def _pixel_budget(self, max_pixels: int) -> dict[str, int]:
        # Qwen2-VL-style processors size images by a pixel range (shortest/longest edge keys
        # hold pixel counts); other processors have no such budget.
        size = getattr(getattr(self.processor, "image_processor", None), "size", None)
        size = dict(size) if size is not None else {}
        if not {"shortest_edge", "longest_edge"} <= set(size):
            raise RewardError(
                "encoding.max_image_pixels needs a processor that sizes images by "
                "a pixel budget (Qwen2-VL family)"
            )
        return {
            "shortest_edge": min(int(size["shortest_edge"]), max_pixels),
            "longest_edge": max_pixels,
        }

    def _vlm_prompt_text(self, prompt: str, n_images: int) -> str:
        fmt = self.config.prompt_format
        has_template = getattr(self.processor, "chat_template", None) is not None
        if fmt == "chat" and not has_template:
            raise RewardError("encoding.prompt_format is 'chat' but the processor has no template")
        if fmt == "chat" or (fmt == "auto" and has_template):
            content = [{"type": "image"}] * n_images + [{"type": "text", "text": prompt}]
            messages = [{"role": "user", "content": content}]
            return self.processor.apply_chat_template(
                messages, tokenize=False, add_generation_prompt=True
            )
        image_token = getattr(self.processor, "image_token", None)
        if n_images and image_token is None:
            raise RewardError("the processor names no image token; cannot place images")
        vocab = self.tokenizer.get_vocab()
        start, end = ("<|vision_start|>", "<|vision_end|>")
        wrap = start in vocab and end in vocab
        one = f"{start}{image_token}{end}" if wrap else str(image_token)
        return one * n_images + prompt

    def encode(self, prompt: str, steps: Sequence[str], images: Sequence[Any] = ()) -> EncodedRow:
        """Encode one row. ``images`` (paths or PIL images) are used only by VLM backbones."""
        if self.is_vlm:
            prompt_ids, extras = self._vlm_prompt(prompt, images)
        else:
            prompt_ids, extras = self._text_prompt(prompt), {}
        row = append_steps(
            prompt_ids,
            steps,
            tokenize=self._tokenize,
            marker_id=self.marker_id,
            max_length=self.config.max_length,
        )
        if not extras:
            return row
        if len(prompt_ids) > self.config.max_length:
            # Image tokens cannot be cut (they must match the pixels), so the whole row is
            # replaced by a stub that scores nothing: every step counts as dropped.
            return EncodedRow(
                input_ids=[self.marker_id], block_ids=[0], step_ends=[], n_steps=row.n_steps
            )
        if "mm_token_type_ids" in extras:
            pad = len(row.input_ids) - len(extras["mm_token_type_ids"])
            extras["mm_token_type_ids"] = extras["mm_token_type_ids"] + [0] * pad
        return EncodedRow(
            input_ids=row.input_ids,
            block_ids=row.block_ids,
            step_ends=row.step_ends,
            n_steps=row.n_steps,
            extras=extras,
        )


def _open_image(image: Any) -> Any:
    from PIL import Image

    if isinstance(image, (str, Path)):
        path = Path(image)
        if not path.is_file():
            raise RewardError(f"image not found: {path}")
        with Image.open(path) as im:
            return im.convert("RGB")
    return image
