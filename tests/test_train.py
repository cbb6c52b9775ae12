"""Training pieces: early stopping, checkpoint files, device choice, output names; then the loop itself."""

import json
import logging
import pickle

import numpy as np
import pytest
import torch

from tgnrank.cli.spelling import as_flags
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
    with pytest.raises(ConfigError, match=r"^gpu must be in 0\.\.1"):
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


# --- the loop's semantics, with a stand-in model that records what the loop asks of it ---------------

from tgnrank.data import save_dataset  # noqa: E402
from tgnrank.data.synthetic import generate_synthetic  # noqa: E402
from tgnrank.train import epochs, runs  # noqa: E402
from tgnrank.train.evaluation import validate as validate_epoch  # noqa: E402
from tgnrank.train.records import TrainingInterrupted  # noqa: E402
from tgnrank.train.steps import TrainingDiverged  # noqa: E402
from tgnrank.train.training_data import load_training_data  # noqa: E402
from tgnrank.train.config import TrainConfig  # noqa: E402


class RecordingModel(torch.nn.Module):
    """Implements the TGN contract the loop relies on: logits from node embeddings, a per-node
    counter as "memory" (incremented for the sources of every scored batch), and a call log."""

    def __init__(self, n_nodes: int, nan_at_call: int | None = None, interrupt_at_call: int | None = None):
        super().__init__()
        self.embedding = torch.nn.Embedding(n_nodes + 1, 4)
        self.memory = torch.zeros(n_nodes + 1)
        self.calls: list = []
        self.n_scored_batches = 0
        self.nan_at_call = nan_at_call
        self.interrupt_at_call = interrupt_at_call
        self.neighbor_finder = None
        self.device = torch.device("cpu")

    def compute_edge_logits(self, sources, destinations, negatives, timestamps, edge_idxs, n_neighbors):
        self.n_scored_batches += 1
        if self.n_scored_batches == self.interrupt_at_call:
            raise KeyboardInterrupt
        self.calls.append(("score", self.training, len(sources)))
        source = self.embedding(torch.as_tensor(sources))
        positive = (source * self.embedding(torch.as_tensor(destinations))).sum(-1)
        negative = (source.unsqueeze(1) * self.embedding(torch.as_tensor(negatives).reshape(len(sources), -1))).sum(-1)
        self.memory.index_add_(0, torch.as_tensor(sources), torch.ones(len(sources)))
        if self.n_scored_batches == self.nan_at_call:
            positive = positive * float("nan")
        return positive, negative.squeeze(1) if negative.shape[1] == 1 else negative

    def reset_memory(self):
        self.calls.append("reset")
        self.memory.zero_()

    def detach_memory(self):
        self.calls.append("detach")

    def backup_memory(self):
        self.calls.append("backup")
        return self.memory.clone()

    def restore_memory(self, backup):
        self.calls.append("restore")
        self.memory = backup.clone()

    def memory_state_dict(self):
        return {"memory": self.memory.clone()}

    def load_memory_state_dict(self, state):
        self.memory = state["memory"].clone()

    def set_neighbor_finder(self, finder):
        self.calls.append(("finder", finder))
        self.neighbor_finder = finder


@pytest.fixture()
def small_data_dir(tmp_path):
    save_dataset(generate_synthetic(n_companies=300, n_investors=120, seed=0, name="toy"), tmp_path / "data")
    return tmp_path / "data"


def _run(tmp_path, data_dir, monkeypatch, model_kwargs=None, rankings=None, **config_kwargs):
    """Train RecordingModels; the per-epoch validation ranking returns the dicts of ``rankings`` in turn
    (None: no ranking, so early stopping watches the AP)."""
    models = []

    def build(config, data, neighbor_finder, device):
        models.append(RecordingModel(data.n_nodes, **(model_kwargs or {})))
        return models[-1]

    scripted_rankings = iter(rankings or [])
    monkeypatch.setattr(epochs, "build_training_model", build)
    monkeypatch.setattr(epochs, "rank_validation", lambda parts, config: next(scripted_rankings, None))
    config = TrainConfig(data="toy", data_dir=str(data_dir), use_memory=True, **{"n_epoch": 2, "lr": 0.01, **config_kwargs})
    paths = RunPaths("p", "toy", root=tmp_path)
    summary = runs.train_runs(config, torch.device("cpu"), paths)
    return summary, models, paths


def test_epoch_follows_tgn_memory_semantics(tmp_path, small_data_dir, monkeypatch):
    summary, (model,), _ = _run(tmp_path, small_data_dir, monkeypatch, n_epoch=1, bs=200, backprop_every=2)
    n_train = len(load_training_data(TrainConfig(data="toy", data_dir=str(small_data_dir))).split.train)
    n_batches = -(-n_train // 200)
    calls = [c if isinstance(c, str) else c[0] + ("-train" if c[0] == "score" and c[1] else "") for c in model.calls]
    # memory reset before the first training batch, one detach per optimiser step of two batches
    assert calls[:2] == ["finder", "reset"]
    training = calls[2: calls.index("finder", 2)]
    assert training.count("score-train") == n_batches
    assert training.count("detach") == -(-n_batches // 2)
    assert training[:3] == ["score-train", "score-train", "detach"]
    # validation: full finder, backup (train memory), old nodes, backup (val memory), restore train
    # memory, new nodes, restore val memory; then the test does the same around new-node test
    rest = calls[calls.index("finder", 2):]
    validation = rest[: rest.index("finder", 1)]
    assert validation[:2] == ["finder", "backup"]
    assert validation[-1] == "restore" and validation.count("backup") == 2 and validation.count("restore") == 2
    assert all(c != "score-train" for c in rest)
    record = summary.runs[0].history[0]
    assert 0.0 <= record.val_ap <= 1.0 and record.train_loss > 0 and record.events_per_second > 0


def test_validation_leaves_the_memory_of_the_old_node_validation(tmp_path, small_data_dir, monkeypatch):
    data = load_training_data(TrainConfig(data="toy", data_dir=str(small_data_dir)))
    config = TrainConfig(data="toy", use_memory=True)
    model = RecordingModel(data.data.n_nodes)
    validate_epoch(model, data, full_finder=None, config=config)
    expected = np.bincount(data.split.val.sources, minlength=data.data.n_nodes + 1)
    assert np.array_equal(model.memory.numpy(), expected)  # new-node validation left no trace


def test_nan_loss_stops_with_a_message_naming_epoch_batch_and_lr(tmp_path, small_data_dir, monkeypatch):
    with pytest.raises(TrainingDiverged, match=r"nan at epoch 0, batch 3 of \d+; try a lower lr \(currently 0.01\)") as raised:
        _run(tmp_path, small_data_dir, monkeypatch, model_kwargs={"nan_at_call": 3})
    assert raised.value.parameters == ("lr",)
    assert "try a lower --lr (currently 0.01)" in str(as_flags(raised.value))  # as the command line prints it


def test_ctrl_c_keeps_the_last_completed_epochs_checkpoint(tmp_path, small_data_dir, monkeypatch):
    n_train = len(load_training_data(TrainConfig(data="toy", data_dir=str(small_data_dir))).split.train)
    calls_per_epoch = -(-n_train // 200) + -(-len(load_training_data(
        TrainConfig(data="toy", data_dir=str(small_data_dir))).split.val) // 200)
    with pytest.raises(TrainingInterrupted) as stop:
        _run(tmp_path, small_data_dir, monkeypatch, model_kwargs={"interrupt_at_call": calls_per_epoch + 2}, n_epoch=3)
    assert stop.value.completed_epochs == 1
    assert stop.value.checkpoint_path == tmp_path / "saved_checkpoints" / "p-toy-0.pth"
    assert "p-toy-0.pth" in str(stop.value)
    checkpoint = load_checkpoint(stop.value.checkpoint_path)
    assert checkpoint["metrics"]["epochs_completed"] == 1
    assert not (tmp_path / "saved_models" / "p-toy.pth").exists()


def test_early_stopping_restores_the_best_epoch(tmp_path, small_data_dir, monkeypatch):
    scripted = iter([0.6, 0.8, 0.7, 0.65, 0.9])

    def validate(model, training_data, full_finder, config):
        return {"val_ap": next(scripted), "val_auc": 0.5, "new_node_val_ap": 0.5, "new_node_val_auc": 0.5}

    monkeypatch.setattr(epochs, "validate", validate)
    summary, (model,), paths = _run(tmp_path, small_data_dir, monkeypatch, n_epoch=5, patience=2)
    result = summary.runs[0]
    assert (result.best_epoch, result.stopped_early, len(result.history)) == (1, True, 4)
    best = load_checkpoint(paths.epoch_checkpoint_path(1))
    final = load_checkpoint(paths.model_path())
    assert torch.equal(final["model_state"]["embedding.weight"], best["model_state"]["embedding.weight"])
    last = load_checkpoint(paths.epoch_checkpoint_path(3))
    assert not torch.equal(final["model_state"]["embedding.weight"], last["model_state"]["embedding.weight"])
    assert final["metrics"]["best_epoch"] == 1 and final["metrics"]["val_aps"] == [0.6, 0.8, 0.7, 0.65]
    assert final["config"]["dataset"] == "toy" and final["config"]["n_node_features"] > 0
    # only the best and the last epoch's checkpoints are kept, each with its resume state
    assert sorted(path.name for path in (tmp_path / "saved_checkpoints").iterdir()) == [
        "p-toy-1.pth", "p-toy-1.resume.pt", "p-toy-3.pth", "p-toy-3.resume.pt"]


def test_keep_epoch_checkpoints_keeps_every_epoch(tmp_path, small_data_dir, monkeypatch):
    _run(tmp_path, small_data_dir, monkeypatch, n_epoch=3, keep_epoch_checkpoints=True)
    names = sorted(path.name for path in (tmp_path / "saved_checkpoints").iterdir())
    assert names == [name for epoch in range(3) for name in (f"p-toy-{epoch}.pth", f"p-toy-{epoch}.resume.pt")]


def test_outputs_of_a_run_and_n_runs_mean_and_std(tmp_path, small_data_dir, monkeypatch):
    summary, models, paths = _run(tmp_path, small_data_dir, monkeypatch, n_epoch=1, n_runs=2, seed=7)
    assert [run.seed for run in summary.runs] == [7, 8]
    assert paths.model_path(0).exists() and paths.model_path(1).exists()
    assert pickle.loads(paths.results_pickle_path(0).read_bytes())["test_ap"] == summary.runs[0].test_ap
    assert set(pickle.loads(paths.results_pickle_path(1).read_bytes())) >= {
        "val_aps", "new_nodes_val_aps", "test_ap", "new_node_test_ap", "epoch_times", "train_losses", "total_epoch_times"
    }
    results = json.loads(paths.results_json_path().read_text())
    aps = [run.test_ap for run in summary.runs]
    assert results["summary"]["test_ap_mean"] == pytest.approx(np.mean(aps))
    assert results["summary"]["test_ap_std"] == pytest.approx(np.std(aps))
    assert results["config"]["seed"] == 7 and len(results["runs"]) == 2


def test_same_seed_gives_the_same_losses(tmp_path, small_data_dir, monkeypatch):
    first, _, _ = _run(tmp_path / "a", small_data_dir, monkeypatch, seed=3)
    second, _, _ = _run(tmp_path / "b", small_data_dir, monkeypatch, seed=3)
    other, _, _ = _run(tmp_path / "c", small_data_dir, monkeypatch, seed=4)
    losses = lambda summary: [record.train_loss for record in summary.runs[0].history]  # noqa: E731
    assert losses(first) == losses(second)
    assert losses(first) != losses(other)


def test_randomized_features_are_reproduced_from_the_seed():
    from tgnrank.train.model_setup import model_node_features

    data = generate_synthetic(n_companies=30, n_investors=10, seed=0, name="tiny")
    assert model_node_features(data, TrainConfig()) is data.node_features
    noise = model_node_features(data, TrainConfig(randomize_features=True, seed=4))
    assert noise.shape == data.node_features.shape and not np.array_equal(noise, data.node_features)
    assert np.array_equal(noise, model_node_features(data, TrainConfig(randomize_features=True, seed=4)))


def test_checkpoint_for_another_dataset_is_refused_with_a_clear_message():
    from tgnrank.train.checkpoint import build_model_from_checkpoint, checkpoint_config

    data = generate_synthetic(n_companies=30, n_investors=10, seed=0, name="tiny")
    entry = {**checkpoint_config(TrainConfig(data="other"), data), "n_node_features": 5, "dataset": "other"}
    checkpoint = {**_checkpoint(1.0), "config": entry}
    with pytest.raises(DataFormatError, match="dataset 'tiny' has n_node_features = .* trained with 5 .*'other'"):
        build_model_from_checkpoint(checkpoint, data, neighbor_finder=None, device=torch.device("cpu"))
