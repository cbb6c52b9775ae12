"""Time-aware activity features: hand-computed values, brute force, causality, the sidecar, the TGN wiring."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tgnrank.data import EventData, Interactions, load_dataset, save_dataset
from tgnrank.data.activity import ActivityFeatures, activity_feature_names, feature_kinds, similarity_features
from tgnrank.data.events import feature_schema_path
from tgnrank.data.feature_schema import FeatureSchema, default_schema
from tgnrank.data.synthetic import generate_synthetic
from tgnrank.errors import DataFormatError
from tgnrank.model import ModelConfig, build_model
from tgnrank.sampling.neighbors import NeighborFinder

YEAR = 365.25


def interactions(sources, destinations, timestamps) -> Interactions:
    n = len(sources)
    return Interactions(
        sources=np.asarray(sources, dtype=np.int64),
        destinations=np.asarray(destinations, dtype=np.int64),
        timestamps=np.asarray(timestamps, dtype=np.float64),
        edge_idxs=np.arange(1, n + 1),
        labels=np.zeros(n),
    )


@pytest.fixture
def hand_graph() -> ActivityFeatures:
    """Companies 1, 2, investors 3, 4; edge columns (x, y)."""
    events = interactions([1, 2, 1, 1], [3, 3, 4, 3], [10, 10, 20, 400])
    edge_values = np.array([[0, 0], [1.0, 0], [3.0, 1], [2.0, 0], [0.5, 1]])
    return ActivityFeatures(events, 4, edge_values, ("x", "y"))


def test_hand_computed_values_use_events_strictly_before_the_time(hand_graph):
    got = hand_graph(np.array([3, 3, 3, 1, 2, 0]), np.array([10.0, 11.0, 401.0, 400.0, 5.0, 401.0]))
    log1p = np.log1p
    expected = np.array([
        [0, 0, 0, 0, 0, 0, 0, 0],  # both events of 3 are at t = 10 itself
        [1, log1p(2), log1p(1 / YEAR), log1p(1 / YEAR), log1p(2), log1p(2), 2.0, 0.5],
        # e4 repeats the pair (1, 3): 3 events, 2 partners; only e4 lies in [401 - 365, 401)
        [1, log1p(3), log1p(391 / YEAR), log1p(1 / YEAR), log1p(1), log1p(2), 4.5 / 3, 2 / 3],
        [1, log1p(2), log1p(390 / YEAR), log1p(380 / YEAR), 0, log1p(2), 1.5, 0.0],  # e4 at 400 left out
        [0] * 8,
        [0] * 8,  # node 0 is padding
    ])
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    assert hand_graph.names == activity_feature_names(("x", "y")) and hand_graph.dim == 8
    np.testing.assert_array_equal(hand_graph.at([3, 1], 401.0), hand_graph(np.array([3, 1]), np.array([401.0, 401.0])))


def brute_force(events: Interactions, edge_values: np.ndarray, node: int, time: float) -> np.ndarray:
    mine = ((events.sources == node) | (events.destinations == node)) & (events.timestamps < time)
    if not mine.any():
        return np.zeros(6 + edge_values.shape[1])
    times = events.timestamps[mine]
    partners = np.where(events.sources[mine] == node, events.destinations[mine], events.sources[mine])
    recent = np.sum(times >= time - 365)
    return np.concatenate([
        [1, np.log1p(mine.sum()), np.log1p((time - times.min()) / YEAR), np.log1p((time - times.max()) / YEAR),
         np.log1p(recent), np.log1p(len(set(partners.tolist())))],
        edge_values[events.edge_idxs[mine]].mean(axis=0),
    ])


def test_values_equal_a_brute_force_per_query_computation():
    rng = np.random.default_rng(4)
    n_events, n_nodes = 80, 9
    events = interactions(rng.integers(1, 5, n_events), rng.integers(5, n_nodes + 1, n_events),
                          np.sort(rng.integers(0, 900, n_events)))
    edge_values = rng.normal(size=(n_events + 1, 3))
    features = ActivityFeatures(events, n_nodes, edge_values, ("a", "b", "c"))
    nodes = rng.integers(0, n_nodes + 1, 300)
    times = np.concatenate([rng.choice(events.timestamps, 150), rng.uniform(-10, 1400, 150)])
    expected = np.array([brute_force(events, edge_values, v, t) for v, t in zip(nodes, times)])
    np.testing.assert_allclose(features(nodes, times), expected, rtol=1e-5, atol=1e-5)


def truncated_and_corrupted(events: Interactions, edge_values: np.ndarray, time: float, rng):
    """``events`` without every event at or after ``time``, and with those events randomised."""
    late = events.timestamps >= time
    kept = events.select(~late)
    corrupted = Interactions(
        sources=np.where(late, rng.permutation(events.sources), events.sources),
        destinations=np.where(late, rng.permutation(events.destinations), events.destinations),
        timestamps=events.timestamps,
        edge_idxs=events.edge_idxs,
        labels=events.labels,
    )
    corrupted_values = edge_values.copy()
    corrupted_values[events.edge_idxs[late]] = rng.normal(size=(int(late.sum()), edge_values.shape[1]))
    return (kept, edge_values), (corrupted, corrupted_values)


@pytest.fixture(scope="module")
def synthetic() -> EventData:
    return generate_synthetic(n_companies=300, n_investors=120, seed=1)


def test_future_events_change_no_activity_value_on_hand_and_synthetic_graphs(hand_graph, synthetic):
    rng = np.random.default_rng(0)
    hand_events = interactions([1, 2, 1, 1], [3, 3, 4, 3], [10, 10, 20, 400])
    hand_values = np.array([[0, 0], [1.0, 0], [3.0, 1], [2.0, 0], [0.5, 1]])
    graphs = [(hand_events, hand_values, 4, [10.0, 20.0, 400.0]),
              (synthetic.events, synthetic.edge_features, synthetic.n_nodes,
               list(np.quantile(synthetic.events.timestamps, [0.2, 0.5, 0.85])))]
    for events, edge_values, n_nodes, times in graphs:
        names = tuple(f"e{k}" for k in range(edge_values.shape[1]))
        clean = ActivityFeatures(events, n_nodes, edge_values, names)
        nodes = np.arange(n_nodes + 1)
        for time in times:
            expected = clean.at(nodes, time)
            for variant_events, variant_values in truncated_and_corrupted(events, edge_values, time, rng):
                variant = ActivityFeatures(variant_events, n_nodes, variant_values, names)
                np.testing.assert_array_equal(variant.at(nodes, time), expected)
        assert expected[:, 0].sum() > 1  # the last time has history to compare


def no_memory_model(data: EventData, events: Interactions, edge_features: np.ndarray):
    torch.manual_seed(0)
    config = ModelConfig(use_memory=False, node_dim=8, time_dim=4, n_layer=2)
    finder = NeighborFinder.from_interactions(events, data.n_nodes)
    activity = ActivityFeatures.from_data(
        EventData(data.name, events, edge_features, data.node_features, data.node_names, data.node_kinds)
    )
    return build_model(config, data.node_features, edge_features, finder, "cpu", activity).eval()


def test_future_events_change_no_model_input_at_t_on_synthetic_data(synthetic):
    """Embeddings of every node at t (static + activity features of the nodes and their neighbours)."""
    rng = np.random.default_rng(1)
    clean = no_memory_model(synthetic, synthetic.events, synthetic.edge_features)
    nodes = np.arange(synthetic.n_nodes + 1)
    time = float(np.quantile(synthetic.events.timestamps, 0.6))
    with torch.no_grad():
        expected = clean.compute_node_embeddings(nodes, time, 5)
        for events, edge_features in truncated_and_corrupted(synthetic.events, synthetic.edge_features, time, rng):
            variant = no_memory_model(synthetic, events, edge_features.astype(np.float32))
            variant.load_state_dict(clean.state_dict())
            torch.testing.assert_close(variant.compute_node_embeddings(nodes, time, 5), expected, rtol=1e-5, atol=1e-5)


def test_the_model_reads_activity_at_each_rows_query_time(synthetic):
    """Same node, two times: different inputs; an earlier event removed from the provider only: changes."""
    model = no_memory_model(synthetic, synthetic.events, synthetic.edge_features)
    assert model.feature_encoder.feature_dim == synthetic.node_features.shape[1] + model.activity_features.dim
    investor = int(np.bincount(synthetic.events.destinations).argmax())
    times = np.quantile(synthetic.events.timestamps, [0.3, 0.9])
    with torch.no_grad():
        early, late = model.compute_node_embeddings(np.array([investor, investor]), times, 5)
        assert not torch.allclose(early, late)
        before = synthetic.events.timestamps < times[1]
        model.activity_features = ActivityFeatures.from_data(synthetic, synthetic.events.select(~before))
        assert not torch.allclose(model.compute_node_embeddings(np.array([investor]), times[1:], 5)[0], late)


def small_dataset(schema: FeatureSchema | None) -> EventData:
    events = interactions([1, 2, 1], [3, 3, 4], [0.0, 1.0, 2.0])
    return EventData("tiny", events, np.arange(8, dtype=np.float32).reshape(4, 2), np.eye(5, 3, dtype=np.float32),
                     np.array(["", "a", "b", "x", "y"], dtype=object),
                     np.array(["", "company", "company", "investor", "investor"], dtype=object), schema)


def test_a_tgn_dataset_without_sidecar_loads_with_static_features_and_event_activity(tmp_path):
    save_dataset(small_dataset(None), tmp_path)
    assert not feature_schema_path("tiny", tmp_path).exists()
    data = load_dataset("tiny", tmp_path)
    assert data.feature_schema is None
    np.testing.assert_array_equal(data.node_features, np.eye(5, 3))
    assert feature_kinds(data) == {
        "static": ["node_feature_0", "node_feature_1", "node_feature_2"],
        "time_aware": list(activity_feature_names(("edge_feature_0", "edge_feature_1"))),
    }
    activity = ActivityFeatures.from_data(data)
    np.testing.assert_allclose(activity.at([3], 5.0)[0, -2:], [(2 + 4) / 2, (3 + 5) / 2])
    assert default_schema(3, 172).activity_edge_columns == ()  # wide learned edge features are not averaged


def test_the_sidecar_round_trips_is_validated_and_never_goes_stale(tmp_path):
    schema = FeatureSchema(("is_company", "k1", "k2"), ("amount", "round=a"), (1,))
    save_dataset(small_dataset(schema), tmp_path)
    path = feature_schema_path("tiny", tmp_path)
    assert json.loads(path.read_text())["activity_edge_features"] == ["round=a"]
    assert load_dataset("tiny", tmp_path).feature_schema == schema
    assert ActivityFeatures.from_data(load_dataset("tiny", tmp_path)).names[-1] == "activity:mean:round=a"

    path.write_text(json.dumps({**json.loads(path.read_text()), "static_node_features": ["one"]}))
    with pytest.raises(DataFormatError, match="features.json.*1 node and 2 edge columns.*3 and 2"):
        load_dataset("tiny", tmp_path)
    path.write_text("not json")
    with pytest.raises(DataFormatError, match="not a feature sidecar"):
        load_dataset("tiny", tmp_path)
    save_dataset(small_dataset(None), tmp_path)
    assert not path.exists()


def test_info_says_which_node_features_are_static_and_which_time_aware(tmp_path, capsys):
    from tgnrank.cli.main import main

    data = generate_synthetic(n_companies=60, n_investors=30, seed=2, name="small")
    schema = FeatureSchema(tuple(f"s{k}" for k in range(data.node_features.shape[1])),
                           tuple(f"e{k}" for k in range(data.edge_features.shape[1])), (0,))
    save_dataset(EventData(**{**data.__dict__, "feature_schema": schema}), tmp_path)
    assert main(["info", "--data", "small", "--data_dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"static      {len(schema.static_names)} node columns" in out and "s0, s1" in out
    assert "time-aware  7 activity columns" in out and "activity:mean:e0" in out
    assert main(["info", "--data", "small", "--data_dir", str(tmp_path), "--json"]) == 0
    features = json.loads(capsys.readouterr().out)["features"]
    assert features["static"] == list(schema.static_names) and features["time_aware"][-1] == "activity:mean:e0"


def test_similarity_features_tell_investors_apart_without_investor_attributes():
    """Investors 4, 5 fund one seed round each, investor 6 two later rounds: static rows all zero."""
    events = interactions([1, 2, 3, 3, 1], [4, 5, 6, 6, 5], [1.0, 2.0, 3.0, 4.0, 9.0])
    stage = np.array([[0, 0], [1, 0], [1, 0], [0, 1], [0, 1], [1, 0]], dtype=np.float32)
    kinds = np.array([""] + ["company"] * 3 + ["investor"] * 3, dtype=object)
    static = np.zeros((7, 1), dtype=np.float32)
    static[1:4] = 1.0
    data = EventData("s", events, stage, static, kinds.copy(), kinds, FeatureSchema(("is_company",), ("seed", "later"), (0, 1)))
    vectors = similarity_features(data, events.select(np.arange(4)))  # the training events: not the one at t = 9
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    assert unit[4] @ unit[5] > unit[4] @ unit[6]
    np.testing.assert_array_equal(vectors[0], 0)
    corrupted = stage.copy()
    corrupted[5] = [0, 0]  # the later event: not part of the training events
    later = EventData("s", events, corrupted, static, kinds.copy(), kinds, data.feature_schema)
    np.testing.assert_array_equal(similarity_features(later, events.select(np.arange(4))), vectors)
