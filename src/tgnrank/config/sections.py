"""The training run's sections besides the model: data, neighbours, negatives, loss, optimiser, run.

Each field declares its default, its constraint and its help text (see :mod:`tgnrank.config.params`);
the names are the flags of TGN's ``train_self_supervised.py`` and tgnrank's own. Defaults are those of
the original TGN script, except ``data`` (``"synthetic"``; TGN: ``"wikipedia"``). This module imports
nothing heavy.
"""

from __future__ import annotations

from dataclasses import dataclass

from tgnrank.config.params import Boolean, FileName, Interval, Options, Section, Text, setting
from tgnrank.data.splits import DEFAULT_TRAIN_QUANTILE, DEFAULT_VAL_QUANTILE
from tgnrank.errors import ConfigError
from tgnrank.sampling.curriculum import CURRICULA, DEFAULT_CURRICULUM, DEFAULT_CURRICULUM_EPOCHS

DEFAULT_HARD_NEG_TOPK = 50
DEFAULT_MULTIHOP_TOPK = 100
HARD_NEG_SIMILARITIES = ("features", "memory")  # raw node features, or the memory after each epoch
NEG_SAMPLINGS = ("uniform", "degree", "recent")
LOSSES = ("bce", "focal", "softmax")
EARLY_STOP_METRICS = ("mrr", "recall@1000", "ap")
SHARE_TOLERANCE = 1e-9  # (0.1 + 0.2) + 0.7 still counts as 1

_POSITIVE_INT = Interval(int, 1)
_POSITIVE_REAL = Interval(float, 0.0, closed="right")
_SHARE = Interval(float, 0.0, 1.0)
_QUANTILE = Interval(float, 0.0, 1.0, closed="neither")


@dataclass(frozen=True)
class DataConfig(Section):
    """Which dataset, how it is split in time, and what the model sees of its nodes."""

    TITLE = "data and files"

    data: str = setting("synthetic", FileName(), "dataset name: data/ml_{data}.* ('synthetic' is generated on "
                        "first use; TGN's default was wikipedia)")
    data_dir: str = setting("data", Text(), "folder holding the ml_ files", fingerprint=False)
    train_quantile: float = setting(DEFAULT_TRAIN_QUANTILE, _QUANTILE,
                                    "time quantile ending the training period, where validation starts")
    val_quantile: float = setting(DEFAULT_VAL_QUANTILE, _QUANTILE,
                                  "time quantile ending the validation period, where the test starts")
    different_new_nodes: bool = setting(False, Boolean(), "use disjoint sets of new nodes for validation and test")
    randomize_features: bool = setting(False, Boolean(), "replace node features with uniform noise (drawn from "
                                       "--seed)", model_input=True)
    activity_features: bool = setting(True, Boolean(), "add per-node activity features to the node features",
                                      model_input=True)

    def check_rules(self) -> None:
        if not self.train_quantile < self.val_quantile:
            raise ConfigError(
                f"split quantiles must satisfy 0 < train_quantile < val_quantile < 1, got "
                f"{self.train_quantile} and {self.val_quantile}", parameters=("train_quantile", "val_quantile"),
            )


@dataclass(frozen=True)
class NeighborConfig(Section):
    """The temporal neighbours each embedding looks at."""

    TITLE = "temporal neighbours"

    n_degree: int = setting(10, _POSITIVE_INT, "temporal neighbours sampled")
    uniform: bool = setting(False, Boolean(), "sample temporal neighbours uniformly, not the most recent")


@dataclass(frozen=True)
class NegativeConfig(Section):
    """How the corrupted (company, investor') pairs of training are drawn."""

    TITLE = "negatives"

    use_hard_negatives: bool = setting(False, Boolean(),
                                       "draw part of the negatives among investors similar to the true one")
    hard_neg_ratio: float = setting(0.5, _SHARE, "share of hard negatives, in [0, 1]")
    hard_neg_temperature: float = setting(0.1, _POSITIVE_REAL,
                                          "softmax temperature over similarities, > 0; lower is harder")
    hard_neg_topk: int = setting(DEFAULT_HARD_NEG_TOPK, _POSITIVE_INT, "most similar investors considered per investor")
    n_neg: int = setting(1, _POSITIVE_INT, "negatives per positive")
    hard_neg_curriculum: str = setting(DEFAULT_CURRICULUM, Options(CURRICULA),
                                       "schedule of the hard share: 'linear' uses hard_neg_ratio * min(1, (epoch + 1) "
                                       "/ curriculum_epochs) at epoch 0, 1, ... (needs --use_hard_negatives)")
    curriculum_epochs: int = setting(DEFAULT_CURRICULUM_EPOCHS, _POSITIVE_INT,
                                     "epochs for the linear curriculum to reach --hard_neg_ratio")
    multihop_neg_ratio: float = setting(0.0, _SHARE,
                                        "share of negatives drawn among investors at distance 3 from the company in "
                                        "the training graph (co-investors of its investors never linked to it), "
                                        "weighted by path count; hard + multi-hop shares <= 1, the rest random")
    multihop_topk: int = setting(DEFAULT_MULTIHOP_TOPK, _POSITIVE_INT,
                                 "distance-3 investors kept per company, by path count")
    hard_neg_similarity: str = setting("features", Options(HARD_NEG_SIMILARITIES),
                                       "similarity of hard negatives: raw node 'features', or 'memory': from epoch 1 "
                                       "on, cosine of the investors' memory after the previous epoch's training pass "
                                       "(needs --use_memory and --use_hard_negatives)")
    neg_sampling: str = setting("uniform", Options(NEG_SAMPLINGS),
                                "distribution of the random negatives: 'uniform' over investors, by 'degree' "
                                "(popularity ** --neg_degree_power) or among the 'recent'ly active investors")
    neg_degree_power: float = setting(0.75, Interval(float, 0.0), "exponent of the degree sampling, >= 0")
    neg_recent_days: float = setting(365.0, _POSITIVE_REAL, "activity window of the recent sampling, in days, > 0")

    def check_rules(self) -> None:
        if self.hard_neg_curriculum != DEFAULT_CURRICULUM and not self.use_hard_negatives:
            raise ConfigError(
                f"hard_neg_curriculum {self.hard_neg_curriculum} ramps up hard_neg_ratio, so it needs "
                f"use_hard_negatives", parameters=("hard_neg_curriculum", "hard_neg_ratio", "use_hard_negatives"),
            )
        hard_share = self.hard_neg_ratio if self.use_hard_negatives else 0.0
        if hard_share + self.multihop_neg_ratio > 1.0 + SHARE_TOLERANCE:
            raise ConfigError(
                f"hard_neg_ratio + multihop_neg_ratio must be <= 1 (the rest of the negatives are random), got "
                f"{self.hard_neg_ratio} + {self.multihop_neg_ratio}",
                parameters=("hard_neg_ratio", "multihop_neg_ratio"),
            )


@dataclass(frozen=True)
class LossConfig(Section):
    """The training objective. ``use_focal_loss`` is TGN-compatible spelling of ``loss="focal"``: it is
    kept equal to ``loss == "focal"`` (setting it False does not undo ``loss="focal"``)."""

    TITLE = "loss"

    loss: str = setting("bce", Options(LOSSES), "training loss: binary cross-entropy, focal, or a softmax over "
                        "each positive and its negatives")
    use_focal_loss: bool = setting(False, Boolean(), "focal loss instead of binary cross-entropy (= --loss focal)")
    focal_alpha: float = setting(0.25, _SHARE, "focal loss weight of the positive class, in [0, 1]")
    focal_gamma: float = setting(2.0, Interval(float, 0.0), "focal loss focusing parameter, >= 0; 0 gives "
                                 "weighted BCE")
    softmax_temperature: float = setting(1.0, _POSITIVE_REAL, "temperature of the softmax loss, > 0")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.use_focal_loss and self.loss == "bce":
            object.__setattr__(self, "loss", "focal")
        object.__setattr__(self, "use_focal_loss", self.loss == "focal")

    def check_rules(self) -> None:
        if self.use_focal_loss and self.loss not in ("bce", "focal"):
            raise ConfigError(f"loss {self.loss} and use_focal_loss ask for two different losses; pass one of them",
                              parameters=("loss", "use_focal_loss"))


@dataclass(frozen=True)
class OptimConfig(Section):
    """The optimiser's steps."""

    TITLE = "training"

    bs: int = setting(200, _POSITIVE_INT, "batch size")
    n_epoch: int = setting(50, _POSITIVE_INT, "number of epochs")
    lr: float = setting(0.0001, _POSITIVE_REAL, "learning rate")
    backprop_every: int = setting(1, _POSITIVE_INT, "backpropagate every this many batches")


@dataclass(frozen=True)
class RunConfig(Section):
    """Runs, seeds, devices, outputs and the choice of the epoch kept."""

    TITLE = "runs and outputs"

    prefix: str = setting("", FileName(allow_empty=True), "prefix of the output files: "
                          "saved_models/{prefix}-{data}.pth (empty: {data}.pth)", fingerprint=False)
    n_runs: int = setting(1, _POSITIVE_INT, "independent runs with seeds seed, seed+1, ...; reports mean and std",
                          fingerprint=False)
    gpu: int = setting(0, Interval(int, -1), "CUDA device index, used when CUDA is available; -1 forces the CPU",
                       fingerprint=False)
    seed: int = setting(0, Interval(int, 0, 2**32 - 1), "seed of torch, numpy and the samplers; run k uses seed+k",
                        fingerprint=False)
    cpu_threads: int = setting(0, Interval(int, 0), "torch CPU threads while training and validating; 0 = automatic: "
                               "the training passes take 1 thread where at most 2 cores are available (there a "
                               "second thread's wake-ups cost more than it computes in the backward pass), "
                               "validation and the test torch's current number", fingerprint=False)
    wandb: bool = setting(False, Boolean(), "log to Weights & Biases (needs the wandb package; offline unless "
                          "WANDB_MODE=online)", fingerprint=False)
    keep_epoch_checkpoints: bool = setting(False, Boolean(), "keep every epoch's checkpoint in saved_checkpoints/ as "
                                           "TGN did (default: only the best and the last epoch, since each holds "
                                           "the whole memory)")
    resume: bool = setting(False, Boolean(), "continue from the run's latest epoch checkpoint and its .resume.pt "
                           "state (optimiser, history, early stopping, random streams) when they were written "
                           "with the same settings; otherwise train from epoch 0", fingerprint=False)
    patience: int = setting(5, _POSITIVE_INT, "epochs without validation improvement before stopping")
    early_stop_metric: str = setting("mrr", Options(EARLY_STOP_METRICS),
                                     "validation metric that picks the epoch kept and stops training: the "
                                     "per-epoch validation ranking's 'mrr' or 'recall@1000', or TGN's 'ap'")
    val_rank_companies: int = setting(500, Interval(int, 0), "companies ranked by the per-epoch ranking "
                                      "validation (0 = all)")
