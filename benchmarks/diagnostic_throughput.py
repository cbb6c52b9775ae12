"""Throughput and peak memory of the diagnostic's all-pairs ranking, at 1 and 10 million candidate pairs.

Each size runs in its own process (so that peak RSS belongs to that size alone) with the default model
size (embedding dimension 172, the link predictor of a TGN with memory), random projections standing
for the embeddings, 5,000 investors, 5% of the grid linked in the history and 0.1% of it positive.
Two figures per size: the scoring kernel alone ("score") and the whole streamed ranking ("rank": scoring
plus the positives' global and per-company ranks and the top-20 list). The pairwise columns do the same
with ``--link_predictor pairwise``'s :class:`~tgnrank.model.pairwise_scoring.PairwiseBlockScorer` (random
walk vectors of the training default ``--walk_dim``, or the one given, standing for the propagated ones).

    python benchmarks/diagnostic_throughput.py [--sizes 1000000,10000000] [--threads 2] [--walk_dim D]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np

EMBEDDING_DIM = 172
N_INVESTORS = 5000
LINKED_SHARE = 0.05
POSITIVE_SHARE = 0.001


def candidate_set(n_pairs: int, seed: int = 0):
    from scipy import sparse

    from tgnrank.data.events import Interactions
    from tgnrank.eval.protocol import CandidateSet

    rng = np.random.default_rng(seed)
    n_companies = max(1, round(n_pairs / (N_INVESTORS * (1 - LINKED_SHARE))))
    n_cells = n_companies * N_INVESTORS
    cells = rng.choice(n_cells, size=int(n_cells * (LINKED_SHARE + POSITIVE_SHARE)), replace=False)
    n_linked = int(n_cells * LINKED_SHARE)
    linked, positive = np.sort(cells[:n_linked]), np.sort(cells[n_linked:])
    links = sparse.csr_matrix(
        (np.ones(n_linked, dtype=bool), (linked // N_INVESTORS, linked % N_INVESTORS)),
        shape=(n_companies, N_INVESTORS),
    )
    empty = np.zeros(0, dtype=np.int64)
    return CandidateSet(
        window="benchmark", t_start=0.0, t_end=1.0,
        history=Interactions(empty, empty, empty.astype(float), empty, empty),
        companies=np.arange(1, n_companies + 1), investors=np.arange(n_companies + 1, n_companies + N_INVESTORS + 1),
        history_links=links, positive_rows=positive // N_INVESTORS, positive_cols=positive % N_INVESTORS,
    )


def mlp_scorer(candidates, threads: int):
    import torch

    from tgnrank.eval.scoring import ModelScorer
    from tgnrank.model.link_predictor import LinkPredictor

    predictor = LinkPredictor(EMBEDDING_DIM)
    with torch.no_grad():
        sources = predictor.project_sources(torch.randn(candidates.n_companies, EMBEDDING_DIM))
        destinations = predictor.project_destinations(torch.randn(candidates.n_investors, EMBEDDING_DIM))
    return ModelScorer(predictor, sources, destinations, threads=threads)


def pairwise_scorer(candidates, threads: int, walk_dim: int):
    import torch

    from tgnrank.model.link_predictor import PairwiseLinkPredictor
    from tgnrank.model.pairwise_scoring import PairwiseBlockScorer
    from tgnrank.model.walks import N_PAIR_FEATURES

    predictor = PairwiseLinkPredictor(EMBEDDING_DIM, N_PAIR_FEATURES)
    walks = lambda n: torch.randn(4, n, walk_dim) / walk_dim**0.5  # noqa: E731  (h_0..h_3 of n nodes)
    return PairwiseBlockScorer.from_embeddings(
        predictor, torch.randn(candidates.n_companies, EMBEDDING_DIM), torch.randn(candidates.n_investors, EMBEDDING_DIM),
        walks(candidates.n_companies), walks(candidates.n_investors), threads,
    )


def throughput(candidates, scorer) -> tuple[float, float]:
    """(grid cells scored per second by the kernel alone, candidates ranked per second)."""
    from tgnrank.eval.scoring import rank_candidates

    started = time.perf_counter()
    for row_start, row_stop in candidates.row_blocks(max(1, (1 << 20) // candidates.n_investors)):
        scorer.score_block(row_start, row_stop)
    score_seconds = time.perf_counter() - started
    started = time.perf_counter()
    ranking = rank_candidates(candidates, scorer)
    rank_seconds = time.perf_counter() - started
    assert ranking.ranks.n_candidates == candidates.n_candidates
    return candidates.n_companies * candidates.n_investors / score_seconds, candidates.n_candidates / rank_seconds


def measure(n_pairs: int, threads: int, walk_dim: int) -> dict:
    import torch

    torch.manual_seed(0)
    candidates = candidate_set(n_pairs)
    score, rank = throughput(candidates, mlp_scorer(candidates, threads))
    pairwise_score, pairwise_rank = throughput(candidates, pairwise_scorer(candidates, threads, walk_dim))
    return {
        "candidates": candidates.n_candidates,
        "positives": candidates.n_positives,
        "threads": threads,
        "walk_dim": walk_dim,
        "score_pairs_per_s": score,
        "rank_pairs_per_s": rank,
        "pairwise_score_pairs_per_s": pairwise_score,
        "pairwise_rank_pairs_per_s": pairwise_rank,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,10000000", help="candidate pairs per run (comma-separated)")
    parser.add_argument("--threads", type=int, default=2, help="threads of the scoring kernel (default 2)")
    parser.add_argument("--walk_dim", type=int, default=None,
                        help="walk vectors' size for the pairwise columns (default: training's default)")
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.walk_dim is None:
        from tgnrank.config.model import ModelConfig

        args.walk_dim = ModelConfig().walk_dim
    if args.one is not None:
        print(json.dumps(measure(args.one, args.threads, args.walk_dim)))
        return 0
    print(f"walk_dim {args.walk_dim}, {args.threads} threads")
    print(f"{'candidates':>12} {'positives':>10} {'score pairs/s':>15} {'rank pairs/s':>14} "
          f"{'pairwise score':>15} {'pairwise rank':>14} {'peak RSS MiB':>13}")
    for size in (int(part) for part in args.sizes.split(",")):
        output = subprocess.run(
            [sys.executable, __file__, "--one", str(size), "--threads", str(args.threads),
             "--walk_dim", str(args.walk_dim)],
            check=True, capture_output=True, text=True,
        ).stdout
        row = json.loads(output.strip().splitlines()[-1])
        print(
            f"{row['candidates']:>12,} {row['positives']:>10,} {row['score_pairs_per_s'] / 1e6:>13.2f} M "
            f"{row['rank_pairs_per_s'] / 1e6:>12.2f} M {row['pairwise_score_pairs_per_s'] / 1e6:>13.2f} M "
            f"{row['pairwise_rank_pairs_per_s'] / 1e6:>12.2f} M {row['peak_rss_mib']:>13.0f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
