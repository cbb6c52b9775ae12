"""The compact memory state of version-3 checkpoints: exact round trips, smaller files, same scores,
and older (dense) checkpoints still loading."""

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from tgnrank.data import save_dataset
from tgnrank.data.synthetic import generate_synthetic
from tgnrank.errors import DataFormatError
from tgnrank.eval.protocol import build_window
from tgnrank.eval.scoring import scorer_for_model
from tgnrank.train import checkpoint_state, runs
from tgnrank.train.checkpoint import (
    FORMAT_VERSION,
    build_model_from_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from tgnrank.train.checkpoint_state import (
    MEMORY_KEYS,
    decode_memory_state,
    encode_memory_state,
    encode_rows,
    message_blocks,
)
from tgnrank.train.config import TrainConfig
from tgnrank.train.model_setup import build_neighbor_finder
from tgnrank.train.outputs import RunPaths
from tgnrank.train.training_data import load_training_data

FIXTURE = Path(__file__).parent / "fixtures" / "checkpoint_v1"
NAN = float("nan")
LAYOUT = {"memory_dim": 2, "n_edge_features": 1, "time_dim": 1}


def _hand_built_state() -> dict:
    """Five node rows, memory_dim 2, messages [own memory | partner memory | edge | time] (6 columns)."""
    return {
        "memory": torch.tensor([[0.0, 0.0], [1.0, 2.0], [-0.0, 0.0], [3.0, NAN], [0.0, 0.0]]),
        "last_update": torch.tensor([0.0, 1.5, 2.0, 3.0, 0.0], dtype=torch.float64),
        "pending_messages": torch.tensor([
            [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            [1.0, 2.0, 3.0, NAN, 7.0, 9.0],  # partner: row 3's memory
            [-0.0, 0.0, 5.0, 6.0, 7.0, 9.0],  # partner memory found nowhere; same edge and time as row 1
            [3.0, NAN, 1.0, 2.0, 8.0, 9.0],  # a cleared message: kept, so the dense tensor comes back whole
            [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],  # a pending all-zero message (a first interaction)
        ]),
        "pending_times": torch.tensor([0.0, 1.5, 2.0, 3.0, 4.0], dtype=torch.float64),
        "has_pending": torch.tensor([False, True, True, False, True]),
        "walks.walks": torch.arange(6.0).reshape(3, 2),
    }


def _bitwise_equal(a: torch.Tensor, b: torch.Tensor) -> bool:
    if a.dtype == torch.bool:
        return a.dtype == b.dtype and torch.equal(a, b)
    return a.dtype == b.dtype and a.shape == b.shape and torch.equal(a.view(torch.uint8), b.view(torch.uint8))


def _assert_same_state(decoded: dict, original: dict) -> None:
    assert set(decoded) == set(original)
    for key in original:
        assert _bitwise_equal(decoded[key], original[key]), key


def test_a_hand_built_state_is_stored_as_indices_and_comes_back_bit_for_bit():
    state = _hand_built_state()
    encoded = encode_memory_state(state, message_blocks(LAYOUT, 6))
    assert encoded["memory_rows"].tolist() == [1, 2, 3]  # -0.0 is a non-zero bit pattern
    assert encoded["pending_rows"].tolist() == [1, 2, 3, 4]
    own, partner, edge, time = encoded["pending_blocks"]
    assert own["index"].tolist() == [1, 2, 3, 0] and own["distinct"].shape == (0, 2)
    assert partner["index"].tolist() == [3, 5, 1, 0] and partner["distinct"].tolist() == [[5.0, 6.0]]
    assert edge["index"].tolist() == [0, 0, 1, 2] and edge["distinct"].tolist() == [[7.0], [8.0], [0.0]]
    assert time["index"].tolist() == [0, 0, 0, 1] and time["distinct"].tolist() == [[9.0], [0.0]]
    assert encoded["walks.walks"] is state["walks.walks"]
    _assert_same_state(decode_memory_state(encoded), state)


def test_a_layout_that_does_not_add_up_is_one_block_and_still_exact():
    state = _hand_built_state()
    blocks = message_blocks({**LAYOUT, "time_dim": 5}, 6)
    assert blocks == [(6, False)]
    _assert_same_state(decode_memory_state(encode_memory_state(state, blocks)), state)
    assert message_blocks({}, 6) == [(6, False)] and message_blocks(LAYOUT, 0) == []


def test_rows_whose_hashes_collide_are_still_told_apart(monkeypatch):
    monkeypatch.setattr(checkpoint_state, "_hash_coefficients", lambda n: torch.zeros(n, dtype=torch.int64))
    reference = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    rows = torch.tensor([[3.0, 4.0], [5.0, 6.0], [5.0, 6.0], [1.0, 2.5]])
    distinct, index = encode_rows(rows, reference)
    assert index.tolist() == [1, 2, 2, 3] and distinct.tolist() == [[5.0, 6.0], [1.0, 2.5]]
    assert torch.equal(torch.cat([reference, distinct])[index.long()], rows)


def test_a_state_without_messages_or_memory_passes_through():
    no_messages = {key: value[:, :0] if key == "pending_messages" else value
                   for key, value in _hand_built_state().items()}
    encoded = encode_memory_state(no_messages, message_blocks(LAYOUT, 0))
    assert encoded["pending_blocks"] == []
    _assert_same_state(decode_memory_state(encoded), no_messages)
    walks_only = {"walks.walks": torch.ones(2, 2)}
    assert encode_memory_state(walks_only, []) is walks_only and encode_memory_state(None, []) is None


# ---- trained checkpoints ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("compaction")
    save_dataset(generate_synthetic(n_companies=150, n_investors=60, seed=5, name="compact"), root / "data")
    config = TrainConfig(data="compact", data_dir=str(root / "data"), use_memory=True, n_epoch=1, bs=100,
                         memory_dim=8, node_dim=8, time_dim=4, message_dim=8, n_degree=3, n_head=2, prefix="c")
    summary = runs.train_runs(config, torch.device("cpu"), RunPaths("c", "compact", root=root))
    return root, summary.runs[0].model_path, config


def test_a_trained_checkpoint_is_stored_compactly_and_loads_to_the_dense_state(trained):
    root, path, _ = trained
    stored = torch.load(path, weights_only=True)
    assert stored["format_version"] == FORMAT_VERSION == 3
    assert stored["memory_state"]["encoding"] == checkpoint_state.ENCODING
    loaded = load_checkpoint(path)
    state = loaded["memory_state"]
    assert set(MEMORY_KEYS) <= set(state) and "encoding" not in state
    assert bool(state["has_pending"].any()) and torch.count_nonzero(state["memory"]) > 0

    dense_path = save_checkpoint(root / "dense.pth", {**loaded, "format_version": 2})
    dense = torch.load(dense_path, weights_only=True)
    assert "encoding" not in dense["memory_state"]
    _assert_same_state(load_checkpoint(dense_path)["memory_state"], state)
    assert path.stat().st_size < dense_path.stat().st_size


def test_a_compact_checkpoint_scores_every_candidate_exactly_as_the_dense_one(trained):
    root, path, config = trained
    compact = load_checkpoint(path)
    dense = load_checkpoint(save_checkpoint(root / "dense-scores.pth", {**compact, "format_version": 2}))
    data = load_training_data(config).data
    candidates = build_window(data.events, "test")
    finder = build_neighbor_finder(candidates.history, data.n_nodes, config)
    blocks = []
    for checkpoint in (compact, dense):
        model, stored = build_model_from_checkpoint(checkpoint, data, finder, "cpu")
        scorer = scorer_for_model(model, candidates, stored.n_degree)
        blocks.append(np.asarray(scorer.score_block(0, candidates.n_companies)))
    assert blocks[0].shape == (candidates.n_companies, candidates.n_investors)
    assert np.array_equal(blocks[0], blocks[1])


def test_a_version_1_checkpoint_still_loads_with_its_dense_memory(tmp_path):
    shutil.copy(FIXTURE / "old-tiny.pth", tmp_path / "old.pth")
    raw = torch.load(tmp_path / "old.pth", weights_only=True)
    loaded = load_checkpoint(tmp_path / "old.pth")
    assert loaded["format_version"] == 1
    _assert_same_state(loaded["memory_state"], raw["memory_state"])


def test_an_unknown_memory_encoding_is_a_data_format_error(trained, tmp_path):
    _, path, _ = trained
    stored = torch.load(path, weights_only=True)
    stored["memory_state"]["encoding"] = "from-the-future"
    torch.save(stored, tmp_path / "odd.pth")
    with pytest.raises(DataFormatError, match=r"odd\.pth: its memory state cannot be decoded .*from-the-future"):
        load_checkpoint(tmp_path / "odd.pth")
