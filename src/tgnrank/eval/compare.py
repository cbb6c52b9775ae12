"""The guide's four-way comparison: train baseline, focal, hard-negative and focal + hard-negative
models over one or more seeds, rank the same window's candidates with each, and aggregate.

:func:`run_comparison` trains every (configuration, seed) pair with the training loop, runs the
temporal validation diagnostic on each model (the model-free baselines once, since they do not
depend on the model) and returns the results dict that :mod:`tgnrank.eval.report` renders and
``compare.json`` stores.

For each seed, the four models are also combined into an ensemble (the mean of their logits for each
candidate pair, :class:`~tgnrank.eval.scoring.EnsembleScorer`), diagnosed like one more model. Nothing
is trained for it: it is rebuilt from the stored checkpoints.

Resuming: a state file in the output folder records, for each finished (configuration, seed), its
checkpoint, its training history and its diagnostic, and for each seed the ensemble's diagnostic
(dropped whenever one of its members is trained again). A later call with the same training arguments
and the same dataset skips those; a call whose arguments would make the stored models wrong (another
epoch count, model size, dataset, ...) is refused unless ``restart`` discards the state. Changing only
the window, the K or the baselines keeps the trained models and recomputes the diagnostics.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from tgnrank.data.events import EventData
from tgnrank.errors import ConfigError, DataFormatError
from tgnrank.eval.baselines import RANDOM, best_baseline, comparison_key
from tgnrank.eval.diagnostic import DiagnosticOptions, run_diagnostic
from tgnrank.eval.metrics import LIFT_K
from tgnrank.eval.protocol import CandidateSet, build_window
from tgnrank.train.config import TrainConfig
from tgnrank.train.outputs import RunPaths, write_json

logger = logging.getLogger(__name__)

STATE_FILE = "compare-state.json"
RESULTS_FILE = "compare.json"
STATE_FORMAT = "tgnrank-compare-state"
STATE_VERSION = 1
RANK_QUANTILE_LEVELS = np.linspace(0.0, 1.0, 101)
ENSEMBLE_NAME = "ensemble"
ENSEMBLE_LABEL = "Ensemble"

# Fields that do not change what a run learns, or that each configuration and seed sets itself.
_NOT_FINGERPRINTED = ("gpu", "seed", "prefix", "n_runs", "wandb", "data_dir")

TRAINING_RECORD = ("train_losses", "val_aps", "best_epoch", "epochs_completed", "stopped_early", "test_ap", "test_auc")

RankingProgress = Callable[[str, int, int], None]


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


@dataclass(frozen=True)
class CompareSettings:
    """What to compare: shared training flags, seeds, where to write, and the diagnostic to run.

    ``base`` holds the flags every configuration shares (data, epochs, model size, ``use_memory``...);
    each configuration's overrides and each seed replace the rest. Checkpoints and training outputs
    go under ``out_dir`` (``out_dir/saved_models/{prefix}-{data}.pth``), next to the state and report.
    """

    base: TrainConfig
    seeds: tuple[int, ...] = (0,)
    out_dir: Path = Path("reports/compare")
    window: str = "test"
    options: DiagnosticOptions = DiagnosticOptions()
    train_quantile: float = 0.70
    val_quantile: float = 0.85
    restart: bool = False
    configurations: tuple[Configuration, ...] = GUIDE_CONFIGURATIONS

    def __post_init__(self) -> None:
        if not self.seeds or len(set(self.seeds)) != len(self.seeds) or min(self.seeds) < 0:
            raise ConfigError(f"--seeds must be distinct integers >= 0 (e.g. 0,1,2), got {list(self.seeds)}")
        object.__setattr__(self, "out_dir", Path(self.out_dir))

    def prefix(self, configuration: Configuration, seed: int) -> str:
        """The guide's prefix, with ``-s{seed}`` when several seeds are compared."""
        return self._with_seed(configuration.name, seed)

    def ensemble_prefix(self, seed: int) -> str:
        """The ensemble's name in diagnostics: ``ensemble``, with ``-s{seed}`` when several seeds are compared."""
        return self._with_seed(ENSEMBLE_NAME, seed)

    def _with_seed(self, name: str, seed: int) -> str:
        return name if len(self.seeds) == 1 else f"{name}-s{seed}"

    def train_config(self, configuration: Configuration, seed: int) -> TrainConfig:
        values = {**self.base.to_dict(), **configuration.overrides}
        return TrainConfig.from_dict({**values, "prefix": self.prefix(configuration, seed), "seed": seed, "n_runs": 1})

    def checkpoint_path(self, entry: dict) -> Path:
        """A finished run's checkpoint; the state stores it relative to ``out_dir`` so the folder can move."""
        return self.out_dir / entry["checkpoint"]

    def model_diagnostic_settings(self) -> dict:
        """What a model's diagnostic depends on besides the model."""
        return {
            "window": self.window,
            "ks": [int(k) for k in self.options.ks],
            "train_quantile": self.train_quantile,
            "val_quantile": self.val_quantile,
        }

    def baseline_diagnostic_settings(self) -> dict:
        return {**self.model_diagnostic_settings(), "baselines": list(self.options.baselines)}

    def training_fingerprint(self) -> dict:
        """Per configuration, every training flag that shapes the model (not the seed or the device)."""
        fingerprint = {}
        for configuration in self.configurations:
            values = self.train_config(configuration, self.seeds[0]).to_dict()
            fingerprint[configuration.name] = {k: v for k, v in values.items() if k not in _NOT_FINGERPRINTED}
        return fingerprint


@dataclass
class ComparisonState:
    """What is finished, as stored in ``compare-state.json``; see the module docstring."""

    path: Path
    training: dict
    dataset: dict
    baselines: dict | None = None
    runs: dict = field(default_factory=dict)
    ensembles: dict = field(default_factory=dict)

    @staticmethod
    def run_key(configuration: str, seed: int) -> str:
        return f"{configuration}@{seed}"

    def save(self) -> None:
        write_json(self.path, {
            "format": STATE_FORMAT,
            "format_version": STATE_VERSION,
            "training": self.training,
            "dataset": self.dataset,
            "baselines": self.baselines,
            "runs": self.runs,
            "ensembles": self.ensembles,
        })


def dataset_fingerprint(data: EventData) -> dict:
    """Name, sizes and a hash of the events, so that a regenerated or edited dataset is noticed."""
    events = data.events
    digest = hashlib.sha256()
    for array in (events.sources, events.destinations, events.timestamps, events.edge_idxs):
        digest.update(np.ascontiguousarray(array).tobytes())
    digest.update(repr((data.node_features.shape, data.edge_features.shape)).encode())
    return {
        "name": data.name, "n_nodes": int(data.n_nodes), "n_events": int(data.n_events), "sha256": digest.hexdigest(),
    }


def open_state(settings: CompareSettings, dataset: dict) -> ComparisonState:
    """The state to continue from: the stored one when it matches ``settings``, else a fresh one.

    Raises ConfigError, listing what differs, when a stored state was made with other training
    arguments or another dataset and ``settings.restart`` is not set.
    """
    path = settings.out_dir / STATE_FILE
    training = settings.training_fingerprint()
    fresh = ComparisonState(path=path, training=training, dataset=dataset)
    if not path.exists():
        return fresh
    if settings.restart:
        logger.info("--restart: discarding the finished runs recorded in %s", path)
        return fresh
    stored = _read_state(path)
    differences = _differences(stored.get("training", {}), training)
    differences += _dataset_differences(stored.get("dataset", {}), dataset)
    if differences:
        raise ConfigError(
            f"{path} records a comparison made with other arguments, so its models cannot be reused:\n  "
            + "\n  ".join(differences)
            + "\nrerun with the same arguments to resume, pass --restart to retrain everything, "
            "or choose another --out"
        )
    state = ComparisonState(path=path, training=training, dataset=dataset,
                            baselines=stored.get("baselines"), runs=dict(stored.get("runs") or {}),
                            ensembles=dict(stored.get("ensembles") or {}))
    logger.info("Resuming from %s: %d finished run(s)", path, len(state.runs))
    return state


def _read_state(path: Path) -> dict:
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DataFormatError(f"{path}: cannot be read as a comparison state ({error}); pass --restart") from error
    if not isinstance(stored, dict) or stored.get("format") != STATE_FORMAT:
        raise DataFormatError(f"{path}: is not a tgnrank comparison state; pass --restart or choose another --out")
    return stored


def _differences(stored: dict, current: dict) -> list[str]:
    """One line per flag whose value differs (the same line once even if several configurations differ)."""
    lines: list[str] = []
    added = sorted(set(current) - set(stored))
    dropped = sorted(set(stored) - set(current))
    if added or dropped:
        lines.append(f"configurations: stored {sorted(stored)}, now {sorted(current)}")
    for name in sorted(set(stored) & set(current)):
        for key in sorted(set(stored[name]) | set(current[name])):
            was, now = stored[name].get(key), current[name].get(key)
            line = f"--{key}: stored {was!r}, now {now!r}"
            if was != now and line not in lines:
                lines.append(line)
    return lines


def _dataset_differences(stored: dict, current: dict) -> list[str]:
    if stored == current or stored.get("name") != current["name"]:
        return []  # another name is already reported as a different --data
    return [
        f"dataset '{current['name']}' changed since (stored {stored.get('n_events')} events over "
        f"{stored.get('n_nodes')} nodes, now {current['n_events']} over {current['n_nodes']}, or the same sizes "
        "with other events)"
    ]


def run_comparison(
    settings: CompareSettings,
    device,
    callbacks=None,
    ranking_progress: RankingProgress | None = None,
) -> dict:
    """Train and diagnose every (configuration, seed) not already finished; return the results dict.

    ``callbacks`` are the training loop's (``tgnrank.train.loop.TrainingCallbacks``);
    ``ranking_progress`` is the diagnostic's progress callback. The state file is rewritten after each
    finished training and each diagnostic, so an interruption loses at most the run in progress.
    ``compare.json`` is written at the end (see :func:`assemble_results` for its layout).
    """
    from tgnrank.train import loop

    settings.base.model_config()  # model-level checks before any data is read
    training_data = loop.load_training_data(settings.base)
    data = training_data.data
    state = open_state(settings, dataset_fingerprint(data))
    candidates = build_window(data.events, settings.window, settings.train_quantile, settings.val_quantile)
    logger.info(
        "%s window: %d positives, %d companies x %d investors = %d candidate pairs", settings.window,
        candidates.n_positives, candidates.n_companies, candidates.n_investors, candidates.n_candidates,
    )
    baselines = _baseline_results(settings, state, data, candidates, ranking_progress)
    for configuration in settings.configurations:
        for seed in settings.seeds:
            entry = _trained_run(settings, state, configuration, seed, device, callbacks, training_data)
            _diagnose_run(settings, state, entry, data, candidates, device, ranking_progress)
    for seed in settings.seeds:
        _diagnose_ensemble(settings, state, seed, data, candidates, device, ranking_progress)
    results = assemble_results(settings, state, baselines, candidates)
    write_json(settings.out_dir / RESULTS_FILE, results)
    return results


def _baseline_results(settings, state: ComparisonState, data, candidates, progress) -> dict:
    wanted = settings.baseline_diagnostic_settings()
    if state.baselines is not None and state.baselines.get("settings") == wanted:
        logger.info("Baselines: already ranked on this window, reusing")
        return state.baselines["scorers"]
    logger.info("Ranking the candidates with the baselines")
    result = run_diagnostic(data, candidates, None, options=settings.options, progress=progress)
    n_candidates = candidates.n_candidates
    scorers = {name: _compact_scorer(entry, n_candidates) for name, entry in result["scorers"].items()}
    state.baselines = {"settings": wanted, "scorers": scorers}
    state.save()
    return scorers


def _trained_run(settings, state, configuration: Configuration, seed: int, device, callbacks, training_data) -> dict:
    from tgnrank.train import loop

    key = ComparisonState.run_key(configuration.name, seed)
    entry = state.runs.get(key)
    if entry is not None and settings.checkpoint_path(entry).is_file():
        logger.info("%s, seed %d: already trained (%s), skipping training", configuration.name, seed,
                    settings.checkpoint_path(entry))
        return entry
    if entry is not None:
        logger.warning("%s, seed %d: checkpoint %s is missing, training again", configuration.name, seed,
                       settings.checkpoint_path(entry))
    config = settings.train_config(configuration, seed)
    logger.info("Training %s, seed %d (%s)", configuration.name, seed, configuration.flags() or "random negatives, BCE")
    started = time.perf_counter()
    paths = RunPaths(config.prefix, config.data, root=settings.out_dir)
    summary = loop.train_runs(config, device, paths, callbacks, training_data)
    run = summary.runs[0]
    metrics = run.metrics()
    entry = {
        "configuration": configuration.name,
        "seed": seed,
        "prefix": config.prefix,
        "checkpoint": run.model_path.relative_to(settings.out_dir).as_posix(),
        "training_seconds": time.perf_counter() - started,
        "training": {
            name: metrics[name]
            for name in TRAINING_RECORD
        },
    }
    state.runs[key] = entry
    state.ensembles.pop(str(seed), None)  # its members changed
    state.save()
    return entry


def _diagnose_run(settings, state, entry: dict, data, candidates: CandidateSet, device, progress) -> None:
    from tgnrank.eval.scoring import model_scorer_from_checkpoint
    from tgnrank.train.checkpoint import load_checkpoint

    wanted = settings.model_diagnostic_settings()
    if entry.get("diagnostic_settings") == wanted:
        return
    logger.info("Diagnostic of %s on the %s window", entry["prefix"], settings.window)
    scorer, _ = model_scorer_from_checkpoint(load_checkpoint(settings.checkpoint_path(entry)), data, candidates, device)
    entry["diagnostic"] = _model_diagnostic(settings, data, candidates, scorer, entry["prefix"], progress)
    entry["diagnostic_settings"] = wanted
    state.save()


def _diagnose_ensemble(settings, state, seed: int, data, candidates: CandidateSet, device, progress) -> None:
    """Diagnose the mean-logit ensemble of the seed's models (rebuilt from their checkpoints), unless done."""
    from tgnrank.eval.scoring import ensemble_scorer_from_checkpoints
    from tgnrank.train.checkpoint import load_checkpoint

    members = [state.runs[ComparisonState.run_key(c.name, seed)] for c in settings.configurations]
    wanted = {**settings.model_diagnostic_settings(), "members": [member["prefix"] for member in members]}
    stored = state.ensembles.get(str(seed))
    if stored is not None and stored.get("diagnostic_settings") == wanted:
        return
    prefix = settings.ensemble_prefix(seed)
    logger.info("Diagnostic of %s (mean logit of %s) on the %s window", prefix,
                ", ".join(wanted["members"]), settings.window)
    checkpoints = (load_checkpoint(settings.checkpoint_path(member)) for member in members)
    scorer, _, _ = ensemble_scorer_from_checkpoints(checkpoints, data, candidates, device)
    state.ensembles[str(seed)] = {
        "seed": seed,
        "prefix": prefix,
        "members": wanted["members"],
        "diagnostic": _model_diagnostic(settings, data, candidates, scorer, prefix, progress),
        "diagnostic_settings": wanted,
    }
    state.save()


def _model_diagnostic(settings, data, candidates: CandidateSet, scorer, prefix: str, progress) -> dict:
    """The compact diagnostic of one model (or ensemble) scorer, without the baselines (ranked once apart)."""
    options = dataclasses.replace(settings.options, baselines=())
    result = run_diagnostic(data, candidates, scorer, prefix, options, progress)
    return {
        **_compact_scorer(result["scorers"][prefix], candidates.n_candidates),
        "top_predictions": result["top_predictions"],
    }


def _compact_scorer(entry: dict, n_candidates: int) -> dict:
    """A diagnostic scorer entry with the positives' ranks summarised as quantiles of their percentile."""
    compact = {"metrics": entry["metrics"], "seconds": entry.get("seconds", 0.0)}
    if "recall_curve" in entry:
        compact["recall_curve"] = entry["recall_curve"]
    if "positive_mean_ranks" in entry:
        compact["rank_quantiles"] = rank_quantiles(np.asarray(entry["positive_mean_ranks"]), n_candidates)
    return compact


def rank_quantiles(mean_ranks: np.ndarray, n_candidates: int) -> dict:
    """The quantiles of the positives' rank as a percentage of the candidates.

    Returns ``{"levels": (101,), "rank_pct": (101,)}``: ``rank_pct[j]`` is the rank percentile below
    which a share ``levels[j]`` of the positives fall (an ECDF, sampled).
    """
    percentiles = 100.0 * np.asarray(mean_ranks, dtype=np.float64) / n_candidates
    return {
        "levels": RANK_QUANTILE_LEVELS.tolist(),
        "rank_pct": np.quantile(percentiles, RANK_QUANTILE_LEVELS).tolist(),
    }


def summarize_runs(runs: list[dict]) -> dict:
    """Mean and (population) std over seeds of every diagnostic metric: ``{metric: {mean, std, n}}``."""
    names = runs[0]["diagnostic"]["metrics"].keys()
    summary = {}
    for name in names:
        values = np.array([run["diagnostic"]["metrics"][name] for run in runs], dtype=np.float64)
        summary[name] = {"mean": float(values.mean()), "std": float(values.std()), "n": len(values)}
    return summary


def assemble_results(
    settings: CompareSettings, state: ComparisonState, baselines: dict, candidates: CandidateSet
) -> dict:
    """The comparison's results (``compare.json``).

    Keys: ``dataset``, ``window`` (candidate counts), ``ks``, ``lift_k``, ``seeds``, ``training`` (the
    shared flags), ``configurations`` (list of ``{name, label, flags, runs, summary}``, each run with
    ``seed``, ``prefix``, ``checkpoint``, ``training`` (per-epoch ``train_losses`` and ``val_aps``...),
    ``diagnostic`` (``metrics``, ``recall_curve``, ``rank_quantiles``, ``top_predictions``) and
    ``beats_best_baseline``), ``baselines`` (per baseline, random included, the same diagnostic
    entries), ``best_baseline`` and ``best_configuration`` (by mean metrics, among the configurations),
    and ``ensemble`` (``name``, ``label``, ``combination``, ``members`` (configuration names), ``runs``
    (per seed: ``seed``, ``prefix``, ``members`` (their prefixes), ``diagnostic``,
    ``beats_best_baseline``) and ``summary``).
    """
    best = best_baseline({name: baselines[name]["metrics"] for name in [RANDOM, *settings.options.baselines]})
    best_key = comparison_key(baselines[best]["metrics"])
    configurations = []
    for configuration in settings.configurations:
        runs = []
        for seed in settings.seeds:
            entry = dict(state.runs[ComparisonState.run_key(configuration.name, seed)])
            entry.pop("diagnostic_settings", None)
            entry["checkpoint"] = str(settings.checkpoint_path(entry))
            entry["beats_best_baseline"] = comparison_key(entry["diagnostic"]["metrics"]) < best_key
            runs.append(entry)
        configurations.append({
            "name": configuration.name,
            "label": configuration.label,
            "flags": configuration.flags(),
            "runs": runs,
            "summary": summarize_runs(runs),
        })
    ensemble_runs = []
    for seed in settings.seeds:
        entry = dict(state.ensembles[str(seed)])
        entry.pop("diagnostic_settings", None)
        entry["beats_best_baseline"] = comparison_key(entry["diagnostic"]["metrics"]) < best_key
        ensemble_runs.append(entry)
    mean_metrics = {c["name"]: {k: v["mean"] for k, v in c["summary"].items()} for c in configurations}
    shared = {k: v for k, v in settings.base.to_dict().items() if k not in _NOT_FINGERPRINTED}
    for configuration in settings.configurations:
        for key in configuration.overrides:
            shared.pop(key, None)
    return {
        "dataset": settings.base.data,
        "window": candidates.summary(),
        "ks": [int(k) for k in settings.options.ks],
        "lift_k": LIFT_K,
        "seeds": list(settings.seeds),
        "training": shared,
        "configurations": configurations,
        "baselines": baselines,
        "baseline_names": [RANDOM, *settings.options.baselines],
        "best_baseline": best,
        "best_configuration": min(mean_metrics, key=lambda name: comparison_key(mean_metrics[name])),
        "ensemble": {
            "name": ENSEMBLE_NAME,
            "label": ENSEMBLE_LABEL,
            "combination": "mean logit",
            "members": [configuration.name for configuration in settings.configurations],
            "runs": ensemble_runs,
            "summary": summarize_runs(ensemble_runs),
        },
    }
