"""BCE with missing labels and the supervised-contrastive term, against hand computations."""

from __future__ import annotations

import math

import torch

from vipexec.reward.config import LossConfig
from vipexec.reward.heads import HeadOutput
from vipexec.reward.losses import masked_bce, reward_loss, supervised_contrastive

M = -100.0


def bce(logit: float, y: float) -> float:
    p = 1 / (1 + math.exp(-logit))
    return -(y * math.log(p) + (1 - y) * math.log(1 - p))


def test_masked_bce_averages_known_labels_per_dimension_then_over_dimensions():
    logits = torch.tensor([[0.5, -1.0, 2.0], [1.5, 0.0, -0.5]])
    targets = torch.tensor([[1.0, M, 0.0], [0.0, M, M]])
    expected = ((bce(0.5, 1) + bce(1.5, 0)) / 2 + bce(2.0, 0)) / 2  # logic has no label
    assert math.isclose(float(masked_bce(logits, targets)), expected, rel_tol=1e-6)


def test_masked_bce_without_labels_is_zero_with_a_gradient():
    logits = torch.randn(4, 3, requires_grad=True)
    loss = masked_bce(logits, torch.full((4, 3), M))
    loss.backward()
    assert loss.item() == 0.0
    assert torch.equal(logits.grad, torch.zeros(4, 3))


def test_supcon_hand_computed():
    # Three unit vectors; items 0 and 1 share a label, item 2 does not.
    z = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    y = torch.tensor([1.0, 1.0, 0.0])
    t = 0.5
    s = lambda a, b: float(z[a] @ z[b]) / t  # noqa: E731
    l0 = -(s(0, 1) - math.log(math.exp(s(0, 1)) + math.exp(s(0, 2))))
    l1 = -(s(1, 0) - math.log(math.exp(s(1, 0)) + math.exp(s(1, 2))))
    expected = (l0 + l1) / 2  # item 2 has no positive: not an anchor
    got = supervised_contrastive(z, y, temperature=t)
    assert math.isclose(float(got), expected, rel_tol=1e-6)


def test_supcon_without_positive_pairs_is_zero_not_nan():
    for z, y in [
        (torch.randn(2, 4), torch.tensor([0.0, 1.0])),  # one of each class
        (torch.randn(1, 4), torch.tensor([1.0])),  # a single item
        (torch.randn(0, 4), torch.tensor([])),  # nothing
    ]:
        z = torch.nn.functional.normalize(z, dim=-1).requires_grad_(True)
        loss = supervised_contrastive(z, y, temperature=0.1)
        loss.backward()
        assert loss.item() == 0.0
        assert torch.isfinite(z.grad).all()


def test_reward_loss_masks_padded_steps_and_weights_dimensions():
    torch.manual_seed(0)
    logits = torch.randn(2, 3, 3, requires_grad=True)
    proj = torch.nn.functional.normalize(torch.randn(2, 3, 3, 4), dim=-1).requires_grad_(True)
    targets = torch.tensor(
        [
            [[1.0, 0.0, 1.0], [0.0, 1.0, M], [1.0, 1.0, 1.0]],
            [[1.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]],
        ]
    )
    mask = torch.tensor([[True, True, False], [True, True, True]])
    out = HeadOutput(logits, proj)
    plain = reward_loss(out, targets, mask, LossConfig(contrastive_weight=0.0))
    masked_targets = targets.clone()
    masked_targets[0, 2] = M
    assert math.isclose(plain.total.item(), masked_bce(logits, masked_targets).item(), rel_tol=1e-6)
    only_logic = reward_loss(
        out,
        targets,
        mask,
        LossConfig(
            contrastive_weight=0.5, contrastive_dimension_weights=(0.0, 2.0, 0.0), temperature=0.2
        ),
    )
    flat_z = proj.reshape(-1, 3, 4)[mask.reshape(-1), 1]
    flat_y = targets.reshape(-1, 3)[mask.reshape(-1), 1]
    expected_con = 2.0 * supervised_contrastive(flat_z, flat_y, temperature=0.2).item()
    assert math.isclose(float(only_logic.contrastive), expected_con, rel_tol=1e-6)
    assert math.isclose(
        only_logic.total.item(), plain.total.item() + 0.5 * expected_con, rel_tol=1e-6
    )
    only_logic.total.backward()
    assert torch.isfinite(proj.grad).all() and proj.grad.abs().sum() > 0
