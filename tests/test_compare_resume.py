"""`tgnrank compare` rerun after a run was interrupted midway: the run continues after its last completed
epoch (``resume``) and ends as an uninterrupted comparison's; ``restart`` trains it from epoch 0."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from tgnrank.data import save_dataset
from tgnrank.data.synthetic import generate_synthetic
from tgnrank.eval.diagnostic import DiagnosticOptions
from tgnrank.experiments.compare import run_comparison
from tgnrank.experiments.presets import GUIDE_CONFIGURATIONS, CompareSettings
from tgnrank.train.config import TrainConfig
from tgnrank.train.records import TrainingCallbacks, TrainingInterrupted

TINY = dict(use_memory=True, n_epoch=3, bs=200, memory_dim=16, node_dim=16, time_dim=8, message_dim=16, n_degree=5)


class EpochLog(TrainingCallbacks):
    """Records the epochs trained per run prefix; raises KeyboardInterrupt at the end of ``stop_after``."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.stop_after = stop_after
        self.started: dict[str, list[int]] = {}
        self.resumed: dict[str, list[int]] = {}
        self.prefix = ""

    def on_run_start(self, run: int, config) -> None:
        self.prefix = config.run.prefix
        self.started[self.prefix] = []

    def on_run_resumed(self, history) -> None:
        self.resumed[self.prefix] = [record.epoch for record in history]

    def on_epoch_start(self, epoch: int, n_events: int) -> None:
        self.started[self.prefix].append(epoch)

    def on_epoch_end(self, record) -> None:
        if record.epoch == self.stop_after:
            raise KeyboardInterrupt


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    root = tmp_path_factory.mktemp("compare_resume")
    save_dataset(generate_synthetic(n_companies=200, n_investors=80, seed=1, name="small"), root / "data")
    return TrainConfig(data="small", data_dir=str(root / "data"), **TINY)


def _settings(base, out, **changes) -> CompareSettings:
    """Two of the guide's configurations, one seed, the popularity baseline only (to stay fast)."""
    return CompareSettings(base=base, out_dir=out, configurations=GUIDE_CONFIGURATIONS[:2],
                           options=DiagnosticOptions(baselines=("popularity",)), **changes)


def _interrupted(base, out) -> EpochLog:
    """A comparison interrupted at the end of the first configuration's epoch 1."""
    log = EpochLog(stop_after=1)
    with pytest.raises(TrainingInterrupted):
        run_comparison(_settings(base, out), torch.device("cpu"), callbacks=log)
    assert log.started == {"baseline": [0, 1]}
    return log


def _training_records(results) -> dict:
    return {run["prefix"]: run["training"] for c in results.to_dict()["configurations"] for run in c["runs"]}


def test_a_rerun_continues_the_interrupted_run_after_its_last_epoch(base, tmp_path):
    whole = run_comparison(_settings(base, tmp_path / "whole"), torch.device("cpu"))
    _interrupted(base, tmp_path / "out")
    log = EpochLog()
    results = run_comparison(_settings(base, tmp_path / "out"), torch.device("cpu"), callbacks=log)
    assert log.resumed == {"baseline": [0, 1]}
    assert log.started == {"baseline": [2], "focal": [0, 1, 2]}
    assert _training_records(results) == _training_records(whole)
    assert results.to_dict()["configurations"][0]["summary"] == whole.to_dict()["configurations"][0]["summary"]


def test_a_restarted_comparison_trains_the_interrupted_run_from_epoch_0(base, tmp_path):
    _interrupted(base, tmp_path / "out")
    log = EpochLog(stop_after=0)
    with pytest.raises(TrainingInterrupted):
        run_comparison(dataclasses.replace(_settings(base, tmp_path / "out"), restart=True), torch.device("cpu"),
                       callbacks=log)
    assert log.started == {"baseline": [0]} and log.resumed == {}
