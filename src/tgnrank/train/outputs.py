"""Where a training run writes its files, and how: results as JSON and pickle, the log file.

Names follow the original TGN script, with ``{prefix}-{data}`` shortened to ``{data}`` when the
prefix is empty (TGN wrote ``-{data}.pth`` and ``results/.pkl``):

* ``saved_models/{prefix}-{data}.pth``: the final checkpoint of run 0; run k > 0 adds ``-run{k}``;
* ``saved_checkpoints/{prefix}-{data}-{epoch}.pth``: written after each epoch; only the best and the
  last completed epoch are kept (TGN kept all; each holds the whole memory), later runs overwrite them;
  beside each, ``{prefix}-{data}-{epoch}.resume.pt``, what ``resume`` continues the run from;
* ``results/{prefix}-{data}.json``: every run's metrics and the mean and std over runs;
* ``results/{prefix}.pkl`` (run 0) and ``results/{prefix}_{k}.pkl`` (run k), TGN's pickled metrics;
* ``logs/{prefix}-{data}-{timestamp}.log``: the run's log.

Every file is written atomically, so an interrupted write never damages an earlier file.
"""

from __future__ import annotations

import json
import logging
import pickle
import time
from dataclasses import dataclass
from pathlib import Path

from tgnrank.data.events import atomic_write
from tgnrank.nested import to_json_safe

RESUME_SUFFIX = ".resume.pt"


@dataclass(frozen=True)
class RunPaths:
    """File names of one training command, rooted at ``root`` (the working directory by default)."""

    prefix: str
    data: str
    root: Path = Path(".")

    @property
    def run_name(self) -> str:
        return f"{self.prefix}-{self.data}" if self.prefix else self.data

    def model_path(self, run: int = 0) -> Path:
        suffix = f"-run{run}" if run > 0 else ""
        return self.root / "saved_models" / f"{self.run_name}{suffix}.pth"

    def epoch_checkpoint_path(self, epoch: int) -> Path:
        return self.root / "saved_checkpoints" / f"{self.run_name}-{epoch}.pth"

    def resume_state_path(self, epoch: int) -> Path:
        """What continuing after ``epoch`` needs besides its checkpoint (:mod:`tgnrank.train.resume`)."""
        return self.root / "saved_checkpoints" / f"{self.run_name}-{epoch}{RESUME_SUFFIX}"

    def resume_state_epochs(self) -> list[int]:
        """The epochs that have a resume state on disk, latest first."""
        head = f"{self.run_name}-"
        epochs = []
        for path in (self.root / "saved_checkpoints").glob(f"{head}*{RESUME_SUFFIX}"):
            number = path.name[len(head):-len(RESUME_SUFFIX)]
            if number.isdigit():
                epochs.append(int(number))
        return sorted(epochs, reverse=True)

    def results_json_path(self) -> Path:
        return self.root / "results" / f"{self.run_name}.json"

    def results_pickle_path(self, run: int = 0) -> Path:
        stem = self.prefix or self.data
        return self.root / "results" / (f"{stem}_{run}.pkl" if run > 0 else f"{stem}.pkl")

    def log_path(self, timestamp: float | None = None) -> Path:
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(time.time() if timestamp is None else timestamp))
        return self.root / "logs" / f"{self.run_name}-{stamp}.log"


def write_json(path: Path, payload: dict) -> None:
    """Atomically write ``payload`` as indented JSON; NaN and infinities become ``null``."""
    text = json.dumps(to_json_safe(payload), indent=2, allow_nan=False)
    atomic_write(path, lambda handle: handle.write(text.encode("utf-8")))


def write_pickle(path: Path, payload: dict) -> None:
    atomic_write(path, lambda handle: pickle.dump(payload, handle))


def attach_log_file(path: Path, level: int = logging.INFO) -> logging.Handler:
    """Send the root logger's records to ``path`` as well; returns the handler so callers can remove it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level > level or root.level == logging.NOTSET:
        root.setLevel(level)
    return handler
