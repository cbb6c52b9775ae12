"""Amount and stage columns found by name, and the two pair features built on them, computed by hand."""

import numpy as np
import pytest

from tgnrank.eval.pair_features import FEATURE_NAMES, PairFeatures
from tgnrank.eval.protocol import build_candidates
from tgnrank.eval.round_columns import RoundColumns
from tgnrank.data.events import Interactions

EDGE_NAMES = ("log1p_amount", "amount_missing", "stage=seed", "stage=a", "stage=b", "round_type=x")


def test_columns_are_found_by_name_with_ordered_stages_first():
    columns = RoundColumns.from_names(EDGE_NAMES)
    assert (columns.amount, columns.amount_missing, columns.stages) == (0, 1, (2, 3, 4))
    synthetic = RoundColumns.from_names(("log1p_amount", "amount_missing", "round=seed", "round=A"))
    assert synthetic.stages == (2, 3)
    assert RoundColumns.from_names(("edge_feature_0",)) == RoundColumns()


def test_amounts_are_nan_where_missing_and_next_stage_steps_one_column_on():
    columns = RoundColumns.from_names(EDGE_NAMES)
    rows = np.array([
        [3.0, 0.0, 1.0, 0.0, 0.0, 0.0],  # seed, amount known
        [0.0, 1.0, 0.0, 0.0, 1.0, 0.0],  # stage b (the latest), amount missing
        [2.0, 0.0, 0.0, 0.0, 0.0, 1.0],  # no stage
    ])
    assert columns.amounts(rows)[:1].tolist() == [3.0] and np.isnan(columns.amounts(rows)[1:2]).all()
    assert columns.next_stage(rows).tolist() == [[0, 1, 0], [0, 0, 1], [0, 0, 0]]
    assert np.isnan(RoundColumns().amounts(rows)).all()


def _events(rows) -> Interactions:
    rows = sorted(rows, key=lambda row: row[2])
    n = len(rows)
    return Interactions(
        np.array([r[0] for r in rows]), np.array([r[1] for r in rows]), np.array([r[2] for r in rows], dtype=float),
        np.arange(1, n + 1), np.zeros(n),
    )


def test_amount_gap_and_next_stage_share_match_hand_computed_values():
    # Company 1 raised a seed round of amount 2 with investor 4 (t=0). Investor 5 did an "a" round of
    # amount 5 (company 2, t=10) and a seed round with unknown amount (company 3, t=0); investor 4's
    # only deal is company 1's. Window (10, 20]: 1-5 is new.
    events = _events([(1, 4, 0.0), (2, 5, 10.0), (3, 5, 0.0), (1, 5, 15.0)])
    candidates = build_candidates(events, 10.0, 20.0)
    assert list(candidates.companies) == [1] and list(candidates.investors) == [4, 5]
    edge = np.zeros((5, len(EDGE_NAMES)))
    edge[1] = [2.0, 0.0, 1.0, 0.0, 0.0, 0.0]  # events in time order: 1-4, 3-5, 2-5, 1-5
    edge[2] = [0.0, 1.0, 1.0, 0.0, 0.0, 0.0]
    edge[3] = [5.0, 0.0, 0.0, 1.0, 0.0, 0.0]
    features = PairFeatures.from_candidates(candidates, np.zeros((6, 1)), edge, half_life=10.0, edge_names=EDGE_NAMES)
    block = features.block(0, 1)[0]
    # Company 1's last round: amount 2. Investor 4's mean known amount 2, investor 5's 5 (the seed one is unknown).
    assert block[:, FEATURE_NAMES.index("amount_gap")].tolist() == pytest.approx([0.0, -3.0])
    # After company 1's seed round comes "a". Investor 5's deals decayed: seed 10 days ago (0.5), a now (1):
    # a-share 1 / 1.5. Investor 4's only deal was a seed round.
    assert block[:, FEATURE_NAMES.index("next_stage_share")].tolist() == pytest.approx([0.0, 1 / 1.5])
    unnamed = PairFeatures.from_candidates(candidates, np.zeros((6, 1)), edge, half_life=10.0).block(0, 1)[0]
    assert np.isnan(unnamed[:, FEATURE_NAMES.index("amount_gap")]).all()
    assert np.isnan(unnamed[:, FEATURE_NAMES.index("next_stage_share")]).all()
