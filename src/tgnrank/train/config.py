"""The training configuration: the declared sections composed into one frozen ``TrainConfig``.

``TrainConfig`` holds one section per layer (:mod:`tgnrank.config.sections`, :mod:`tgnrank.config.model`);
each layer is handed only its own section (the model gets ``config.model``). Every setting also has a
flat name, the flag of TGN's ``train_self_supervised.py`` (``lr``, ``n_head``...), and
:data:`FLAT_ALIASES` maps it to its ``(section, field)``: ``TrainConfig(lr=0.01)``, ``config.lr``,
``to_dict()`` and the checkpoints use it, so existing commands, scripts and checkpoints keep working.
This module imports no torch, so the command line can show its defaults instantly.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from tgnrank.config.model import AGGREGATORS, EMBEDDING_MODULES, MEMORY_UPDATERS, MESSAGE_FUNCTIONS, ModelConfig
from tgnrank.config.params import Setting, declared
from tgnrank.config.sections import (
    DEFAULT_HARD_NEG_TOPK,
    DEFAULT_MULTIHOP_TOPK,
    HARD_NEG_SIMILARITIES,
    SHARE_TOLERANCE,
    DataConfig,
    LossConfig,
    NegativeConfig,
    NeighborConfig,
    OptimConfig,
    RunConfig,
)
from tgnrank.errors import ConfigError

__all__ = [
    "AGGREGATORS", "DEFAULT_HARD_NEG_TOPK", "DEFAULT_MULTIHOP_TOPK", "EMBEDDING_MODULES", "FLAT_ALIASES",
    "HARD_NEG_SIMILARITIES", "MEMORY_UPDATERS", "MESSAGE_FUNCTIONS", "SECTIONS", "SHARE_TOLERANCE", "TrainConfig",
    "VERSION_1_SETTINGS", "LATER_SETTINGS", "declarations", "section_fields", "upgrade_flat_config",
]

# Section attribute -> its class, in the order the flags are listed. The loss section is ``objective``
# because ``loss`` is one of its settings.
SECTIONS = {
    "dataset": DataConfig,
    "optim": OptimConfig,
    "run": RunConfig,
    "neighbors": NeighborConfig,
    "model": ModelConfig,
    "objective": LossConfig,
    "negatives": NegativeConfig,
}

# Flat (TGN flag) name -> (section attribute, field). Every name is unique across sections.
FLAT_ALIASES: dict[str, tuple[str, str]] = {
    spec.name: (section, spec.name) for section, cls in SECTIONS.items() for spec, _ in declared(cls)
}


def declarations() -> dict[str, tuple[str, object, Setting]]:
    """Every setting by flat name: ``(section attribute, default, declaration)``, in flag order."""
    return {
        spec.name: (section, spec.default, declaration)
        for section, cls in SECTIONS.items()
        for spec, declaration in declared(cls)
    }


@dataclass(frozen=True, init=False)
class TrainConfig:
    """Every setting of a training run, by section; built from sections, flat names, or both.

    ``TrainConfig(model=ModelConfig(use_memory=True), lr=0.01)``: flat names override the given (or
    default) sections. An unknown name raises ``TypeError``; an invalid value ``ConfigError`` naming its
    flag. ``config.lr`` reads a setting by its flat name.
    """

    dataset: DataConfig
    optim: OptimConfig
    run: RunConfig
    neighbors: NeighborConfig
    model: ModelConfig
    objective: LossConfig
    negatives: NegativeConfig

    def __init__(self, **values) -> None:
        unknown = sorted(set(values) - set(SECTIONS) - set(FLAT_ALIASES))
        if unknown:
            raise TypeError(f"TrainConfig got unknown settings: {', '.join(unknown)}")
        overrides: dict[str, dict] = {name: {} for name in SECTIONS}
        for key, value in values.items():
            if key in FLAT_ALIASES:
                section, name = FLAT_ALIASES[key]
                overrides[section][name] = value
        for section, cls in SECTIONS.items():
            base = values.get(section) or cls()
            if not isinstance(base, cls):
                raise TypeError(f"TrainConfig {section} must be a {cls.__name__}, got {type(base).__name__}")
            if section == "objective":
                _focal_flag_alone(base, overrides[section])
            object.__setattr__(self, section, replace(base, **overrides[section]) if overrides[section] else base)
        self._check_rules()

    def __getattr__(self, name: str):
        path = FLAT_ALIASES.get(name)
        if path is None:
            raise AttributeError(f"TrainConfig has no setting {name!r}")
        return getattr(object.__getattribute__(self, path[0]), path[1])

    def _check_rules(self) -> None:
        """Rules between sections (each section checks its own fields when built)."""
        negatives = self.negatives
        if negatives.hard_neg_similarity == "memory" and not (negatives.use_hard_negatives and self.model.use_memory):
            raise ConfigError(
                "hard_neg_similarity memory compares investors by their memory, so it needs use_hard_negatives "
                "and use_memory",
                parameters=("hard_neg_similarity", "use_hard_negatives", "use_memory"),
            )

    @property
    def run_name(self) -> str:
        """``{prefix}-{data}`` as TGN names its files, or just ``{data}`` when the prefix is empty."""
        prefix, data = self.run.prefix, self.dataset.data
        return f"{prefix}-{data}" if prefix else data

    def with_seed(self, seed: int) -> "TrainConfig":
        return self.replace(seed=seed)

    def replace(self, **values) -> "TrainConfig":
        """A copy with the given settings (flat names or whole sections) changed."""
        return TrainConfig(**{section: getattr(self, section) for section in SECTIONS}, **values)

    def to_dict(self) -> dict:
        """Every setting by flat name (the form checkpoints, results and logs store)."""
        return {name: getattr(getattr(self, section), field) for name, (section, field) in FLAT_ALIASES.items()}

    def to_sections(self) -> dict[str, dict]:
        """Every setting by section: ``{"model": {"n_head": 2, ...}, ...}``."""
        return {section: getattr(self, section).to_dict() for section in SECTIONS}

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        """Build from a flat dict such as a checkpoint's ``config``; keys that are not settings are ignored."""
        return cls(**{key: value for key, value in values.items() if key in FLAT_ALIASES})

    def fingerprint(self) -> dict:
        """The settings that change what a run learns (not the seed, device, file names or logging)."""
        flat = self.to_dict()
        return {name: flat[name] for name, (_, _, declaration) in declarations().items() if declaration.fingerprint}


# What training before version 2 (settings declared in sections) did for each setting added since:
# fixed split quantiles, the epoch kept by validation AP, TGN's MLP scorer, uniform random negatives.
# Pinned here, not read from the defaults, so that changing a default later leaves old runs as trained.
VERSION_1_SETTINGS = {
    "train_quantile": 0.70,
    "val_quantile": 0.85,
    "activity_features": False,
    "softmax_temperature": 1.0,
    "neg_sampling": "uniform",
    "neg_degree_power": 0.75,
    "neg_recent_days": 365.0,
    "early_stop_metric": "ap",
    "val_rank_companies": 500,
    "link_predictor": "mlp",
    "walk_dim": 32,
    "walk_decay_days": 365.0,
    "path_counts": False,
}


# The settings a command written for an older checkpoint may not spell: they follow the checkpoint.
# ``path_walks`` came with format 3 already in use; an entry without it predates it.
LATER_SETTINGS = (*VERSION_1_SETTINGS, "path_walks")


def upgrade_flat_config(entry: dict, version: int) -> dict:
    """A flat configuration stored by format ``version`` (a checkpoint's ``config``, a comparison's
    fingerprint) as the current format stores it: version 1 lacks the settings of
    :data:`VERSION_1_SETTINGS` and ``loss`` (``focal`` exactly when ``use_focal_loss``); an entry without
    ``path_walks`` trained its path counts alone (without path counts the setting changes nothing, so
    it takes its default)."""
    upgraded = dict(entry)
    if version < 2:
        upgraded = {**VERSION_1_SETTINGS, "loss": "focal" if entry.get("use_focal_loss") else "bce", **entry}
    upgraded.setdefault("path_walks", not upgraded.get("path_counts", False))
    return upgraded


def _focal_flag_alone(base: LossConfig, overrides: dict) -> None:
    """``use_focal_loss`` given without ``loss`` decides the loss: True asks for focal, False turns a
    focal ``base`` back to BCE (so a focal configuration with ``use_focal_loss=False`` is not focal)."""
    if "use_focal_loss" not in overrides or "loss" in overrides:
        return
    if overrides["use_focal_loss"] and base.loss == "bce":
        overrides["loss"] = "focal"
    elif not overrides["use_focal_loss"] and base.loss == "focal":
        overrides["loss"] = "bce"


def section_fields(*sections: str) -> list[str]:
    """The flat names of the settings of the given sections, in declaration order."""
    return [spec.name for section in sections for spec in fields(SECTIONS[section])]
