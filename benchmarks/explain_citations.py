"""Check, on a dataset and a trained model, that every deal an explanation cites is an event of the history.

Draws ``--companies`` companies with a deal before a random date (seeded, between the 70% time
quantile and the end of the data), recommends ``--k`` investors to each as of that date, explains
them, samples ``--pairs`` of those (company, investor) pairs at random and checks each cited deal
(company, investor, day) against the events on or before the date, names included. Prints one line
per pair and a summary; exits 1 if a cited deal is missing.

    python benchmarks/explain_citations.py --model_path saved_models/ex-cbdev.pth --data cbdev [--fusion F.lgb.txt]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from tgnrank.data import open_dataset
from tgnrank.eval.explain import explain_recommendations
from tgnrank.eval.recommend import recommend_investors
from tgnrank.train.checkpoint import load_checkpoint


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model_path", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--data_dir", default="data")
    parser.add_argument("--fusion", default=None)
    parser.add_argument("--companies", type=int, default=5)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    data = open_dataset(args.data, args.data_dir)
    checkpoint = load_checkpoint(args.model_path)
    fusion = None
    if args.fusion:
        from tgnrank.eval.explain_fusion import load_fusion

        fusion = load_fusion(args.fusion, args.model_path)
    rng = np.random.default_rng(args.seed)
    events = data.events
    low, high = np.quantile(events.timestamps, [0.7, 1.0])
    explained = []
    for at in np.floor(rng.uniform(low, high, size=args.companies)):
        company = int(rng.choice(np.unique(events.sources[events.timestamps <= at])))
        started = time.perf_counter()
        recommendations = recommend_investors(checkpoint, data, company, float(at), args.k, fusion=fusion)
        explanations = explain_recommendations(recommendations, data)
        print(f"{recommendations.company} at {at:g}: recommend + explain {time.perf_counter() - started:.1f} s")
        explained += [(float(at), recommendations.company, e) for e in explanations]
    chosen = rng.choice(len(explained), size=min(args.pairs, len(explained)), replace=False)
    n_cited = n_missing = 0
    for at, company, explanation in (explained[k] for k in sorted(chosen)):
        seen = events.timestamps <= at
        keys = set(zip(events.sources[seen].tolist(), events.destinations[seen].tolist(), events.timestamps[seen].tolist()))
        cited = explanation.cited_deals()
        missing = [
            d for d in cited
            if (d.company_id, d.investor_id, d.day) not in keys or d.day > at
            or d.company != data.node_names[d.company_id] or d.investor != data.node_names[d.investor_id]
        ]
        n_cited, n_missing = n_cited + len(cited), n_missing + len(missing)
        print(f"  {company} <- {explanation.investor} (rank {explanation.rank}): {len(cited)} cited deals, "
              f"{len(missing)} not in the history; {explanation.evidence.n_coinvestors} co-investors, "
              f"{explanation.evidence.n_paths} paths")
    print(f"{len(chosen)} pairs, {n_cited} cited deals, {n_missing} not found in the history up to their date")
    return 1 if n_missing else 0


if __name__ == "__main__":
    sys.exit(main())
