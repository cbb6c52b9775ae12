"""`tgnrank recommend`: new investors for one company from a tiny trained model."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from tgnrank.cli.main import main
from tgnrank.data import save_dataset
from tgnrank.data.synthetic import generate_synthetic
from tgnrank.errors import ConfigError
from tgnrank.eval.protocol import build_window
from tgnrank.eval.recommend import (
    company_suggestions, find_company, parse_at, rank_candidates, recommend_investors, recommendations_json,
)
from tgnrank.eval.scoring import model_scorer_from_checkpoint
from tgnrank.train.checkpoint import load_checkpoint
from tgnrank.train.config import TrainConfig
from tgnrank.train.outputs import RunPaths

SMALL_MODEL = dict(use_memory=True, memory_dim=16, node_dim=16, time_dim=8, message_dim=16, n_degree=5, bs=200)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(data, data_dir, checkpoint path): the tiny dataset and a model trained on it for one epoch."""
    from tgnrank.train.runs import train_runs

    root = tmp_path_factory.mktemp("recommend")
    data = generate_synthetic(n_companies=200, n_investors=80, seed=1, name="small")
    save_dataset(data, root / "data")
    config = TrainConfig(data="small", data_dir=str(root / "data"), prefix="rec", n_epoch=1, **SMALL_MODEL)
    summary = train_runs(config, torch.device("cpu"), RunPaths("rec", "small", root=root))
    return data, root / "data", summary.runs[0].model_path


def busiest_company(data) -> int:
    return int(np.bincount(data.events.sources).argmax())


def investors_of(data, company: int, until: float) -> set[int]:
    events = data.events
    return set(events.destinations[(events.sources == company) & (events.timestamps <= until)].tolist())


def test_recommends_k_new_investors_sorted_by_score(trained):
    data, _, path = trained
    company, last = busiest_company(data), float(data.events.timestamps.max())
    result = recommend_investors(load_checkpoint(path), data, company, last, k=10)
    past = investors_of(data, company, last)
    assert len(past) >= 3
    assert len(result.items) == 10 and [item.rank for item in result.items] == list(range(1, 11))
    assert sorted(result.past_investors) == sorted(str(data.node_names[node]) for node in past)
    ids = [item.investor_id for item in result.items]
    assert not set(ids) & past and len(set(ids)) == 10
    assert set(ids) <= set(data.events.destinations.tolist())
    assert [item.investor for item in result.items] == [str(data.node_names[node]) for node in ids]
    scores = np.array([item.score for item in result.items])
    percentiles = np.array([item.percentile for item in result.items])
    assert np.all(np.diff(scores) <= 0) and np.all(np.diff(percentiles) <= 0)
    assert 0 <= percentiles.min() and percentiles.max() < 100
    assert result.n_history_events == data.n_events and result.n_later_events == 0
    assert not any(item.invested_later for item in result.items)


def test_k_beyond_the_candidates_lists_every_new_investor(trained):
    data, _, path = trained
    company, last = busiest_company(data), float(data.events.timestamps.max())
    result = recommend_investors(load_checkpoint(path), data, company, last, k=10_000)
    expected = len(np.unique(data.events.destinations)) - len(investors_of(data, company, last))
    assert len(result.items) == result.n_candidates == expected


def test_an_earlier_date_excludes_only_the_investors_linked_by_then(trained):
    data, _, path = trained
    events = data.events
    first_round = {int(c): float(events.timestamps[events.sources == c].min()) for c in np.unique(events.sources)}
    company = next(c for c, t in first_round.items() if investors_of(data, c, np.inf) - investors_of(data, c, t))
    at = first_round[company]
    early = investors_of(data, company, at)
    later = investors_of(data, company, np.inf) - early
    result = recommend_investors(load_checkpoint(path), data, company, at, k=10_000)
    ids = {item.investor_id for item in result.items}
    assert sorted(result.past_investors) == sorted(str(data.node_names[node]) for node in early)
    assert not ids & early
    known_by_then = set(events.destinations[events.timestamps <= at].tolist())
    assert later & known_by_then <= ids  # later investors seen by then are recommendable, not excluded
    assert {item.investor_id for item in result.items if item.invested_later} == later & known_by_then
    assert result.n_history_events == int(np.count_nonzero(events.timestamps <= at))
    assert result.n_later_events == int(np.count_nonzero(events.timestamps > at))


def test_scores_are_the_diagnostics_scores_at_the_same_time(trained):
    data, _, path = trained
    checkpoint = load_checkpoint(path)
    candidates = build_window(data.events, "test")
    scorer, _ = model_scorer_from_checkpoint(checkpoint, data, candidates, torch.device("cpu"))
    row = 0
    block = scorer.score_block(row, row + 1)[0]
    company = int(candidates.companies[row])
    result = recommend_investors(checkpoint, data, company, candidates.t_start, k=10_000)
    column_of = {int(node): column for column, node in enumerate(candidates.investors)}
    for item in result.items:
        assert item.score == pytest.approx(float(block[column_of[item.investor_id]]), rel=1e-4, abs=1e-4)


def test_rank_candidates_by_hand():
    scores = np.array([0.5, 2.0, -1.0, 2.0, 0.5, 3.0])
    ids = np.array([40, 31, 12, 30, 7, 50])
    order, percentiles = rank_candidates(scores, ids)
    # best first: 3.0 (id 50), the 2.0 tie by id (30 then 31), the 0.5 tie (7 then 40), then -1.0
    assert ids[order].tolist() == [50, 30, 31, 7, 40, 12]
    # strictly lower scores out of 6: 5, 3, 3, 1, 1, 0
    np.testing.assert_allclose(percentiles, 100 * np.array([5, 3, 3, 1, 1, 0]) / 6)


def test_ranks_and_percentiles_are_those_of_every_candidate_of_the_company(trained):
    data, _, path = trained
    company, last = busiest_company(data), float(data.events.timestamps.max())
    checkpoint = load_checkpoint(path)
    everyone = recommend_investors(checkpoint, data, company, last, k=10_000)
    scores = np.array([item.score for item in everyone.items])
    by_hand = sorted(everyone.items, key=lambda item: (-item.score, item.investor_id))
    assert [item.investor_id for item in everyone.items] == [item.investor_id for item in by_hand]
    for place, item in enumerate(by_hand, 1):
        assert item.rank == place
        assert item.percentile == pytest.approx(100 * np.count_nonzero(scores < item.score) / len(scores))
    top = recommend_investors(checkpoint, data, company, last, k=3)
    assert top.n_candidates == everyone.n_candidates  # a short list still ranks among every candidate
    assert [(i.rank, i.investor_id, i.percentile) for i in top.items] == [
        (i.rank, i.investor_id, i.percentile) for i in everyone.items[:3]
    ]


def test_json_names_the_honest_fields(trained):
    data, _, path = trained
    company, last = busiest_company(data), float(data.events.timestamps.max())
    result = recommendations_json(recommend_investors(load_checkpoint(path), data, company, last, k=4))
    assert [set(row) for row in result["recommendations"]] == [
        {"rank", "investor_id", "investor", "score", "percentile", "invested_later"}
    ] * 4
    assert "logit" in result["score_meaning"] and "probability" not in json.dumps(result)
    assert result["n_candidates"] > 4 and result["company_id"] == company


def test_parse_at_reads_dates_and_days(trained):
    data = trained[0]
    assert parse_at("2015-01-01", data) == 16436.0  # 45 years of 365 days + 11 leap days
    assert parse_at("16500.5", data) == 16500.5
    assert parse_at(None, data) == float(data.events.timestamps.max())
    with pytest.raises(ConfigError, match="^at .* before the first event"):
        parse_at("1990-01-01", data)
    with pytest.raises(ConfigError, match="^at must be a date"):
        parse_at("next week", data)


def test_company_lookup_by_name_or_id_with_suggestions(trained):
    data = trained[0]
    name = str(data.node_names[12])
    assert find_company(data, name.upper()) == 12
    assert find_company(data, "  #12 ") == 12
    with pytest.raises(ConfigError, match="^company '#[0-9]+': node [0-9]+ is not one of the companies"):
        find_company(data, f"#{data.n_nodes}")  # the last node is an investor
    with pytest.raises(ConfigError) as error:
        find_company(data, name[:-3] + "xx)")
    assert str(error.value).startswith("company '") and name in str(error.value)
    assert error.value.parameters == ("company",)
    prefix = name.split(" (")[0]
    with pytest.raises(ConfigError) as error:
        find_company(data, prefix.lower())
    assert str(error.value).split("did you mean: ")[1].startswith(repr(name))  # the name containing the query first


def test_company_suggestions_by_hand():
    names = ["Sequoia Capital", "Accel Partners", "Andreessen Horowitz", "Sequoia Capital China", "Index Ventures"]
    assert company_suggestions(names, "sequoia") == ["Sequoia Capital", "Sequoia Capital China"]
    assert company_suggestions(names, "Acel Partners") == ["Accel Partners"]
    assert company_suggestions(names, "zzz") == []


def test_companies_sharing_a_name_must_be_chosen_by_id(trained):
    data = trained[0]
    names = data.node_names.copy()
    names[5] = names[6] = "Twin Corp"
    twins = dataclasses.replace(data, node_names=names)
    with pytest.raises(ConfigError, match="ids 5, 6"):
        find_company(twins, "twin corp")
    assert find_company(twins, "#6") == 6


def test_cli_prints_names_and_scores_and_suggests_on_unknown_names(trained, capsys):
    data, data_dir, path = trained
    company = busiest_company(data)
    base = ["recommend", "--model_path", str(path), "--data_dir", str(data_dir), "--k", "5"]
    assert main([*base, "--company", str(data.node_names[company])]) == 0
    out = capsys.readouterr().out
    assert f"newly invest in {data.node_names[company]}" in out
    ranked = [line for line in out.splitlines() if line.strip()[:1].isdigit()]
    assert len(ranked) == 5 and all("Investor" in line for line in ranked)
    header = next(line for line in out.splitlines() if line.lstrip().startswith("rank"))
    assert header.split() == ["rank", "investor", "score", "percentile"]
    assert "probability" not in out

    assert main([*base, "--company", str(data.node_names[company]), "--format", "json"]) == 0
    out = capsys.readouterr().out
    printed = json.loads(out)
    assert [row["rank"] for row in printed["recommendations"]] == [1, 2, 3, 4, 5]
    assert all(f"  {row['investor']}  " in line for row, line in zip(printed["recommendations"], ranked))
    assert "probability" not in out

    assert main([*base, "--company", str(data.node_names[company])[:-2]]) == 2
    error = capsys.readouterr().err
    assert "did you mean" in error and str(data.node_names[company]) in error
    assert f"error: --company {str(data.node_names[company])[:-2]!r}: none of the" in error

    assert main([*base, "--company", str(data.node_names[company]), "--at", "2014-06-01"]) == 0
    assert "invested later" in capsys.readouterr().out


def test_calibrate_adds_the_probability_of_a_new_link_within_the_validation_window(trained, capsys):
    from tgnrank.eval.protocol import window_bounds

    data, data_dir, path = trained
    company = str(data.node_names[busiest_company(data)])
    t_start, t_end = window_bounds(data.events, "val")
    field = f"p_new_link_within_{round(t_end - t_start)}_days"
    base = ["recommend", "--model_path", str(path), "--data_dir", str(data_dir), "--k", "6", "--company", company,
            "--calibrate", "--calibration_negatives", "2000"]
    assert main(base) == 0
    out = capsys.readouterr().out
    assert f"{field}: isotonic calibration of the score on the validation window" in out
    header = next(line for line in out.splitlines() if line.lstrip().startswith("rank"))
    assert header.split() == ["rank", "investor", "score", "percentile", field]

    assert main([*base, "--format", "json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    values = [row[field] for row in printed["recommendations"]]
    assert all(0 <= value <= 1 for value in values) and values == sorted(values, reverse=True)
    assert printed["calibration"].startswith(field) and "probability" not in json.dumps(printed["recommendations"])


def test_calibrate_refuses_a_recommendation_time_before_the_validation_window_ends(trained):
    from tgnrank.eval.calibration import Calibration

    data, _, path = trained
    last = float(data.events.timestamps.max())
    calibration = Calibration(t_start=last - 30, t_end=last, n_positives=1, n_negatives=1, n_sampled_negatives=1,
                              isotonic=None)
    with pytest.raises(ConfigError, match="^calibrate .* after at "):
        recommend_investors(load_checkpoint(path), data, busiest_company(data), last - 1, calibration=calibration)
