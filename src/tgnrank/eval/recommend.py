"""Recommendations: the investors a trained model ranks highest to newly invest in one company.

The model replays the history (every event with t <= ``at``) through its memory and scores the
company against every investor of that history at ``at``, exactly as the diagnostic scores its
candidates (:mod:`tgnrank.eval.scoring`): a one-company candidate grid, per-node embeddings once,
projections, one block of scores. The company's past investors (linked in the history) are excluded,
so every recommendation is a new link.

The model was trained against sampled negatives, so its sigmoid is not the probability that an investor
invests; each recommendation reports instead the model's score (its logit, only comparable with other
scores of the same model), the investor's rank among all the company's candidate investors (1 = best)
and its percentile among them.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from tgnrank.data.arrays import distinct
from tgnrank.data.dates import EPOCH, day_to_iso
from tgnrank.data.events import COMPANY, EventData
from tgnrank.errors import ConfigError, TgnrankError
from tgnrank.eval.calibration import Calibration
from tgnrank.eval.protocol import CandidateSet

MAX_SUGGESTIONS = 8
SHOWN_PAST_INVESTORS = 10
SCORE_MEANING = (
    "the model's logit, an uncalibrated ranking score comparable only within one model; rank is the place "
    "among all the company's candidate investors (1 = best) and percentile the share (0-100) of those "
    "candidates scoring strictly lower"
)
FUSED_SCORE_MEANING = (
    "the learned fusion's score (LightGBM lambdarank over the history's pair features and the model's logit), "
    "a ranking score comparable only within one fusion; rank is the place among all the company's candidate "
    "investors (1 = best) and percentile the share (0-100) of those candidates scoring strictly lower"
)
MODEL, FUSION = "model", "fusion"


@dataclass(frozen=True)
class Recommendation:
    """One recommended investor and whether it did invest after ``at``.

    ``rank`` is its place among all the company's candidate investors (1 = best, ties broken by investor
    id); ``score`` the model's logit; ``percentile`` the share (0-100) of those candidates scoring
    strictly lower; ``p_new_link`` the calibrated probability when a calibration is given
    (:mod:`tgnrank.eval.calibration`), else None.
    """

    rank: int
    investor_id: int
    investor: str
    score: float
    percentile: float
    invested_later: bool
    p_new_link: float | None = None


@dataclass(frozen=True)
class Recommendations:
    """The top investors for ``company`` at time ``at`` (days), best first.

    ``past_investors`` are the names excluded (linked before ``at``); ``n_candidates`` is the number of
    investors ranked; ``n_later_events`` counts the dataset's events after ``at`` (0 at the end of the
    data, when ``invested_later`` is always False); ``calibration`` is the map behind ``p_new_link``.
    ``ranker`` says which scores rank (``model`` or ``fusion``); with the fusion, ``fused`` is its scorer
    over the one-company grid (row 0), kept for the explanations' contributions.
    """

    company_id: int
    company: str
    at: float
    n_history_events: int
    past_investors: list[str]
    n_candidates: int
    n_later_events: int
    items: list[Recommendation]
    calibration: Calibration | None = None
    ranker: str = MODEL
    fused: object | None = None

    @property
    def score_meaning(self) -> str:
        return FUSED_SCORE_MEANING if self.ranker == FUSION else SCORE_MEANING


def parse_at(text: str | None, data: EventData) -> float:
    """``--at``: a date YYYY-MM-DD (days since 1970-01-01, as the importer stores time) or a number of
    days; None means the end of the data (the last event's time)."""
    last = float(np.max(data.events.timestamps))
    if text is None:
        return last
    try:
        at = float(text)
    except ValueError:
        try:
            at = float((np.datetime64(text.strip(), "D") - EPOCH).astype(np.int64))
        except ValueError:
            at = np.nan
    if not np.isfinite(at):
        raise ConfigError(
            f"at must be a date YYYY-MM-DD or a number of days since 1970-01-01, got {text!r}", parameters=("at",)
        )
    first = float(np.min(data.events.timestamps))
    if at < first:
        raise ConfigError(
            f"at {text} is before the first event of '{data.name}' ({day_to_iso(first)}, day {first:g}): "
            "there is no history to recommend from",
            parameters=("at",),
        )
    return at


def find_company(data: EventData, name: str) -> int:
    """The node id of the company called ``name`` (case-insensitive), or ``#ID`` for an id.

    Raises ConfigError naming the setting ``company`` with the closest names when there is no such
    company, and with the ids when several companies share the name.
    """
    return find_node(data, name, COMPANY, "company")


def find_node(data: EventData, name: str, kind: str, parameter: str) -> int:
    """The node id of the ``kind`` node called ``name`` (case-insensitive), or ``#ID``; errors name ``parameter``.

    The messages say ``kind`` only in the plural and quote every node name, so that spelling
    ``parameter`` as a flag (``company`` -> ``--company``) touches nothing else.
    """
    query = name.strip()
    kinds = "companies" if kind == COMPANY else f"{kind}s"
    node_ids = np.flatnonzero(data.node_kinds == kind)
    named = (parameter,)
    if query.startswith("#") and query[1:].isdigit():
        node = int(query[1:])
        if node not in set(node_ids.tolist()):
            raise ConfigError(
                f"{parameter} {name!r}: node {node} is not one of the {kinds} of dataset '{data.name}'", named
            )
        return node
    names = [str(data.node_names[node]) for node in node_ids]
    matches = [int(node) for node, text in zip(node_ids, names) if text.lower() == query.lower()]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise ConfigError(
            f"{parameter} {name!r}: {len(matches)} {kinds} have that name (ids {', '.join(map(str, matches))}); "
            f"pass one as {parameter} '#ID'",
            named,
        )
    suggestions = company_suggestions(names, query)
    hint = f"did you mean: {'; '.join(map(repr, suggestions))}?" if suggestions else "no similar name found"
    raise ConfigError(
        f"{parameter} {name!r}: none of the {len(names):,} {kinds} of dataset '{data.name}' has that name; {hint}",
        named,
    )


def company_suggestions(names: list[str], query: str, n: int = MAX_SUGGESTIONS) -> list[str]:
    """Up to ``n`` names containing ``query`` (shortest first), then names close to it (difflib), case-insensitive."""
    by_lower: dict[str, str] = {}
    for text in names:
        by_lower.setdefault(text.lower(), text)
    lowered = query.lower()
    containing = sorted((text for text in by_lower if lowered and lowered in text), key=len)[:n]
    close = difflib.get_close_matches(lowered, list(by_lower), n=n, cutoff=0.6)
    ordered = list(dict.fromkeys(containing + close))
    return [by_lower[text] for text in ordered[:n]]


def company_grid(history, company_id: int, at: float) -> CandidateSet:
    """The one-company candidate grid: ``company_id`` against every investor of ``history``, its past
    investors marked as history links. It has no positives (nothing is evaluated)."""
    investors = distinct(history.destinations)
    past = distinct(history.destinations[history.sources == company_id])
    columns = np.searchsorted(investors, past)
    links = sparse.csr_matrix(
        (np.ones(len(columns), dtype=bool), (np.zeros(len(columns), dtype=np.int64), columns)),
        shape=(1, len(investors)),
    )
    links.sort_indices()
    empty = np.empty(0, dtype=np.int64)
    return CandidateSet(
        window="recommend", t_start=float(at), t_end=float(at), history=history,
        companies=np.array([company_id], dtype=np.int64), investors=investors, history_links=links,
        positive_rows=empty, positive_cols=empty,
    )


def recommend_investors(
    checkpoint: dict,
    data: EventData,
    company_id: int,
    at: float,
    k: int = 20,
    device=None,
    batch_size: int | None = None,
    calibration: Calibration | None = None,
    fusion=None,
) -> Recommendations:
    """The ``k`` investors with the highest model scores for ``company_id`` at ``at``, past investors excluded.

    Ties are broken by investor id. ``batch_size`` is the replay batch (default: the training one).
    With ``calibration``, each investor also gets its calibrated probability of a new link. With
    ``fusion`` (a :class:`~tgnrank.eval.fusion.FusedRanker`), its scores rank instead, the model's logit
    feeding its model feature (:mod:`tgnrank.eval.explain_fusion`).
    """
    import torch

    from tgnrank.eval.scoring import model_scorer_from_checkpoint

    if k < 1:
        raise ConfigError(f"k must be an integer >= 1, got {k}", parameters=("k",))
    if calibration is not None and fusion is not None:
        raise ConfigError(
            "calibrate calibrates the model's score; it cannot be combined with fusion", parameters=("calibrate", "fusion")
        )
    if calibration is not None and calibration.t_end > at:
        raise ConfigError(
            f"calibrate fits on the validation window ending {day_to_iso(calibration.t_end)}, after at "
            f"{day_to_iso(at)}: it would use links from after the recommendation time; pass a later at",
            parameters=("calibrate", "at"),
        )
    events = data.events
    history = events.select(events.timestamps <= at)
    if len(history) == 0:
        raise TgnrankError(
            f"no event at or before day {at:g} ({day_to_iso(at)}): there is no history to recommend from"
        )
    grid = company_grid(history, company_id, at)
    scorer, _ = model_scorer_from_checkpoint(checkpoint, data, grid, device or torch.device("cpu"), batch_size)
    if fusion is not None:
        from tgnrank.eval.explain_fusion import fused_scorer

        scorer = fused_scorer(fusion, scorer, grid, data)
    logits = np.asarray(scorer.score_block(0, 1)[0], dtype=np.float64)
    candidate_columns = np.flatnonzero(grid.block_mask(0, 1)[0])
    order, percentiles = rank_candidates(logits[candidate_columns], grid.investors[candidate_columns])
    order, percentiles = candidate_columns[order[:k]], percentiles[:k]

    later = events.timestamps > at
    later_investors = set(events.destinations[later & (events.sources == company_id)].tolist())
    calibrated = calibration(logits[order]).tolist() if calibration is not None else [None] * len(order)
    items = [
        Recommendation(
            rank=rank,
            investor_id=int(grid.investors[column]),
            investor=str(data.node_names[grid.investors[column]]),
            score=float(logits[column]),
            percentile=float(percentile),
            invested_later=int(grid.investors[column]) in later_investors,
            p_new_link=p_new_link,
        )
        for rank, (column, percentile, p_new_link) in enumerate(
            zip(order.tolist(), percentiles.tolist(), calibrated), 1
        )
    ]
    past_ids = grid.investors[grid.history_links.indices]
    return Recommendations(
        company_id=int(company_id),
        company=str(data.node_names[company_id]),
        at=float(at),
        n_history_events=len(history),
        past_investors=[str(data.node_names[node]) for node in past_ids],
        n_candidates=len(candidate_columns),
        n_later_events=int(np.count_nonzero(later)),
        items=items,
        calibration=calibration,
        ranker=MODEL if fusion is None else FUSION,
        fused=scorer if fusion is not None else None,
    )


def rank_candidates(scores: np.ndarray, investor_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rank one company's candidates: ``scores`` and ``investor_ids`` are (N,).

    Returns ``order`` (N,), the candidate positions best first (ties broken by investor id, so position
    ``r`` holds rank ``r + 1``), and ``percentiles`` (N,) aligned with ``order``: 100 times the share of
    the N candidates whose score is strictly lower (tied candidates share a percentile).
    """
    order = np.lexsort((investor_ids, -scores))
    ascending = np.sort(scores)
    below = np.searchsorted(ascending, scores[order], side="left")
    return order, 100.0 * below / max(len(scores), 1)


def recommendations_json(recommendations: Recommendations) -> dict:
    """The recommendations as the JSON object ``tgnrank recommend --format json`` prints (dates ISO)."""
    r = recommendations
    rows = []
    for item in r.items:
        row = dataclasses.asdict(item)
        p_new_link = row.pop("p_new_link")
        if r.calibration is not None:
            row[r.calibration.field] = p_new_link
        rows.append(row)
    calibration = {} if r.calibration is None else {"calibration": r.calibration.describe()}
    return {
        "company_id": r.company_id,
        "company": r.company,
        "at": day_to_iso(r.at),
        "at_day": r.at,
        "n_history_events": r.n_history_events,
        "n_candidates": r.n_candidates,
        "n_later_events": r.n_later_events,
        "past_investors": list(r.past_investors),
        "ranker": r.ranker,
        "score_meaning": r.score_meaning,
        **calibration,
        "recommendations": rows,
    }


def format_recommendations(recommendations: Recommendations) -> str:
    """The recommendations as the text ``tgnrank recommend`` prints."""
    r = recommendations
    past = r.past_investors
    shown = ", ".join(past[:SHOWN_PAST_INVESTORS]) + (f", ... ({len(past) - SHOWN_PAST_INVESTORS} more)"
                                                       if len(past) > SHOWN_PAST_INVESTORS else "")
    lines = [
        f"Investors most likely to newly invest in {r.company} (id {r.company_id}), as of {day_to_iso(r.at)} "
        f"(day {r.at:g}; history of {r.n_history_events:,} events; {r.n_candidates:,} candidate investors)",
        f"Excluded: its {len(past)} past investor(s){': ' + shown if past else ''}",
        f"score: {r.score_meaning}",
        *([r.calibration.describe()] if r.calibration is not None else []),
        "",
    ]
    with_later = r.n_later_events > 0
    width = max([len("investor"), *(len(item.investor) for item in r.items)])
    field = r.calibration.field if r.calibration is not None else None
    header = f"{'rank':>4}  {'investor'.ljust(width)}  {'score':>8}  {'percentile':>10}"
    header += f"  {field}" if field else ""
    lines.append(header + ("  invested later" if with_later else ""))
    lines.append("-" * len(lines[-1]))
    for item in r.items:
        line = f"{item.rank:>4}  {item.investor.ljust(width)}  {item.score:>8.3f}  {item.percentile:>10.2f}"
        if field:
            line += f"  {item.p_new_link:>{len(field)}.4f}"
        lines.append((line + ("  yes" if item.invested_later else "")).rstrip())
    if with_later:
        hits = sum(item.invested_later for item in r.items)
        lines += ["", f"{hits} of these {len(r.items)} invested in {r.company} after {day_to_iso(r.at)} "
                      f"(the data holds {r.n_later_events:,} later events)."]
    return "\n".join(lines)
