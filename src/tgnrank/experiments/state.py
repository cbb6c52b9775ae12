"""What a comparison has finished, in ``compare-state.json``, so that a later call resumes.

The state records, for each finished (configuration, seed), its checkpoint, its training history and
its diagnostic, and for each seed the ensemble's diagnostic (dropped whenever one of its members is
trained again) and, when the comparison has one, the learned fusion's diagnostic and importances (it
reads no model, so it is refitted only when its window or options change). A later call with the same training settings and the same dataset skips those; a call
whose settings would make the stored models wrong (another epoch count, model size, dataset, ...) is
refused unless ``restart`` discards the state. Changing only the window, the K or the baselines keeps
the trained models and recomputes the diagnostics.

A run trained by a Ray trial (:mod:`tgnrank.experiments.ray_compare`) also leaves a trial record,
``trials/{configuration}@{seed}.json`` (its entry, with the training and dataset fingerprints it was
made under), written by the trial itself when it finishes: :func:`merge_trial_records` takes those
the state lacks, so a run finished just before the command was killed is not trained again.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tgnrank.config.params import setting_changes
from tgnrank.data.events import EventData
from tgnrank.errors import ConfigError, DataFormatError
from tgnrank.experiments.presets import CompareSettings
from tgnrank.train.config import upgrade_flat_config
from tgnrank.train.outputs import write_json

logger = logging.getLogger(__name__)

STATE_FILE = "compare-state.json"
STATE_FORMAT = "tgnrank-compare-state"
TRIALS_DIR = "trials"
STATE_VERSION = 2  # 2: fingerprints hold every declared setting (version 1 lacks those added since)


@dataclass
class ComparisonState:
    """What is finished, as stored in ``compare-state.json``; see the module docstring."""

    path: Path
    training: dict
    dataset: dict
    baselines: dict | None = None
    runs: dict = field(default_factory=dict)
    ensembles: dict = field(default_factory=dict)
    fusions: dict = field(default_factory=dict)

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
            "fusions": self.fusions,
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
    if settings.restart:
        logger.info("restart: discarding the finished runs recorded in %s", settings.out_dir,
                    extra={"parameters": ("restart",)})
        _discard_trial_records(settings)
        return fresh
    if not path.exists():
        return fresh
    stored = _read_state(path)
    version = stored.get("format_version", 1)
    stored_training = {name: upgrade_flat_config(flags, version) for name, flags in stored.get("training", {}).items()}
    differences, differing_settings = _differences(stored_training, training)
    differences += _dataset_differences(stored.get("dataset", {}), dataset)
    if differences:
        # The path is quoted so that a folder named like a setting stays as it is on the command line.
        raise ConfigError(
            f"{str(path)!r} records a comparison made with other arguments, so its models cannot be reused:\n  "
            + "\n  ".join(differences)
            + "\nrerun with the same arguments to resume, pass restart to retrain everything, "
            "or choose another out_dir",
            parameters=("restart", "out_dir", *differing_settings),
        )
    state = ComparisonState(path=path, training=training, dataset=dataset,
                            baselines=stored.get("baselines"), runs=dict(stored.get("runs") or {}),
                            ensembles=dict(stored.get("ensembles") or {}),
                            fusions=dict(stored.get("fusions") or {}))
    logger.info("Resuming from %s: %d finished run(s)", path, len(state.runs))
    return state


def _read_state(path: Path) -> dict:
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DataFormatError(f"{str(path)!r}: cannot be read as a comparison state ({error}); pass restart",
                              parameters=("restart",)) from error
    if not isinstance(stored, dict) or stored.get("format") != STATE_FORMAT:
        raise DataFormatError(f"{str(path)!r}: is not a tgnrank comparison state; pass restart or choose another "
                              "out_dir", parameters=("restart", "out_dir"))
    return stored


def _differences(stored: dict, current: dict) -> tuple[list[str], list[str]]:
    """One line per setting whose value differs (the same line once even if several configurations differ),
    and the settings those lines name."""
    lines: list[str] = []
    settings: list[str] = []
    added = sorted(set(current) - set(stored))
    dropped = sorted(set(stored) - set(current))
    if added or dropped:
        lines.append(f"configurations: stored {sorted(stored)}, now {sorted(current)}")
    for name in sorted(set(stored) & set(current)):
        for key, was, now in setting_changes(stored[name], current[name]):
            line = f"{key}: stored {was!r}, now {now!r}"
            if line not in lines:
                lines.append(line)
                settings.append(key)
    return lines, settings


def _dataset_differences(stored: dict, current: dict) -> list[str]:
    if stored == current or stored.get("name") != current["name"]:
        return []  # another name is already reported as a different --data
    return [
        f"dataset '{current['name']}' changed since (stored {stored.get('n_events')} events over "
        f"{stored.get('n_nodes')} nodes, now {current['n_events']} over {current['n_nodes']}, or the same sizes "
        "with other events)"
    ]


def trial_record_path(settings: CompareSettings, key: str) -> Path:
    return settings.out_dir / TRIALS_DIR / f"{key}.json"


def write_trial_record(settings: CompareSettings, entry: dict, dataset: dict) -> None:
    """Record a run a trial finished (trained and diagnosed), beside the fingerprints it was made under."""
    configuration = next(c for c in settings.configurations if c.name == entry["configuration"])
    write_json(trial_record_path(settings, ComparisonState.run_key(entry["configuration"], entry["seed"])), {
        "format": STATE_FORMAT,
        "training": settings.train_config(configuration, entry["seed"]).fingerprint(),
        "dataset": dataset,
        "entry": entry,
    })


def merge_trial_records(settings: CompareSettings, state: ComparisonState) -> list[str]:
    """Take into ``state`` the trial records of its runs it lacks (or whose checkpoint is gone) that were
    made under its settings and dataset and whose checkpoint exists; save it; return their keys."""
    merged = []
    for configuration in settings.configurations:
        for seed in settings.seeds:
            key = ComparisonState.run_key(configuration.name, seed)
            known = state.runs.get(key)
            if known is not None and settings.checkpoint_path(known).is_file():
                continue
            entry = _matching_record(settings, state, key, settings.train_config(configuration, seed).fingerprint())
            if entry is not None:
                state.runs[key] = entry
                state.ensembles.pop(str(seed), None)
                merged.append(key)
    if merged:
        logger.info("Taking %d run(s) finished by Ray trials from %s: %s", len(merged),
                    settings.out_dir / TRIALS_DIR, ", ".join(merged))
        state.save()
    return merged


def _matching_record(settings: CompareSettings, state: ComparisonState, key: str, training: dict) -> dict | None:
    path = trial_record_path(settings, key)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # none, or one being written: the trial is not finished
    if record.get("training") != training or record.get("dataset") != state.dataset:
        logger.info("%s was made with other settings or data: not reused", path)
        return None
    entry = record.get("entry")
    if not isinstance(entry, dict) or not settings.checkpoint_path(entry).is_file():
        return None
    return entry


def _discard_trial_records(settings: CompareSettings) -> None:
    for path in sorted((settings.out_dir / TRIALS_DIR).glob("*.json")):
        path.unlink(missing_ok=True)
