"""Queries per second of the vectorised neighbour finder against a per-query Python reference.

The reference does what the original TGN ``NeighborFinder`` does: one sorted time array per node,
and for every query a ``searchsorted`` plus slicing in a Python loop. Both answer the same queries
(the sources, destinations and random negatives of every training batch, as a training epoch asks
them) on a random bipartite graph of ~40K events with many equal timestamps; the answers are checked
to be identical and the speed ratio is measured in the same run.

    python benchmarks/neighbor_finder.py [--events 40000] [--n_degree 10] [--bs 200]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from tgnrank.data.events import Interactions
from tgnrank.sampling.neighbors import NeighborFinder


def random_graph(n_events: int, n_companies: int, n_investors: int, seed: int) -> Interactions:
    rng = np.random.default_rng(seed)
    return Interactions(
        sources=rng.integers(1, n_companies + 1, size=n_events),
        destinations=rng.integers(n_companies + 1, n_companies + n_investors + 1, size=n_events),
        timestamps=np.sort(rng.integers(0, 3650, size=n_events)).astype(np.float64),  # whole days: many ties
        edge_idxs=np.arange(1, n_events + 1),
        labels=np.zeros(n_events),
    )


class PerQueryReference:
    """Adjacency lists per node, answered one query at a time (the original TGN's approach)."""

    def __init__(self, events: Interactions, n_nodes: int):
        lists = [[] for _ in range(n_nodes + 1)]
        rows = zip(events.sources, events.destinations, events.edge_idxs, events.timestamps)
        for source, destination, edge, time_ in rows:
            lists[source].append((destination, edge, time_))
            lists[destination].append((source, edge, time_))
        self.neighbors, self.edges, self.times = [], [], []
        for entries in lists:
            entries.sort(key=lambda entry: entry[2])
            self.neighbors.append(np.array([e[0] for e in entries], dtype=np.int64))
            self.edges.append(np.array([e[1] for e in entries], dtype=np.int64))
            self.times.append(np.array([e[2] for e in entries], dtype=np.float64))

    def get_temporal_neighbor(self, nodes, timestamps, n_neighbors):
        neighbors = np.zeros((len(nodes), n_neighbors), dtype=np.int64)
        edges = np.zeros((len(nodes), n_neighbors), dtype=np.int64)
        times = np.zeros((len(nodes), n_neighbors), dtype=np.float64)
        for row, (node, time_) in enumerate(zip(nodes, timestamps)):
            end = np.searchsorted(self.times[node], time_)
            start = max(0, end - n_neighbors)
            count = end - start
            if count:
                neighbors[row, n_neighbors - count :] = self.neighbors[node][start:end]
                edges[row, n_neighbors - count :] = self.edges[node][start:end]
                times[row, n_neighbors - count :] = self.times[node][start:end]
        return neighbors, edges, times


def epoch_queries(events: Interactions, batch_size: int, n_companies: int, n_investors: int, seed: int):
    """Per batch: (nodes, times) for its sources, destinations and one random negative each."""
    rng = np.random.default_rng(seed)
    for start in range(0, len(events), batch_size):
        batch = slice(start, start + batch_size)
        negatives = rng.integers(n_companies + 1, n_companies + n_investors + 1, size=len(events.sources[batch]))
        nodes = np.concatenate([events.sources[batch], events.destinations[batch], negatives])
        yield nodes, np.tile(events.timestamps[batch], 3)


def time_finder(finder, queries, n_degree: int) -> tuple[float, list]:
    start = time.perf_counter()
    answers = [finder.get_temporal_neighbor(nodes, times, n_degree) for nodes, times in queries]
    return time.perf_counter() - start, answers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=40_000)
    parser.add_argument("--companies", type=int, default=8_000)
    parser.add_argument("--investors", type=int, default=2_000)
    parser.add_argument("--n_degree", type=int, default=10)
    parser.add_argument("--bs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    events = random_graph(args.events, args.companies, args.investors, args.seed)
    n_nodes = args.companies + args.investors
    queries = list(epoch_queries(events, args.bs, args.companies, args.investors, args.seed))
    n_queries = sum(len(nodes) for nodes, _ in queries)

    start = time.perf_counter()
    vectorised = NeighborFinder.from_interactions(events, n_nodes)
    build_vectorised = time.perf_counter() - start
    start = time.perf_counter()
    reference = PerQueryReference(events, n_nodes)
    build_reference = time.perf_counter() - start

    seconds_vectorised, answers_vectorised = time_finder(vectorised, queries, args.n_degree)
    seconds_reference, answers_reference = time_finder(reference, queries, args.n_degree)
    for mine, theirs in zip(answers_vectorised, answers_reference):
        for a, b in zip(mine, theirs):
            np.testing.assert_array_equal(a, b)

    print(
        f"graph: {args.events} events, {n_nodes} nodes; {n_queries} queries in {len(queries)} batches, "
        f"n_degree {args.n_degree}"
    )
    print(f"index build: vectorised {build_vectorised:.3f} s, per-query reference {build_reference:.3f} s")
    print(f"vectorised CSR finder: {n_queries / seconds_vectorised:12,.0f} queries/s ({seconds_vectorised:.3f} s)")
    print(f"per-query reference  : {n_queries / seconds_reference:12,.0f} queries/s ({seconds_reference:.3f} s)")
    print(f"speed-up (same queries, identical answers): {seconds_reference / seconds_vectorised:.1f}x")


if __name__ == "__main__":
    main()
