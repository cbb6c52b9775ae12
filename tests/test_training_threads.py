"""torch's CPU threads during a training run (``cpu_threads``): the automatic choice, one thread for the
training passes only on 2 cores, and the restoration."""

import torch

from tgnrank.data import save_dataset
from tgnrank.data.synthetic import generate_synthetic
from tgnrank.train.config import TrainConfig
from tgnrank.train.device import cpu_threads_for, training_pass_threads, training_threads
from tgnrank.train.outputs import RunPaths
from tgnrank.train.records import TrainingCallbacks
from tgnrank.train.runs import train_run
from tgnrank.train.training_data import load_training_data


def test_automatic_threads_are_one_on_two_cores_and_unchanged_on_more():
    assert training_threads(0, available_cores=1) == 1
    assert training_threads(0, available_cores=2) == 1
    assert training_threads(0, available_cores=16) == torch.get_num_threads()
    assert training_threads(3, available_cores=2) == 3


def test_a_cpu_run_sets_the_threads_and_restores_them():
    before = torch.get_num_threads()
    with cpu_threads_for(torch.device("cpu"), 3):
        assert torch.get_num_threads() == 3
    assert torch.get_num_threads() == before


def test_the_threads_are_restored_when_the_run_fails():
    before = torch.get_num_threads()
    try:
        with cpu_threads_for(torch.device("cpu"), 3):
            raise RuntimeError("diverged")
    except RuntimeError:
        pass
    assert torch.get_num_threads() == before


def test_an_automatic_run_keeps_torchs_threads_outside_the_training_passes():
    before = torch.get_num_threads()
    with cpu_threads_for(torch.device("cpu"), 0):
        assert torch.get_num_threads() == before
        with training_pass_threads(torch.device("cpu"), 0):
            assert torch.get_num_threads() == training_threads(0)
        assert torch.get_num_threads() == before


def test_a_gpu_run_leaves_the_threads_alone():
    before = torch.get_num_threads()
    with cpu_threads_for(torch.device("cuda", 0), 3), training_pass_threads(torch.device("cuda", 0), 3):
        assert torch.get_num_threads() == before


class ThreadLog(TrainingCallbacks):
    """torch's CPU threads at the start of each epoch's training pass and during its validation."""

    def __init__(self) -> None:
        self.threads: list[int] = []
        self.validation_threads: list[int] = []

    def on_epoch_start(self, epoch: int, n_events: int) -> None:
        self.threads.append(torch.get_num_threads())

    def watch_validation(self, monkeypatch) -> None:
        """Record the threads each time the epochs' AP validation runs."""
        import tgnrank.train.epochs as epochs

        validate = epochs.validate

        def recorded(*args, **kwargs):
            self.validation_threads.append(torch.get_num_threads())
            return validate(*args, **kwargs)

        monkeypatch.setattr(epochs, "validate", recorded)


def tiny_run(tmp_path, monkeypatch, cpu_threads: int) -> ThreadLog:
    save_dataset(generate_synthetic(n_companies=60, n_investors=20, seed=1, name="tiny"), tmp_path / "data")
    config = TrainConfig(data="tiny", data_dir=str(tmp_path / "data"), n_epoch=1, bs=200, memory_dim=8, node_dim=8,
                         time_dim=4, message_dim=8, n_degree=3, val_rank_companies=10, gpu=-1,
                         cpu_threads=cpu_threads)
    log = ThreadLog()
    log.watch_validation(monkeypatch)
    train_run(config, load_training_data(config), torch.device("cpu"), RunPaths("threads", "tiny", root=tmp_path),
              callbacks=log)
    return log


def test_a_training_run_trains_and_validates_with_the_chosen_threads(tmp_path, monkeypatch):
    before = torch.get_num_threads()
    log = tiny_run(tmp_path, monkeypatch, cpu_threads=3)
    assert log.threads == [3] and log.validation_threads == [3] and torch.get_num_threads() == before


def test_an_automatic_run_validates_with_torchs_threads(tmp_path, monkeypatch):
    monkeypatch.setattr("tgnrank.train.device.machine_cpus", lambda: 2)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        log = tiny_run(tmp_path, monkeypatch, cpu_threads=0)
        assert log.threads == [1] and log.validation_threads == [2]
    finally:
        torch.set_num_threads(before)
