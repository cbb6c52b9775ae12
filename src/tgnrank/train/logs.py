"""The training log's lines: what a run is, and what each epoch measured."""

from __future__ import annotations

import logging

from tgnrank.train.config import TrainConfig
from tgnrank.train.records import EpochRecord

logger = logging.getLogger(__name__)


def log_epoch(record: EpochRecord) -> None:
    logger.info(
        "epoch %d: train %.1fs (%.0f events/s), total %.1fs, mean loss %.4f", record.epoch, record.epoch_time,
        record.events_per_second, record.total_epoch_time, record.train_loss,
    )
    logger.info("  val AP %.4f AUC %.4f | new-node val AP %.4f AUC %.4f",
                record.val_ap, record.val_auc, record.new_node_val_ap, record.new_node_val_auc)
    logger.info("  val ranking: MRR %.4f, R@1000 %.4f, median rank %.2f%% of the candidates (%.1fs)",
                record.val_mrr, record.val_recall_at_1000, record.val_median_rank_pct, record.val_rank_seconds)
    if record.sampler_stats:
        logger.info("  negatives: %s", ", ".join(f"{k}={_fmt(v)}" for k, v in record.sampler_stats.items()))


def describe(config: TrainConfig) -> str:
    """One line: the model, the loss, the negatives and the optimiser of a run."""
    loss, negatives, model = config.objective, config.negatives, config.model
    loss_text = {"bce": "BCE", "softmax": f"softmax loss (temperature {loss.softmax_temperature:g})"}.get(loss.loss)
    if loss.loss == "focal":
        loss_text = f"focal loss (alpha {loss.focal_alpha:g}, gamma {loss.focal_gamma:g})"
    negative_text = (
        f"hard negatives (ratio {negatives.hard_neg_ratio:g}, temperature {negatives.hard_neg_temperature:g}, "
        f"top-k {negatives.hard_neg_topk}, {negatives.hard_neg_similarity} similarity, "
        f"curriculum {negatives.hard_neg_curriculum})" if negatives.use_hard_negatives else "random negatives"
    )
    if negatives.multihop_neg_ratio > 0:
        negative_text += f" + multi-hop (ratio {negatives.multihop_neg_ratio:g}, top-k {negatives.multihop_topk})"
    memory = "memory" if model.use_memory else "no memory"
    return (f"{model.embedding_module}, {memory}, {loss_text}, {negative_text} x{negatives.n_neg}, "
            f"lr {config.optim.lr:g}, bs {config.optim.bs}")


def _fmt(value) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)
