"""The training configuration: every flag of TGN's ``train_self_supervised.py`` plus tgnrank's own.

Field names are the flag names, so a checkpoint's configuration reads like the command that made it.
This module imports no torch, so the command line can show its defaults instantly.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, fields

from tgnrank.errors import ConfigError
from tgnrank.sampling.curriculum import CURRICULA, DEFAULT_CURRICULUM, DEFAULT_CURRICULUM_EPOCHS

EMBEDDING_MODULES = ("graph_attention", "graph_sum", "identity", "time")
MESSAGE_FUNCTIONS = ("mlp", "identity")
MEMORY_UPDATERS = ("gru", "rnn")
AGGREGATORS = ("last", "mean")
DEFAULT_HARD_NEG_TOPK = 50  # the same as tgnrank.sampling.negatives (a test checks), without importing torch
DEFAULT_MULTIHOP_TOPK = 100  # the same as tgnrank.sampling.multihop (a test checks), without importing scipy
# What hard negatives' similarity is computed on: raw node features, or the memory after each epoch.
HARD_NEG_SIMILARITIES = ("features", "memory")
SHARE_TOLERANCE = 1e-9  # as tgnrank.sampling.multihop: (0.1 + 0.2) + 0.7 still counts as 1

_SAFE_NAME = re.compile(r"^[A-Za-z0-9_.\-]*$")


@dataclass(frozen=True)
class TrainConfig:
    """Every hyperparameter of a training run; defaults are those of the original TGN script.

    Exceptions: ``data`` defaults to ``"synthetic"`` (TGN: ``"wikipedia"``), and ``seed``,
    ``data_dir``, the focal-loss, hard-negative and ``wandb`` fields are tgnrank's additions.
    """

    data: str = "synthetic"
    data_dir: str = "data"
    bs: int = 200
    prefix: str = ""
    n_degree: int = 10
    n_head: int = 2
    n_epoch: int = 50
    n_layer: int = 1
    lr: float = 0.0001
    patience: int = 5
    n_runs: int = 1
    drop_out: float = 0.1
    gpu: int = 0
    node_dim: int = 100
    time_dim: int = 100
    backprop_every: int = 1
    use_memory: bool = False
    embedding_module: str = "graph_attention"
    message_function: str = "identity"
    memory_updater: str = "gru"
    aggregator: str = "last"
    memory_update_at_end: bool = False
    message_dim: int = 100
    memory_dim: int = 172
    different_new_nodes: bool = False
    uniform: bool = False
    randomize_features: bool = False
    use_destination_embedding_in_message: bool = False
    use_source_embedding_in_message: bool = False
    dyrep: bool = False
    use_focal_loss: bool = False
    focal_alpha: float = 0.25
    focal_gamma: float = 2.0
    seed: int = 0
    wandb: bool = False
    use_hard_negatives: bool = False
    hard_neg_ratio: float = 0.5
    hard_neg_temperature: float = 0.1
    hard_neg_topk: int = DEFAULT_HARD_NEG_TOPK
    n_neg: int = 1
    hard_neg_curriculum: str = DEFAULT_CURRICULUM
    curriculum_epochs: int = DEFAULT_CURRICULUM_EPOCHS
    multihop_neg_ratio: float = 0.0
    multihop_topk: int = DEFAULT_MULTIHOP_TOPK
    hard_neg_similarity: str = "features"
    keep_epoch_checkpoints: bool = False

    def __post_init__(self) -> None:
        validate(self)

    @property
    def run_name(self) -> str:
        """``{prefix}-{data}`` as TGN names its files, or just ``{data}`` when the prefix is empty."""
        return f"{self.prefix}-{self.data}" if self.prefix else self.data

    def with_seed(self, seed: int) -> "TrainConfig":
        return type(self)(**{**self.to_dict(), "seed": seed})

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        """Build from a dict such as a checkpoint's ``config``; keys that are not fields are ignored."""
        names = {field.name for field in fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in names})

    def model_config(self):
        """The ``tgnrank.model.ModelConfig`` of this run: the fields the two share (n_degree is passed per
        call, as in TGN); imported here, as it pulls in torch."""
        from tgnrank.model.config import ModelConfig

        return ModelConfig.from_dict(self.to_dict())


def validate(config: TrainConfig) -> None:
    """Raise ConfigError naming the first flag outside its accepted range."""
    _check_name("--data", config.data, allow_empty=False)
    _check_name("--prefix", config.prefix, allow_empty=True)
    for flag, value in (
        ("--bs", config.bs),
        ("--n_degree", config.n_degree),
        ("--n_head", config.n_head),
        ("--n_epoch", config.n_epoch),
        ("--patience", config.patience),
        ("--n_runs", config.n_runs),
        ("--node_dim", config.node_dim),
        ("--time_dim", config.time_dim),
        ("--backprop_every", config.backprop_every),
        ("--message_dim", config.message_dim),
        ("--memory_dim", config.memory_dim),
        ("--hard_neg_topk", config.hard_neg_topk),
        ("--n_neg", config.n_neg),
        ("--curriculum_epochs", config.curriculum_epochs),
        ("--multihop_topk", config.multihop_topk),
    ):
        _check_int_at_least(flag, value, 1)
    _check_int_at_least("--n_layer", config.n_layer, 0)
    _check_int_at_least("--gpu", config.gpu, -1)
    _check_int_at_least("--seed", config.seed, 0)
    if config.seed >= 2**32:
        raise ConfigError(f"--seed must be an integer in [0, 2**32 - 1], got {config.seed}")
    _check_real("--lr", config.lr, low=0.0, low_open=True)
    _check_real("--drop_out", config.drop_out, low=0.0, high=1.0, high_open=True)
    _check_real("--focal_alpha", config.focal_alpha, low=0.0, high=1.0)
    _check_real("--focal_gamma", config.focal_gamma, low=0.0)
    _check_real("--hard_neg_ratio", config.hard_neg_ratio, low=0.0, high=1.0)
    _check_real("--hard_neg_temperature", config.hard_neg_temperature, low=0.0, low_open=True)
    _check_real("--multihop_neg_ratio", config.multihop_neg_ratio, low=0.0, high=1.0)
    for flag, value, choices in (
        ("--embedding_module", config.embedding_module, EMBEDDING_MODULES),
        ("--message_function", config.message_function, MESSAGE_FUNCTIONS),
        ("--memory_updater", config.memory_updater, MEMORY_UPDATERS),
        ("--aggregator", config.aggregator, AGGREGATORS),
        ("--hard_neg_curriculum", config.hard_neg_curriculum, CURRICULA),
        ("--hard_neg_similarity", config.hard_neg_similarity, HARD_NEG_SIMILARITIES),
    ):
        if value not in choices:
            raise ConfigError(f"{flag} must be one of {', '.join(choices)}; got {value!r}")
    _check_negative_options(config)


def _check_negative_options(config: TrainConfig) -> None:
    """The hard-negative options that only make sense with hard negatives (or memory) switched on."""
    if config.hard_neg_curriculum != DEFAULT_CURRICULUM and not config.use_hard_negatives:
        raise ConfigError(
            f"--hard_neg_curriculum {config.hard_neg_curriculum} ramps up --hard_neg_ratio, so it needs "
            f"--use_hard_negatives"
        )
    if config.hard_neg_similarity == "memory" and not (config.use_hard_negatives and config.use_memory):
        raise ConfigError("--hard_neg_similarity memory compares investors by their memory, so it needs "
                          "--use_hard_negatives and --use_memory")
    hard_share = config.hard_neg_ratio if config.use_hard_negatives else 0.0
    if hard_share + config.multihop_neg_ratio > 1.0 + SHARE_TOLERANCE:
        raise ConfigError(
            f"--hard_neg_ratio + --multihop_neg_ratio must be <= 1 (the rest of the negatives are random), "
            f"got {config.hard_neg_ratio} + {config.multihop_neg_ratio}"
        )


def _check_name(flag: str, value: str, allow_empty: bool) -> None:
    if not isinstance(value, str) or (not value and not allow_empty) or not _SAFE_NAME.match(value):
        raise ConfigError(
            f"{flag} names files, so it must be {'' if allow_empty else 'a non-empty '}string of letters, "
            f"digits, '_', '-' or '.'; got {value!r}"
        )


def _check_int_at_least(flag: str, value, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{flag} must be an integer >= {minimum}, got {value!r}")


def _check_real(
    flag: str,
    value,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        span = f"{left}{low if low is not None else '-inf'}, {high if high is not None else 'inf'}{right}"
        raise ConfigError(f"{flag} must be a finite number in {span}, got {value!r}")
