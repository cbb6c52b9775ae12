"""Focal loss and BCE on logits: hand-computed values, the gamma = 0 case, extreme logits."""

import math

import pytest
import torch

from tgnrank.errors import ConfigError
from tgnrank.train.losses import bce_with_logits, focal_loss_with_logits, link_prediction_loss, make_loss

# -alpha_t (1 - p_t)^2 log(p_t) with alpha = 0.25, worked out by hand:
# z = 0, y = 1: p_t = 0.5, alpha_t = 0.25  -> 0.25 * 0.25 * ln 2 = 0.0433217
# z = 0, y = 0: p_t = 0.5, alpha_t = 0.75  -> 0.75 * 0.25 * ln 2 = 0.1299651
# z = 2, y = 1: p_t = 0.8807971, (1 - p_t)^2 = 0.0142093, -ln p_t = 0.1269280 -> 0.0004509
# z = -3, y = 1: p_t = 0.0474259, (1 - p_t)^2 = 0.9073975, -ln p_t = 3.0485874 -> 0.6915701
# z = 1.5, y = 0: p_t = 0.1824255, (1 - p_t)^2 = 0.6684280, -ln p_t = 1.7014133 -> 0.8529542
LOGITS = [0.0, 0.0, 2.0, -3.0, 1.5]
TARGETS = [1.0, 0.0, 1.0, 1.0, 0.0]
EXPECTED = [0.0433217, 0.1299651, 0.0004509, 0.6915701, 0.8529542]


def test_focal_loss_matches_hand_computed_values():
    losses = focal_loss_with_logits(torch.tensor(LOGITS), torch.tensor(TARGETS), alpha=0.25, gamma=2.0, reduction="none")
    assert losses.tolist() == pytest.approx(EXPECTED, abs=1e-6)
    mean = focal_loss_with_logits(torch.tensor(LOGITS), torch.tensor(TARGETS), alpha=0.25, gamma=2.0)
    assert mean.item() == pytest.approx(sum(EXPECTED) / 5, abs=1e-6)
    total = focal_loss_with_logits(torch.tensor(LOGITS), torch.tensor(TARGETS), reduction="sum")
    assert total.item() == pytest.approx(sum(EXPECTED), abs=1e-6)


def test_focal_loss_with_gamma_zero_is_alpha_weighted_bce():
    logits = torch.linspace(-6, 6, 25, dtype=torch.float64)
    targets = (torch.arange(25) % 2).to(torch.float64)
    alpha = 0.3
    weights = alpha * targets + (1 - alpha) * (1 - targets)
    expected = weights * torch.nn.functional.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    focal = focal_loss_with_logits(logits, targets, alpha=alpha, gamma=0.0, reduction="none")
    assert torch.allclose(focal, expected, atol=1e-12)
    # z = 0, y = 1, alpha = 0.3: 0.3 * ln 2
    assert focal_loss_with_logits(torch.tensor([0.0]), torch.tensor([1.0]), alpha=0.3, gamma=0.0).item() == pytest.approx(
        0.3 * math.log(2), abs=1e-7
    )


def test_focal_loss_down_weights_easy_examples():
    easy = focal_loss_with_logits(torch.tensor([4.0]), torch.tensor([1.0]), alpha=0.5, gamma=2.0)
    hard = focal_loss_with_logits(torch.tensor([-4.0]), torch.tensor([1.0]), alpha=0.5, gamma=2.0)
    bce_easy = 0.5 * bce_with_logits(torch.tensor([4.0]), torch.tensor([1.0]))
    assert easy < bce_easy * 0.001  # (1 - p_t)^2 = 0.018^2 = 3.2e-4
    assert hard.item() == pytest.approx(0.5 * (1 - 1 / (1 + math.exp(4))) ** 2 * math.log(1 + math.exp(4)), rel=1e-5)


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0, 5.0])
def test_focal_loss_is_finite_with_finite_gradients_at_extreme_logits(gamma):
    logits = torch.tensor([1e4, -1e4, 1e4, -1e4, 0.0], requires_grad=True)
    targets = torch.tensor([1.0, 1.0, 0.0, 0.0, 1.0])
    loss = focal_loss_with_logits(logits, targets, alpha=0.25, gamma=gamma, reduction="none")
    assert torch.isfinite(loss).all()
    # a confident mistake costs alpha_t * |z|; a confident hit costs nothing
    assert loss[1].item() == pytest.approx(0.25 * 1e4, rel=1e-6)
    assert loss[2].item() == pytest.approx(0.75 * 1e4, rel=1e-6)
    assert loss[0].item() == 0.0 and loss[3].item() == 0.0
    loss.sum().backward()
    assert torch.isfinite(logits.grad).all()
    assert logits.grad[1].item() == pytest.approx(-0.25) and logits.grad[2].item() == pytest.approx(0.75)


def test_bce_matches_torch_reference_and_is_stable():
    logits = torch.tensor([0.0, 3.0, -1e4, 1e4], requires_grad=True)
    targets = torch.tensor([1.0, 0.0, 1.0, 0.0])
    loss = bce_with_logits(logits, targets, reduction="none")
    assert loss[0].item() == pytest.approx(math.log(2))
    assert loss[1].item() == pytest.approx(3.0 + math.log(1 + math.exp(-3.0)))
    assert loss[2].item() == pytest.approx(1e4) and loss[3].item() == pytest.approx(1e4)
    loss.sum().backward()
    assert torch.isfinite(logits.grad).all()


def test_link_prediction_loss_sums_the_two_means_as_tgn():
    criterion = make_loss(use_focal_loss=False)
    positives = torch.tensor([0.0, 0.0])
    negatives = torch.zeros(2, 3)
    # each mean is ln 2, and TGN adds the positive and the negative criterion
    assert link_prediction_loss(criterion, positives, negatives).item() == pytest.approx(2 * math.log(2))
    focal = make_loss(use_focal_loss=True, focal_alpha=0.25, focal_gamma=2.0)
    value = link_prediction_loss(focal, torch.tensor([0.0]), torch.tensor([0.0]))
    assert value.item() == pytest.approx(EXPECTED[0] + EXPECTED[1], abs=1e-6)


def test_unknown_reduction_is_rejected():
    with pytest.raises(ValueError, match="reduction"):
        focal_loss_with_logits(torch.zeros(1), torch.ones(1), reduction="median")


# --- sampled softmax (InfoNCE) ---------------------------------------------------------------------
# Row [s_pos, s_neg...] / T, loss = logsumexp(row) - row[0], worked out by hand:
# pos 1, negs (0, -1), T = 1:   ln(e + 1 + e^-1) - 1 = ln 4.0861613 - 1 = 0.4076060
# pos 0, negs (1, 0),  T = 0.5: row (0, 2, 0): ln(2 + e^2) - 0          = 2.2395448


def test_sampled_softmax_matches_hand_computed_values():
    from tgnrank.train.losses import sampled_softmax_loss

    positives, negatives = torch.tensor([1.0]), torch.tensor([[0.0, -1.0]])
    assert sampled_softmax_loss(positives, negatives).item() == pytest.approx(0.4076060, abs=1e-6)
    row = sampled_softmax_loss(torch.tensor([0.0]), torch.tensor([[1.0, 0.0]]), temperature=0.5)
    assert row.item() == pytest.approx(2.2395448, abs=1e-6)
    both = sampled_softmax_loss(torch.tensor([1.0, 2.0]), torch.tensor([[0.0, -1.0], [0.0, 0.0]]), reduction="none")
    assert both.tolist() == pytest.approx([0.4076060, math.log(2 + math.exp(2)) - 2], abs=1e-6)


def test_sampled_softmax_equals_cross_entropy_over_logits_and_takes_one_negative_per_positive():
    from tgnrank.train.losses import sampled_softmax_loss

    generator = torch.Generator().manual_seed(0)
    positives = torch.randn(7, generator=generator, dtype=torch.float64)
    negatives = torch.randn(7, 5, generator=generator, dtype=torch.float64)
    for temperature in (1.0, 0.2, 3.0):
        logits = torch.cat([positives[:, None], negatives], dim=1) / temperature
        expected = torch.nn.functional.cross_entropy(logits, torch.zeros(7, dtype=torch.long))
        assert sampled_softmax_loss(positives, negatives, temperature).item() == pytest.approx(expected.item(), abs=1e-12)
    # n_neg = 1: negatives come as (B,); with one negative the loss is BCE of the difference, -log sigmoid(s+ - s-)
    single = sampled_softmax_loss(positives, negatives[:, 0])
    assert single.item() == pytest.approx(-torch.nn.functional.logsigmoid(positives - negatives[:, 0]).mean().item())


def test_sampled_softmax_is_finite_at_extreme_logits_and_rejects_bad_temperatures():
    from tgnrank.train.losses import sampled_softmax_loss

    positives = torch.tensor([1e4, -1e4], requires_grad=True)
    loss = sampled_softmax_loss(positives, torch.tensor([[-1e4, 0.0], [1e4, 0.0]]), reduction="none")
    assert torch.isfinite(loss).all() and loss[0].item() == 0.0 and loss[1].item() == pytest.approx(2e4)
    loss.sum().backward()
    assert torch.isfinite(positives.grad).all()
    for bad in (0.0, -1.0, float("inf"), float("nan")):
        with pytest.raises(ConfigError, match="^softmax_temperature must be"):
            sampled_softmax_loss(positives, torch.zeros(2, 3), temperature=bad)


def test_make_pair_loss_keeps_bce_and_focal_and_adds_softmax():
    from tgnrank.train.losses import make_pair_loss, sampled_softmax_loss

    positives, negatives = torch.tensor([0.5, -1.0]), torch.tensor([[0.2, 1.0], [-2.0, 0.0]])
    bce = link_prediction_loss(make_loss(False), positives, negatives)
    focal = link_prediction_loss(make_loss(True, 0.3, 1.5), positives, negatives)
    assert make_pair_loss("bce")(positives, negatives).item() == pytest.approx(bce.item())
    assert make_pair_loss("focal", 0.3, 1.5)(positives, negatives).item() == pytest.approx(focal.item())
    softmax = make_pair_loss("softmax", softmax_temperature=0.5)(positives, negatives)
    assert softmax.item() == pytest.approx(sampled_softmax_loss(positives, negatives, 0.5).item())
    with pytest.raises(ConfigError, match="^loss must be one of bce, focal, softmax"):
        make_pair_loss("hinge")
    with pytest.raises(ConfigError, match="^softmax_temperature must be"):
        make_pair_loss("softmax", softmax_temperature=0)
