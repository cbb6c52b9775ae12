"""Continuing a run from its last completed epoch (``resume``), as if it had never stopped.

Beside each epoch checkpoint (whose files and format stay as they are), ``{prefix}-{data}-{epoch}.resume.pt``
holds what the checkpoint lacks to go on: Adam's state, the epoch records so far, the early stopping's
state (and whether it had said stop), the random streams (torch, numpy's global one, Python's
``random``, and every generator the negative sampler and the neighbour finders hold), the investors'
memory a ``hard_neg_similarity memory`` refresh reads at the next epoch, and the run's ``config`` entry.
The node memory needs nothing: every epoch starts by resetting it (:func:`tgnrank.train.steps.train_epoch`),
and the model's weights come from the epoch checkpoint.

A run continues from the latest epoch whose resume state and checkpoint exist and were written with
the same settings (the checkpoint ``config`` entry, which leaves ``resume`` out) by the same run of the
command; otherwise it trains from epoch 0 and says why. The resume state is written after its
checkpoint and removed before the checkpoint is rewritten, so it never describes another checkpoint.
"""

from __future__ import annotations

import dataclasses
import logging
import pickle
import random
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from tgnrank.config.params import setting_changes
from tgnrank.data.events import atomic_write
from tgnrank.errors import DataFormatError
from tgnrank.nested import map_nested
from tgnrank.train.checkpoint import load_checkpoint, load_into
from tgnrank.train.early_stopping import EarlyStopping
from tgnrank.train.outputs import RunPaths
from tgnrank.train.records import EpochRecord

logger = logging.getLogger(__name__)

RESUME_FORMAT = "tgnrank-resume-state"
RESUME_VERSION = 1
STOPPER_FIELDS = ("best_epoch", "best_score", "epochs_without_improvement", "n_epochs")
_GENERATOR_TYPES = (np.random.Generator, np.random.RandomState, torch.Generator)


@dataclass
class ResumePoint:
    """Where a resumed run continues: its completed epochs and what the next epoch reads."""

    history: list[EpochRecord]
    stopper: EarlyStopping
    stopped: bool
    investor_memory: np.ndarray | None
    checkpoint: Path


def save_resume_state(path: Path, parts, history: list[EpochRecord], stopper: EarlyStopping, stopped: bool,
                      investor_memory: np.ndarray | None, run: int) -> None:
    """Write, atomically, what continuing after ``history[-1]`` needs (``parts`` is the run's ``RunParts``)."""
    state = {
        "format": RESUME_FORMAT,
        "format_version": RESUME_VERSION,
        "config": dict(parts.config_entry),
        "run": run,
        "epoch": history[-1].epoch,
        "optimizer_state": _to_cpu(parts.optimizer.state_dict()),
        "history": [dataclasses.asdict(record) for record in history],
        "early_stopping": {name: getattr(stopper, name) for name in STOPPER_FIELDS},
        "stopped": bool(stopped),
        "investor_memory": None if investor_memory is None else torch.from_numpy(np.array(investor_memory)),
        "random_streams": global_random_streams(),
        "generators": {name: _generator_state(generator) for name, generator in held_generators(parts).items()},
    }
    atomic_write(path, lambda handle: torch.save(state, handle))


def resume_point(parts, paths: RunPaths, patience: int, run: int) -> ResumePoint | None:
    """Restore the run's latest matching epoch into ``parts`` (weights, optimiser, random streams) and
    return where it continues; None (with a log line saying why) when there is nothing to continue from."""
    epochs = paths.resume_state_epochs()
    if not epochs:
        logger.info("resume: run %d has no epoch checkpoint with a resume state in %s; training from epoch 0",
                    run, paths.resume_state_path(0).parent)
        return None
    reasons = []
    for epoch in epochs:
        state, reason = _matching_state(parts, paths, epoch, run)
        if state is not None:
            return _restore(parts, paths, state, patience)
        reasons.append(f"epoch {epoch}: {reason}")
    logger.warning("resume: no epoch checkpoint of run %d can be continued (%s); training from epoch 0", run,
                   "; ".join(reasons))
    return None


def _matching_state(parts, paths: RunPaths, epoch: int, run: int) -> tuple[dict | None, str]:
    """The resume state of ``epoch`` when this run can continue from it, else (None, why not)."""
    state, reason = _run_state(parts, paths, epoch, run)
    if state is None:
        return None, reason
    best = state["early_stopping"]["best_epoch"]
    for needed in sorted({epoch, best} - {None}):
        if not paths.epoch_checkpoint_path(needed).is_file():
            return None, f"its checkpoint {paths.epoch_checkpoint_path(needed).name} is missing"
    if best is not None and best != epoch:  # the end of the run restores it: it must be this run's too
        best_state, reason = _run_state(parts, paths, best, run)
        if best_state is None:
            return None, f"its best epoch {best}: {reason}"
    return state, ""


def _run_state(parts, paths: RunPaths, epoch: int, run: int) -> tuple[dict | None, str]:
    """The resume state of ``epoch`` when this run with these settings wrote it, else (None, why not)."""
    path = paths.resume_state_path(epoch)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, pickle.UnpicklingError, RuntimeError, EOFError, ValueError, zipfile.BadZipFile) as error:
        return None, f"{path.name} cannot be read ({type(error).__name__})"
    if not isinstance(state, dict) or state.get("format") != RESUME_FORMAT:
        return None, f"{path.name} is not a tgnrank resume state"
    if state.get("format_version", 0) > RESUME_VERSION:
        return None, f"{path.name} has a newer format ({state.get('format_version')}) than this tgnrank reads"
    differences = [f"{name}: {was!r} -> {now!r}"
                   for name, was, now in setting_changes(state.get("config", {}), parts.config_entry)]
    if differences:
        return None, "written with other settings (" + ", ".join(differences) + ")"
    if state.get("run") != run or state.get("epoch") != epoch:
        return None, f"written by run {state.get('run')} of the command, for epoch {state.get('epoch')}"
    return state, ""


def _restore(parts, paths: RunPaths, state: dict, patience: int) -> ResumePoint | None:
    """Load ``state`` and its epoch checkpoint into ``parts``; None (logged) when the checkpoint cannot be
    read. Nothing is changed before both are read, so a run that falls back to epoch 0 starts afresh."""
    epoch = state["epoch"]
    path = paths.epoch_checkpoint_path(epoch)
    generators = held_generators(parts)
    if set(generators) != set(state["generators"]):
        logger.warning("resume: the samplers' random generators (%s) differ from the stored ones (%s); training "
                       "from epoch 0", ", ".join(sorted(generators)), ", ".join(sorted(state["generators"])))
        return None
    try:
        checkpoint = load_checkpoint(path, map_location=next(parts.model.parameters()).device)
    except (FileNotFoundError, DataFormatError) as error:
        logger.warning("resume: %s cannot be loaded (%s); training from epoch 0", path, error)
        return None
    try:
        load_into(parts.model, checkpoint)
        parts.optimizer.load_state_dict(state["optimizer_state"])
        set_global_random_streams(state["random_streams"])
        for name, generator in generators.items():
            _set_generator_state(generator, state["generators"][name])
    except (RuntimeError, KeyError, ValueError, TypeError) as error:
        raise DataFormatError(f"{str(path)!r} and its resume state do not fit this run ({error}); delete them "
                              "or train without resume", parameters=("resume",)) from error
    stopper = EarlyStopping(patience)
    for name in STOPPER_FIELDS:
        setattr(stopper, name, state["early_stopping"][name])
    memory = state["investor_memory"]
    history = [EpochRecord(**record) for record in state["history"]]
    logger.info("resume: continuing run %d from %s after %d completed epoch(s)", state["run"], path, len(history))
    return ResumePoint(history=history, stopper=stopper, stopped=bool(state["stopped"]),
                       investor_memory=None if memory is None else memory.numpy(), checkpoint=path)


def global_random_streams() -> dict:
    """torch's (and CUDA's, when in use), numpy's global and Python's random states, as plain values."""
    streams = {
        "torch": torch.get_rng_state(),
        "numpy": _stored_random_state(np.random.get_state()),
        "python": random.getstate(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        streams["cuda"] = torch.cuda.get_rng_state_all()
    return streams


def set_global_random_streams(streams: dict) -> None:
    torch.set_rng_state(streams["torch"])
    np.random.set_state(_loaded_random_state(streams["numpy"]))
    random.setstate(streams["python"])
    if "cuda" in streams and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(streams["cuda"])


def held_generators(parts) -> dict:
    """Every random generator the run's sampler and neighbour finders hold, by attribute path
    (``sampler._rng_hard``, ``sampler.base._rng``...)."""
    found: dict = {}
    seen: set[int] = set()
    for name in ("sampler", "train_finder", "full_finder"):
        _collect_generators(getattr(parts, name), name, found, seen)
    return found


def _collect_generators(value, path: str, found: dict, seen: set[int]) -> None:
    if id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, _GENERATOR_TYPES):
        found[path] = value
        return
    if not type(value).__module__.startswith("tgnrank") or not hasattr(value, "__dict__"):
        return
    for name, attribute in vars(value).items():
        _collect_generators(attribute, f"{path}.{name}", found, seen)


def _generator_state(generator):
    if isinstance(generator, np.random.Generator):
        return generator.bit_generator.state
    if isinstance(generator, np.random.RandomState):
        return _stored_random_state(generator.get_state())
    return generator.get_state()


def _set_generator_state(generator, state) -> None:
    if isinstance(generator, np.random.Generator):
        generator.bit_generator.state = state
    elif isinstance(generator, np.random.RandomState):
        generator.set_state(_loaded_random_state(state))
    else:
        generator.set_state(state)


def _stored_random_state(state: tuple) -> tuple:
    """A legacy numpy state with its key array as an int64 tensor, which ``weights_only`` loading accepts."""
    kind, keys, position, has_gauss, cached = state
    return kind, torch.from_numpy(keys.astype(np.int64)), position, has_gauss, cached


def _loaded_random_state(stored: tuple) -> tuple:
    kind, keys, position, has_gauss, cached = stored
    return kind, keys.numpy().astype(np.uint32), position, has_gauss, cached


def _to_cpu(value):
    return map_nested(value, lambda item: item.detach().cpu().clone() if isinstance(item, torch.Tensor) else item,
                      keep_containers=True)
