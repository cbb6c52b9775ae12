"""Progress of the Python API's long calls: nothing by default, a callback, or tqdm bars.

Every long call takes ``progress``: None or False (silent, the default), True (one tqdm bar per stage,
``tqdm.auto`` so a notebook shows widgets where it can), or a callable ``progress(stage, done, total)``
called as work advances: ``stage`` names what runs (``"run 0 epoch 1"``, ``"ranking with ppr"``),
``done`` and ``total`` count its units (training events, candidate companies).
"""

from __future__ import annotations

from typing import Callable

from tgnrank.stage_bars import StageBars
from tgnrank.train.records import TrainingCallbacks

ProgressCallback = Callable[[str, int, int], None]


def progress_callback(progress) -> ProgressCallback | None:
    """The callback ``progress`` asks for: None (silent), a tqdm reporter for True, or the callable itself."""
    if progress is None or progress is False:
        return None
    if progress is True:
        return StageBars()
    if callable(progress):
        return progress
    raise TypeError(f"progress must be None, True or a callable (stage, done, total), got {type(progress).__name__}")


class TrainingProgress(TrainingCallbacks):
    """Training's hooks as ``callback("run R epoch E", events done, events in the epoch)``."""

    def __init__(self, callback: ProgressCallback) -> None:
        self.callback = callback
        self.run = 0
        self.stage = ""
        self.total = 0

    def on_run_start(self, run: int, config) -> None:
        self.run = run

    def on_epoch_start(self, epoch: int, n_events: int) -> None:
        self.stage, self.total = f"run {self.run} epoch {epoch}", n_events
        self.callback(self.stage, 0, n_events)

    def on_batch_end(self, epoch: int, n_events_done: int, loss: float) -> None:
        self.callback(self.stage, n_events_done, self.total)
