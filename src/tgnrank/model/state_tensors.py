"""Loading a module's checkpointed state tensors back, shared by the node memory and the walk state."""

from __future__ import annotations


def load_checked_state(owner, state: dict, keys: tuple[str, ...], what: str, size_setting: str) -> None:
    """Set each of ``keys`` on ``owner`` from ``state`` (moved to the current tensor's device and dtype).

    Every key must be present with the current tensor's shape; the error names ``what`` ("memory
    state") and the setting that sizes it (``size_setting``), the likely cause of a mismatch.
    """
    missing = [key for key in keys if key not in state]
    if missing:
        raise ValueError(f"{what} lacks {missing}; expected keys {list(keys)}")
    for key in keys:
        current, loaded = getattr(owner, key), state[key]
        if tuple(loaded.shape) != tuple(current.shape):
            raise ValueError(
                f"{what} '{key}' has shape {tuple(loaded.shape)} but this model expects "
                f"{tuple(current.shape)} (different number of nodes or {size_setting}?)"
            )
        setattr(owner, key, loaded.to(device=current.device, dtype=current.dtype).clone())
