"""A synthetic Crunchbase-like funding graph that carries the structure making the real problem hard.

Conventions: timestamps are days since 1970-01-01 (floats holding whole days), companies are node ids
``1..U`` and investors ``U+1..U+I``; every event is (company, investor, day) and the investors of one
round share that round's day.

The generative story, in latent traits and then noisy observations of them:

* **Investors** have a kind (angel, accelerator, VC tier 1/2/3, corporate, growth fund) that sets
  their stage preferences, their taste for company quality and their activity level; a heavy-tailed
  (Pareto) activity; an arrival day; and a co-investment community whose sector focus their own
  sector preferences concentrate around.
* **Companies** have a sector, a latent quality and a founding day. They raise successive rounds
  (seed, A, B, C, growth) at irregular (gamma) intervals while they survive, better companies
  surviving longer; rounds after the end of the observation window are never seen.
* **A round** is a syndicate of 1 to 8 investors at one timestamp: investors of the previous round
  follow on with a kind- and stage-dependent probability; the others are drawn by affinity
  (activity x sector preference x stage preference x tier-versus-quality taste), among investors
  that have arrived, and partly from the community of an investor already in the syndicate.
* **Dates** of a share of rounds are known only to the month or to the year, as in real exports.
* **Observed features** use the importer's kinds of columns (category one-hot, country one-hot, log
  amounts, counts, years active, stage mix, investor type) but are noisy views of the latents, so
  that many investors look alike in their features yet fund different companies.

Everything is vectorised over the rounds of one "wave" (the k-th round of every company), so a
million events take seconds, and the whole output is a deterministic function of the seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tgnrank.data.events import COMPANY, INVESTOR, EventData, Interactions

DEFAULT_COMPANIES = 8000
DEFAULT_INVESTORS = 2500

SECTORS = (
    "fintech", "health", "biotech", "enterprise software", "consumer internet", "e-commerce",
    "cleantech", "hardware", "mobile", "media", "education", "security",
)
STAGES = ("seed", "A", "B", "C", "growth")
INVESTOR_KINDS = ("angel", "accelerator", "VC tier 1", "VC tier 2", "VC tier 3", "corporate", "growth fund")
COUNTRIES = ("USA", "GBR", "CHN", "IND", "DEU", "other")

START_DAY = int(np.datetime64("1995-01-01", "D").astype(np.int64))
END_DAY = int(np.datetime64("2015-12-31", "D").astype(np.int64))
SPAN_DAYS = END_DAY - START_DAY + 1

KIND_SHARE = np.array([0.30, 0.04, 0.06, 0.14, 0.24, 0.11, 0.11])
KIND_ACTIVITY = np.array([0.5, 2.5, 3.0, 1.6, 1.0, 0.6, 1.0])
# Rows: investor kinds; columns: seed, A, B, C, growth.
KIND_STAGE_PREFERENCE = np.array(
    [
        [0.78, 0.18, 0.03, 0.005, 0.005],
        [0.92, 0.06, 0.01, 0.005, 0.005],
        [0.08, 0.34, 0.30, 0.16, 0.12],
        [0.14, 0.40, 0.30, 0.11, 0.05],
        [0.35, 0.40, 0.18, 0.05, 0.02],
        [0.04, 0.24, 0.34, 0.24, 0.14],
        [0.01, 0.04, 0.15, 0.33, 0.47],
    ]
)
# Rows: investor kinds; columns: taste for companies of low, middle and high latent quality.
KIND_QUALITY_TASTE = np.array(
    [
        [1.0, 1.0, 1.0],
        [1.0, 1.0, 1.0],
        [0.15, 0.6, 2.5],
        [0.5, 1.2, 1.1],
        [1.5, 1.0, 0.5],
        [0.7, 1.0, 1.2],
        [0.3, 0.8, 1.8],
    ]
)
# Probability that an investor of the previous round follows on, by kind (scaled down by stage fit).
KIND_FOLLOW_ON = np.array([0.25, 0.18, 0.66, 0.60, 0.50, 0.50, 0.60])
QUALITY_CUTS = np.array([-0.43, 0.43])
COUNTRY_SHARE = np.array([0.64, 0.08, 0.06, 0.05, 0.04, 0.13])

INVESTORS_PER_COMMUNITY = 25
COMMUNITY_FOCUS_CONCENTRATION = 0.25
PREFERENCE_CONCENTRATION = 4.0
PREFERENCE_BACKGROUND = 0.1
ACTIVITY_PARETO_SHAPE = 1.25
ACTIVITY_CAP = 150.0
FOUNDING_INVESTOR_SHARE = 0.15
ECOSYSTEM_GROWTH = 15.0

FIRST_STAGE_SHARE = np.array([0.72, 0.23, 0.05])
FIRST_ROUND_DELAY_DAYS = 180.0
ROUND_INTERVAL_DAYS = 480.0
ROUND_INTERVAL_SHAPE = 2.0
BRIDGE_ROUND_SHARE = 0.15
CONTINUE_BIAS = 0.4
CONTINUE_QUALITY = 0.9
CONTINUE_STAGE = 0.15
MAX_ROUNDS = 15

SYNDICATE_MEAN = np.array([2.6, 2.25, 2.35, 2.35, 2.2])
MAX_SYNDICATE = 8
COMMUNITY_TIE_SHARE = 0.5
CANDIDATES_PER_SLOT = 2

STAGE_LOG_AMOUNT = np.log([0.8e6, 6e6, 15e6, 30e6, 60e6])
AMOUNT_QUALITY = 0.5
AMOUNT_NOISE = 0.7
AMOUNT_MISSING_SHARE = 0.09
MONTH_ONLY_SHARE = 0.30
YEAR_ONLY_SHARE = 0.10

SECTOR_LABEL_NOISE = 0.10
INVESTOR_CATEGORY_NOISE = 0.35
KIND_LABEL_NOISE = 0.15
FEATURE_NOISE = 0.6

NODE_FEATURE_NAMES = (
    ("is_company",)
    + tuple(f"category={sector}" for sector in SECTORS)
    + tuple(f"country={country}" for country in COUNTRIES)
    + ("log_amount", "log_count", "years_active")
    + tuple(f"stage_share={stage}" for stage in ("seed", "A", "B", "later"))
    + tuple(f"investor_type={kind}" for kind in INVESTOR_KINDS)
    + ("log_co_investors",)
)
EDGE_FEATURE_NAMES = ("log1p_amount", "amount_missing") + tuple(f"round={stage}" for stage in STAGES)


@dataclass(frozen=True)
class _Companies:
    """Latent company traits, each of shape (U,)."""

    sector: np.ndarray
    quality: np.ndarray
    quality_bucket: np.ndarray
    founded: np.ndarray
    country: np.ndarray


@dataclass(frozen=True)
class _Investors:
    """Latent investor traits: kind, community, activity, arrival (I,), sector_preference (I, n_sectors)."""

    kind: np.ndarray
    community: np.ndarray
    sector_preference: np.ndarray
    activity: np.ndarray
    arrival: np.ndarray
    country: np.ndarray


@dataclass(frozen=True)
class _Rounds:
    """Funding rounds, each array of shape (R,), stored wave by wave (``wave_bounds`` has n_waves + 1 entries)."""

    company: np.ndarray
    stage: np.ndarray
    day: np.ndarray
    observed_day: np.ndarray
    amount: np.ndarray
    amount_missing: np.ndarray
    wave_bounds: np.ndarray


class _ArrivalSampler:
    """Weighted draws of one item from a group, among the items that have arrived by a given day.

    Entries (group, item, arrival fraction in [0, 1), weight) are sorted by ``group + arrival``, so
    the items of a group available at a day form a prefix of its block, and one ``searchsorted`` over
    the global cumulative weights draws for a whole batch of (group, day) queries.
    """

    def __init__(self, keys: np.ndarray, items: np.ndarray, weights: np.ndarray):
        """Entries (M,) given as keys ``group + arrival``, item ids and positive weights, sorted by key."""
        self.keys = keys
        self.items = items
        self.cumulative = np.cumsum(weights)

    @classmethod
    def from_entries(
        cls, group: np.ndarray, item: np.ndarray, arrival: np.ndarray, weight: np.ndarray
    ) -> "_ArrivalSampler":
        """Sampler over entries in any order (all arrays (M,)); entries of zero weight are dropped."""
        keep = weight > 0
        keys = group[keep] + arrival[keep]
        order = np.argsort(keys, kind="stable")
        return cls(keys[order], item[keep][order], weight[keep][order])

    def sample(self, group: np.ndarray, day_fraction: np.ndarray, uniform: np.ndarray) -> np.ndarray:
        """Item drawn for each query (all arrays (Q,)); -1 where no item of the group has arrived."""
        # Sorted queries walk the tables in order, which is several times faster on large tables.
        order = np.argsort(group + day_fraction, kind="stable")
        group, day_fraction, uniform = group[order].astype(np.float64), day_fraction[order], uniform[order]
        start = np.searchsorted(self.keys, group, side="left")
        end = np.searchsorted(self.keys, group + day_fraction, side="right")
        before = np.where(start > 0, self.cumulative[np.maximum(start - 1, 0)], 0.0)
        through = np.where(end > 0, self.cumulative[np.maximum(end - 1, 0)], 0.0)
        target = before + uniform * (through - before)
        index = np.clip(np.searchsorted(self.cumulative, target, side="right"), start, np.maximum(end - 1, start))
        found = (end > start) & (through > before)
        drawn = np.empty(len(order), dtype=np.int64)
        drawn[order] = np.where(found, self.items[np.minimum(index, len(self.items) - 1)], -1)
        return drawn


def generate_synthetic(
    n_companies: int = DEFAULT_COMPANIES,
    n_investors: int = DEFAULT_INVESTORS,
    seed: int = 0,
    name: str = "synthetic",
) -> EventData:
    """Generate the synthetic funding dataset; the same arguments always give the same arrays.

    The default size gives about 40,000 events; events scale linearly with ``n_companies`` (about
    five per company) when ``n_investors`` grows in proportion.
    """
    if n_companies < 1 or n_investors < 1:
        raise ValueError(f"n_companies ({n_companies}) and n_investors ({n_investors}) must be at least 1")
    rng = np.random.default_rng(seed)
    companies = _draw_companies(rng, n_companies)
    investors = _draw_investors(rng, n_investors)
    rounds = _plan_rounds(rng, companies)
    event_round, event_investor = _assemble_syndicates(rng, rounds, companies, investors)

    order = np.lexsort((event_investor, event_round, rounds.observed_day[event_round]))
    event_round, event_investor = event_round[order], event_investor[order]
    n_events = len(event_round)
    events = Interactions(
        sources=rounds.company[event_round].astype(np.int64) + 1,
        destinations=event_investor.astype(np.int64) + n_companies + 1,
        timestamps=rounds.observed_day[event_round].astype(np.float64),
        edge_idxs=np.arange(1, n_events + 1, dtype=np.int64),
        labels=np.zeros(n_events, dtype=np.int64),
    )
    names, kinds = _node_names(companies, investors)
    return EventData(
        name=name,
        events=events,
        edge_features=_edge_features(rounds, event_round),
        node_features=_node_features(rng, companies, investors),
        node_names=names,
        node_kinds=kinds,
    )


def _draw_companies(rng: np.random.Generator, n: int) -> _Companies:
    quality = rng.standard_normal(n)
    return _Companies(
        sector=rng.integers(len(SECTORS), size=n),
        quality=quality,
        quality_bucket=np.searchsorted(QUALITY_CUTS, quality),
        founded=START_DAY + _growing_fraction(rng, n) * (SPAN_DAYS - FIRST_ROUND_DELAY_DAYS),
        country=rng.choice(len(COUNTRIES), size=n, p=COUNTRY_SHARE),
    )


def _growing_fraction(rng: np.random.Generator, n: int) -> np.ndarray:
    """Fractions in [0, 1) with a density growing exponentially ``ECOSYSTEM_GROWTH``-fold over the window."""
    rate = np.log(ECOSYSTEM_GROWTH)
    return np.log1p(rng.random(n) * (ECOSYSTEM_GROWTH - 1.0)) / rate


def _draw_investors(rng: np.random.Generator, n: int) -> _Investors:
    kind = rng.choice(len(INVESTOR_KINDS), size=n, p=KIND_SHARE)
    n_communities = max(1, n // INVESTORS_PER_COMMUNITY)
    community = rng.integers(n_communities, size=n)
    focus = rng.dirichlet(np.full(len(SECTORS), COMMUNITY_FOCUS_CONCENTRATION), size=n_communities)
    sector_preference = _dirichlet_rows(rng, PREFERENCE_CONCENTRATION * focus[community] + PREFERENCE_BACKGROUND)
    activity = np.minimum(rng.pareto(ACTIVITY_PARETO_SHAPE, size=n) + 1.0, ACTIVITY_CAP) * KIND_ACTIVITY[kind]
    founding = rng.random(n) < FOUNDING_INVESTOR_SHARE
    founding[0] = True  # someone must be there to fund the first rounds
    arrival = np.where(founding, 0.0, _growing_fraction(rng, n) * 0.9)
    return _Investors(
        kind=kind,
        community=community,
        sector_preference=sector_preference,
        activity=activity,
        arrival=arrival,
        country=rng.choice(len(COUNTRIES), size=n, p=COUNTRY_SHARE),
    )


def _dirichlet_rows(rng: np.random.Generator, alpha: np.ndarray) -> np.ndarray:
    """One Dirichlet draw per row of ``alpha`` (N, K), vectorised through normalised gamma variates."""
    draws = rng.gamma(alpha)
    return draws / draws.sum(axis=1, keepdims=True)


def _plan_rounds(rng: np.random.Generator, companies: _Companies) -> _Rounds:
    """Successive rounds of every company, wave by wave, until it stops or the window closes."""
    n = len(companies.sector)
    alive = np.arange(n)
    stage = rng.choice(len(FIRST_STAGE_SHARE), size=n, p=FIRST_STAGE_SHARE)
    day = np.floor(companies.founded + rng.gamma(1.5, FIRST_ROUND_DELAY_DAYS / 1.5, size=n))
    last_observed = np.full(n, -np.inf)
    parts: dict[str, list[np.ndarray]] = {key: [] for key in ("company", "stage", "day", "observed_day")}
    for _ in range(MAX_ROUNDS):
        open_window = day <= END_DAY
        alive, stage, day = alive[open_window], stage[open_window], day[open_window]
        if len(alive) == 0:
            break
        coarse = _coarsen_dates(rng, day)
        # A coarse date must not reach back to the previous round (which would merge two syndicates);
        # the exact day always lies after it.
        observed = np.where(coarse > last_observed[alive], coarse, day)
        last_observed[alive] = observed
        for key, value in (("company", alive), ("stage", stage), ("day", day), ("observed_day", observed)):
            parts[key].append(value)
        logit = CONTINUE_BIAS + CONTINUE_QUALITY * companies.quality[alive] - CONTINUE_STAGE * stage
        survives = rng.random(len(alive)) < 1.0 / (1.0 + np.exp(-logit))
        advances = rng.random(len(alive)) >= BRIDGE_ROUND_SHARE
        next_stage = np.minimum(stage + advances, len(STAGES) - 1)
        next_day = day + np.floor(
            rng.gamma(ROUND_INTERVAL_SHAPE, ROUND_INTERVAL_DAYS / ROUND_INTERVAL_SHAPE, size=len(alive))
        ) + 1
        alive, stage, day = alive[survives], next_stage[survives], next_day[survives]

    company = _concatenate(parts["company"], np.int64)
    stage = _concatenate(parts["stage"], np.int64)
    n_rounds = len(company)
    log_amount = (
        STAGE_LOG_AMOUNT[stage]
        + AMOUNT_QUALITY * companies.quality[company]
        + AMOUNT_NOISE * rng.standard_normal(n_rounds)
    )
    return _Rounds(
        company=company,
        stage=stage,
        day=_concatenate(parts["day"], np.float64),
        observed_day=_concatenate(parts["observed_day"], np.float64),
        amount=np.round(np.exp(log_amount), -3),
        amount_missing=rng.random(n_rounds) < AMOUNT_MISSING_SHARE,
        wave_bounds=np.cumsum([0] + [len(part) for part in parts["company"]]),
    )


def _concatenate(parts: list[np.ndarray], dtype) -> np.ndarray:
    """Concatenation that also accepts no parts at all (tiny populations may raise no round)."""
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype=dtype)


def _coarsen_dates(rng: np.random.Generator, day: np.ndarray) -> np.ndarray:
    """Replace a share of days by the first day of their month or of their year."""
    dates = day.astype(np.int64).astype("datetime64[D]")
    month_start = dates.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    year_start = dates.astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
    precision = rng.random(len(day))
    coarse = np.where(precision < YEAR_ONLY_SHARE, year_start, month_start)
    return np.where(precision < YEAR_ONLY_SHARE + MONTH_ONLY_SHARE, coarse, day).astype(np.float64)


def _assemble_syndicates(
    rng: np.random.Generator, rounds: _Rounds, companies: _Companies, investors: _Investors
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
        wave_round, wave_investor = _fill_syndicates(
            first, n_new, follow_round, follow_investor, lead_round, lead_investor, candidate_round, candidate_investor,
            len(investors.kind),
        )
        event_rounds.append(wave_round)
        event_investors.append(wave_investor)
        previous_round, previous_investor = wave_round, wave_investor
    return _concatenate(event_rounds, np.int64), _concatenate(event_investors, np.int64)


def _cell_index(sector: np.ndarray, stage: np.ndarray, quality_bucket: np.ndarray) -> np.ndarray:
    """Row-major index into (sectors, stages, quality buckets), the layout of the cell weights."""
    return (sector * len(STAGES) + stage) * (len(QUALITY_CUTS) + 1) + quality_bucket


def _affinity_samplers(investors: _Investors) -> tuple[_ArrivalSampler, _ArrivalSampler]:
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
    cell_sampler = _ArrivalSampler(
        keys=(np.arange(n_cells, dtype=np.float64)[:, None] + investors.arrival[by_arrival][None, :]).ravel(),
        items=np.tile(by_arrival, n_cells),
        weights=cell_weight[by_arrival].T.ravel(),
    )
    community_weight = investors.activity[:, None] * stage_fit
    community_group = investors.community[:, None] * n_stages + np.arange(n_stages)[None, :]
    community_sampler = _ArrivalSampler.from_entries(
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
    cell_sampler: _ArrivalSampler,
    community_sampler: _ArrivalSampler,
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


def _fill_syndicates(
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


def _edge_features(rounds: _Rounds, event_round: np.ndarray) -> np.ndarray:
    """(n_events + 1, 2 + n_stages): log1p(round amount) or 0, amount-missing flag, round type one-hot."""
    features = np.zeros((len(event_round) + 1, len(EDGE_FEATURE_NAMES)), dtype=np.float32)
    missing = rounds.amount_missing[event_round]
    features[1:, 0] = np.where(missing, 0.0, np.log1p(rounds.amount[event_round]))
    features[1:, 1] = missing
    features[np.arange(1, len(event_round) + 1), 2 + rounds.stage[event_round]] = 1.0
    return features


def _node_features(rng: np.random.Generator, companies: _Companies, investors: _Investors) -> np.ndarray:
    """(U + I + 1, len(NODE_FEATURE_NAMES)) standardised noisy views of the latents; row 0 is zero."""
    raw = np.vstack([_company_features(rng, companies), _investor_features(rng, investors)])
    spread = raw.std(axis=0)
    standardised = (raw - raw.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
    return np.vstack([np.zeros((1, raw.shape[1])), standardised]).astype(np.float32)


def _column(name: str) -> int:
    return NODE_FEATURE_NAMES.index(name)


def _company_features(rng: np.random.Generator, companies: _Companies) -> np.ndarray:
    n = len(companies.sector)
    raw = np.zeros((n, len(NODE_FEATURE_NAMES)))
    relabel = rng.random(n) < SECTOR_LABEL_NOISE
    category = np.where(relabel, rng.integers(len(SECTORS), size=n), companies.sector)
    rows = np.arange(n)
    raw[:, _column("is_company")] = 1.0
    raw[rows, _column(f"category={SECTORS[0]}") + category] = 1.0
    raw[rows, _column(f"country={COUNTRIES[0]}") + companies.country] = 1.0
    noise = FEATURE_NOISE * rng.standard_normal((n, 3))
    raw[:, _column("log_amount")] = STAGE_LOG_AMOUNT[1] + 1.2 * companies.quality + noise[:, 0]
    raw[:, _column("log_count")] = np.log1p(np.exp(0.5 * companies.quality + noise[:, 1]))
    raw[:, _column("years_active")] = np.maximum((END_DAY - companies.founded) / 365.25 + 2 * noise[:, 2], 0.0)
    return raw


def _investor_features(rng: np.random.Generator, investors: _Investors) -> np.ndarray:
    n = len(investors.kind)
    raw = np.zeros((n, len(NODE_FEATURE_NAMES)))
    rows = np.arange(n)
    declared = np.argmax(investors.sector_preference, axis=1)
    cumulative = np.cumsum(investors.sector_preference, axis=1)
    sampled = np.minimum((cumulative < rng.random(n)[:, None]).sum(axis=1), len(SECTORS) - 1)
    category = np.where(rng.random(n) < INVESTOR_CATEGORY_NOISE, sampled, declared)
    raw[rows, _column(f"category={SECTORS[0]}") + category] = 1.0
    raw[rows, _column(f"country={COUNTRIES[0]}") + investors.country] = 1.0

    stage_fit = KIND_STAGE_PREFERENCE[investors.kind]
    stage_mix = _dirichlet_rows(rng, 8.0 * stage_fit + 0.2)
    raw[:, _column("stage_share=seed") : _column("stage_share=later")] = stage_mix[:, :3]
    raw[:, _column("stage_share=later")] = stage_mix[:, 3:].sum(axis=1)
    noise = FEATURE_NOISE * rng.standard_normal((n, 4))
    raw[:, _column("log_amount")] = stage_mix @ STAGE_LOG_AMOUNT + noise[:, 0]
    raw[:, _column("log_count")] = np.log(investors.activity) + noise[:, 1]
    raw[:, _column("years_active")] = np.maximum((1.0 - investors.arrival) * SPAN_DAYS / 365.25 + 2 * noise[:, 2], 0.0)
    raw[:, _column("log_co_investors")] = np.log(investors.activity) + noise[:, 3]

    mislabel = rng.random(n) < KIND_LABEL_NOISE
    shown_kind = np.where(mislabel, rng.integers(len(INVESTOR_KINDS), size=n), investors.kind)
    raw[rows, _column(f"investor_type={INVESTOR_KINDS[0]}") + shown_kind] = 1.0
    return raw


def _node_names(companies: _Companies, investors: _Investors) -> tuple[np.ndarray, np.ndarray]:
    """Names like "Company 0042 (fintech)" / "Investor 0007 (VC tier 1)" and kinds, entry 0 empty."""
    n_companies, n_investors = len(companies.sector), len(investors.kind)
    company_width = max(4, len(str(n_companies - 1)))
    investor_width = max(4, len(str(n_investors - 1)))
    sector_names = np.array(SECTORS, dtype=object)[companies.sector]
    kind_names = np.array(INVESTOR_KINDS, dtype=object)[investors.kind]
    company_names = [f"Company {k:0{company_width}d} ({s})" for k, s in enumerate(sector_names)]
    investor_names = [f"Investor {k:0{investor_width}d} ({t})" for k, t in enumerate(kind_names)]
    names = np.array([""] + company_names + investor_names, dtype=object)
    kinds = np.array([""] + [COMPANY] * n_companies + [INVESTOR] * n_investors, dtype=object)
    return names, kinds
