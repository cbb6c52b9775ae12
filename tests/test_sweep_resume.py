"""`tgnrank sweep` rerun after a trial was interrupted midway: its retry continues the trial's files after
the last completed epoch (``resume``) and reports what an uninterrupted trial reports."""

from __future__ import annotations

import pytest

pytest.importorskip("optuna")

import torch  # noqa: E402

from tgnrank.data import save_dataset  # noqa: E402
from tgnrank.data.synthetic import generate_synthetic  # noqa: E402
from tgnrank.eval.diagnostic import DiagnosticOptions  # noqa: E402
from tgnrank.experiments.search_space import load_space  # noqa: E402
from tgnrank.experiments.sweep import SweepSettings, run_sweep  # noqa: E402
from tgnrank.train import runs  # noqa: E402
from tgnrank.train.config import TrainConfig  # noqa: E402
from tgnrank.train.records import TrainingCallbacks, TrainingInterrupted  # noqa: E402

TINY = dict(n_epoch=3, bs=200, memory_dim=16, node_dim=16, time_dim=8, message_dim=16, n_degree=5)
REAL_TRAIN_RUNS = runs.train_runs
SPACE = '[lr]\nlow = 1e-4\nhigh = 1e-2\nlog = true\n\n[loss]\nchoices = ["bce", "softmax"]\n'


class Spy(TrainingCallbacks):
    """Passes every hook on to the sweep's reporter, records the epochs trained and resumed, and raises
    KeyboardInterrupt (Ctrl-C) at the end of epoch ``stop_after``."""

    def __init__(self, reporter, stop_after: int | None) -> None:
        self.reporter, self.stop_after = reporter, stop_after
        self.started: list[int] = []
        self.resumed: list[int] = []

    def on_run_resumed(self, history) -> None:
        self.resumed = [record.epoch for record in history]
        self.reporter.on_run_resumed(history)

    def on_epoch_start(self, epoch: int, n_events: int) -> None:
        self.started.append(epoch)

    def on_epoch_end(self, record) -> None:
        self.reporter.on_epoch_end(record)
        if record.epoch == self.stop_after:
            raise KeyboardInterrupt


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep_resume")
    save_dataset(generate_synthetic(n_companies=200, n_investors=80, seed=1, name="small"), root / "data")
    (root / "space.toml").write_text(SPACE)
    return root


def _settings(dataset, storage) -> SweepSettings:
    base = TrainConfig(data="small", data_dir=str(dataset / "data"), use_memory=True, **TINY)
    return SweepSettings(base=base, space=load_space(dataset / "space.toml"), n_trials=1, storage=storage,
                         pruner="none", options=DiagnosticOptions(baselines=("popularity",)))


def _spied(monkeypatch, stop_after: int | None = None) -> list[Spy]:
    """Train the sweep's trials through a :class:`Spy` each; the spies, in the order the trials ran."""
    spies = []

    def spied(config, device, paths, reporter, training_data):
        spies.append(Spy(reporter, stop_after))
        return REAL_TRAIN_RUNS(config, device, paths, spies[-1], training_data)

    monkeypatch.setattr(runs, "train_runs", spied)
    return spies


def test_the_retry_of_an_interrupted_trial_continues_after_its_last_epoch(dataset, tmp_path, monkeypatch):
    whole = run_sweep(_settings(dataset, tmp_path / "whole"), torch.device("cpu"))["trials"][0]
    assert whole["state"] == "complete" and len(whole["values"]) == 3
    interrupting = _spied(monkeypatch, stop_after=1)
    with pytest.raises(TrainingInterrupted):
        run_sweep(_settings(dataset, tmp_path / "sweep"), torch.device("cpu"))
    assert [spy.started for spy in interrupting] == [[0, 1]]
    spies = _spied(monkeypatch)
    trials = run_sweep(_settings(dataset, tmp_path / "sweep"), torch.device("cpu"))["trials"]
    assert [(spy.resumed, spy.started) for spy in spies] == [([0, 1], [2])]
    assert [trial["state"] for trial in trials] == ["interrupted", "complete"]
    retry = trials[1]
    assert (retry["retry_of"], retry["files_of"], retry["params"]) == (0, 0, whole["params"])
    assert retry["checkpoint"] == "saved_models/trial000-small.pth" and "--resume" not in retry["command"]
    assert (retry["values"], retry["value"], retry["best_epoch"]) == (whole["values"], whole["value"],
                                                                       whole["best_epoch"])
    assert retry["command"] == whole["command"]
