"""An embedding call's inputs: distinct (node, time) queries, factored time-aware tables, the
segment softmax of the attention; each equal to the plain computation it replaces."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tgnrank.data.activity import ActivityFeatures
from tgnrank.data.events import Interactions
from tgnrank.model import ModelConfig, build_model
from tgnrank.model import node_inputs
from tgnrank.model.embedding import FactoredRows, row_inputs, segment_softmax
from tgnrank.model.node_inputs import distinct_pairs
from tgnrank.sampling.neighbors import NeighborFinder

N_COMPANIES, N_INVESTORS = 10, 5
N_NODES = N_COMPANIES + N_INVESTORS


def test_distinct_pairs_sorts_by_node_then_time_and_maps_every_row():
    nodes = np.array([7, 3, 7, 3, 7, 1])
    times = np.array([2.0, 5.0, 2.0, 1.5, 0.5, 5.0])
    pair_nodes, pair_times, pair_of = distinct_pairs(nodes, times)
    assert pair_nodes.tolist() == [1, 3, 3, 7, 7]
    assert pair_times.tolist() == [5.0, 1.5, 5.0, 0.5, 2.0]
    assert pair_of.tolist() == [4, 2, 4, 1, 3, 0]
    reference, inverse = np.unique(np.stack([nodes.astype(float), times]), axis=1, return_inverse=True)
    assert np.array_equal(reference[0], pair_nodes) and np.array_equal(reference[1], pair_times)
    assert np.array_equal(inverse.reshape(-1), pair_of)


def test_distinct_pairs_of_nothing_is_empty():
    pair_nodes, pair_times, pair_of = distinct_pairs(np.zeros(0, dtype=np.int64), np.zeros(0))
    assert len(pair_nodes) == len(pair_times) == len(pair_of) == 0


def test_factored_rows_select_and_give_inputs_as_the_materialised_table():
    torch.manual_seed(0)
    base, extra, extra_weight = torch.randn(3, 4), torch.randn(5, 2), torch.randn(4, 2)
    node_of = torch.tensor([0, 2, 2, 1, 0])
    table = FactoredRows(base, node_of, extra, extra_weight)
    dense = base[node_of] + extra @ extra_weight.T
    rows = torch.tensor([4, 1, 1, 0])
    torch.testing.assert_close(table.index_select(0, rows), dense[rows])
    weight = torch.randn(6, 4)
    for rows_of in (table, dense):
        inputs, expand = row_inputs(rows_of, rows)
        torch.testing.assert_close(torch.cat(inputs, dim=1) @ expand(weight).T, dense[rows] @ weight.T)
    with pytest.raises(ValueError, match="dim 0"):
        table.index_select(1, rows)


def test_segment_softmax_normalises_within_each_segment_only():
    scores = torch.tensor([[1.0, 0.0], [3.0, 0.0], [2.0, 5.0], [1000.0, -1000.0]])
    segment = torch.tensor([0, 0, 2, 2])
    weights = segment_softmax(scores, segment, n_segments=3)
    expected_first = torch.softmax(torch.tensor([[1.0, 0.0], [3.0, 0.0]]), dim=0)
    torch.testing.assert_close(weights[:2], expected_first)
    torch.testing.assert_close(weights[2:], torch.tensor([[0.0, 1.0], [1.0, 0.0]]))  # no overflow
    assert torch.isfinite(weights).all()


class Graph:
    """60 events on few days, so that a batch holds repeated (node, time) queries."""

    def __init__(self):
        rng = np.random.default_rng(1)
        n_events = 60
        self.events = Interactions(
            sources=rng.integers(1, N_COMPANIES + 1, size=n_events),
            destinations=rng.integers(N_COMPANIES + 1, N_NODES + 1, size=n_events),
            timestamps=np.sort(rng.integers(0, 12, size=n_events)).astype(np.float64),
            edge_idxs=np.arange(1, n_events + 1),
            labels=np.zeros(n_events),
        )
        self.node_features = rng.normal(size=(N_NODES + 1, 4)).astype(np.float32)
        self.edge_features = rng.normal(size=(n_events + 1, 3)).astype(np.float32)
        self.node_features[0], self.edge_features[0] = 0, 0

    def model(self, activity: bool = False, **options):
        torch.manual_seed(0)
        config = ModelConfig(**{"memory_dim": 8, "time_dim": 4, "node_dim": 6, "use_memory": True, "drop_out": 0.0,
                                **options})
        provider = ActivityFeatures(self.events, N_NODES, self.edge_features, ("a", "b", "c")) if activity else None
        finder = NeighborFinder.from_interactions(self.events, N_NODES)
        return build_model(config, self.node_features, self.edge_features, finder, "cpu", provider)

    def warm_up(self, model, n_events: int = 40) -> None:
        """Replay the first events so that memories and pending messages are not all zero."""
        events = self.events
        for start in range(0, n_events, 10):
            chunk = slice(start, start + 10)
            model.process_events(events.sources[chunk], events.destinations[chunk], events.timestamps[chunk],
                                 events.edge_idxs[chunk], 3)


@pytest.mark.parametrize("options", [{}, {"activity": True}, {"n_layer": 2}, {"embedding_module": "graph_sum"}],
                         ids=str)
def test_each_distinct_query_is_embedded_once_with_the_same_values_and_gradients(options):
    graph = Graph()
    nodes = np.array([3, 3, 12, 3, 12, 14, 3])
    times = np.array([40.0, 40.0, 40.0, 41.0, 40.0, 41.0, 40.0])

    def embed(method):
        model = graph.model(**options)
        graph.warm_up(model)
        _, scored, view = getattr(model, method)(nodes, times, 3)
        (scored * torch.arange(scored.numel()).reshape(scored.shape)).sum().backward()
        return scored, view, {name: p.grad for name, p in model.named_parameters() if p.grad is not None}

    plain, plain_view, plain_grads = embed("_embed")
    distinct, distinct_view, distinct_grads = embed("_embed_distinct")
    torch.testing.assert_close(distinct, plain)
    assert torch.equal(distinct_view.nodes[distinct_view.row_of], torch.as_tensor(nodes))
    assert plain_grads.keys() == distinct_grads.keys() and plain_grads
    for name, grad in plain_grads.items():
        torch.testing.assert_close(distinct_grads[name], grad, msg=name)


def test_factored_time_aware_table_gives_the_materialised_embeddings(monkeypatch):
    graph = Graph()
    nodes, times = np.array([2, 5, 11, 13, 2]), np.array([30.0, 30.0, 31.0, 30.0, 35.0])

    def embeddings():
        model = graph.model(activity=True)
        graph.warm_up(model)
        return model.compute_node_embeddings(nodes, times, 3)

    factored = embeddings()
    original = node_inputs.time_aware_table
    monkeypatch.setattr("tgnrank.model.tgn.time_aware_table",
                        lambda *args: original(*args[:-1], False))  # the dense (P, d) table
    torch.testing.assert_close(factored, embeddings())


@pytest.mark.parametrize("options", [{}, {"activity": True}, {"embedding_module": "time"}], ids=str)
def test_committing_pending_messages_on_read_changes_no_evaluation_result(options):
    graph = Graph()
    events, negatives = graph.events, np.random.default_rng(2).integers(N_COMPANIES + 1, N_NODES + 1, size=60)

    def evaluate(commit: bool):
        model = graph.model(**options)
        graph.warm_up(model, n_events=30)
        model.eval()
        model.commit_pending_on_read = commit
        logits = []
        with torch.no_grad():
            for start in range(30, 60, 10):
                chunk = slice(start, start + 10)
                logits.append(torch.cat(model.compute_edge_logits(
                    events.sources[chunk], events.destinations[chunk], negatives[chunk], events.timestamps[chunk],
                    events.edge_idxs[chunk], 3)))
            later = model.compute_node_embeddings(np.arange(1, N_NODES + 1), np.full(N_NODES, 100.0), 3)
        return torch.cat(logits), later, int(model.memory.has_pending.sum())

    plain, plain_later, plain_pending = evaluate(False)
    committed, committed_later, committed_pending = evaluate(True)
    torch.testing.assert_close(committed, plain)
    torch.testing.assert_close(committed_later, plain_later)
    # neighbours read without interacting were committed (the time projection reads no neighbour)
    assert committed_pending < plain_pending or options.get("embedding_module") == "time"
