"""Training pieces: early stopping, checkpoint files, device choice, output names; then the loop itself."""

import json
import logging
import pickle

import numpy as np
import pytest
import torch

from tgnrank.errors import ConfigError, DataFormatError
from tgnrank.train.checkpoint import CHECKPOINT_FORMAT, load_checkpoint, save_checkpoint
from tgnrank.train.device import select_device
from tgnrank.train.early_stopping import EarlyStopping
from tgnrank.train.outputs import RunPaths, write_json, write_pickle


# --- early stopping -------------------------------------------------------------------------------


def test_early_stopping_stops_after_patience_epochs_without_improvement():
    stopper = EarlyStopping(patience=2)
    assert [stopper.step(score) for score in (0.5, 0.7, 0.6, 0.7, 0.65)] == [False, False, False, True, True]
    assert stopper.best_epoch == 1 and stopper.best_score == 0.7


def test_early_stopping_counter_resets_on_improvement():
    stopper = EarlyStopping(patience=2)
    decisions = [stopper.step(score) for score in (0.5, 0.4, 0.6, 0.5, 0.55)]
    assert decisions == [False, False, False, False, True]
    assert stopper.best_epoch == 2


def test_early_stopping_ignores_ties_and_nan_and_supports_lower_is_better():
    stopper = EarlyStopping(patience=1)
    assert stopper.step(0.8) is False
    assert stopper.step(0.8) is True  # equal is not better
    nan_first = EarlyStopping(patience=3)
    nan_first.step(float("nan"))
    nan_first.step(0.2)
    assert nan_first.best_epoch == 1
    losses = EarlyStopping(patience=1, higher_is_better=False)
    losses.step(1.0)
    assert losses.step(0.5) is False and losses.best_epoch == 1
    assert losses.step(0.7) is True


def test_early_stopping_rejects_patience_below_one():
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(patience=0)


# --- checkpoint files -----------------------------------------------------------------------------


def _checkpoint(value: float) -> dict:
    return {
        "format": CHECKPOINT_FORMAT,
        "format_version": 1,
        "config": {"data": "toy", "use_memory": False},
        "model_state": {"weight": torch.full((2, 2), value)},
        "memory_state": None,
        "metrics": {"val_aps": [value]},
    }


def test_checkpoint_round_trip(tmp_path):
    path = save_checkpoint(tmp_path / "sub" / "model.pth", _checkpoint(1.5))
    loaded = load_checkpoint(path)
    assert loaded["config"] == {"data": "toy", "use_memory": False}
    assert torch.equal(loaded["model_state"]["weight"], torch.full((2, 2), 1.5))
    assert loaded["metrics"] == {"val_aps": [1.5]}


def test_failed_checkpoint_write_leaves_the_old_file_intact(tmp_path):
    path = save_checkpoint(tmp_path / "model.pth", _checkpoint(1.0))
    before = path.read_bytes()

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("cannot pickle this")

    broken = {**_checkpoint(2.0), "metrics": Unpicklable()}
    with pytest.raises(RuntimeError, match="cannot pickle"):
        save_checkpoint(path, broken)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.pth"]  # no temporary file left behind
    assert torch.equal(load_checkpoint(path)["model_state"]["weight"], torch.ones(2, 2))


def test_load_checkpoint_missing_file_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.pth"):
        load_checkpoint(tmp_path / "nothing.pth")


def test_load_checkpoint_rejects_files_that_are_not_checkpoints(tmp_path):
    text = tmp_path / "notes.pth"
    text.write_text("not a checkpoint")
    with pytest.raises(DataFormatError, match="cannot be read as a PyTorch checkpoint"):
        load_checkpoint(text)
    truncated = tmp_path / "truncated.pth"
    save_checkpoint(truncated, _checkpoint(1.0))
    truncated.write_bytes(truncated.read_bytes()[:100])
    with pytest.raises(DataFormatError, match="truncated.pth"):
        load_checkpoint(truncated)
    bare = tmp_path / "bare.pth"
    torch.save({"layer.weight": torch.zeros(2)}, bare)
    with pytest.raises(DataFormatError, match="bare state_dict"):
        load_checkpoint(bare)
    other = tmp_path / "other.pth"
    torch.save({"something": 1}, other)
    with pytest.raises(DataFormatError, match="not a tgnrank checkpoint"):
        load_checkpoint(other)
    incomplete = tmp_path / "incomplete.pth"
    torch.save({key: value for key, value in _checkpoint(1.0).items() if key != "metrics"}, incomplete)
    with pytest.raises(DataFormatError, match="missing metrics"):
        load_checkpoint(incomplete)
    with pytest.raises(DataFormatError, match="not a file"):
        load_checkpoint(tmp_path)


# --- device ---------------------------------------------------------------------------------------


def test_select_device_falls_back_to_cpu_with_a_log_line(monkeypatch, caplog):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with caplog.at_level(logging.INFO):
        assert select_device(0) == torch.device("cpu")
    assert "CUDA is not available" in caplog.text
    assert select_device(-1) == torch.device("cpu")


def test_select_device_uses_the_requested_gpu_and_rejects_missing_ones(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device: "fake GPU")
    assert select_device(1) == torch.device("cuda:1")
    with pytest.raises(ConfigError, match="--gpu must be in 0..1"):
        select_device(2)


# --- output files ---------------------------------------------------------------------------------


def test_run_paths_follow_tgn_names_and_handle_an_empty_prefix(tmp_path):
    paths = RunPaths("tgn-baseline", "crunchbase", root=tmp_path)
    assert paths.model_path() == tmp_path / "saved_models" / "tgn-baseline-crunchbase.pth"
    assert paths.model_path(2) == tmp_path / "saved_models" / "tgn-baseline-crunchbase-run2.pth"
    assert paths.epoch_checkpoint_path(3) == tmp_path / "saved_checkpoints" / "tgn-baseline-crunchbase-3.pth"
    assert paths.results_pickle_path() == tmp_path / "results" / "tgn-baseline.pkl"
    assert paths.results_pickle_path(1) == tmp_path / "results" / "tgn-baseline_1.pkl"
    assert paths.results_json_path() == tmp_path / "results" / "tgn-baseline-crunchbase.json"
    assert paths.log_path(0).parent == tmp_path / "logs"
    assert paths.log_path(0).name.startswith("tgn-baseline-crunchbase-")
    unnamed = RunPaths("", "synthetic", root=tmp_path)
    assert unnamed.model_path().name == "synthetic.pth"
    assert unnamed.results_pickle_path().name == "synthetic.pkl"
    assert unnamed.epoch_checkpoint_path(0).name == "synthetic-0.pth"


def test_results_writers_produce_valid_json_and_pickles(tmp_path):
    write_json(tmp_path / "r.json", {"ap": float("nan"), "values": [np.float32(0.5), 1], "n": np.int64(3)})
    assert json.loads((tmp_path / "r.json").read_text()) == {"ap": None, "values": [0.5, 1], "n": 3}
    write_pickle(tmp_path / "r.pkl", {"val_aps": [0.1]})
    assert pickle.loads((tmp_path / "r.pkl").read_bytes()) == {"val_aps": [0.1]}
