"""tuning: top, training only a text encoder's top layers on cached lower-layer features."""

from __future__ import annotations

import pytest
import torch

from vipexec.reward.backbone import Backbone
from vipexec.reward.config import BackboneConfig, EncodingConfig, HeadConfig, RewardModelConfig
from vipexec.reward.data import collate_steps
from vipexec.reward.errors import RewardError
from vipexec.reward.model import RewardNet
from vipexec.reward.tokenize import StepEncoder

PROMPT = "how many red cubes are there ?"
STEPS = ["in this step , we use find to locate every cube ; it returns 3 patches .", "2 ."]


def batch(encoder, rows):
    examples = []
    for i, steps in enumerate(rows):
        enc = encoder.encode(PROMPT, steps)
        examples.append(
            {
                "row_id": i,
                "encoded": enc,
                "labels": [[-100.0] * 3] * enc.kept,
                "and_labels": [-100.0] * enc.kept,
            }
        )
    return collate_steps(examples, pad_id=encoder.pad_id)


def test_top_layers_on_lower_features_equal_the_whole_encoder(tiny_bert_dir):
    frozen = Backbone(BackboneConfig(name_or_path=str(tiny_bert_dir))).eval()
    top = Backbone(BackboneConfig(name_or_path=str(tiny_bert_dir), tuning="top")).eval()
    encoder = StepEncoder.from_config(frozen.config, EncodingConfig(max_length=96))
    b = batch(encoder, [STEPS, STEPS[:1]])
    with torch.no_grad():
        whole = frozen(b)
        split = top.upper(top.lower(b), b)
    valid = b["attention_mask"].bool()
    torch.testing.assert_close(split[valid], whole[valid], rtol=1e-5, atol=1e-5)
    trained = {n for n, p in top.named_parameters() if p.requires_grad}
    assert trained and all(".encoder.layer.1." in n for n in trained)
    assert top.persistent_keys() == trained


def test_cached_top_tuning_trains_only_the_top_layer_and_the_heads(tiny_bert_dir):
    config = RewardModelConfig(
        backbone=BackboneConfig(name_or_path=str(tiny_bert_dir), tuning="top", cache_features=True),
        encoding=EncodingConfig(max_length=96),
        head=HeadConfig(attn_dim=16, attn_heads=2, mlp_hidden=16, proj_dim=8, dropout=0.0),
    )
    torch.manual_seed(0)
    net = RewardNet(config).train()
    encoder = StepEncoder.from_config(config.backbone, config.encoding)
    b = batch(encoder, [STEPS])
    net(b).logits.sum().backward()
    assert len(net.feature_cache) == 1
    grads = {n for n, p in net.named_parameters() if p.grad is not None}
    assert any(n.startswith("backbone.model.encoder.layer.1.") for n in grads)
    assert not any(n.startswith("backbone.model.encoder.layer.0.") for n in grads)
    assert not any("embeddings" in n for n in grads)
    # Lower layers stay in eval mode (their cached features have no dropout).
    assert not net.backbone.model.encoder.layer[0].training
    assert net.backbone.model.encoder.layer[1].training


def test_top_tuning_needs_enough_layers(tiny_bert_dir):
    with pytest.raises(RewardError, match="top_layers"):
        Backbone(BackboneConfig(name_or_path=str(tiny_bert_dir), tuning="top", top_layers=5))
