"""Shared answering logic of contrastive image-text models (open_clip, transformers CLIP/SigLIP).

A family module supplies three things: normalised image embeddings of a list of crops,
normalised text embeddings of a list of strings, and the logit scale. From those, for a batch of
requests of any of the three methods, it encodes every crop once and every distinct text once
(texts are cached), then answers:

- ``verify_property(object_name, attribute)``: softmax over the logits of the two prompts
  "``{attribute} {object_name}``" and "``{object_name}``"; true when the first gets more than
  ``verify_threshold``;
- ``best_text_match(options, prefix)``: the option whose text ("``{prefix} {option}``") has the
  highest similarity with the patch;
- ``best_image_match(crops, content)``: the crop with the highest mean similarity to the texts.

Every text goes through ``prompt`` (a ``str.format`` template with one ``{}``) first.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any, ClassVar

from vipexec.modules.backend import crop_pixels
from vipexec.modules.models.base import ModelModule, Option, Request

__all__ = ["ContrastiveModule"]

CONTRASTIVE_OPTIONS: dict[str, Option] = {
    "prompt": Option("{}", str, "template applied to every text, e.g. 'a photo of {}'"),
    "verify_threshold": Option(0.5, float, "verify_property() probability threshold", minimum=0),
    "text_cache_size": Option(10_000, int, "text embeddings kept", minimum=0),
}


class ContrastiveModule(ModelModule):
    methods: ClassVar[frozenset[str]] = frozenset(
        {"verify_property", "best_text_match", "best_image_match"}
    )

    def __init__(self, spec: Any, context: Any) -> None:
        super().__init__(spec, context)
        self._texts: OrderedDict[str, Any] = OrderedDict()

    # --- what a family supplies ---------------------------------------------------------------

    def _encode_images(self, crops: list[Any]) -> Any:
        """``(n, d)`` L2-normalised float tensor for ``n`` RGB uint8 arrays."""
        raise NotImplementedError

    def _encode_text_batch(self, texts: list[str]) -> Any:
        """``(n, d)`` L2-normalised float tensor for ``n`` strings."""
        raise NotImplementedError

    def _logit_scale(self) -> float:
        return 100.0

    # --- shared -------------------------------------------------------------------------------

    def _template(self, text: str) -> str:
        template = self.options["prompt"]
        return template.format(text) if "{}" in template else f"{template} {text}".strip()

    def encode_texts(self, texts: list[str]) -> Any:
        """Normalised text embeddings ``(n, d)`` (float32, CPU), cached per text.

        Other models use this (e.g. an open-vocabulary detector's class names); the texts are
        encoded as given, without ``prompt``."""
        with self._lock:
            if not self.loaded:
                self.load(self.device, self.dtype)
            return self._text_features(list(texts))

    def _text_features(self, texts: list[str]) -> Any:
        import torch

        missing = list(dict.fromkeys(t for t in texts if t not in self._texts))
        if missing:
            with torch.inference_mode():
                encoded = self._encode_text_batch(missing).float().cpu()
            for text, vector in zip(missing, encoded.clone()):
                self._texts[text] = vector
        vectors = torch.stack([self._texts[t] for t in texts])
        for text in texts:
            self._texts.move_to_end(text)
        while len(self._texts) > self.options["text_cache_size"]:
            self._texts.popitem(last=False)
        return vectors

    def _run(self, requests: list[Request]) -> list[Any]:
        import torch

        crops: list[Any] = []
        crop_slices: list[tuple[int, int]] = []
        texts: list[list[str]] = []
        for request in requests:
            start = len(crops)
            if request.method == "best_image_match":
                crops.extend(crop_pixels(image, box) for image, box in request.crops or [])
                texts.append([self._template(t) for t in request.args["content"]])
            else:
                crops.append(request.patch())
                texts.append(self._request_texts(request))
            crop_slices.append((start, len(crops)))
        with torch.inference_mode():
            images = self._encode_images(crops).float().cpu() if crops else None
        unique = list(dict.fromkeys(t for group in texts for t in group))
        text_vectors = self._text_features(unique)
        index = {t: i for i, t in enumerate(unique)}
        scale = self._logit_scale()
        results: list[Any] = []
        for request, (start, end), group in zip(requests, crop_slices, texts):
            assert images is not None
            sims = images[start:end] @ text_vectors[[index[t] for t in group]].T
            results.append(self._answer(request, sims, scale))
        return results

    def _request_texts(self, request: Request) -> list[str]:
        args = request.args
        if request.method == "verify_property":
            name = args["object_name"]
            return [self._template(f"{args['attribute']} {name}"), self._template(name)]
        if request.method == "best_text_match":
            prefix = args.get("prefix")
            return [self._template(o if not prefix else f"{prefix} {o}") for o in args["options"]]
        raise ValueError(f"{self.kind} cannot answer {request.method}()")

    def _answer(self, request: Request, sims: Any, scale: float) -> Any:
        if request.method == "verify_property":
            positive, neutral = (float(v) * scale for v in sims[0])
            top = max(positive, neutral)
            p = math.exp(positive - top) / (math.exp(positive - top) + math.exp(neutral - top))
            return p > self.options["verify_threshold"]
        if request.method == "best_text_match":
            row = sims[0].tolist()
            best = max(range(len(row)), key=lambda i: (row[i], -i))
            return request.args["options"][best]
        scores = sims.mean(dim=1).tolist()
        return max(range(len(scores)), key=lambda i: (scores[i], -i))
