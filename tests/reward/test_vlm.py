"""The vision-language path: a tiny Qwen2-VL through the processor, the backbone and the heads."""

from __future__ import annotations

import pytest
import torch

from vipexec.reward.config import BackboneConfig, EncodingConfig, HeadConfig, RewardModelConfig
from vipexec.reward.data import collate_steps
from vipexec.reward.model import RewardNet
from vipexec.reward.tokenize import StepEncoder

HEAD = HeadConfig(attn_dim=16, attn_heads=2, mlp_hidden=16, proj_dim=8, dropout=0.0)
PROMPT = "how many red cubes are there ?"
STEPS = ["find the red cube .", "count them : 3 .", "return 3 ."]


def _setup(path, tuning="frozen"):
    config = RewardModelConfig(
        backbone=BackboneConfig(
            name_or_path=str(path), tuning=tuning, lora_target_modules=["q_proj", "v_proj"]
        ),
        encoding=EncodingConfig(max_length=96, prompt_format="plain"),
        head=HEAD,
    )
    torch.manual_seed(0)
    net = RewardNet(config).eval()
    encoder = StepEncoder.from_config(config.backbone, config.encoding)
    return net, encoder


def _scores(net, encoder, steps, images):
    enc = encoder.encode(PROMPT, steps, images)
    ex = {
        "row_id": 0,
        "encoded": enc,
        "labels": [[-100.0] * 3] * enc.kept,
        "and_labels": [-100.0] * enc.kept,
    }
    batch = collate_steps([ex], pad_id=encoder.pad_id)
    with torch.no_grad():
        return net.step_probabilities(net(batch))[0, : enc.kept], batch


def test_images_expand_into_image_tokens_of_the_prompt_block(tiny_qwen2vl_dir, scene_image):
    _, encoder = _setup(tiny_qwen2vl_dir)
    assert encoder.is_vlm
    enc = encoder.encode(PROMPT, STEPS, [scene_image])
    image_id = encoder.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    positions = [i for i, t in enumerate(enc.input_ids) if t == image_id]
    grid = enc.extras["image_grid_thw"][0]
    assert len(positions) == int(grid.prod()) // 4  # merge_size 2 x 2
    assert all(enc.block_ids[i] == 0 for i in positions)
    assert [enc.input_ids[e] for e in enc.step_ends] == [encoder.marker_id] * 3
    mm = enc.extras["mm_token_type_ids"]
    assert len(mm) == len(enc.input_ids)
    assert [i for i, v in enumerate(mm) if v] == positions


def test_vlm_scores_depend_on_the_image(tiny_qwen2vl_dir, scene_image, tmp_path):
    from PIL import Image

    net, encoder = _setup(tiny_qwen2vl_dir)
    other = tmp_path / "flat.png"
    Image.new("RGB", (84, 56), (200, 10, 10)).save(other)
    a, batch = _scores(net, encoder, STEPS, [scene_image])
    b, _ = _scores(net, encoder, STEPS, [other])
    assert "pixel_values" in batch and "mm_token_type_ids" in batch
    assert a.shape == (3, 3)
    assert not torch.allclose(a, b)


def test_vlm_step_scores_never_see_later_steps(tiny_qwen2vl_dir, scene_image):
    net, encoder = _setup(tiny_qwen2vl_dir)
    base, _ = _scores(net, encoder, STEPS, [scene_image])
    changed, _ = _scores(
        net, encoder, [*STEPS[:2], "return 7 , not 3 , blue sphere ."], [scene_image]
    )
    torch.testing.assert_close(changed[:2], base[:2], rtol=0, atol=1e-6)
    assert not torch.allclose(changed[2], base[2])


def test_vlm_lora_trains_only_adapters_and_heads(tiny_qwen2vl_dir):
    net, _ = _setup(tiny_qwen2vl_dir, tuning="lora")
    trainable = [n for n, p in net.named_parameters() if p.requires_grad]
    backbone = [n for n in trainable if n.startswith("backbone.")]
    assert backbone and all("lora_" in n for n in backbone)
    saved = net.state_dict()
    assert set(k for k in saved if k.startswith("backbone.")) == set(backbone)


@pytest.mark.parametrize("fmt", ["chat"])
def test_chat_format_without_template_is_a_clear_error(tiny_qwen2vl_dir, fmt):
    from vipexec.reward.errors import RewardError

    config = BackboneConfig(name_or_path=str(tiny_qwen2vl_dir))
    encoder = StepEncoder.from_config(config, EncodingConfig(prompt_format=fmt))
    with pytest.raises(RewardError, match="no template"):
        encoder.encode(PROMPT, STEPS, [])
