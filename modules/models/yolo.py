"""Ultralytics YOLO detectors for ``find`` (and ``exists``): closed-set and open-vocabulary.

The checkpoint is an ultralytics ``.pt`` file: a closed-set detector (``yolov8x.pt``,
``yolo11x.pt``, COCO's 80 classes or any custom training), or an open-vocabulary one
(YOLO-World ``yolov8x-worldv2.pt``, YOLOE ``yoloe-11l-seg.pt``) whose classes are set per batch
from the queried names.

One invocation = one forward pass over the batch: each request's patch is letterboxed to
``imgsz`` (as ultralytics' predictor does), stacked, run through the torch model, NMS'd, and the
boxes are mapped back to original-image coordinates (origin bottom-left). For open-vocabulary
models the batch's classes are the union of its queried names; each request keeps the
detections of its own name (sigmoid class scores and per-class NMS make them independent of the
other names).

Class text embeddings for open-vocabulary models come from ``text_encoder`` (another model of
the config with ``encode_texts``, e.g. an open_clip ViT-B-32 with the ``openai`` weights, which
is the text tower YOLO-World was trained with), or, without it, from ultralytics' own text
model (CLIP ViT-B/32 via the ``clip`` package for YOLO-World, MobileCLIP for YOLOE), which must
already be on disk when offline.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, ClassVar

from vipexec.modules.errors import ModuleUnavailable
from vipexec.modules.models import offline
from vipexec.modules.models.base import ModelModule, Option, Request, Resolver
from vipexec.modules.models.checkpoints import Located, locate_file
from vipexec.modules.models.errors import ModelLoadError

__all__ = ["YoloModule", "box_from_crop", "class_candidates"]


def class_candidates(name: str) -> list[str]:
    """Normalised spellings to look up in a closed vocabulary: as given, then singular forms."""
    text = " ".join(re.sub(r"[_\-]+", " ", name.lower()).split())
    out = [text]
    if text.endswith("ies") and len(text) > 4:
        out.append(text[:-3] + "y")
    if text.endswith("es") and len(text) > 3:
        out.append(text[:-2])
    if text.endswith("s") and not text.endswith("ss") and len(text) > 2:
        out.append(text[:-1])
    return list(dict.fromkeys(out))


def box_from_crop(
    xyxy: tuple[float, float, float, float], patch: tuple[int, int, int, int]
) -> tuple[int, int, int, int] | None:
    """A detection in crop pixels (top-left origin) as an original-image box (bottom-left),
    clamped to the patch; ``None`` if nothing is left."""
    x1, y1, x2, y2 = xyxy
    left, lower, right, upper = patch
    out_left = max(left, min(right, left + math.floor(x1)))
    out_right = max(left, min(right, left + math.ceil(x2)))
    out_upper = max(lower, min(upper, upper - math.floor(y1)))
    out_lower = max(lower, min(upper, upper - math.ceil(y2)))
    if out_right <= out_left or out_upper <= out_lower:
        return None
    return (out_left, out_lower, out_right, out_upper)


class YoloModule(ModelModule):
    kind: ClassVar[str] = "yolo"
    methods: ClassVar[frozenset[str]] = frozenset({"find"})
    packages: ClassVar[tuple[str, ...]] = ("torch", "ultralytics")
    bf16: ClassVar[bool] = False
    default_memory_gb: ClassVar[float] = 1.0
    REFERENCES: ClassVar[dict[str, str]] = {"text_encoder": "encode_texts"}
    OPTIONS: ClassVar[dict[str, Option]] = {
        "conf": Option(0.25, float, "confidence threshold", minimum=0.0),
        "iou": Option(0.7, float, "NMS IoU threshold", minimum=0.0),
        "imgsz": Option(640, int, "input size (multiple of the stride)", minimum=32),
        "max_det": Option(300, int, "detections kept per patch", minimum=1),
        "vocabulary": Option(
            "auto", str, "closed, open, or auto (from the model)", ("auto", "closed", "open")
        ),
        "text_encoder": Option(None, str, "model with encode_texts() for open-vocabulary names"),
        "aliases": Option({}, dict, "queried name -> class name (closed vocabularies)"),
        "unknown_class": Option(
            "error", str, "a name outside a closed vocabulary: error or empty", ("error", "empty")
        ),
        "fuse": Option(True, bool, "fuse conv+batchnorm at load"),
    }

    def __init__(self, spec: Any, context: Any) -> None:
        super().__init__(spec, context)
        self._model: Any = None
        self._family = "detect"
        self._names: list[str] = []
        self._text_features: dict[str, Any] = {}
        self._encoder: Any = None
        self._stride = 32

    def _locate(self, method: str) -> Located:
        return locate_file(
            self.spec,
            self.context,
            method,
            extra_dirs=_ultralytics_weight_dirs(),
            downloadable=True,
            hint="ultralytics .pt file",
        )

    @property
    def open_vocabulary(self) -> bool:
        return self._family in ("world", "yoloe")

    # --- loading ------------------------------------------------------------------------------

    def _load(self, located: Located, device: str, dtype: str, resolve: Resolver) -> None:
        offline.import_ultralytics(offline=self.context.offline)
        import torch
        from ultralytics import YOLO

        wrapper = YOLO(located.target)
        model = wrapper.model
        if not isinstance(model, torch.nn.Module):
            raise ModelLoadError(
                "*", self.name, self.kind, f"{located.where} is not a PyTorch checkpoint"
            )
        kind = type(model).__name__
        head = model.model[-1]
        if kind == "WorldModel":
            family = "world"
        elif kind == "YOLOEModel" and not hasattr(head, "lrpc"):
            family = "yoloe"
        else:
            family = "detect"
        wanted = self.options["vocabulary"]
        if wanted == "open" and family == "detect":
            raise ModelLoadError(
                "*", self.name, self.kind,
                f"vocabulary = 'open' but {located.where} is a closed-set {kind}",
            )  # fmt: skip
        if wanted == "closed":
            family = "detect"
        names = model.names
        self._names = [names[i] for i in sorted(names)] if isinstance(names, dict) else list(names)
        if self.options["fuse"] and family == "detect" and hasattr(model, "fuse"):
            model = model.fuse(verbose=False)
        model = model.to(device).eval()
        if dtype == "float16":
            model = model.half()
        for parameter in model.parameters():
            parameter.requires_grad_(False)
        self._model = model
        self._family = family
        self._stride = int(max(int(model.stride.max()), 32))
        if self.options["imgsz"] % self._stride:
            raise ModelLoadError(
                "*", self.name, self.kind,
                f"imgsz {self.options['imgsz']} is not a multiple of the stride {self._stride}",
            )  # fmt: skip
        encoder = self.options["text_encoder"]
        self._encoder = resolve(encoder) if (encoder and self.open_vocabulary) else None

    # --- running ------------------------------------------------------------------------------

    def _run(self, requests: list[Request]) -> list[Any]:
        import torch
        from ultralytics.utils import nms, ops

        results: list[Any] = [None] * len(requests)
        wanted: list[list[int] | None] = []
        class_names: list[str] = []
        if self.open_vocabulary:
            class_names = sorted({r.args["object_name"] for r in requests})
            index = {name: i for i, name in enumerate(class_names)}
            wanted = [[index[r.args["object_name"]]] for r in requests]
        else:
            for i, request in enumerate(requests):
                try:
                    wanted.append(self._closed_ids(request.args["object_name"]))
                except ModuleUnavailable as exc:
                    results[i] = exc
                    wanted.append(None)
        active = [i for i, ids in enumerate(wanted) if ids]
        for i, ids in enumerate(wanted):
            if ids == [] and results[i] is None:
                results[i] = []
        if not active:
            return results
        crops = [requests[i].patch() for i in active]
        batch = self._preprocess(crops)
        imgsz = self.options["imgsz"]
        with torch.inference_mode():
            if self._family == "world":
                features = self._features(class_names)
                self._model.model[-1].nc = len(class_names)
                raw = self._model.predict(batch, txt_feats=features)
            elif self._family == "yoloe":
                features = self._features(class_names)
                self._model.model[-1].nc = len(class_names)
                raw = self._model.predict(batch, tpe=features)
            else:
                raw = self._model(batch)
            predictions = raw[0] if isinstance(raw, (tuple, list)) else raw
            end2end = bool(getattr(self._model, "end2end", False))
            rows_per_crop = []
            for position, crop in enumerate(crops):
                ids = wanted[active[position]] or []
                prediction = predictions[position : position + 1]
                if end2end:  # (1, N, 6) detections, already one class each
                    (rows,) = nms.non_max_suppression(
                        prediction, self.options["conf"], self.options["iou"], classes=ids,
                        max_det=self.options["max_det"], end2end=True,
                    )  # fmt: skip
                else:
                    # score only the classes this request asked for (a random or busy model's
                    # best class elsewhere must not hide them), then NMS per class
                    columns = torch.tensor(ids, device=prediction.device)
                    scores = prediction[:, 4 + columns]
                    (rows,) = nms.non_max_suppression(
                        torch.cat([prediction[:, :4], scores], 1), self.options["conf"],
                        self.options["iou"], max_det=self.options["max_det"], nc=len(ids),
                    )  # fmt: skip
                    rows[:, 5] = columns[rows[:, 5].long()].to(rows.dtype)
                rows = rows.float().cpu()
                if len(rows):
                    rows[:, :4] = ops.scale_boxes((imgsz, imgsz), rows[:, :4], crop.shape[:2])
                rows_per_crop.append(rows.tolist())
        for position, i in enumerate(active):
            keep = set(wanted[i] or [])
            boxes = []
            for row in rows_per_crop[position]:
                if int(row[5]) not in keep:
                    continue
                found = box_from_crop(tuple(row[:4]), requests[i].box)  # type: ignore[arg-type]
                if found is not None:
                    boxes.append(found)
            results[i] = boxes
        return results

    def _preprocess(self, crops: list[Any]) -> Any:
        import numpy as np
        import torch
        from ultralytics.data.augment import LetterBox

        imgsz = self.options["imgsz"]
        letterbox = LetterBox((imgsz, imgsz), auto=False, stride=self._stride)
        # the model takes RGB; ultralytics' predictor flips BGR input, we hand RGB directly
        arrays = np.stack([letterbox(image=np.ascontiguousarray(crop)) for crop in crops])
        tensor = torch.from_numpy(arrays).to(self.device).permute(0, 3, 1, 2).contiguous()
        tensor = tensor.half() if self.dtype == "float16" else tensor.float()
        return tensor / 255.0

    def _closed_ids(self, object_name: str) -> list[int]:
        aliases = {k.lower(): v for k, v in dict(self.options["aliases"]).items()}
        lowered = [n.lower() for n in self._names]
        for candidate in class_candidates(aliases.get(object_name.lower(), object_name)):
            ids = [i for i, name in enumerate(lowered) if name == candidate]
            if ids:
                return ids
        if self.options["unknown_class"] == "empty":
            return []
        raise ModuleUnavailable(
            "find",
            f"models:{self.name}",
            f"{object_name!r} is not a class of the closed-set detector {self.spec.checkpoint!r} "
            f"({len(self._names)} classes); use an open-vocabulary checkpoint (YOLO-World, "
            "YOLOE), add an alias, or set unknown_class = 'empty'",
        )

    def _features(self, names: list[str]) -> Any:
        """``(1, n, d)`` text embeddings of ``names`` (cached per name)."""
        import torch

        missing = [name for name in names if name not in self._text_features]
        if missing:
            computed = self._encode(missing)
            for name, vector in zip(missing, computed):
                self._text_features[name] = vector
            while len(self._text_features) > 4096:
                self._text_features.pop(next(iter(self._text_features)))
        stacked = torch.stack([self._text_features[name] for name in names])
        parameter = next(self._model.parameters())
        return stacked.unsqueeze(0).to(device=parameter.device, dtype=parameter.dtype)

    def _encode(self, names: list[str]) -> Any:
        import torch

        if self._encoder is not None:
            vectors = self._encoder.encode_texts(names).float().cpu()
            return torch.nn.functional.normalize(vectors, dim=-1)
        try:
            if self._family == "world":
                vectors = self._model.get_text_pe(names, cache_clip_model=True)
            else:
                vectors = self._model.get_text_pe(names, cache_clip_model=True, without_reprta=True)
        except Exception as exc:
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise ModelLoadError(
                "find", self.name, self.kind,
                "open-vocabulary class names need a text encoder and ultralytics' own failed "
                f"({type(exc).__name__}: {message}); set text_encoder to an open_clip model "
                "of this config (ViT-B-32 'openai' for YOLO-World)",
            ) from exc  # fmt: skip
        return vectors.reshape(len(names), -1).float().cpu()


def _ultralytics_weight_dirs() -> list[Path]:
    """Where ultralytics keeps downloaded weights (ours and the user's own settings)."""
    import json
    import os

    dirs: list[Path] = []
    configs = [offline.ultralytics_dir()]
    xdg = os.environ.get("XDG_CONFIG_HOME")
    configs.append((Path(xdg) if xdg else Path.home() / ".config") / "Ultralytics")
    for config in configs:
        settings = config / "settings.json"
        try:
            weights = json.loads(settings.read_text()).get("weights_dir")
        except (OSError, ValueError):
            weights = None
        if weights:
            dirs.append(Path(weights))
    return list(dict.fromkeys(dirs))
