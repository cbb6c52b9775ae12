"""The investors of every round: follow-ons from the previous round, a lead drawn by affinity, and the
other seats filled from the lead's community or by affinity.
"""

from __future__ import annotations

import numpy as np

from tgnrank.data.synthetic.arrival import ArrivalSampler
from tgnrank.data.synthetic.latents import Companies, Investors
from tgnrank.data.synthetic.parameters import (
    CANDIDATES_PER_SLOT,
    COMMUNITY_TIE_SHARE,
    KIND_FOLLOW_ON,
    KIND_QUALITY_TASTE,
    KIND_STAGE_PREFERENCE,
    MAX_SYNDICATE,
    QUALITY_CUTS,
    SPAN_DAYS,
    STAGES,
    START_DAY,
    SYNDICATE_MEAN,
)
from tgnrank.data.synthetic.rounds import Rounds, concatenate


def assemble_syndicates(
    rng: np.random.Generator, rounds: Rounds, companies: Companies, investors: Investors
) -> tuple[np.ndarray, np.ndarray]:
    """Investors of every round: (event_round, event_investor), both (n_events,)."""
    cell_sampler, community_sampler = _affinity_samplers(investors)
    round_company = rounds.company
    cell = _cell_index(companies.sector[round_company], rounds.stage, companies.quality_bucket[round_company])
    day_fraction = np.clip((rounds.day - START_DAY) / SPAN_DAYS, 0.0, 1.0 - 1e-9)
    follow_probability = _follow_on_probability()

    current_round_of_company = np.full(len(companies.sector), -1)
    previous_round = np.zeros(0, dtype=np.int64)
    previous_investor = np.zeros(0, dtype=np.int64)
    event_rounds, event_investors = [], []
    for first, last in zip(rounds.wave_bounds[:-1], rounds.wave_bounds[1:]):
        wave = np.arange(first, last)
        current_round_of_company[round_company[previous_round]] = -1
        current_round_of_company[round_company[wave]] = wave

        target = current_round_of_company[round_company[previous_round]]
        has_next = target >= 0
        probability = np.where(
            has_next, follow_probability[investors.kind[previous_investor], rounds.stage[np.maximum(target, 0)]], 0.0
        )
        follows = rng.random(len(previous_round)) < probability
        follow_round, follow_investor = target[follows], previous_investor[follows]

        size = np.minimum(rng.geometric(1.0 / SYNDICATE_MEAN[rounds.stage[wave]]), MAX_SYNDICATE)
        n_follow = np.bincount(follow_round - first, minlength=len(wave))
        n_new = np.maximum(size - n_follow, 0)

        anchor = np.full(len(wave), -1)
        anchor[follow_round[::-1] - first] = follow_investor[::-1]
        needs_lead = anchor < 0
        anchor[needs_lead] = cell_sampler.sample(
            cell[wave[needs_lead]], day_fraction[wave[needs_lead]], rng.random(int(needs_lead.sum()))
        )
        lead_round = wave[needs_lead & (anchor >= 0)]
        lead_investor = anchor[needs_lead & (anchor >= 0)]

        n_candidates = np.where(n_new > 0, CANDIDATES_PER_SLOT * n_new + 1, 0)
        candidate_round = np.repeat(wave, n_candidates)
        candidate_investor = _draw_members(
            rng, candidate_round, anchor[candidate_round - first], rounds.stage, cell, day_fraction,
            investors.community, cell_sampler, community_sampler,
        )
        wave_round, wave_investor = fill_syndicates(
            first, n_new, follow_round, follow_investor, lead_round, lead_investor, candidate_round, candidate_investor,
            len(investors.kind),
        )
        event_rounds.append(wave_round)
        event_investors.append(wave_investor)
        previous_round, previous_investor = wave_round, wave_investor
    return concatenate(event_rounds, np.int64), concatenate(event_investors, np.int64)


def _cell_index(sector: np.ndarray, stage: np.ndarray, quality_bucket: np.ndarray) -> np.ndarray:
    """Row-major index into (sectors, stages, quality buckets), the layout of the cell weights."""
    return (sector * len(STAGES) + stage) * (len(QUALITY_CUTS) + 1) + quality_bucket


def _affinity_samplers(investors: Investors) -> tuple[ArrivalSampler, ArrivalSampler]:
    """Samplers for (sector, stage, quality bucket) cells (see ``_cell_index``) and (community, stage) groups."""
    n_investors, n_stages = len(investors.kind), len(STAGES)
    stage_fit = KIND_STAGE_PREFERENCE[investors.kind]  # (I, stages)
    taste = KIND_QUALITY_TASTE[investors.kind]  # (I, buckets)
    cell_weight = (
        investors.activity[:, None, None, None]
        * investors.sector_preference[:, :, None, None]
        * stage_fit[:, None, :, None]
        * taste[:, None, None, :]
    ).reshape(n_investors, -1)
    n_cells = cell_weight.shape[1]
    by_arrival = np.argsort(investors.arrival, kind="stable")
    # Cell-major, arrival-ordered entries are sorted by construction, sparing a sort of n_cells x I keys
    # (a zero weight, if any, adds no mass and is never drawn).
    cell_sampler = ArrivalSampler(
        keys=(np.arange(n_cells, dtype=np.float64)[:, None] + investors.arrival[by_arrival][None, :]).ravel(),
        items=np.tile(by_arrival, n_cells),
        weights=cell_weight[by_arrival].T.ravel(),
    )
    community_weight = investors.activity[:, None] * stage_fit
    community_group = investors.community[:, None] * n_stages + np.arange(n_stages)[None, :]
    community_sampler = ArrivalSampler.from_entries(
        group=community_group.ravel().astype(np.float64),
        item=np.repeat(np.arange(n_investors), n_stages),
        arrival=np.repeat(investors.arrival, n_stages),
        weight=community_weight.ravel(),
    )
    return cell_sampler, community_sampler


def _follow_on_probability() -> np.ndarray:
    """(kinds, stages): follow-on probability, lower where the next round's stage suits the kind less."""
    fit = KIND_STAGE_PREFERENCE / KIND_STAGE_PREFERENCE.max(axis=1, keepdims=True)
    return KIND_FOLLOW_ON[:, None] * (0.4 + 0.6 * fit)


def _draw_members(
    rng: np.random.Generator,
    candidate_round: np.ndarray,
    anchor: np.ndarray,
    round_stage: np.ndarray,
    cell: np.ndarray,
    day_fraction: np.ndarray,
    community: np.ndarray,
    cell_sampler: ArrivalSampler,
    community_sampler: ArrivalSampler,
) -> np.ndarray:
    """Candidate investors for the open seats: from the anchor's community or by affinity; -1 if none."""
    n = len(candidate_round)
    use_tie = (rng.random(n) < COMMUNITY_TIE_SHARE) & (anchor >= 0)
    uniform = rng.random(n)
    drawn = np.full(n, -1)
    tie_round = candidate_round[use_tie]
    drawn[use_tie] = community_sampler.sample(
        community[anchor[use_tie]] * len(STAGES) + round_stage[tie_round], day_fraction[tie_round], uniform[use_tie]
    )
    free_round = candidate_round[~use_tie]
    drawn[~use_tie] = cell_sampler.sample(cell[free_round], day_fraction[free_round], uniform[~use_tie])
    return drawn


def fill_syndicates(
    first: int,
    n_new: np.ndarray,
    follow_round: np.ndarray,
    follow_investor: np.ndarray,
    lead_round: np.ndarray,
    lead_investor: np.ndarray,
    candidate_round: np.ndarray,
    candidate_investor: np.ndarray,
    n_investors: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Keep follow-ons, then leads, then the first distinct candidates until each round has its new seats.

    Rounds are numbered globally; ``first`` is the first round of the wave and ``n_new`` (rounds in the
    wave,) the seats beyond the follow-ons. Returns (event_round, event_investor) for the wave.
    """
    rounds = np.concatenate([follow_round, lead_round, candidate_round])
    people = np.concatenate([follow_investor, lead_investor, candidate_investor])
    is_new = np.concatenate(
        [np.zeros(len(follow_round), bool), np.ones(len(lead_round) + len(candidate_round), bool)]
    )
    priority = np.arange(len(rounds))
    valid = people >= 0
    rounds, people, is_new, priority = rounds[valid], people[valid], is_new[valid], priority[valid]

    key = rounds * n_investors + people
    order = np.lexsort((priority, key))
    first_seen = np.ones(len(order), bool)
    first_seen[1:] = key[order][1:] != key[order][:-1]
    distinct = np.zeros(len(key), bool)
    distinct[order[first_seen]] = True

    new_order = np.flatnonzero(distinct & is_new)
    new_order = new_order[np.lexsort((priority[new_order], rounds[new_order]))]
    new_rounds = rounds[new_order]
    round_start = np.searchsorted(new_rounds, new_rounds, side="left")
    seat = np.arange(len(new_order)) - round_start
    seated = new_order[seat < n_new[new_rounds - first]]

    keep = np.concatenate([np.flatnonzero(distinct & ~is_new), seated])
    return rounds[keep], people[keep]
