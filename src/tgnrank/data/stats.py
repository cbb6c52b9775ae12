"""Summary statistics of an event dataset, computed with vectorised numpy and returned as plain dicts.

Timestamps are days since 1970-01-01, so dates are reported as ISO strings of those days. The
statistics describe what makes investor ranking hard: heavy-tailed investor activity, repeated
(company, investor) pairs, syndicates sharing one timestamp, new links that mostly involve nodes
never seen before, and node features under which true pairs are only mildly more similar than random
ones.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sparse
from sklearn.metrics import roc_auc_score

from tgnrank.data.arrays import distinct, group_ids, unit_rows
from tgnrank.data.dates import day_to_iso
from tgnrank.data.events import EventData, Interactions
from tgnrank.data.splits import chronological_split

MAX_COINVESTOR_OFFSET = 40
LOOKALIKE_COSINE = 0.9
LOOKALIKE_SAMPLE = 2000
SIMILARITY_CHUNK = 256
SYNDICATE_HISTOGRAM_CAP = 9


def dataset_statistics(
    data: EventData,
    train_quantile: float = 0.70,
    val_quantile: float = 0.85,
    n_similarity_pairs: int = 20000,
    seed: int = 0,
) -> dict:
    """Every statistic ``tgnrank info`` shows, as a nested dict of numbers and strings."""
    events = data.events
    split = chronological_split(events, train_quantile=train_quantile, val_quantile=val_quantile)
    last_day = float(events.timestamps.max())  # chronological_split has already rejected an empty dataset
    return {
        "name": data.name,
        "counts": node_counts(data),
        "time": time_span(events.timestamps),
        "degrees": {
            "company": degree_summary(np.bincount(events.sources, minlength=data.n_nodes + 1)[data.company_ids]),
            "investor": degree_summary(np.bincount(events.destinations, minlength=data.n_nodes + 1)[data.investor_ids]),
        },
        "repeated_pairs": repeated_pairs(events),
        "syndicates": syndicate_sizes(events),
        "date_precision": date_precision(events.timestamps),
        "features": {"node_dim": int(data.node_features.shape[1]), "edge_dim": int(data.edge_features.shape[1])},
        "splits": {
            **split.summary(),
            "train_quantile": train_quantile,
            "val_quantile": val_quantile,
            "val_date": day_to_iso(split.val_time),
            "test_date": day_to_iso(split.test_time),
        },
        "new_links": {
            "validation": new_link_statistics(events, split.val_time, split.test_time),
            "test": new_link_statistics(events, split.test_time, last_day),
        },
        "similarity": feature_similarity(data, n_similarity_pairs, np.random.default_rng(seed)),
    }


def node_counts(data: EventData) -> dict:
    events = data.events
    return {
        "events": data.n_events,
        "nodes": data.n_nodes,
        "companies": int(len(data.company_ids)),
        "investors": int(len(data.investor_ids)),
        "active_companies": int(len(distinct(events.sources))),
        "active_investors": int(len(distinct(events.destinations))),
    }


def time_span(timestamps: np.ndarray) -> dict:
    if len(timestamps) == 0:
        return {"first_day": None, "last_day": None, "first_date": None, "last_date": None, "years": 0.0,
                "distinct_timestamps": 0}
    first, last = float(timestamps.min()), float(timestamps.max())
    return {
        "first_day": first,
        "last_day": last,
        "first_date": day_to_iso(first),
        "last_date": day_to_iso(last),
        "years": (last - first) / 365.25,
        "distinct_timestamps": int(len(distinct(timestamps))),
    }


def degree_summary(degrees: np.ndarray) -> dict:
    """Statistics over the nodes with at least one event; ``top1_share`` is the share of events of the top 1%."""
    active = np.sort(degrees[degrees > 0])[::-1]
    if len(active) == 0:
        return {"nodes": 0, "mean": 0.0, "median": 0.0, "p90": 0.0, "p99": 0.0, "max": 0, "top1_share": 0.0}
    n_top = max(1, int(np.ceil(0.01 * len(active))))
    return {
        "nodes": int(len(active)),
        "mean": float(active.mean()),
        "median": float(np.median(active)),
        "p90": float(np.percentile(active, 90)),
        "p99": float(np.percentile(active, 99)),
        "max": int(active[0]),
        "top1_share": float(active[:n_top].sum() / active.sum()),
    }


def _pair_keys(sources: np.ndarray, destinations: np.ndarray) -> np.ndarray:
    return sources.astype(np.int64) * (int(destinations.max(initial=0)) + 1) + destinations.astype(np.int64)


def repeated_pairs(events: Interactions) -> dict:
    """Share of events whose (company, investor) pair already occurred at an earlier (or the same) event."""
    n_distinct = int(len(distinct(_pair_keys(events.sources, events.destinations))))
    return {
        "distinct_pairs": n_distinct,
        "share": float(1.0 - n_distinct / len(events)) if len(events) else 0.0,
    }


def _round_ids(events: Interactions) -> np.ndarray:
    """(n_events,) id of each event's round, a round being one company at one timestamp."""
    return group_ids(events.sources, events.timestamps)


def syndicate_sizes(events: Interactions) -> dict:
    """Investors per round (events sharing one company and one timestamp)."""
    if len(events) == 0:
        return {"rounds": 0, "mean": 0.0, "median": 0.0, "max": 0, "single_share": 0.0, "histogram": {}}
    sizes = np.bincount(_round_ids(events))
    counts = np.bincount(np.minimum(sizes, SYNDICATE_HISTOGRAM_CAP), minlength=SYNDICATE_HISTOGRAM_CAP + 1)
    histogram = {str(size): int(counts[size]) for size in range(1, SYNDICATE_HISTOGRAM_CAP)}
    histogram[f"{SYNDICATE_HISTOGRAM_CAP}+"] = int(counts[SYNDICATE_HISTOGRAM_CAP])
    return {
        "rounds": int(len(sizes)),
        "mean": float(sizes.mean()),
        "median": float(np.median(sizes)),
        "max": int(sizes.max()),
        "single_share": float(np.mean(sizes == 1)),
        "histogram": histogram,
    }


def date_precision(timestamps: np.ndarray) -> dict:
    """Share of events dated on the first of a month and on January 1st (dates known only coarsely)."""
    if len(timestamps) == 0:
        return {"month_start_share": 0.0, "year_start_share": 0.0}
    dates = np.floor(timestamps).astype(np.int64).astype("datetime64[D]")
    month_start = dates.astype("datetime64[M]").astype("datetime64[D]") == dates
    year_start = dates.astype("datetime64[Y]").astype("datetime64[D]") == dates
    return {"month_start_share": float(month_start.mean()), "year_start_share": float(year_start.mean())}


def new_link_statistics(events: Interactions, start: float, end: float) -> dict:
    """Distinct pairs first linked in the window (start, end], and how many involve a node unseen by ``start``.

    ``evaluable`` counts the new pairs whose company and investor both occur in the history, the
    positives of the temporal ranking diagnostic.
    """
    history = events.timestamps <= start
    window = (events.timestamps > start) & (events.timestamps <= end)
    keys = _pair_keys(events.sources, events.destinations)
    window_keys, first_index = np.unique(keys[window], return_index=True)
    is_new = ~np.isin(window_keys, keys[history])
    sources = events.sources[window][first_index][is_new]
    destinations = events.destinations[window][first_index][is_new]
    seen = np.isin(sources, events.sources[history]) & np.isin(destinations, events.destinations[history])
    n_new = int(is_new.sum())
    return {
        "new_pairs": n_new,
        "unseen_node_share": float(1.0 - seen.mean()) if n_new else 0.0,
        "evaluable": int(seen.sum()),
    }


def coinvestor_pairs(events: Interactions) -> np.ndarray:
    """(P, 2) distinct unordered investor pairs that invested in the same round (lower id first).

    Pairs are formed between events at most ``MAX_COINVESTOR_OFFSET`` apart within a round, which
    covers every pair of any realistic syndicate while bounding the work on malformed giant rounds.
    """
    round_id = _round_ids(events)
    order = np.argsort(round_id, kind="stable")
    round_sorted, investor_sorted = round_id[order], events.destinations[order]
    pairs = []
    for offset in range(1, min(MAX_COINVESTOR_OFFSET, len(order) - 1) + 1):
        same = round_sorted[offset:] == round_sorted[:-offset]
        if not same.any():
            break
        pairs.append(np.stack([investor_sorted[:-offset][same], investor_sorted[offset:][same]], axis=1))
    if not pairs:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = np.sort(np.concatenate(pairs).astype(np.int64), axis=1)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    base = int(pairs[:, 1].max(initial=0)) + 1
    keys = distinct(pairs[:, 0] * base + pairs[:, 1])
    return np.stack([keys // base, keys % base], axis=1)


def cosine_similarity_of_pairs(features: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """(P,) cosine similarity between rows ``left`` and ``right`` of ``features``; 0 for all-zero rows."""
    unit = unit_rows(features)
    return np.einsum("pd,pd->p", unit[left], unit[right])


def _subsample(rows: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    if len(rows) <= n:
        return rows
    return rows[np.sort(rng.choice(len(rows), size=n, replace=False))]


def feature_similarity(data: EventData, n_pairs: int, rng: np.random.Generator) -> dict:
    """Node-feature cosine similarity of true vs random pairs (company–investor and investor–investor).

    Random company–investor pairs keep the companies of the sampled true pairs and draw investors
    uniformly among active investors, as random negative sampling does; random investor pairs are two
    distinct active investors. ``auc`` says how well similarity alone separates true from random pairs.
    """
    events = data.events
    result = {}
    if len(events) == 0:
        return result
    features = data.node_features
    investors = distinct(events.destinations)

    _, first_index = np.unique(_pair_keys(events.sources, events.destinations), return_index=True)
    true_pairs = _subsample(np.stack([events.sources[first_index], events.destinations[first_index]], axis=1),
                            n_pairs, rng)
    random_investors = investors[rng.integers(len(investors), size=len(true_pairs))]
    true_similarity = cosine_similarity_of_pairs(features, true_pairs[:, 0], true_pairs[:, 1])
    random_similarity = cosine_similarity_of_pairs(features, true_pairs[:, 0], random_investors)
    result["company_investor"] = similarity_summary(true_similarity, random_similarity)

    co_pairs = _subsample(coinvestor_pairs(events), n_pairs, rng)
    if len(co_pairs) and len(investors) > 1:
        first = investors[rng.integers(len(investors), size=len(co_pairs))]
        shift = rng.integers(1, len(investors), size=len(co_pairs))
        second = investors[(np.searchsorted(investors, first) + shift) % len(investors)]
        co_similarity = cosine_similarity_of_pairs(features, co_pairs[:, 0], co_pairs[:, 1])
        random_pair_similarity = cosine_similarity_of_pairs(features, first, second)
        result["coinvestors"] = similarity_summary(co_similarity, random_pair_similarity)
    if len(investors) > 1:
        result["lookalikes"] = investor_lookalikes(data, investors, _subsample(investors, LOOKALIKE_SAMPLE, rng))
    return result


def investor_lookalikes(data: EventData, investors: np.ndarray, sample: np.ndarray) -> dict:
    """How often an investor has a feature twin among ``investors``, and how little their portfolios overlap.

    For each investor of ``sample`` (a subset of the sorted active ``investors``) find its most similar
    other active investor by node-feature cosine; report the share above ``LOOKALIKE_COSINE`` and the
    mean Jaccard overlap of the two investors' sets of funded companies.
    """
    events = data.events
    unit = unit_rows(data.node_features[investors])
    rows = np.searchsorted(investors, sample)
    nearest = np.empty(len(rows), dtype=np.int64)
    best = np.empty(len(rows))
    for start in range(0, len(rows), SIMILARITY_CHUNK):
        chunk = rows[start : start + SIMILARITY_CHUNK]
        similarity = unit[chunk] @ unit.T
        similarity[np.arange(len(chunk)), chunk] = -np.inf
        nearest[start : start + len(chunk)] = similarity.argmax(axis=1)
        best[start : start + len(chunk)] = similarity.max(axis=1)
    portfolios = sparse.csr_matrix(
        (np.ones(len(events)), (np.searchsorted(investors, events.destinations), events.sources)),
        shape=(len(investors), data.n_nodes + 1),
    )
    portfolios.data[:] = 1.0  # repeated pairs count once
    sizes = np.asarray(portfolios.sum(axis=1)).ravel()
    overlap = np.asarray(portfolios[rows].multiply(portfolios[nearest]).sum(axis=1)).ravel()
    jaccard = overlap / (sizes[rows] + sizes[nearest] - overlap)
    return {
        "investors": int(len(rows)),
        "twin_cosine": LOOKALIKE_COSINE,
        "twin_share": float(np.mean(best > LOOKALIKE_COSINE)),
        "nearest_cosine_median": float(np.median(best)),
        "nearest_jaccard_mean": float(jaccard.mean()),
    }


def similarity_summary(true_similarity: np.ndarray, random_similarity: np.ndarray) -> dict:
    """Mean similarity of the true ``(P,)`` and random ``(R,)`` pairs (both non-empty), and ``auc``: the
    probability that a true pair is more similar than a random one, ties counting half (0.5: inseparable)."""
    labels = np.concatenate([np.ones(len(true_similarity)), np.zeros(len(random_similarity))])
    return {
        "pairs": int(len(true_similarity)),
        "true_mean": float(true_similarity.mean()),
        "random_mean": float(random_similarity.mean()),
        "auc": float(roc_auc_score(labels, np.concatenate([true_similarity, random_similarity]))),
    }
