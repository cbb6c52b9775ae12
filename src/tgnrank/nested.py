"""One walk over nested dicts, lists and tuples, for the converters that make results storable.

Results and checkpoints are nested containers whose leaves may be numpy or torch values; JSON, pickles
loaded with ``weights_only`` and CPU-only machines each need those leaves in another form.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np


def map_nested(value: Any, leaf: Callable[[Any], Any], keep_containers: bool = False) -> Any:
    """A copy of ``value`` with ``leaf`` applied to everything that is not a dict, list or tuple.

    By default dict keys become ``str`` and tuples become lists (what JSON can hold); with
    ``keep_containers`` keys and container types are kept (e.g. a ``state_dict`` with integer keys).
    """
    if isinstance(value, dict):
        return {
            (key if keep_containers else str(key)): map_nested(item, leaf, keep_containers)
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        items = [map_nested(item, leaf, keep_containers) for item in value]
        return type(value)(items) if keep_containers else items
    return leaf(value)


def to_plain(value: Any) -> Any:
    """Numpy scalars and arrays to plain Python, so that results pickle anywhere and load with ``weights_only``."""
    return map_nested(value, _plain_leaf)


def to_json_safe(value: Any) -> Any:
    """Scalars with ``.item()`` (numpy, torch) to Python numbers and non-finite floats to ``None`` (JSON null)."""
    return map_nested(value, _json_leaf)


def _plain_leaf(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _json_leaf(value: Any) -> Any:
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
