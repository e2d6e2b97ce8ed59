"""TriAtt-CoT and the baselines on a tiny BERT: shapes, causal masking, persistence, caching."""

from __future__ import annotations

import pytest
import torch

from vipexec.reward.backbone import block_causal_mask
from vipexec.reward.config import BackboneConfig, EncodingConfig, HeadConfig, RewardModelConfig
from vipexec.reward.data import collate_steps
from vipexec.reward.errors import RewardError
from vipexec.reward.heads import context_mask
from vipexec.reward.model import RewardNet
from vipexec.reward.tokenize import StepEncoder

HEAD = dict(attn_dim=16, attn_heads=2, mlp_hidden=16, proj_dim=8, dropout=0.0)
PROMPT = "how many red cubes are there ?"
STEPS = [
    "in this step , we use find to locate every cube in the image ; it returns 3 patches .",
    "in this step , we count the remaining patches , so the number of red cubes is 2 .",
    "in this step , we return 2 as the final answer .",
]


def build(path, *, kind="triatt", mask="auto", tuning="frozen", cache=False):
    config = RewardModelConfig(
        backbone=BackboneConfig(
            name_or_path=str(path), mask=mask, tuning=tuning, cache_features=cache
        ),
        encoding=EncodingConfig(max_length=128),
        head=HeadConfig(kind=kind, **HEAD),
    )
    torch.manual_seed(0)
    return RewardNet(config).eval(), StepEncoder.from_config(config.backbone, config.encoding)


def batch_of(encoder, rows):
    examples = []
    for i, (prompt, steps) in enumerate(rows):
        enc = encoder.encode(prompt, steps)
        examples.append(
            {
                "row_id": i,
                "encoded": enc,
                "labels": [[-100.0] * 3] * enc.kept,
                "and_labels": [-100.0] * enc.kept,
            }
        )
    return collate_steps(examples, pad_id=encoder.pad_id)


def probs(net, encoder, rows):
    with torch.no_grad():
        return net.step_probabilities(net(batch_of(encoder, rows)))


def test_block_causal_mask_by_hand():
    blocks = torch.tensor([[0, 0, 1, 2, -1]])
    allowed = block_causal_mask(blocks, torch.float32)[0, 0] == 0
    expected = torch.tensor(
        [
            [1, 1, 0, 0, 0],
            [1, 1, 0, 0, 0],
            [1, 1, 1, 0, 0],
            [1, 1, 1, 1, 0],
            [1, 1, 1, 1, 0],  # padding query sees every real token, never an empty row
        ],
        dtype=torch.bool,
    )
    assert torch.equal(allowed, expected)


def test_context_mask_stops_at_the_step_end():
    ends = torch.tensor([[1, 3]])
    valid = torch.tensor([[True, True, True, True, False]])
    assert context_mask(ends, valid).int().tolist() == [[[1, 1, 0, 0, 0], [1, 1, 1, 1, 0]]]


@pytest.mark.parametrize("kind", ["triatt", "linear", "and"])
def test_changing_a_later_step_never_changes_earlier_scores(tiny_bert_dir, kind):
    net, encoder = build(tiny_bert_dir, kind=kind)
    base = probs(net, encoder, [(PROMPT, STEPS)])
    edited = [STEPS[0], "in this step , we return 7 as the color of the large sphere .", STEPS[2]]
    changed = probs(net, encoder, [(PROMPT, edited)])
    torch.testing.assert_close(changed[0, 0], base[0, 0], rtol=0, atol=1e-6)
    assert not torch.allclose(changed[0, 1], base[0, 1])
    # Same prefix in a batch next to a longer row (more padding): step 1 still unchanged.
    padded = probs(net, encoder, [(PROMPT, STEPS[:1]), (PROMPT, STEPS)])
    torch.testing.assert_close(padded[0, 0], base[0, 0], rtol=0, atol=1e-6)


def test_a_bidirectional_backbone_would_leak_later_steps(tiny_bert_dir):
    # The check above can fail: with the encoder's own bidirectional mask it does.
    net, encoder = build(tiny_bert_dir, mask="causal")
    base = probs(net, encoder, [(PROMPT, STEPS)])
    changed = probs(net, encoder, [(PROMPT, [STEPS[0], "return 7 .", STEPS[2]])])
    assert not torch.allclose(changed[0, 0], base[0, 0], atol=1e-6)


def test_output_shapes_and_and_head_broadcast(tiny_bert_dir):
    for kind, k in (("triatt", 3), ("linear", 3), ("and", 1)):
        net, encoder = build(tiny_bert_dir, kind=kind)
        batch = batch_of(encoder, [(PROMPT, STEPS), (PROMPT, STEPS[:2])])
        out = net(batch)
        assert out.logits.shape == (2, 3, k)
        p = net.step_probabilities(out)
        assert p.shape == (2, 3, 3)
        if kind == "and":
            assert torch.equal(p[..., 0], p[..., 2])
        assert (out.projections is None) == (kind == "linear")


def test_majority_head_predicts_training_base_rates(tiny_bert_dir):
    net, encoder = build(tiny_bert_dir, kind="majority")
    assert net.backbone is None
    net.head.observe(torch.tensor([[1.0, 0.0, -100.0], [1.0, 1.0, -100.0], [0.0, 0.0, 1.0]]))
    p = probs(net, encoder, [(PROMPT, STEPS)])
    torch.testing.assert_close(p[0, 0], torch.tensor([2 / 3, 1 / 3, 1.0 - 1e-6]))


def test_frozen_backbone_weights_are_not_persisted_but_restorable(tiny_bert_dir):
    net, encoder = build(tiny_bert_dir)
    state = net.state_dict()
    assert state and not any(k.startswith("backbone.") for k in state)
    fresh, _ = build(tiny_bert_dir)
    torch.manual_seed(123)
    for p in fresh.head.parameters():
        p.data.normal_()
    fresh.load_state_dict(state)
    rows = [(PROMPT, STEPS)]
    torch.testing.assert_close(probs(fresh, encoder, rows), probs(net, encoder, rows))
    with pytest.raises(RewardError, match="missing"):
        fresh.load_state_dict({k: v for k, v in state.items() if "scoring" not in k})


def test_full_tuning_persists_the_backbone(tiny_bert_dir):
    net, _ = build(tiny_bert_dir, tuning="full")
    assert any(k.startswith("backbone.") for k in net.state_dict())


def test_feature_cache_reuses_rounded_features(tiny_bert_dir):
    net, encoder = build(tiny_bert_dir, cache=True)
    rows = [(PROMPT, STEPS), (PROMPT, STEPS[:2])]
    first = probs(net, encoder, rows)
    assert len(net.feature_cache) == 2
    calls = []
    net.backbone.register_forward_hook(lambda *a: calls.append(1))
    again = probs(net, encoder, list(reversed(rows)))
    assert calls == []
    torch.testing.assert_close(again[0, :2], first[1, :2])
    plain, _ = build(tiny_bert_dir)
    # float16 storage: close to, not bit-equal with, the uncached model.
    torch.testing.assert_close(first, probs(plain, encoder, rows), rtol=0, atol=2e-3)


def test_feature_cache_saved_and_loaded_serves_another_model(tiny_bert_dir, tmp_path):
    net, encoder = build(tiny_bert_dir, cache=True)
    rows = [(PROMPT, STEPS)]
    first = probs(net, encoder, rows)
    net.feature_cache.save(tmp_path / "features.pt")
    other, _ = build(tiny_bert_dir, cache=True)
    other.feature_cache.load(tmp_path / "features.pt")
    calls = []
    other.backbone.register_forward_hook(lambda *a: calls.append(1))
    torch.testing.assert_close(probs(other, encoder, rows), first, rtol=0, atol=0)
    assert calls == [] and len(other.feature_cache) == 1


def test_cache_requires_a_frozen_backbone():
    with pytest.raises(RewardError, match="needs tuning: frozen"):
        BackboneConfig(tuning="lora", cache_features=True)
