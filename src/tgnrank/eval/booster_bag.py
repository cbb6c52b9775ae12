"""Several LightGBM boosters averaged into one booster, so that a bagged fusion saves and loads as one text model.

A LightGBM model predicts the sum of its trees' outputs. Scaling every tree's leaf values (and the
internal node values that ``pred_contrib`` reads) by 1 / B and concatenating the trees of B boosters gives
one model whose prediction, and whose per-feature contributions, are the mean of theirs. The boosters
must read the same features in the same order (the fusion's bags do: same feature matrix, other seeds).
"""

from __future__ import annotations

import re

SCALED_KEYS = ("leaf_value", "internal_value")
_TREE_START = re.compile(r"\n(?=Tree=\d+\n)")


def average_boosters(boosters: list):
    """One ``lightgbm.Booster`` predicting the mean of ``boosters``' predictions (the booster itself if one)."""
    import lightgbm

    if len(boosters) == 1:
        return boosters[0]
    texts = [booster.model_to_string() for booster in boosters]
    names = {tuple(booster.feature_name()) for booster in boosters}
    if len(names) != 1:
        raise ValueError(f"boosters read different features: {sorted(names)}")
    header = texts[0].partition("\nTree=0\n")[0]
    # The tree sizes index the first booster's trees only; without them LightGBM parses the trees in order.
    header = "\n".join(line for line in header.split("\n") if not line.startswith("tree_sizes="))
    tail = texts[0].partition("end of trees")[2]
    trees = [tree for text in texts for tree in _trees(text)]
    scale = 1.0 / len(boosters)
    blocks = [_scaled_tree(tree, number, scale) for number, tree in enumerate(trees)]
    return lightgbm.Booster(model_str=header + "\n\n" + "\n\n\n".join(blocks) + "\n\n\nend of trees" + tail)


def _trees(text: str) -> list[str]:
    body = "Tree=0\n" + text.partition("\nTree=0\n")[2].partition("end of trees")[0]
    return _TREE_START.split(body.strip())


def _scaled_tree(tree: str, number: int, scale: float) -> str:
    lines = tree.split("\n")
    lines[0] = f"Tree={number}"
    for k, line in enumerate(lines):
        key, _, values = line.partition("=")
        if key in SCALED_KEYS:
            lines[k] = f"{key}=" + " ".join(repr(float(value) * scale) for value in values.split())
    return "\n".join(lines)
