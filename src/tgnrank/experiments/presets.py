"""The comparison's presets (the guide's four configurations; the ranking ablation) and what a
comparison is asked to do (``CompareSettings``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from tgnrank.errors import ConfigError
from tgnrank.eval.diagnostic import DiagnosticOptions
from tgnrank.eval.fusion import FusionOptions
from tgnrank.train.config import TrainConfig

logger = logging.getLogger(__name__)

ENSEMBLE_NAME = "ensemble"
ENSEMBLE_LABEL = "Ensemble"
FUSION_NAME = "fusion"
FUSION_LABEL = "Fusion"


@dataclass(frozen=True)
class Configuration:
    """One column of the guide's table: its name (the checkpoint prefix), its label and its flags."""

    name: str
    label: str
    overrides: dict

    def flags(self) -> str:
        """The overrides as command-line flags, e.g. ``--use_focal_loss --focal_alpha 0.25``."""
        parts = []
        for key, value in self.overrides.items():
            if value is True:
                parts.append(f"--{key}")
            elif value is not False:
                parts.append(f"--{key} {value:g}" if isinstance(value, float) else f"--{key} {value}")
        return " ".join(parts)


_FOCAL = {"use_focal_loss": True, "focal_alpha": 0.25, "focal_gamma": 2.0}
_HARD = {"use_hard_negatives": True, "hard_neg_ratio": 0.5, "hard_neg_temperature": 0.1}
_NO_FOCAL = {"use_focal_loss": False}
_NO_HARD = {"use_hard_negatives": False}

GUIDE_CONFIGURATIONS = (
    Configuration("baseline", "Baseline", {**_NO_FOCAL, **_NO_HARD}),
    Configuration("focal", "Focal", {**_FOCAL, **_NO_HARD}),
    Configuration("hardneg", "Hard Neg", {**_NO_FOCAL, **_HARD}),
    Configuration("focal-hardneg", "Focal+Hard", {**_FOCAL, **_HARD}),
)

_SOFTMAX = {**_NO_FOCAL, **_NO_HARD, "loss": "softmax", "n_neg": 5}

# Added by the ranking preset: the loss and negatives of "Real-data ranking I", and the pairwise predictor
# with the exact path counts and walk probabilities, four negatives per positive (the best trained model
# on the real export, docs/design.md).
RANKING_EXTRA_CONFIGURATIONS = (
    Configuration("softmax", "Softmax", _SOFTMAX),
    Configuration("degree", "Softmax+Degree", {**_SOFTMAX, "neg_sampling": "degree"}),
    Configuration("pairwise", "Pairwise",
                  {**_NO_FOCAL, **_NO_HARD, "link_predictor": "pairwise", "path_counts": True, "n_neg": 4}),
)

PRESETS = ("guide", "ranking")


def refused_setting(configuration: Configuration, not_implemented: dict) -> tuple[str, object] | None:
    """The first override (name, value) that training still refuses (``not_implemented``: name -> accepted
    values), or None."""
    for name, value in configuration.overrides.items():
        if name in not_implemented and value not in not_implemented[name]:
            return name, value
    return None


def not_yet_implemented() -> dict:
    """Training's table of declared but refused values, read now: it shrinks as settings get wired."""
    from tgnrank.train import runs

    return dict(getattr(runs, "NOT_YET_IMPLEMENTED", {}))


def preset_configurations(preset: str, not_implemented: dict | None = None) -> tuple[Configuration, ...]:
    """The configurations of ``preset``, without those whose setting training refuses (each logged)."""
    if preset not in PRESETS:
        raise ConfigError(f"preset must be one of {list(PRESETS)}, got {preset!r}", parameters=("preset",))
    if preset == "guide":
        return GUIDE_CONFIGURATIONS
    table = not_yet_implemented() if not_implemented is None else not_implemented
    kept = []
    for configuration in (*GUIDE_CONFIGURATIONS, *RANKING_EXTRA_CONFIGURATIONS):
        refused = refused_setting(configuration, table)
        if refused is None:
            kept.append(configuration)
            continue
        name, value = refused
        # The setting goes into the format string, which alone the command line spells as flags; its
        # value stays an argument.
        logger.warning(f"preset ranking: left out '%s' ({name} %s is not implemented by training yet)",
                       configuration.name, value, extra={"parameters": ("preset", name)})
    return tuple(kept)


@dataclass(frozen=True)
class CompareSettings:
    """What to compare: shared training settings, seeds, where to write, and the diagnostic to run.

    ``base`` holds the settings every configuration shares (data and its split quantiles, epochs, model
    size, ``use_memory``...); each configuration's overrides and each seed replace the rest. With
    ``fusion``, each seed also gets the learned fusion (``fusion_options``, its seed the comparison's),
    fitted on the window before the compared one. Checkpoints
    and training outputs go under ``out_dir`` (``out_dir/saved_models/{prefix}-{data}.pth``), next to the
    state and report. The diagnostic ranks the window of ``base``'s split quantiles.
    """

    base: TrainConfig
    seeds: tuple[int, ...] = (0,)
    out_dir: Path = Path("reports/compare")
    window: str = "test"
    options: DiagnosticOptions = DiagnosticOptions()
    restart: bool = False
    configurations: tuple[Configuration, ...] = GUIDE_CONFIGURATIONS
    fusion: bool = False
    fusion_options: FusionOptions = FusionOptions()

    def __post_init__(self) -> None:
        if not self.seeds or len(set(self.seeds)) != len(self.seeds) or min(self.seeds) < 0:
            raise ConfigError(f"seeds must be distinct integers >= 0 (e.g. 0,1,2), got {list(self.seeds)}",
                              parameters=("seeds",))
        object.__setattr__(self, "out_dir", Path(self.out_dir))

    def prefix(self, configuration: Configuration, seed: int) -> str:
        """The guide's prefix, with ``-s{seed}`` when several seeds are compared."""
        return self._with_seed(configuration.name, seed)

    def ensemble_prefix(self, seed: int) -> str:
        """The ensemble's name in diagnostics: ``ensemble``, with ``-s{seed}`` when several seeds are compared."""
        return self._with_seed(ENSEMBLE_NAME, seed)

    def fusion_prefix(self, seed: int) -> str:
        return self._with_seed(FUSION_NAME, seed)

    def fusion_settings(self, seed: int) -> dict:
        """What a seed's fusion depends on: the window, the split, the K and its options (seeded)."""
        options = self.fusion_options.to_dict()
        return {**self.model_diagnostic_settings(), "fusion": {**options, "fusion_seed": seed}}

    def _with_seed(self, name: str, seed: int) -> str:
        return name if len(self.seeds) == 1 else f"{name}-s{seed}"

    def train_config(self, configuration: Configuration, seed: int) -> TrainConfig:
        return self.base.replace(**configuration.overrides, prefix=self.prefix(configuration, seed), seed=seed,
                                 n_runs=1)

    def checkpoint_path(self, entry: dict) -> Path:
        """A finished run's checkpoint; the state stores it relative to ``out_dir`` so the folder can move."""
        return self.out_dir / entry["checkpoint"]

    def model_diagnostic_settings(self) -> dict:
        """What a model's diagnostic depends on besides the model."""
        return {
            "window": self.window,
            "ks": [int(k) for k in self.options.ks],
            "train_quantile": self.base.dataset.train_quantile,
            "val_quantile": self.base.dataset.val_quantile,
        }

    def baseline_diagnostic_settings(self) -> dict:
        return {**self.model_diagnostic_settings(), "baselines": list(self.options.baselines)}

    def training_fingerprint(self) -> dict:
        """Per configuration, every training setting that shapes the model (declared ``fingerprint``)."""
        return {c.name: self.train_config(c, self.seeds[0]).fingerprint() for c in self.configurations}

    def shared_settings(self) -> dict:
        """The fingerprinted settings that no configuration overrides and that end up equal in all of them
        (``loss`` follows ``use_focal_loss``): the report's "shared flags"."""
        overridden = {key for configuration in self.configurations for key in configuration.overrides}
        fingerprints = list(self.training_fingerprint().values())
        return {key: value for key, value in fingerprints[0].items()
                if key not in overridden and all(other[key] == value for other in fingerprints)}
