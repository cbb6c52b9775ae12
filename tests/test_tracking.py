"""The --wandb callback, against a stand-in wandb module (the real package is optional and not installed)."""

import sys
import types

from tgnrank.train.config import TrainConfig
from tgnrank.train.records import EpochRecord
from tgnrank.train.tracking import WandbCallbacks


class FakeRun:
    def __init__(self):
        self.logged, self.summary, self.finished = [], {}, False

    def log(self, values, step):
        self.logged.append((step, values))

    def finish(self):
        self.finished = True


def test_wandb_logs_offline_by_default_with_the_negative_sampler_figures(monkeypatch):
    runs, init_kwargs = [], []

    def init(**kwargs):
        init_kwargs.append(kwargs)
        runs.append(FakeRun())
        return runs[-1]

    monkeypatch.setitem(sys.modules, "wandb", types.SimpleNamespace(init=init))
    monkeypatch.delenv("WANDB_MODE", raising=False)
    callbacks = WandbCallbacks("hardneg-synthetic")
    config = TrainConfig(use_hard_negatives=True)
    callbacks.on_run_start(0, config)
    record = EpochRecord(
        run=0, epoch=0, train_loss=0.5, val_ap=0.7, val_auc=0.6, new_node_val_ap=0.65, new_node_val_auc=0.55,
        epoch_time=1.0, total_epoch_time=1.5, events_per_second=100.0,
        sampler_stats={"share_hard": 0.49, "mean_similarity": 0.8}, hard_neg_ratio=0.5,
    )
    callbacks.on_epoch_end(record)
    assert init_kwargs[0]["mode"] == "offline"
    assert init_kwargs[0]["config"]["use_hard_negatives"] is True
    step, values = runs[0].logged[0]
    assert step == 0
    assert values["val_ap"] == 0.7
    assert values["negatives/share_hard"] == 0.49
    assert values["negatives/hard_neg_ratio"] == 0.5
    assert "negatives/similarity_refresh_seconds" not in values
