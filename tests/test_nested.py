import json
import math

import numpy as np
import torch

from tgnrank.nested import map_nested, to_json_safe, to_plain


def test_map_nested_applies_the_leaf_everywhere_and_makes_json_containers():
    value = {1: (2, [3, {"x": 4}]), "y": 5}
    assert map_nested(value, lambda leaf: leaf * 10) == {"1": [20, [30, {"x": 40}]], "y": 50}


def test_map_nested_can_keep_keys_and_container_types():
    value = {1: (2, [3]), "state": {0: 4}}
    kept = map_nested(value, lambda leaf: -leaf, keep_containers=True)
    assert kept == {1: (-2, [-3]), "state": {0: -4}}
    assert isinstance(kept[1], tuple) and isinstance(kept[1][1], list)


def test_to_plain_turns_numpy_into_python_and_keeps_nan():
    plain = to_plain({"a": np.float32(0.5), "b": np.arange(3), "c": (np.int64(2), float("nan"))})
    assert plain["a"] == 0.5 and type(plain["a"]) is float
    assert plain["b"] == [0, 1, 2] and type(plain["b"][0]) is int
    assert plain["c"][0] == 2 and type(plain["c"][0]) is int and math.isnan(plain["c"][1])


def test_to_json_safe_writes_non_finite_numbers_as_null():
    safe = to_json_safe({"nan": float("nan"), "inf": np.float64(np.inf), "t": torch.tensor(1.5), "n": [np.int32(3)]})
    assert json.dumps(safe, allow_nan=False) == '{"nan": null, "inf": null, "t": 1.5, "n": [3]}'
