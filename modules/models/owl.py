"""transformers zero-shot detectors (OWL-ViT, OWLv2) for ``find``: the alternative detector.

``checkpoint``: a ``save_pretrained`` folder or a cached repo id (``google/owlv2-base-patch16-
ensemble``, ``google/owlvit-base-patch32``). One invocation runs the batch's patches with the
union of its queried names as text queries (each through ``prompt``); every request keeps the
boxes of its own name scoring above ``threshold``, after per-query NMS, best first. Box
coordinates: OWL-ViT predicts relative to the resized patch, OWLv2 relative to the patch padded
to a square (bottom and right), so they are scaled back accordingly.
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
from vipexec.modules.models.yolo import box_from_crop

__all__ = ["OwlModule"]


class OwlModule(ModelModule):
    kind: ClassVar[str] = "owl"
    methods: ClassVar[frozenset[str]] = frozenset({"find"})
    packages: ClassVar[tuple[str, ...]] = ("torch", "torchvision", "transformers")
    default_memory_gb: ClassVar[float] = 2.0
    OPTIONS: ClassVar[dict[str, Option]] = {
        "threshold": Option(0.1, float, "score threshold", minimum=0.0),
        "nms_iou": Option(0.3, float, "IoU above which overlapping boxes merge", minimum=0.0),
        "max_det": Option(100, int, "boxes kept per patch", minimum=1),
        "prompt": Option("a photo of a {}", str, "query template"),
    }

    def __init__(self, spec: Any, context: Any) -> None:
        super().__init__(spec, context)
        self._model: Any = None
        self._processor: Any = None
        self._padded_square = False
        self._max_length = 16

    def _locate(self, method: str) -> Located:
        return locate_hf(self.spec, self.context, method)

    def _load(self, located: Located, device: str, dtype: str, resolve: Resolver) -> None:
        offline.configure(offline=self.context.offline)
        local = self.context.offline
        model = hf_pretrained(
            "AutoModelForZeroShotObjectDetection",
            located.target,
            local=local,
            device=device,
            dtype=dtype,
        )
        self._model = model
        self._processor = hf_pretrained("AutoProcessor", located.target, local=local)
        self._padded_square = model.config.model_type == "owlv2"
        text_config = getattr(model.config, "text_config", None)
        self._max_length = getattr(text_config, "max_position_embeddings", 16)

    def _query(self, name: str) -> str:
        template = self.options["prompt"]
        return template.format(name) if "{}" in template else f"{template} {name}".strip()

    def _run(self, requests: list[Request]) -> list[Any]:
        import torch
        from PIL import Image
        from torchvision.ops import box_convert, nms

        names = sorted({r.args["object_name"] for r in requests})
        queries = [self._query(name) for name in names]
        crops = [r.patch() for r in requests]
        inputs = self._processor(
            text=[queries] * len(crops),
            images=[Image.fromarray(c) for c in crops],
            return_tensors="pt",
            padding="max_length",
            truncation=True,
            max_length=self._max_length,
        )
        dtype = torch_dtype(self.dtype)
        inputs = {
            k: (v.to(self.device, dtype) if k == "pixel_values" else v.to(self.device))
            for k, v in inputs.items()
            if k in ("input_ids", "attention_mask", "pixel_values")
        }
        with torch.inference_mode():
            outputs = self._model(**inputs)
            scores = torch.sigmoid(outputs.logits.float()).cpu()  # (B, P, Q)
            boxes = box_convert(outputs.pred_boxes.float().cpu(), "cxcywh", "xyxy")  # (B, P, 4)
        results: list[Any] = []
        for i, request in enumerate(requests):
            height, width = crops[i].shape[:2]
            if self._padded_square:
                scale = torch.tensor([max(width, height)] * 4, dtype=torch.float32)
            else:
                scale = torch.tensor([width, height, width, height], dtype=torch.float32)
            column = names.index(request.args["object_name"])
            score = scores[i, :, column]
            keep = score > self.options["threshold"]
            if not bool(keep.any()):
                results.append([])
                continue
            pixel_boxes = boxes[i][keep] * scale
            kept_scores = score[keep]
            order = nms(pixel_boxes, kept_scores, self.options["nms_iou"])
            order = order[: self.options["max_det"]]
            found = []
            for row in pixel_boxes[order].tolist():
                box = box_from_crop(tuple(row), request.box)  # type: ignore[arg-type]
                if box is not None:
                    found.append(box)
            results.append(found)
        return results
