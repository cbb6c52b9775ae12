"""``resume``: a run interrupted after an epoch continues from its epoch checkpoint and resume state as if
it had never stopped; with other settings, or nothing to continue from, it trains from epoch 0."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from tgnrank.data import save_dataset
from tgnrank.data.synthetic import generate_synthetic
from tgnrank.errors import DataFormatError
from tgnrank.train import runs
from tgnrank.train.checkpoint import load_checkpoint
from tgnrank.train.config import TrainConfig
from tgnrank.train.outputs import RunPaths
from tgnrank.train.records import TrainingCallbacks, TrainingInterrupted
from tgnrank.train.training_data import load_training_data

# Dropout, uniform neighbour sampling and hard negatives refreshed from the memory: every random stream
# and the state carried from one epoch to the next are exercised.
TINY = dict(use_memory=True, bs=100, memory_dim=16, node_dim=16, time_dim=8, message_dim=16, n_degree=5,
            n_epoch=3, lr=0.003, uniform=True, use_hard_negatives=True, hard_neg_similarity="memory",
            hard_neg_curriculum="linear", curriculum_epochs=2, val_rank_companies=40, seed=5)
COMPARED_FIELDS = ("epoch", "train_loss", "val_ap", "val_auc", "new_node_val_ap", "new_node_val_auc", "val_mrr",
                   "val_recall_at_1000", "val_median_rank_pct", "early_stop_score", "hard_neg_ratio", "sampler_stats")


class EpochLog(TrainingCallbacks):
    """Records the epochs trained; raises KeyboardInterrupt (Ctrl-C) at the end of ``stop_after``."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.stop_after = stop_after
        self.started: list[int] = []
        self.resumed: list[int] = []

    def on_epoch_start(self, epoch: int, n_events: int) -> None:
        self.started.append(epoch)

    def on_run_resumed(self, history) -> None:
        self.resumed = [record.epoch for record in history]

    def on_epoch_end(self, record) -> None:
        if record.epoch == self.stop_after:
            raise KeyboardInterrupt


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("resume")
    save_dataset(generate_synthetic(n_companies=200, n_investors=80, seed=1, name="small"), root / "data")
    return root / "data"


@pytest.fixture(scope="module")
def training_data(data_dir):
    return load_training_data(TrainConfig(data="small", data_dir=str(data_dir)))


def _train(training_data, root, callbacks, **settings):
    """One run of TINY (with ``settings``) into ``root``; (its result, its paths)."""
    config = TrainConfig(data="small", prefix="tiny", **{**TINY, **settings})
    paths = RunPaths("tiny", "small", root=root)
    return runs.train_runs(config, torch.device("cpu"), paths, callbacks, training_data).runs[0], paths


def _interrupted(training_data, root, **settings) -> None:
    with pytest.raises(TrainingInterrupted) as stopped:
        _train(training_data, root, EpochLog(stop_after=1), **settings)
    assert stopped.value.completed_epochs == 2


def _fields(history) -> list[dict]:
    return [{name: getattr(record, name) for name in COMPARED_FIELDS} for record in history]


@pytest.fixture(scope="module")
def uninterrupted(training_data, tmp_path_factory):
    """A whole run of TINY: (its result, its paths)."""
    log = EpochLog()
    result, paths = _train(training_data, tmp_path_factory.mktemp("whole"), log)
    assert log.started == [0, 1, 2]
    return result, paths


# Another model and other samplers: the pairwise link predictor (walks), degree negatives (their own
# stream and a per-time cache), multi-hop negatives, activity features, the most recent neighbours.
PAIRWISE = dict(link_predictor="pairwise", neg_sampling="degree", multihop_neg_ratio=0.3, use_hard_negatives=False,
                hard_neg_similarity="features", hard_neg_curriculum="none", uniform=False, activity_features=True)


@pytest.mark.parametrize("settings", [{}, PAIRWISE], ids=["hard-negatives-from-memory", "pairwise-degree-multihop"])
def test_a_resumed_run_gives_the_history_and_weights_of_an_uninterrupted_one(training_data, uninterrupted, settings,
                                                                             tmp_path, caplog):
    uninterrupted, _ = _train(training_data, tmp_path / "whole", EpochLog(), **settings) if settings else uninterrupted
    _interrupted(training_data, tmp_path, **settings)
    log = EpochLog()
    caplog.set_level(logging.INFO, logger="tgnrank.train.resume")
    resumed, _ = _train(training_data, tmp_path, log, resume=True, **settings)
    assert log.resumed == [0, 1] and log.started == [2]  # only the epoch the interruption left
    assert any("continuing run 0" in record.getMessage() for record in caplog.records)
    # Same operations in the same order from the same states on the CPU: equal to the last bit (NaN
    # statistics, such as the mean similarity without hard negatives, count as equal).
    np.testing.assert_equal(_fields(resumed.history), _fields(uninterrupted.history))
    assert (resumed.best_epoch, resumed.test_ap, resumed.new_node_test_ap) == (
        uninterrupted.best_epoch, uninterrupted.test_ap, uninterrupted.new_node_test_ap)
    final, whole = load_checkpoint(resumed.model_path), load_checkpoint(uninterrupted.model_path)
    assert final["model_state"].keys() == whole["model_state"].keys()
    for name, weights in whole["model_state"].items():
        assert torch.equal(final["model_state"][name], weights), name
    assert final["config"] == whole["config"] and "resume" not in final["config"]
    assert final["metrics"]["train_losses"] == whole["metrics"]["train_losses"]


def test_resume_with_other_settings_trains_from_epoch_0(training_data, tmp_path, caplog):
    _interrupted(training_data, tmp_path)
    log = EpochLog()
    caplog.set_level(logging.INFO, logger="tgnrank.train.resume")
    result, _ = _train(training_data, tmp_path, log, resume=True, lr=0.001)
    assert log.resumed == [] and log.started == [0, 1, 2]
    assert len(result.history) == 3
    assert any("written with other settings (lr: 0.003 -> 0.001)" in record.getMessage()
               for record in caplog.records)


def test_without_resume_or_files_a_run_trains_from_epoch_0(training_data, tmp_path, caplog):
    _interrupted(training_data, tmp_path)
    log = EpochLog(stop_after=0)
    with pytest.raises(TrainingInterrupted):
        _train(training_data, tmp_path, log)  # resume is off: the files are not read
    assert log.started == [0]
    caplog.set_level(logging.INFO, logger="tgnrank.train.resume")
    fresh = EpochLog(stop_after=0)
    with pytest.raises(TrainingInterrupted):
        _train(training_data, tmp_path / "empty", fresh, resume=True)
    assert fresh.started == [0]
    assert any("no epoch checkpoint with a resume state" in record.getMessage() for record in caplog.records)


def test_a_resume_state_is_written_beside_each_epoch_checkpoint_and_pruned_with_it(uninterrupted):
    result, paths = uninterrupted
    epochs = sorted({result.best_epoch, 2})
    kept = sorted(path.name for path in paths.epoch_checkpoint_path(0).parent.iterdir())
    assert kept == [name for epoch in epochs for name in (f"tiny-small-{epoch}.pth", f"tiny-small-{epoch}.resume.pt")]
    assert paths.resume_state_epochs() == sorted(epochs, reverse=True)
    state = torch.load(paths.resume_state_path(2), weights_only=True)
    assert state["epoch"] == 2 and state["run"] == 0 and len(state["history"]) == 3
    assert state["optimizer_state"]["state"] and state["early_stopping"]["best_epoch"] == result.best_epoch
    assert {"sampler._rng_uniform", "sampler._rng_hard", "train_finder.rng", "full_finder.rng"} <= set(
        state["generators"])
    assert set(state["random_streams"]) >= {"torch", "numpy", "python"}
    assert state["investor_memory"] is not None  # what the next epoch's memory similarity refresh reads


def test_a_run_whose_early_stopping_had_said_stop_is_finished_without_training(training_data, tmp_path):
    _interrupted(training_data, tmp_path)
    paths = RunPaths("tiny", "small", root=tmp_path)
    state = torch.load(paths.resume_state_path(1), weights_only=True)
    torch.save({**state, "stopped": True}, paths.resume_state_path(1))
    log = EpochLog()
    result, _ = _train(training_data, tmp_path, log, resume=True)
    assert (log.resumed, log.started) == ([0, 1], [])
    assert result.stopped_early and len(result.history) == 2
    assert result.best_epoch == state["early_stopping"]["best_epoch"]


def test_a_resume_state_of_another_run_of_the_command_is_not_continued(training_data, tmp_path, caplog):
    _interrupted(training_data, tmp_path)
    paths = RunPaths("tiny", "small", root=tmp_path)
    state = torch.load(paths.resume_state_path(1), weights_only=True)
    torch.save({**state, "run": 1}, paths.resume_state_path(1))
    earlier = paths.resume_state_path(0).is_file()  # kept when epoch 0 is the best
    log = EpochLog()
    caplog.set_level(logging.INFO, logger="tgnrank.train.resume")
    _train(training_data, tmp_path, log, resume=True)
    assert log.started == ([1, 2] if earlier else [0, 1, 2])
    assert any("epoch 1: written by run 1 of the command" in record.getMessage() for record in caplog.records) \
        or earlier


def test_a_resume_state_that_does_not_fit_the_run_is_an_error_naming_resume(training_data, tmp_path):
    _interrupted(training_data, tmp_path)
    paths = RunPaths("tiny", "small", root=tmp_path)
    state = torch.load(paths.resume_state_path(1), weights_only=True)
    torch.save({**state, "optimizer_state": {"state": {}, "param_groups": []}}, paths.resume_state_path(1))
    with pytest.raises(DataFormatError, match="do not fit this run") as refused:
        _train(training_data, tmp_path, EpochLog(), resume=True)
    assert refused.value.parameters == ("resume",)


def _flags(settings: dict) -> list[str]:
    flags = []
    for name, value in settings.items():
        flags += [f"--{name}"] if value is True else [f"--{name}", str(value)]
    return flags


def test_a_training_command_killed_midway_continues_from_its_last_epoch(training_data, data_dir, tmp_path):
    (tmp_path / "data").symlink_to(data_dir, target_is_directory=True)  # the command's default data_dir
    command = [sys.executable, "-m", "tgnrank.cli.main", "train", "--data", "small", "--prefix", "tiny", *_flags(TINY)]
    paths = RunPaths("tiny", "small", root=tmp_path)
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while not paths.resume_state_path(1).is_file() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(process.pid, signal.SIGKILL)  # during epoch 2 (an epoch takes about a second here)
    finally:
        process.wait()
    assert process.returncode == -signal.SIGKILL
    assert not paths.model_path().exists() and not paths.resume_state_path(2).exists()
    log = EpochLog()
    result, _ = _train(training_data, tmp_path, log, resume=True, data_dir="data")
    assert (log.resumed, log.started) == ([0, 1], [2])
    assert [record.epoch for record in result.history] == [0, 1, 2] and paths.model_path().is_file()
