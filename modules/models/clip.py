"""open_clip models for ``verify_property``, ``best_text_match`` and ``best_image_match``.

``arch`` is any open_clip architecture (``ViT-L-14``, ``ViT-B-32``, ``RN50``, a custom one whose
JSON config ``model_config`` points at); ``checkpoint`` is a weights file (``.pt``, ``.bin``,
``.safetensors``: a state dict or an OpenAI JIT archive) or an open_clip pretrained tag
(``openai``, ``laion2b_s32b_b82k``, ...). A tag is looked up in the Hugging Face cache and in
open_clip's download folder (``~/.cache/clip``) and loaded from the file found there, with the
tag's preprocessing and activation settings; with ``offline = false`` a missing one is
downloaded by open_clip.

Offline note: architectures whose tokenizer lives on the Hugging Face hub (SigLIP, CLIPA, the
multilingual ones) need that tokenizer in the local cache too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from vipexec.modules.models import offline
from vipexec.modules.models.base import Option, Resolver
from vipexec.modules.models.checkpoints import (
    Located,
    candidate_paths,
    expand,
    file_identity,
    hf_cache_dir,
    locate_file,
)
from vipexec.modules.models.contrastive import CONTRASTIVE_OPTIONS, ContrastiveModule
from vipexec.modules.models.errors import ModelNotFound

__all__ = ["OpenClipModule"]

_WEIGHT_SUFFIXES = (".pt", ".pth", ".bin", ".safetensors", ".ckpt")
_HUB_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")


class OpenClipModule(ContrastiveModule):
    kind: ClassVar[str] = "open_clip"
    packages: ClassVar[tuple[str, ...]] = ("torch", "open_clip")
    default_memory_gb: ClassVar[float] = 2.0
    OPTIONS: ClassVar[dict[str, Option]] = {
        "arch": Option("ViT-B-32", str, "open_clip architecture name"),
        "model_config": Option(None, str, "JSON config of a custom architecture named arch"),
        **CONTRASTIVE_OPTIONS,
    }

    def __init__(self, spec: Any, context: Any) -> None:
        super().__init__(spec, context)
        self._model: Any = None
        self._preprocess: Any = None
        self._tokenizer: Any = None
        self._tag: dict[str, Any] | None = None

    @property
    def model_id(self) -> str:
        return f"open_clip:{self.options['arch']}:{self.spec.checkpoint}"

    def _config_file(self) -> Path | None:
        raw = self.options["model_config"]
        if not raw:
            return None
        for path in candidate_paths(raw, self.context):
            if path.is_file():
                return path
        looked = [str(p) for p in candidate_paths(raw, self.context)] or [raw]
        raise ModelNotFound(
            "*", self.name, self.kind, raw, looked, hint="model_config JSON not found"
        )

    def _locate(self, method: str) -> Located:
        self._config_file()
        checkpoint = self.spec.checkpoint or ""
        try:
            return locate_file(self.spec, self.context, method)
        except ModelNotFound as miss:
            path_like = (
                expand(checkpoint).suffix.lower() in _WEIGHT_SUFFIXES
                or "/" in checkpoint
                or "\\" in checkpoint
            )
            if path_like:
                raise
            return self._locate_tag(checkpoint, method, miss)

    def _locate_tag(self, tag: str, method: str, miss: ModelNotFound) -> Located:
        self._register_config()
        import open_clip

        arch = self.options["arch"]
        config = open_clip.get_pretrained_cfg(arch, tag)
        if not config:
            tags = ", ".join(open_clip.list_pretrained_tags_by_model(arch)) or "none"
            raise ModelNotFound(
                method, self.name, self.kind, tag, miss.looked_in,
                hint=f"not a file, and not a pretrained tag of {arch} (its tags: {tags})",
            )  # fmt: skip
        self._tag = dict(config)
        looked = list(miss.looked_in)
        hub = str(config.get("hf_hub") or "").strip("/")
        if hub:
            repo = "/".join(hub.split("/")[:2])
            folder = hf_cache_dir() / ("models--" + repo.replace("/", "--")) / "snapshots"
            looked.append(str(folder))
            if folder.is_dir():
                for snapshot in sorted(folder.iterdir(), key=lambda p: -p.stat().st_mtime):
                    for name in _HUB_FILES:
                        if (snapshot / name).is_file():
                            path = snapshot / name
                            return Located(
                                str(path), path, f"open_clip {arch} '{tag}' at {path}",
                                file_identity(path),
                            )  # fmt: skip
        url = str(config.get("url") or "")
        if url:
            path = Path.home() / ".cache" / "clip" / Path(url).name
            looked.append(str(path))
            if path.is_file():
                return Located(
                    str(path), path, f"open_clip {arch} '{tag}' at {path}", file_identity(path)
                )
        if not self.context.offline:
            return Located(tag, None, f"download open_clip {arch} '{tag}'", f"tag:{arch}:{tag}")
        raise ModelNotFound(
            method, self.name, self.kind, tag, looked, hint="offline: pretrained tags load from "
            "the local caches only",
        )  # fmt: skip

    def _register_config(self) -> None:
        path = self._config_file()
        if path is None:
            return
        import open_clip

        if self.options["arch"] not in open_clip.list_models():
            open_clip.add_model_config(str(path))

    def _load(self, located: Located, device: str, dtype: str, resolve: Resolver) -> None:
        offline.configure(offline=self.context.offline)
        import open_clip

        from vipexec.modules.models.base import torch_dtype

        self._register_config()
        arch = self.options["arch"]
        kwargs: dict[str, Any] = {}
        if self._tag is not None and located.path is not None:
            kwargs["force_quick_gelu"] = bool(self._tag.get("quick_gelu", False))
            for key in ("mean", "std"):
                if self._tag.get(key) is not None:
                    kwargs[f"image_{key}"] = tuple(self._tag[key])
        model, _, preprocess = open_clip.create_model_and_transforms(
            arch, pretrained=located.target, device=device, **kwargs
        )
        model = model.eval()
        if dtype != "float32":
            model = model.to(torch_dtype(dtype))
        self._model = model
        self._preprocess = preprocess
        self._tokenizer = open_clip.get_tokenizer(arch)

    def _encode_images(self, crops: list[Any]) -> Any:
        import torch
        from PIL import Image

        from vipexec.modules.models.base import torch_dtype

        batch = torch.stack([self._preprocess(Image.fromarray(crop)) for crop in crops])
        batch = batch.to(self.device, torch_dtype(self.dtype))
        return self._model.encode_image(batch, normalize=True)

    def _encode_text_batch(self, texts: list[str]) -> Any:
        tokens = self._tokenizer(texts).to(self.device)
        return self._model.encode_text(tokens, normalize=True)

    def _logit_scale(self) -> float:
        return float(self._model.logit_scale.exp().item())
