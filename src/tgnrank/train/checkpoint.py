"""Checkpoints in the format of docs/design.md: configuration, weights, memory and metrics in one dict.

A checkpoint is ``{"format", "format_version", "config", "model_state", "memory_state", "metrics"}``.
``config`` holds every setting of the run's ``TrainConfig`` by flat name (``TrainConfig.to_dict()``)
plus ``dataset``, ``n_nodes``, ``n_node_features``, ``n_edge_features`` and ``package_version``, which is
all that ``build_model_from_checkpoint`` needs to rebuild the model. Only plain Python values and
tensors are stored, so checkpoints load with ``torch.load(weights_only=True)``.

Storage: from version 3 the memory state is written compactly and exactly (only the rows in use, the
pending messages as indices into the memory and into their distinct rows, see
:mod:`tgnrank.train.checkpoint_state`); :func:`load_checkpoint` always returns the dense state, so
nothing else sees the difference, and version 1 and 2 checkpoints (dense) load as before.

Upgrades: a version-1 checkpoint (written before the settings were declared in sections) lacks the
settings added since; :func:`stored_config` fills them with the values version-1 training used (which
are not always today's defaults), so old checkpoints rebuild and diagnose as they were trained.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import torch

from tgnrank import __version__
from tgnrank.data.events import EventData, atomic_write
from tgnrank.errors import ConfigError, DataFormatError
from tgnrank.nested import map_nested
from tgnrank.train.checkpoint_state import decode_memory_state, encode_memory_state, message_blocks
from tgnrank.train.config import TrainConfig, upgrade_flat_config
from tgnrank.train.model_setup import build_training_model
from tgnrank.train.outputs import RunPaths

CHECKPOINT_FORMAT = "tgnrank-checkpoint"
# 2: every declared setting is stored (see upgrade_flat_config); 3: the memory state is stored compactly
FORMAT_VERSION = 3
COMPACT_SINCE = 3
REQUIRED_KEYS = ("config", "model_state", "memory_state", "metrics")


# How a run was started, not what it trained: a resumed run's checkpoint equals an uninterrupted one's.
NOT_STORED = ("resume",)


def checkpoint_config(config: TrainConfig, data: EventData) -> dict:
    """The ``config`` entry of a checkpoint: the run's flags (but :data:`NOT_STORED`) plus what the dataset fixed."""
    return {
        **{name: value for name, value in config.to_dict().items() if name not in NOT_STORED},
        "dataset": data.name,
        "n_nodes": int(data.n_nodes),
        "n_node_features": int(data.node_features.shape[1]),
        "n_edge_features": int(data.edge_features.shape[1]),
        "package_version": __version__,
    }


def stored_config(checkpoint: dict) -> TrainConfig:
    """The (upgraded) TrainConfig a checkpoint was trained with; DataFormatError if it is invalid."""
    entry = upgrade_flat_config(checkpoint["config"], checkpoint.get("format_version", 1))
    try:
        return TrainConfig.from_dict(entry)
    except ConfigError as error:
        raise DataFormatError(f"checkpoint configuration is invalid: {error}") from error


def make_checkpoint(config_entry: dict, model, metrics: dict) -> dict:
    """Assemble a checkpoint from ``model`` now: its weights and its state (the memory, a pairwise
    model's walks) on CPU; ``memory_state`` is None for a model without any (as before walks existed)."""
    state = model.memory_state_dict()
    return {
        "format": CHECKPOINT_FORMAT,
        "format_version": FORMAT_VERSION,
        "config": dict(config_entry),
        "model_state": _to_cpu(model.state_dict()),
        "memory_state": _to_cpu(state) if state else None,
        "metrics": metrics,
    }


def save_checkpoint(path: str | Path, checkpoint: dict) -> Path:
    """Write ``checkpoint`` to ``path`` atomically (a failed write leaves any old file intact); the memory
    state of a version-3 checkpoint is stored compactly."""
    path = Path(path)
    stored = compact_checkpoint(checkpoint)
    atomic_write(path, lambda handle: torch.save(stored, handle))
    return path


def compact_checkpoint(checkpoint: dict) -> dict:
    """``checkpoint`` as stored: from version 3 its dense memory state encoded (the rest shared, not copied)."""
    state = checkpoint.get("memory_state")
    if checkpoint.get("format_version", 1) < COMPACT_SINCE or not state or "pending_messages" not in state:
        return checkpoint
    blocks = message_blocks(checkpoint.get("config", {}), int(state["pending_messages"].shape[1]))
    return {**checkpoint, "memory_state": encode_memory_state(state, blocks)}


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """Read a checkpoint written by ``save_checkpoint``.

    Raises FileNotFoundError when ``path`` does not exist and DataFormatError when it is not a
    tgnrank checkpoint (unreadable, truncated, or a bare ``state_dict`` as the original TGN saves).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"checkpoint {path} not found; train one with `python train_self_supervised.py --data DATA "
            f"--prefix PREFIX`, which writes saved_models/PREFIX-DATA.pth"
        )
    if not path.is_file():
        raise DataFormatError(f"{path}: is not a file; expected a .pth checkpoint")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, zipfile.BadZipFile, OSError) as error:
        raise DataFormatError(f"{path}: cannot be read as a PyTorch checkpoint ({_first_line(error)})") from error
    _check_structure(path, checkpoint)
    try:
        checkpoint["memory_state"] = decode_memory_state(checkpoint["memory_state"])
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError) as error:
        raise DataFormatError(f"{path}: its memory state cannot be decoded ({_first_line(error)})") from error
    return checkpoint


def build_model_from_checkpoint(checkpoint: dict, data: EventData, neighbor_finder, device: torch.device):
    """Rebuild the trained model: ``(TGN in eval mode, TrainConfig)`` with weights and memory loaded.

    ``data`` must be the dataset the model was trained on (same node count and feature sizes);
    ``neighbor_finder`` is the one to score with (usually over the full history).
    """
    _check_dataset_matches(checkpoint["config"], data)
    config = stored_config(checkpoint)
    model = build_training_model(config, data, neighbor_finder, device)
    try:
        model.load_state_dict(checkpoint["model_state"])
        _load_state(model, checkpoint)
    except (RuntimeError, KeyError, ValueError) as error:
        raise DataFormatError(
            f"checkpoint weights do not fit the model its configuration describes ({_first_line(error)})"
        ) from error
    model.eval()
    return model, config


def restore_epoch(model, path: Path) -> None:
    """Load an epoch checkpoint's weights and state (memory, walks) into ``model``, on the model's device."""
    load_into(model, load_checkpoint(path, map_location=next(model.parameters()).device))


def load_into(model, checkpoint: dict) -> None:
    """A loaded checkpoint's weights and state (memory, walks) into ``model``."""
    model.load_state_dict(checkpoint["model_state"])
    _load_state(model, checkpoint)


def _load_state(model, checkpoint: dict) -> None:
    """The checkpoint's memory (and walk) state into ``model``, when it stored one."""
    if checkpoint.get("memory_state"):
        model.load_memory_state_dict(checkpoint["memory_state"])


def prune_epoch_checkpoints(paths: RunPaths, last_epoch: int, keep: set) -> None:
    """Delete the epoch checkpoints of this run other than ``keep`` (the best and the last epoch), each
    with its resume state: a checkpoint holds the whole memory, so fifty of them would fill a disk for nothing."""
    for epoch in range(last_epoch + 1):
        if epoch not in keep:
            paths.resume_state_path(epoch).unlink(missing_ok=True)
            paths.epoch_checkpoint_path(epoch).unlink(missing_ok=True)


def _check_structure(path: Path, checkpoint) -> None:
    if isinstance(checkpoint, dict) and checkpoint and all(isinstance(v, torch.Tensor) for v in checkpoint.values()):
        raise DataFormatError(
            f"{path}: holds only model weights (a bare state_dict, as the original TGN code saves); "
            f"tgnrank needs a checkpoint written by its own train_self_supervised.py, which also records "
            f"the configuration, memory and metrics"
        )
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != CHECKPOINT_FORMAT:
        raise DataFormatError(f"{path}: is not a tgnrank checkpoint (no '{CHECKPOINT_FORMAT}' format marker)")
    missing = [key for key in REQUIRED_KEYS if key not in checkpoint]
    if missing:
        raise DataFormatError(f"{path}: checkpoint is missing {', '.join(missing)}")
    if checkpoint.get("format_version", 0) > FORMAT_VERSION:
        raise DataFormatError(
            f"{path}: checkpoint format version {checkpoint['format_version']} is newer than this tgnrank "
            f"({__version__}) reads (version {FORMAT_VERSION}); upgrade tgnrank"
        )


def _check_dataset_matches(entry: dict, data: EventData) -> None:
    expected = {
        "n_node_features": data.node_features.shape[1],
        "n_edge_features": data.edge_features.shape[1],
        "n_nodes": data.n_nodes,
    }
    for key, actual in expected.items():
        if key in entry and int(entry[key]) != int(actual):
            raise DataFormatError(
                f"dataset '{data.name}' has {key} = {actual} but the checkpoint was trained with "
                f"{entry[key]} (dataset '{entry.get('dataset', '?')}'); use the dataset it was trained on"
            )


def _to_cpu(value):
    """A CPU copy of a nested state dict, its keys and containers kept."""
    return map_nested(value, _tensor_to_cpu, keep_containers=True)


def _tensor_to_cpu(value):
    return value.detach().cpu().clone() if isinstance(value, torch.Tensor) else value


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
