"""Tiny random-initialised models of every family, saved the way real checkpoints are.

For offline tests, benchmarks and smoke-testing a config on a machine without weights: each
``build_*`` function makes a few-hundred-kilobyte to few-megabyte model from a config object
(ultralytics ``yolov8n.yaml``, a registered open_clip config, transformers config classes),
saves it to ``folder`` in its library's standard format (an ultralytics ``.pt``, an open_clip
state dict, a ``save_pretrained`` folder with its processor) and returns the path a models
config points at. Loading then goes through exactly the code path of a real checkpoint.

Answers of random models are noise of the right type and shape: boxes inside the patch, some
option, some string, some float.

Tokenizers are built locally: a byte-level CLIP BPE with no merges (every character is a token)
for CLIP/OWL-ViT, and a small WordPiece vocabulary for BERT-style and decoder models.
:func:`write_tiny_config` writes a TOML config with all of them and a profile per family mix.
"""

from __future__ import annotations

import json
import string
from pathlib import Path
from typing import Any

__all__ = [
    "TINY_CLIP_ARCH",
    "build_blip_vqa",
    "build_causal_lm",
    "build_depth_anything",
    "build_dpt",
    "build_hf_clip",
    "build_llava",
    "build_open_clip",
    "build_owl",
    "build_yolo",
    "byte_clip_tokenizer",
    "word_tokenizer",
    "write_tiny_config",
]

TINY_CLIP_ARCH = "vipexec-tiny-clip"
_WORDS = (
    "what is this the a an of in on at to and or color red green blue yellow white black "
    "yes no cat dog person people car bus tree sky how many there are it which side left "
    "right big small user assistant system answer question option video frame shape circle "
    "square triangle"
).split()
_CHAT_TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }}: "
    "{% if m['content'] is string %}{{ m['content'] }}"
    "{% else %}{% for c in m['content'] %}"
    "{% if c['type'] == 'image' %}<image> {% else %}{{ c['text'] }}{% endif %}"
    "{% endfor %}{% endif %}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant:{% endif %}"
)


def _seed(seed: int) -> None:
    import torch

    torch.manual_seed(seed)


# --- tokenizers -------------------------------------------------------------------------------


def _byte_alphabet() -> list[str]:
    """The 256 printable stand-ins of byte-level BPE, in byte order."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    mapping = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in mapping:
            mapping[b] = chr(256 + extra)
            extra += 1
    return [mapping[b] for b in range(256)]


def byte_clip_tokenizer() -> Any:
    """A ``CLIPTokenizer`` whose vocabulary is single characters (514 tokens, no merges)."""
    from transformers import CLIPTokenizer

    chars = _byte_alphabet()
    tokens = [*chars, *(c + "</w>" for c in chars), "<|startoftext|>", "<|endoftext|>"]
    return CLIPTokenizer(vocab={t: i for i, t in enumerate(tokens)}, merges=[])


def word_tokenizer(*, image_token: bool = False) -> Any:
    """A ``BertTokenizer`` over a small vocabulary (special tokens, characters, some words)."""
    from transformers import BertTokenizer

    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "<image>"]
    tokens += list(string.ascii_lowercase + string.digits + string.punctuation)
    tokens += ["##" + c for c in string.ascii_lowercase + string.digits]
    tokens += [w for w in dict.fromkeys(_WORDS) if w not in tokens]
    vocab = {t: i for i, t in enumerate(tokens)}
    extra = {"extra_special_tokens": {"image_token": "<image>"}} if image_token else {}
    return BertTokenizer(vocab=vocab, **extra)


# --- ultralytics ------------------------------------------------------------------------------


def build_yolo(folder: str | Path, config: str = "yolov8n.yaml", *, seed: int = 0) -> Path:
    """An ultralytics checkpoint from a model YAML (``yolov8n.yaml``: COCO's 80 class names;
    ``yolov8n-worldv2.yaml`` / ``yoloe-v8n.yaml``: open vocabulary)."""
    from vipexec.modules.models import offline

    offline.import_ultralytics()
    from ultralytics import YOLO
    from ultralytics.utils import ROOT, YAML

    _seed(seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    wrapper = YOLO(config)
    if "world" not in config and "yoloe" not in config:
        wrapper.model.names = YAML.load(ROOT / "cfg/datasets/coco8.yaml")["names"]
    path = folder / (Path(config).stem + ".pt")
    wrapper.save(str(path))
    return path


# --- open_clip --------------------------------------------------------------------------------


def build_open_clip(
    folder: str | Path, *, embed_dim: int = 512, seed: int = 0
) -> tuple[Path, Path]:
    """``(model_config_json, state_dict_file)`` of a tiny open_clip model named
    :data:`TINY_CLIP_ARCH` (image 32 px, 2 layers; the bundled 49408-token BPE tokenizer)."""
    from vipexec.modules.models import offline

    offline.configure()
    import open_clip
    import torch

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "embed_dim": embed_dim,
        "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "patch_size": 8},
        "text_cfg": {
            "context_length": 77,
            "vocab_size": 49408,
            "width": 64,
            "heads": 2,
            "layers": 2,
        },
    }
    config_path = folder / f"{TINY_CLIP_ARCH}.json"
    config_path.write_text(json.dumps(config, indent=2))
    if TINY_CLIP_ARCH not in open_clip.list_models():
        open_clip.add_model_config(str(config_path))
    _seed(seed)
    model = open_clip.create_model(TINY_CLIP_ARCH, pretrained=None)
    weights = folder / "tiny-clip.pt"
    torch.save(model.state_dict(), weights)
    return config_path, weights


# --- transformers -----------------------------------------------------------------------------


def _tiny_vision(**overrides: Any) -> dict[str, Any]:
    config = {
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "image_size": 32,
        "patch_size": 8,
    }
    config.update(overrides)
    return config


def _save(model: Any, processor: Any, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def build_hf_clip(folder: str | Path, *, seed: int = 0) -> Path:
    """A transformers ``CLIPModel`` + ``CLIPProcessor`` folder."""
    from vipexec.modules.models.base import quiet_transformers

    t = quiet_transformers()
    tokenizer = byte_clip_tokenizer()
    size = len(tokenizer)
    text = _tiny_vision(vocab_size=size, max_position_embeddings=77)
    text.update(bos_token_id=size - 2, eos_token_id=size - 1, pad_token_id=size - 1)
    for key in ("image_size", "patch_size"):
        text.pop(key)
    _seed(seed)
    model = t.CLIPModel(
        t.CLIPConfig(text_config=text, vision_config=_tiny_vision(), projection_dim=16)
    )
    images = t.CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    return _save(model, t.CLIPProcessor(image_processor=images, tokenizer=tokenizer), Path(folder))


def build_owl(folder: str | Path, *, seed: int = 0) -> Path:
    """A transformers ``OwlViTForObjectDetection`` + processor folder."""
    from vipexec.modules.models.base import quiet_transformers

    t = quiet_transformers()
    tokenizer = byte_clip_tokenizer()
    size = len(tokenizer)
    text = _tiny_vision(vocab_size=size, max_position_embeddings=16)
    text.update(bos_token_id=size - 2, eos_token_id=size - 1, pad_token_id=size - 1)
    for key in ("image_size", "patch_size"):
        text.pop(key)
    _seed(seed)
    # OWL-ViT needs projection_dim equal to the text hidden size
    config = t.OwlViTConfig(text_config=text, vision_config=_tiny_vision(), projection_dim=32)
    model = t.OwlViTForObjectDetection(config)
    square = {"height": 32, "width": 32}
    images = t.OwlViTImageProcessor(size=square, crop_size=square)
    return _save(
        model, t.OwlViTProcessor(image_processor=images, tokenizer=tokenizer), Path(folder)
    )


def _bert_text(tokenizer: Any, **extra: Any) -> dict[str, Any]:
    vocab = tokenizer.get_vocab()
    config = {
        "vocab_size": len(vocab),
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "max_position_embeddings": 128,
        "pad_token_id": vocab["[PAD]"],
        "bos_token_id": vocab["[CLS]"],
        "eos_token_id": vocab["[SEP]"],
        "sep_token_id": vocab["[SEP]"],
    }
    config.update(extra)
    return config


def build_blip_vqa(folder: str | Path, *, seed: int = 0) -> Path:
    """A transformers ``BlipForQuestionAnswering`` + ``BlipProcessor`` folder (BLIP-VQA class;
    bos/eos/pad ids set inside the small vocabulary so ``generate`` works)."""
    from vipexec.modules.models.base import quiet_transformers

    t = quiet_transformers()
    tokenizer = word_tokenizer()
    text = _bert_text(tokenizer, encoder_hidden_size=32)
    _seed(seed)
    config = t.BlipConfig(text_config=text, vision_config=_tiny_vision(), projection_dim=32)
    model = t.BlipForQuestionAnswering(config)
    images = t.BlipImageProcessor(size={"height": 32, "width": 32})
    return _save(model, t.BlipProcessor(image_processor=images, tokenizer=tokenizer), Path(folder))


def _llama(tokenizer: Any) -> Any:
    from vipexec.modules.models.base import quiet_transformers

    t = quiet_transformers()
    vocab = tokenizer.get_vocab()
    return t.LlamaConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=512,
        bos_token_id=vocab["[CLS]"],
        eos_token_id=vocab["[SEP]"],
        pad_token_id=vocab["[PAD]"],
    )


def build_llava(folder: str | Path, *, seed: int = 0) -> Path:
    """A chat-style VLM: ``LlavaForConditionalGeneration`` (CLIP vision + Llama) with a
    ``LlavaProcessor`` carrying a chat template."""
    from vipexec.modules.models.base import quiet_transformers

    t = quiet_transformers()
    tokenizer = word_tokenizer(image_token=True)
    tokenizer.chat_template = _CHAT_TEMPLATE
    _seed(seed)
    config = t.LlavaConfig(
        vision_config=t.CLIPVisionConfig(**_tiny_vision()),
        text_config=_llama(tokenizer),
        image_token_index=tokenizer.get_vocab()["<image>"],
        vision_feature_layer=-1,
        vision_feature_select_strategy="default",
    )
    model = t.LlavaForConditionalGeneration(config)
    images = t.CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    processor = t.LlavaProcessor(
        image_processor=images,
        tokenizer=tokenizer,
        patch_size=8,
        vision_feature_select_strategy="default",
        chat_template=_CHAT_TEMPLATE,
        num_additional_image_tokens=1,
    )
    return _save(model, processor, Path(folder))


def build_causal_lm(folder: str | Path, *, seed: int = 0) -> Path:
    """A ``LlamaForCausalLM`` + tokenizer (with a chat template) folder."""
    from vipexec.modules.models.base import quiet_transformers

    t = quiet_transformers()
    tokenizer = word_tokenizer()
    tokenizer.chat_template = _CHAT_TEMPLATE
    _seed(seed)
    model = t.LlamaForCausalLM(_llama(tokenizer))
    return _save(model, tokenizer, Path(folder))


def build_dpt(folder: str | Path, *, seed: int = 0) -> Path:
    """A ``DPTForDepthEstimation`` + ``DPTImageProcessor`` folder (relative depth)."""
    from vipexec.modules.models.base import quiet_transformers

    t = quiet_transformers()
    _seed(seed)
    config = t.DPTConfig(
        hidden_size=32,
        num_hidden_layers=4,
        num_attention_heads=2,
        intermediate_size=64,
        image_size=32,
        patch_size=8,
        neck_hidden_sizes=[8, 16, 32, 32],
        fusion_hidden_size=16,
        backbone_out_indices=[0, 1, 2, 3],
        head_hidden_size=16,
    )
    model = t.DPTForDepthEstimation(config)
    images = t.DPTImageProcessor(size={"height": 32, "width": 32}, keep_aspect_ratio=False)
    return _save(model, images, Path(folder))


def build_depth_anything(folder: str | Path, *, seed: int = 0) -> Path:
    """A ``DepthAnythingForDepthEstimation`` (DINOv2 backbone) folder."""
    from vipexec.modules.models.base import quiet_transformers

    t = quiet_transformers()
    _seed(seed)
    backbone = t.Dinov2Config(
        hidden_size=32,
        num_hidden_layers=4,
        num_attention_heads=2,
        intermediate_size=64,
        image_size=28,
        patch_size=14,
        out_features=["stage1", "stage2", "stage3", "stage4"],
        reshape_hidden_states=False,
    )
    config = t.DepthAnythingConfig(
        backbone_config=backbone,
        neck_hidden_sizes=[8, 16, 32, 32],
        fusion_hidden_size=16,
        head_hidden_size=16,
        reassemble_hidden_size=32,
        patch_size=14,
    )
    model = t.DepthAnythingForDepthEstimation(config)
    images = t.DPTImageProcessor(
        size={"height": 28, "width": 28}, keep_aspect_ratio=False, ensure_multiple_of=14
    )
    return _save(model, images, Path(folder))


# --- a config over all of them ----------------------------------------------------------------


def write_tiny_config(
    folder: str | Path,
    paths: dict[str, Path | tuple[Path, Path]],
    *,
    llm_url: str | None = None,
    name: str = "models.toml",
) -> Path:
    """A TOML config over built tiny models (``paths`` keyed by builder: ``yolo``,
    ``yolo_world``, ``open_clip``, ``hf_clip``, ``owl``, ``blip``, ``llava``, ``llm``, ``dpt``,
    ``depth_anything``); profiles are written for the families present."""
    folder = Path(folder)
    lines = ["offline = true", "", "[host]", "max_batch = 16", "max_wait_ms = 5.0", ""]

    def model(key: str, body: str) -> None:
        lines.extend([f"[models.{key}]", body.strip(), ""])

    def rel(path: Path) -> str:
        path = Path(path)
        try:
            return path.relative_to(folder).as_posix()
        except ValueError:
            return path.as_posix()

    have = set(paths)
    if "yolo" in have:
        model("yolo", f'kind = "yolo"\ncheckpoint = "{rel(paths["yolo"])}"\n'
              "imgsz = 160\nconf = 0.0\nmax_det = 3\nmemory_gb = 0.1")  # fmt: skip
    if "open_clip" in have:
        config, weights = paths["open_clip"]  # type: ignore[misc]
        body = (
            f'kind = "open_clip"\narch = "{TINY_CLIP_ARCH}"\nmodel_config = "{rel(config)}"\n'
            f'checkpoint = "{rel(weights)}"\nmemory_gb = 0.1'
        )
        model("clip", body)
    if "yolo_world" in have and "open_clip" in have:
        body = (
            f'kind = "yolo"\ncheckpoint = "{rel(paths["yolo_world"])}"\nimgsz = 160\n'
            'conf = 0.0\nmax_det = 3\ntext_encoder = "clip"\nmemory_gb = 0.1'
        )
        model("yolo-world", body)
    for key, kind, extra in (
        ("hf_clip", "hf_clip", ""),
        ("owl", "owl", "threshold = 0.0\nmax_det = 3"),
        ("blip", "vqa", 'style = "blip"\nmax_new_tokens = 4'),
        ("llava", "vqa", 'style = "chat"\nmax_new_tokens = 4'),
        ("llm", "llm_local", "max_new_tokens = 6\nshort_max_new_tokens = 4"),
        ("dpt", "depth", ""),
        ("depth_anything", "depth", ""),
    ):
        if key in have:
            body = f'kind = "{kind}"\ncheckpoint = "{rel(paths[key])}"\nmemory_gb = 0.1\n{extra}'
            model(key.replace("_", "-"), body)
    if llm_url:
        model("http-llm", f'kind = "llm_http"\nbase_url = "{llm_url}"\nmodel = "tiny"\n'
              "retries = 1\nbackoff_s = 0.01\ntimeout_s = 10.0")  # fmt: skip
    profiles = {
        "ultralytics": ("yolo", "clip", "blip", "dpt", "http-llm" if llm_url else "llm"),
        "world": ("yolo-world", "clip", "llava", "depth-anything", "llm"),
        "transformers": ("owl", "hf-clip", "blip", "dpt", "llm"),
    }
    defined = {line[len("[models.") : -1] for line in lines if line.startswith("[models.")}
    for profile, (detector, contrastive, vqa, depth, llm) in profiles.items():
        if not {detector, contrastive, vqa, depth, llm} <= defined:
            continue
        lines.append(f"[profiles.{profile}]")
        for method, target in (
            ("find", detector), ("exists", detector), ("verify_property", contrastive),
            ("best_text_match", contrastive), ("best_image_match", contrastive),
            ("simple_query", vqa), ("compute_depth", depth), ("llm_query", llm),
            ("select_answer", llm),
        ):  # fmt: skip
            lines.append(f'{method} = "{target}"')
        lines.append("")
    path = folder / name
    path.write_text("\n".join(lines))
    return path
