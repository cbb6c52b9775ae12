"""Link-prediction losses on logits: binary cross-entropy, focal loss (Lin et al. 2017) and sampled
softmax (InfoNCE) over a positive and its negatives.

All take raw logits (never probabilities) so that extreme scores stay finite in value and gradient.
BCE and focal loss score each pair on its own; the softmax loss scores the positive *against* its
negatives, which is what a ranking asks for, and only the differences of logits matter to it (its
logits are not calibrated probabilities).
"""

from __future__ import annotations

from typing import Callable

import math
import numbers

import torch
import torch.nn.functional as F

from tgnrank.errors import ConfigError

LossFunction = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
# (positive logits (B,), negative logits (B,) or (B, n_neg)) -> scalar loss
PairLoss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
LOSSES = ("bce", "focal", "softmax")
DEFAULT_SOFTMAX_TEMPERATURE = 1.0


def focal_loss_with_logits(
    logits: torch.Tensor,
    targets: torch.Tensor,
    alpha: float = 0.25,
    gamma: float = 2.0,
    reduction: str = "mean",
) -> torch.Tensor:
    """Focal loss ``-alpha_t (1 - p_t)^gamma log(p_t)`` for binary targets in {0, 1}.

    ``p_t`` is the predicted probability of the true class and ``alpha_t`` is ``alpha`` for positives
    and ``1 - alpha`` for negatives. Both logarithms come from ``logsigmoid`` of the signed logit, so
    logits of +-1e4 give finite values and gradients. With ``gamma = 0`` this is alpha-weighted BCE.

    Shapes: ``logits`` and ``targets`` alike, any shape; returns a scalar unless ``reduction="none"``.
    """
    targets = targets.to(logits.dtype)
    signed_logits = logits * (2.0 * targets - 1.0)
    log_p_true = F.logsigmoid(signed_logits)
    log_p_wrong = F.logsigmoid(-signed_logits)
    modulation = torch.exp(gamma * log_p_wrong) if gamma != 0 else torch.ones_like(logits)
    alpha_t = alpha * targets + (1.0 - alpha) * (1.0 - targets)
    losses = -alpha_t * modulation * log_p_true
    return _reduce(losses, reduction)


def bce_with_logits(logits: torch.Tensor, targets: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Binary cross-entropy on logits (TGN's ``BCELoss`` on sigmoid outputs, computed stably)."""
    return F.binary_cross_entropy_with_logits(logits, targets.to(logits.dtype), reduction=reduction)


def make_loss(use_focal_loss: bool, focal_alpha: float = 0.25, focal_gamma: float = 2.0) -> LossFunction:
    """The per-batch criterion ``(logits, targets) -> mean loss`` chosen by the training flags."""
    if use_focal_loss:
        return lambda logits, targets: focal_loss_with_logits(logits, targets, focal_alpha, focal_gamma)
    return bce_with_logits


def link_prediction_loss(
    criterion: LossFunction, positive_logits: torch.Tensor, negative_logits: torch.Tensor
) -> torch.Tensor:
    """TGN's objective: ``criterion(positives, 1) + criterion(negatives, 0)``, each a mean.

    Shapes: ``positive_logits`` (B,), ``negative_logits`` (B,) or (B, n_neg).
    """
    positive_logits = positive_logits.reshape(-1)
    negative_logits = negative_logits.reshape(-1)
    return criterion(positive_logits, torch.ones_like(positive_logits)) + criterion(
        negative_logits, torch.zeros_like(negative_logits)
    )


def sampled_softmax_loss(
    positive_logits: torch.Tensor,
    negative_logits: torch.Tensor,
    temperature: float = DEFAULT_SOFTMAX_TEMPERATURE,
    reduction: str = "mean",
) -> torch.Tensor:
    """Sampled softmax / InfoNCE: ``-log softmax([s_pos, s_neg_1 .. s_neg_n] / T)[0]`` per positive.

    Shapes: ``positive_logits`` (B,), ``negative_logits`` (B,) (one negative each) or (B, n_neg), as
    ``TGN.compute_edge_logits`` returns them; returns a scalar unless ``reduction="none"`` ((B,)).
    Computed as ``logsumexp(row) - row[0]`` so that logits of +-1e4 stay finite.
    """
    validate_softmax_temperature(temperature)
    positives = positive_logits.reshape(-1, 1)
    negatives = negative_logits.reshape(positives.shape[0], -1)
    logits = torch.cat([positives, negatives], dim=1) / temperature
    return _reduce(torch.logsumexp(logits, dim=1) - logits[:, 0], reduction)


def validate_softmax_temperature(temperature: float) -> None:
    """Raise :class:`ConfigError` naming the flag unless ``temperature`` is a finite number > 0."""
    if isinstance(temperature, bool) or not (
        isinstance(temperature, numbers.Real) and math.isfinite(temperature) and temperature > 0
    ):
        raise ConfigError(
            f"softmax_temperature must be a finite number > 0, got {temperature!r}", parameters=("softmax_temperature",)
        )


def make_pair_loss(
    loss: str,
    focal_alpha: float = 0.25,
    focal_gamma: float = 2.0,
    softmax_temperature: float = DEFAULT_SOFTMAX_TEMPERATURE,
) -> PairLoss:
    """The per-batch objective ``(positive_logits, negative_logits) -> loss`` named by ``--loss``.

    ``bce`` and ``focal`` are :func:`link_prediction_loss` with that criterion (unchanged behaviour);
    ``softmax`` is :func:`sampled_softmax_loss` at ``softmax_temperature``.
    """
    if loss == "softmax":
        validate_softmax_temperature(softmax_temperature)
        return lambda positives, negatives: sampled_softmax_loss(positives, negatives, softmax_temperature)
    if loss in ("bce", "focal"):
        criterion = make_loss(loss == "focal", focal_alpha, focal_gamma)
        return lambda positives, negatives: link_prediction_loss(criterion, positives, negatives)
    raise ConfigError(f"loss must be one of {', '.join(LOSSES)}, got {loss!r}", parameters=("loss",))


def _reduce(losses: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    if reduction == "none":
        return losses
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
