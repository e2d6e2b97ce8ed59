"""transformers depth estimation for ``compute_depth``: DPT and Depth Anything class models.

Like ViperGPT, depth is estimated on the *whole* image (context matters) and the patch's median
is taken from that map; maps of the last ``map_cache`` images are kept, so the many patches of
one image cost one forward pass. One invocation runs every not-yet-mapped image of the batch.

``output``: relative models (DPT, Depth Anything "relative") predict inverse depth (disparity,
larger is nearer); ``"inverse"`` turns the patch's median disparity ``d`` into ``1 / d`` so that
larger is farther, as the API promises. Metric models predict depth directly (``"depth"``).
``"auto"`` reads the model config (``depth_estimation_type == "metric"`` means depth).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, ClassVar

from vipexec.modules.backend import crop_pixels
from vipexec.modules.images import image_id
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

__all__ = ["DepthModule"]

_EPSILON = 1e-6


class DepthModule(ModelModule):
    kind: ClassVar[str] = "depth"
    methods: ClassVar[frozenset[str]] = frozenset({"compute_depth"})
    packages: ClassVar[tuple[str, ...]] = ("torch", "transformers")
    default_memory_gb: ClassVar[float] = 1.5
    OPTIONS: ClassVar[dict[str, Option]] = {
        "output": Option(
            "auto", str, "inverse (disparity), depth, or auto", ("auto", "inverse", "depth")
        ),
        "map_cache": Option(16, int, "depth maps of recent images kept", minimum=0),
    }

    def __init__(self, spec: Any, context: Any) -> None:
        super().__init__(spec, context)
        self._model: Any = None
        self._processor: Any = None
        self._inverse = True
        self._maps: OrderedDict[str, Any] = OrderedDict()

    def _locate(self, method: str) -> Located:
        return locate_hf(self.spec, self.context, method)

    def _load(self, located: Located, device: str, dtype: str, resolve: Resolver) -> None:
        offline.configure(offline=self.context.offline)
        local = self.context.offline
        self._model = hf_pretrained(
            "AutoModelForDepthEstimation", located.target, local=local, device=device, dtype=dtype
        )
        self._processor = hf_pretrained("AutoImageProcessor", located.target, local=local)
        output = self.options["output"]
        if output == "auto":
            config = self._model.config
            metric = getattr(config, "depth_estimation_type", "relative") == "metric"
            output = "depth" if metric else "inverse"
        self._inverse = output == "inverse"

    def _unload(self) -> None:
        super()._unload()
        self._maps.clear()

    def _run(self, requests: list[Request]) -> list[Any]:
        import numpy as np

        keys = [r.image_id or image_id(r.image) for r in requests]  # type: ignore[arg-type]
        missing: dict[str, Any] = {}
        for key, request in zip(keys, requests):
            if key not in self._maps and key not in missing:
                missing[key] = request.image
        computed = self._depth_maps(list(missing.values())) if missing else []
        maps = dict(zip(missing, computed))
        results: list[Any] = []
        for key, request in zip(keys, requests):
            depth_map = maps.get(key)
            if depth_map is None:
                depth_map = self._maps[key]
                self._maps.move_to_end(key)
            values = crop_pixels(depth_map, request.box)  # type: ignore[arg-type]
            median = float(np.median(values)) if values.size else float(np.median(depth_map))
            if self._inverse:
                median = 1.0 / max(median, _EPSILON)
            results.append(median)
        limit = self.options["map_cache"]
        for key, depth_map in maps.items():
            if limit:
                self._maps[key] = depth_map
        while len(self._maps) > limit:
            self._maps.popitem(last=False)
        return results

    def _depth_maps(self, images: list[Any]) -> list[Any]:
        """``H x W`` float32 maps (model output resized to each image)."""
        import torch
        from PIL import Image

        inputs = self._processor(images=[Image.fromarray(i) for i in images], return_tensors="pt")
        pixels = inputs["pixel_values"].to(self.device, torch_dtype(self.dtype))
        with torch.inference_mode():
            predicted = self._model(pixel_values=pixels).predicted_depth.float()
            maps = []
            for i, image in enumerate(images):
                resized = torch.nn.functional.interpolate(
                    predicted[i][None, None], size=image.shape[:2], mode="bicubic",
                    align_corners=False,
                )[0, 0]  # fmt: skip
                maps.append(resized.cpu().numpy().astype("float32"))
        return maps
