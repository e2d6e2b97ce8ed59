"""Tiny backbones for the reward tests, built from config objects and saved with save_pretrained,
then loaded through the same code path as a real checkpoint. Everything runs offline on CPU."""

from __future__ import annotations

import atexit
import importlib.util
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
# datasets reads its cache location at import; keep test caches out of the home folder.
_CACHE = tempfile.mkdtemp(prefix="vipexec-reward-tests-")
atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)
os.environ["HF_DATASETS_CACHE"] = _CACHE

REPO = Path(__file__).resolve().parents[2]
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
VISION_TOKENS = ["<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>"]


def load_fixture_module():
    """scripts/make_step_fixture.py as a module (scripts/ is not a package)."""
    name = "make_step_fixture"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def fixture_vocab() -> list[str]:
    """Every word and punctuation mark the fixture and the tests use, plus small numbers."""
    rows = load_fixture_module().generate(queries=60, programs=4, seed=1)
    text = " ".join(r["prompt"] + " " + " ".join(r["completions"]) for r in rows).lower()
    words = set(re.findall(r"[a-z]+|[^\sa-z0-9]|[0-9]", text))
    words |= {str(i) for i in range(10)} | set("how many are there what color is it".split())
    return [*SPECIALS, *sorted(words)]


def make_tokenizer(vocab: list[str]):
    from transformers import BertTokenizer

    return BertTokenizer(vocab={w: i for i, w in enumerate(vocab)})


def write_rows(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def fixture_module():
    return load_fixture_module()


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory) -> Path:
    """A 2-layer, 32-wide BERT with a word-level vocabulary covering the fixture."""
    import torch
    from transformers import BertConfig, BertModel

    out = tmp_path_factory.mktemp("tiny-bert")
    tok = make_tokenizer(fixture_vocab())
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(tok),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
    )
    BertModel(config, add_pooling_layer=False).save_pretrained(out)
    tok.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def tiny_qwen2vl_dir(tmp_path_factory) -> Path:
    """A tiny Qwen2-VL (2 text layers, 1 vision block) with a processor around a word vocab."""
    import torch
    from transformers import (
        AutoModel,
        Qwen2VLConfig,
        Qwen2VLImageProcessor,
        Qwen2VLProcessor,
        Qwen2VLVideoProcessor,
    )

    out = tmp_path_factory.mktemp("tiny-qwen2vl")
    tok = make_tokenizer(fixture_vocab())
    tok.add_special_tokens({"additional_special_tokens": VISION_TOKENS})
    ids = {t: tok.convert_tokens_to_ids(t) for t in VISION_TOKENS}
    images = Qwen2VLImageProcessor(
        min_pixels=4 * 28 * 28,
        max_pixels=16 * 28 * 28,
        patch_size=14,
        merge_size=2,
        temporal_patch_size=2,
    )
    processor = Qwen2VLProcessor(
        image_processor=images, tokenizer=tok, video_processor=Qwen2VLVideoProcessor()
    )
    config = Qwen2VLConfig(
        text_config={
            "vocab_size": len(tok),
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "num_key_value_heads": 1,
            "max_position_embeddings": 1024,
            "bos_token_id": tok.cls_token_id,
            "eos_token_id": tok.sep_token_id,
            "pad_token_id": tok.pad_token_id,
            "rope_scaling": {"type": "mrope", "mrope_section": [2, 3, 3]},
        },
        vision_config={
            "depth": 1,
            "embed_dim": 16,
            "hidden_size": 32,
            "num_heads": 2,
            "mlp_ratio": 2,
            "patch_size": 14,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "in_channels": 3,
        },
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
    )
    torch.manual_seed(0)
    AutoModel.from_config(config).save_pretrained(out)
    processor.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def scene_image(tmp_path_factory) -> Path:
    import numpy as np
    from PIL import Image

    path = tmp_path_factory.mktemp("images") / "scene.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (56, 84, 3), dtype=np.uint8)).save(path)
    return path


@pytest.fixture(scope="session")
def small_dataset(tmp_path_factory, fixture_module) -> Path:
    """A small fixture file: 24 queries x 3 programs, with train/val/test splits."""
    path = tmp_path_factory.mktemp("data") / "steps.jsonl"
    rows = fixture_module.generate(queries=24, programs=3, seed=3, val_share=0.25, test_share=0.25)
    return write_rows(path, rows)
